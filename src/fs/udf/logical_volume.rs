//! The logical volume descriptor (ECMA-167 3/10.6, UDF 2.2.4): block size, domain, where the
//! file set descriptor is, the partition map table and the integrity sequence; decoded and
//! encoded. The maps themselves are read in [`super::partition`].

use crate::error::Result;
use crate::ondisk::endian::{le16, put_le32};
use crate::ondisk::Fields;

use super::ad::{long_ad, Ad, AdForm};
use super::anchor::ExtentAd;
use super::cs0;
use super::field::array;
use super::tag::{id, Tag};

const STRUCTURE: &str = "UDF logical volume descriptor";
/// Length of the descriptor before the partition maps.
pub const HEAD: usize = 440;

/// A logical volume descriptor as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogicalVolume {
    pub tag: Tag,
    pub vds_number: u32,
    /// charspec.
    pub descriptor_charset: [u8; 64],
    /// dstring.
    pub volume_id: [u8; 128],
    pub block_size: u32,
    /// regid: `*OSTA UDF Compliant`, the UDF revision in its suffix.
    pub domain_id: [u8; 32],
    /// The logical volume contents use: where the file set descriptor is.
    pub file_set: Ad,
    pub map_count: u32,
    /// regid.
    pub implementation_id: [u8; 32],
    pub implementation_use: [u8; 128],
    /// Where the logical volume integrity sequence is.
    pub integrity: ExtentAd,
    /// The partition map table.
    pub maps: Vec<u8>,
}

impl LogicalVolume {
    /// Decodes and verifies the descriptor in `buf` (`offset` in `image`).
    pub fn decode(buf: &[u8], image: &str, offset: u64) -> Result<Self> {
        let tag = Tag::of_kind(buf, id::LOGICAL_VOLUME, image, STRUCTURE, offset)?;
        let f = Fields::new(buf, image, STRUCTURE, offset);
        let map_len = f.le32(264)? as usize;
        let maps = f
            .slice(HEAD, map_len)
            .map_err(|_| {
                f.corrupt(format!(
                    "partition map table of {map_len} bytes passes the block"
                ))
            })?
            .to_vec();
        Ok(LogicalVolume {
            tag,
            vds_number: f.le32(16)?,
            descriptor_charset: array(&f, 20)?,
            volume_id: array(&f, 84)?,
            block_size: f.le32(212)?,
            domain_id: array(&f, 216)?,
            file_set: long_ad(&f, 248)?,
            map_count: f.le32(268)?,
            implementation_id: array(&f, 272)?,
            implementation_use: array(&f, 304)?,
            integrity: ExtentAd::decode(&f, 432)?,
            maps,
        })
    }

    /// The bytes of the descriptor: 440 and the partition map table.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; HEAD + self.maps.len()];
        put_le32(&mut b, 16, self.vds_number);
        b[20..84].copy_from_slice(&self.descriptor_charset);
        b[84..212].copy_from_slice(&self.volume_id);
        put_le32(&mut b, 212, self.block_size);
        b[216..248].copy_from_slice(&self.domain_id);
        b[248..264].copy_from_slice(&self.file_set.encode(AdForm::Long));
        put_le32(&mut b, 264, self.maps.len() as u32);
        put_le32(&mut b, 268, self.map_count);
        b[272..304].copy_from_slice(&self.implementation_id);
        b[304..432].copy_from_slice(&self.implementation_use);
        self.integrity.encode(&mut b, 432);
        b[HEAD..].copy_from_slice(&self.maps);
        self.tag.encode(&mut b);
        b
    }

    /// The logical volume identifier as text.
    pub fn volume_id(&self) -> String {
        cs0::dstring(&self.volume_id)
    }

    /// The domain identifier as text.
    pub fn domain(&self) -> String {
        cs0::regid(&self.domain_id)
    }

    /// The UDF revision the domain identifier names (0x0102, 0x0150, 0x0201, 0x0250...).
    pub fn udf_revision(&self) -> u16 {
        le16(&self.domain_id, 24).unwrap_or_default()
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
        let b = patterned(id::LOGICAL_VOLUME, HEAD + 6, |b| {
            b[264..268].copy_from_slice(&6u32.to_le_bytes())
        });
        let d = LogicalVolume::decode(&b, "x", 0).unwrap();
        assert_eq!(d.encode(), b);
        assert_eq!(LogicalVolume::decode(&d.encode(), "x", 0).unwrap(), d);
    }
}
