//! [`Listing`]: a changed directory's entries, in their order, found by name without a scan,
//! so that unpacking or copying many thousands of files into one directory stays linear.

use std::ops::Deref;

// foldhash, as the overlay's other maps (see there).
use hashbrown::HashMap;

use crate::fs::DirEntry;

/// A directory's entries with an index by name.
#[derive(Clone, Default)]
pub(crate) struct Listing {
    entries: Vec<DirEntry>,
    by_name: HashMap<Vec<u8>, usize>,
}

impl Listing {
    /// `entries` as a listing (a name given twice is found at its first place).
    pub(crate) fn new(entries: Vec<DirEntry>) -> Listing {
        let mut listing = Listing {
            entries,
            by_name: HashMap::new(),
        };
        listing.reindex();
        listing
    }

    fn reindex(&mut self) {
        self.by_name.clear();
        for (i, e) in self.entries.iter().enumerate().rev() {
            self.by_name.insert(e.name.clone(), i);
        }
    }

    /// The entry called `name`.
    pub(crate) fn get(&self, name: &[u8]) -> Option<&DirEntry> {
        self.by_name.get(name).map(|&i| &self.entries[i])
    }

    /// Adds `e` at the end.
    pub(crate) fn push(&mut self, e: DirEntry) {
        self.by_name
            .entry(e.name.clone())
            .or_insert(self.entries.len());
        self.entries.push(e);
    }

    /// Removes the entry called `name`, if there is one.
    pub(crate) fn remove(&mut self, name: &[u8]) {
        self.retain(|e| e.name != name);
    }

    /// Keeps the entries `keep` says yes to.
    pub(crate) fn retain(&mut self, keep: impl FnMut(&DirEntry) -> bool) {
        let before = self.entries.len();
        self.entries.retain(keep);
        if self.entries.len() != before {
            self.reindex();
        }
    }
}

impl Deref for Listing {
    type Target = [DirEntry];
    fn deref(&self) -> &[DirEntry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::Metadata;

    fn entry(name: &str, ino: u64) -> DirEntry {
        DirEntry {
            name: name.as_bytes().to_vec(),
            ino,
            meta: Metadata::synthetic_dir(ino),
        }
    }

    #[test]
    fn names_are_found_after_pushes_and_removals_and_order_is_kept() {
        let mut l = Listing::new(vec![entry("a", 1), entry("b", 2)]);
        l.push(entry("c", 3));
        l.remove(b"a");
        assert!(l.get(b"a").is_none());
        assert_eq!(l.get(b"c").map(|e| e.ino), Some(3));
        let names: Vec<&[u8]> = l.iter().map(|e| e.name.as_slice()).collect();
        assert_eq!(names, [&b"b"[..], b"c"]);
    }
}
