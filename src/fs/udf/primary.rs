//! The primary volume descriptor (ECMA-167 3/10.1): the volume's identification, character
//! sets, the application and implementation that recorded it and when; decoded and encoded.

use crate::error::Result;
use crate::ondisk::endian::{put_le16, put_le32};
use crate::ondisk::Fields;

use super::anchor::ExtentAd;
use super::cs0;
use super::field::array;
use super::tag::{id, Tag};
use super::timestamp::UdfTime;

const STRUCTURE: &str = "UDF primary volume descriptor";
/// Length of the descriptor.
pub const LEN: usize = 512;

/// A primary volume descriptor as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrimaryVolume {
    pub tag: Tag,
    pub vds_number: u32,
    pub number: u32,
    /// dstring.
    pub volume_id: [u8; 32],
    pub volume_sequence: u16,
    pub max_volume_sequence: u16,
    pub interchange_level: u16,
    pub max_interchange_level: u16,
    pub charset_list: u32,
    pub max_charset_list: u32,
    /// dstring.
    pub volume_set_id: [u8; 128],
    /// charspec.
    pub descriptor_charset: [u8; 64],
    /// charspec.
    pub explanatory_charset: [u8; 64],
    pub volume_abstract: ExtentAd,
    pub copyright_notice: ExtentAd,
    /// regid.
    pub application_id: [u8; 32],
    pub recorded: UdfTime,
    /// regid.
    pub implementation_id: [u8; 32],
    pub implementation_use: [u8; 64],
    pub predecessor: u32,
    pub flags: u16,
}

impl PrimaryVolume {
    /// Decodes and verifies the descriptor in `buf` (`offset` in `image`).
    pub fn decode(buf: &[u8], image: &str, offset: u64) -> Result<Self> {
        let tag = Tag::of_kind(buf, id::PRIMARY_VOLUME, image, STRUCTURE, offset)?;
        let f = Fields::new(buf, image, STRUCTURE, offset);
        Ok(PrimaryVolume {
            tag,
            vds_number: f.le32(16)?,
            number: f.le32(20)?,
            volume_id: array(&f, 24)?,
            volume_sequence: f.le16(56)?,
            max_volume_sequence: f.le16(58)?,
            interchange_level: f.le16(60)?,
            max_interchange_level: f.le16(62)?,
            charset_list: f.le32(64)?,
            max_charset_list: f.le32(68)?,
            volume_set_id: array(&f, 72)?,
            descriptor_charset: array(&f, 200)?,
            explanatory_charset: array(&f, 264)?,
            volume_abstract: ExtentAd::decode(&f, 328)?,
            copyright_notice: ExtentAd::decode(&f, 336)?,
            application_id: array(&f, 344)?,
            recorded: UdfTime::read(&f, 376)?,
            implementation_id: array(&f, 388)?,
            implementation_use: array(&f, 420)?,
            predecessor: f.le32(484)?,
            flags: f.le16(488)?,
        })
    }

    /// The 512 bytes of the descriptor.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; LEN];
        put_le32(&mut b, 16, self.vds_number);
        put_le32(&mut b, 20, self.number);
        b[24..56].copy_from_slice(&self.volume_id);
        put_le16(&mut b, 56, self.volume_sequence);
        put_le16(&mut b, 58, self.max_volume_sequence);
        put_le16(&mut b, 60, self.interchange_level);
        put_le16(&mut b, 62, self.max_interchange_level);
        put_le32(&mut b, 64, self.charset_list);
        put_le32(&mut b, 68, self.max_charset_list);
        b[72..200].copy_from_slice(&self.volume_set_id);
        b[200..264].copy_from_slice(&self.descriptor_charset);
        b[264..328].copy_from_slice(&self.explanatory_charset);
        self.volume_abstract.encode(&mut b, 328);
        self.copyright_notice.encode(&mut b, 336);
        b[344..376].copy_from_slice(&self.application_id);
        b[376..388].copy_from_slice(&self.recorded.0);
        b[388..420].copy_from_slice(&self.implementation_id);
        b[420..484].copy_from_slice(&self.implementation_use);
        put_le32(&mut b, 484, self.predecessor);
        put_le16(&mut b, 488, self.flags);
        self.tag.encode(&mut b);
        b
    }

    /// The volume identifier as text.
    pub fn volume_id(&self) -> String {
        cs0::dstring(&self.volume_id)
    }

    /// The volume set identifier as text.
    pub fn volume_set_id(&self) -> String {
        cs0::dstring(&self.volume_set_id)
    }

    /// The application identifier as text.
    pub fn application(&self) -> String {
        cs0::regid(&self.application_id)
    }

    /// The implementation identifier as text.
    pub fn implementation(&self) -> String {
        cs0::regid(&self.implementation_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::udf::tag::patterned;

    #[test]
    fn round_trips() {
        let b = patterned(id::PRIMARY_VOLUME, LEN, |b| b[490..].fill(0));
        let d = PrimaryVolume::decode(&b, "x", 0).unwrap();
        assert_eq!(d.encode(), b);
        assert_eq!(PrimaryVolume::decode(&d.encode(), "x", 0).unwrap(), d);
    }
}
