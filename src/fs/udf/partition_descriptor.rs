//! The partition descriptor (ECMA-167 3/10.5): a partition's number, contents (`+NSR02`,
//! `+NSR03`), access type and where its blocks lie; decoded and encoded.

use crate::error::Result;
use crate::ondisk::endian::{put_le16, put_le32};
use crate::ondisk::Fields;

use super::cs0;
use super::field::array;
use super::tag::{id, Tag};

const STRUCTURE: &str = "UDF partition descriptor";
/// Length of the descriptor.
pub const LEN: usize = 512;

/// A partition descriptor as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionDescriptor {
    pub tag: Tag,
    pub vds_number: u32,
    pub flags: u16,
    pub number: u16,
    /// regid: `+NSR02` (UDF 1.x) or `+NSR03` (2.x).
    pub contents: [u8; 32],
    /// The partition header descriptor (unallocated space and freed space tables...).
    pub contents_use: [u8; 128],
    /// Access type: 1 read-only, 2 write-once, 3 rewritable, 4 overwritable.
    pub access: u32,
    /// First block of the partition, in blocks from the start of the image.
    pub start: u32,
    pub length: u32,
    /// regid.
    pub implementation_id: [u8; 32],
    pub implementation_use: [u8; 128],
}

impl PartitionDescriptor {
    /// Decodes and verifies the descriptor in `buf` (`offset` in `image`).
    pub fn decode(buf: &[u8], image: &str, offset: u64) -> Result<Self> {
        let tag = Tag::of_kind(buf, id::PARTITION, image, STRUCTURE, offset)?;
        let f = Fields::new(buf, image, STRUCTURE, offset);
        Ok(PartitionDescriptor {
            tag,
            vds_number: f.le32(16)?,
            flags: f.le16(20)?,
            number: f.le16(22)?,
            contents: array(&f, 24)?,
            contents_use: array(&f, 56)?,
            access: f.le32(184)?,
            start: f.le32(188)?,
            length: f.le32(192)?,
            implementation_id: array(&f, 196)?,
            implementation_use: array(&f, 228)?,
        })
    }

    /// The 512 bytes of the descriptor.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; LEN];
        put_le32(&mut b, 16, self.vds_number);
        put_le16(&mut b, 20, self.flags);
        put_le16(&mut b, 22, self.number);
        b[24..56].copy_from_slice(&self.contents);
        b[56..184].copy_from_slice(&self.contents_use);
        put_le32(&mut b, 184, self.access);
        put_le32(&mut b, 188, self.start);
        put_le32(&mut b, 192, self.length);
        b[196..228].copy_from_slice(&self.implementation_id);
        b[228..356].copy_from_slice(&self.implementation_use);
        self.tag.encode(&mut b);
        b
    }

    /// The contents identifier as text (`+NSR03`).
    pub fn contents(&self) -> String {
        cs0::regid(&self.contents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::udf::tag::patterned;

    #[test]
    fn round_trips() {
        let b = patterned(id::PARTITION, LEN, |b| b[356..].fill(0));
        let d = PartitionDescriptor::decode(&b, "x", 0).unwrap();
        assert_eq!(d.encode(), b);
        assert_eq!(PartitionDescriptor::decode(&d.encode(), "x", 0).unwrap(), d);
    }
}
