//! File entries and extended file entries (ECMA-167 4/14.9, 4/14.17): the ICB tag, owner,
//! permissions, link count, size, times, extended attributes (device numbers) and the
//! allocation descriptors or embedded data that follow.

use crate::error::{Error, Result};
use crate::fs::{FileKind, Timestamp};

use super::ad::{decode_all, Ad, AdForm};
use super::tag::{id, le16, le32, le64, Tag};
use super::timestamp;

/// File types of the ICB tag (ECMA-167 4/14.6.6, UDF 2.3.5.2).
pub mod file_type {
    pub const UNSPECIFIED: u8 = 0;
    pub const DIRECTORY: u8 = 4;
    pub const BLOCK_DEVICE: u8 = 6;
    pub const CHAR_DEVICE: u8 = 7;
    pub const FIFO: u8 = 9;
    pub const SOCKET: u8 = 10;
    pub const SYMLINK: u8 = 12;
    pub const VAT: u8 = 248;
    pub const METADATA: u8 = 250;
    pub const METADATA_MIRROR: u8 = 251;
}

/// Where the file's bytes are.
#[derive(Clone, Debug)]
pub enum Data {
    /// Embedded in the entry itself (ICB flag type 3): the bytes, and where they start in the
    /// entry's block.
    Embedded { bytes: Vec<u8>, at: usize },
    /// In extents described by these allocation descriptors (the last may continue the list
    /// in an allocation extent descriptor).
    Extents(Vec<Ad>, AdForm),
}

/// A decoded file entry or extended file entry.
#[derive(Clone, Debug)]
pub struct FileEntry {
    pub strategy: u16,
    pub file_type: u8,
    pub flags: u16,
    pub uid: u32,
    pub gid: u32,
    pub permissions: u32,
    pub link_count: u16,
    pub size: u64,
    pub blocks_recorded: u64,
    pub atime: Timestamp,
    pub mtime: Timestamp,
    /// Attribute (status change) time.
    pub ctime: Timestamp,
    /// Major and minor numbers from a device specification extended attribute.
    pub rdev: Option<(u32, u32)>,
    pub data: Data,
}

const STRUCTURE: &str = "UDF file entry";

/// True when `buf` starts with the tag of a file entry or extended file entry (not verified).
pub fn is_entry(ident: u16) -> bool {
    ident == id::FILE_ENTRY || ident == id::EXTENDED_FILE_ENTRY
}

/// The device specification extended attribute (ECMA-167 4/14.10.7, type 12), if any, in
/// the extended attribute area `ea` (header descriptor first).
fn device_numbers(ea: &[u8]) -> Option<(u32, u32)> {
    // The 24-byte extended attribute header descriptor, then attributes back to back.
    let mut pos = 24;
    while pos + 12 <= ea.len() {
        let kind = le32(ea, pos);
        let len = le32(ea, pos + 8) as usize;
        if len < 12 || pos + len > ea.len() {
            return None;
        }
        if kind == 12 && len >= 24 {
            return Some((le32(ea, pos + 16), le32(ea, pos + 20)));
        }
        pos += len;
    }
    None
}

impl FileEntry {
    /// Decodes the entry in `buf` (one block), recorded at block `block` of its partition
    /// `part`; `image` and `offset` name it in errors.
    pub fn decode(buf: &[u8], block: u32, part: u16, image: &str, offset: u64) -> Result<Self> {
        let tag = Tag::parse(buf, image, STRUCTURE, offset)?;
        if !is_entry(tag.ident) {
            return Err(Error::corrupt(
                image,
                STRUCTURE,
                offset,
                format!("tag identifier {}, expected a file entry", tag.ident),
            ));
        }
        tag.check_location(block, image, STRUCTURE, offset)?;
        let extended = tag.ident == id::EXTENDED_FILE_ENTRY;
        let head = if extended { 216 } else { 176 };
        if buf.len() < head {
            return Err(Error::corrupt(image, STRUCTURE, offset, "block too small"));
        }
        let (l_ea, l_ad) = (le32(buf, head - 8) as usize, le32(buf, head - 4) as usize);
        let ea_end = head.checked_add(l_ea);
        let ad_end = ea_end.and_then(|e| e.checked_add(l_ad));
        let Some(ad_end) = ad_end.filter(|&e| e <= buf.len()) else {
            return Err(Error::corrupt(
                image,
                STRUCTURE,
                offset,
                format!(
                    "{l_ea} bytes of extended attributes and {l_ad} of allocation descriptors \
                     pass the {}-byte block",
                    buf.len()
                ),
            ));
        };
        let ea = &buf[head..head + l_ea];
        let area = &buf[head + l_ea..ad_end];
        let flags = le16(buf, 34);
        let size = le64(buf, 56);
        let data = match flags & 7 {
            0 => Data::Extents(decode_all(area, AdForm::Short, part), AdForm::Short),
            1 => Data::Extents(decode_all(area, AdForm::Long, part), AdForm::Long),
            2 => Data::Extents(decode_all(area, AdForm::Ext, part), AdForm::Ext),
            3 => {
                let n = usize::try_from(size).unwrap_or(usize::MAX).min(area.len());
                Data::Embedded {
                    bytes: area[..n].to_vec(),
                    at: head + l_ea,
                }
            }
            other => {
                return Err(Error::corrupt(
                    image,
                    STRUCTURE,
                    offset,
                    format!("allocation descriptor type {other}"),
                ))
            }
        };
        let t = |off: usize| timestamp::decode(&buf[off..off + 12]);
        let (atime, mtime, ctime, blocks) = if extended {
            (t(80), t(92), t(116), le64(buf, 72))
        } else {
            (t(72), t(84), t(96), le64(buf, 64))
        };
        Ok(FileEntry {
            strategy: le16(buf, 20),
            file_type: buf[27],
            flags,
            uid: le32(buf, 36),
            gid: le32(buf, 40),
            permissions: le32(buf, 44),
            link_count: le16(buf, 48),
            size,
            blocks_recorded: blocks,
            atime,
            mtime,
            ctime,
            rdev: device_numbers(ea),
            data,
        })
    }

    /// The Unix kind of the entry (types without a Unix kind read as regular files).
    pub fn kind(&self) -> FileKind {
        match self.file_type {
            file_type::DIRECTORY => FileKind::Dir,
            file_type::BLOCK_DEVICE => FileKind::BlockDevice,
            file_type::CHAR_DEVICE => FileKind::CharDevice,
            file_type::FIFO => FileKind::Fifo,
            file_type::SOCKET => FileKind::Socket,
            file_type::SYMLINK => FileKind::Symlink,
            _ => FileKind::File,
        }
    }

    /// Unix permission bits from the UDF permissions (owner/group/other read, write,
    /// execute) and the set-uid, set-gid and sticky ICB flags.
    pub fn mode(&self) -> u32 {
        let p = self.permissions;
        let mut mode = ((p >> 4) & 0o700) | ((p >> 2) & 0o070) | (p & 0o007);
        for (flag, bit) in [(1 << 6, 0o4000), (1 << 7, 0o2000), (1 << 8, 0o1000)] {
            if self.flags & flag != 0 {
                mode |= bit;
            }
        }
        mode
    }
}
