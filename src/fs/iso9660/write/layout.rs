//! Block allocation ("reserve, then write"): every block of the new image is given its
//! structure before a byte is emitted, in the order they are written:
//!
//! | blocks | what |
//! |---|---|
//! | 0-15 | system area (zeros until boot replay lands) |
//! | 16- | the primary descriptor, Joliet's, ISO 9660:1999's, the terminator |
//! | | path tables L and M of the primary tree, then of Joliet's |
//! | | the primary tree's directories in path table order, each followed by its Rock Ridge continuation areas (where libarchive, which reads the image as a stream, looks for them) |
//! | | Joliet's directories |
//! | | file data: the original's unchanged files in their order on the original, then the others in tree order |
//!
//! Choices where the standards leave room: one copy of each path table (no optional ones);
//! continuation areas packed one after another, never across a block; files start on a
//! block; empty files, symlinks and devices have extent 0; no padding at the end.

use std::collections::HashMap;

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

/// Where everything goes.
#[derive(Debug, Default)]
pub(super) struct Layout {
    /// Descriptors written (the terminator included).
    pub(super) descriptors: u32,
    /// The path tables of the primary tree and of Joliet's.
    pub(super) tables: Vec<Tables>,
    /// The extent of each directory, per tree (primary, then Joliet).
    pub(super) dir_extent: Vec<Vec<u32>>,
    /// The continuation areas of each primary record: (dir, record) → (block, offset) each.
    pub(super) ce: HashMap<(usize, usize), Vec<(u32, u32)>>,
    /// The continuation blocks after each primary directory: first block and count.
    pub(super) dir_ce: Vec<(u32, u32)>,
    /// Files with data, in the order written, and the extent of each object with data.
    pub(super) data: Vec<usize>,
    pub(super) extent: HashMap<usize, u32>,
    /// The image's size in blocks.
    pub(super) total: u32,
}

impl Layout {
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

/// Reserves the blocks of an image holding `trees` (primary first) over `t`; `descriptors`
/// counts the volume descriptors before the terminator.
pub(super) fn reserve(t: &Tree, trees: &[&Dirs], descriptors: u32, image: &str) -> Result<Layout> {
    let mut l = Layout {
        descriptors: descriptors + 1,
        ..Layout::default()
    };
    let mut next = u64::from(FIRST_DESCRIPTOR + l.descriptors);
    for dirs in trees {
        let size = table_size(dirs);
        let b = blocks(u64::from(size));
        l.tables.push(Tables {
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
                let used = l.continuation_areas(di, d, start);
                l.dir_ce.push((start, used));
                next += u64::from(used);
            }
        }
        l.dir_extent.push(extents);
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
        l.extent.insert(i, next as u32);
        next += blocks(*stored);
    }
    for (i, o) in t.objs.iter().enumerate() {
        if let Content::LinkOf(first) = o.content {
            let extent = l.extent.get(&first).copied().unwrap_or(0);
            l.extent.insert(i, extent);
        }
    }
    l.total = u32::try_from(next).map_err(|_| {
        Error::Usage(format!(
            "{image}: the new image would be {next} blocks, over ISO 9660's 2^32"
        ))
    })?;
    Ok(l)
}
