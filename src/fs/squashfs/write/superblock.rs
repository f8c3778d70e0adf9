//! The squashfs 4.0 superblock (96 bytes at the start of the image): decoded from the original
//! image for what the rebuild keeps (compressor, block size, flags, time, the tables it had),
//! encoded for the new image once every table's place is known.

use crate::error::{Error, Result};
use crate::ondisk::Fields;
use crate::source::Source;

const STRUCTURE: &str = "squashfs superblock";
/// The superblock's size.
pub const SIZE: usize = 96;
/// A table the image does not have.
pub const NOT_SET: u64 = u64::MAX;

/// Data blocks are stored uncompressed.
pub const UNCOMPRESSED_DATA: u16 = 0x0002;
/// The inode and directory tables are stored uncompressed.
pub const UNCOMPRESSED_INODES: u16 = 0x0001;
/// Fragment blocks are stored uncompressed.
pub const UNCOMPRESSED_FRAGMENTS: u16 = 0x0008;
/// No file's tail is packed into a fragment.
pub const NO_FRAGMENTS: u16 = 0x0010;
/// Tails of files larger than a block are packed into fragments too.
pub const ALWAYS_FRAGMENTS: u16 = 0x0020;
/// Files with the same data share their blocks.
pub const DUPLICATES: u16 = 0x0040;
/// The image has an export (inode lookup) table.
pub const EXPORTABLE: u16 = 0x0080;
/// The xattr table is stored uncompressed.
pub const UNCOMPRESSED_XATTRS: u16 = 0x0100;
/// The image has no xattr table.
pub const NO_XATTRS: u16 = 0x0200;
/// Compressor options follow the superblock.
pub const COMPRESSOR_OPTIONS: u16 = 0x0400;
/// The id table is stored uncompressed.
pub const UNCOMPRESSED_IDS: u16 = 0x0800;

/// The superblock's fields (the magic and the 4.0 version are implied).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Superblock {
    pub inode_count: u32,
    pub mod_time: u32,
    pub block_size: u32,
    pub frag_count: u32,
    pub compressor: u16,
    pub block_log: u16,
    pub flags: u16,
    pub id_count: u16,
    pub root_inode: u64,
    pub bytes_used: u64,
    pub id_table: u64,
    pub xattr_table: u64,
    pub inode_table: u64,
    pub dir_table: u64,
    pub frag_table: u64,
    pub export_table: u64,
}

impl Superblock {
    /// Reads the superblock at the start of `source`.
    pub fn read(source: &dyn Source) -> Result<Superblock> {
        let bytes = source.read_vec(0, SIZE, STRUCTURE)?;
        let f = Fields::new(&bytes, source.name(), STRUCTURE, 0);
        if f.slice(0, 4)? != b"hsqs" || (f.le16(28)?, f.le16(30)?) != (4, 0) {
            return Err(Error::corrupt(
                source.name(),
                STRUCTURE,
                0,
                "not a squashfs 4.0 superblock",
            ));
        }
        let sb = Superblock {
            inode_count: f.le32(4)?,
            mod_time: f.le32(8)?,
            block_size: f.le32(12)?,
            frag_count: f.le32(16)?,
            compressor: f.le16(20)?,
            block_log: f.le16(22)?,
            flags: f.le16(24)?,
            id_count: f.le16(26)?,
            root_inode: f.le64(32)?,
            bytes_used: f.le64(40)?,
            id_table: f.le64(48)?,
            xattr_table: f.le64(56)?,
            inode_table: f.le64(64)?,
            dir_table: f.le64(72)?,
            frag_table: f.le64(80)?,
            export_table: f.le64(88)?,
        };
        let valid = (12..=20).contains(&sb.block_log) && sb.block_size == 1 << sb.block_log;
        if !valid {
            return Err(Error::corrupt(
                source.name(),
                STRUCTURE,
                12,
                format!(
                    "block size {} with block log {}",
                    sb.block_size, sb.block_log
                ),
            ));
        }
        Ok(sb)
    }

    /// True when the superblock has `flag` set.
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }

    /// The 96 bytes of the superblock.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(SIZE);
        b.extend_from_slice(b"hsqs");
        for v in [
            self.inode_count,
            self.mod_time,
            self.block_size,
            self.frag_count,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for v in [
            self.compressor,
            self.block_log,
            self.flags,
            self.id_count,
            4,
            0,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for v in [
            self.root_inode,
            self.bytes_used,
            self.id_table,
            self.xattr_table,
            self.inode_table,
            self.dir_table,
            self.frag_table,
            self.export_table,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    #[test]
    fn a_superblock_reads_back_as_encoded() {
        let sb = Superblock {
            inode_count: 7,
            mod_time: 1_700_000_000,
            block_size: 1 << 17,
            frag_count: 2,
            compressor: 6,
            block_log: 17,
            flags: EXPORTABLE | NO_XATTRS,
            id_count: 1,
            root_inode: 0x20_0010,
            bytes_used: 4096,
            id_table: 4000,
            xattr_table: NOT_SET,
            inode_table: 3000,
            dir_table: 3500,
            frag_table: 3700,
            export_table: 3800,
        };
        let bytes = sb.encode();
        assert_eq!(bytes.len(), SIZE);
        let source = MemSource::new(bytes, "t.sqfs");
        assert_eq!(Superblock::read(&source).unwrap(), sb);
    }
}
