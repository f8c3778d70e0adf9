//! The unallocated space descriptor (ECMA-167 3/10.8): the extents of the volume that no
//! partition holds; decoded and encoded.

use crate::error::Result;
use crate::ondisk::endian::put_le32;
use crate::ondisk::Fields;

use super::anchor::ExtentAd;
use super::tag::{id, Tag};

const STRUCTURE: &str = "UDF unallocated space descriptor";
/// Length of the descriptor before its extents.
const HEAD: usize = 24;

/// An unallocated space descriptor as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnallocatedSpace {
    pub tag: Tag,
    pub vds_number: u32,
    pub extents: Vec<ExtentAd>,
}

impl UnallocatedSpace {
    /// Decodes and verifies the descriptor in `buf` (`offset` in `image`).
    pub fn decode(buf: &[u8], image: &str, offset: u64) -> Result<Self> {
        let tag = Tag::of_kind(buf, id::UNALLOCATED_SPACE, image, STRUCTURE, offset)?;
        let f = Fields::new(buf, image, STRUCTURE, offset);
        let count = f.le32(20)? as usize;
        if count > buf.len().saturating_sub(HEAD) / 8 {
            return Err(f.corrupt(format!("{count} extents pass the descriptor's end")));
        }
        let extents = (0..count)
            .map(|i| ExtentAd::decode(&f, HEAD + 8 * i))
            .collect::<Result<_>>()?;
        Ok(UnallocatedSpace {
            tag,
            vds_number: f.le32(16)?,
            extents,
        })
    }

    /// The bytes of the descriptor: 24 and 8 per extent.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; HEAD + 8 * self.extents.len()];
        put_le32(&mut b, 16, self.vds_number);
        put_le32(&mut b, 20, self.extents.len() as u32);
        for (i, e) in self.extents.iter().enumerate() {
            e.encode(&mut b, HEAD + 8 * i);
        }
        self.tag.encode(&mut b);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::udf::tag::patterned;

    #[test]
    fn round_trips() {
        let b = patterned(id::UNALLOCATED_SPACE, HEAD + 16, |b| {
            b[20..24].copy_from_slice(&2u32.to_le_bytes())
        });
        let d = UnallocatedSpace::decode(&b, "x", 0).unwrap();
        assert_eq!(d.encode(), b);
        assert_eq!(UnallocatedSpace::decode(&d.encode(), "x", 0).unwrap(), d);
    }
}
