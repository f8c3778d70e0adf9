//! The directories to write, in each tree: which records each holds (`.`, `..`, then its
//! entries in ECMA-119 order), with their identifiers and system use areas, numbered in
//! path table order (by level, then parent, then identifier: a breadth-first walk that visits
//! children in order).

use std::collections::VecDeque;

use super::{HashMap, HashSet};

use super::super::record;
use super::super::IsoFs;
use super::names::{self, IsoStyle};
use super::original::JolietInfo;
use super::rrip::{Rrip, Split, Su};
use super::tree::{Content, Tree};
use super::Style;
use crate::error::{Error, Result};
use crate::fs::{FileKind, FileSystem, Span};
use crate::overlay::Provenance;

/// The longest extent of one record of a multi-extent file: 4 GiB less one block.
pub(super) const MAX_EXTENT: u64 = 0xffff_f800;

/// What a record stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Slot {
    /// `.` (the directory itself) and `..` (its parent in the tree written).
    Dot,
    DotDot,
    /// An object of the tree, under its own identifier.
    Child(usize),
    /// The CL record standing for a relocated directory at its real place.
    Stub(usize),
}

/// One record (several for a multi-extent file) of a directory.
#[derive(Debug)]
pub(super) struct Rec {
    pub(super) slot: Slot,
    /// Its identifier's length (the identifier is the object's: [`Rec::name`]).
    name_len: usize,
    /// How its system use area splits between the record and continuation areas (the area
    /// itself is encoded again when it is written: [`su_of`]; kept for every record of a
    /// large tree, it would cost more memory than the rest of the record).
    pub(super) split: Split,
    /// How many records (more than one for files over 4 GiB).
    pub(super) count: usize,
}

impl Rec {
    /// The length of one of its records.
    pub(super) fn len(&self) -> usize {
        record::system_use_start(self.name_len) + self.split.head_len + self.split.head_len % 2
    }

    /// Its identifier, in directory `dir` of the primary tree or (`joliet`) the Joliet tree.
    pub(super) fn name<'a>(&self, t: &'a Tree, joliet: bool, dir: usize) -> &'a [u8] {
        match self.slot {
            Slot::Dot => record::SELF,
            Slot::DotDot => record::PARENT,
            Slot::Child(k) | Slot::Stub(k) => identifier(t, joliet, dir, k),
        }
    }
}

/// The identifier of object `k`'s record in directory `dir` of the primary tree (in
/// `rr_moved`, the one it has there) or (`joliet`) the Joliet tree.
fn identifier(t: &Tree, joliet: bool, dir: usize, k: usize) -> &[u8] {
    let o = &t.objs[k];
    match (joliet, Some(dir) == t.rr_moved) {
        (true, _) => &o.joliet_name,
        (false, true) => &o.moved_name,
        (false, false) => &o.iso_name,
    }
}

/// One directory of a tree.
#[derive(Debug)]
pub(super) struct Dir {
    pub(super) obj: usize,
    /// Its identifier in its parent (`\0` for the root).
    pub(super) name: Vec<u8>,
    /// Its path table number's index (0 for the root) of its parent.
    pub(super) parent: usize,
    pub(super) recs: Vec<Rec>,
    /// Its extent's size, found once its records are all in (every record of a directory
    /// that is a parent or a child asks it).
    size: u64,
}

impl Dir {
    fn new(obj: usize, name: Vec<u8>, parent: usize, mut recs: Vec<Rec>) -> Dir {
        // Kept without spare room: every directory's records stay until the image is planned.
        recs.shrink_to_fit();
        let mut at = 0usize;
        for r in &recs {
            for _ in 0..r.count {
                let len = r.len();
                if at % 2048 + len > 2048 {
                    at = at.next_multiple_of(2048);
                }
                at += len;
            }
        }
        let size = (at.max(1) as u64).next_multiple_of(2048);
        Dir {
            obj,
            name,
            parent,
            recs,
            size,
        }
    }

    /// The extent's size: records never cross a block.
    pub(super) fn size(&self) -> u64 {
        self.size
    }
}

/// The directories of one tree, in path table order, and the index of each object's.
#[derive(Debug, Default)]
pub(super) struct Dirs {
    pub(super) list: Vec<Dir>,
    pub(super) of_obj: HashMap<usize, usize>,
}

/// The visible name the original gives an object of its own, when it can be known.
fn original_visible(original: &IsoFs, t: &Tree, obj: usize) -> Option<Vec<u8>> {
    let r = t.objs[obj].recorded.as_ref()?;
    if original.shows_joliet() {
        return None;
    }
    if original.has_rock_ridge() {
        let nm: Vec<u8> = r.entries_of(b"NM").flat_map(|e| e[5..].to_vec()).collect();
        if !nm.is_empty() {
            return Some(nm);
        }
    }
    Some(record::plain_name(&r.name).to_vec())
}

/// Gives every object its ISO 9660 identifier and every directory its records' order.
/// `primary_ids`: for an original shown as its Joliet tree, the primary identifiers of its
/// files by the offset of their data.
pub(super) fn name_iso(
    original: &IsoFs,
    t: &mut Tree,
    style: &IsoStyle,
    primary_ids: Option<&HashMap<u64, Vec<u8>>>,
) {
    let dirs: Vec<usize> = (0..t.objs.len())
        .filter(|&i| t.objs[i].meta.is_dir())
        .collect();
    for d in dirs {
        let mut kids = t.objs[d].children.clone();
        if d == 0 {
            kids.extend(t.rr_moved);
        }
        if Some(d) == t.rr_moved {
            kids = t.objs[d].iso_children.clone();
        }
        let moved = Some(d) == t.rr_moved;
        let mut taken = HashSet::default();
        let mut pending = Vec::new();
        for &k in &kids {
            let o = &t.objs[k];
            let base = matches!(o.prov, Provenance::Base { .. });
            let (keep, recorded) = match primary_ids {
                Some(ids) => {
                    let id = data_offset(t, k)
                        .and_then(|at| ids.get(&at).cloned())
                        .filter(|id| style.identifier_of(id, &o.name));
                    (id.is_some(), id)
                }
                None => (
                    base && original_visible(original, t, k).as_deref() == Some(&o.name[..]),
                    o.recorded.as_ref().map(|r| r.name.clone()),
                ),
            };
            let keep = keep && !moved;
            match recorded {
                Some(id) if keep && !taken.contains(&id) => {
                    taken.insert(id.clone());
                    t.objs[k].iso_name = id;
                }
                _ if moved => {
                    let id = t.objs[k].iso_name.clone();
                    if taken.insert(id.clone()) {
                        t.objs[k].moved_name = id;
                    } else {
                        pending.push(k);
                    }
                }
                _ => pending.push(k),
            }
        }
        pending.sort_by(|&a, &b| t.objs[a].name.cmp(&t.objs[b].name));
        for k in pending {
            let is_dir = t.objs[k].meta.is_dir();
            let id = style.unique(&t.objs[k].name, is_dir, &mut taken);
            if moved {
                t.objs[k].moved_name = id;
            } else {
                t.objs[k].iso_name = id;
            }
        }
        let name_of = |k: usize| {
            if moved {
                &t.objs[k].moved_name
            } else {
                &t.objs[k].iso_name
            }
        };
        kids.sort_by(|&a, &b| names::ecma_order(name_of(a), name_of(b)));
        t.objs[d].iso_children = kids;
    }
}

/// What [`name_joliet`] finds: each directory's children in Joliet order, and the Joliet
/// name of each object (its index, the name).
pub(super) struct JolietNames {
    pub(super) order: HashMap<usize, Vec<usize>>,
    pub(super) names: Vec<(usize, Vec<u8>)>,
}

/// The Joliet name of every object of the real tree (to give them), and each directory's
/// children sorted by it. Symlinks and special files are left out unless the original has
/// them; unchanged files keep the original's Joliet name.
pub(super) fn name_joliet(
    original: &IsoFs,
    t: &Tree,
    max: usize,
    info: &JolietInfo,
) -> JolietNames {
    let mut order = HashMap::default();
    let mut names = Vec::with_capacity(t.objs.len());
    for d in 0..t.objs.len() {
        if !t.objs[d].meta.is_dir() || Some(d) == t.rr_moved {
            continue;
        }
        let mut kids = t.objs[d].children.clone();
        if !info.specials {
            kids.retain(|&k| matches!(t.objs[k].meta.kind, FileKind::File | FileKind::Dir));
        }
        kids.sort_by(|&a, &b| t.objs[a].name.cmp(&t.objs[b].name));
        let mut taken = HashSet::default();
        let mut pending = Vec::new();
        let mut named: Vec<(Vec<u8>, usize)> = Vec::with_capacity(kids.len());
        for &k in &kids {
            let name = &t.objs[k].name;
            let kept = data_offset(t, k)
                .and_then(|at| info.by_data.get(&at))
                .filter(|j| names::joliet_of(j, name))
                .filter(|_| {
                    original.shows_joliet()
                        || original_visible(original, t, k).as_deref() == Some(&name[..])
                });
            match kept {
                Some(name) if taken.insert(name.clone()) => named.push((name.clone(), k)),
                _ => pending.push(k),
            }
        }
        for k in pending {
            let is_dir = t.objs[k].meta.is_dir();
            named.push((
                names::joliet_unique(&t.objs[k].name, is_dir, max, &mut taken),
                k,
            ));
        }
        named.sort();
        order.insert(d, named.iter().map(|&(_, k)| k).collect());
        names.extend(named.into_iter().map(|(name, k)| (k, name)));
    }
    JolietNames { order, names }
}

/// The offset of the original's data of an object of the original with unchanged data.
fn data_offset(t: &Tree, k: usize) -> Option<u64> {
    match (&t.objs[k].content, t.objs[k].prov) {
        (Content::Spans { spans, .. }, Provenance::Base { data: true, .. }) => {
            match spans.first() {
                Some(Span::Source { offset, .. }) => Some(*offset),
                _ => None,
            }
        }
        _ => None,
    }
}

/// How many records a file's data needs.
fn record_count(t: &Tree, obj: usize) -> usize {
    let stored = match &t.objs[obj].content {
        Content::Spans { stored, .. } => *stored,
        Content::LinkOf(first) => match &t.objs[*first].content {
            Content::Spans { stored, .. } => *stored,
            _ => 0,
        },
        Content::None => 0,
    };
    stored.div_ceil(MAX_EXTENT).max(1) as usize
}

/// The directories of the primary tree, with their records and Rock Ridge areas.
pub(super) fn primary(original: &IsoFs, t: &Tree, style: &Style) -> Result<Dirs> {
    let rr: Option<&Rrip> = style.rrip.as_ref();
    let mut dirs = Dirs::default();
    // One area for every record in turn.
    let mut su = Su::default();
    let mut queue = VecDeque::from([(0usize, vec![0u8], 0usize)]);
    while let Some((obj, name, parent)) = queue.pop_front() {
        let index = dirs.list.len();
        if index > usize::from(u16::MAX) {
            return Err(Error::Usage(format!(
                "{}: more than {} directories: ISO 9660 path tables cannot number them",
                original.source().name(),
                u16::MAX
            )));
        }
        dirs.of_obj.insert(obj, index);
        let mut recs = Vec::new();
        for slot in [Slot::Dot, Slot::DotDot] {
            su_of(rr, t, obj, slot, &mut su)?;
            recs.push(rec(slot, 1, &su, 1));
        }
        let moved = Some(obj) == t.rr_moved;
        for &k in &t.objs[obj].iso_children {
            let o = &t.objs[k];
            let stub = o.relocated && !moved;
            let id = identifier(t, false, obj, k);
            let slot = if stub { Slot::Stub(k) } else { Slot::Child(k) };
            su_of(rr, t, obj, slot, &mut su)?;
            recs.push(rec(slot, id.len(), &su, record_count(t, k)));
            if o.meta.is_dir() && !stub {
                queue.push_back((k, id.to_vec(), index));
            }
        }
        dirs.list.push(Dir::new(obj, name, parent, recs));
    }
    Ok(dirs)
}

/// The directories of the Joliet tree (`order`: each directory's children, sorted).
pub(super) fn joliet(t: &Tree, order: &HashMap<usize, Vec<usize>>) -> Dirs {
    let mut dirs = Dirs::default();
    let none = Su::default();
    let mut queue = VecDeque::from([(0usize, vec![0u8], 0usize)]);
    while let Some((obj, name, parent)) = queue.pop_front() {
        let index = dirs.list.len();
        dirs.of_obj.insert(obj, index);
        let mut recs = vec![rec(Slot::Dot, 1, &none, 1), rec(Slot::DotDot, 1, &none, 1)];
        for &k in order.get(&obj).map(Vec::as_slice).unwrap_or_default() {
            let id = identifier(t, true, obj, k);
            recs.push(rec(Slot::Child(k), id.len(), &none, record_count(t, k)));
            if t.objs[k].meta.is_dir() {
                queue.push_back((k, id.to_vec(), index));
            }
        }
        dirs.list.push(Dir::new(obj, name, parent, recs));
    }
    dirs
}

/// The record in `slot`, its identifier `name_len` bytes, its system use area `su`.
fn rec(slot: Slot, name_len: usize, su: &Su, count: usize) -> Rec {
    Rec {
        slot,
        name_len,
        split: su.split(name_len),
        count,
    }
}

/// The system use area of the record in `slot` of directory `dir`, into `su` (emptied
/// first; left empty without Rock Ridge): encoded the same way when the directory is laid out
/// and when it is written.
pub(super) fn su_of(
    rr: Option<&Rrip>,
    t: &Tree,
    dir: usize,
    slot: Slot,
    su: &mut Su,
) -> Result<()> {
    su.clear();
    let Some(rr) = rr else {
        return Ok(());
    };
    match slot {
        Slot::Dot => rr.dot(t, dir, true, su),
        Slot::DotDot => rr.dot(t, dir, false, su),
        Slot::Child(k) => rr.entry(t, k, false, su),
        Slot::Stub(k) => rr.entry(t, k, true, su),
    }
}
