//! Lookup tables, the shape of the fragment, export and id tables: fixed-size entries packed
//! into metadata blocks, and where the superblock points, an index of the image offsets (u64
//! each) of those blocks. Read whole: the index is read from the image (so a count the image
//! cannot hold is refused before anything is sized by it), then each block, which must end by
//! the next block's offset (the last by the index: blocks never overlap, as the kernel
//! requires of the id table) and hold a full 8 KiB of entries unless it is the last.

use super::compression::Compressor;
use super::metadata::{self, BLOCK};
use crate::error::{Error, Result};
use crate::ondisk::Fields;
use crate::source::Source;

/// The `count` entries of `size` bytes each of the lookup table whose index lies at `index`,
/// end to end; errors name `structure`.
pub fn read(
    source: &dyn Source,
    compressor: Compressor,
    index: u64,
    (count, size): (u64, u64),
    structure: &'static str,
) -> Result<Vec<u8>> {
    let bytes = count * size;
    let blocks = bytes.div_ceil(BLOCK as u64);
    let index_len = usize::try_from(blocks * 8)
        .map_err(|_| Error::corrupt(source.name(), structure, index, format!("{count} entries")))?;
    let raw = source.read_vec(index, index_len, structure)?;
    let f = Fields::new(&raw, source.name(), structure, index);
    let pointers = index_len / 8;
    let mut out = Vec::new();
    for i in 0..pointers {
        let at = f.le64(i * 8)?;
        let end = if i + 1 < pointers {
            f.le64(i * 8 + 8)?
        } else {
            index
        };
        let h = metadata::header(source, at, end, structure)?;
        let before = out.len();
        metadata::decode(source, compressor, &h, structure, &mut out)?;
        let need = (bytes - before as u64).min(BLOCK as u64);
        if ((out.len() - before) as u64) < need {
            return Err(Error::corrupt(
                source.name(),
                structure,
                at,
                format!(
                    "block {i} holds {} bytes of entries; the table needs {need} from it",
                    out.len() - before
                ),
            ));
        }
    }
    out.truncate(bytes as usize);
    Ok(out)
}
