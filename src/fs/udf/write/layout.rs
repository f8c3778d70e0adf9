//! The layout of the new image: every block reserved before anything is encoded (the volume
//! structures before the partition, the partition's zone of file set, file entries and
//! directories (in the metadata file and its mirror on a metadata partition volume), the
//! file data, the free space, the closing anchors), so [`super::emit`] writes in one pass.

use super::super::fid;
use super::super::space_bitmap;
use super::tree::Tree;
use super::Style;
use crate::error::{Error, Result};
use crate::fs::iso9660::write::BridgeAt;
use crate::fs::FileSystem;

use super::super::UdfFs;

/// The block after the anchor at 256, where the partition starts.
pub(super) const PART_START: u32 = 257;
/// Blocks of a volume descriptor sequence's extent.
pub(super) const VDS_BLOCKS: u32 = 16;
/// Blocks after the partition: the anchor at N-256, the reserve sequence, then up to the
/// anchor at N.
pub(super) const TRAILER: u32 = 257;
/// Where the recognition sequence starts, in bytes.
pub(super) const VRS_START: u64 = 32768;

/// Where everything goes. Blocks are absolute (`main`...), of the physical partition
/// (`*_phys`, `data`) or of the partition holding the zone (`fsd`, `fe`, `dir`).
pub(super) struct Layout {
    pub(super) main: u32,
    pub(super) reserve: u32,
    pub(super) integrity: u32,
    /// The partition's first block and length.
    pub(super) part_start: u32,
    pub(super) part_len: u32,
    pub(super) bitmap_blocks: u32,
    /// The metadata file's and mirror's entries (metadata partition volumes).
    pub(super) metadata_fe: u32,
    pub(super) mirror_fe: u32,
    /// The partition reference holding the zone: 0, or 1 (the metadata partition).
    pub(super) zone_part: u16,
    /// Where the zone starts in the physical partition, and its blocks (a multiple of the
    /// metadata allocation unit on metadata partition volumes).
    pub(super) zone_phys: u32,
    pub(super) zone_blocks: u32,
    pub(super) mirror_phys: u32,
    /// The file set descriptor (the terminating descriptor follows it).
    pub(super) fsd: u32,
    /// Each object's file entry.
    pub(super) fe: Vec<u32>,
    /// Each directory's data, and its length in bytes.
    pub(super) dir: Vec<u32>,
    pub(super) dir_len: Vec<u64>,
    /// Each object's data.
    pub(super) data: Vec<u32>,
    /// Blocks of the physical partition used (from its start).
    pub(super) used: u32,
    /// Blocks of the image.
    pub(super) total: u64,
}

/// The sizes of the zone and of the data the UDF side places itself.
struct Sizes {
    /// Each object's entry and directory, in blocks from the zone's start.
    rel_fe: Vec<u32>,
    rel_dir: Vec<u32>,
    dir_len: Vec<u64>,
    zone_blocks: u32,
    /// 1, or 2 with the metadata mirror.
    copies: u32,
    /// The metadata file's and mirror's entries.
    entries: u32,
    /// Blocks of the data the UDF side places (not shared with an ISO 9660 file).
    data_blocks: u64,
}

impl Sizes {
    fn of(original: &UdfFs, style: &Style, tree: &Tree, shared: &[Option<u32>]) -> Result<Sizes> {
        let bs = u64::from(style.block_size);
        let n = tree.objs.len();
        let fid_len = |name: usize| (fid::HEAD + name).next_multiple_of(4) as u64;
        let mut rel_fe = Vec::with_capacity(n);
        let mut rel_dir = vec![0u32; n];
        let mut dir_len = vec![0u64; n];
        for i in 0..n {
            rel_fe.push(u32::try_from(2 + i).map_err(|_| too_big(original))?);
        }
        let mut cursor = u32::try_from(2 + n).map_err(|_| too_big(original))?;
        for (i, o) in tree.objs.iter().enumerate() {
            if !o.meta.is_dir() {
                continue;
            }
            let len = fid_len(0)
                + o.children
                    .iter()
                    .map(|(c, _)| fid_len(c.len()))
                    .sum::<u64>();
            if len >= 1 << 30 {
                return Err(Error::unsupported(
                    original.image(),
                    "a directory of over 1 GiB of identifiers",
                ));
            }
            rel_dir[i] = cursor;
            dir_len[i] = len;
            cursor = u32::try_from(u64::from(cursor) + len.div_ceil(bs))
                .map_err(|_| too_big(original))?;
        }
        let (zone_blocks, copies, entries) = match &style.metadata {
            Some(m) => (cursor.next_multiple_of(m.allocation_unit()), 2, 2),
            None => (cursor, 1, 0),
        };
        let data_blocks = tree
            .objs
            .iter()
            .zip(shared)
            .filter(|(o, s)| o.embedded.is_none() && s.is_none())
            .map(|(o, _)| o.size.div_ceil(bs))
            .sum();
        Ok(Sizes {
            rel_fe,
            rel_dir,
            dir_len,
            zone_blocks,
            copies,
            entries,
            data_blocks,
        })
    }

    /// Blocks of the partition before the data the UDF side places.
    fn head(&self) -> u64 {
        u64::from(self.entries) + u64::from(self.zone_blocks) * u64::from(self.copies)
    }
}

fn too_big(original: &UdfFs) -> Error {
    Error::unsupported(
        original.image(),
        "a UDF volume over 2^32 blocks (the new tree does not fit a partition)",
    )
}

/// Where the volume goes: a pure UDF image of its own, or beside the ISO 9660 trees of a
/// bridge image, in the blocks the ISO 9660 layout reserved (`at`), with the data of the
/// objects it shares (`shared`: their blocks in the image).
pub(super) enum Frame<'a> {
    Pure,
    Bridge {
        at: BridgeAt,
        shared: &'a [Option<u32>],
    },
}

/// Blocks of a bridge's gap before its partition: the anchor at 256, the main and reserve
/// sequences, the integrity descriptor and its terminator.
pub(super) const BRIDGE_HEAD: u32 = 1 + 2 * VDS_BLOCKS + 2;

/// The blocks a bridge image's UDF side needs from block 256 on (before the ISO 9660 file
/// data) and after that data (its own data, then the anchors), when the objects `shared`
/// marks share an ISO 9660 file's data. Its own data goes last so that the last extent
/// before the closing anchors is UDF's (7-Zip looks for them right after it).
pub(super) fn bridge_blocks(
    original: &UdfFs,
    style: &Style,
    tree: &Tree,
    shared: &[Option<u32>],
) -> Result<(u64, u64)> {
    let sizes = Sizes::of(original, style, tree, shared)?;
    Ok((
        u64::from(BRIDGE_HEAD) + sizes.head(),
        sizes.data_blocks + u64::from(TRAILER),
    ))
}

impl Layout {
    pub(super) fn new(
        original: &UdfFs,
        style: &Style,
        tree: &Tree,
        frame: &Frame,
    ) -> Result<Layout> {
        let bs = u64::from(style.block_size);
        let none = vec![None; tree.objs.len()];
        let shared = match frame {
            Frame::Pure => &none[..],
            Frame::Bridge { shared, .. } => shared,
        };
        let z = Sizes::of(original, style, tree, shared)?;
        let fixed = z.head() + z.data_blocks;
        let (main, reserve, integrity, part_start, part_len, bitmap_blocks, used, total) =
            match frame {
                Frame::Pure => {
                    // The volume structures before the anchor.
                    let stride = bs.max(2048);
                    let vrs_end = (VRS_START + 3 * stride).div_ceil(bs) as u32;
                    let main = vrs_end.next_multiple_of(VDS_BLOCKS);
                    // As large as the original when it fits. The bitmap's size follows the
                    // partition's.
                    let image_blocks = original.source().len() / bs;
                    let kept = image_blocks.saturating_sub(u64::from(PART_START + TRAILER));
                    let mut bitmap_blocks = 0u64;
                    let (part_len, used) = loop {
                        let used = bitmap_blocks + fixed;
                        let part_len = used.max(kept);
                        let need = if style.bitmap {
                            let blocks = u32::try_from(part_len).map_err(|_| too_big(original))?;
                            space_bitmap::len(blocks).div_ceil(bs)
                        } else {
                            0
                        };
                        if need == bitmap_blocks {
                            break (part_len, used);
                        }
                        bitmap_blocks = need;
                    };
                    let part_len = u32::try_from(part_len)
                        .ok()
                        .filter(|l| l.checked_add(PART_START + TRAILER).is_some())
                        .ok_or_else(|| too_big(original))?;
                    // The reserve sequence after the anchor at N-256, as mkudffs puts it (7-Zip
                    // finds the last anchor from there).
                    let reserve = PART_START + part_len + 1;
                    let total = u64::from(PART_START + part_len + TRAILER);
                    let (bitmap_blocks, used) = (bitmap_blocks as u32, used as u32);
                    (
                        main,
                        reserve,
                        main + VDS_BLOCKS,
                        PART_START,
                        part_len,
                        bitmap_blocks,
                        used,
                        total,
                    )
                }
                Frame::Bridge { at, .. } => {
                    let part_start = at.gap + BRIDGE_HEAD;
                    let own = u32::try_from(z.data_blocks).map_err(|_| too_big(original))?;
                    let part_len = at
                        .tail
                        .checked_add(own)
                        .and_then(|end| end.checked_sub(part_start))
                        .ok_or_else(|| too_big(original))?;
                    let main = at.gap + 1;
                    let total = u64::from(part_start + part_len) + u64::from(TRAILER);
                    let reserve = main + VDS_BLOCKS;
                    (
                        main,
                        reserve,
                        reserve + VDS_BLOCKS,
                        part_start,
                        part_len,
                        0,
                        part_len,
                        total,
                    )
                }
            };
        let (metadata_fe, mirror_fe) = (bitmap_blocks, bitmap_blocks + 1);
        let zone_phys = bitmap_blocks + z.entries;
        let mirror_phys = zone_phys + z.zone_blocks;
        // Blocks of the partition holding the zone: the physical one's, or the metadata
        // partition's from 0.
        let zone_part = u16::from(style.metadata.is_some());
        let zone_base = if zone_part == 0 { zone_phys } else { 0 };
        // Data the UDF side places: after the zone(s), or on a bridge after the ISO 9660
        // file data.
        let mut next = match frame {
            Frame::Pure => zone_phys + z.zone_blocks * z.copies,
            Frame::Bridge { at, .. } => at.tail - part_start,
        };
        let mut data = vec![0u32; tree.objs.len()];
        for (i, o) in tree.objs.iter().enumerate() {
            if o.size == 0 || o.embedded.is_some() {
                continue;
            }
            data[i] = match shared[i] {
                Some(block) => block.checked_sub(part_start).ok_or_else(|| {
                    Error::unsupported(
                        original.image(),
                        "shared file data before the UDF partition",
                    )
                })?,
                None => {
                    let at = next;
                    next += o.size.div_ceil(bs) as u32;
                    at
                }
            };
        }
        Ok(Layout {
            main,
            reserve,
            integrity,
            part_start,
            part_len,
            bitmap_blocks,
            metadata_fe,
            mirror_fe,
            zone_part,
            zone_phys,
            zone_blocks: z.zone_blocks,
            mirror_phys,
            fsd: zone_base,
            fe: z.rel_fe.iter().map(|b| zone_base + b).collect(),
            dir: z.rel_dir.iter().map(|b| zone_base + b).collect(),
            dir_len: z.dir_len,
            data,
            used,
            total,
        })
    }
}
