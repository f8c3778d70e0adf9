//! The squashfs 4.0 superblock (96 bytes at the start of the image): decoded when an image is
//! opened (where its tables lie, the compressor, the block size, the counts), kept for what a
//! rebuild keeps (compressor, block size, flags, time, the tables it had), and encoded for the
//! new image once every table's place is known.

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
    /// Reads the superblock at the start of `source`; checks the block size, and that the
    /// inode table lies before the directory table, inside the `bytes_used` the image has.
    pub fn read(source: &dyn Source) -> Result<Superblock> {
        let bytes = source.read_vec(0, SIZE, STRUCTURE)?;
        let f = Fields::new(&bytes, source.name(), STRUCTURE, 0);
        if f.slice(0, 4)? != b"hsqs" {
            return Err(f.corrupt("no hsqs magic"));
        }
        let (major, minor) = (f.le16(28)?, f.le16(30)?);
        if (major, minor) != (4, 0) {
            return Err(Error::unsupported(
                source.name(),
                format!("squashfs version {major}.{minor} (only 4.0 is read)"),
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
        if sb.bytes_used > source.len() {
            return Err(Error::corrupt(
                source.name(),
                STRUCTURE,
                40,
                format!(
                    "{} bytes used, past the end of the image ({})",
                    sb.bytes_used,
                    source.len()
                ),
            ));
        }
        if sb.inode_table >= sb.dir_table || sb.dir_table > sb.bytes_used {
            return Err(Error::corrupt(
                source.name(),
                STRUCTURE,
                64,
                format!(
                    "the inode table at {} and the directory table at {} are not in that \
                     order inside the {} bytes used",
                    sb.inode_table, sb.dir_table, sb.bytes_used
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

    fn superblock() -> Superblock {
        Superblock {
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
        }
    }

    /// `sb` encoded, in an image of its `bytes_used`.
    fn image(sb: &Superblock) -> MemSource {
        let mut bytes = sb.encode();
        assert_eq!(bytes.len(), SIZE);
        bytes.resize(sb.bytes_used as usize, 0);
        MemSource::new(bytes, "t.sqfs")
    }

    #[test]
    fn a_superblock_reads_back_as_encoded() {
        let sb = superblock();
        assert_eq!(Superblock::read(&image(&sb)).unwrap(), sb);
    }

    #[test]
    fn a_superblock_that_lies_about_its_tables_is_refused() {
        let error = |sb: &Superblock| Superblock::read(&image(sb)).unwrap_err().to_string();
        let mut sb = superblock();
        sb.dir_table = sb.inode_table;
        assert!(error(&sb).contains("corrupt squashfs superblock at offset 64"));
        let mut sb = superblock();
        sb.dir_table = sb.bytes_used + 1;
        assert!(error(&sb).contains("corrupt squashfs superblock at offset 64"));
        let mut sb = superblock();
        sb.block_size = 1000;
        assert!(error(&sb).contains("corrupt squashfs superblock at offset 12"));
        let mut short = superblock().encode();
        short.resize(2048, 0);
        let e = Superblock::read(&MemSource::new(short, "t.sqfs")).unwrap_err();
        assert!(e
            .to_string()
            .contains("4096 bytes used, past the end of the image (2048)"));
        let mut v3 = superblock().encode();
        v3[28] = 3;
        let e = Superblock::read(&MemSource::new(v3, "t.sqfs")).unwrap_err();
        assert!(
            e.to_string().contains("unsupported squashfs version 3.0"),
            "{e}"
        );
    }
}
