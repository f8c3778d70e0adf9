//! Decompression of squashfs blocks (metadata and data) for every compressor squashfs-tools
//! writes except lzo: zlib ("gzip"), lzma (the LZMA-alone format of squashfs-tools' lzma
//! wrapper), xz, lz4 (raw blocks) and zstd. Each block decodes to at most 1 MiB, squashfs's
//! largest block, so a hostile block cannot make us allocate more.

use std::cell::RefCell;
use std::io::Read;

/// The largest block squashfs allows (data blocks; metadata blocks are 8 KiB).
pub const MAX_BLOCK: usize = 1 << 20;

/// The memory an xz or lzma block decoder may take: `mksquashfs` dictionaries are at most the
/// block size (1 MiB), and liblzma refuses a header that asks for more than this.
const DECODER_MEMORY: u64 = 64 << 20;

/// The compressors by the id the superblock records (squashfs-tools' `squashfs_fs.h`), named
/// as `mksquashfs -comp` spells them.
const NAMES: [(u16, &str); 6] = [
    (1, "gzip"),
    (2, "lzma"),
    (3, "lzo"),
    (4, "xz"),
    (5, "lz4"),
    (6, "zstd"),
];

/// The name of the compressor the superblock records as `id`; `None` for an unknown id.
pub fn name_of_id(id: u16) -> Option<&'static str> {
    NAMES.iter().find(|&&(i, _)| i == id).map(|&(_, name)| name)
}

/// A compressor, by the id the superblock records (0: none, which only other writers than
/// `mksquashfs` record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compressor {
    Uncompressed = 0,
    Gzip = 1,
    Lzma = 2,
    Lzo = 3,
    Xz = 4,
    Lz4 = 5,
    Zstd = 6,
}

impl Compressor {
    /// The compressor the superblock records as `id`; `None` for an unknown id.
    pub fn from_id(id: u16) -> Option<Compressor> {
        use Compressor as C;
        [
            C::Uncompressed,
            C::Gzip,
            C::Lzma,
            C::Lzo,
            C::Xz,
            C::Lz4,
            C::Zstd,
        ]
        .into_iter()
        .find(|&c| c as u16 == id)
    }
}

/// The compressor's name, as `mounts` and `mksquashfs -comp` spell it.
pub fn name(c: Compressor) -> &'static str {
    name_of_id(c as u16).unwrap_or("uncompressed")
}

/// Decodes one block into `out` (cleared first).
pub fn decompress(bytes: &[u8], out: &mut Vec<u8>, c: Compressor) -> Result<(), String> {
    out.clear();
    let limited = |r: &mut dyn Read, out: &mut Vec<u8>| -> Result<(), String> {
        r.take(MAX_BLOCK as u64 + 1)
            .read_to_end(out)
            .map_err(|e| e.to_string())?;
        if out.len() > MAX_BLOCK {
            return Err(format!("block decodes to more than {MAX_BLOCK} bytes"));
        }
        Ok(())
    };
    match c {
        Compressor::Uncompressed => out.extend_from_slice(bytes),
        Compressor::Gzip => limited(&mut flate2::read::ZlibDecoder::new(bytes), out)?,
        Compressor::Xz => {
            let stream = liblzma::stream::Stream::new_stream_decoder(DECODER_MEMORY, 0)
                .map_err(|e| e.to_string())?;
            limited(
                &mut liblzma::read::XzDecoder::new_stream(bytes, stream),
                out,
            )?
        }
        Compressor::Lzma => {
            let stream = liblzma::stream::Stream::new_lzma_decoder(DECODER_MEMORY)
                .map_err(|e| e.to_string())?;
            limited(
                &mut liblzma::read::XzDecoder::new_stream(bytes, stream),
                out,
            )?
        }
        Compressor::Lz4 => {
            out.resize(MAX_BLOCK, 0);
            let n = lz4_flex::block::decompress_into(bytes, out).map_err(|e| e.to_string())?;
            out.truncate(n);
        }
        Compressor::Zstd => with_zstd(|d| {
            if out.capacity() < MAX_BLOCK {
                // Not `reserve`: growing would copy what the buffer held before.
                *out = Vec::with_capacity(MAX_BLOCK);
            }
            d.decompress_to_buffer(bytes, out)
                .map_err(|e| e.to_string())
        })
        .map(drop)?,
        Compressor::Lzo => return Err("lzo-compressed squashfs is not supported".into()),
    }
    Ok(())
}

/// Decodes one block straight into `out`, where the compressor can (zstd and lz4, the ones
/// a whole block is worth decoding in place for); the decoded length, or `None` where the
/// block is not decoded here (another compressor, an error, more bytes than `out` holds):
/// [`decompress`] then says what is wrong with it.
pub fn decompress_into(bytes: &[u8], out: &mut [u8], c: Compressor) -> Option<usize> {
    match c {
        Compressor::Zstd => with_zstd(|d| {
            d.decompress_to_buffer(bytes, out)
                .map_err(|e| e.to_string())
        })
        .ok(),
        Compressor::Lz4 => lz4_flex::block::decompress_into(bytes, out).ok(),
        _ => None,
    }
}

/// Runs `f` with this thread's zstd decoder: making one costs more than a small block.
fn with_zstd<T>(
    f: impl FnOnce(&mut zstd::bulk::Decompressor<'static>) -> Result<T, String>,
) -> Result<T, String> {
    thread_local! {
        static ZSTD: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { RefCell::new(None) };
    }
    ZSTD.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?);
        }
        let Some(d) = slot.as_mut() else {
            return Err("no zstd decoder".into());
        };
        f(d)
    })
}

#[cfg(test)]
mod names {
    use super::*;

    #[test]
    fn names_follow_the_superblock_ids() {
        assert_eq!(name(Compressor::Gzip), "gzip");
        assert_eq!(name(Compressor::Zstd), "zstd");
        assert_eq!(name(Compressor::Uncompressed), "uncompressed");
        assert_eq!(name_of_id(Compressor::Lzo as u16), Some("lzo"));
        assert_eq!(name_of_id(0), None);
        assert_eq!(name_of_id(7), None);
        assert_eq!(Compressor::from_id(4), Some(Compressor::Xz));
        assert_eq!(Compressor::from_id(0), Some(Compressor::Uncompressed));
        assert_eq!(Compressor::from_id(7), None);
    }
}
