//! The ext2/3/4 superblock (1024 bytes at byte 1024): geometry (block size, groups, inode
//! size), the feature flags, and the label. Every field that later sizes a read is checked
//! here once; incompatible features this reader cannot read are refused by name.

use crate::error::{Error, Result};
use crate::ondisk::Fields;
use crate::source::Source;

/// Where the superblock lies in the image.
pub const OFFSET: u64 = 1024;
const SIZE: usize = 1024;
const MAGIC: u16 = 0xef53;

/// Incompatible features (`s_feature_incompat`).
pub const INCOMPAT_FILETYPE: u32 = 0x2;
pub const INCOMPAT_META_BG: u32 = 0x10;
pub const INCOMPAT_64BIT: u32 = 0x80;
pub const INCOMPAT_EA_INODE: u32 = 0x400;
const INCOMPAT_COMPRESSION: u32 = 0x1;
const INCOMPAT_RECOVER: u32 = 0x4;
const INCOMPAT_JOURNAL_DEV: u32 = 0x8;
const INCOMPAT_DIRDATA: u32 = 0x1000;
/// Names of the feature bits, as `dumpe2fs` prints them, for `info`.
const COMPAT_NAMES: &[(u32, &str)] = &[
    (0x1, "dir_prealloc"),
    (0x4, "has_journal"),
    (0x8, "ext_attr"),
    (0x10, "resize_inode"),
    (0x20, "dir_index"),
    (0x200, "sparse_super2"),
    (0x400, "fast_commit"),
    (0x1000, "orphan_file"),
];
const INCOMPAT_NAMES: &[(u32, &str)] = &[
    (0x1, "compression"),
    (0x2, "filetype"),
    (0x4, "needs_recovery"),
    (0x8, "journal_dev"),
    (0x10, "meta_bg"),
    (0x40, "extent"),
    (0x80, "64bit"),
    (0x100, "mmp"),
    (0x200, "flex_bg"),
    (0x400, "ea_inode"),
    (0x1000, "dirdata"),
    (0x2000, "metadata_csum_seed"),
    (0x4000, "large_dir"),
    (0x8000, "inline_data"),
    (0x10000, "encrypt"),
    (0x20000, "casefold"),
];
const RO_COMPAT_NAMES: &[(u32, &str)] = &[
    (0x1, "sparse_super"),
    (0x2, "large_file"),
    (0x8, "huge_file"),
    (0x10, "uninit_bg"),
    (0x20, "dir_nlink"),
    (0x40, "extra_isize"),
    (0x100, "quota"),
    (0x200, "bigalloc"),
    (0x400, "metadata_csum"),
    (0x1000, "read-only"),
    (0x2000, "project"),
    (0x8000, "verity"),
];
/// `s_feature_ro_compat` bits the reader looks at.
pub const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;
pub const RO_COMPAT_HUGE_FILE: u32 = 0x8;
const RO_COMPAT_BIGALLOC: u32 = 0x200;
/// `s_feature_compat` bits the reader looks at.
const COMPAT_SPARSE_SUPER2: u32 = 0x200;
const COMPAT_HAS_JOURNAL: u32 = 0x4;

/// The checked superblock.
#[derive(Clone, Debug)]
pub struct Superblock {
    pub inodes_count: u32,
    pub blocks_count: u64,
    pub free_blocks: u64,
    pub free_inodes: u32,
    pub first_data_block: u32,
    pub block_size: u64,
    pub blocks_per_group: u32,
    /// Blocks per allocation cluster: 1, or a power of two with bigalloc.
    pub cluster_ratio: u32,
    pub inodes_per_group: u32,
    pub inode_size: u16,
    pub compat: u32,
    pub incompat: u32,
    pub ro_compat: u32,
    pub uuid: [u8; 16],
    pub label: String,
    pub last_mounted: String,
    pub desc_size: u16,
    pub first_meta_bg: u32,
    pub mkfs_time: u32,
    pub write_time: u32,
    /// The journal's inode (`s_journal_inum`), 0 for an external journal.
    pub journal_inum: u32,
    /// The two backup groups of sparse_super2.
    pub backup_bgs: [u32; 2],
}

/// A NUL-padded name field as text.
fn text(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// The names of the bits set in `flags`, unknown ones in hex.
fn names(flags: u32, table: &[(u32, &str)]) -> Vec<String> {
    (0..32)
        .map(|bit| 1u32 << bit)
        .filter(|b| flags & b != 0)
        .map(|b| {
            table
                .iter()
                .find(|(v, _)| *v == b)
                .map_or_else(|| format!("{b:#x}"), |(_, n)| n.to_string())
        })
        .collect()
}

impl Superblock {
    /// Reads and checks the superblock of `source`.
    pub fn read(source: &dyn Source) -> Result<Self> {
        let image = source.name();
        let b = source.read_vec(OFFSET, SIZE, "ext superblock")?;
        let bad = |at: usize, detail: String| {
            Error::corrupt(image, "ext superblock", OFFSET + at as u64, detail)
        };
        let f = Fields::new(&b, image, "ext superblock", OFFSET);
        if f.le16(0x38)? != MAGIC {
            return Err(bad(0x38, "no ext magic 0xef53".into()));
        }
        let log = f.le32(0x18)?;
        if log > 6 {
            return Err(bad(
                0x18,
                format!("block size 2^{} is not 1 KiB..64 KiB", 10 + u64::from(log)),
            ));
        }
        let block_size = 1024u64 << log;
        let rev_level = f.le32(0x4c)?;
        let (compat, incompat, ro_compat) = if rev_level >= 1 {
            (f.le32(0x5c)?, f.le32(0x60)?, f.le32(0x64)?)
        } else {
            (0, 0, 0)
        };
        let inode_size = if rev_level >= 1 { f.le16(0x58)? } else { 128 };
        if inode_size < 128 || !inode_size.is_power_of_two() || u64::from(inode_size) > block_size {
            return Err(bad(0x58, format!("inode size {inode_size}")));
        }
        let is64 = incompat & INCOMPAT_64BIT != 0;
        let desc_size = if is64 { f.le16(0xfe)? } else { 32 };
        if is64
            && (desc_size < 32 || !desc_size.is_power_of_two() || u64::from(desc_size) > block_size)
        {
            return Err(bad(0xfe, format!("group descriptor size {desc_size}")));
        }
        let hi = |at: usize| -> Result<u64> {
            Ok(if is64 {
                u64::from(f.le32(at)?) << 32
            } else {
                0
            })
        };
        let mut sb = Superblock {
            inodes_count: f.le32(0x0)?,
            blocks_count: u64::from(f.le32(0x4)?) | hi(0x150)?,
            free_blocks: u64::from(f.le32(0xc)?) | hi(0x158)?,
            free_inodes: f.le32(0x10)?,
            first_data_block: f.le32(0x14)?,
            block_size,
            blocks_per_group: f.le32(0x20)?,
            cluster_ratio: 1,
            inodes_per_group: f.le32(0x28)?,
            inode_size,
            compat,
            incompat,
            ro_compat,
            uuid: b[0x68..0x78].try_into().unwrap_or_default(),
            label: text(&b[0x78..0x88]),
            last_mounted: text(&b[0x88..0xc8]),
            desc_size,
            first_meta_bg: f.le32(0x104)?,
            mkfs_time: f.le32(0x108)?,
            write_time: f.le32(0x30)?,
            journal_inum: f.le32(0xe0)?,
            backup_bgs: [f.le32(0x24c)?, f.le32(0x250)?],
        };
        // A group's block bitmap is one block of bits, one per cluster (per block without
        // bigalloc): a group holds at most 8 * block_size clusters.
        let max_per_group = 8 * block_size;
        if ro_compat & RO_COMPAT_BIGALLOC != 0 {
            let log_cluster = f.le32(0x1c)?;
            if log_cluster < log || log_cluster - log > 16 {
                return Err(bad(
                    0x1c,
                    format!(
                        "cluster size 2^{} with blocks of 2^{}",
                        10 + u64::from(log_cluster),
                        10 + u64::from(log)
                    ),
                ));
            }
            sb.cluster_ratio = 1 << (log_cluster - log);
            let clusters = f.le32(0x24)?;
            if clusters == 0
                || u64::from(clusters) > max_per_group
                || u64::from(clusters) * u64::from(sb.cluster_ratio)
                    != u64::from(sb.blocks_per_group)
            {
                return Err(bad(
                    0x24,
                    format!(
                        "{clusters} clusters of {} blocks per group, {} blocks per group",
                        sb.cluster_ratio, sb.blocks_per_group
                    ),
                ));
            }
        }
        let max_blocks = max_per_group * u64::from(sb.cluster_ratio);
        if sb.blocks_per_group == 0 || u64::from(sb.blocks_per_group) > max_blocks {
            return Err(bad(
                0x20,
                format!("{} blocks per group", sb.blocks_per_group),
            ));
        }
        if sb.inodes_per_group == 0 || u64::from(sb.inodes_per_group) > max_per_group {
            return Err(bad(
                0x28,
                format!("{} inodes per group", sb.inodes_per_group),
            ));
        }
        if u64::from(sb.first_data_block) >= sb.blocks_count {
            return Err(bad(
                0x14,
                format!(
                    "first data block {} of {} blocks",
                    sb.first_data_block, sb.blocks_count
                ),
            ));
        }
        if u64::from(sb.inodes_count) > sb.groups().saturating_mul(u64::from(sb.inodes_per_group)) {
            return Err(bad(
                0x0,
                format!(
                    "{} inodes do not fit {} groups of {}",
                    sb.inodes_count,
                    sb.groups(),
                    sb.inodes_per_group
                ),
            ));
        }
        sb.check_features(image)?;
        Ok(sb)
    }

    /// Refuses the incompatible features this reader cannot read.
    fn check_features(&self, image: &str) -> Result<()> {
        let refuse = |what: &str| Err(Error::unsupported(image, format!("ext feature {what}")));
        if self.incompat & INCOMPAT_COMPRESSION != 0 {
            return refuse("compression (e2compr)");
        }
        if self.incompat & INCOMPAT_JOURNAL_DEV != 0 {
            return refuse("journal_dev (an external journal, not a filesystem)");
        }
        if self.incompat & INCOMPAT_DIRDATA != 0 {
            return refuse("dirdata");
        }
        // The others are read (or, being read-only, ignored): filetype, recover, meta_bg,
        // extents, 64bit, mmp, flex_bg, ea_inode (values read from their inodes), csum_seed,
        // large_dir, inline_data, encrypt (refused per file), casefold (names as stored).
        let known = INCOMPAT_NAMES.iter().fold(0, |all, (bit, _)| all | bit);
        let unknown = self.incompat & !known;
        if unknown != 0 {
            return refuse(&format!("incompat flags {unknown:#x}"));
        }
        Ok(())
    }

    /// The number of block groups.
    pub fn groups(&self) -> u64 {
        (self.blocks_count - u64::from(self.first_data_block))
            .div_ceil(u64::from(self.blocks_per_group))
    }

    /// True when `incompat` has the `bit`.
    pub fn has_incompat(&self, bit: u32) -> bool {
        self.incompat & bit != 0
    }

    /// True when `ro_compat` has the `bit`.
    pub fn has_ro_compat(&self, bit: u32) -> bool {
        self.ro_compat & bit != 0
    }

    /// True when group `group` holds a superblock backup (and so group descriptors after it).
    pub fn group_has_super(&self, group: u64) -> bool {
        if group == 0 {
            return true;
        }
        if self.compat & COMPAT_SPARSE_SUPER2 != 0 {
            return self.backup_bgs.iter().any(|&g| u64::from(g) == group);
        }
        if group <= 1 || !self.has_ro_compat(RO_COMPAT_SPARSE_SUPER) {
            return true;
        }
        if group & 1 == 0 {
            return false;
        }
        [3u64, 5, 7].iter().any(|&base| {
            let mut n = base;
            while n < group {
                match n.checked_mul(base) {
                    Some(next) => n = next,
                    None => return false,
                }
            }
            n == group
        })
    }

    /// The feature names, as `dumpe2fs` lists them.
    pub fn feature_names(&self) -> Vec<String> {
        let mut all = names(self.compat, COMPAT_NAMES);
        all.extend(names(self.incompat, INCOMPAT_NAMES));
        all.extend(names(self.ro_compat, RO_COMPAT_NAMES));
        all
    }

    /// True when the filesystem keeps a journal.
    pub fn has_journal(&self) -> bool {
        self.compat & COMPAT_HAS_JOURNAL != 0
    }

    /// True when the journal holds changes not yet written to their place.
    pub fn needs_recovery(&self) -> bool {
        self.incompat & INCOMPAT_RECOVER != 0
    }

    /// The UUID in its usual text form.
    pub fn uuid_text(&self) -> String {
        let h: Vec<String> = self.uuid.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            h[..4].concat(),
            h[4..6].concat(),
            h[6..8].concat(),
            h[8..10].concat(),
            h[10..].concat()
        )
    }
}
