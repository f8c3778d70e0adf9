//! Metadata blocks as the reader meets them: the units the inode, directory, fragment, export,
//! id and xattr tables are stored in, each behind a 2-byte header (bit 15: stored uncompressed;
//! the low 15 bits: the stored size) and decoding to at most 8 KiB. One block at an offset
//! ([`header`], then [`decode`]), or a run of blocks between two offsets decoded into one
//! buffer with where each block starts in it ([`Run`]). A block must end by the end its caller
//! gives, store at least one byte and decode to 1..=8192 bytes. A run can also be read whole
//! but decoded block by block as its blocks are asked for ([`Blocks`]).

use std::sync::OnceLock;

use super::compression::{self, Compressor};
use crate::error::{Error, Result};
use crate::ondisk::endian::le16;
use crate::ondisk::Fields;
use crate::source::Source;

/// The decoded size of a full metadata block.
pub const BLOCK: usize = 8192;
/// The header's flag: the block is stored as it is.
pub const STORED: u16 = 0x8000;
/// The most blocks a run may hold: 256 MiB decoded, eight times the inode table of a
/// squashfs of a million files. A block of a few stored bytes can decode to 8 KiB, so a run
/// of hostile blocks is refused by their count before it is decoded (a decompression bomb).
const MAX_BLOCKS: usize = 32 << 10;

/// A block's header, read at `at`.
pub struct Header {
    pub at: u64,
    /// The size of the stored bytes that follow the header.
    pub stored: usize,
    pub plain: bool,
    /// Where the next block starts.
    pub next: u64,
}

impl Header {
    /// The header `word` of the block at `at`, which must end by `end`.
    fn parse(word: u16, at: u64, end: u64) -> Result<Header, String> {
        let stored = word & !STORED;
        let next = at.saturating_add(2 + u64::from(stored));
        if stored == 0 || next > end {
            return Err(format!(
                "a metadata block of {stored} bytes does not fit before {end}"
            ));
        }
        Ok(Header {
            at,
            stored: usize::from(stored),
            plain: word & STORED != 0,
            next,
        })
    }
}

/// Reads the header of the block at `at`, which must end by `end`; errors name `structure`.
pub fn header(source: &dyn Source, at: u64, end: u64, structure: &'static str) -> Result<Header> {
    let bytes = source.read_vec(at, 2, structure)?;
    let word = Fields::new(&bytes, source.name(), structure, at).le16(0)?;
    Header::parse(word, at, end).map_err(|e| Error::corrupt(source.name(), structure, at, e))
}

/// Reads the stored bytes of the block `h` heads and appends them decoded to `out`.
pub fn decode(
    source: &dyn Source,
    compressor: Compressor,
    h: &Header,
    structure: &'static str,
    out: &mut Vec<u8>,
) -> Result<()> {
    let stored = source.read_vec(h.at + 2, h.stored, structure)?;
    decode_onto(&stored, h.plain, compressor, out, &mut Vec::new())
        .map_err(|e| Error::corrupt(source.name(), structure, h.at, e))
}

/// Appends the block stored as `stored` to `out`, decoded straight into it where the
/// compressor can, else through `scratch`.
fn decode_onto(
    stored: &[u8],
    plain: bool,
    compressor: Compressor,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Result<(), String> {
    let start = out.len();
    if plain {
        out.extend_from_slice(stored);
    } else {
        out.resize(start + BLOCK, 0);
        match compression::decompress_into(stored, &mut out[start..], compressor) {
            Some(n) => out.truncate(start + n),
            None => {
                out.truncate(start);
                compression::decompress(stored, scratch, compressor)?;
                out.extend_from_slice(scratch);
            }
        }
    }
    let n = out.len() - start;
    if n == 0 || n > BLOCK {
        out.truncate(start);
        return Err(format!("a metadata block decodes to {n} bytes"));
    }
    Ok(())
}

/// The stored bytes of the blocks from `start` to `end` of the image (the last must end
/// there), and each block's header; errors name `structure` and the bad block's offset.
fn stored_run(
    source: &dyn Source,
    (start, end): (u64, u64),
    structure: &'static str,
) -> Result<(Vec<u8>, Vec<Header>)> {
    let len = usize::try_from(end.saturating_sub(start))
        .map_err(|_| Error::corrupt(source.name(), structure, start, "larger than memory"))?;
    let stored = source.read_vec(start, len, structure)?;
    let mut headers = Vec::new();
    let mut at = 0;
    while at < stored.len() {
        let offset = start + at as u64;
        let bad = |e| Error::corrupt(source.name(), structure, offset, e);
        let word = le16(&stored, at).ok_or_else(|| bad("a header cut short".into()))?;
        let h = Header::parse(word, offset, end).map_err(bad)?;
        at += 2 + h.stored;
        headers.push(h);
        if headers.len() > MAX_BLOCKS {
            return Err(bad(format!(
                "the table holds more than {MAX_BLOCKS} metadata blocks \
                 (over {} MiB decoded; a decompression bomb?)",
                (MAX_BLOCKS * BLOCK) >> 20
            )));
        }
    }
    Ok((stored, headers))
}

impl Header {
    /// The stored bytes of the block among `stored`, the run's bytes from `start`.
    fn body<'a>(&self, stored: &'a [u8], start: u64) -> &'a [u8] {
        let at = (self.at - start) as usize + 2;
        stored.get(at..at + self.stored).unwrap_or_default()
    }
}

/// The blocks from one offset of the image to another, decoded end to end.
pub struct Run {
    pub bytes: Vec<u8>,
    /// Each block's offset from the run's start, and where its bytes start in `bytes`, in
    /// order.
    blocks: Vec<(u64, usize)>,
}

impl Run {
    /// Reads and decodes the blocks from `start` to `end` (the last must end there); errors
    /// name `structure` and the image offset of the bad block.
    pub fn read(
        source: &dyn Source,
        compressor: Compressor,
        (start, end): (u64, u64),
        structure: &'static str,
    ) -> Result<Run> {
        let (stored, headers) = stored_run(source, (start, end), structure)?;
        let mut run = Run {
            bytes: Vec::new(),
            blocks: Vec::with_capacity(headers.len()),
        };
        let mut scratch = Vec::new();
        for h in &headers {
            run.blocks.push((h.at - start, run.bytes.len()));
            decode_onto(
                h.body(&stored, start),
                h.plain,
                compressor,
                &mut run.bytes,
                &mut scratch,
            )
            .map_err(|e| Error::corrupt(source.name(), structure, h.at, e))?;
        }
        Ok(run)
    }

    /// Where the block at `block` (an offset from the run's start) starts in the bytes.
    pub fn position(&self, block: u64) -> Option<usize> {
        let i = self.blocks.binary_search_by_key(&block, |b| b.0).ok()?;
        Some(self.blocks[i].1)
    }
}

/// The blocks from one offset of the image to another, read whole but each decoded only
/// when first asked for, then kept.
pub struct Blocks {
    image: String,
    compressor: Compressor,
    structure: &'static str,
    start: u64,
    stored: Vec<u8>,
    headers: Vec<Header>,
    decoded: Vec<OnceLock<Vec<u8>>>,
}

impl Blocks {
    /// Reads the blocks from `start` to `end` (the last must end there), decoding none;
    /// errors name `structure` and the image offset of the bad block.
    pub fn read(
        source: &dyn Source,
        compressor: Compressor,
        (start, end): (u64, u64),
        structure: &'static str,
    ) -> Result<Blocks> {
        let (stored, headers) = stored_run(source, (start, end), structure)?;
        Ok(Blocks {
            image: source.name().to_string(),
            compressor,
            structure,
            start,
            decoded: headers.iter().map(|_| OnceLock::new()).collect(),
            stored,
            headers,
        })
    }

    /// The index of the block at `block` (an offset from the run's start).
    pub fn index(&self, block: u64) -> Option<usize> {
        let at = self.start.checked_add(block)?;
        self.headers.binary_search_by_key(&at, |h| h.at).ok()
    }

    /// Block `i`, decoded; `None` past the last.
    pub fn get(&self, i: usize) -> Option<Result<&[u8]>> {
        let (h, cell) = (self.headers.get(i)?, self.decoded.get(i)?);
        if let Some(block) = cell.get() {
            return Some(Ok(block));
        }
        let mut block = Vec::new();
        let body = h.body(&self.stored, self.start);
        let decoded = decode_onto(body, h.plain, self.compressor, &mut block, &mut Vec::new())
            .map_err(|e| Error::corrupt(&self.image, self.structure, h.at, e));
        Some(decoded.map(|()| &cell.get_or_init(|| block)[..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    /// Blocks stored plainly, each behind its header.
    fn plain(blocks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for b in blocks {
            out.extend_from_slice(&(b.len() as u16 | STORED).to_le_bytes());
            out.extend_from_slice(b);
        }
        out
    }

    fn read(image: Vec<u8>, end: u64) -> Result<Run> {
        let source = MemSource::new(image, "t.sqfs");
        Run::read(&source, Compressor::Gzip, (0, end), "squashfs test table")
    }

    #[test]
    fn a_run_maps_each_block_to_its_bytes() {
        let full = vec![7; BLOCK];
        let image = plain(&[&full, b"tail"]);
        let run = read(image.clone(), image.len() as u64).unwrap();
        assert_eq!(run.bytes.len(), BLOCK + 4);
        assert_eq!(run.position(0), Some(0));
        assert_eq!(run.position(BLOCK as u64 + 2), Some(BLOCK));
        assert_eq!(run.position(1), None);
        assert_eq!(&run.bytes[BLOCK..], b"tail");
    }

    #[test]
    fn blocks_are_decoded_only_when_asked_for() {
        // Two plain blocks, then one whose zlib stream is bad.
        let image = [plain(&[b"one", b"two"]), vec![2, 0, 1, 2]].concat();
        let source = MemSource::new(image, "t.sqfs");
        let blocks = Blocks::read(&source, Compressor::Gzip, (0, 14), "squashfs test table");
        let blocks = blocks.unwrap();
        assert_eq!(
            (blocks.index(5), blocks.index(10), blocks.index(1)),
            (Some(1), Some(2), None)
        );
        assert_eq!(blocks.get(1).unwrap().unwrap(), b"two");
        assert_eq!(blocks.get(0).unwrap().unwrap(), b"one");
        let e = blocks.get(2).unwrap().unwrap_err().to_string();
        assert!(
            e.contains("corrupt squashfs test table at offset 10"),
            "{e}"
        );
        assert!(blocks.get(3).is_none());
    }

    #[test]
    fn a_compressed_block_decodes_in_place() {
        let data = [b'z'; 5000];
        let packed = zstd::bulk::compress(&data, 3).unwrap();
        let mut image = (packed.len() as u16).to_le_bytes().to_vec();
        image.extend_from_slice(&packed);
        let source = MemSource::new(image.clone(), "t.sqfs");
        let end = image.len() as u64;
        let run = Run::read(&source, Compressor::Zstd, (0, end), "t").unwrap();
        assert_eq!(run.bytes, data);
        let h = header(&source, 0, end, "t").unwrap();
        let mut out = b"before".to_vec();
        decode(&source, Compressor::Zstd, &h, "t", &mut out).unwrap();
        assert_eq!(
            (h.next, &out[..6], &out[6..]),
            (end, &b"before"[..], &data[..])
        );
    }

    #[test]
    fn bad_blocks_are_errors_naming_the_table_and_the_block() {
        let two = plain(&[b"one", b"two"]);
        let cases: [(&str, Vec<u8>, u64, &str); 6] = [
            (
                "past the end",
                two.clone(),
                8,
                "at offset 5: a metadata block of 3 bytes",
            ),
            (
                "header cut",
                two[..6].to_vec(),
                6,
                "at offset 5: a header cut short",
            ),
            (
                "empty",
                vec![0, 0x80],
                2,
                "at offset 0: a metadata block of 0 bytes",
            ),
            ("bad zlib", vec![2, 0, 1, 2], 4, "at offset 0: "),
            (
                "too large",
                plain(&[&[1; BLOCK + 1]]),
                BLOCK as u64 + 3,
                "decodes to 8193 bytes",
            ),
            (
                "past the image",
                two.clone(),
                100,
                "would pass the end of the image",
            ),
        ];
        for (case, image, end, want) in cases {
            let e = read(image, end).err().unwrap().to_string();
            assert!(
                e.contains("corrupt squashfs test table") && e.contains(want),
                "{case}: {e}"
            );
        }
        let source = MemSource::new(two, "t.sqfs");
        let e = header(&source, 0, 4, "t").err().unwrap().to_string();
        assert!(e.contains("does not fit before 4"), "{e}");
    }

    #[test]
    fn a_run_of_more_blocks_than_any_table_holds_is_refused_before_decoding() {
        let tiny: Vec<&[u8]> = vec![b"x"; MAX_BLOCKS + 1];
        let image = plain(&tiny);
        let end = image.len() as u64;
        let e = read(image.clone(), end).err().unwrap().to_string();
        assert!(e.contains("more than 32768 metadata blocks"), "{e}");
        let source = MemSource::new(image, "t.sqfs");
        let blocks = Blocks::read(&source, Compressor::Gzip, (0, end), "t");
        assert!(blocks.is_err());
        // As many as a table may hold are read.
        let image = plain(&tiny[1..]);
        assert_eq!(
            read(image.clone(), image.len() as u64).unwrap().bytes.len(),
            MAX_BLOCKS
        );
    }
}
