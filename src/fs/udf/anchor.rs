//! The anchor volume descriptor pointer (ECMA-167 3/10.2): at block 256, else at the last
//! block N or at N-256. Finding it also fixes the block size, which the UDF volume uses for
//! every address (2048 on optical discs, 512 to 32768 on other media). The descriptor is
//! decoded and encoded here, with the extent_ad it and other descriptors use.

use crate::error::{Error, Result};
use crate::source::Source;

use crate::ondisk::endian::put_le32;
use crate::ondisk::Fields;

use super::tag::{id, Tag};

/// An extent of whole blocks (extent_ad, ECMA-167 3/7.1): length in bytes, first block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtentAd {
    pub len: u32,
    pub block: u32,
}

impl ExtentAd {
    /// Decodes the 8 bytes at `at` of a descriptor.
    pub fn decode(f: &Fields, at: usize) -> Result<Self> {
        Ok(ExtentAd {
            len: f.le32(at)?,
            block: f.le32(at + 4)?,
        })
    }

    /// Writes the 8 bytes at `at` of an encoder's buffer.
    pub fn encode(&self, b: &mut [u8], at: usize) {
        put_le32(b, at, self.len);
        put_le32(b, at + 4, self.block);
    }
}

/// The anchor volume descriptor pointer as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnchorDescriptor {
    pub tag: Tag,
    /// The main volume descriptor sequence.
    pub main: ExtentAd,
    /// The reserve volume descriptor sequence.
    pub reserve: ExtentAd,
}

/// Length of the descriptor.
pub const LEN: usize = 512;

impl AnchorDescriptor {
    /// Decodes and verifies the descriptor in `buf`, found at block `location` (`offset` in
    /// `image`).
    pub fn decode(buf: &[u8], location: u32, image: &str, offset: u64) -> Result<Self> {
        let tag = Tag::check(buf, id::ANCHOR, location, image, STRUCTURE, offset)?;
        let f = Fields::new(buf, image, STRUCTURE, offset);
        Ok(AnchorDescriptor {
            tag,
            main: ExtentAd::decode(&f, 16)?,
            reserve: ExtentAd::decode(&f, 24)?,
        })
    }

    /// The 512 bytes of the descriptor.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; LEN];
        self.main.encode(&mut b, 16);
        self.reserve.encode(&mut b, 24);
        self.tag.encode(&mut b);
        b
    }
}

const STRUCTURE: &str = "UDF anchor volume descriptor pointer";

/// What the anchor says: where the volume descriptor sequences are, and the block size.
#[derive(Clone, Copy, Debug)]
pub struct Anchor {
    pub block_size: u32,
    pub main: ExtentAd,
    pub reserve: ExtentAd,
}

/// Block sizes tried, the optical one first.
const BLOCK_SIZES: [u32; 7] = [2048, 512, 1024, 4096, 8192, 16384, 32768];

fn try_at(src: &dyn Source, bs: u32, block: u64) -> Result<Anchor> {
    let offset = block * u64::from(bs);
    let buf = src.read_vec(offset, LEN, STRUCTURE)?;
    let location = u32::try_from(block)
        .map_err(|_| Error::corrupt(src.name(), "UDF anchor", offset, "block number past 2^32"))?;
    let d = AnchorDescriptor::decode(&buf, location, src.name(), offset)?;
    Ok(Anchor {
        block_size: bs,
        main: d.main,
        reserve: d.reserve,
    })
}

/// Finds the anchor: block 256 at each block size, then the last block N, then N-256. Returns the
/// error met at block 256 of the 2048-byte size when there is none anywhere.
pub fn find(src: &dyn Source) -> Result<Anchor> {
    let mut first_error = None;
    for which in 0..3 {
        for bs in BLOCK_SIZES {
            let blocks = src.len() / u64::from(bs);
            let block = match which {
                0 => Some(256),
                1 => blocks.checked_sub(1),
                _ => blocks.checked_sub(257),
            };
            let Some(block) = block.filter(|&b| b >= 256) else {
                continue;
            };
            match try_at(src, bs, block) {
                Ok(a) => return Ok(a),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    Err(first_error.unwrap_or_else(|| {
        Error::corrupt(
            src.name(),
            STRUCTURE,
            256 * 2048,
            "the image is too small to hold one",
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let d = AnchorDescriptor {
            tag: Tag::new(id::ANCHOR, 3, 1, 256, LEN),
            main: ExtentAd {
                len: 16 * 2048,
                block: 32,
            },
            reserve: ExtentAd {
                len: 16 * 2048,
                block: 48,
            },
        };
        let b = d.encode();
        assert_eq!(AnchorDescriptor::decode(&b, 256, "x", 0).unwrap(), d);
        assert!(AnchorDescriptor::decode(&b, 257, "x", 0).is_err());
    }
}
