//! The compressor options block (the metadata block after the superblock, when the superblock
//! flags it) decoded into the settings new blocks are compressed with, and the encoders: zlib
//! ("gzip") at the recorded level, xz with the recorded dictionary size and BCJ filters (the
//! smallest result kept, as `mksquashfs` does) and CRC32 checks, lz4 raw blocks, zstd at the
//! recorded level, lzma in the LZMA-alone format with its size field filled in. Without
//! options the `mksquashfs` defaults apply. lzo is refused.

use std::cell::RefCell;
use std::io::Write;

use crate::error::{Error, Result};
use crate::fs::squashfs::compression::{self, Compressor};
use crate::ondisk::Fields;
use crate::source::Source;

const STRUCTURE: &str = "squashfs compressor options";

/// `mksquashfs`'s default zstd level (`ZSTD_DEFAULT_COMPRESSION_LEVEL`).
const ZSTD_DEFAULT: i32 = 15;
/// The preset `mksquashfs` takes the xz and lzma settings from (`LZMA_PRESET_DEFAULT`).
const LZMA_PRESET: u32 = 6;

/// How new blocks are compressed.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Settings {
    Gzip { level: u32 },
    Xz { dict_size: u32, filters: u32 },
    Lz4 { hc: bool },
    Zstd { level: i32 },
    Lzma,
}

/// Compresses blocks the way the original image's were.
pub struct Encoder {
    settings: Settings,
    zstd: RefCell<Option<zstd::bulk::Compressor<'static>>>,
    /// Things the encoder cannot do as the original did (lz4 high compression), for the user.
    pub note: Option<String>,
}

/// The compressor options block: where it lies (offset, length with its header) and its
/// decoded content, or `None` when the superblock flags none.
pub fn options_block(source: &dyn Source, present: bool) -> Result<Option<(u64, u64, Vec<u8>)>> {
    if !present {
        return Ok(None);
    }
    let at = crate::fs::squashfs::superblock::SIZE as u64;
    let head = source.read_vec(at, 2, STRUCTURE)?;
    let word = Fields::new(&head, source.name(), STRUCTURE, at).le16(0)?;
    let len = u64::from(word & 0x7fff);
    let raw = source.read_vec(at + 2, len as usize, STRUCTURE)?;
    let body = if word & 0x8000 != 0 {
        raw
    } else {
        return Err(Error::unsupported(
            source.name(),
            "compressed compressor options (mksquashfs stores them plainly)",
        ));
    };
    Ok(Some((at, 2 + len, body)))
}

impl Encoder {
    /// The encoder for compressor `id` with the options block's content `options`; `image`
    /// names the image for errors.
    pub fn new(image: &str, id: u16, block_size: u32, options: Option<&[u8]>) -> Result<Encoder> {
        let field = |at: usize| -> Result<Option<u32>> {
            options
                .map(|o| Fields::new(o, image, STRUCTURE, 98).le32(at))
                .transpose()
        };
        let mut note = None;
        let settings = match Compressor::from_id(id) {
            Some(Compressor::Gzip) => Settings::Gzip {
                level: field(0)?.unwrap_or(9).clamp(1, 9),
            },
            Some(Compressor::Xz) => Settings::Xz {
                dict_size: field(0)?.unwrap_or(block_size),
                filters: field(4)?.unwrap_or(0),
            },
            Some(Compressor::Lz4) => {
                let hc = field(4)?.unwrap_or(0) & 1 != 0;
                if hc {
                    note = Some(
                        "lz4 high compression (-Xhc) is not available here: new blocks use \
                         plain lz4"
                            .to_string(),
                    );
                }
                Settings::Lz4 { hc }
            }
            Some(Compressor::Zstd) => Settings::Zstd {
                level: field(0)?.map_or(ZSTD_DEFAULT, |l| l.min(22) as i32).max(1),
            },
            Some(Compressor::Lzma) => Settings::Lzma,
            Some(Compressor::Lzo) => {
                return Err(Error::unsupported(
                    image,
                    "rebuilding an lzo-compressed squashfs (isofish has no lzo encoder)",
                ))
            }
            Some(Compressor::Uncompressed) | None => {
                return Err(Error::unsupported(
                    image,
                    format!(
                        "rebuilding a squashfs with compressor id {id} ({})",
                        compression::name_of_id(id).unwrap_or("unknown")
                    ),
                ))
            }
        };
        Ok(Encoder {
            settings,
            zstd: RefCell::new(None),
            note,
        })
    }

    /// `data` compressed, or `None` when compressing does not make it smaller (the block is
    /// then stored as it is).
    pub fn compress(&self, data: &[u8]) -> Result<Option<Vec<u8>>> {
        let out = match &self.settings {
            Settings::Gzip { level } => {
                let mut e = flate2::write::ZlibEncoder::new(
                    Vec::with_capacity(data.len()),
                    flate2::Compression::new(*level),
                );
                e.write_all(data).map_err(encoding)?;
                e.finish().map_err(encoding)?
            }
            Settings::Xz { dict_size, filters } => xz(data, *dict_size, *filters)?,
            Settings::Lz4 { .. } => lz4_flex::block::compress(data),
            Settings::Zstd { level } => {
                let mut slot = self.zstd.borrow_mut();
                if slot.is_none() {
                    *slot = Some(zstd::bulk::Compressor::new(*level).map_err(encoding)?);
                }
                match slot.as_mut() {
                    Some(c) => c.compress(data).map_err(encoding)?,
                    None => return Err(encoding("no zstd encoder")),
                }
            }
            Settings::Lzma => lzma(data)?,
        };
        Ok((out.len() < data.len()).then_some(out))
    }
}

fn encoding(e: impl ToString) -> Error {
    Error::Usage(format!(
        "squashfs block compression failed: {}",
        e.to_string()
    ))
}

/// One xz stream per block: LZMA2 with `dict_size`, after each BCJ filter `filters` selects
/// (the bits in `mksquashfs`'s order: x86, powerpc, ia64, arm, armthumb, sparc, arm64), the
/// smallest kept.
fn xz(data: &[u8], dict_size: u32, filters: u32) -> Result<Vec<u8>> {
    use liblzma::stream::{Check, Filters, LzmaOptions, Stream};
    let mut opts = LzmaOptions::new_preset(LZMA_PRESET).map_err(encoding)?;
    opts.dict_size(dict_size.max(4096));
    let bcj: [fn(&mut Filters) -> &mut Filters; 7] = [
        Filters::x86,
        Filters::powerpc,
        Filters::ia64,
        Filters::arm,
        Filters::arm_thumb,
        Filters::sparc,
        Filters::arm64,
    ];
    let mut best: Option<Vec<u8>> = None;
    let chains = std::iter::once(None).chain(
        bcj.iter()
            .enumerate()
            .filter(|(i, _)| filters & (1 << i) != 0)
            .map(|(_, f)| Some(f)),
    );
    for chain in chains {
        let mut f = Filters::new();
        if let Some(add) = chain {
            add(&mut f);
        }
        f.lzma2(&opts);
        let stream = Stream::new_stream_encoder(&f, Check::Crc32).map_err(encoding)?;
        let mut e = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
        e.write_all(data).map_err(encoding)?;
        let out = e.finish().map_err(encoding)?;
        if best.as_ref().is_none_or(|b| out.len() < b.len()) {
            best = Some(out);
        }
    }
    best.ok_or_else(|| encoding("no xz filter chain"))
}

/// An LZMA-alone stream with the uncompressed size written into its header (bytes 5..13), as
/// squashfs-tools' lzma wrapper writes it.
fn lzma(data: &[u8]) -> Result<Vec<u8>> {
    use liblzma::stream::{LzmaOptions, Stream};
    let opts = LzmaOptions::new_preset(LZMA_PRESET).map_err(encoding)?;
    let stream = Stream::new_lzma_encoder(&opts).map_err(encoding)?;
    let mut e = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
    e.write_all(data).map_err(encoding)?;
    let mut out = e.finish().map_err(encoding)?;
    if out.len() < 13 {
        return Err(encoding("short lzma header"));
    }
    out[5..13].copy_from_slice(&(data.len() as u64).to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoder_decodes_with_the_reader() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8 / 3).collect();
        for (c, options) in [
            (Compressor::Gzip, None),
            (Compressor::Xz, Some(vec![0, 0, 2, 0, 1, 0, 0, 0])),
            (Compressor::Lz4, None),
            (Compressor::Zstd, Some(vec![3, 0, 0, 0])),
            (Compressor::Lzma, None),
        ] {
            let e = Encoder::new("t", c as u16, 1 << 17, options.as_deref()).unwrap();
            let packed = e.compress(&data).unwrap().unwrap();
            let mut out = Vec::new();
            compression::decompress(&packed, &mut out, c).unwrap();
            assert_eq!(out, data, "{c:?}");
        }
        assert!(Encoder::new("t", Compressor::Lzo as u16, 1 << 17, None)
            .err()
            .unwrap()
            .to_string()
            .contains("lzo"));
    }

    #[test]
    fn incompressible_blocks_are_stored() {
        let e = Encoder::new("t", Compressor::Zstd as u16, 4096, None).unwrap();
        assert!(e.compress(&[7]).unwrap().is_none());
    }
}
