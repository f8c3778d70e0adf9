//! The records of every tree of an image that point at given extents ([`census`]): each tree
//! the volume descriptors name (the primary one with its Rock Ridge entries, Joliet, ISO
//! 9660:1999) walked directory by directory on disc, so a record is known by its own offset,
//! never by its sorted position; and the data ranges of every other file, so that a file's
//! sectors are known to be its own before they are written over.

use std::collections::{HashMap, HashSet, VecDeque};

use super::super::listing::MAX_DIR_SIZE;
use super::super::record::{self, Record, MULTI_EXTENT};
use super::super::rockridge::{Px, Tf};
use super::super::volume::Kind;
use super::super::{susp, IsoFs, SECTOR};
use crate::error::{Error, Result};

/// One record that points at a wanted extent.
#[derive(Clone, Debug)]
pub(super) struct Pointer {
    /// Byte offset of the record.
    pub(super) record: u64,
    /// The descriptor of its tree (byte offset).
    pub(super) tree: u64,
    pub(super) size: u32,
    /// Multi-extent, interleaved, or with an extended attribute record: not patched.
    pub(super) unusual: Option<&'static str>,
    /// Rock Ridge PX and TF, with the offsets of their entries.
    pub(super) px: Option<(u64, Px)>,
    pub(super) tf: Option<(u64, Tf)>,
    /// A zisofs (ZF) file.
    pub(super) zf: bool,
}

/// What the walk found.
#[derive(Default)]
pub(super) struct Census {
    /// The records pointing at each wanted extent (by block).
    pub(super) pointers: HashMap<u32, Vec<Pointer>>,
    /// Every file's and directory's data as (first byte, end byte, block it starts at).
    pub(super) used: Vec<(u64, u64, u32)>,
}

impl Census {
    /// True when some data other than the file at block `own` lies in `[from, to)`.
    pub(super) fn others_in(&self, own: u32, from: u64, to: u64) -> bool {
        self.used
            .iter()
            .any(|&(s, e, block)| block != own && s < to && from < e)
    }
}

/// Walks every tree of `iso` and finds the records pointing at the blocks in `wanted`.
pub(super) fn census(iso: &IsoFs, wanted: &HashSet<u32>) -> Result<Census> {
    let src = iso.source.as_ref();
    let image = src.name();
    let mut out = Census::default();
    let mut seen_dirs: HashSet<u32> = HashSet::new();
    for d in &iso.descriptors {
        let Some(volume) = d.volume() else { continue };
        let rock = d.kind == Kind::Primary && iso.rock_ridge.is_some();
        let root = volume.root(d.offset, image)?;
        let mut queue = VecDeque::from([(root.extent, root.size)]);
        while let Some((extent, size)) = queue.pop_front() {
            if !seen_dirs.insert(extent) {
                continue;
            }
            let start = u64::from(extent) * SECTOR;
            out.used.push((start, start + u64::from(size), extent));
            if u64::from(size) > MAX_DIR_SIZE {
                return Err(Error::corrupt(
                    image,
                    "directory",
                    start,
                    format!("{size} bytes long, over the {MAX_DIR_SIZE} read"),
                ));
            }
            let buf = src.read_vec(start, size as usize, "directory")?;
            for rec in record::records(&buf, start, image) {
                let rec = rec?;
                if rec.is_self_or_parent() {
                    continue;
                }
                let data = rec.data_offset();
                if rec.is_dir() {
                    queue.push_back((rec.extent, rec.size));
                    continue;
                }
                out.used.push((
                    data,
                    data + u64::from(rec.size).div_ceil(SECTOR) * SECTOR,
                    rec.extent,
                ));
                if wanted.contains(&rec.extent) {
                    let p = pointer(iso, &rec, d.offset, rock.then_some(iso.susp_skip))?;
                    out.pointers.entry(rec.extent).or_default().push(p);
                }
            }
        }
    }
    Ok(out)
}

/// The [`Pointer`] of `rec` in the tree of the descriptor at `tree`; `skip` is the SUSP skip
/// length where the tree has Rock Ridge.
fn pointer(iso: &IsoFs, rec: &Record, tree: u64, skip: Option<usize>) -> Result<Pointer> {
    let unusual = if rec.flags & MULTI_EXTENT != 0 {
        Some("a multi-extent file")
    } else if rec.unit_size != 0 || rec.gap_size != 0 {
        Some("an interleaved file")
    } else if rec.ext_attr_len != 0 {
        Some("a file with an extended attribute record")
    } else {
        None
    };
    let mut p = Pointer {
        record: rec.offset,
        tree,
        size: rec.size,
        unusual,
        px: None,
        tf: None,
        zf: false,
    };
    if let Some(skip) = skip {
        let image = iso.image();
        susp::for_each(
            iso.source.as_ref(),
            rec.system_use,
            rec.system_use_offset,
            skip,
            &mut |e| {
                match &e.signature {
                    b"PX" => p.px = Some((e.offset, Px::decode(image, e)?)),
                    b"TF" => p.tf = Some((e.offset, Tf::decode(image, e)?)),
                    b"ZF" => p.zf = true,
                    _ => {}
                }
                Ok(())
            },
        )?;
    }
    Ok(p)
}
