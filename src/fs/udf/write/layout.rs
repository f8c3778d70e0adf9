//! The layout of the new image: every block reserved before anything is encoded (the volume
//! structures before the partition, the partition's zone of file set, file entries and
//! directories (in the metadata file and its mirror on a metadata partition volume), the
//! file data, the free space, the closing anchors), so [`super::emit`] writes in one pass.

use super::super::fid;
use super::super::space_bitmap;
use super::tree::Tree;
use super::Style;
use crate::error::{Error, Result};
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

impl Layout {
    pub(super) fn new(original: &UdfFs, style: &Style, tree: &Tree) -> Result<Layout> {
        let bs = u64::from(style.block_size);
        let too_big = || {
            Error::unsupported(
                original.image(),
                "a UDF volume over 2^32 blocks (the new tree does not fit a partition)",
            )
        };
        let blocks = |bytes: u64| -> Result<u32> {
            u32::try_from(bytes.div_ceil(bs)).map_err(|_| too_big())
        };
        // The volume structures before the anchor.
        let stride = bs.max(2048);
        let vrs_end = blocks(VRS_START + 3 * stride)?;
        let main = vrs_end.next_multiple_of(VDS_BLOCKS);
        let integrity = main + VDS_BLOCKS;
        // The zone, in blocks from its start: file set and terminating descriptors, the
        // entries, the directories.
        let n = tree.objs.len();
        let fid_len = |name: usize| (fid::HEAD + name).next_multiple_of(4) as u64;
        let mut rel_fe = Vec::with_capacity(n);
        let mut rel_dir = vec![0u32; n];
        let mut dir_len = vec![0u64; n];
        for i in 0..n {
            rel_fe.push(u32::try_from(2 + i).map_err(|_| too_big())?);
        }
        let mut cursor = u32::try_from(2 + n).map_err(|_| too_big())?;
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
            cursor = cursor.checked_add(blocks(len)?).ok_or_else(too_big)?;
        }
        let (zone_part, zone_blocks, copies, entries) = match &style.metadata {
            Some(m) => (1, cursor.next_multiple_of(m.allocation_unit()), 2, 2),
            None => (0, cursor, 1, 0),
        };
        let mut data_blocks = 0u64;
        for o in tree.objs.iter().filter(|o| o.embedded.is_none()) {
            data_blocks += o.size.div_ceil(bs);
        }
        // The partition: bitmap, metadata entries, zone(s), data; as large as the original's
        // when it fits. The bitmap's size follows the partition's.
        let fixed = entries + u64::from(zone_blocks) * copies + data_blocks;
        let image_blocks = original.source().len() / bs;
        let kept = image_blocks.saturating_sub(u64::from(PART_START + TRAILER));
        let mut bitmap_blocks = 0u64;
        let (part_len, used) = loop {
            let used = bitmap_blocks + fixed;
            let part_len = used.max(kept);
            let need = if style.bitmap {
                space_bitmap::len(u32::try_from(part_len).map_err(|_| too_big())?).div_ceil(bs)
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
            .ok_or_else(too_big)?;
        let bitmap_blocks = bitmap_blocks as u32;
        let (metadata_fe, mirror_fe) = (bitmap_blocks, bitmap_blocks + 1);
        let zone_phys = bitmap_blocks + entries as u32;
        let mirror_phys = zone_phys + zone_blocks;
        // Blocks of the partition holding the zone: the physical one's, or the metadata
        // partition's from 0.
        let zone_base = if zone_part == 0 { zone_phys } else { 0 };
        let mut next = zone_phys + zone_blocks * copies as u32;
        let mut data = vec![0u32; n];
        for (i, o) in tree.objs.iter().enumerate() {
            if o.size > 0 && o.embedded.is_none() {
                data[i] = next;
                next += blocks(o.size)?;
            }
        }
        Ok(Layout {
            main,
            // After the anchor at N-256, as mkudffs puts it (7-Zip finds the last anchor
            // from there).
            reserve: PART_START + part_len + 1,
            integrity,
            part_len,
            bitmap_blocks,
            metadata_fe,
            mirror_fe,
            zone_part,
            zone_phys,
            zone_blocks,
            mirror_phys,
            fsd: zone_base,
            fe: rel_fe.iter().map(|b| zone_base + b).collect(),
            dir: rel_dir.iter().map(|b| zone_base + b).collect(),
            dir_len,
            data,
            used: used as u32,
            total: u64::from(PART_START + part_len + TRAILER),
        })
    }
}
