//! Compressing again: an encoder for every [`Codec`] the readers decode, writing streams the
//! Linux initramfs unpacker accepts (xz with a CRC32 check, the only one its decoder knows;
//! legacy LZ4 framing in 8 MiB blocks, as `lz4 -l` writes it; lzma as `lzma_alone`), the
//! level each stream suggests by default ([`default_level`]), and [`encode_to_source`], the
//! compressed bytes as a [`Source`] a [`Plan`](crate::plan::Plan) can take (in memory up to
//! 64 MiB, in an anonymous temporary file beyond).
//!
//! Used where a rebuilt image goes back into a compressed container: a changed segment of a
//! cpio initrd, or a gzip'd squashfs mounted through its decoded bytes. A gzip stream whose
//! new data mostly keeps the original's is spliced instead ([`splice`]): the original's
//! compressed blocks taken where the data around them did not change.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use isofish::source::Source;
//! # use isofish::source::decoded::Codec;
//! # use isofish::source::encode::{default_level, encode_to_source};
//! # fn f(original: &Arc<dyn Source>, rebuilt: &dyn Source) -> isofish::error::Result<()> {
//! let mut head = [0u8; 64];
//! let n = original.read_at(0, &mut head)?;
//! let codec = Codec::sniff(&head[..n]).expect("a compressed stream");
//! let level = default_level(codec, &head[..n]);
//! let compressed: Arc<dyn Source> = encode_to_source(codec, rebuilt, level, "new.gz".into())?;
//! # Ok(()) }
//! ```

mod bit_plan;
mod deflate_blocks;
pub mod parallel_deflate;
pub mod splice;

use std::fs::File;
use std::io::{self, Write};
use std::sync::Arc;

use super::decoded::Codec;
use super::lz4legacy::MAGIC as LZ4_LEGACY_MAGIC;
use super::{MemSource, Source};
use crate::error::{Error, Result};

/// Decoded bytes per legacy LZ4 block (what `lz4 -l` writes and the kernel's unlz4 expects).
const LZ4_LEGACY_BLOCK: usize = 8 << 20;
/// Compressed bytes [`encode_to_source`] keeps in memory; beyond, a temporary file.
const SPOOL_MEMORY: usize = 64 << 20;
/// Bytes read from the data at a time.
const CHUNK: usize = 1 << 20;
/// Data from which zstd is compressed by workers.
const MT_ZSTD: u64 = 8 << 20;

/// The levels `level` may take for `codec` (the command-line tools' ranges).
pub fn levels(codec: Codec) -> std::ops::RangeInclusive<u32> {
    match codec {
        Codec::Gzip | Codec::Bzip2 => 1..=9,
        Codec::Xz | Codec::Lzma => 0..=9,
        Codec::Zstd => 1..=22,
        // lz4_flex has the fast compressor only: every level is the default, 1.
        Codec::Lz4Legacy | Codec::Lz4 => 1..=12,
        Codec::Lzip => 0..=9,
        // compress's -b: the widest code, in bits.
        Codec::Compress => 9..=16,
    }
}

/// The level a new stream of `codec` takes when the user names none, from what the original
/// stream's first bytes (`head`, 64 are plenty) say: gzip's XFL byte (2: best, 9; 4: fastest,
/// 1; else 6), bzip2's block size digit (`BZh9`: 9), the xz or lzma dictionary size (the
/// smallest preset that has it: 8 MiB is 6); zstd records no level (the tool's default, 3);
/// lz4 has one (1). `None` only for a `head` too short to say anything and no default.
pub fn default_level(codec: Codec, head: &[u8]) -> Option<u32> {
    Some(match codec {
        Codec::Gzip => match head.get(8) {
            Some(2) => 9,
            Some(4) => 1,
            _ => 6,
        },
        Codec::Bzip2 => match head.get(3) {
            Some(d @ b'1'..=b'9') => u32::from(d - b'0'),
            _ => 9,
        },
        Codec::Xz => xz_dictionary(head).map_or(6, preset_of_dictionary),
        Codec::Lzma => head
            .get(1..5)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .map_or(6, preset_of_dictionary),
        Codec::Zstd => 3,
        Codec::Lz4Legacy | Codec::Lz4 => 1,
        Codec::Lzip => 6,
        Codec::Compress => head.get(2).map_or(16, |flags| u32::from(flags & 0x1f)),
    })
}

/// The dictionary size of the first block's LZMA2 filter in an xz stream, when the first
/// block header is in `head` and names LZMA2 (filter 0x21) last.
fn xz_dictionary(head: &[u8]) -> Option<u32> {
    // The 12-byte stream header, then the block header: size, flags, optional sizes
    // (multibyte integers), and the filters' flags.
    let block = head.get(12..)?;
    let flags = *block.get(1)?;
    let mut at = 2;
    let varint = |at: &mut usize| -> Option<u64> {
        let mut v = 0u64;
        for i in 0..9 {
            let b = *block.get(*at)?;
            *at += 1;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    };
    for present in [flags & 0x40 != 0, flags & 0x80 != 0] {
        if present {
            varint(&mut at)?;
        }
    }
    let filters = (flags & 3) + 1;
    let mut last = None;
    for _ in 0..filters {
        let id = varint(&mut at)?;
        let size = varint(&mut at)? as usize;
        last = (id == 0x21 && size == 1)
            .then(|| block.get(at).copied())
            .flatten();
        at += size;
    }
    // LZMA2's one property byte: 2 or 3 times a power of two.
    let bits = u32::from(last?);
    (bits <= 40).then(|| (2 | (bits & 1)) << (bits / 2 + 11))
}

/// The dictionary of each xz/lzma preset.
const DICT: [u32; 10] = [
    256 << 10,
    1 << 20,
    2 << 20,
    4 << 20,
    4 << 20,
    8 << 20,
    8 << 20,
    16 << 20,
    32 << 20,
    64 << 20,
];

/// The smallest xz/lzma preset whose dictionary holds `size` bytes (`xz -6`: 8 MiB).
fn preset_of_dictionary(size: u32) -> u32 {
    match DICT.iter().position(|d| *d >= size) {
        // Of two presets with one dictionary, the tool's default or the stronger one.
        Some(4) | Some(5) => 6,
        Some(p) => p as u32,
        None => 9,
    }
}

/// Compresses all of `data` with `codec` at `level` (its [`default_level`] with an empty head
/// when `None`) into `out`, as one complete stream.
pub fn encode(
    codec: Codec,
    data: &dyn Source,
    level: Option<u32>,
    out: &mut dyn Write,
) -> Result<()> {
    let level = level.unwrap_or_else(|| default_level(codec, &[]).unwrap_or(6));
    if !levels(codec).contains(&level) {
        let r = levels(codec);
        return Err(Error::Usage(format!(
            "{} compression level {level}: {} takes {} to {}",
            codec.name(),
            codec.name(),
            r.start(),
            r.end()
        )));
    }
    let name = data.name().to_string();
    if matches!(codec, Codec::Lzip | Codec::Compress) {
        return Err(Error::unsupported(
            name,
            format!(
                "compressing with {} (isofish reads {0} streams, and writes none)",
                codec.name()
            ),
        ));
    }
    let fail = |e: io::Error| Error::io(&name, e);
    let mut encoder = encoder(codec, level, data.len(), out).map_err(fail)?;
    let mut buf = vec![0u8; CHUNK];
    let mut at = 0u64;
    while at < data.len() {
        let n = data.read_at(at, &mut buf)?;
        if n == 0 {
            break;
        }
        encoder.write_all(&buf[..n]).map_err(fail)?;
        at += n as u64;
    }
    encoder.finish().map_err(fail)
}

/// [`encode`] into a new [`Source`] named `name`: the compressed stream held in memory, or in
/// an anonymous temporary file once it passes 64 MiB.
pub fn encode_to_source(
    codec: Codec,
    data: &dyn Source,
    level: Option<u32>,
    name: String,
) -> Result<Arc<dyn Source>> {
    let mut spool = Spool::new(name);
    encode(codec, data, level, &mut spool)?;
    spool.into_source()
}

/// A stream encoder that is told when the input ends.
trait Finish: Write {
    fn finish(self: Box<Self>) -> io::Result<()>;
}

macro_rules! finish_by {
    ($($t:ty),*) => {$(
        impl<W: Write> Finish for $t {
            fn finish(self: Box<Self>) -> io::Result<()> {
                <$t>::finish(*self).map(|_| ())
            }
        }
    )*};
}
finish_by!(
    parallel_deflate::GzipWriter<W>,
    liblzma::write::XzEncoder<W>,
    bzip2::write::BzEncoder<W>
);

impl<W: Write> Finish for zstd::stream::write::Encoder<'_, W> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        zstd::stream::write::Encoder::finish(*self).map(|_| ())
    }
}

impl<W: Write> Finish for lz4_flex::frame::FrameEncoder<W> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        lz4_flex::frame::FrameEncoder::finish(*self)
            .map(|_| ())
            .map_err(io::Error::other)
    }
}

/// The encoder of `codec` at `level` for `len` bytes of data: on every core for gzip (see
/// [`parallel_deflate`]), and for xz and zstd once the data is long enough to be cut in
/// parts (liblzma's threaded encoder, in blocks of three dictionaries; zstd's workers).
fn encoder<'a>(
    codec: Codec,
    level: u32,
    len: u64,
    out: &'a mut dyn Write,
) -> io::Result<Box<dyn Finish + 'a>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    Ok(match codec {
        Codec::Gzip => Box::new(parallel_deflate::GzipWriter::new(out, level)?),
        Codec::Xz => {
            // liblzma's threaded encoder cuts the data in blocks of three dictionaries
            // (24 MiB at level 6): worth it from two.
            let block = 3 * u64::from(DICT[level.min(9) as usize]);
            let stream = if threads > 1 && len >= 2 * block {
                liblzma::stream::MtStreamBuilder::new()
                    .threads(threads)
                    .preset(level)
                    .check(liblzma::stream::Check::Crc32)
                    .encoder()
            } else {
                liblzma::stream::Stream::new_easy_encoder(level, liblzma::stream::Check::Crc32)
            };
            Box::new(liblzma::write::XzEncoder::new_stream(
                out,
                stream.map_err(io::Error::other)?,
            ))
        }
        Codec::Lzma => Box::new(liblzma::write::XzEncoder::new_stream(
            out,
            liblzma::stream::Stream::new_lzma_encoder(
                &liblzma::stream::LzmaOptions::new_preset(level).map_err(io::Error::other)?,
            )
            .map_err(io::Error::other)?,
        )),
        Codec::Zstd => {
            let mut z = zstd::stream::write::Encoder::new(out, level as i32)?;
            // As the zstd tool writes by default.
            z.include_checksum(true)?;
            if threads > 1 && len >= MT_ZSTD {
                z.multithread(threads)?;
            }
            Box::new(z)
        }
        Codec::Bzip2 => Box::new(bzip2::write::BzEncoder::new(
            out,
            bzip2::Compression::new(level),
        )),
        Codec::Lz4Legacy => Box::new(Lz4Legacy::new(out)),
        Codec::Lz4 => Box::new(lz4_flex::frame::FrameEncoder::new(out)),
        Codec::Lzip | Codec::Compress => unreachable!("refused by encode"),
    })
}

/// The legacy LZ4 frame: the magic, then for each 8 MiB of input its compressed size (32-bit
/// little-endian) and the LZ4 block.
struct Lz4Legacy<W: Write> {
    out: W,
    block: Vec<u8>,
    started: bool,
}

impl<W: Write> Lz4Legacy<W> {
    fn new(out: W) -> Self {
        Lz4Legacy {
            out,
            block: Vec::with_capacity(LZ4_LEGACY_BLOCK),
            started: false,
        }
    }

    fn flush_block(&mut self) -> io::Result<()> {
        if !self.started {
            self.out.write_all(&LZ4_LEGACY_MAGIC)?;
            self.started = true;
        }
        if self.block.is_empty() {
            return Ok(());
        }
        let packed = lz4_flex::block::compress(&self.block);
        self.out.write_all(&(packed.len() as u32).to_le_bytes())?;
        self.out.write_all(&packed)?;
        self.block.clear();
        Ok(())
    }
}

impl<W: Write> Write for Lz4Legacy<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(LZ4_LEGACY_BLOCK - self.block.len());
        self.block.extend_from_slice(&buf[..n]);
        if self.block.len() == LZ4_LEGACY_BLOCK {
            self.flush_block()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl<W: Write> Finish for Lz4Legacy<W> {
    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.flush_block()?;
        self.out.flush()
    }
}

/// Bytes written in memory, then in an anonymous temporary file once they pass
/// 64 MiB; read back as a [`Source`].
pub struct Spool {
    memory: Vec<u8>,
    file: Option<(File, u64)>,
    name: String,
}

impl Spool {
    /// An empty spool whose source will be named `name`.
    pub fn new(name: String) -> Spool {
        Spool {
            memory: Vec::new(),
            file: None,
            name,
        }
    }

    /// What was written, as a source.
    pub fn into_source(self) -> Result<Arc<dyn Source>> {
        Ok(match self.file {
            None => Arc::new(MemSource::new(self.memory, self.name)),
            Some((file, len)) => Arc::new(Spooled {
                file,
                len,
                name: self.name,
            }),
        })
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.file.is_none() && self.memory.len() + buf.len() > SPOOL_MEMORY {
            let mut file = tempfile::tempfile()?;
            file.write_all(&self.memory)?;
            self.file = Some((file, self.memory.len() as u64));
            self.memory = Vec::new();
        }
        match &mut self.file {
            Some((file, len)) => {
                file.write_all(buf)?;
                *len += buf.len() as u64;
            }
            None => self.memory.extend_from_slice(buf),
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A spool's temporary file, read with positioned reads.
struct Spooled {
    file: File,
    len: u64,
    name: String,
}

impl Source for Spooled {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let want = buf.len().min((self.len - offset) as usize);
        super::pread(&self.file, offset, &mut buf[..want], &self.name)
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::decoded::{DecodedSource, Limits};

    fn sample() -> Vec<u8> {
        (0..3_000_000u32)
            .map(|i| ((i / 7) ^ (i % 251)) as u8)
            .collect()
    }

    #[test]
    fn every_codec_decodes_back() {
        let data = sample();
        let src = MemSource::new(data.clone(), "sample");
        for codec in [
            Codec::Gzip,
            Codec::Xz,
            Codec::Lzma,
            Codec::Zstd,
            Codec::Bzip2,
            Codec::Lz4Legacy,
            Codec::Lz4,
        ] {
            let packed = encode_to_source(codec, &src, None, "packed".into()).unwrap();
            let mut head = vec![0u8; 64];
            let n = packed.read_at(0, &mut head).unwrap();
            assert_eq!(Codec::sniff(&head[..n]), Some(codec), "{codec:?}");
            let back =
                DecodedSource::decode(&packed, 0, codec, Limits::default(), "back".into()).unwrap();
            assert_eq!(back.len(), data.len() as u64, "{codec:?}");
            let mut out = vec![0u8; data.len()];
            back.read_exact_at(0, &mut out, "test").unwrap();
            assert!(out == data, "{codec:?}");
        }
    }

    #[test]
    fn threaded_encoders_decode_back() {
        // xz level 0 (256 KiB dictionary, 768 KiB blocks) and zstd past 8 MiB take threads.
        let data: Vec<u8> = sample().into_iter().cycle().take(9 << 20).collect();
        let src = MemSource::new(data.clone(), "sample");
        for (codec, level) in [(Codec::Xz, 0), (Codec::Zstd, 3), (Codec::Gzip, 6)] {
            let packed = encode_to_source(codec, &src, Some(level), "packed".into()).unwrap();
            let back =
                DecodedSource::decode(&packed, 0, codec, Limits::default(), "back".into()).unwrap();
            let mut out = vec![0u8; data.len()];
            back.read_exact_at(0, &mut out, "test").unwrap();
            assert!(out == data, "{codec:?}");
        }
    }

    #[test]
    fn default_levels_follow_the_stream() {
        let src = MemSource::new(sample(), "sample");
        let head = |codec, level| {
            let packed = encode_to_source(codec, &src, Some(level), "p".into()).unwrap();
            let mut h = vec![0u8; 64];
            let n = packed.read_at(0, &mut h).unwrap();
            h.truncate(n);
            default_level(codec, &h)
        };
        assert_eq!(head(Codec::Gzip, 9), Some(9));
        assert_eq!(head(Codec::Gzip, 1), Some(1));
        assert_eq!(head(Codec::Gzip, 5), Some(6));
        assert_eq!(head(Codec::Bzip2, 4), Some(4));
        assert_eq!(head(Codec::Xz, 6), Some(6));
        assert_eq!(head(Codec::Xz, 1), Some(1));
        assert_eq!(head(Codec::Xz, 9), Some(9));
        assert_eq!(head(Codec::Lzma, 2), Some(2));
        assert!(encode(Codec::Gzip, &src, Some(10), &mut io::sink()).is_err());
    }

    #[test]
    fn a_large_stream_spools_to_a_file() {
        let mut spool = Spool::new("big".into());
        let block = vec![7u8; 1 << 20];
        for _ in 0..65 {
            spool.write_all(&block).unwrap();
        }
        let src = spool.into_source().unwrap();
        assert_eq!(src.len(), 65 << 20);
        let mut b = [0u8; 4];
        assert_eq!(src.read_at((65 << 20) - 2, &mut b).unwrap(), 2);
        assert_eq!(&b[..2], &[7, 7]);
    }
}
