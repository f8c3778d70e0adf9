//! The chunk index of a chunk-based EROFS file (`mkfs.erofs --chunksize`): after the inode and
//! its xattrs (aligned to its entry size), one entry per chunk of `block size << chunk bits`
//! bytes: a 4-byte block address, or with the index format an 8-byte entry (advise, device,
//! block address). A null address is a hole, which is how mkfs.erofs stores a sparse file's
//! holes. Read here as spans (the image's blocks, zeros for holes), so copies move the data
//! and keep the holes; a file on another device, or whose index is too large, is left to the
//! crate (`None`).

use super::inode::{DiskInode, NULL_ADDR};
use crate::data::span::Span;
use crate::ondisk::endian::{le16, le32};
use crate::source::Source;
use std::sync::Arc;

/// The chunk-based data layout (`i_format` bits 1-3).
pub const CHUNK_BASED: u8 = 4;
/// The chunk format's bits: the chunk size as a power of two of blocks, and the index form.
const CHUNK_BITS: u16 = 0x1f;
const INDEXES: u16 = 0x20;
/// Format bits this reader does not know (48-bit block addresses and later).
const UNKNOWN: u16 = !(CHUNK_BITS | INDEXES);
/// The largest index read for spans (a million 4-byte entries).
const MAX_INDEX: u64 = 4 << 20;

/// The spans of chunk-based file `inode` of the image `source` (blocks of `bs` bytes).
pub fn spans(source: &Arc<dyn Source>, inode: &DiskInode, bs: u64) -> Option<Vec<Span>> {
    let format = (inode.raw & 0xffff) as u16;
    if format & UNKNOWN != 0 {
        return None;
    }
    let chunk = bs.checked_shl(u32::from(format & CHUNK_BITS))?;
    let count = inode.size.div_ceil(chunk);
    let unit = if format & INDEXES != 0 { 8 } else { 4 };
    let len = count.checked_mul(unit)?;
    if len > MAX_INDEX {
        return None;
    }
    let at = inode.tail().checked_next_multiple_of(unit)?;
    let mut index = vec![0u8; len as usize];
    source
        .read_exact_at(at, &mut index, "EROFS chunk index")
        .ok()?;
    let mut spans: Vec<Span> = Vec::new();
    for i in 0..count {
        let e = (i * unit) as usize;
        let (device, block) = match unit {
            8 => (le16(&index, e + 2)?, le32(&index, e + 4)?),
            _ => (0, le32(&index, e)?),
        };
        let len = chunk.min(inode.size - i * chunk);
        let span = match block {
            NULL_ADDR => Span::Zeros(len),
            _ if device != 0 => return None,
            _ => {
                let start = u64::from(block).checked_mul(bs)?;
                if start.checked_add(len)? > source.len() {
                    return None;
                }
                Span::source(source, start, len)
            }
        };
        match (spans.last_mut(), &span) {
            (Some(Span::Zeros(n)), Span::Zeros(m)) => *n += m,
            (
                Some(Span::Source {
                    offset, len: have, ..
                }),
                Span::Source {
                    offset: next, len, ..
                },
            ) if *offset + *have == *next => *have += len,
            _ => spans.push(span),
        }
    }
    Some(spans)
}
