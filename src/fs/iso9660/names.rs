//! Names listings of an [`IsoFs`] ([`FileSystem::names`](crate::fs::FileSystem::names)): a
//! directory's entries as [`read_dir`](crate::fs::FileSystem::read_dir) lists them (the same
//! names in the view, the same entries left out, relocated directories at their real place,
//! the root's `rr_moved` hidden alike) but only as names, inodes and whether each is a
//! directory: of the Rock Ridge entries only NM, CL and RE are decoded (no dates, no
//! attributes, no data extents), and the listing cache is neither filled nor evicted.

use super::record::Record;
use super::rockridge::RockRidge;
use super::view::View;
use super::{lock, IsoFs};
use crate::error::Result;
use crate::fs::{Ino, NameKind};

impl IsoFs {
    /// The names listing of the directory `dir`: from its cached listing if there is one,
    /// else decoded from its records (not cached).
    pub(super) fn names_of(&self, dir: Ino) -> Result<Vec<NameKind>> {
        if let Some(cached) = lock(&self.listings).get(dir) {
            let names = cached.entries.iter().map(|e| NameKind {
                name: e.name.clone(),
                ino: e.ino,
                is_dir: e.node.meta.is_dir(),
            });
            return Ok(names.collect());
        }
        let mut out = self.with_dir(dir, |buf, offset| {
            self.decode_dir(buf, offset, |group| self.name_entry(dir, group))
        })?;
        if dir == self.root && self.view == View::RockRidge {
            let dirs = out.iter().map(|e| (e.name.as_slice(), e.is_dir, e.ino));
            if let Some(pos) =
                self.hidden_rr_moved(dirs, |ino| Ok(self.names_of(ino)?.is_empty()))?
            {
                out.remove(pos);
            }
        }
        Ok(out)
    }

    /// One entry of `dir` (a record, or the records of a multi-extent file) as its names
    /// listing gives it, checked as [`decode_entry`](Self::decode_entry) checks it; `None`
    /// for entries that are not listed.
    fn name_entry(&self, dir: Ino, group: &[Record]) -> Result<Option<NameKind>> {
        let Some((first, rr, name)) = self.entry_head(group, RockRidge::add_naming)? else {
            return Ok(None);
        };
        let listed = match rr.as_ref().and_then(|r| r.child_link) {
            // A relocated directory, found where its CL entry says.
            Some(block) => self
                .relocated_dot(dir, block, first, &name, |dot, _| self.piece(dot).map(drop))?
                .is_some(),
            None => {
                let listed = !first.is_dir()
                    || self.register_dir(dir, first.data_offset(), first.size, first, &name);
                if listed {
                    for r in group {
                        self.piece(r)?;
                    }
                }
                listed
            }
        };
        Ok(listed.then(|| NameKind {
            is_dir: first.is_dir() || rr.is_some_and(|r| r.child_link.is_some()),
            ino: first.offset,
            name,
        }))
    }
}
