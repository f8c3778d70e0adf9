//! The inode table and its inodes. The table is decoded whole when the image is opened (the
//! metadata blocks from the superblock's `inode_table` to its `dir_table`: 1 to 2 MB for
//! 40,000 inodes), then scanned once for where each inode starts, by number; an inode is
//! parsed from the table's bytes only when it is asked for, into a view that borrows from
//! them ([`Inode`]: a file's block size words and a symlink's target are slices of the table).
//!
//! The scan walks the table inode by inode: each inode's type and fields give its length
//! (a file's block count is its size over the block size, rounded up without a fragment and
//! down with one; an extended directory's index entries; the extended types' xattr field).
//! An inode whose number is 0, past the superblock's count, or met before is an error of that
//! inode alone: the image opens, and asking for that number gives the error. An inode of an
//! unknown type, or whose fields run past the table, ends the scan (what follows it cannot be
//! found): the image still opens, and asking for a number the scan did not reach gives that
//! error. The root is found by the superblock's reference, not by its number.

use std::collections::BTreeMap;

use super::compression::Compressor;
use super::data::BlockSizes;
use super::metadata::Run;
use super::superblock::Superblock;
use crate::error::{Error, Result};
use crate::ondisk::Fields;
use crate::source::Source;

/// The basic inode types; each extended type is its basic type plus [`EXTENDED`].
pub const DIR: u16 = 1;
pub const FILE: u16 = 2;
pub const SYMLINK: u16 = 3;
pub const BLOCK_DEV: u16 = 4;
pub const CHAR_DEV: u16 = 5;
pub const FIFO: u16 = 6;
pub const SOCKET: u16 = 7;
pub const EXTENDED: u16 = 7;
const EXT_DIR: u16 = DIR + EXTENDED;
const EXT_FILE: u16 = FILE + EXTENDED;
const EXT_SYMLINK: u16 = SYMLINK + EXTENDED;
const EXT_BLOCK_DEV: u16 = BLOCK_DEV + EXTENDED;
const EXT_CHAR_DEV: u16 = CHAR_DEV + EXTENDED;
const EXT_FIFO: u16 = FIFO + EXTENDED;
const EXT_SOCKET: u16 = SOCKET + EXTENDED;

/// A file's fragment field when its tail lies in no fragment.
pub const NO_FRAGMENT: u32 = u32::MAX;
/// An inode's xattr field when it has no extended attributes (and a basic inode's, which has
/// no such field).
pub const NO_XATTR: u32 = u32::MAX;

const STRUCTURE: &str = "squashfs inode table (decompressed)";
/// The smallest inode: a basic fifo or socket (the 16-byte header, a link count).
const SMALLEST: usize = 20;
/// `starts` entries: no inode has the number; more than one has it.
const ABSENT: u32 = u32::MAX;
const DUPLICATE: u32 = u32::MAX - 1;

/// One inode, borrowing from the table.
pub struct Inode<'a> {
    /// The permission bits.
    pub mode: u16,
    /// Indices into the id table.
    pub uid: u16,
    pub gid: u16,
    pub mtime: u32,
    pub number: u32,
    pub nlink: u32,
    /// The xattr id, or [`NO_XATTR`].
    pub xattr: u32,
    pub body: Body<'a>,
}

/// What an inode says besides its header.
pub enum Body<'a> {
    Dir {
        /// The listing's place in the directory table (block offset, offset in the block).
        block: u32,
        offset: u16,
        /// The listing's size plus 3.
        size: u32,
    },
    File(File<'a>),
    Symlink(&'a [u8]),
    Device {
        block: bool,
        /// The kernel's `new_encode_dev` number.
        rdev: u32,
    },
    Fifo,
    Socket,
}

/// A regular file's data, as its inode records it.
pub struct File<'a> {
    pub blocks_start: u64,
    pub size: u64,
    /// What an extended inode records of the bytes its sparse blocks stand for (0 for a basic
    /// inode).
    pub sparse: u64,
    /// The fragment holding the tail ([`NO_FRAGMENT`] for none), and the tail's offset in it.
    pub fragment: u32,
    pub tail: u32,
    pub blocks: BlockSizes<'a>,
}

/// The `len` bytes at `at` of the inode `f` holds, which must lie in the table.
fn rest<'a>(f: &Fields<'a>, at: usize, len: u64, what: &str) -> Result<&'a [u8]> {
    let left = f.bytes.len().saturating_sub(at);
    usize::try_from(len)
        .ok()
        .filter(|&len| len <= left)
        .map(|len| &f.bytes[at..at + len])
        .ok_or_else(|| {
            f.corrupt(format!(
                "{what} of {len} bytes at +{at} runs past the end of the table ({left} bytes left)"
            ))
        })
}

impl<'a> Inode<'a> {
    /// The inode at the start of `f`'s bytes (the rest of the table), and its length.
    fn parse(f: &Fields<'a>, block_size: u32) -> Result<(Inode<'a>, usize)> {
        let kind = f.le16(0)?;
        let nlink = f.le32(16)?;
        let file = |at: usize, blocks_start, size, (fragment, tail), sparse| {
            let bs = u64::from(block_size);
            let count = match fragment {
                NO_FRAGMENT => u64::div_ceil(size, bs),
                _ => size / bs,
            };
            let words = rest(f, at, count * 4, "the block sizes")?;
            let blocks = BlockSizes::new(words);
            let file = File {
                blocks_start,
                size,
                sparse,
                fragment,
                tail,
                blocks,
            };
            Ok::<_, Error>((Body::File(file), at + words.len()))
        };
        let device = |block| {
            Ok::<_, Error>(Body::Device {
                block,
                rdev: f.le32(20)?,
            })
        };
        let (body, nlink, xattr, len) = match kind {
            DIR => {
                let (block, size, offset) = (f.le32(16)?, f.le16(24)?, f.le16(26)?);
                let size = u32::from(size);
                (
                    Body::Dir {
                        block,
                        offset,
                        size,
                    },
                    f.le32(20)?,
                    NO_XATTR,
                    32,
                )
            }
            FILE => {
                let (start, fragment) = (f.le32(16)?, (f.le32(20)?, f.le32(24)?));
                let (body, len) = file(32, start.into(), f.le32(28)?.into(), fragment, 0)?;
                (body, 1, NO_XATTR, len)
            }
            SYMLINK => {
                let target = rest(f, 24, f.le32(20)?.into(), "a symlink target")?;
                (Body::Symlink(target), nlink, NO_XATTR, 24 + target.len())
            }
            BLOCK_DEV | CHAR_DEV => (device(kind == BLOCK_DEV)?, nlink, NO_XATTR, 24),
            FIFO => (Body::Fifo, nlink, NO_XATTR, 20),
            SOCKET => (Body::Socket, nlink, NO_XATTR, 20),
            EXT_DIR => {
                let (size, block) = (f.le32(20)?, f.le32(24)?);
                let (count, offset, xattr) = (f.le16(32)?, f.le16(34)?, f.le32(36)?);
                // The index: per entry its offset in the listing, its directory table block,
                // its name's size less one, the name.
                let mut len = 40;
                for _ in 0..count {
                    let name = u64::from(f.le32(len + 8)?) + 1;
                    len += 12 + rest(f, len + 12, name, "a directory index name")?.len();
                }
                (
                    Body::Dir {
                        block,
                        offset,
                        size,
                    },
                    nlink,
                    xattr,
                    len,
                )
            }
            EXT_FILE => {
                let (start, size, sparse) = (f.le64(16)?, f.le64(24)?, f.le64(32)?);
                let (nlink, fragment, xattr) =
                    (f.le32(40)?, (f.le32(44)?, f.le32(48)?), f.le32(52)?);
                let (body, len) = file(56, start, size, fragment, sparse)?;
                (body, nlink, xattr, len)
            }
            EXT_SYMLINK => {
                let target = rest(f, 24, f.le32(20)?.into(), "a symlink target")?;
                let xattr = f.le32(24 + target.len())?;
                (Body::Symlink(target), nlink, xattr, 28 + target.len())
            }
            EXT_BLOCK_DEV | EXT_CHAR_DEV => {
                (device(kind == EXT_BLOCK_DEV)?, nlink, f.le32(24)?, 28)
            }
            EXT_FIFO => (Body::Fifo, nlink, f.le32(20)?, 24),
            EXT_SOCKET => (Body::Socket, nlink, f.le32(20)?, 24),
            _ => return Err(f.corrupt(format!("an inode of unknown type {kind}"))),
        };
        let inode = Inode {
            mode: f.le16(2)?,
            uid: f.le16(4)?,
            gid: f.le16(6)?,
            mtime: f.le32(8)?,
            number: f.le32(12)?,
            nlink,
            xattr,
            body,
        };
        Ok((inode, len))
    }
}

/// An inode whose number the scan could not take: where it lies, and where the first inode of
/// that number lies (`None` when the number is 0 or past the count).
struct Fault {
    at: u32,
    first: Option<u32>,
}

/// The decoded inode table of one image.
pub struct InodeTable {
    image: String,
    block_size: u32,
    run: Run,
    /// Where each inode starts in the table, by number less one ([`ABSENT`], [`DUPLICATE`]).
    starts: Vec<u32>,
    /// The first inode the scan could not take of each number.
    faults: BTreeMap<u32, Fault>,
    /// Where the scan stopped, and why.
    stop: Option<(u32, String)>,
}

impl InodeTable {
    /// Decodes and scans the inode table of the image `sb` describes.
    pub fn read(source: &dyn Source, compressor: Compressor, sb: &Superblock) -> Result<Self> {
        let span = (sb.inode_table, sb.dir_table);
        let run = Run::read(source, compressor, span, "squashfs inode table")?;
        let len = run.bytes.len();
        if len >= DUPLICATE as usize {
            return Err(Error::unsupported(
                source.name(),
                "a squashfs inode table of 4 GiB or more",
            ));
        }
        let most = len / SMALLEST;
        if sb.inode_count as usize > most {
            return Err(Error::corrupt(
                source.name(),
                "squashfs superblock",
                4,
                format!(
                    "{} inodes, where an inode table of {len} bytes holds at most {most}",
                    sb.inode_count
                ),
            ));
        }
        let mut table = InodeTable {
            image: source.name().to_string(),
            block_size: sb.block_size,
            run,
            starts: vec![ABSENT; sb.inode_count as usize],
            faults: BTreeMap::new(),
            stop: None,
        };
        table.scan();
        Ok(table)
    }

    fn scan(&mut self) {
        let mut at = 0;
        while at < self.run.bytes.len() {
            let (number, len) = match self.at(at) {
                Ok((inode, len)) => (inode.number, len),
                Err(e) => {
                    let detail = match e {
                        Error::Corrupt { detail, .. } => detail,
                        other => other.to_string(),
                    };
                    self.stop = Some((at as u32, detail));
                    return;
                }
            };
            let start = (number as usize)
                .checked_sub(1)
                .and_then(|i| self.starts.get_mut(i));
            let first = match start {
                Some(start) if *start == ABSENT => {
                    *start = at as u32;
                    None
                }
                Some(start) if *start == DUPLICATE => None,
                Some(start) => Some(Some(std::mem::replace(start, DUPLICATE))),
                None => Some(None),
            };
            if let Some(first) = first {
                let fault = Fault {
                    at: at as u32,
                    first,
                };
                self.faults.entry(number).or_insert(fault);
            }
            at += len;
        }
    }

    /// The inode at `at` in the table, and its length.
    fn at(&self, at: usize) -> Result<(Inode<'_>, usize)> {
        let bytes = self.run.bytes.get(at..).unwrap_or_default();
        let f = Fields::new(bytes, &self.image, STRUCTURE, at as u64);
        Inode::parse(&f, self.block_size)
    }

    /// Where in the table the inode a reference points to starts (the reference: the offset of
    /// its block from the table's start << 16, its offset in the block).
    pub fn position(&self, reference: u64) -> Option<usize> {
        Some(self.run.position(reference >> 16)? + (reference & 0xffff) as usize)
    }

    /// The inode at `at` in the table.
    pub fn inode_at(&self, at: usize) -> Result<Inode<'_>> {
        self.at(at).map(|(inode, _)| inode)
    }

    /// The inode numbered `number`.
    pub fn get(&self, number: u32) -> Result<Inode<'_>> {
        let i = (number as usize).checked_sub(1);
        let start = i.and_then(|i| self.starts.get(i)).copied();
        if let Some(at) = start.filter(|&at| at < DUPLICATE) {
            return self.inode_at(at as usize);
        }
        let corrupt = |at: u32, detail| Error::corrupt(&self.image, STRUCTURE, at.into(), detail);
        if let Some(f) = self.faults.get(&number) {
            let detail = match f.first {
                Some(first) => format!("inode {number} again (the first lies at {first})"),
                None => format!(
                    "inode number {number}, where the superblock counts {}",
                    self.starts.len()
                ),
            };
            return Err(corrupt(f.at, detail));
        }
        if let (Some(ABSENT), Some((at, detail))) = (start, &self.stop) {
            let detail = format!(
                "the scan of the table stopped at this inode, before inode {number}: {detail}"
            );
            return Err(corrupt(*at, detail));
        }
        Err(Error::corrupt(
            &self.image,
            "squashfs directory entry",
            0,
            format!("names inode {number}, which the inode table does not hold"),
        ))
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::fs::squashfs::metadata::STORED;
    use crate::fs::squashfs::superblock::NOT_SET;
    use crate::source::MemSource;

    const BLOCK_SIZE: u32 = 4096;

    /// A superblock with its tables at the given places and no others.
    pub fn superblock(inode_count: u32, inode_table: u64, dir_table: u64) -> Superblock {
        Superblock {
            inode_count,
            mod_time: 0,
            block_size: BLOCK_SIZE,
            frag_count: 0,
            compressor: 1,
            block_log: 12,
            flags: 0,
            id_count: 0,
            root_inode: 0,
            bytes_used: dir_table,
            id_table: NOT_SET,
            xattr_table: NOT_SET,
            inode_table,
            dir_table,
            frag_table: NOT_SET,
            export_table: NOT_SET,
        }
    }

    /// The little-endian bytes of `words`.
    fn le(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// An inode of type `kind` numbered `number`, its body made of `parts`.
    fn inode(kind: u16, number: u32, parts: &[&[u8]]) -> Vec<u8> {
        let mut b: Vec<u8> = [kind, 0o644, 0, 1]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        b.extend(le(&[7, number]));
        b.extend(parts.concat());
        b
    }

    fn fifo(number: u32) -> Vec<u8> {
        inode(FIFO, number, &[&le(&[1])])
    }

    /// The inode table holding `inodes` (one metadata block stored plainly after a
    /// superblock's worth of zeros), of an image counting `count` inodes.
    fn table(inodes: &[Vec<u8>], count: u32) -> Result<InodeTable> {
        let bytes = inodes.concat();
        let mut image = vec![0; 96];
        image.extend((bytes.len() as u16 | STORED).to_le_bytes());
        image.extend(&bytes);
        let sb = superblock(count, 96, image.len() as u64);
        InodeTable::read(&MemSource::new(image, "t.sqfs"), Compressor::Gzip, &sb)
    }

    fn error(t: &InodeTable, number: u32) -> String {
        t.get(number).err().expect("an error").to_string()
    }

    #[test]
    fn every_type_is_measured_and_parsed() {
        let index = [
            le(&[0, 0, 2]),
            b"abc".to_vec(),
            le(&[9, 0, 0]),
            b"d".to_vec(),
        ]
        .concat();
        let inodes = [
            inode(DIR, 1, &[&le(&[0, 2]), &[7, 0, 5, 0], &le(&[11])]),
            // 5000 bytes: two blocks without a fragment, one with.
            inode(FILE, 2, &[&le(&[96, NO_FRAGMENT, 0, 5000, 10, 20])]),
            inode(FILE, 3, &[&le(&[96, 0, 10, 5000, 30])]),
            inode(
                EXT_DIR,
                4,
                &[&le(&[2, 40, 0, 1]), &[2, 0, 9, 0], &le(&[5]), &index],
            ),
            inode(
                EXT_FILE,
                5,
                &[&le(&[
                    96,
                    0,
                    12288,
                    0,
                    4096,
                    0,
                    2,
                    NO_FRAGMENT,
                    0,
                    9,
                    1,
                    0,
                    3,
                ])],
            ),
            inode(SYMLINK, 6, &[&le(&[1, 4]), b"targ"]),
            inode(EXT_SYMLINK, 7, &[&le(&[1, 3]), b"abc", &le(&[1])]),
            inode(BLOCK_DEV, 8, &[&le(&[1, 0x801])]),
            inode(EXT_CHAR_DEV, 9, &[&le(&[1, 0x501, 4])]),
            fifo(10),
            inode(EXT_SOCKET, 11, &[&le(&[1, 6])]),
        ];
        let t = table(&inodes, 11).unwrap();
        for n in 1..=11 {
            let i = t.get(n).unwrap();
            assert_eq!(
                (i.number, i.mode, i.uid, i.gid, i.mtime),
                (n, 0o644, 0, 1, 7)
            );
        }
        let blocks = |n| match t.get(n).unwrap().body {
            Body::File(f) => f.blocks.iter().map(|b| b.0).collect::<Vec<_>>(),
            _ => panic!("inode {n} is not a file"),
        };
        assert_eq!(
            (blocks(2), blocks(3), blocks(5)),
            (vec![10, 20], vec![30], vec![1, 0, 3])
        );
        let ext_file = t.get(5).unwrap();
        assert_eq!((ext_file.nlink, ext_file.xattr), (2, 9));
        let Body::File(f) = ext_file.body else {
            panic!()
        };
        assert_eq!((f.size, f.sparse), (12288, 4096));
        let dir = t.get(4).unwrap();
        assert!(matches!(
            dir.body,
            Body::Dir {
                block: 0,
                offset: 9,
                size: 40
            }
        ));
        assert_eq!((dir.nlink, dir.xattr), (2, 5));
        assert!(matches!(
            t.get(1).unwrap().body,
            Body::Dir {
                block: 0,
                offset: 5,
                size: 7
            }
        ));
        assert_eq!(t.get(1).unwrap().xattr, NO_XATTR);
        assert!(matches!(t.get(6).unwrap().body, Body::Symlink(b"targ")));
        assert_eq!(t.get(7).unwrap().xattr, 1);
        assert!(matches!(
            t.get(8).unwrap().body,
            Body::Device {
                block: true,
                rdev: 0x801
            }
        ));
        assert!(matches!(
            t.get(9).unwrap().body,
            Body::Device { block: false, .. }
        ));
        assert!(matches!(t.get(10).unwrap().body, Body::Fifo));
        assert!(matches!(t.get(11).unwrap().body, Body::Socket));
        assert_eq!(t.get(11).unwrap().xattr, 6);
        // A reference: the block's offset from the table's start << 16, the offset in it.
        assert_eq!(t.position(20), Some(20));
        assert_eq!(t.position(1 << 16), None);
    }

    #[test]
    fn a_number_that_is_0_past_the_count_or_met_twice_fails_alone() {
        let inodes = [fifo(1), fifo(0), fifo(5), fifo(1), fifo(2)];
        let t = table(&inodes, 3).unwrap();
        assert_eq!(t.get(2).unwrap().number, 2);
        let twice = error(&t, 1);
        assert!(
            twice.contains("corrupt squashfs inode table (decompressed) at offset 60")
                && twice.contains("inode 1 again (the first lies at 0)"),
            "{twice}"
        );
        assert!(error(&t, 0).contains("at offset 20: inode number 0"));
        assert!(error(&t, 5).contains("inode number 5, where the superblock counts 3"));
        assert!(error(&t, 3).contains("names inode 3, which the inode table does not hold"));
    }

    #[test]
    fn an_inode_running_past_the_table_or_of_no_known_type_ends_the_scan() {
        // 40960 bytes without a fragment: ten block sizes, where the table holds one.
        let short = inode(FILE, 2, &[&le(&[96, NO_FRAGMENT, 0, 40960, 1])]);
        let t = table(&[fifo(1), short, fifo(3)], 3).unwrap();
        assert_eq!(t.get(1).unwrap().number, 1);
        for n in [2, 3] {
            let e = error(&t, n);
            assert!(
                e.contains("squashfs inode table (decompressed) at offset 20")
                    && e.contains(
                        "the block sizes of 40 bytes at +32 runs past the end of the table"
                    ),
                "{e}"
            );
        }
        let t = table(&[fifo(1), inode(15, 2, &[&le(&[1])]), fifo(3)], 3).unwrap();
        let e = error(&t, 3);
        assert!(
            e.contains("at offset 20: the scan of the table stopped at this inode, before inode 3: an inode of unknown type 15"),
            "{e}"
        );
        let huge = inode(SYMLINK, 2, &[&le(&[1, u32::MAX]), b"x"]);
        let e = error(&table(&[fifo(1), huge], 2).unwrap(), 2);
        assert!(
            e.contains("a symlink target of 4294967295 bytes at +24 runs past"),
            "{e}"
        );
        let long = inode(SYMLINK, 1, &[&le(&[1, 40]), &[b'x'; 40]]);
        let cut = fifo(2)[..18].to_vec();
        let e = error(&table(&[long, cut], 2).unwrap(), 2);
        assert!(
            e.contains("at offset 64: the scan of the table stopped at this inode, before inode 2: a 4-byte field at +16 runs past its 18 bytes"),
            "{e}"
        );
    }

    #[test]
    fn a_count_the_table_cannot_hold_is_refused_before_anything_is_sized_by_it() {
        let e = table(&[fifo(1)], 2).err().unwrap().to_string();
        assert!(
            e.contains("corrupt squashfs superblock at offset 4: 2 inodes, where an inode table of 20 bytes holds at most 1"),
            "{e}"
        );
        let e = table(&[fifo(1)], u32::MAX).err().unwrap().to_string();
        assert!(e.contains("4294967295 inodes"), "{e}");
    }

    #[test]
    fn a_table_cut_short_is_refused() {
        let mut image = vec![0; 96];
        image.extend((100 | STORED).to_le_bytes());
        image.extend(fifo(1));
        let sb = superblock(1, 96, image.len() as u64);
        let source = MemSource::new(image, "t.sqfs");
        let e = InodeTable::read(&source, Compressor::Gzip, &sb)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("corrupt squashfs inode table at offset 96: a metadata block of 100 bytes does not fit before 118"),
            "{e}"
        );
    }
}
