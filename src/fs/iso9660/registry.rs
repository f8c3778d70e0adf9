//! The directory registry of an [`IsoFs`](super::IsoFs): where every directory seen so far is
//! (its extent and the directory that lists it), so a node can be found by its [`Ino`] alone
//! (in the listing of the directory whose extent holds its record), and the checks that keep
//! the tree a tree: no directory loops, no extent shared by two directories, bounded depth.

use std::collections::BTreeMap;

use hashbrown::HashMap;

use crate::fs::Ino;

/// Deepest directory nesting accepted.
pub(super) const MAX_DEPTH: usize = 1024;

/// Where a directory is: its extent and the directory that lists it (its index in
/// [`Dirs::locs`]; `None` for the root).
struct DirLoc {
    ino: Ino,
    parent: Option<usize>,
    offset: u64,
    len: u64,
    /// How many directories hold it (0 for the root).
    depth: usize,
}

/// Every directory seen so far (a few dozen bytes each).
pub(super) struct Dirs {
    /// Each directory's index in `locs`.
    by_ino: HashMap<Ino, usize>,
    /// The directories, in the order they were first seen (so the chain of a directory's
    /// ancestors is followed without hashing).
    locs: Vec<DirLoc>,
    /// Directory extent offsets and the record that owns each.
    by_extent: BTreeMap<u64, Ino>,
}

impl Dirs {
    /// The registry of a tree whose root directory (its `.` record, its [`Ino`]) is the extent
    /// of `len` bytes at `root`.
    pub(super) fn new(root: Ino, len: u64) -> Dirs {
        Dirs {
            by_ino: HashMap::from_iter([(root, 0)]),
            locs: vec![DirLoc {
                ino: root,
                parent: None,
                offset: root,
                len,
                depth: 0,
            }],
            by_extent: BTreeMap::from([(root, root)]),
        }
    }

    fn loc(&self, dir: Ino) -> Option<&DirLoc> {
        self.by_ino.get(&dir).map(|&i| &self.locs[i])
    }

    /// The directory at `at` in `locs` and those that hold it, nearest first.
    fn chain(&self, at: Option<usize>) -> impl Iterator<Item = &DirLoc> {
        std::iter::successors(at.map(|i| &self.locs[i]), |loc| {
            loc.parent.map(|i| &self.locs[i])
        })
    }

    /// The extent (byte offset and length) of the directory `dir`, if it is one seen so far.
    pub(super) fn extent(&self, dir: Ino) -> Option<(u64, u64)> {
        self.loc(dir).map(|loc| (loc.offset, loc.len))
    }

    /// The directory whose extent holds the record at `ino`.
    pub(super) fn holder(&self, ino: Ino) -> Option<Ino> {
        let (&offset, &owner) = self.by_extent.range(..=ino).next_back()?;
        self.loc(owner)
            .filter(|loc| ino - offset < loc.len)
            .map(|_| owner)
    }

    /// The directories that hold `dir`, nearest first (as far as [`MAX_DEPTH`]).
    pub(super) fn ancestors(&self, dir: Ino) -> Vec<Ino> {
        let Some(loc) = self.by_ino.get(&dir).map(|&i| &self.locs[i]) else {
            return Vec::new();
        };
        // Sized at once: a walk asks for every directory's.
        let mut out = Vec::with_capacity(loc.depth.min(MAX_DEPTH));
        out.extend(self.chain(loc.parent).take(MAX_DEPTH).map(|loc| loc.ino));
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
        let parent_at = self.by_ino.get(&parent).copied();
        let mut depth = parent_at.map_or(0, |i| self.locs[i].depth + 1);
        // Every directory seen owns its extent's offset, so a new offset is no ancestor's:
        // only an offset seen before (the same directory listed again, a shared extent or
        // a loop) needs the chain of ancestors looked at.
        if let Some(&owner) = self.by_extent.get(&offset) {
            depth = 0;
            for loc in self.chain(parent_at) {
                if loc.offset == offset {
                    return Err(format!(
                        "directory loop: its extent at {offset} is an ancestor's"
                    ));
                }
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(format!("directories nested deeper than {MAX_DEPTH}"));
                }
            }
            if owner != record {
                return Err(format!(
                    "its extent at {offset} is also the directory of the record at {owner}"
                ));
            }
        }
        if depth > MAX_DEPTH {
            return Err(format!("directories nested deeper than {MAX_DEPTH}"));
        }
        self.by_extent.insert(offset, record);
        let loc = DirLoc {
            ino: record,
            parent: parent_at,
            offset,
            len: u64::from(len),
            depth,
        };
        match self.by_ino.get(&record) {
            Some(&i) => self.locs[i] = loc,
            None => {
                self.by_ino.insert(record, self.locs.len());
                self.locs.push(loc);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A root at 0 (one sector), `a` (record 100, extent 2048) in it and `b` (record 2100,
    /// extent 4096) in `a`.
    fn tree() -> Dirs {
        let mut dirs = Dirs::new(0, 2048);
        dirs.add(0, 2048, 2048, 100).unwrap();
        dirs.add(100, 4096, 2048, 2100).unwrap();
        dirs
    }

    #[test]
    fn ancestors_holders_and_extents() {
        let dirs = tree();
        assert_eq!(dirs.ancestors(2100), [100, 0]);
        assert_eq!(dirs.ancestors(0), [] as [Ino; 0]);
        assert_eq!(dirs.holder(2100), Some(100));
        assert_eq!(dirs.holder(4096 + 50), Some(2100));
        assert_eq!(dirs.extent(100), Some((2048, 2048)));
    }

    #[test]
    fn loops_and_shared_extents_are_refused() {
        let mut dirs = tree();
        // `b` lists a directory whose extent is the root's, or its own parent's.
        let err = dirs.add(2100, 0, 2048, 4200).unwrap_err();
        assert!(err.contains("directory loop"), "{err}");
        let err = dirs.add(2100, 2048, 2048, 4200).unwrap_err();
        assert!(err.contains("directory loop"), "{err}");
        // Another record with `a`'s extent, away from its chain.
        let err = dirs.add(0, 4096, 2048, 200).unwrap_err();
        assert!(
            err.contains("also the directory of the record at 2100"),
            "{err}"
        );
        // `a` listed again where it was is fine; listed again inside `b` (extents that
        // overlap) is a loop.
        dirs.add(0, 2048, 2048, 100).unwrap();
        let err = dirs.add(2100, 2048, 2048, 100).unwrap_err();
        assert!(err.contains("directory loop"), "{err}");
        assert_eq!(dirs.ancestors(2100), [100, 0]);
    }

    #[test]
    fn depth_is_bounded() {
        let mut dirs = Dirs::new(0, 2048);
        let mut parent = 0;
        for level in 1..=MAX_DEPTH as u64 {
            let record = level * 4096;
            dirs.add(parent, record + 2048, 2048, record).unwrap();
            parent = record;
        }
        let err = dirs.add(parent, 1 << 40, 2048, 1 << 41).unwrap_err();
        assert!(err.contains("nested deeper"), "{err}");
        assert_eq!(dirs.ancestors(parent).len(), MAX_DEPTH);
    }
}
