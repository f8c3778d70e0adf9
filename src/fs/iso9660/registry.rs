//! The directory registry of an [`IsoFs`](super::IsoFs): where every directory seen so far is
//! (its extent and the directory that lists it), so a node can be found by its [`Ino`] alone
//! (in the listing of the directory whose extent holds its record), and the checks that keep
//! the tree a tree: no directory loops, no extent shared by two directories, bounded depth.

use std::collections::{BTreeMap, HashMap};

use crate::fs::Ino;

/// Deepest directory nesting accepted.
pub(super) const MAX_DEPTH: usize = 1024;

/// Where a directory is: its extent and the directory that lists it (`None` for the root).
struct DirLoc {
    parent: Option<Ino>,
    offset: u64,
    len: u64,
    /// How many directories hold it (0 for the root).
    depth: usize,
}

/// Every directory seen so far (a few dozen bytes each).
pub(super) struct Dirs {
    by_ino: HashMap<Ino, DirLoc>,
    /// Directory extent offsets and the record that owns each.
    by_extent: BTreeMap<u64, Ino>,
}

impl Dirs {
    /// The registry of a tree whose root directory (its `.` record, its [`Ino`]) is the extent
    /// of `len` bytes at `root`.
    pub(super) fn new(root: Ino, len: u64) -> Dirs {
        let mut dirs = Dirs {
            by_ino: HashMap::new(),
            by_extent: BTreeMap::new(),
        };
        dirs.by_extent.insert(root, root);
        dirs.by_ino.insert(
            root,
            DirLoc {
                parent: None,
                offset: root,
                len,
                depth: 0,
            },
        );
        dirs
    }

    /// The extent (byte offset and length) of the directory `dir`, if it is one seen so far.
    pub(super) fn extent(&self, dir: Ino) -> Option<(u64, u64)> {
        self.by_ino.get(&dir).map(|loc| (loc.offset, loc.len))
    }

    /// The directory whose extent holds the record at `ino`.
    pub(super) fn holder(&self, ino: Ino) -> Option<Ino> {
        let (&offset, &owner) = self.by_extent.range(..=ino).next_back()?;
        self.by_ino
            .get(&owner)
            .filter(|loc| ino - offset < loc.len)
            .map(|_| owner)
    }

    /// The directories that hold `dir`, nearest first (as far as [`MAX_DEPTH`]).
    pub(super) fn ancestors(&self, dir: Ino) -> Vec<Ino> {
        let mut out = Vec::new();
        let mut cur = self.by_ino.get(&dir).and_then(|loc| loc.parent);
        while let Some(ino) = cur.filter(|_| out.len() < MAX_DEPTH) {
            out.push(ino);
            cur = self.by_ino.get(&ino).and_then(|loc| loc.parent);
        }
        out
    }

    /// Records the directory of the record at `record`, listed in `parent`, as the extent of
    /// `len` bytes at `offset`. Fails, saying why, when that extent is `parent`'s or one of
    /// its ancestors' (a loop), or another directory's already listed (so the tree stays a
    /// tree: shared extents could make a walk exponential).
    pub(super) fn add(
        &mut self,
        parent: Ino,
        offset: u64,
        len: u32,
        record: u64,
    ) -> std::result::Result<(), String> {
        let depth = self.by_ino.get(&parent).map_or(0, |loc| loc.depth + 1);
        if depth > MAX_DEPTH {
            return Err(format!("directories nested deeper than {MAX_DEPTH}"));
        }
        // Every extent has one owner, so an extent that is an ancestor's has another owner:
        // the chain of ancestors is only looked at then, to say which it is.
        let owner = *self.by_extent.entry(offset).or_insert(record);
        if owner != record {
            let mut cur = Some(parent);
            while let Some(loc) = cur.and_then(|ino| self.by_ino.get(&ino)) {
                if loc.offset == offset {
                    return Err(format!(
                        "directory loop: its extent at {offset} is an ancestor's"
                    ));
                }
                cur = loc.parent;
            }
            return Err(format!(
                "its extent at {offset} is also the directory of the record at {owner}"
            ));
        }
        self.by_ino.insert(
            record,
            DirLoc {
                parent: Some(parent),
                offset,
                len: u64::from(len),
                depth,
            },
        );
        Ok(())
    }
}
