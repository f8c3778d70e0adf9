//! zisofs: files compressed block by block with zlib, announced by a Rock Ridge ZF entry
//! (or, for zisofs2, a Z2 entry). Version 1 (algorithm `pz`): the file starts with a 16-byte
//! header (magic, uncompressed size, header size, block size) and a table of 32-bit block
//! pointers. Version 2 (algorithm `PZ`, header in [`super::zisofs2`]): a 24-byte header, a
//! 64-bit size and 64-bit pointers. Each block inflates to the block size (the last one to the
//! rest); an empty block is a block of zeros. A ZF entry with fields zisofs cannot have
//! ([`Zf::fault`]: a block size or algorithm it does not know) does not make a file zisofs:
//! the file is read as stored, as Linux reads it.
//!
//! The pointer table is not loaded whole: a window of it is read when a block in it is
//! needed, checked (ascending, after the table, inside the file, no block longer than a
//! compressed block can be) and kept in a [`Cache`] with the last inflated block, so
//! sequential reads read each window and inflate each block once.

use flate2::{Decompress, FlushDecompress, Status};

use super::susp::{self, Entry};
use super::zisofs2;
use crate::error::{Error, Result};
use crate::fs::Ino;
use crate::ondisk::endian;

/// The magic number at the start of a zisofs (version 1) file.
const MAGIC: [u8; 8] = [0x37, 0xe4, 0x53, 0x96, 0xc9, 0xdb, 0xd6, 0x07];
/// The algorithm of zisofs version 1.
const V1: &[u8; 2] = b"pz";
/// How many block pointers a window of the pointer table holds.
const WINDOW: u64 = 4096;

/// The ZF (or Z2) entry: how a file is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zf {
    /// `ZF`, or `Z2` (xorriso's alternative signature for zisofs2).
    pub signature: [u8; 2],
    /// The entry's version (xorriso writes 2 for a zisofs2 ZF entry).
    pub version: u8,
    pub algorithm: [u8; 2],
    /// Header size in 4-byte words.
    pub header_words: u8,
    /// log2 of the block size.
    pub block_log2: u8,
    /// The uncompressed size.
    pub size: u64,
}

impl Zf {
    /// Decodes a ZF or Z2 entry. Version 1 (algorithm `pz`, which the zisofs2 format keeps for
    /// it) records a both-endian 32-bit size, version 2 a little-endian 64-bit one.
    pub fn decode(image: &str, e: &Entry) -> Result<Zf> {
        let f = e.fields(image, "ZF entry");
        if e.data.len() < 12 {
            return Err(f.corrupt(format!("{} data bytes, needs 12", e.data.len())));
        }
        let algorithm = [f.u8(0)?, f.u8(1)?];
        let v1 = &algorithm == V1;
        Ok(Zf {
            signature: e.signature,
            version: e.version,
            algorithm,
            header_words: f.u8(2)?,
            block_log2: f.u8(3)?,
            size: if v1 {
                u64::from(f.both32(4)?)
            } else {
                f.le64(4)?
            },
        })
    }

    /// The entry's bytes (a version 1 size over 32 bits is cut to its low 32, which is all
    /// the field holds).
    pub fn encode(&self) -> Vec<u8> {
        let mut d = [0u8; 12];
        d[..2].copy_from_slice(&self.algorithm);
        d[2] = self.header_words;
        d[3] = self.block_log2;
        if self.v1() {
            endian::put_both32(&mut d, 4, self.size as u32);
        } else {
            endian::put_le64(&mut d, 4, self.size);
        }
        let mut out = susp::fixed(self.signature, &d);
        out[3] = self.version;
        out
    }

    /// Whether this is zisofs version 1.
    fn v1(&self) -> bool {
        &self.algorithm == V1
    }

    /// The block sizes (log2) the version allows: 32 KiB to 128 KiB for version 1; for
    /// version 2, 32 KiB to 1 MiB, as writers use (xorriso's block_size_v2).
    fn block_log2s(&self) -> std::ops::RangeInclusive<u8> {
        if self.v1() {
            15..=17
        } else {
            15..=20
        }
    }

    /// Why the entry cannot announce a zisofs file, if it cannot: a Z2 entry with the version
    /// 1 algorithm, an algorithm zisofs does not name, a block size the version does not
    /// allow, a header shorter than the version's. Such a file is not zisofs: it is read as
    /// stored, as Linux reads it. (An algorithm zisofs2 names but isofish does not read is
    /// zisofs, and refused when read.)
    pub fn fault(&self) -> Option<String> {
        let min_header = if self.v1() { 16 } else { zisofs2::LEN };
        let header = usize::from(self.header_words) * 4;
        if self.v1() && &self.signature == b"Z2" {
            Some("a Z2 entry with the version 1 algorithm \"pz\"".into())
        } else if !self.v1() && !zisofs2::named(self.algorithm) {
            Some(format!(
                "algorithm {:?} is neither zisofs's \"pz\" nor one zisofs2 names",
                String::from_utf8_lossy(&self.algorithm)
            ))
        } else if !self.block_log2s().contains(&self.block_log2) {
            let range = self.block_log2s();
            Some(format!(
                "block size 2^{} is not 2^{}..2^{}",
                self.block_log2,
                range.start(),
                range.end()
            ))
        } else if header < min_header {
            Some(format!(
                "a header of {header} bytes is shorter than the {min_header} of its version"
            ))
        } else {
            None
        }
    }
}

/// Reads `buf.len()` bytes at a byte offset of a compressed file's stored bytes.
pub type ReadStored<'a> = &'a dyn Fn(u64, &mut [u8]) -> Result<()>;

/// The checked layout of one compressed file.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The uncompressed size.
    pub size: u64,
    block_size: u64,
    /// Where the pointer table starts in the file, and the size of one pointer.
    table: u64,
    width: u64,
    blocks: u64,
    /// The file's stored (compressed) length.
    stored: u64,
    /// The image offset of the file's first byte (for error messages).
    disk: u64,
}

impl Layout {
    /// Checks `zf` and the file's header against the stored length `stored`; `disk` is the
    /// image offset of the file's first byte.
    pub fn decode(
        image: &str,
        disk: u64,
        zf: &Zf,
        stored: u64,
        read: ReadStored,
    ) -> Result<Layout> {
        let corrupt = |detail: String| Error::corrupt(image, "zisofs header", disk, detail);
        if let Some(why) = zf.fault() {
            return Err(corrupt(why));
        }
        let (width, header_len) = if zf.v1() {
            (4, u64::from(zf.header_words) * 4)
        } else {
            let id = zisofs2::algorithm(image, zf.algorithm)?;
            if stored < zisofs2::LEN as u64 {
                return Err(corrupt(format!(
                    "{stored} stored bytes cannot hold the zisofs2 header"
                )));
            }
            let mut b = [0; zisofs2::LEN];
            read(0, &mut b)?;
            let h = zisofs2::Header::decode(image, disk, &b)?;
            let fields = [
                ("algorithm", u64::from(h.algorithm), u64::from(id)),
                (
                    "header size",
                    u64::from(h.words),
                    u64::from(zf.header_words),
                ),
                (
                    "block size",
                    u64::from(h.block_log2),
                    u64::from(zf.block_log2),
                ),
                ("uncompressed size", h.size, zf.size),
            ];
            if let Some((what, file, entry)) = fields.iter().find(|(_, a, b)| a != b) {
                return Err(corrupt(format!(
                    "the zisofs2 header's {what} ({file}) is not the ZF entry's ({entry})"
                )));
            }
            (8, u64::from(h.words) * 4)
        };
        let block_size = 1u64 << zf.block_log2;
        let blocks = zf.size.div_ceil(block_size);
        let table_end = (blocks + 1)
            .checked_mul(width)
            .and_then(|t| t.checked_add(header_len));
        if table_end.is_none_or(|end| end > stored) {
            return Err(corrupt(format!(
                "a header of {header_len} bytes and {} block pointers of {width} bytes do not fit the {stored} stored bytes",
                blocks + 1
            )));
        }
        if zf.v1() {
            let mut magic = [0; 8];
            read(0, &mut magic)?;
            if magic != MAGIC {
                return Err(corrupt("no zisofs magic number".into()));
            }
        }
        Ok(Layout {
            size: zf.size,
            block_size,
            table: header_len,
            width,
            blocks,
            stored,
            disk,
        })
    }

    /// The uncompressed length of block `index`.
    fn block_len(&self, index: u64) -> usize {
        (self.size - index * self.block_size).min(self.block_size) as usize
    }

    /// Loads the window of the pointer table that holds block `index`'s pointers into
    /// `cache` (keyed by `key`), checking every pointer in it.
    fn load_window(
        &self,
        image: &str,
        key: Ino,
        index: u64,
        cache: &mut Cache,
        read: ReadStored,
    ) -> Result<()> {
        let first = index / WINDOW * WINDOW;
        if cache.window == Some((key, first)) {
            return Ok(());
        }
        cache.window = None;
        let count = (self.blocks - first).min(WINDOW) + 1;
        let at = self.table + first * self.width;
        let mut raw = vec![0; (count * self.width) as usize];
        read(at, &mut raw)?;
        cache.pointers.clear();
        let table_end = self.table + (self.blocks + 1) * self.width;
        // Deflate never grows a block by more than a few bytes per 16 KiB.
        let longest = 2 * self.block_size + 1024;
        let mut prev = None;
        for (i, c) in raw.chunks_exact(self.width as usize).enumerate() {
            // (A pointer that cannot be read is past everything, so refused below.)
            let p = match self.width {
                4 => endian::le32(c, 0).map(u64::from),
                _ => endian::le64(c, 0),
            }
            .unwrap_or(u64::MAX);
            let bad = p < table_end
                || p > self.stored
                || prev.is_some_and(|prev| p < prev || p - prev > longest);
            if bad {
                return Err(Error::corrupt(
                    image,
                    "zisofs block pointer",
                    self.disk + at + i as u64 * self.width,
                    format!(
                        "block pointer {} ({p}) is out of order, too far from the previous one, before the end of the pointer table ({table_end}) or past the {} stored bytes",
                        first + i as u64,
                        self.stored
                    ),
                ));
            }
            prev = Some(p);
            cache.pointers.push(p);
        }
        cache.window = Some((key, first));
        Ok(())
    }

    /// Reads uncompressed bytes at `offset` into `buf` (which ends at the file's size at the
    /// latest); `key` names the file in `cache`.
    pub fn read_at(
        &self,
        image: &str,
        key: Ino,
        cache: &mut Cache,
        offset: u64,
        buf: &mut [u8],
        read: ReadStored,
    ) -> Result<usize> {
        let mut done = 0;
        let mut pos = offset;
        let mut compressed = Vec::new();
        while done < buf.len() && pos < self.size {
            let index = pos / self.block_size;
            if cache.block != Some((key, index)) {
                self.load_window(image, key, index, cache, read)?;
                let within = (index % WINDOW) as usize;
                let (from, to) = (cache.pointers[within], cache.pointers[within + 1]);
                compressed.resize((to - from) as usize, 0);
                read(from, &mut compressed)?;
                cache.block = None;
                inflate(
                    image,
                    self.disk + from,
                    &compressed,
                    self.block_len(index),
                    &mut cache.data,
                )?;
                cache.block = Some((key, index));
            }
            let within = (pos % self.block_size) as usize;
            let n = (cache.data.len() - within).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&cache.data[within..within + n]);
            done += n;
            pos += n as u64;
        }
        Ok(done)
    }
}

/// A window of one file's pointer table and the last inflated block, shared by the files of
/// one filesystem.
#[derive(Default)]
pub struct Cache {
    /// The file and the index of the first pointer of the window held.
    window: Option<(Ino, u64)>,
    pointers: Vec<u64>,
    /// The file and the index of the block held.
    block: Option<(Ino, u64)>,
    data: Vec<u8>,
}

/// Inflates one block's compressed bytes into `out` (cleared first), which must come to
/// exactly `expect` bytes; an empty block is `expect` zeros.
fn inflate(
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
    if out.len() > expect {
        return Err(Error::corrupt(
            image,
            "zisofs block",
            offset,
            format!("inflates to more than the block's {expect} bytes"),
        ));
    }
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
