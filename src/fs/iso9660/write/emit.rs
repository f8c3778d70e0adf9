//! The write pass: every structure encoded at the block [`layout`](super::layout) reserved
//! for it (descriptors, path tables, directories, continuation areas) and the file data as
//! the spans it is made of, pushed onto the [`Plan`] in image order.

use super::super::pathtable::{self, Order};
use super::super::record::{self, Record};
use super::super::volume::{Body, Descriptor, Text, Volume};
use super::super::{IsoFs, SECTOR};
use super::boot::Pieces;
use super::dirs::{su_of, Dir, Dirs, Slot, MAX_EXTENT};
use super::layout::{Copy, Layout};
use super::rrip::{record_date, Rrip, Su};
use super::tree::{Content, Tree};
use super::{BridgeSpans, Style};
use crate::error::Result;
use crate::fs::{FileSystem, Span};
use crate::plan::Plan;

/// Which tree a directory belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Primary,
    Joliet,
}

struct Emitter<'a> {
    t: &'a Tree,
    layout: &'a Layout,
    /// The copy of the metadata being written.
    copy: &'a Copy,
    trees: &'a [&'a Dirs],
    rr: Option<&'a Rrip>,
}

impl Emitter<'_> {
    /// The extent and size of directory `obj` in tree `w`.
    fn dir_place(&self, w: Which, obj: usize) -> (u32, u64) {
        let ti = w as usize;
        let dirs = self.trees[ti];
        let i = dirs.of_obj[&obj];
        (
            self.copy.dir_extent[ti][i] - self.copy.base,
            dirs.list[i].size(),
        )
    }

    /// The extent of file `obj`'s data, as this copy addresses it (0 for none).
    fn file_extent(&self, obj: usize) -> u32 {
        match self.layout.extent_of(obj) {
            Some(e) if e > 0 => e - self.copy.base,
            _ => 0,
        }
    }

    /// The continuation areas of record `ri` of primary directory `di`, as this copy
    /// addresses them.
    fn places(&self, di: usize, ri: usize) -> Option<Vec<(u32, u32)>> {
        let places = self.copy.ce.get(&(di, ri))?;
        Some(
            places
                .iter()
                .map(|&(b, o)| (b - self.copy.base, o))
                .collect(),
        )
    }

    /// The block of directory `obj` of the primary tree (for CL and PL).
    fn block_of(&self, obj: usize) -> u32 {
        self.dir_place(Which::Primary, obj).0
    }

    /// The bytes of directory `di` of tree `w`, up to its last record.
    fn directory(&self, w: Which, di: usize, d: &Dir) -> Result<Vec<u8>> {
        let dirs = self.trees[w as usize];
        let size = d.size() as usize;
        let mut out = vec![0u8; size];
        let mut at = 0usize;
        let block_of = |obj: usize| self.block_of(obj);
        let (mut area, mut head) = (Su::default(), Vec::new());
        for (ri, r) in d.recs.iter().enumerate() {
            let places = match w {
                Which::Primary => self.places(di, ri).unwrap_or_default(),
                Which::Joliet => Vec::new(),
            };
            let rr = if w == Which::Primary { self.rr } else { None };
            su_of(rr, self.t, d.obj, r.slot, &mut area)?;
            area.encode(&r.split, &places, &block_of, &mut head);
            let (obj, is_dir) = match r.slot {
                Slot::Dot => (d.obj, true),
                Slot::DotDot => (dirs.list[d.parent].obj, true),
                Slot::Child(k) => (k, self.t.objs[k].meta.is_dir()),
                Slot::Stub(k) => (k, false),
            };
            let o = &self.t.objs[obj];
            let (extent, size) = match r.slot {
                Slot::Stub(_) => (0, 0),
                _ if is_dir => {
                    let (e, s) = self.dir_place(w, obj);
                    (e, s)
                }
                _ => (self.file_extent(obj), self.stored(obj)),
            };
            let mut flags = if is_dir { record::DIRECTORY } else { 0 };
            if matches!(r.slot, Slot::Child(_) | Slot::Stub(_)) && o.hidden {
                flags |= 1;
            }
            let date = record_date(o);
            for part in 0..r.count {
                let first = part as u64 * MAX_EXTENT;
                let last = part + 1 == r.count;
                let len = if last { size - first } else { MAX_EXTENT };
                let rec = Record {
                    offset: 0,
                    ext_attr_len: 0,
                    extent: extent + (first / SECTOR) as u32,
                    size: len as u32,
                    date,
                    flags: flags | if last { 0 } else { record::MULTI_EXTENT },
                    unit_size: 0,
                    gap_size: 0,
                    volume_sequence_number: 1,
                    name: r.name(self.t, w == Which::Joliet, d.obj),
                    system_use: &head,
                    system_use_offset: 0,
                };
                let len = rec.encoded_len();
                if at % 2048 + len > 2048 {
                    at = at.next_multiple_of(2048);
                }
                rec.encode_into(&mut out[at..at + len])?;
                at += len;
            }
        }
        // The padding to the directory's size is the caller's (a span of zeros).
        out.truncate(at);
        Ok(out)
    }

    /// The bytes a file's record counts: its stored data.
    fn stored(&self, obj: usize) -> u64 {
        let o = &self.t.objs[obj];
        let of = match o.content {
            Content::LinkOf(first) => first,
            _ => obj,
        };
        match &self.t.objs[of].content {
            Content::Spans { stored, .. } => *stored,
            _ => 0,
        }
    }

    /// The continuation areas of primary directory `di`.
    fn continuation_areas(&self, di: usize, d: &Dir) -> Result<Vec<u8>> {
        let (start, count) = self.copy.dir_ce[di];
        let start = start - self.copy.base;
        let mut out = vec![0u8; count as usize * SECTOR as usize];
        let block_of = |obj: usize| self.block_of(obj);
        let (mut area, mut head) = (Su::default(), Vec::new());
        for (ri, r) in d.recs.iter().enumerate() {
            let Some(places) = self.places(di, ri) else {
                continue;
            };
            su_of(self.rr, self.t, d.obj, r.slot, &mut area)?;
            let areas = area.encode(&r.split, &places, &block_of, &mut head);
            for (area, (block, offset)) in areas.iter().zip(&places) {
                let at = (block - start) as usize * SECTOR as usize + *offset as usize;
                out[at..at + area.len()].copy_from_slice(area);
            }
        }
        Ok(out)
    }

    /// A path table of tree `w`.
    fn path_table(&self, w: Which, order: Order) -> Result<Vec<u8>> {
        let ti = w as usize;
        let mut out = Vec::new();
        for (i, d) in self.trees[ti].list.iter().enumerate() {
            let rec = pathtable::Record {
                ext_attr_len: 0,
                extent: self.copy.dir_extent[ti][i] - self.copy.base,
                parent: (d.parent + 1) as u16,
                name: &d.name,
            };
            out.extend(rec.encode(order)?);
        }
        Ok(out)
    }

    /// A volume descriptor: `v` with the sizes and places of tree `w`, and `label`.
    fn volume(&self, v: &Volume, w: Which, label: Option<&str>) -> Result<Descriptor> {
        let ti = w as usize;
        let mut v = v.clone();
        v.volume_space_size = self.layout.volume - self.copy.base;
        let tables = self.copy.tables[ti];
        v.path_table_size = tables.size;
        v.path_table_l = tables.l - self.copy.base;
        v.path_table_m = tables.m - self.copy.base;
        v.optional_path_table_l = 0;
        v.optional_path_table_m = 0;
        let (extent, size) = self.dir_place(w, 0);
        let root = Record {
            offset: 0,
            ext_attr_len: 0,
            extent,
            size: size as u32,
            date: record_date(&self.t.objs[0]),
            flags: record::DIRECTORY,
            unit_size: 0,
            gap_size: 0,
            volume_sequence_number: 1,
            name: record::SELF,
            system_use: &[],
            system_use_offset: 0,
        };
        v.root_record.copy_from_slice(&root.encode()?);
        if let Some(label) = label {
            v.volume_id = Text::new(label, v.ucs2());
        }
        Ok(Descriptor {
            offset: 0,
            kind: v.kind(),
            body: Body::Volume(Box::new(v)),
        })
    }
}

/// Emits the image laid out in `layout` into a [`Plan`], with the replayed boot setup's
/// `pieces` when there is one.
pub(super) fn emit(
    original: &IsoFs,
    tree: &dyn FileSystem,
    t: &Tree,
    style: &Style,
    trees: &[&Dirs],
    layout: &Layout,
    (pieces, bridge): (Option<Pieces>, Option<BridgeSpans>),
) -> Result<Plan> {
    let emitter = |copy| Emitter {
        t,
        layout,
        copy,
        trees,
        rr: style.rrip.as_ref(),
    };
    let mut plan = Plan::new();
    match &pieces {
        Some(p) => plan.push_bytes(p.area.clone()),
        None => plan.push(Span::Zeros(16 * SECTOR)),
    };
    let label = tree
        .label()
        .filter(|l| Some(l) != original.label().as_ref());
    let label = label.as_deref();
    for copy in &layout.copies {
        let e = emitter(copy);
        plan.push(Span::Zeros(
            (u64::from(copy.descriptors_at) * SECTOR).saturating_sub(plan.len()),
        ));
        plan.push_bytes(e.volume(&style.primary, Which::Primary, label)?.encode());
        if let Some(record) = pieces.as_ref().and_then(|p| p.boot_record.clone()) {
            if copy.base == 0 {
                plan.push_bytes(record);
            }
        }
        if let Some((joliet, _, _)) = &style.joliet {
            plan.push_bytes(e.volume(joliet, Which::Joliet, label)?.encode());
        }
        if let Some(enhanced) = &style.enhanced {
            plan.push_bytes(e.volume(enhanced, Which::Primary, label)?.encode());
        }
        plan.push_bytes(Descriptor::terminator(0).encode());
        if let (Some(b), 0) = (&bridge, copy.base) {
            plan.push_bytes(b.vrs.clone());
        }
    }
    // A bridge's blocks from 256 on: before the trees when these had to follow them.
    let gap_first = layout
        .bridge
        .zip(layout.copies.first())
        .is_some_and(|(at, copy)| copy.tables[0].l > at.gap);
    let push_gap = |plan: &mut Plan| {
        if let (Some(b), Some(at)) = (&bridge, layout.bridge) {
            plan.push(Span::Zeros(
                (u64::from(at.gap) * SECTOR).saturating_sub(plan.len()),
            ));
            for s in &b.gap {
                plan.push(s.clone());
            }
        }
    };
    if gap_first {
        push_gap(&mut plan);
    }
    let which = [Which::Primary, Which::Joliet];
    for copy in &layout.copies {
        let e = emitter(copy);
        plan.push(Span::Zeros(
            (u64::from(copy.tables[0].l) * SECTOR).saturating_sub(plan.len()),
        ));
        for &w in which.iter().take(trees.len()) {
            for order in [Order::Little, Order::Big] {
                plan.push_bytes(e.path_table(w, order)?);
                plan.pad_to(SECTOR);
            }
        }
        for &w in which.iter().take(trees.len()) {
            for (di, d) in trees[w as usize].list.iter().enumerate() {
                let bytes = e.directory(w, di, d)?;
                let zeros = d.size() - bytes.len() as u64;
                plan.push_bytes(bytes);
                plan.push(Span::Zeros(zeros));
                if w == Which::Primary {
                    push_padded(&mut plan, e.continuation_areas(di, d)?);
                }
            }
        }
    }
    if !gap_first {
        push_gap(&mut plan);
    }
    for spans in pieces.iter().flat_map(|p| &p.extras) {
        for s in spans {
            plan.push(s.clone());
        }
    }
    for &i in &layout.data {
        if let Content::Spans { spans, .. } = &t.objs[i].content {
            for s in spans {
                plan.push(s.clone());
            }
            plan.pad_continuing(SECTOR);
        }
    }
    for s in bridge.iter().flat_map(|b| &b.tail) {
        plan.push(s.clone());
    }
    debug_assert_eq!(plan.len(), u64::from(layout.total) * SECTOR);
    for s in pieces.iter().flat_map(|p| &p.tail) {
        plan.push(s.clone());
    }
    Ok(plan)
}

/// Pushes a sector-padded structure, its trailing zeros as a span of zeros: only the records
/// of the many directories of a large tree are held in memory, not their padding.
fn push_padded(plan: &mut Plan, mut bytes: Vec<u8>) {
    let full = bytes.len();
    bytes.truncate(
        bytes
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |last| last + 1),
    );
    let zeros = (full - bytes.len()) as u64;
    plan.push_bytes(bytes);
    plan.push(Span::Zeros(zeros));
}
