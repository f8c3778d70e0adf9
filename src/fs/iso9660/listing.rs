//! Directory listings of an [`IsoFs`]: a directory's records decoded to its entries, in disc
//! order and indexed by name, kept in a cache bounded by their total number of entries (the
//! ancestors of the directory just read are kept).

use std::sync::{Arc, OnceLock};

use super::node::Node;
use super::record::{self, Record};
use super::view::View;
use super::{lock, IsoFs};
use crate::error::{Error, Result};
use crate::fs::{DirEntry, FileSystem, Ino};

/// Largest directory extent read (a directory of this size holds about a million entries).
pub(super) const MAX_DIR_SIZE: u64 = 64 << 20;
/// How many directory entries (plus one per directory) the listing cache holds.
pub(super) const LISTING_BUDGET: usize = 1 << 14;
/// Largest directory read buffer kept for the next directory.
const KEPT_DIR_BUF: usize = 1 << 20;

/// One entry of a directory: its name, its [`Ino`] and what it is.
pub(super) struct Entry {
    pub(super) name: Vec<u8>,
    pub(super) ino: Ino,
    pub(super) node: Node,
}

impl Entry {
    pub(super) fn dir_entry(&self) -> DirEntry {
        DirEntry {
            name: self.name.clone(),
            ino: self.ino,
            meta: self.node.meta.clone(),
        }
    }
}

/// A decoded directory: its entries in disc order (so by ascending [`Ino`]) and, once a name
/// is looked up, their indexes sorted by name (so a lookup in a directory of a million entries
/// is not a scan; a walk, which only lists, never sorts them).
pub(super) struct Listing {
    pub(super) entries: Vec<Entry>,
    by_name: OnceLock<Vec<u32>>,
}

impl Listing {
    fn new(mut entries: Vec<Entry>) -> Self {
        // Room for `.` and `..` (never listed) is left; more (skipped entries) is given back.
        if entries.capacity() > entries.len() + 2 {
            entries.shrink_to_fit();
        }
        Listing {
            entries,
            by_name: OnceLock::new(),
        }
    }

    pub(super) fn by_name(&self, name: &[u8]) -> Option<&Entry> {
        let by_name = self.by_name.get_or_init(|| {
            let mut by_name: Vec<u32> = (0..self.entries.len() as u32).collect();
            // A stable sort: the first of two equal names wins, as a scan would find it.
            by_name.sort_by(|&a, &b| {
                self.entries[a as usize]
                    .name
                    .cmp(&self.entries[b as usize].name)
            });
            by_name
        });
        let at = by_name.partition_point(|&i| self.entries[i as usize].name.as_slice() < name);
        let entry = &self.entries[*by_name.get(at)? as usize];
        (entry.name == name).then_some(entry)
    }

    pub(super) fn by_ino(&self, ino: Ino) -> Option<usize> {
        self.entries.binary_search_by_key(&ino, |e| e.ino).ok()
    }
}

impl IsoFs {
    /// Reads and decodes a directory (not cached).
    fn load_dir(&self, dir: Ino) -> Result<Vec<Entry>> {
        let mut out = self.with_dir(dir, |buf, offset| {
            self.decode_dir(buf, offset, |group| self.decode_entry(dir, group))
        })?;
        if dir == self.root && self.view == View::RockRidge {
            let dirs = out
                .iter()
                .map(|e| (e.name.as_slice(), e.node.meta.is_dir(), e.ino));
            if let Some(pos) =
                self.hidden_rr_moved(dirs, |ino| Ok(self.read_dir(ino)?.is_empty()))?
            {
                out.remove(pos);
            }
        }
        Ok(out)
    }

    /// Reads the extent of the directory `dir` and hands it, with its offset, to `decode`.
    pub(super) fn with_dir<T>(
        &self,
        dir: Ino,
        decode: impl FnOnce(&[u8], u64) -> Result<T>,
    ) -> Result<T> {
        let loc = lock(&self.dirs).extent(dir);
        let Some((offset, len)) = loc else {
            self.node(dir)?;
            return Err(Error::NotADirectory(format!(
                "{}: inode {dir}",
                self.image()
            )));
        };
        if len > MAX_DIR_SIZE {
            return Err(Error::corrupt(
                self.image(),
                "directory",
                offset,
                format!("size {len} is over the {MAX_DIR_SIZE}-byte limit"),
            ));
        }
        // One buffer kept for every directory read (taken out, so a listing read while this
        // one is decoded gets its own), unless a large directory made it large.
        let mut buf = std::mem::take(&mut *lock(&self.dir_buf));
        self.source
            .read_vec_into(offset, len as usize, "directory", &mut buf)?;
        let out = decode(&buf, offset);
        if buf.capacity() <= KEPT_DIR_BUF {
            *lock(&self.dir_buf) = buf;
        }
        out
    }

    /// Decodes the records of a directory, read into `buf` from `offset`: each entry (a
    /// record, or the records of a multi-extent file) by `decode`, which gives `None` for
    /// entries that are not listed.
    pub(super) fn decode_dir<T>(
        &self,
        buf: &[u8],
        offset: u64,
        mut decode: impl FnMut(&[Record]) -> Result<Option<T>>,
    ) -> Result<Vec<T>> {
        // Sized once for every record there (a count of records in hand, so an entry is not
        // moved each time the vector would grow); the count stops at the first bad record.
        let records = record::records(buf, offset, self.image())
            .take_while(Result::is_ok)
            .count();
        let mut out = Vec::with_capacity(records);
        let mut group: Vec<Record> = Vec::new();
        for rec in record::records(buf, offset, self.image()) {
            let rec = rec?;
            if let Some(prev) = group.first() {
                if prev.name != rec.name {
                    return Err(Error::corrupt(
                        self.image(),
                        "directory record",
                        rec.offset,
                        "a multi-extent file continues under another name",
                    ));
                }
            }
            let more = rec.flags & record::MULTI_EXTENT != 0;
            group.push(rec);
            if more {
                continue;
            }
            if let Some(e) = decode(&group)? {
                out.push(e);
            }
            group.clear();
        }
        if let Some(last) = group.last() {
            return Err(Error::corrupt(
                self.image(),
                "directory record",
                last.offset,
                "multi-extent file without its final record",
            ));
        }
        Ok(out)
    }

    /// A directory's listing, from the cache or decoded (and cached).
    pub(super) fn listing(&self, dir: Ino) -> Result<Arc<Listing>> {
        if let Some(cached) = lock(&self.listings).get(dir) {
            return Ok(cached);
        }
        let listing = Arc::new(Listing::new(self.load_dir(dir)?));
        let cost = listing.entries.len() + 1;
        let ancestors = lock(&self.dirs).ancestors(dir);
        lock(&self.listings).insert(dir, listing.clone(), cost, &ancestors);
        Ok(listing)
    }

    /// Where the root's `rr_moved` is among the root's entries `dirs` (name, whether a
    /// directory, [`Ino`]) when it is to be hidden: when all it holds are relocated directories
    /// (which are shown at their real place; `is_empty` says whether a directory lists
    /// nothing), as xorriso and bsdtar do.
    pub(super) fn hidden_rr_moved<'a>(
        &self,
        dirs: impl Iterator<Item = (&'a [u8], bool, Ino)>,
        is_empty: impl FnOnce(Ino) -> Result<bool>,
    ) -> Result<Option<usize>> {
        let mut dirs = dirs.enumerate();
        let found = dirs
            .find(|(_, (name, is_dir, _))| *is_dir && matches!(*name, b"rr_moved" | b".rr_moved"));
        let Some((pos, (_, _, ino))) = found else {
            return Ok(None);
        };
        Ok(is_empty(ino)?.then_some(pos))
    }
}
