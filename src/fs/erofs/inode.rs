//! One EROFS on-disk inode as the file-data path reads it in-house: the compact (32-byte) and
//! extended (64-byte) forms share the fields it needs (format, xattr count, mode, size, and
//! the data union: a block address, or a chunk format). Metadata (owners, times, links) is
//! still given by erofs-rs; this is what reading a file's bytes needs, with one read.

use crate::ondisk::endian::{le16, le32, le64};

/// Bytes of a compact inode (and of the slot unit nids count).
pub const COMPACT: u64 = 32;
/// Bytes of an extended inode.
pub const EXTENDED: u64 = 64;

/// `i_format` data layouts.
pub const FLAT_PLAIN: u8 = 0;
pub const COMPRESSED_FULL: u8 = 1;
pub const FLAT_INLINE: u8 = 2;
pub const COMPRESSED_COMPACT: u8 = 3;

/// The block address a plain inode without data blocks records.
pub const NULL_ADDR: u32 = u32::MAX;

/// The fields of an inode the data path reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskInode {
    /// Where the inode lies in the image.
    pub at: u64,
    pub extended: bool,
    /// The data layout (`i_format` bits 1-3).
    pub layout: u8,
    pub xattr_icount: u16,
    pub mode: u16,
    pub size: u64,
    /// The data union: the first data block of a flat inode.
    pub raw: u32,
}

impl DiskInode {
    /// Decodes the inode whose bytes (at least [`COMPACT`], [`EXTENDED`] for an extended one)
    /// start `bytes`, read at `at`; `None` when too short or of an unknown version.
    pub fn decode(bytes: &[u8], at: u64) -> Option<DiskInode> {
        let format = le16(bytes, 0)?;
        let extended = format & 1 == 1;
        // Bits above the layout are reserved (or name features this path leaves to the crate).
        if format >> 4 != 0 {
            return None;
        }
        let size = match extended {
            true => le64(bytes, 8)?,
            false => u64::from(le32(bytes, 8)?),
        };
        Some(DiskInode {
            at,
            extended,
            layout: ((format >> 1) & 7) as u8,
            xattr_icount: le16(bytes, 2)?,
            mode: le16(bytes, 4)?,
            size,
            raw: le32(bytes, 16)?,
        })
    }

    /// Bytes of the inode itself.
    pub fn inode_size(&self) -> u64 {
        if self.extended {
            EXTENDED
        } else {
            COMPACT
        }
    }

    /// Bytes of the xattr body after the inode: a 12-byte header and 4-byte slots.
    pub fn xattr_size(&self) -> u64 {
        match self.xattr_icount {
            0 => 0,
            n => 12 + 4 * (u64::from(n) - 1),
        }
    }

    /// Where the inode's inline data (or its compression index) starts: after the inode and
    /// its xattrs.
    pub fn tail(&self) -> u64 {
        self.at + self.inode_size() + self.xattr_size()
    }

    /// True for a regular file.
    pub fn is_file(&self) -> bool {
        self.mode & 0o170000 == 0o100000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_extended_inodes_decode() {
        let mut b = vec![0u8; 64];
        b[0] = COMPRESSED_COMPACT << 1;
        b[2] = 3; // xattr slots
        b[4..6].copy_from_slice(&0o100644u16.to_le_bytes());
        b[8..12].copy_from_slice(&5000u32.to_le_bytes());
        b[16..20].copy_from_slice(&77u32.to_le_bytes());
        let i = DiskInode::decode(&b, 4096).unwrap();
        assert_eq!(
            (i.extended, i.layout, i.size, i.raw),
            (false, COMPRESSED_COMPACT, 5000, 77)
        );
        assert!(i.is_file());
        assert_eq!(i.xattr_size(), 20);
        assert_eq!(i.tail(), 4096 + 32 + 20);
        b[0] = 1 | (FLAT_INLINE << 1);
        b[8..16].copy_from_slice(&(1u64 << 40).to_le_bytes());
        let i = DiskInode::decode(&b, 0).unwrap();
        assert_eq!((i.extended, i.layout, i.size), (true, FLAT_INLINE, 1 << 40));
        assert_eq!(i.tail(), 64 + 20);
        assert_eq!(DiskInode::decode(&b[..16], 0), None);
        b[0] = 0x20;
        assert_eq!(DiskInode::decode(&b, 0), None);
    }
}
