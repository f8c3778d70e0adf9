//! The anchor volume descriptor pointer (ECMA-167 3/10.2): at block 256, else at the last
//! block N or at N-256. Finding it also fixes the block size, which the UDF volume uses for
//! every address (2048 on optical discs, 512 to 32768 on other media).

use crate::error::{Error, Result};
use crate::source::Source;

use super::tag::{id, le32, Tag};

/// An extent of whole blocks (extent_ad, ECMA-167 3/7.1): length in bytes, first block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtentAd {
    pub len: u32,
    pub block: u32,
}

impl ExtentAd {
    /// Decodes the 8 bytes at `off`.
    pub fn decode(b: &[u8], off: usize) -> Self {
        ExtentAd {
            len: le32(b, off),
            block: le32(b, off + 4),
        }
    }
}

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
    let buf = src.read_vec(offset, 512, "UDF anchor volume descriptor pointer")?;
    let location = u32::try_from(block)
        .map_err(|_| Error::corrupt(src.name(), "UDF anchor", offset, "block number past 2^32"))?;
    Tag::check(
        &buf,
        id::ANCHOR,
        location,
        src.name(),
        "UDF anchor volume descriptor pointer",
        offset,
    )?;
    Ok(Anchor {
        block_size: bs,
        main: ExtentAd::decode(&buf, 16),
        reserve: ExtentAd::decode(&buf, 24),
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
            "UDF anchor volume descriptor pointer",
            256 * 2048,
            "the image is too small to hold one",
        )
    }))
}
