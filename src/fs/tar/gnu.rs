//! GNU tar's own extensions: the long name and long link members (`L`, `K`: a pseudo-member
//! named `././@LongLink` whose data is the next member's name or link target), and the old
//! sparse member (`S`): four (offset, length) pairs of the map and the real size in the header's
//! GNU area, then extension blocks of 21 more pairs while the "is extended" flag says so.

use super::header::{unsigned, BLOCK};

/// Pairs in the header's map, and where they start.
const HEADER_PAIRS: usize = 4;
const HEADER_MAP: usize = 386;
const HEADER_EXTENDED: usize = 482;
const HEADER_REALSIZE: std::ops::Range<usize> = 483..495;
/// Pairs in one extension block, and where its flag is.
const BLOCK_PAIRS: usize = 21;
const BLOCK_EXTENDED: usize = 504;

/// A long name or link from the data of an `L` or `K` member: up to its first NUL.
pub fn long_name(data: &[u8]) -> Vec<u8> {
    let end = data.iter().position(|c| *c == 0).unwrap_or(data.len());
    data[..end].to_vec()
}

/// One (offset, length) pair of a sparse map: `length` bytes of data at `offset` in the file.
pub type Extent = (u64, u64);

/// Reads `count` pairs of 12-byte octal numbers from `area`, stopping at an empty pair.
fn pairs(area: &[u8], count: usize, map: &mut Vec<Extent>) -> Result<(), String> {
    for i in 0..count {
        let pair = &area[i * 24..i * 24 + 24];
        if pair[0] == 0 {
            break;
        }
        match (unsigned(&pair[..12]), unsigned(&pair[12..])) {
            (Some(o), Some(n)) => map.push((o, n)),
            _ => {
                return Err(format!(
                    "pair {} of the sparse map is not a number",
                    map.len()
                ))
            }
        }
    }
    Ok(())
}

/// The old sparse header's part: the map's first pairs, whether extension blocks follow, and
/// the file's real size.
pub fn sparse_header(b: &[u8; BLOCK as usize]) -> Result<(Vec<Extent>, bool, u64), String> {
    let mut map = Vec::new();
    pairs(&b[HEADER_MAP..], HEADER_PAIRS, &mut map)?;
    let real = unsigned(&b[HEADER_REALSIZE]).ok_or("its real size is not a number")?;
    Ok((map, b[HEADER_EXTENDED] != 0, real))
}

/// One extension block: more pairs, and whether another block follows.
pub fn sparse_extension(b: &[u8; BLOCK as usize], map: &mut Vec<Extent>) -> Result<bool, String> {
    pairs(b, BLOCK_PAIRS, map)?;
    Ok(b[BLOCK_EXTENDED] != 0)
}
