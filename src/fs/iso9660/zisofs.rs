//! zisofs: files compressed block by block with zlib, announced by a Rock Ridge ZF entry
//! (algorithm `pz`). The file starts with a header (magic, uncompressed size, header size,
//! block size) and a table of block pointers; each block inflates to the block size (the last
//! one to the rest). Pointers are checked (ascending, inside the file) before any block is read.

use flate2::{Decompress, FlushDecompress, Status};

use super::susp::Entry;
use crate::error::{Error, Result};

/// The magic number at the start of a zisofs file.
const MAGIC: [u8; 8] = [0x37, 0xe4, 0x53, 0x96, 0xc9, 0xdb, 0xd6, 0x07];

/// The ZF entry: how a file is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zf {
    pub algorithm: [u8; 2],
    /// Header size in 4-byte words.
    pub header_words: u8,
    /// log2 of the block size (15, 16 or 17).
    pub block_log2: u8,
    /// The uncompressed size.
    pub size: u32,
}

impl Zf {
    /// Decodes a ZF entry.
    pub fn decode(image: &str, e: &Entry) -> Result<Zf> {
        let d = e.data;
        if d.len() < 12 {
            return Err(Error::corrupt(
                image,
                "ZF entry",
                e.offset,
                format!("{} data bytes, needs 12", d.len()),
            ));
        }
        Ok(Zf {
            algorithm: [d[0], d[1]],
            header_words: d[2],
            block_log2: d[3],
            size: super::record::both_endian_u32(&d[4..12]),
        })
    }
}

/// The decoded layout of one compressed file: its block pointers, relative to the start of
/// the compressed data.
#[derive(Clone, Debug)]
pub struct Layout {
    pub size: u64,
    pub block_size: u64,
    pub pointers: Vec<u32>,
}

impl Layout {
    /// Checks `zf` and the file's header (`head` holds at least the header and the pointer
    /// table, read from the file's first bytes) against the compressed length `stored`.
    pub fn decode(
        image: &str,
        offset: u64,
        zf: &Zf,
        stored: u64,
        read: &dyn Fn(u64, usize) -> Result<Vec<u8>>,
    ) -> Result<Layout> {
        let corrupt = |detail: String| Error::corrupt(image, "zisofs header", offset, detail);
        if &zf.algorithm != b"pz" {
            return Err(Error::unsupported(
                image,
                format!(
                    "zisofs algorithm {:?} (only \"pz\", zlib, is read)",
                    String::from_utf8_lossy(&zf.algorithm)
                ),
            ));
        }
        if !(15..=17).contains(&zf.block_log2) {
            return Err(corrupt(format!(
                "block size 2^{} is not 2^15..2^17",
                zf.block_log2
            )));
        }
        let block_size = 1u64 << zf.block_log2;
        let size = u64::from(zf.size);
        let blocks = size.div_ceil(block_size);
        let header_len = u64::from(zf.header_words) * 4;
        let table_end = header_len + (blocks + 1) * 4;
        if header_len < 16 || table_end > stored {
            return Err(corrupt(format!(
                "header of {header_len} bytes and {blocks} block pointers do not fit the {stored} stored bytes"
            )));
        }
        let head = read(0, table_end as usize)?;
        if head[..8] != MAGIC {
            return Err(corrupt("no zisofs magic number".into()));
        }
        let pointers: Vec<u32> = head[header_len as usize..]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let mut prev = table_end;
        for (i, &p) in pointers.iter().enumerate() {
            let p = u64::from(p);
            if p < prev || p > stored || p - prev > 2 * block_size + 1024 {
                return Err(corrupt(format!(
                    "block pointer {i} ({p}) is out of order, too far from the previous one, or past the stored {stored} bytes"
                )));
            }
            prev = p;
        }
        Ok(Layout {
            size,
            block_size,
            pointers,
        })
    }

    /// The compressed byte range of block `index` (an empty range is a block of zeros).
    pub fn block_range(&self, index: usize) -> (u64, u64) {
        (
            u64::from(self.pointers[index]),
            u64::from(self.pointers[index + 1]),
        )
    }

    /// The uncompressed length of block `index`.
    pub fn block_len(&self, index: usize) -> usize {
        let start = index as u64 * self.block_size;
        (self.size - start).min(self.block_size) as usize
    }

    /// Inflates one block's compressed bytes into `out` (cleared first), which must come to
    /// exactly `expect` bytes.
    pub fn inflate(
        image: &str,
        offset: u64,
        compressed: &[u8],
        expect: usize,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        out.clear();
        if compressed.is_empty() {
            out.resize(expect, 0);
            return Ok(());
        }
        out.reserve(expect + 1);
        let mut z = Decompress::new(true);
        let status = z
            .decompress_vec(compressed, out, FlushDecompress::Finish)
            .map_err(|e| Error::corrupt(image, "zisofs block", offset, e.to_string()))?;
        if status != Status::StreamEnd || out.len() != expect {
            return Err(Error::corrupt(
                image,
                "zisofs block",
                offset,
                format!("inflates to {} bytes, expected {expect}", out.len()),
            ));
        }
        Ok(())
    }
}
