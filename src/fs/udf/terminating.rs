//! The terminating descriptor (ECMA-167 3/10.9, 4/14.2): the end of a descriptor sequence, a
//! tag and zeros; decoded and encoded.

use crate::error::Result;

use super::tag::{id, Tag};

const STRUCTURE: &str = "UDF terminating descriptor";
/// Length of the descriptor.
pub const LEN: usize = 512;

/// A terminating descriptor as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terminating {
    pub tag: Tag,
}

impl Terminating {
    /// Decodes and verifies the descriptor in `buf` (`offset` in `image`).
    pub fn decode(buf: &[u8], image: &str, offset: u64) -> Result<Self> {
        let tag = Tag::of_kind(buf, id::TERMINATING, image, STRUCTURE, offset)?;
        Ok(Terminating { tag })
    }

    /// The 512 bytes of the descriptor.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; LEN];
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
        let b = patterned(id::TERMINATING, LEN, |b| b.fill(0));
        let d = Terminating::decode(&b, "x", 0).unwrap();
        assert_eq!(d.encode(), b);
        assert_eq!(Terminating::decode(&d.encode(), "x", 0).unwrap(), d);
    }
}
