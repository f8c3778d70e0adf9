//! File entries and extended file entries (ECMA-167 4/14.9, 4/14.17): the ICB tag, owner,
//! permissions, link count, size, times, extended attributes (device numbers) and the
//! allocation descriptors or embedded data that follow; decoded and encoded.

use crate::error::{Error, Result};
use crate::fs::{FileKind, Timestamp};
use crate::ondisk::endian::{le32, put_le16, put_le32, put_le64};
use crate::ondisk::Fields;

use super::ad::{decode_all, encode_all, long_ad, Ad, AdForm};
use super::field::array;
use super::icb_tag::IcbTag;
use super::tag::{id, Tag};
use super::timestamp::UdfTime;

/// File types of the ICB tag (ECMA-167 4/14.6.6, UDF 2.3.5.2).
pub mod file_type {
    pub const UNSPECIFIED: u8 = 0;
    pub const DIRECTORY: u8 = 4;
    pub const REGULAR: u8 = 5;
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    /// Embedded in the entry itself (ICB flag type 3): the bytes, and where they start in the
    /// entry's block.
    Embedded { bytes: Vec<u8>, at: usize },
    /// In extents described by these allocation descriptors (the last may continue the list
    /// in an allocation extent descriptor).
    Extents(Vec<Ad>, AdForm),
}

/// The fields only an extended file entry has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extended {
    /// The size of the file and its streams.
    pub object_size: u64,
    pub creation_time: UdfTime,
    pub stream_directory: Ad,
}

/// A file entry or extended file entry as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    pub tag: Tag,
    pub icb_tag: IcbTag,
    pub uid: u32,
    pub gid: u32,
    pub permissions: u32,
    pub link_count: u16,
    pub record_format: u8,
    pub record_display_attributes: u8,
    pub record_length: u32,
    /// The information length: the file's size in bytes.
    pub size: u64,
    pub blocks_recorded: u64,
    pub access_time: UdfTime,
    pub modification_time: UdfTime,
    /// Attribute (status change) time.
    pub attribute_time: UdfTime,
    pub checkpoint: u32,
    pub extended_attribute_icb: Ad,
    /// regid.
    pub implementation_id: [u8; 32],
    pub unique_id: u64,
    /// The extended attribute area (header descriptor first).
    pub extended_attributes: Vec<u8>,
    /// Length of the allocation descriptor area: the descriptors or the embedded data, then
    /// zeros.
    pub ad_len: u32,
    pub data: Data,
    /// `Some` for an extended file entry.
    pub extended: Option<Extended>,
}

const STRUCTURE: &str = "UDF file entry";
/// Length of a file entry before its extended attributes.
const HEAD: usize = 176;
/// Length of an extended file entry before its extended attributes.
const EXTENDED_HEAD: usize = 216;

/// True when `buf` starts with the tag of a file entry or extended file entry (not verified).
pub fn is_entry(ident: u16) -> bool {
    ident == id::FILE_ENTRY || ident == id::EXTENDED_FILE_ENTRY
}

/// The ICB flags' allocation descriptor type of `data`.
fn ad_type(data: &Data) -> u16 {
    match data {
        Data::Extents(_, AdForm::Short) => 0,
        Data::Extents(_, AdForm::Long) => 1,
        Data::Extents(_, AdForm::Ext) => 2,
        Data::Embedded { .. } => 3,
    }
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
        let head = if extended { EXTENDED_HEAD } else { HEAD };
        if buf.len() < head {
            return Err(Error::corrupt(image, STRUCTURE, offset, "block too small"));
        }
        let f = Fields::new(buf, image, STRUCTURE, offset);
        let (l_ea, ad_len) = (f.le32(head - 8)? as usize, f.le32(head - 4)?);
        let l_ad = ad_len as usize;
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
        let icb_tag = IcbTag::decode(&f, 16)?;
        let size = f.le64(56)?;
        let data = match icb_tag.flags & 7 {
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
        // Where the fields after the information length lie: an extended entry has the
        // object size, the creation time and the stream directory in between.
        let (times, tail) = if extended { (80, 128) } else { (72, 108) };
        let (blocks_at, attribute_at) = if extended { (72, 116) } else { (64, 96) };
        let ea_icb_at = if extended { 136 } else { 112 };
        let extended = if extended {
            Some(Extended {
                object_size: f.le64(64)?,
                creation_time: UdfTime::read(&f, 104)?,
                stream_directory: long_ad(&f, 152)?,
            })
        } else {
            None
        };
        Ok(FileEntry {
            tag,
            icb_tag,
            uid: f.le32(36)?,
            gid: f.le32(40)?,
            permissions: f.le32(44)?,
            link_count: f.le16(48)?,
            record_format: f.u8(50)?,
            record_display_attributes: f.u8(51)?,
            record_length: f.le32(52)?,
            size,
            blocks_recorded: f.le64(blocks_at)?,
            access_time: UdfTime::read(&f, times)?,
            modification_time: UdfTime::read(&f, times + 12)?,
            attribute_time: UdfTime::read(&f, attribute_at)?,
            checkpoint: f.le32(tail)?,
            extended_attribute_icb: long_ad(&f, ea_icb_at)?,
            implementation_id: array(&f, head - 48)?,
            unique_id: f.le64(head - 16)?,
            extended_attributes: ea.to_vec(),
            ad_len,
            data,
            extended,
        })
    }

    /// The bytes of the entry: its fields, the extended attributes and the allocation
    /// descriptors or embedded data. The ICB flags' descriptor type is the one `data` has.
    pub fn encode(&self) -> Vec<u8> {
        let head = if self.extended.is_some() {
            EXTENDED_HEAD
        } else {
            HEAD
        };
        let area = match &self.data {
            Data::Extents(ads, form) => encode_all(ads, *form),
            Data::Embedded { bytes, .. } => bytes.clone(),
        };
        let ea = &self.extended_attributes;
        let ad_len = area.len().max(self.ad_len as usize);
        let mut b = vec![0u8; head + ea.len() + ad_len];
        let mut icb_tag = self.icb_tag;
        icb_tag.flags = icb_tag.flags & !7 | ad_type(&self.data);
        icb_tag.encode(&mut b, 16);
        put_le32(&mut b, 36, self.uid);
        put_le32(&mut b, 40, self.gid);
        put_le32(&mut b, 44, self.permissions);
        put_le16(&mut b, 48, self.link_count);
        b[50] = self.record_format;
        b[51] = self.record_display_attributes;
        put_le32(&mut b, 52, self.record_length);
        put_le64(&mut b, 56, self.size);
        let (times, tail, attribute_at, ea_icb_at) = match &self.extended {
            Some(x) => {
                put_le64(&mut b, 64, x.object_size);
                put_le64(&mut b, 72, self.blocks_recorded);
                b[104..116].copy_from_slice(&x.creation_time.0);
                b[152..168].copy_from_slice(&x.stream_directory.encode(AdForm::Long));
                (80, 128, 116, 136)
            }
            None => {
                put_le64(&mut b, 64, self.blocks_recorded);
                (72, 108, 96, 112)
            }
        };
        b[times..times + 12].copy_from_slice(&self.access_time.0);
        b[times + 12..times + 24].copy_from_slice(&self.modification_time.0);
        b[attribute_at..attribute_at + 12].copy_from_slice(&self.attribute_time.0);
        put_le32(&mut b, tail, self.checkpoint);
        b[ea_icb_at..ea_icb_at + 16]
            .copy_from_slice(&self.extended_attribute_icb.encode(AdForm::Long));
        b[head - 48..head - 16].copy_from_slice(&self.implementation_id);
        put_le64(&mut b, head - 16, self.unique_id);
        put_le32(&mut b, head - 8, ea.len() as u32);
        put_le32(&mut b, head - 4, ad_len as u32);
        b[head..head + ea.len()].copy_from_slice(ea);
        b[head + ea.len()..head + ea.len() + area.len()].copy_from_slice(&area);
        self.tag.encode(&mut b);
        b
    }

    /// The Unix kind of the entry (types without a Unix kind read as regular files).
    pub fn kind(&self) -> FileKind {
        match self.icb_tag.file_type {
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
            if self.icb_tag.flags & flag != 0 {
                mode |= bit;
            }
        }
        mode
    }

    /// Sets the permissions (owner/group/other read, write, execute) and the set-uid,
    /// set-gid and sticky ICB flags from the Unix `mode`, keeping the other permission bits
    /// recorded (change attributes, delete).
    pub fn set_mode(&mut self, mode: u32) {
        let rwx = ((mode & 0o700) << 4) | ((mode & 0o070) << 2) | (mode & 0o007);
        let kept = self.permissions & !(0o7 << 10 | 0o7 << 5 | 0o7);
        self.permissions = kept | rwx;
        for (flag, bit) in [(1 << 6, 0o4000), (1 << 7, 0o2000), (1 << 8, 0o1000)] {
            if mode & bit != 0 {
                self.icb_tag.flags |= flag;
            } else {
                self.icb_tag.flags &= !flag;
            }
        }
    }

    /// The access time.
    pub fn atime(&self) -> Timestamp {
        self.access_time.time()
    }

    /// The modification time.
    pub fn mtime(&self) -> Timestamp {
        self.modification_time.time()
    }

    /// The attribute (status change) time.
    pub fn ctime(&self) -> Timestamp {
        self.attribute_time.time()
    }

    /// Major and minor numbers from a device specification extended attribute (ECMA-167
    /// 4/14.10.7, type 12), if the extended attribute area holds one.
    pub fn rdev(&self) -> Option<(u32, u32)> {
        let ea = &self.extended_attributes;
        // The 24-byte extended attribute header descriptor, then attributes back to back.
        let mut pos = 24;
        while let (Some(kind), Some(len)) = (le32(ea, pos), le32(ea, pos + 8)) {
            let len = len as usize;
            if len < 12 || pos + len > ea.len() {
                return None;
            }
            if kind == 12 && len >= 24 {
                return Some((le32(ea, pos + 16)?, le32(ea, pos + 20)?));
            }
            pos += len;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::udf::tag::patterned;

    fn put(b: &mut [u8], at: usize, v: &[u8]) {
        b[at..at + v.len()].copy_from_slice(v);
    }

    fn round_trip(b: &[u8]) -> FileEntry {
        let fe = FileEntry::decode(b, 0, 0, "x", 0).unwrap();
        assert_eq!(fe.encode(), b);
        assert_eq!(FileEntry::decode(&fe.encode(), 0, 0, "x", 0).unwrap(), fe);
        fe
    }

    #[test]
    fn file_entries_round_trip_in_each_form() {
        // Two short_ads after 8 bytes of extended attributes.
        let b = patterned(id::FILE_ENTRY, HEAD + 8 + 16, |b| {
            b[26] = 0;
            b[34] &= !7;
            put(b, 168, &8u32.to_le_bytes());
            put(b, 172, &16u32.to_le_bytes());
            put(b, 184, &2048u32.to_le_bytes());
            put(b, 192, &(1u32 << 30 | 100).to_le_bytes());
        });
        let fe = round_trip(&b);
        assert!(matches!(&fe.data, Data::Extents(ads, AdForm::Short) if ads.len() == 2));
        // An extended file entry with one long_ad.
        let b = patterned(id::EXTENDED_FILE_ENTRY, EXTENDED_HEAD + 8 + 16, |b| {
            b[26] = 0;
            b[34] = b[34] & !7 | 1;
            b[132..136].fill(0);
            put(b, 208, &8u32.to_le_bytes());
            put(b, 212, &16u32.to_le_bytes());
            put(b, 224, &4096u32.to_le_bytes());
        });
        let fe = round_trip(&b);
        assert!(fe.extended.is_some());
        // Five bytes embedded in an 8-byte area.
        let b = patterned(id::FILE_ENTRY, HEAD + 8, |b| {
            b[26] = 0;
            b[34] |= 3;
            put(b, 56, &5u64.to_le_bytes());
            put(b, 168, &0u32.to_le_bytes());
            put(b, 172, &8u32.to_le_bytes());
            b[HEAD + 5..].fill(0);
        });
        let fe = round_trip(&b);
        assert!(matches!(&fe.data, Data::Embedded { bytes, at: HEAD } if bytes.len() == 5));
    }

    #[test]
    fn modes_round_trip() {
        let mut fe = round_trip(&patterned(id::FILE_ENTRY, HEAD, |b| {
            b[26] = 0;
            b[34] &= !7;
            b[168..176].fill(0);
        }));
        for mode in [0o4755, 0o644, 0o1777, 0o2711] {
            fe.set_mode(mode);
            assert_eq!(fe.mode(), mode);
        }
    }

    #[test]
    fn device_numbers_come_from_the_extended_attributes() {
        let mut fe = round_trip(&patterned(id::FILE_ENTRY, HEAD, |b| {
            b[26] = 0;
            b[34] &= !7;
            b[168..176].fill(0);
        }));
        let mut ea = vec![0u8; 24 + 24];
        put(&mut ea, 24, &12u32.to_le_bytes());
        put(&mut ea, 32, &24u32.to_le_bytes());
        put(&mut ea, 40, &8u32.to_le_bytes());
        put(&mut ea, 44, &1u32.to_le_bytes());
        fe.extended_attributes = ea;
        fe.tag.crc_len = (HEAD + 48 - 16) as u16;
        assert_eq!(fe.rdev(), Some((8, 1)));
        let again = FileEntry::decode(&fe.encode(), 0, 0, "x", 0).unwrap();
        assert_eq!(again.rdev(), Some((8, 1)));
    }
}
