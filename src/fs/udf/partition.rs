//! Partition maps (ECMA-167 3/10.7, UDF 2.2.8-2.2.10) and the translation of partition
//! addresses to bytes of the image: type 1 maps, sparable partitions (sparing tables),
//! virtual partitions (the VAT of write-once discs) and metadata partitions (UDF 2.50+, the
//! metadata file, its mirror as fallback).

use std::sync::Arc;

use crate::error::{lock_cache, Error, Result};
use crate::source::Source;

use super::ad::{Ad, ExtentType, LbAddr};
use super::cs0;
use super::file_entry::{file_type, FileEntry};
use super::icb;
use super::partition_descriptor::PartitionDescriptor;
use super::tag::Tag;
use super::volume::Descriptors;
use crate::ondisk::endian::{le16, le32};
use crate::ondisk::Fields;

/// A run of file data as it lies in the image: a byte offset, or `None` for a hole (an
/// unrecorded extent) that reads as zeros.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    pub offset: Option<u64>,
    pub len: u64,
}

/// How one partition reference maps to blocks of the image.
#[derive(Clone, Debug)]
pub enum Map {
    /// Type 1: blocks `start..start+length` of the image.
    Physical {
        number: u16,
        start: u32,
        length: u32,
    },
    /// Type 2 sparable: physical, with packets relocated by the sparing table
    /// ((original block, replacement block) pairs, sorted).
    Sparable {
        number: u16,
        start: u32,
        length: u32,
        packet: u32,
        table: Vec<(u32, u32)>,
    },
    /// Type 2 virtual: block `n` is block `vat[n]` of partition reference `physical`.
    Virtual { physical: u16, vat: Vec<u32> },
    /// Type 2 metadata: the blocks of the metadata file (extents of partition reference
    /// `physical`, in order: first block or `None` for a hole, block count).
    Metadata {
        physical: u16,
        extents: Vec<(Option<u32>, u32)>,
        mirror_used: bool,
    },
}

/// The block size, the image and the partition maps: everything needed to read a block of
/// the logical volume.
pub struct Volume {
    pub src: Arc<dyn Source>,
    pub block_size: u32,
    pub maps: Vec<Map>,
    /// One line per partition map, for `info`.
    pub map_names: Vec<String>,
    /// The image bytes read last for a block of metadata, and where they start: file entries
    /// and identifiers recorded one after the other are served from them, not read one
    /// block at a time.
    ahead: std::sync::Mutex<(u64, Vec<u8>)>,
}

/// Bytes read at once for a block of metadata.
const AHEAD: u64 = 64 << 10;

/// VAT entries read at most (a VAT maps blocks of a CD or DVD: 2^24 covers 32 GiB).
const MAX_VAT_ENTRIES: u64 = 1 << 24;
/// Blocks searched back from the end of the image for the VAT's file entry.
const VAT_SEARCH: u64 = 512;

impl Volume {
    /// The image's name, for errors.
    pub fn image(&self) -> &str {
        self.src.name()
    }

    /// Byte offset of a block in the image when it maps, else 0 (for error messages).
    pub fn offset_hint(&self, loc: LbAddr) -> u64 {
        let mut out = Vec::new();
        match self.runs(loc, 1, &mut out) {
            Ok(()) => out.first().and_then(|e| e.offset).unwrap_or(0),
            Err(_) => 0,
        }
    }

    fn bad(&self, loc: LbAddr, detail: String) -> Error {
        Error::corrupt(
            self.image(),
            "UDF partition address",
            u64::from(loc.block) * u64::from(self.block_size),
            format!(
                "partition reference {} block {}: {detail}",
                loc.part, loc.block
            ),
        )
    }

    /// Appends to `out` the image byte ranges holding `len` bytes from `loc`.
    pub fn runs(&self, loc: LbAddr, len: u64, out: &mut Vec<Extent>) -> Result<()> {
        let bs = u64::from(self.block_size);
        let map = self
            .maps
            .get(usize::from(loc.part))
            .ok_or_else(|| self.bad(loc, format!("only {} partition maps", self.maps.len())))?;
        let blocks = len.div_ceil(bs);
        let check_len = |length: u32| -> Result<()> {
            if u64::from(loc.block) + blocks > u64::from(length) {
                return Err(self.bad(
                    loc,
                    format!("{len} bytes pass the partition's end ({length} blocks)"),
                ));
            }
            Ok(())
        };
        let mut push = |offset: Option<u64>, n: u64| match (out.last_mut(), offset) {
            (
                Some(Extent {
                    offset: Some(o),
                    len: l,
                }),
                Some(off),
            ) if *o + *l == off => *l += n,
            (
                Some(Extent {
                    offset: None,
                    len: l,
                }),
                None,
            ) => *l += n,
            _ => out.push(Extent { offset, len: n }),
        };
        match map {
            Map::Physical { start, length, .. } => {
                check_len(*length)?;
                push(Some((u64::from(*start) + u64::from(loc.block)) * bs), len);
            }
            Map::Sparable {
                start,
                length,
                packet,
                table,
                ..
            } => {
                check_len(*length)?;
                let packet = u64::from(*packet);
                let mut done = 0;
                while done < len {
                    let block = u64::from(loc.block) + done / bs;
                    let packet_start = block - block % packet;
                    let n = ((packet_start + packet - block) * bs).min(len - done);
                    let spared = u32::try_from(packet_start)
                        .ok()
                        .and_then(|p| table.binary_search_by_key(&p, |e| e.0).ok());
                    let abs = match spared {
                        Some(i) => u64::from(table[i].1) + (block - packet_start),
                        None => u64::from(*start) + block,
                    };
                    push(Some(abs * bs), n);
                    done += n;
                }
            }
            Map::Virtual { physical, vat } => {
                let mut done = 0;
                while done < len {
                    let vblock = u64::from(loc.block) + done / bs;
                    let target = usize::try_from(vblock)
                        .ok()
                        .and_then(|i| vat.get(i))
                        .ok_or_else(|| {
                            self.bad(loc, format!("past the VAT's {} entries", vat.len()))
                        })?;
                    let n = bs.min(len - done);
                    let under = LbAddr {
                        block: *target,
                        part: *physical,
                    };
                    let mut one = Vec::new();
                    self.runs(under, n, &mut one)?;
                    for e in one {
                        push(e.offset, e.len);
                    }
                    done += n;
                }
            }
            Map::Metadata {
                physical, extents, ..
            } => {
                let mut want = u64::from(loc.block);
                let mut left = len;
                let mut base = 0u64;
                for &(first, count) in extents {
                    let count = u64::from(count);
                    if left > 0 && want < base + count {
                        let skip = want - base;
                        let n = ((count - skip) * bs).min(left);
                        match first {
                            Some(b) => {
                                let under = LbAddr {
                                    block: b.checked_add(skip as u32).ok_or_else(|| {
                                        self.bad(loc, "block number overflows".into())
                                    })?,
                                    part: *physical,
                                };
                                let mut one = Vec::new();
                                self.runs(under, n, &mut one)?;
                                for e in one {
                                    push(e.offset, e.len);
                                }
                            }
                            None => push(None, n),
                        }
                        left -= n;
                        want += n.div_ceil(bs);
                    }
                    base += count;
                }
                if left > 0 {
                    return Err(self.bad(loc, format!("past the metadata file's {base} blocks")));
                }
            }
        }
        if let Some(e) = out.iter().find(|e| {
            e.offset
                .is_some_and(|o| o.saturating_add(e.len) > self.src.len())
        }) {
            return Err(Error::corrupt(
                self.image(),
                "UDF extent",
                e.offset.unwrap_or(0),
                format!(
                    "{} bytes pass the end of the image ({})",
                    e.len,
                    self.src.len()
                ),
            ));
        }
        Ok(())
    }

    /// Reads `len` bytes from `loc` (holes read as zeros); `len` must be checked by the caller
    /// against what the structure may hold.
    pub fn read(&self, loc: LbAddr, len: usize, structure: &'static str) -> Result<(Vec<u8>, u64)> {
        let mut runs = Vec::new();
        self.runs(loc, len as u64, &mut runs)?;
        let mut buf = vec![0; len];
        let mut pos = 0;
        for r in &runs {
            let n = r.len as usize;
            if let Some(off) = r.offset {
                self.src
                    .read_exact_at(off, &mut buf[pos..pos + n], structure)?;
            }
            pos += n;
        }
        Ok((buf, runs.first().and_then(|r| r.offset).unwrap_or(0)))
    }

    /// Reads the block at `loc`, and says where it lies in the image (through the bytes read
    /// ahead with the block read before, when it lies in them).
    pub fn read_block(&self, loc: LbAddr, structure: &'static str) -> Result<(Vec<u8>, u64)> {
        let len = u64::from(self.block_size);
        let mut runs = Vec::new();
        self.runs(loc, len, &mut runs)?;
        let [Extent {
            offset: Some(at), ..
        }] = runs[..]
        else {
            return self.read(loc, len as usize, structure);
        };
        let mut ahead = lock_cache(&self.ahead);
        let (start, bytes) = &mut *ahead;
        if at < *start || at + len > *start + bytes.len() as u64 {
            let want = AHEAD.max(len).min(self.src.len().saturating_sub(at));
            if want < len {
                drop(ahead);
                return self.read(loc, len as usize, structure);
            }
            let mut fresh = vec![0u8; want as usize];
            self.src.read_exact_at(at, &mut fresh, structure)?;
            (*start, *bytes) = (at, fresh);
        }
        let from = (at - *start) as usize;
        Ok((bytes[from..from + len as usize].to_vec(), at))
    }

    /// The image byte ranges of the file data described by `ads`, cut to `size` bytes. Fails
    /// when the descriptors cover less than `size`.
    pub fn data_extents(&self, ads: &[Ad], size: u64) -> Result<Vec<Extent>> {
        let mut out = Vec::new();
        let mut left = size;
        for ad in ads {
            if left == 0 {
                break;
            }
            let n = u64::from(ad.len).min(left);
            match ad.kind {
                ExtentType::Recorded => self.runs(ad.loc, n, &mut out)?,
                _ => match out.last_mut() {
                    Some(Extent { offset: None, len }) => *len += n,
                    _ => out.push(Extent {
                        offset: None,
                        len: n,
                    }),
                },
            }
            left -= n;
        }
        if left > 0 {
            return Err(Error::corrupt(
                self.image(),
                "UDF allocation descriptors",
                ads.first().map_or(0, |a| self.offset_hint(a.loc)),
                format!("they cover {} of the file's {size} bytes", size - left),
            ));
        }
        Ok(out)
    }

    /// The whole data of the file entry `fe`, when it is at most `max` bytes.
    pub fn file_data(&self, fe: &FileEntry, max: u64, structure: &'static str) -> Result<Vec<u8>> {
        if fe.size > max {
            return Err(Error::corrupt(
                self.image(),
                structure,
                0,
                format!(
                    "{} bytes, more than the {max} this structure may hold",
                    fe.size
                ),
            ));
        }
        match icb::allocation(self, fe)? {
            None => match &fe.data {
                super::file_entry::Data::Embedded { bytes, .. } => Ok(bytes.clone()),
                super::file_entry::Data::Extents(..) => Ok(Vec::new()),
            },
            Some(ads) => {
                let extents = self.data_extents(&ads, fe.size)?;
                let mut buf = vec![0; fe.size as usize];
                let mut pos = 0;
                for e in extents {
                    let n = e.len as usize;
                    if let Some(off) = e.offset {
                        self.src
                            .read_exact_at(off, &mut buf[pos..pos + n], structure)?;
                    }
                    pos += n;
                }
                Ok(buf)
            }
        }
    }
}

/// The partition descriptor numbered `number`.
fn descriptor<'a>(d: &'a Descriptors, number: u16, image: &str) -> Result<&'a PartitionDescriptor> {
    d.partitions
        .iter()
        .find(|p| p.number == number)
        .ok_or_else(|| {
            Error::corrupt(
                image,
                "UDF partition map",
                0,
                format!("names partition {number}, which no partition descriptor describes"),
            )
        })
}

/// A type 2 map not resolved until the physical maps are known.
struct Pending {
    index: usize,
    number: u16,
    /// Metadata file and mirror locations, or `None` for a virtual map.
    metadata: Option<(u32, u32)>,
}

/// Reads the sparing table at `blocks` (absolute), trying each copy in turn.
fn sparing_table(
    src: &dyn Source,
    bs: u32,
    size: u32,
    locations: &[u32],
) -> Result<Vec<(u32, u32)>> {
    let mut first_error = None;
    for &loc in locations {
        let offset = u64::from(loc) * u64::from(bs);
        let len = (size as usize).clamp(56, 56 + 8 * 0xffff);
        let attempt = src
            .read_vec(offset, len, "UDF sparing table")
            .and_then(|buf| {
                Tag::check(&buf, 0, loc, src.name(), "UDF sparing table", offset)?;
                let f = Fields::new(&buf, src.name(), "UDF sparing table", offset);
                if cs0::regid(f.slice(16, 32)?) != "*UDF Sparing Table" {
                    return Err(Error::corrupt(
                        src.name(),
                        "UDF sparing table",
                        offset,
                        "no *UDF Sparing Table identifier",
                    ));
                }
                let entries = usize::from(f.le16(48)?);
                let mut table: Vec<(u32, u32)> = (0..entries)
                    .map_while(|i| Some((le32(&buf, 56 + 8 * i)?, le32(&buf, 60 + 8 * i)?)))
                    .filter(|&(orig, _)| orig < 0xffff_fff0)
                    .collect();
                table.sort_unstable();
                Ok(table)
            });
        match attempt {
            Ok(t) => return Ok(t),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| {
        Error::corrupt(
            src.name(),
            "UDF sparable partition map",
            0,
            "no sparing table",
        )
    }))
}

/// The 32-bit entries of a VAT's table.
fn entries(table: &[u8]) -> Vec<u32> {
    (0..table.len() / 4)
        .filter_map(|i| le32(table, 4 * i))
        .collect()
}

/// The VAT (UDF 2.2.11): searched from the image's last block back, as the last file entry of
/// type VAT (2.00+) or unspecified with the `*UDF Virtual Alloc Tbl` trailer (1.50).
fn read_vat(vol: &Volume, physical: u16) -> Result<Vec<u32>> {
    let bs = u64::from(vol.block_size);
    let Some(Map::Physical { start, length, .. }) = vol.maps.get(usize::from(physical)) else {
        return Err(Error::corrupt(
            vol.image(),
            "UDF virtual partition map",
            0,
            "its partition is not a type 1 partition",
        ));
    };
    let image_blocks = vol.src.len() / bs;
    let last = image_blocks.min(u64::from(*start) + u64::from(*length));
    for abs in (last.saturating_sub(VAT_SEARCH)..last).rev() {
        let Some(block) = abs
            .checked_sub(u64::from(*start))
            .and_then(|b| u32::try_from(b).ok())
        else {
            break;
        };
        let loc = LbAddr {
            block,
            part: physical,
        };
        let Ok(fe) = icb::read_entry(vol, loc) else {
            continue;
        };
        let max = MAX_VAT_ENTRIES * 4 + 4096;
        match fe.icb_tag.file_type {
            file_type::VAT => {
                let data = vol.file_data(&fe, max, "UDF VAT")?;
                let Some(header) = le16(&data, 0).filter(|_| data.len() >= 152) else {
                    continue;
                };
                let header = usize::from(header.max(152)).min(data.len());
                return Ok(entries(&data[header..]));
            }
            file_type::UNSPECIFIED => {
                let data = vol.file_data(&fe, max, "UDF VAT")?;
                let Some(body) = data.len().checked_sub(36) else {
                    continue;
                };
                if cs0::regid(&data[body..body + 32]) != "*UDF Virtual Alloc Tbl" {
                    continue;
                }
                return Ok(entries(&data[..body]));
            }
            _ => {}
        }
    }
    Err(Error::corrupt(
        vol.image(),
        "UDF virtual allocation table",
        (last.saturating_sub(1)) * bs,
        format!("no VAT file entry in the last {VAT_SEARCH} blocks"),
    ))
}

/// The metadata file's extents, read from its file entry at block `at` of `physical`.
fn metadata_extents(vol: &Volume, physical: u16, at: u32) -> Result<Vec<(Option<u32>, u32)>> {
    let loc = LbAddr {
        block: at,
        part: physical,
    };
    let fe = icb::read_entry(vol, loc)?;
    let bad = |detail: String| {
        Error::corrupt(
            vol.image(),
            "UDF metadata file",
            vol.offset_hint(loc),
            detail,
        )
    };
    if !matches!(
        fe.icb_tag.file_type,
        file_type::METADATA | file_type::METADATA_MIRROR
    ) {
        return Err(bad(format!(
            "file type {}, not a metadata file",
            fe.icb_tag.file_type
        )));
    }
    let bs = vol.block_size;
    let ads = icb::allocation(vol, &fe)?.ok_or_else(|| bad("its data is embedded".into()))?;
    Ok(ads
        .iter()
        .map(|ad| {
            let blocks = ad.len.div_ceil(bs);
            match ad.kind {
                ExtentType::Recorded => (Some(ad.loc.block), blocks),
                _ => (None, blocks),
            }
        })
        .collect())
}

impl Volume {
    /// Builds the partition maps of the logical volume in `d`.
    pub fn new(src: Arc<dyn Source>, block_size: u32, d: &Descriptors) -> Result<Volume> {
        let image = src.name().to_string();
        let table = &d.logical.maps;
        let mut vol = Volume {
            src: src.clone(),
            block_size,
            maps: Vec::new(),
            map_names: Vec::new(),
            ahead: std::sync::Mutex::new((0, Vec::new())),
        };
        let mut pending = Vec::new();
        let mut pos = 0usize;
        let bad = |pos: usize, detail: String| {
            Error::corrupt(&image, "UDF partition map", pos as u64, detail)
        };
        for _ in 0..d.logical.map_count.min(64) {
            let (Some(&kind), Some(&len)) = (table.get(pos), table.get(pos + 1)) else {
                return Err(bad(pos, "the map table ends early".into()));
            };
            let len = usize::from(len);
            let Some(m) = table.get(pos..pos + len).filter(|_| len >= 6) else {
                return Err(bad(pos, format!("map of {len} bytes passes the table")));
            };
            let index = vol.maps.len();
            let f = Fields::new(m, &image, "UDF partition map", pos as u64);
            match kind {
                1 => {
                    let p = descriptor(d, f.le16(4)?, &image)?;
                    vol.maps.push(Map::Physical {
                        number: p.number,
                        start: p.start,
                        length: p.length,
                    });
                    vol.map_names
                        .push(format!("type 1, partition {}", p.number));
                }
                2 if len >= 64 => {
                    let ident = cs0::regid(&m[4..36]);
                    let number = f.le16(38)?;
                    let p = descriptor(d, number, &image)?;
                    vol.map_names
                        .push(format!("type 2 {ident}, partition {number}"));
                    match ident.as_str() {
                        "*UDF Sparable Partition" => {
                            let packet = u32::from(f.le16(40)?).max(1);
                            let count = usize::from(m[42]).min(4);
                            let locations = (0..count)
                                .map(|i| f.le32(48 + 4 * i))
                                .collect::<Result<Vec<u32>>>()?;
                            let table =
                                sparing_table(src.as_ref(), block_size, f.le32(44)?, &locations)?;
                            vol.maps.push(Map::Sparable {
                                number,
                                start: p.start,
                                length: p.length,
                                packet,
                                table,
                            });
                        }
                        "*UDF Virtual Partition" => {
                            pending.push(Pending {
                                index,
                                number,
                                metadata: None,
                            });
                            vol.maps.push(Map::Virtual {
                                physical: 0,
                                vat: Vec::new(),
                            });
                        }
                        "*UDF Metadata Partition" => {
                            pending.push(Pending {
                                index,
                                number,
                                metadata: Some((f.le32(40)?, f.le32(44)?)),
                            });
                            vol.maps.push(Map::Metadata {
                                physical: 0,
                                extents: Vec::new(),
                                mirror_used: false,
                            });
                        }
                        other => {
                            return Err(Error::unsupported(
                                &image,
                                format!("UDF partition map {other:?}"),
                            ));
                        }
                    }
                }
                other => return Err(bad(pos, format!("map type {other} of {len} bytes"))),
            }
            pos += len;
        }
        if vol.maps.is_empty() {
            return Err(bad(0, "no partition maps".into()));
        }
        // Type 2 virtual and metadata maps sit on the type 1 map of the same partition.
        for Pending {
            index,
            number,
            metadata,
        } in pending
        {
            let physical = vol
                .maps
                .iter()
                .position(|m| matches!(m, Map::Physical { number: n, .. } | Map::Sparable { number: n, .. } if *n == number))
                .ok_or_else(|| bad(0, format!("no type 1 map for partition {number}")))?;
            let physical = physical as u16;
            let resolved = match metadata {
                None => Map::Virtual {
                    physical,
                    vat: read_vat(&vol, physical)?,
                },
                Some((main, mirror)) => match metadata_extents(&vol, physical, main) {
                    Ok(extents) => Map::Metadata {
                        physical,
                        extents,
                        mirror_used: false,
                    },
                    Err(e) => match metadata_extents(&vol, physical, mirror) {
                        Ok(extents) => Map::Metadata {
                            physical,
                            extents,
                            mirror_used: true,
                        },
                        Err(_) => return Err(e),
                    },
                },
            };
            vol.maps[index] = resolved;
        }
        Ok(vol)
    }
}
