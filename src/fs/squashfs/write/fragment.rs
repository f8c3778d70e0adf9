//! The fragment table: for each fragment block (the packed tails of small files) its place,
//! its size word (bit 24: stored uncompressed) and an unused u32, as a lookup table of 16-byte
//! entries.

use super::compress::Encoder;
use super::metadata::lookup_table;
use crate::error::Result;
use crate::plan::Plan;

/// One fragment block of the new image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    pub start: u64,
    pub size_word: u32,
}

/// Appends the table of `fragments` to `plan`; returns the superblock's pointer.
pub fn write(
    plan: &mut Plan,
    encoder: &Encoder,
    uncompressed: bool,
    fragments: &[Fragment],
) -> Result<u64> {
    let mut bytes = Vec::with_capacity(fragments.len() * 16);
    for f in fragments {
        bytes.extend_from_slice(&f.start.to_le_bytes());
        bytes.extend_from_slice(&f.size_word.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
    }
    lookup_table(plan, encoder, uncompressed, &bytes)
}
