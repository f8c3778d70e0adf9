//! The id table: the uids and gids inodes refer to by 16-bit index, as a lookup table of u32
//! entries. Read whole when the image is opened.

use super::compression::Compressor;
use super::lookup;
use super::superblock::Superblock;
use crate::error::Result;
use crate::ondisk::Fields;
use crate::source::Source;

const STRUCTURE: &str = "squashfs id table";

/// The ids of the image `sb` describes.
pub fn read(source: &dyn Source, compressor: Compressor, sb: &Superblock) -> Result<Vec<u32>> {
    if sb.id_count == 0 {
        return Ok(Vec::new());
    }
    let count = (u64::from(sb.id_count), 4);
    let bytes = lookup::read(source, compressor, sb.id_table, count, STRUCTURE)?;
    let f = Fields::new(&bytes, source.name(), STRUCTURE, sb.id_table);
    (0..bytes.len() / 4).map(|i| f.le32(i * 4)).collect()
}
