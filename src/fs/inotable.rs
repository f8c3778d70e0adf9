//! Inode numbers for filesystems whose crate speaks in paths (fatfs): each path seen in a
//! listing gets a number, kept with the metadata the listing gave, so `metadata(ino)` needs no
//! second lookup. Number 0 is the root. [`join`] builds child paths (erofs-rs, which lists
//! directories by path, uses it too).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::error::{lock_state, Error, Result};
use crate::fs::{Ino, Metadata};

#[derive(Default)]
struct Table {
    entries: Vec<(Vec<u8>, Metadata)>,
    by_path: HashMap<Vec<u8>, Ino>,
}

/// Paths (absolute, `/`-separated bytes) and their metadata, by number.
pub struct InoTable {
    table: Mutex<Table>,
}

impl InoTable {
    /// A table holding the root, `/`.
    pub fn new(root: Metadata) -> Self {
        let mut t = Table::default();
        t.entries.push((b"/".to_vec(), root));
        t.by_path.insert(b"/".to_vec(), 0);
        InoTable {
            table: Mutex::new(t),
        }
    }

    /// Numbers `path` (adding it, or refreshing its metadata); returns the metadata with its
    /// `ino` set to that number.
    pub fn intern(&self, path: Vec<u8>, mut meta: Metadata) -> Result<Metadata> {
        let mut t = lock_state(&self.table, "path table")?;
        let ino = match t.by_path.get(&path).copied() {
            Some(ino) => ino,
            None => {
                let ino = t.entries.len() as Ino;
                t.by_path.insert(path.clone(), ino);
                t.entries.push((path, meta.clone()));
                ino
            }
        };
        meta.ino = ino;
        t.entries[ino as usize].1 = meta.clone();
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
