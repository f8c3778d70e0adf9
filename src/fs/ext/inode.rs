//! One ext inode (128 bytes, plus `i_extra_isize` more on larger inodes): mode, owners with
//! their high 16 bits, size, times with their extra nanoseconds and epoch bits, link count,
//! flags, device numbers, and the 60-byte `i_block` that holds the extent tree root, the block
//! map, a fast symlink's target or the first inline bytes.

use crate::fs::{FileKind, Timestamp};
use crate::ondisk::endian::{le16, le32};

/// Size of the original (rev 0) inode; the extra fields follow it.
pub const GOOD_OLD_SIZE: usize = 128;
/// Where `i_block` lies in the inode, and its size.
pub const I_BLOCK: usize = 0x28;
pub const I_BLOCK_LEN: usize = 60;

/// `i_flags` bits.
pub const FLAG_ENCRYPT: u32 = 0x800;
const FLAG_HUGE_FILE: u32 = 0x40000;
pub const FLAG_EXTENTS: u32 = 0x80000;
pub const FLAG_EA_INODE: u32 = 0x20_0000;
pub const FLAG_INLINE_DATA: u32 = 0x1000_0000;

/// A decoded inode, with its raw bytes for the parts read on demand (i_block, in-inode
/// extended attributes).
#[derive(Clone, Debug)]
pub struct Inode {
    pub number: u32,
    /// Where the inode lies in the image.
    pub offset: u64,
    pub raw: Vec<u8>,
    pub mode: u16,
    pub kind: Option<FileKind>,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub nlink: u16,
    pub flags: u32,
    pub file_acl: u64,
    /// `i_blocks` in 512-byte units.
    pub sectors: u64,
    /// The end of the extra fields (128 + i_extra_isize), where in-inode xattrs start.
    pub extra_end: usize,
}

impl Inode {
    /// Decodes the inode `number` from its `raw` bytes (at least 128 of them) read at
    /// `offset`; `huge_file` tells whether `i_blocks` may count filesystem blocks. Returns the
    /// reason when `i_extra_isize` lies.
    pub fn parse(
        number: u32,
        offset: u64,
        raw: Vec<u8>,
        huge_file: bool,
        block_size: u64,
    ) -> std::result::Result<Self, String> {
        if raw.len() < GOOD_OLD_SIZE {
            return Err(format!("an inode of {} bytes, fewer than 128", raw.len()));
        }
        // Every field below lies in the first 128 bytes, or is checked against `extra_end`.
        let u16_at = |at: usize| le16(&raw, at).unwrap_or_default();
        let u32_at = |at: usize| le32(&raw, at).unwrap_or_default();
        let extra_end = if raw.len() > GOOD_OLD_SIZE {
            let extra = usize::from(u16_at(0x80));
            if GOOD_OLD_SIZE + extra > raw.len() || !extra.is_multiple_of(4) {
                return Err(format!(
                    "i_extra_isize {extra} does not fit an inode of {} bytes",
                    raw.len()
                ));
            }
            GOOD_OLD_SIZE + extra
        } else {
            GOOD_OLD_SIZE
        };
        let mode = u16_at(0x0);
        let flags = u32_at(0x20);
        let blocks = u64::from(u32_at(0x1c)) | (u64::from(u16_at(0x74)) << 32);
        let sectors = if huge_file && flags & FLAG_HUGE_FILE != 0 {
            blocks.saturating_mul(block_size / 512)
        } else {
            blocks
        };
        Ok(Inode {
            number,
            offset,
            mode,
            kind: FileKind::from_mode(u32::from(mode)),
            uid: u32::from(u16_at(0x2)) | (u32::from(u16_at(0x78)) << 16),
            gid: u32::from(u16_at(0x18)) | (u32::from(u16_at(0x7a)) << 16),
            size: u64::from(u32_at(0x4)) | (u64::from(u32_at(0x6c)) << 32),
            nlink: u16_at(0x1a),
            flags,
            file_acl: u64::from(u32_at(0x68)) | (u64::from(u16_at(0x76)) << 32),
            sectors,
            extra_end,
            raw,
        })
    }

    /// The `u32` at `at`: in the first 128 bytes, which `parse` made sure of, or in the extra
    /// field, which callers check against `extra_end`.
    fn u32_at(&self, at: usize) -> u32 {
        le32(&self.raw, at).unwrap_or_default()
    }

    /// The 60 bytes of `i_block`.
    pub fn i_block(&self) -> &[u8] {
        &self.raw[I_BLOCK..I_BLOCK + I_BLOCK_LEN]
    }

    /// True when `flag` is set in `i_flags`.
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// A time: the 32-bit seconds at `at`, and where the extra field covers it, two epoch
    /// bits and 30 bits of nanoseconds from `extra_at`.
    fn time(&self, at: usize, extra_at: usize) -> Timestamp {
        let secs = i64::from(self.u32_at(at) as i32);
        if extra_at + 4 > self.extra_end {
            return Timestamp { secs, nanos: 0 };
        }
        let extra = self.u32_at(extra_at);
        Timestamp {
            secs: secs + (i64::from(extra & 3) << 32),
            nanos: (extra >> 2).min(999_999_999),
        }
    }

    pub fn atime(&self) -> Timestamp {
        self.time(0x8, 0x8c)
    }
    pub fn ctime(&self) -> Timestamp {
        self.time(0xc, 0x84)
    }
    pub fn mtime(&self) -> Timestamp {
        self.time(0x10, 0x88)
    }

    /// Major and minor numbers of a device node: the old 8+8-bit encoding in `i_block[0]`,
    /// or else the new one in `i_block[1]`.
    pub fn rdev(&self) -> (u32, u32) {
        let old = self.u32_at(I_BLOCK);
        if old != 0 {
            return ((old >> 8) & 0xff, old & 0xff);
        }
        let new = self.u32_at(I_BLOCK + 4);
        ((new & 0xfff00) >> 8, (new & 0xff) | ((new >> 12) & 0xfff00))
    }

    /// True for a symlink whose target lies in `i_block`, decided as the kernel's
    /// `ext4_inode_is_fast_symlink` does. Where the filesystem has `ea_inode`, `i_blocks` also
    /// counts the inodes holding xattr values, so only the size tells: under 60 bytes. Else a
    /// fast symlink has no inline data and no blocks beyond its xattr block (one cluster).
    pub fn is_fast_symlink(&self, cluster_size: u64, ea_inode: bool) -> bool {
        if self.kind != Some(FileKind::Symlink) {
            return false;
        }
        if ea_inode {
            return self.size != 0 && self.size < I_BLOCK_LEN as u64;
        }
        let ea_sectors = if self.file_acl != 0 {
            cluster_size / 512
        } else {
            0
        };
        !self.has(FLAG_INLINE_DATA) && self.sectors.saturating_sub(ea_sectors) == 0
    }
}
