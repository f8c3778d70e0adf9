//! Inode numbers for filesystems whose crate speaks in paths (fatfs): each node seen in a
//! listing gets a number, kept with a path that reaches it and the metadata the listing gave,
//! so `metadata(ino)` needs no second lookup. Nodes are told apart by a key the reader
//! chooses (FAT keys a directory by where its entries lie, so a directory reached by two
//! paths, as through a damaged `..` entry, has one number and a walk sees the loop). Number 0
//! is the root. [`join`] builds child paths (erofs-rs, which lists directories by path, uses
//! it too).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use crate::error::{lock_state, Error, Result};
use crate::fs::{Ino, Metadata};

struct Table<K> {
    /// By number: the first path that reached the node, and its metadata.
    entries: Vec<(Vec<u8>, Metadata)>,
    by_key: HashMap<K, Ino>,
}

/// Nodes (by key), a path to each (absolute, `/`-separated bytes) and their metadata, by
/// number.
pub struct InoTable<K> {
    table: Mutex<Table<K>>,
}

impl<K: Hash + Eq> InoTable<K> {
    /// A table holding the root, `/`, known by `key`.
    pub fn new(key: K, root: Metadata) -> Self {
        let mut by_key = HashMap::new();
        by_key.insert(key, 0);
        InoTable {
            table: Mutex::new(Table {
                entries: vec![(b"/".to_vec(), root)],
                by_key,
            }),
        }
    }

    /// Numbers the node `key`, reached at `path` (adding it, or refreshing its metadata when
    /// `path` is the one it is kept under); returns the metadata with its `ino` set to that
    /// number.
    pub fn intern(&self, key: K, path: Vec<u8>, mut meta: Metadata) -> Result<Metadata> {
        let mut t = lock_state(&self.table, "path table")?;
        meta.ino = match t.by_key.get(&key).copied() {
            Some(ino) => ino,
            None => {
                let ino = t.entries.len() as Ino;
                t.by_key.insert(key, ino);
                t.entries.push((path.clone(), meta.clone()));
                ino
            }
        };
        let kept = &mut t.entries[meta.ino as usize];
        if kept.0 == path {
            kept.1 = meta.clone();
        }
        Ok(meta)
    }

    /// The path and metadata of `ino`.
    pub fn get(&self, ino: Ino) -> Result<(Vec<u8>, Metadata)> {
        let t = lock_state(&self.table, "path table")?;
        t.entries
            .get(ino as usize)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("inode {ino}")))
    }
}

/// `dir/name` as bytes.
pub fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = dir.to_vec();
    if !p.ends_with(b"/") {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::Timestamp;

    fn dir_meta(mtime: i64) -> Metadata {
        let mtime = Timestamp {
            secs: mtime,
            nanos: 0,
        };
        Metadata {
            mtime,
            atime: mtime,
            ctime: mtime,
            ..Metadata::synthetic_dir(0)
        }
    }

    #[test]
    fn one_node_reached_by_two_paths_has_one_number_and_keeps_its_first_path() {
        let t = InoTable::new(0u64, dir_meta(0));
        let a = t.intern(7, b"/a".to_vec(), dir_meta(1)).unwrap();
        let again = t.intern(7, b"/a/b/loop".to_vec(), dir_meta(2)).unwrap();
        assert_eq!((a.ino, again.ino), (1, 1));
        assert_eq!(t.get(1).unwrap(), (b"/a".to_vec(), a));
        let root = t.intern(0, b"/a/up".to_vec(), dir_meta(3)).unwrap();
        assert_eq!(root.ino, 0);
        assert_eq!(t.get(0).unwrap().0, b"/");
        // The path it is kept under refreshes it.
        let refreshed = t.intern(7, b"/a".to_vec(), dir_meta(4)).unwrap();
        assert_eq!(t.get(1).unwrap().1, refreshed);
    }
}
