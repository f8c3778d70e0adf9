//! [`DecodedSource`]: the decompressed bytes of one compressed stream (a gzip'd cpio initrd,
//! an xz'd image), decoded once, held in memory up to a bound and in an anonymous temporary file
//! beyond it, with a hard limit on the total so a decompression bomb ends in a clear error.

use std::fs::File;
use std::io::{self, BufRead, Read, Write};
use std::sync::Arc;

use super::io::SourceReader;
use super::lz4legacy::Lz4LegacyDecoder;
use super::lzw::LzwDecoder;
use super::Source;
use crate::error::{Error, Result};

/// The compressions isofish decodes as streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    Gzip,
    Xz,
    Lzma,
    Zstd,
    Bzip2,
    /// The legacy LZ4 frame (`lz4 -l`), as initrds use it.
    Lz4Legacy,
    /// The LZ4 frame format (`lz4` without `-l`).
    Lz4,
    /// Unix `compress` (`.Z`, LZW).
    Compress,
    /// lzip (LZMA in lzip members).
    Lzip,
}

impl Codec {
    /// The codec of a stream whose first bytes are `head`.
    pub fn sniff(head: &[u8]) -> Option<Codec> {
        let at = |magic: &[u8]| head.starts_with(magic);
        Some(if at(&[0x1f, 0x8b]) {
            Codec::Gzip
        } else if at(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Codec::Xz
        } else if at(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Codec::Zstd
        } else if at(b"BZh") {
            Codec::Bzip2
        } else if at(&super::lz4legacy::MAGIC) {
            Codec::Lz4Legacy
        } else if at(&[0x04, 0x22, 0x4d, 0x18]) {
            Codec::Lz4
        } else if at(&[0x5d, 0, 0]) {
            Codec::Lzma
        } else if at(&super::lzw::MAGIC) {
            Codec::Compress
        } else if at(b"LZIP") {
            Codec::Lzip
        } else {
            return None;
        })
    }

    /// The structure name used in errors about a stream.
    pub fn structure(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip stream",
            Codec::Xz => "xz stream",
            Codec::Lzma => "lzma stream",
            Codec::Zstd => "zstd stream",
            Codec::Bzip2 => "bzip2 stream",
            Codec::Lz4Legacy | Codec::Lz4 => "lz4 stream",
            Codec::Compress => "compress stream",
            Codec::Lzip => "lzip stream",
        }
    }

    /// The name `mounts`, `file` and errors use.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Xz => "xz",
            Codec::Lzma => "lzma",
            Codec::Zstd => "zstd",
            Codec::Bzip2 => "bzip2",
            Codec::Lz4Legacy | Codec::Lz4 => "lz4",
            Codec::Compress => "compress",
            Codec::Lzip => "lzip",
        }
    }

    /// A decoder of one stream reading from `input`, which it leaves just past the stream.
    pub(super) fn decoder<'a, R: BufRead + Send + 'a>(
        self,
        input: R,
    ) -> io::Result<Box<dyn Read + Send + 'a>> {
        Ok(match self {
            Codec::Gzip => Box::new(flate2::bufread::GzDecoder::new(input)),
            Codec::Xz => Box::new(liblzma::bufread::XzDecoder::new_stream(
                input,
                liblzma::stream::Stream::new_stream_decoder(DECODER_MEMORY, 0)
                    .map_err(io::Error::other)?,
            )),
            Codec::Lzma => Box::new(liblzma::bufread::XzDecoder::new_stream(
                input,
                liblzma::stream::Stream::new_lzma_decoder(DECODER_MEMORY)
                    .map_err(io::Error::other)?,
            )),
            Codec::Zstd => {
                Box::new(zstd::stream::read::Decoder::with_buffer(input)?.single_frame())
            }
            Codec::Bzip2 => Box::new(bzip2::bufread::BzDecoder::new(input)),
            Codec::Lz4Legacy => Box::new(Lz4LegacyDecoder::new(input)),
            Codec::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(input)),
            Codec::Compress => Box::new(LzwDecoder::new(input)),
            // plzip writes several members: all are read.
            Codec::Lzip => Box::new(liblzma::bufread::XzDecoder::new_stream(
                input,
                liblzma::stream::Stream::new_lzip_decoder(
                    DECODER_MEMORY,
                    liblzma::stream::CONCATENATED,
                )
                .map_err(io::Error::other)?,
            )),
        })
    }
}

/// The memory an xz or lzma decoder may take (its dictionary, sized by the stream's header):
/// `xz -9` and `lzma -9` need 65 MiB; a header asking for more is refused by liblzma's own
/// limit, not allocated.
const DECODER_MEMORY: u64 = 256 << 20;

/// How much a decoded stream may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes kept in memory; beyond them the stream goes to a temporary file.
    pub memory: u64,
    /// Bytes the stream may decode to at most.
    pub total: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: 256 << 20,
            total: 8 << 30,
        }
    }
}

enum Store {
    Memory(Vec<u8>),
    TempFile(File),
}

/// The decoded bytes of one compressed stream.
pub struct DecodedSource {
    store: Store,
    len: u64,
    name: String,
    codec: Codec,
    /// Compressed bytes the stream took in its source.
    consumed: u64,
}

impl DecodedSource {
    /// Decodes the stream of `codec` that starts at `offset` in `inner`.
    pub fn decode(
        inner: &Arc<dyn Source>,
        offset: u64,
        codec: Codec,
        limits: Limits,
        name: String,
    ) -> Result<Self> {
        let corrupt =
            |detail: String| Error::corrupt(inner.name(), codec.structure(), offset, detail);
        let mut reader = SourceReader::new(inner.clone(), offset);
        let mut store = Store::Memory(Vec::new());
        let mut len = 0u64;
        {
            let mut decoder = codec
                .decoder(&mut reader)
                .map_err(|e| corrupt(e.to_string()))?;
            let mut chunk = vec![0u8; 1 << 20];
            loop {
                let n = match decoder.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        return Err(corrupt(format!(
                            "{} data after {len} decoded bytes: {e}",
                            codec.name()
                        )))
                    }
                };
                if len + n as u64 > limits.total {
                    return Err(corrupt(limit_error(limits.total)));
                }
                if let Store::Memory(v) = &store {
                    if len + n as u64 > limits.memory {
                        let mut file = tempfile::tempfile().map_err(|e| Error::io(&name, e))?;
                        file.write_all(v).map_err(|e| Error::io(&name, e))?;
                        store = Store::TempFile(file);
                    }
                }
                match &mut store {
                    Store::Memory(v) => v.extend_from_slice(&chunk[..n]),
                    Store::TempFile(f) => {
                        f.write_all(&chunk[..n]).map_err(|e| Error::io(&name, e))?
                    }
                }
                len += n as u64;
            }
        }
        if len == 0 && reader.position() == offset {
            return Err(corrupt(format!("empty {} stream", codec.name())));
        }
        Ok(DecodedSource {
            store,
            len,
            name,
            codec,
            consumed: reader.position() - offset,
        })
    }

    /// What `mounts` says of the stream: `gzip decoded in memory`, `xz decoded to a temporary
    /// file`.
    pub fn note(&self) -> String {
        let place = match self.store {
            Store::Memory(_) => "in memory",
            Store::TempFile(_) => "to a temporary file",
        };
        format!("{} decoded {place}", self.codec.name())
    }

    /// Compressed bytes the stream took in its source.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }
}

/// What an error says when a stream decodes past `limit` bytes.
pub fn limit_error(limit: u64) -> String {
    format!(
        "decodes to more than the limit of {limit} bytes (a decompression bomb?); \
         mount-loop's limit= option raises it"
    )
}

impl Source for DecodedSource {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let want = buf.len().min((self.len - offset) as usize);
        match &self.store {
            Store::Memory(v) => {
                let at = offset as usize;
                buf[..want].copy_from_slice(&v[at..at + want]);
                Ok(want)
            }
            Store::TempFile(f) => super::pread(f, offset, &mut buf[..want], &self.name),
        }
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// The first `n` decoded bytes (fewer if the stream is shorter) of the stream of `codec` at
/// `offset` in `inner`, decoding no more than that.
pub fn peek(inner: &Arc<dyn Source>, offset: u64, codec: Codec, n: usize) -> Result<Vec<u8>> {
    let mut reader = SourceReader::new(inner.clone(), offset);
    let corrupt =
        |e: io::Error| Error::corrupt(inner.name(), codec.structure(), offset, e.to_string());
    let decoder = codec.decoder(&mut reader).map_err(corrupt)?;
    let mut out = Vec::with_capacity(n);
    decoder
        .take(n as u64)
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    Ok(out)
}
