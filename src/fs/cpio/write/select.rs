//! What a rebuilt initrd holds, part by part: the original's members kept as they are (an
//! object of the tree that nothing changed, at the same path), members written anew in the
//! place of the member that laid the object they describe (a changed object), members dropped
//! (a removed object, with the earlier members of its path, which would bring it back), and
//! new objects at the end of the last part, directories before what they hold. Hard links
//! written anew take the other names of their file in the same part with them.

use std::collections::{HashMap, HashSet};

use super::Walked;
use crate::error::Result;
use crate::fs::{FileKind, FileSystem, Ino, Metadata};
use crate::overlay::{Provenance, NEW};

/// An object of the tree written as a new member.
pub(super) struct Emit {
    /// The member's name as recorded (no NUL).
    pub name: Vec<u8>,
    /// The object in the tree.
    pub ino: Ino,
    pub meta: Metadata,
    pub prov: Provenance,
    /// The original member it takes the place of.
    pub replaces: Option<usize>,
}

/// One member of a part being written.
pub(super) enum Item {
    /// The original member (by its index in the walk), copied as it lies.
    Keep(usize),
    Emit(Emit),
}

/// The members of each part of the initrd, and which parts changed.
pub(super) struct Selection {
    pub units: Vec<Vec<Item>>,
    pub changed: Vec<bool>,
}

/// Whether `new` records what `old` does, as far as a cpio header says it.
fn same_meta(old: &Metadata, new: &Metadata) -> bool {
    (old.kind, old.mode, old.uid, old.gid, old.size, old.nlink)
        == (new.kind, new.mode, new.uid, new.gid, new.size, new.nlink)
        && old.mtime.secs == new.mtime.secs
        && old.rdev == new.rdev
        && old.symlink == new.symlink
}

/// The key of the hard-link group of a file (`None` for anything with one name).
fn link_key(meta: &Metadata) -> Option<u64> {
    (meta.kind == FileKind::File && meta.nlink > 1).then_some(meta.ino)
}

/// What the walk over the tree decided.
#[derive(Default)]
struct Decisions {
    /// Original nodes kept, by node.
    kept: HashSet<usize>,
    /// New members in the place of original ones, by member index.
    replace: HashMap<usize, Emit>,
    /// New members for the end of the last part.
    new: Vec<Emit>,
}

/// Chooses the members of every part (`units` of them) of the rebuilt initrd holding `tree`.
pub(super) fn select(
    t: &Walked,
    tree: &dyn FileSystem,
    provenance: &dyn Fn(Ino) -> Provenance,
    units: usize,
) -> Result<Selection> {
    // The member that laid each node, last.
    let mut winner = vec![None; t.nodes.len()];
    for (i, m) in t.members.iter().enumerate() {
        if let Some(n) = m.node {
            winner[n] = Some(i);
        }
    }
    let last = units - 1;
    let dotted = t
        .members
        .iter()
        .any(|m| m.unit == last && m.name.starts_with(b"./"));
    let d = decide(t, tree, provenance, &winner, dotted)?;
    let reachable = reachable(t);
    let replaced: HashSet<usize> = d.replace.keys().copied().collect();
    let mut replace = d.replace;
    let mut sel = Selection {
        units: (0..units).map(|_| Vec::new()).collect(),
        changed: vec![false; units],
    };
    for (i, m) in t.members.iter().enumerate() {
        let item = match m.node {
            None => Some(Item::Keep(i)),
            Some(n) if winner[n] == Some(i) => match replace.remove(&i) {
                _ if d.kept.contains(&n) => Some(Item::Keep(i)),
                Some(e) => Some(Item::Emit(e)),
                None => None,
            },
            // An earlier member of a path: kept while the path's object is (a later member
            // lays it again), dropped with it.
            Some(n) => {
                let w = winner[n].expect("a member laid it");
                let alive = !reachable[n] || d.kept.contains(&n) || replaced.contains(&w);
                alive.then_some(Item::Keep(i))
            }
        };
        let u = &mut sel.units[m.unit];
        match item {
            Some(Item::Keep(i)) => u.push(Item::Keep(i)),
            Some(e) => {
                u.push(e);
                sel.changed[m.unit] = true;
            }
            None => sel.changed[m.unit] = true,
        }
    }
    if !d.new.is_empty() {
        sel.changed[last] = true;
        sel.units[last].extend(d.new.into_iter().map(Item::Emit));
    }
    for (u, items) in sel.units.iter_mut().enumerate() {
        if sel.changed[u] {
            take_links_along(t, items, &winner, &d.kept);
        }
    }
    Ok(sel)
}

/// Walks `tree` (directories before their contents) beside the original: which original
/// nodes stay as they are, which members are written anew, and what is new.
fn decide(
    t: &Walked,
    tree: &dyn FileSystem,
    provenance: &dyn Fn(Ino) -> Provenance,
    winner: &[Option<usize>],
    dotted: bool,
) -> Result<Decisions> {
    let mut d = Decisions::default();
    let root = tree.root();
    // (tree object, its metadata, its path, the original node at that path).
    let mut stack = vec![(root, tree.metadata(root)?, Vec::<u8>::new(), Some(0usize))];
    while let Some((ino, meta, path, orig)) = stack.pop() {
        if meta.is_dir() {
            let entries = tree.read_dir(ino)?;
            for e in entries.into_iter().rev() {
                let mut p = path.clone();
                if !p.is_empty() {
                    p.push(b'/');
                }
                p.extend_from_slice(&e.name);
                let o = orig.and_then(|n| t.child(n, &e.name));
                stack.push((e.ino, e.meta, p, o));
            }
        }
        let prov = provenance(ino);
        let original = orig.map(|n| &t.nodes[n].meta);
        if orig == Some(ino as usize)
            && ino & NEW == 0
            && prov == Provenance::UNCHANGED
            && original.is_some_and(|o| same_meta(o, &meta))
        {
            d.kept.insert(ino as usize);
            continue;
        }
        match orig.and_then(|n| winner[n]) {
            Some(w) => {
                let name = t.members[w].name.clone();
                d.replace.insert(w, emit(name, ino, meta, prov, Some(w)));
            }
            // A directory the archive only implies stays so while its owner and mode do.
            None if meta.is_dir()
                && original
                    .is_some_and(|o| (o.mode, o.uid, o.gid) == (meta.mode, meta.uid, meta.gid)) => {
            }
            None => {
                let name = match (path.is_empty(), dotted) {
                    (true, _) => b".".to_vec(),
                    (false, true) => [b"./".as_slice(), &path].concat(),
                    (false, false) => path,
                };
                d.new.push(emit(name, ino, meta, prov, None));
            }
        }
    }
    Ok(d)
}

fn emit(
    name: Vec<u8>,
    ino: Ino,
    meta: Metadata,
    prov: Provenance,
    replaces: Option<usize>,
) -> Emit {
    Emit {
        name,
        ino,
        meta,
        prov,
        replaces,
    }
}

/// Which nodes of the original tree its root leads to.
fn reachable(t: &Walked) -> Vec<bool> {
    let mut seen = vec![false; t.nodes.len()];
    let mut stack = vec![0];
    while let Some(n) = stack.pop() {
        seen[n] = true;
        stack.extend(t.nodes[n].children.iter().map(|(_, c)| *c));
    }
    seen
}

/// In a part being written, the kept names of files that have a name written anew there are
/// written anew too: a hard-linked file's data travels with one of its names, the last.
fn take_links_along(
    t: &Walked,
    items: &mut [Item],
    winner: &[Option<usize>],
    kept: &HashSet<usize>,
) {
    let written: HashSet<u64> = items
        .iter()
        .filter_map(|item| match item {
            Item::Emit(e) => link_key(&e.meta),
            Item::Keep(_) => None,
        })
        .collect();
    if written.is_empty() {
        return;
    }
    for item in items.iter_mut() {
        let Item::Keep(i) = *item else { continue };
        let Some(n) = t.members[i].node else { continue };
        let meta = &t.nodes[n].meta;
        if winner[n] == Some(i)
            && kept.contains(&n)
            && link_key(meta).is_some_and(|k| written.contains(&k))
        {
            *item = Item::Emit(emit(
                t.members[i].name.clone(),
                n as Ino,
                meta.clone(),
                Provenance::UNCHANGED,
                Some(i),
            ));
        }
    }
}
