//! The file set descriptor (ECMA-167 4/14.1, UDF 2.3.2): the file set's identification and
//! character sets, and the ICBs of the root directory and the system stream directory;
//! decoded and encoded.

use crate::error::Result;
use crate::ondisk::endian::{put_le16, put_le32};
use crate::ondisk::Fields;

use super::ad::{long_ad, Ad, AdForm};
use super::cs0;
use super::field::array;
use super::tag::{id, Tag};
use super::timestamp::UdfTime;

const STRUCTURE: &str = "UDF file set descriptor";
/// Length of the descriptor.
pub const LEN: usize = 512;

/// A file set descriptor as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSet {
    pub tag: Tag,
    pub recorded: UdfTime,
    pub interchange_level: u16,
    pub max_interchange_level: u16,
    pub charset_list: u32,
    pub max_charset_list: u32,
    pub file_set_number: u32,
    pub file_set_descriptor_number: u32,
    /// charspec.
    pub volume_id_charset: [u8; 64],
    /// dstring: the logical volume identifier.
    pub volume_id: [u8; 128],
    /// charspec.
    pub file_set_charset: [u8; 64],
    /// dstring.
    pub file_set_id: [u8; 32],
    /// dstring.
    pub copyright_file_id: [u8; 32],
    /// dstring.
    pub abstract_file_id: [u8; 32],
    pub root: Ad,
    /// regid.
    pub domain_id: [u8; 32],
    pub next_extent: Ad,
    pub system_stream_directory: Ad,
}

impl FileSet {
    /// Decodes and verifies the descriptor in `buf`, recorded at block `location` of its
    /// partition (`offset` in `image`).
    pub fn decode(buf: &[u8], location: u32, image: &str, offset: u64) -> Result<Self> {
        let tag = Tag::check(buf, id::FILE_SET, location, image, STRUCTURE, offset)?;
        let f = Fields::new(buf, image, STRUCTURE, offset);
        Ok(FileSet {
            tag,
            recorded: UdfTime::read(&f, 16)?,
            interchange_level: f.le16(28)?,
            max_interchange_level: f.le16(30)?,
            charset_list: f.le32(32)?,
            max_charset_list: f.le32(36)?,
            file_set_number: f.le32(40)?,
            file_set_descriptor_number: f.le32(44)?,
            volume_id_charset: array(&f, 48)?,
            volume_id: array(&f, 112)?,
            file_set_charset: array(&f, 240)?,
            file_set_id: array(&f, 304)?,
            copyright_file_id: array(&f, 336)?,
            abstract_file_id: array(&f, 368)?,
            root: long_ad(&f, 400)?,
            domain_id: array(&f, 416)?,
            next_extent: long_ad(&f, 448)?,
            system_stream_directory: long_ad(&f, 464)?,
        })
    }

    /// The 512 bytes of the descriptor.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; LEN];
        b[16..28].copy_from_slice(&self.recorded.0);
        put_le16(&mut b, 28, self.interchange_level);
        put_le16(&mut b, 30, self.max_interchange_level);
        put_le32(&mut b, 32, self.charset_list);
        put_le32(&mut b, 36, self.max_charset_list);
        put_le32(&mut b, 40, self.file_set_number);
        put_le32(&mut b, 44, self.file_set_descriptor_number);
        b[48..112].copy_from_slice(&self.volume_id_charset);
        b[112..240].copy_from_slice(&self.volume_id);
        b[240..304].copy_from_slice(&self.file_set_charset);
        b[304..336].copy_from_slice(&self.file_set_id);
        b[336..368].copy_from_slice(&self.copyright_file_id);
        b[368..400].copy_from_slice(&self.abstract_file_id);
        b[400..416].copy_from_slice(&self.root.encode(AdForm::Long));
        b[416..448].copy_from_slice(&self.domain_id);
        b[448..464].copy_from_slice(&self.next_extent.encode(AdForm::Long));
        b[464..480].copy_from_slice(&self.system_stream_directory.encode(AdForm::Long));
        self.tag.encode(&mut b);
        b
    }

    /// The file set identifier as text.
    pub fn file_set_id(&self) -> String {
        cs0::dstring(&self.file_set_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::udf::tag::patterned;

    #[test]
    fn round_trips() {
        let b = patterned(id::FILE_SET, LEN, |b| b[480..].fill(0));
        let d = FileSet::decode(&b, 0, "x", 0).unwrap();
        assert_eq!(d.encode(), b);
        assert_eq!(FileSet::decode(&d.encode(), 0, "x", 0).unwrap(), d);
    }
}
