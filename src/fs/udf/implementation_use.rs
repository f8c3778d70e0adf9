//! The implementation use volume descriptor (ECMA-167 3/10.4), and the logical volume
//! information UDF records in it (UDF 2.2.7: owner, organization, contact, the implementation
//! that wrote the volume); decoded and encoded.

use crate::error::Result;
use crate::ondisk::endian::put_le32;
use crate::ondisk::Fields;

use super::cs0;
use super::field::array;
use super::tag::{id, Tag};

const STRUCTURE: &str = "UDF implementation use volume descriptor";
/// Length of the descriptor.
pub const LEN: usize = 512;

/// An implementation use volume descriptor as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImplementationUse {
    pub tag: Tag,
    pub vds_number: u32,
    /// regid: `*UDF LV Info` for the UDF logical volume information.
    pub implementation_id: [u8; 32],
    pub implementation_use: [u8; 460],
}

impl ImplementationUse {
    /// Decodes and verifies the descriptor in `buf` (`offset` in `image`).
    pub fn decode(buf: &[u8], image: &str, offset: u64) -> Result<Self> {
        let tag = Tag::of_kind(buf, id::IMPLEMENTATION_USE, image, STRUCTURE, offset)?;
        let f = Fields::new(buf, image, STRUCTURE, offset);
        Ok(ImplementationUse {
            tag,
            vds_number: f.le32(16)?,
            implementation_id: array(&f, 20)?,
            implementation_use: array(&f, 52)?,
        })
    }

    /// The 512 bytes of the descriptor.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; LEN];
        put_le32(&mut b, 16, self.vds_number);
        b[20..52].copy_from_slice(&self.implementation_id);
        b[52..].copy_from_slice(&self.implementation_use);
        self.tag.encode(&mut b);
        b
    }

    /// What the descriptor says, as (label, value) pairs: the logical volume information
    /// (LVInfo1-3 and the implementation of UDF 2.2.7.2) or, for another kind of descriptor,
    /// its identifier.
    pub fn lv_info(&self) -> Vec<(String, String)> {
        let ident = cs0::regid(&self.implementation_id);
        if ident != "*UDF LV Info" {
            return vec![("Implementation use".into(), ident)];
        }
        // Offsets in the implementation use area (descriptor offset - 52).
        let iu = &self.implementation_use;
        vec![
            ("Owner".into(), cs0::dstring(&iu[192..228])),
            ("Organization".into(), cs0::dstring(&iu[228..264])),
            ("Contact".into(), cs0::dstring(&iu[264..300])),
            ("Implementation (LV info)".into(), cs0::regid(&iu[300..332])),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::udf::tag::patterned;

    #[test]
    fn round_trips() {
        let b = patterned(id::IMPLEMENTATION_USE, LEN, |_| {});
        let d = ImplementationUse::decode(&b, "x", 0).unwrap();
        assert_eq!(d.encode(), b);
        assert_eq!(ImplementationUse::decode(&d.encode(), "x", 0).unwrap(), d);
    }
}
