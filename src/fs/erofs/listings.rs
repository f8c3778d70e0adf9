//! Directory listings of an EROFS image: the listings kept, and the listings read ahead.
//!
//! erofs-rs lists a directory by path only, and resolves that path from the root on every
//! listing: listing each directory of a chain `depth` deep costs `depth` lookups, so a walk is
//! quadratic in depth. Its recursive walk, though, descends by inode: one path resolution
//! serves a whole subtree. So a listing that is not kept is read ahead: the crate walks the
//! subtree below the directory, as many levels deep as the directory itself lies (between
//! [`MIN_AHEAD`] and [`MAX_AHEAD`]) and for at most [`AHEAD_ENTRIES`] entries, and every
//! listing that walk completes is kept. Down a chain, the next miss lies twice as deep (then
//! [`MAX_AHEAD`] deeper), so its path resolutions add up to about `depth` lookups plus
//! `depth² / 2 MAX_AHEAD` (a few thousand under the session walk's depth bound, where listing
//! by path cost `depth² / 2`); on a wide tree a resolution is paid for by the entries read
//! with it.
//!
//! The read-ahead stops at the first error and at the first directory that
//! [`ErofsFs::list`] would not read whole (compressed, or over the size bound): the listing
//! then comes from [`ErofsFs::list`], which reports the error or applies the bound as before.
//! Listings are kept up to [`KEPT_ENTRIES`] entries in all, the oldest dropped first (the
//! newest always stays, however long).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use erofs_rs::types::Inode;

use super::{compressed, executor, ErofsFs, MAX_DIR_SIZE};
use crate::error::{lock_cache, Result};
use crate::fs::inotable::join;
use crate::fs::left_out::At;
use crate::fs::{DirEntry, Ino};

/// The most entries one read-ahead reads (a few milliseconds of inode reads): what a lookup
/// in a wide tree may cost on top of its own listing.
const AHEAD_ENTRIES: usize = 1024;
/// The fewest levels a read-ahead walks below its directory.
const MIN_AHEAD: usize = 4;
/// The most levels a read-ahead walks: a chain of up to four entries a level still completes
/// its listings within [`AHEAD_ENTRIES`] (a listing is whole only once the crate leaves it).
const MAX_AHEAD: usize = AHEAD_ENTRIES / 4;
/// Entries kept in all (a listing counts one more than its entries): room for several
/// read-aheads, so one's listings are not dropped before they are used.
const KEPT_ENTRIES: usize = 8 * AHEAD_ENTRIES;

/// The listings kept, by directory nid, with their order of arrival.
#[derive(Default)]
pub(super) struct Kept {
    lists: HashMap<Ino, Arc<Vec<DirEntry>>>,
    order: VecDeque<Ino>,
    entries: usize,
}

impl Kept {
    fn get(&self, dir: Ino) -> Option<Arc<Vec<DirEntry>>> {
        self.lists.get(&dir).cloned()
    }

    /// Keeps the listing of `dir`, unless one is kept already (the same directory lists the
    /// same, however it was reached).
    fn keep(&mut self, dir: Ino, list: Arc<Vec<DirEntry>>) {
        if self.lists.contains_key(&dir) {
            return;
        }
        self.entries += list.len() + 1;
        self.lists.insert(dir, list);
        self.order.push_back(dir);
        while self.entries > KEPT_ENTRIES && self.order.len() > 1 {
            if let Some(gone) = self.order.pop_front().and_then(|d| self.lists.remove(&d)) {
                self.entries -= gone.len() + 1;
            }
        }
    }
}

/// Whether the crate reads directory `inode` as [`ErofsFs::list`] would: uncompressed (each
/// block read once) and within [`MAX_DIR_SIZE`].
pub(super) fn plain_dir(inode: &Inode) -> bool {
    inode.data_size() <= MAX_DIR_SIZE && !compressed(inode)
}

/// A directory whose listing the read-ahead is filling.
struct Open {
    nid: Ino,
    path: Vec<u8>,
    entries: Vec<DirEntry>,
}

impl ErofsFs {
    /// The entries of directory `dir`: kept, read ahead, or read now (and kept).
    pub(super) fn listing(&self, dir: Ino) -> Result<Arc<Vec<DirEntry>>> {
        if let Some(list) = lock_cache(&self.listings).get(dir) {
            return Ok(list);
        }
        self.read_ahead(dir)?;
        if let Some(list) = lock_cache(&self.listings).get(dir) {
            return Ok(list);
        }
        let list = Arc::new(self.list(dir)?);
        lock_cache(&self.listings).keep(dir, list.clone());
        Ok(list)
    }

    fn keep(&self, open: Open) {
        lock_cache(&self.listings).keep(open.nid, Arc::new(open.entries));
    }

    /// Walks the subtree below `dir` through the crate and keeps the listings it completes.
    /// Gives up quietly (the caller lists `dir` itself) on any trouble.
    fn read_ahead(&self, dir: Ino) -> Result<()> {
        let path = self.dir_path(dir)?;
        if !self.inode(dir).is_ok_and(|i| i.is_dir() && plain_dir(&i)) {
            return Ok(());
        }
        let depth = path.split(|&b| b == b'/').filter(|c| !c.is_empty()).count();
        let ahead = depth.clamp(MIN_AHEAD, MAX_AHEAD);
        let Some(Ok(walk)) = executor::block_on(self.fs.walk_dir(&path)) else {
            return Ok(());
        };
        let mut walk = walk.max_depth(ahead);
        // The directories being listed, outermost first: an entry at depth `d` belongs to
        // `open[d - 1]`, and the crate descends into a directory met above depth `ahead`.
        let mut open = vec![Open {
            nid: dir,
            path,
            entries: Vec::new(),
        }];
        for _ in 0..AHEAD_ENTRIES {
            let Some(next) = executor::block_on(walk.next_entry()) else {
                return Ok(());
            };
            let Some(Ok(entry)) = next else {
                if next.is_none() {
                    open.into_iter().rev().for_each(|o| self.keep(o));
                }
                return Ok(());
            };
            // The crate left the directories deeper than this entry: their listings are whole.
            while open.len() > entry.depth {
                if let Some(done) = open.pop() {
                    self.keep(done);
                }
            }
            let Ok(meta) = self.meta(&entry.inode) else {
                return Ok(());
            };
            if open.len() != entry.depth {
                return Ok(());
            }
            let Some(parent) = open.last_mut() else {
                return Ok(());
            };
            let name = entry.dir_entry.file_name().to_vec();
            let place = At {
                image: self.image(),
                structure: "erofs directory",
                offset: self.inode_offset(parent.nid),
            };
            if !self
                .left_out
                .admit(&place, &name, parent.nid, meta.ino, self.root)
            {
                continue;
            }
            let below = meta.is_dir().then(|| join(&parent.path, &name));
            parent.entries.push(DirEntry {
                name,
                ino: meta.ino,
                meta,
            });
            if let Some(below) = below {
                lock_cache(&self.dirs)
                    .entry(entry.inode.id())
                    .or_insert_with(|| below.clone());
                if entry.depth < ahead {
                    if !plain_dir(&entry.inode) {
                        return Ok(());
                    }
                    open.push(Open {
                        nid: entry.inode.id(),
                        path: below,
                        entries: Vec::new(),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_listings_go_first_and_a_directory_is_kept_once() {
        let mut kept = Kept::default();
        // Empty listings count one entry each.
        for dir in 0..KEPT_ENTRIES as Ino {
            kept.keep(dir, Arc::new(Vec::new()));
        }
        kept.keep(0, Arc::new(Vec::new()));
        assert_eq!(kept.entries, KEPT_ENTRIES);
        assert!(kept.get(0).is_some());
        kept.keep(KEPT_ENTRIES as Ino, Arc::new(Vec::new()));
        assert!(kept.get(0).is_none());
        assert!(kept.get(1).is_some() && kept.get(KEPT_ENTRIES as Ino).is_some());
        assert_eq!(kept.entries, KEPT_ENTRIES);
    }
}
