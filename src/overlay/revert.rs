//! [`Overlay::revert`]: drops the staged changes of one path and of everything below it, so
//! that it is again what the filesystem below holds there: an added object goes, a removed one
//! comes back, a moved one goes back where it was (named by its new or its old path), a
//! changed one gets its data and metadata back.

use std::collections::{HashMap, HashSet};

use super::changes::{Census, Place};
use super::{Overlay, State, NEW};
use crate::error::{Error, Result};
use crate::fs::Ino;
use crate::vfs::path;

impl Overlay {
    /// Drops the staged changes of `path` (a path now, or one the filesystem below has) and
    /// of everything below it. Fails, changing nothing more, where an object cannot go back
    /// (the directory it was in is gone, or something new has its name: revert those first).
    pub fn revert(&self, path: &str) -> Result<()> {
        let mut st = self.write();
        let result = self.revert_path(&mut st, path);
        let tidied = self.tidy(&mut st);
        result.and(tidied)
    }

    fn revert_path(&self, st: &mut State, path: &str) -> Result<()> {
        let comps: Vec<&[u8]> = path::components(path.as_bytes()).collect();
        let Some((name, dirs)) = comps.split_last() else {
            return self.revert_object(st, self.base.root());
        };
        let parent = path::join(dirs);
        let now_dir = self.find_in(st, &parent)?.filter(|e| e.meta.is_dir());
        let was_dir = self.original(&parent)?.filter(|e| e.meta.is_dir());
        let now = match &now_dir {
            Some(d) => self.entry(st, d.ino, name)?,
            None => None,
        };
        let was = match &was_dir {
            Some(d) => self.base.lookup(d.ino, name)?,
            None => None,
        };
        match (&now, &was) {
            (None, None) => return Err(Error::NotFound(path.to_string())),
            (Some(n), Some(w))
                if n.ino == w.ino
                    && now_dir.as_ref().map(|d| d.ino) == was_dir.as_ref().map(|d| d.ino) =>
            {
                return self.revert_object(st, n.ino);
            }
            _ => {}
        }
        if let (Some(n), Some(d)) = (&now, &now_dir) {
            self.take_away(st, d.ino, name, n.ino)?;
        }
        match (was, was_dir) {
            (Some(w), Some(d)) => self.put_back(st, d.ino, name, w.ino, path),
            _ => Ok(()),
        }
    }

    /// Reverts the object `ino` where it is, and (a directory) every name in it.
    fn revert_object(&self, st: &mut State, ino: Ino) -> Result<()> {
        if ino & NEW != 0 {
            return Ok(());
        }
        let staged_listing = st.nodes.get(&ino).is_some_and(|s| s.entries.is_some());
        if st.touched.contains(&ino) || staged_listing {
            self.revert_names(st, ino)?;
        }
        if let Some(s) = st.nodes.get_mut(&ino) {
            let nlink = s.meta.nlink;
            s.meta = self.base.metadata(ino)?;
            if !s.meta.is_dir() {
                s.meta.nlink = nlink;
            }
            s.content = None;
            s.xattrs = None;
        }
        let recorded = self.base.metadata(ino)?.ino;
        st.shared.remove(&recorded);
        Ok(())
    }

    /// Makes every name of the directory `dir` (of the filesystem below) what it was: what
    /// does not belong goes (in one pass over the listing), what is missing comes back, and
    /// what stayed is reverted where something below it is staged.
    fn revert_names(&self, st: &mut State, dir: Ino) -> Result<()> {
        let now: HashMap<Vec<u8>, Ino> = self
            .listing(st, dir, true)?
            .into_iter()
            .map(|e| (e.name, e.ino))
            .collect();
        let mut was: Vec<(Vec<u8>, Ino)> = self
            .listing(st, dir, false)?
            .into_iter()
            .map(|e| (e.name, e.ino))
            .collect();
        was.sort();
        let before: HashMap<&[u8], Ino> = was.iter().map(|(n, i)| (n.as_slice(), *i)).collect();
        let mut gone = HashSet::new();
        for (name, &ino) in &now {
            if before.get(name.as_slice()) == Some(&ino) {
                continue;
            }
            if ino & NEW == 0 && st.moved_from.contains_key(&ino) {
                self.take_away(st, dir, name, ino)?;
            } else {
                self.send_home_within(st, ino)?;
                gone.insert(name.clone());
            }
        }
        if !gone.is_empty() {
            self.listing_mut(st, dir)?
                .retain(|e| !gone.contains(&e.name));
        }
        for (name, ino) in was {
            if now.get(&name) != Some(&ino) {
                let shown = self.shown(st, dir, &name)?;
                self.put_back(st, dir, &name, ino, &shown)?;
            } else if st.nodes.contains_key(&ino) || st.touched.contains(&ino) {
                self.revert_object(st, ino)?;
            }
        }
        Ok(())
    }

    /// Sends what was moved into the new directory `ino` (at any depth) back where it was,
    /// before the directory goes; nothing for anything else.
    fn send_home_within(&self, st: &mut State, ino: Ino) -> Result<()> {
        let new_dir = ino & NEW != 0 && st.nodes.get(&ino).is_some_and(|s| s.meta.is_dir());
        if !new_dir {
            return Ok(());
        }
        for e in self.listing(st, ino, true)? {
            if e.ino & NEW == 0 && st.moved_from.contains_key(&e.ino) {
                self.take_away(st, ino, &e.name, e.ino)?;
            } else {
                self.send_home_within(st, e.ino)?;
            }
        }
        Ok(())
    }

    /// Takes the object `ino` away from `name` in `dir`, where it does not belong: an object
    /// moved there goes back where it was, anything else loses the name (a new directory: once
    /// what was moved into it went back).
    fn take_away(&self, st: &mut State, dir: Ino, name: &[u8], ino: Ino) -> Result<()> {
        if ino & NEW == 0 && st.moved_from.contains_key(&ino) {
            let was = self.census(st, false)?;
            let mut home = None;
            for p in was.get(&ino).map(Vec::as_slice).unwrap_or_default() {
                if self.entry(st, p.dir, &p.name)?.is_none_or(|e| e.ino != ino) {
                    home = Some(p.clone());
                    break;
                }
            }
            if let Some(home) = home {
                return self.put_back(st, home.dir, &home.name, ino, &home.path);
            }
        }
        self.send_home_within(st, ino)?;
        self.listing_mut(st, dir)?.remove(name);
        Ok(())
    }

    /// Puts the object `ino` back at `name` in `dir` (at `shown`, for messages), moving it from
    /// where it is now if it was moved, and reverts it.
    fn put_back(&self, st: &mut State, dir: Ino, name: &[u8], ino: Ino, shown: &str) -> Result<()> {
        let now = self.census(st, true)?;
        if dir != self.base.root() && !now.contains_key(&dir) {
            return Err(Error::Usage(format!(
                "{shown}: the directory it was in is removed: revert that first"
            )));
        }
        match self.entry(st, dir, name)? {
            Some(e) if e.ino == ino => return self.revert_object(st, ino),
            Some(_) => {
                return Err(Error::Usage(format!(
                    "{shown}: something staged since has its name: revert {shown} first"
                )))
            }
            None => {}
        }
        let was = self.census(st, false)?;
        let away = elsewhere(&now, &was, ino);
        if let Some(p) = away {
            self.listing_mut(st, p.dir)?.remove(&p.name);
        }
        st.moved_from.remove(&ino);
        let meta = match st.nodes.get(&ino) {
            Some(s) => s.meta.clone(),
            None => self.base.metadata(ino)?,
        };
        self.listing_mut(st, dir)?.push(crate::fs::DirEntry {
            name: name.to_vec(),
            ino,
            meta,
        });
        self.revert_object(st, ino)
    }

    /// The path of `name` in `dir` now, for messages.
    fn shown(&self, st: &State, dir: Ino, name: &[u8]) -> Result<String> {
        if dir == self.base.root() {
            return Ok(path::child("/", name));
        }
        let now = self.census(st, true)?;
        let was = self.census(st, false)?;
        let at = now
            .get(&dir)
            .or_else(|| was.get(&dir))
            .and_then(|p| p.first());
        Ok(at.map_or_else(
            || String::from_utf8_lossy(name).into_owned(),
            |p| path::child(&p.path, name),
        ))
    }

    /// Forgets what no longer differs from below: objects no name reaches, listings and
    /// metadata that are the original's, link counts recounted; everything when nothing is
    /// left.
    fn tidy(&self, st: &mut State) -> Result<()> {
        let now = self.census(st, true)?;
        let was = self.census(st, false)?;
        let root = self.base.root();
        st.nodes
            .retain(|&ino, _| ino == root || ino & NEW == 0 || now.contains_key(&ino));
        let inos: Vec<Ino> = st.nodes.keys().copied().collect();
        for ino in inos {
            if ino & NEW != 0 {
                continue;
            }
            let base = self.base.metadata(ino)?;
            let listing_same = match st.nodes.get(&ino).and_then(|s| s.entries.as_ref()) {
                Some(entries) => same_names(entries, &self.listing(st, ino, false)?),
                None => true,
            };
            let s = st.nodes.get_mut(&ino).expect("listed above");
            if listing_same && s.entries.take().is_some() {
                (s.meta.mtime, s.meta.ctime) = (base.mtime, base.ctime);
            }
            if !base.is_dir() {
                let count = |c: &Census| c.get(&ino).map_or(0, Vec::len) as i64;
                let links = i64::from(base.nlink) - count(&was) + count(&now);
                s.meta.nlink = links.clamp(0, i64::from(u32::MAX)) as u32;
            }
            let mut same = s.meta.clone();
            same.ctime = base.ctime;
            if same == base && s.content.is_none() && s.entries.is_none() && s.xattrs.is_none() {
                st.nodes.remove(&ino);
            }
        }
        st.moved_from
            .retain(|ino, _| elsewhere(&now, &was, *ino).is_some());
        if st.nodes.is_empty() {
            let last = st.last;
            let (label, size) = (st.label.take(), st.size);
            let boot = std::mem::take(&mut st.boot);
            *st = State::default();
            (st.last, st.label, st.size, st.boot) = (last, label, size, boot);
        }
        Ok(())
    }
}

/// A name the object `ino` has now that it did not have below (where a move put it).
fn elsewhere(now: &Census, was: &Census, ino: Ino) -> Option<Place> {
    let before = was.get(&ino).map(Vec::as_slice).unwrap_or_default();
    now.get(&ino)?
        .iter()
        .find(|p| !before.iter().any(|b| b.same(p)))
        .cloned()
}

/// True when two listings hold the same names for the same objects.
fn same_names(a: &[crate::fs::DirEntry], b: &[crate::fs::DirEntry]) -> bool {
    let key = |v: &[crate::fs::DirEntry]| {
        let mut k: Vec<(Vec<u8>, Ino)> = v
            .iter()
            .filter(|e| e.name != b"." && e.name != b"..")
            .map(|e| (e.name.clone(), e.ino))
            .collect();
        k.sort();
        k
    };
    key(a) == key(b)
}
