//! The fragment table: for each fragment block (the packed tails of small files) where it
//! starts and its size word, as a lookup table of 16-byte entries (start u64, size word u32,
//! an unused u32). Read whole when the image is opened.

use super::compression::Compressor;
use super::data::DataSize;
use super::lookup;
use super::superblock::{Superblock, NOT_SET};
use crate::error::Result;
use crate::ondisk::Fields;
use crate::source::Source;

const STRUCTURE: &str = "squashfs fragment table";
/// The size of an entry.
const ENTRY: usize = 16;

/// One fragment block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    pub start: u64,
    pub size: DataSize,
}

/// The fragment table of the image `sb` describes (none when it counts no fragments or has
/// no table).
pub fn read(source: &dyn Source, compressor: Compressor, sb: &Superblock) -> Result<Vec<Fragment>> {
    if sb.frag_count == 0 || sb.frag_table == NOT_SET {
        return Ok(Vec::new());
    }
    let count = (u64::from(sb.frag_count), ENTRY as u64);
    let bytes = lookup::read(source, compressor, sb.frag_table, count, STRUCTURE)?;
    let f = Fields::new(&bytes, source.name(), STRUCTURE, sb.frag_table);
    (0..bytes.len() / ENTRY)
        .map(|i| {
            Ok(Fragment {
                start: f.le64(i * ENTRY)?,
                size: DataSize(f.le32(i * ENTRY + 8)?),
            })
        })
        .collect()
}
