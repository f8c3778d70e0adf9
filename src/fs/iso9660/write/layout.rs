//! Block allocation ("reserve, then write"): every block of the new image is given its
//! structure before a byte is emitted, in the order they are written:
//!
//! | blocks | what |
//! |---|---|
//! | 0-15 | system area (zeros, or the original's replayed) |
//! | 16- | the primary descriptor, El Torito's boot record, Joliet's, ISO 9660:1999's, the terminator |
//! | po+16- | with `-partition_offset` po: the second copy's descriptors |
//! | | path tables L and M of the primary tree, then of Joliet's |
//! | | the primary tree's directories in path table order, each followed by its Rock Ridge continuation areas (where libarchive, which reads the image as a stream, looks for them) |
//! | | Joliet's directories |
//! | | the second copy's path tables and directories, addressed from the partition's start |
//! | | a bridge image's UDF recognition sequence right after the terminator |
//! | 256- | a bridge image's UDF side: anchor, descriptors, file entries, data only UDF holds (when the trees above do not end before block 256, they come right after it instead) |
//! | | boot replay's extents: the boot catalog and hidden boot images no file holds |
//! | | file data: the original's unchanged files in their order on the original, then the others in tree order |
//! | | a bridge image's UDF tail (the anchors at N-256 and N) |
//! | | boot replay's tail: the original's padding, appended partitions, the backup GPT |
//!
//! Choices where the standards leave room: one copy of each path table (no optional ones);
//! continuation areas packed one after another, never across a block; files start on a
//! block; empty files, symlinks and devices have extent 0; no padding at the end.

use super::HashMap;

use super::super::SECTOR;
use super::dirs::{Dir, Dirs};
use super::tree::{Content, Tree};
use crate::error::{Error, Result};
use crate::fs::Span;
use crate::overlay::Provenance;

/// The first block after the system area.
const FIRST_DESCRIPTOR: u32 = 16;

/// A path table pair's place and size.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Tables {
    pub(super) l: u32,
    pub(super) m: u32,
    pub(super) size: u32,
}

/// One copy of the image's metadata: the descriptors, path tables and directories with their
/// continuation areas. An image has one; `-partition_offset` images a second, inside
/// partition 1, whose addresses count from the partition's start (`base`).
#[derive(Debug, Default)]
pub(super) struct Copy {
    /// The block every address of this copy counts from.
    pub(super) base: u32,
    /// The block of its first volume descriptor.
    pub(super) descriptors_at: u32,
    /// The path tables of the primary tree and of Joliet's.
    pub(super) tables: Vec<Tables>,
    /// The extent of each directory, per tree (primary, then Joliet).
    pub(super) dir_extent: Vec<Vec<u32>>,
    /// The continuation areas of each primary record: (dir, record) → (block, offset) each.
    pub(super) ce: HashMap<(usize, usize), Vec<(u32, u32)>>,
    /// The continuation blocks after each primary directory: first block and count.
    pub(super) dir_ce: Vec<(u32, u32)>,
}

/// Where everything goes.
#[derive(Debug, Default)]
pub(super) struct Layout {
    /// Descriptors written per copy (the terminator included).
    pub(super) descriptors: u32,
    /// The metadata, once or twice.
    pub(super) copies: Vec<Copy>,
    /// The block of each extent reserved for boot replay (catalog, hidden boot images).
    pub(super) extras: Vec<u32>,
    /// Files with data, in the order written, and the extent of each object with data (by
    /// object: every object is looked up when the directories are written).
    pub(super) data: Vec<usize>,
    pub(super) extent: Vec<Option<u32>>,
    /// The block after the last file data.
    pub(super) total: u32,
    /// The volume space size written in the descriptors (the image's size, unless boot
    /// replay adds a tail after the volume).
    pub(super) volume: u32,
    /// Where the blocks reserved for a bridge's other side are.
    pub(super) bridge: Option<super::BridgeAt>,
}

impl Layout {
    /// The first block of object `obj`'s data, when it has data.
    pub(super) fn extent_of(&self, obj: usize) -> Option<u32> {
        self.extent.get(obj).copied().flatten()
    }
}

impl Copy {
    /// Places the continuation areas of directory `di`'s records from block `start`, packed
    /// without crossing a block; returns the blocks used.
    fn continuation_areas(&mut self, di: usize, d: &Dir, start: u32) -> u32 {
        let mut at = 0u64;
        for (ri, r) in d.recs.iter().enumerate() {
            let mut places = Vec::new();
            for (_, len) in &r.split.areas {
                let len = *len as u64;
                if at % SECTOR + len > SECTOR {
                    at = at.next_multiple_of(SECTOR);
                }
                places.push((start + (at / SECTOR) as u32, (at % SECTOR) as u32));
                at += len;
            }
            if !places.is_empty() {
                self.ce.insert((di, ri), places);
            }
        }
        blocks(at) as u32
    }

    /// Reserves this copy's path tables and directories from block `next`; returns the block
    /// after them.
    fn reserve(&mut self, trees: &[&Dirs], mut next: u64) -> u64 {
        for dirs in trees {
            let size = table_size(dirs);
            let b = blocks(u64::from(size));
            self.tables.push(Tables {
                l: next as u32,
                m: (next + b) as u32,
                size,
            });
            next += 2 * b;
        }
        for (ti, dirs) in trees.iter().enumerate() {
            let mut extents = Vec::with_capacity(dirs.list.len());
            for (di, d) in dirs.list.iter().enumerate() {
                extents.push(next as u32);
                next += blocks(d.size());
                if ti == 0 {
                    let start = next as u32;
                    let used = self.continuation_areas(di, d, start);
                    self.dir_ce.push((start, used));
                    next += u64::from(used);
                }
            }
            self.dir_extent.push(extents);
        }
        next
    }
}

/// A path table's size: 8 bytes and the identifier (padded to even) per directory.
pub(super) fn table_size(dirs: &Dirs) -> u32 {
    dirs.list
        .iter()
        .map(|d| (8 + d.name.len() + d.name.len() % 2) as u32)
        .sum()
}

fn blocks(bytes: u64) -> u64 {
    bytes.div_ceil(SECTOR)
}

/// What the layout reserves besides the trees.
pub(super) struct Extras<'a> {
    /// Volume descriptors before the terminator.
    pub(super) descriptors: u32,
    /// `-partition_offset`: the block of the second copy of the metadata.
    pub(super) partition_offset: Option<u32>,
    /// The byte sizes of extents for boot replay, placed before the file data.
    pub(super) extents: &'a [u64],
    /// The blocks a bridge's other side asks for: after the terminator, from block 256 on,
    /// after the file data.
    pub(super) bridge: Option<(u32, u64, u32)>,
}

/// The block where a bridge's other side takes over (UDF's anchor): the ISO 9660 path tables
/// and directories end before it, or start after the blocks the other side asks for there.
const BRIDGE_GAP: u64 = 256;

/// Reserves the blocks of an image holding `trees` (primary first) over `t`.
pub(super) fn reserve(t: &Tree, trees: &[&Dirs], extras: &Extras, image: &str) -> Result<Layout> {
    let mut l = Layout {
        descriptors: extras.descriptors + 1,
        extent: vec![None; t.objs.len()],
        ..Layout::default()
    };
    let mut next = u64::from(FIRST_DESCRIPTOR + l.descriptors);
    let mut bases = vec![0];
    let mut bridge = super::BridgeAt::default();
    if let Some((after_terminator, _, _)) = extras.bridge {
        if extras.partition_offset.is_some() {
            return Err(Error::unsupported(
                image,
                "a bridge image (UDF and ISO 9660) with a partition offset",
            ));
        }
        bridge.vrs = next as u32;
        next += u64::from(after_terminator);
    }
    if let Some(po) = extras.partition_offset {
        if next > u64::from(po + FIRST_DESCRIPTOR) {
            return Err(Error::Usage(format!(
                "{image}: a partition offset of {po} blocks leaves no room for the volume descriptors"
            )));
        }
        next = u64::from(po + FIRST_DESCRIPTOR + l.descriptors);
        bases.push(po);
    }
    let gap = extras.bridge.map(|(_, gap, _)| gap);
    let mut after_gap = false;
    for base in bases {
        let copy_at = |next| {
            let mut copy = Copy {
                base,
                descriptors_at: base + FIRST_DESCRIPTOR,
                ..Copy::default()
            };
            (copy.reserve(trees, next), copy)
        };
        let (mut end, mut copy) = copy_at(next);
        if let Some(gap) = gap.filter(|_| end > BRIDGE_GAP) {
            // The trees do not fit before the UDF anchor: they follow the UDF side's blocks
            // (as genisoimage lays out a large bridge image).
            (end, copy) = copy_at(BRIDGE_GAP + gap);
            after_gap = true;
        }
        next = end;
        l.copies.push(copy);
    }
    if let Some(gap) = gap {
        bridge.gap = BRIDGE_GAP as u32;
        if !after_gap {
            next = BRIDGE_GAP + gap;
        }
    }
    for len in extras.extents {
        l.extras.push(next as u32);
        next += blocks(*len);
    }
    // File data: the original's unchanged data in its order there, then the rest.
    let mut kept: Vec<(u64, usize)> = Vec::new();
    let mut rest = Vec::new();
    for (i, o) in t.objs.iter().enumerate() {
        let Content::Spans { spans, .. } = &o.content else {
            continue;
        };
        match (o.prov, spans.first()) {
            (Provenance::Base { data: true, .. }, Some(Span::Source { offset, .. })) => {
                kept.push((*offset, i))
            }
            _ => rest.push(i),
        }
    }
    kept.sort();
    l.data = kept.into_iter().map(|(_, i)| i).chain(rest).collect();
    for &i in &l.data {
        let Content::Spans { stored, .. } = &t.objs[i].content else {
            continue;
        };
        l.extent[i] = Some(next as u32);
        next += blocks(*stored);
    }
    for (i, o) in t.objs.iter().enumerate() {
        if let Content::LinkOf(first) = o.content {
            l.extent[i] = Some(l.extent_of(first).unwrap_or(0));
        }
    }
    if let Some((_, _, tail)) = extras.bridge {
        bridge.tail = next as u32;
        next += u64::from(tail);
        l.bridge = Some(bridge);
    }
    l.total = u32::try_from(next).map_err(|_| {
        Error::Usage(format!(
            "{image}: the new image would be {next} blocks, over ISO 9660's 2^32"
        ))
    })?;
    l.volume = l.total;
    Ok(l)
}
