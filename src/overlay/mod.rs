//! The staged layer: [`Overlay`], a [`FileSystem`] over a mounted filesystem that holds the
//! session's uncommitted changes (new, changed, removed, renamed and linked files and
//! directories, metadata, the volume label, the size of a rebuilt image), so every reader, command and the browser pane see
//! them with no code of their own, and the writers build the new image from it.
//!
//! Objects of the filesystem below keep their [`Ino`]; objects made in the overlay get numbers
//! with the top bit set ([`NEW`]), which no format uses. A changed object is *staged*: its
//! metadata, its data ([`Content`]) and, for a directory, its listing are kept here; an object
//! that is not staged is read from below unchanged. Changes are addressed by the object's path
//! from the filesystem's root (symlinks already followed by the session), so the overlay knows
//! every directory on the way to a change (`touched`, where `changes` looks).

pub mod changes;
pub mod content;
mod listing;
mod replay;
mod revert;
#[cfg(test)]
mod tests;

pub use content::{Content, HostFile};
use listing::Listing;

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

// hashbrown's foldhash rather than SipHash: staging a host tree of 74k entries (mkiso) looks
// up every directory on each new entry's path, and planned about 0.15 s faster with it;
// foldhash's per-process random seed still keeps names chosen in an image from colliding at
// will.
use hashbrown::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::fs::{Attribute, DirEntry, FileKind, FileSystem, Ino, Metadata, Span, Timestamp, Xattr};
use crate::source::Source;
use crate::vfs::path;

/// The bit that marks an [`Ino`] made in the overlay.
pub const NEW: Ino = 1 << 63;

/// Where the inode numbers (`Metadata::ino`) of objects made in the overlay start: above what
/// formats record (Rock Ridge serials are 32-bit, ISO and UDF locations are byte offsets of
/// images far smaller), so hard-link detection never confuses a new file with an old one.
const NEW_INODE_NUMBERS: u64 = 1 << 40;

/// How much of an object of a tree being written comes from the filesystem below the overlay.
/// Objects that come from it keep its [`Ino`], so a writer can ask the original for what the
/// generic metadata does not carry (the recorded name, compressed data as stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// Made in the overlay: nothing of it is in the original.
    New,
    /// An object of the original: `data` is true while its content is the original's,
    /// `meta` while its metadata is (nothing of it staged).
    Base { data: bool, meta: bool },
}

impl Provenance {
    /// An object of the original that nothing changed (every object of a rewrite with no
    /// change).
    pub const UNCHANGED: Provenance = Provenance::Base {
        data: true,
        meta: true,
    };

    /// True for an object of the original whose content is the original's.
    pub fn data_kept(self) -> bool {
        matches!(self, Provenance::Base { data: true, .. })
    }
}

/// A staged object.
#[derive(Clone)]
pub(crate) struct Staged {
    pub(crate) meta: Metadata,
    /// New data; `None` keeps the data below (or, for an object made here, none).
    pub(crate) content: Option<Content>,
    /// A directory's listing, once changed; `None` reads it from below.
    pub(crate) entries: Option<Listing>,
    /// Extended attributes, once set (copied with `cp -a`); `None` reads them from below.
    pub(crate) xattrs: Option<Vec<Xattr>>,
}

/// Everything an overlay staged, as it was at one moment ([`Overlay::snapshot`]).
pub struct Snapshot(State);

/// Everything staged.
#[derive(Clone, Default)]
pub(crate) struct State {
    /// Boxed: the table stays small (a new tree stages every object).
    pub(crate) nodes: HashMap<Ino, Box<Staged>>,
    /// The last number given to an object made here.
    last: u64,
    pub(crate) label: Option<String>,
    /// The size in bytes the rebuilt image is to have (`resize-fat`).
    pub(crate) size: Option<u64>,
    /// Changes to the boot setup.
    pub(crate) boot: crate::boot::edits::BootEdits,
    /// Uploaded host files, checked before a commit takes their bytes.
    pub(crate) hosts: Vec<HostFile>,
    /// Directories that lie on the path of a change.
    pub(crate) touched: HashSet<Ino>,
    /// Where objects of the filesystem below that were moved came from.
    pub(crate) moved_from: HashMap<Ino, String>,
    /// Links made (+) and removed (-) to files that have several names below, by the number
    /// they record (`Metadata::ino`): each name is an object of its own there, so the count
    /// is kept here once for all of them ([`Overlay::shared_count`]).
    pub(crate) links: HashMap<u64, i64>,
    /// New data of files that have several names below, by the number they record: written
    /// through one name, it is every name's data (they are one file), with its size and time.
    pub(crate) shared: HashMap<u64, Shared>,
}

/// The new data of a file with several names below.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) content: Content,
    pub(crate) mtime: Timestamp,
}

/// A directory of an overlay found once ([`Overlay::parent`]), to make many objects in.
pub struct Parent {
    /// The directories from the root to it, itself last.
    chain: Vec<Ino>,
    /// Its path, for errors.
    path: String,
}

/// Staged changes over a filesystem.
pub struct Overlay {
    base: Arc<dyn FileSystem>,
    state: RwLock<State>,
}

/// The metadata of an object a command makes: `kind` with permission bits `mode`, owned by
/// root, all times now (the overlay fills in its number, size and links).
pub fn fresh(kind: FileKind, mode: u32) -> Metadata {
    let t = Timestamp::now();
    Metadata {
        mtime: t,
        atime: t,
        ctime: t,
        mode: mode & 0o7777,
        ..Metadata::synthetic_dir(0)
    }
    .with_kind(kind)
}

/// The error for a path that names nothing.
fn missing(path: &str) -> Error {
    Error::NotFound(path.to_string())
}

/// The error for a path that already names something.
fn exists(path: &str) -> Error {
    Error::Usage(format!("{path}: file exists"))
}

impl Overlay {
    /// An overlay with nothing staged over `base`.
    pub fn new(base: Arc<dyn FileSystem>) -> Overlay {
        Overlay {
            base,
            state: RwLock::default(),
        }
    }

    /// The filesystem below.
    pub fn base(&self) -> &Arc<dyn FileSystem> {
        &self.base
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// True when nothing is staged.
    pub fn is_clean(&self) -> bool {
        let st = self.read();
        st.nodes.is_empty() && st.label.is_none() && st.size.is_none() && st.boot.is_empty()
    }

    /// Everything staged now, to be put back with [`Overlay::restore`].
    pub fn snapshot(&self) -> Snapshot {
        Snapshot(self.read().clone())
    }

    /// Puts back what was staged when `snapshot` was taken.
    pub fn restore(&self, snapshot: Snapshot) {
        *self.write() = snapshot.0;
    }

    /// Drops everything staged.
    pub fn revert_all(&self) {
        *self.write() = State::default();
    }

    /// What a writer may take from the filesystem below for each object of a tree with
    /// `overlay`'s staged changes over it; with none, everything is the original's, unchanged.
    pub fn provenance_of(overlay: Option<&Overlay>) -> impl Fn(Ino) -> Provenance + '_ {
        move |ino| overlay.map_or(Provenance::UNCHANGED, |o| o.provenance(ino))
    }

    /// What a writer may take from the filesystem below for `ino`.
    pub fn provenance(&self, ino: Ino) -> Provenance {
        if ino & NEW != 0 {
            return Provenance::New;
        }
        let data = matches!(self.data_of(ino), Ok(None));
        let meta = !self.read().nodes.contains_key(&ino);
        Provenance::Base { data, meta }
    }

    /// The data of `ino` when the overlay has it: `Some(None)` for an object made here with
    /// no data; `None` when it is the data below.
    fn data_of(&self, ino: Ino) -> Result<Option<Option<Content>>> {
        let st = self.read();
        match st.nodes.get(&ino).map(|s| s.content.clone()) {
            Some(Some(c)) => Ok(Some(Some(c))),
            Some(None) if ino & NEW != 0 => Ok(Some(None)),
            _ => Ok(self.shared_data(&st, ino)?.map(Some)),
        }
    }

    /// Fails when an uploaded host file changed or went away since it was staged.
    pub fn check_hosts(&self) -> Result<()> {
        self.read().hosts.iter().try_for_each(HostFile::check)
    }

    /// The entry `name` of directory `dir`, with its current metadata.
    fn entry(&self, st: &State, dir: Ino, name: &[u8]) -> Result<Option<DirEntry>> {
        let found = match st.nodes.get(&dir).and_then(|s| s.entries.as_ref()) {
            Some(entries) => entries.get(name).cloned(),
            None if dir & NEW != 0 => None,
            None => self.base.lookup(dir, name)?,
        };
        Ok(found.map(|e| refreshed(st, e)))
    }

    /// The directories from the root to `path`'s parent (each must exist and be one), and its
    /// last name. `path` is absolute from this filesystem's root, symlinks already followed.
    fn parent_chain(&self, st: &State, path: &str) -> Result<(Vec<Ino>, Vec<u8>)> {
        let mut comps = path::components(path.as_bytes());
        let name = comps
            .next_back()
            .ok_or_else(|| Error::Usage(format!("{path}: the root cannot be changed this way")))?
            .to_vec();
        let mut chain = Vec::with_capacity(8);
        chain.push(self.base.root());
        for (i, comp) in comps.enumerate() {
            let here = *chain.last().expect("the root is first");
            let so_far = || {
                let parts: Vec<&[u8]> = path::components(path.as_bytes()).take(i + 1).collect();
                path::join(&parts)
            };
            match self.kind_of(st, here, comp)? {
                Some((ino, FileKind::Dir)) => chain.push(ino),
                Some(_) => return Err(Error::NotADirectory(so_far())),
                None => return Err(missing(&so_far())),
            }
        }
        Ok((chain, name))
    }

    /// The number and kind of entry `name` of directory `dir` ([`Overlay::entry`] without
    /// the copy of its metadata, for the directories on a path).
    fn kind_of(&self, st: &State, dir: Ino, name: &[u8]) -> Result<Option<(Ino, FileKind)>> {
        let found = match st.nodes.get(&dir).and_then(|s| s.entries.as_ref()) {
            Some(entries) => entries.get(name).map(|e| (e.ino, e.meta.kind)),
            None if dir & NEW != 0 => None,
            None => self.base.lookup(dir, name)?.map(|e| (e.ino, e.meta.kind)),
        };
        Ok(found.map(|(ino, kind)| match st.nodes.get(&ino) {
            Some(s) => (ino, s.meta.kind),
            None => (ino, kind),
        }))
    }

    /// `dir`'s listing, to be changed: copied up from below the first time; the directory's
    /// modification and change times become now.
    fn listing_mut<'s>(&self, st: &'s mut State, dir: Ino) -> Result<&'s mut Listing> {
        let staged = self.stage(st, dir)?;
        let t = Timestamp::now();
        (staged.meta.mtime, staged.meta.ctime) = (t, t);
        if staged.entries.is_none() {
            staged.entries = Some(Listing::new(self.base.read_dir(dir)?));
        }
        Ok(staged.entries.as_mut().expect("filled above"))
    }

    /// `ino` staged, with its metadata copied up from below the first time.
    fn stage<'s>(&self, st: &'s mut State, ino: Ino) -> Result<&'s mut Staged> {
        Ok(match st.nodes.entry(ino) {
            hashbrown::hash_map::Entry::Occupied(e) => e.into_mut(),
            hashbrown::hash_map::Entry::Vacant(v) => v.insert(Box::new(Staged {
                meta: self.base.metadata(ino)?,
                content: None,
                entries: None,
                xattrs: None,
            })),
        })
    }

    /// The object at `path` (not followed if a symlink): its number and metadata.
    pub fn find(&self, path: &str) -> Result<DirEntry> {
        let st = self.read();
        let (chain, name) = self.parent_chain(&st, path)?;
        self.entry(&st, *chain.last().expect("root"), &name)?
            .ok_or_else(|| missing(path))
    }

    /// Makes a new object at `path` (which must not exist; its parent must): a file with
    /// `content`, a directory (empty), a symlink or a device node, as `meta` says (its `ino`,
    /// `size` and `nlink` are filled in here). Returns its number.
    pub fn create(&self, path: &str, meta: Metadata, content: Option<Content>) -> Result<Ino> {
        let mut st = self.write();
        let (chain, name) = self.parent_chain(&st, path)?;
        self.create_at(&mut st, &chain, name, meta, content)
            .map_err(|e| e.unwrap_or_else(|| exists(path)))
    }

    /// Directory `path` (which must exist and be one), to make many objects in with
    /// [`Overlay::create_in`]: a tree staged directory by directory finds each directory once.
    /// It stays the directory found: for a caller that alone changes the tree meanwhile (a
    /// move or a removal of it in between is not seen).
    pub fn parent(&self, path: &str) -> Result<Parent> {
        let st = self.read();
        let (mut chain, ino) = self.locate(&st, path)?;
        let kind = match st.nodes.get(&ino) {
            Some(s) => s.meta.kind,
            None => self.base.metadata(ino)?.kind,
        };
        if kind != FileKind::Dir {
            return Err(Error::NotADirectory(path.to_string()));
        }
        chain.push(ino);
        Ok(Parent {
            chain,
            path: path.to_string(),
        })
    }

    /// [`Overlay::create`] of `name` in directory `parent`.
    pub fn create_in(
        &self,
        parent: &Parent,
        name: &[u8],
        meta: Metadata,
        content: Option<Content>,
    ) -> Result<Ino> {
        let mut st = self.write();
        self.create_at(&mut st, &parent.chain, name.to_vec(), meta, content)
            .map_err(|e| e.unwrap_or_else(|| exists(&path::child(&parent.path, name))))
    }

    /// Makes `name` in the last directory of `chain` (from the root), as [`Overlay::create`]
    /// says; `Err(None)` when the name is taken.
    fn create_at(
        &self,
        st: &mut State,
        chain: &[Ino],
        name: Vec<u8>,
        mut meta: Metadata,
        content: Option<Content>,
    ) -> std::result::Result<Ino, Option<Error>> {
        if let Some(what) = Attribute::of_kind(meta.kind) {
            self.check_records(what)?;
        }
        let dir = *chain.last().expect("root");
        if self.kind_of(st, dir, &name)?.is_some() {
            return Err(None);
        }
        st.last += 1;
        let ino = NEW | st.last;
        meta.ino = NEW_INODE_NUMBERS + st.last;
        meta.nlink = if meta.is_dir() { 2 } else { 1 };
        meta.size = match (&content, &meta.symlink) {
            (Some(c), _) => c.len(),
            (None, Some(target)) => target.len() as u64,
            (None, None) => 0,
        };
        meta.allocated = meta.size;
        let entries = meta.is_dir().then(Listing::default);
        st.nodes.insert(
            ino,
            Box::new(Staged {
                meta: meta.clone(),
                content,
                entries,
                xattrs: None,
            }),
        );
        self.listing_mut(st, dir)?
            .push(DirEntry { name, ino, meta });
        // The chain's directories are touched together: the last one touched, they all are.
        if !st.touched.contains(&dir) {
            touch(st, chain);
        }
        Ok(ino)
    }

    /// Gives the file at `path` new data; its modification and change times become now.
    pub fn set_content(&self, path: &str, content: Content) -> Result<()> {
        let e = self.find(path)?;
        let shared = self.shared_count(e.ino)?;
        let (recorded, kept) = (e.meta.ino, content.clone());
        self.change(path, |s| {
            if s.meta.kind != FileKind::File {
                return Err(Error::Usage(format!("{path}: not a regular file")));
            }
            s.meta.size = content.len();
            s.meta.allocated = content.len();
            s.meta.mtime = Timestamp::now();
            s.content = Some(content);
            Ok(())
        })?;
        if shared {
            let mtime = Timestamp::now();
            self.write().shared.insert(
                recorded,
                Shared {
                    content: kept,
                    mtime,
                },
            );
        }
        Ok(())
    }

    /// The new data of `ino`, when it is a name below of a file with several names whose data
    /// was written through another of them.
    fn shared_data(&self, st: &State, ino: Ino) -> Result<Option<Content>> {
        if st.shared.is_empty() || ino & NEW != 0 {
            return Ok(None);
        }
        let meta = self.base.metadata(ino)?;
        Ok(shared_of(st, &meta).map(|s| s.content.clone()))
    }

    /// The data of the file at `path` as it is now (staged or below).
    pub fn content(&self, path: &str) -> Result<Content> {
        let e = self.find(path)?;
        if e.meta.kind != FileKind::File {
            return Err(Error::Usage(format!("{path}: not a regular file")));
        }
        if let Some(Some(c)) = self.data_of(e.ino)? {
            return Ok(c);
        }
        let name = format!("{}:{path}", self.base.source().name());
        Content::of_file(&self.base, e.ino, e.meta.size, name)
    }

    /// Changes the metadata of the object at `path` with `f` (`chmod`, `chown`, `utimens`);
    /// its change time becomes now.
    pub fn change_meta(
        &self,
        path: &str,
        f: impl FnOnce(&mut Metadata) -> Result<()>,
    ) -> Result<()> {
        self.change(path, |s| {
            let was = s.meta.clone();
            f(&mut s.meta)?;
            if s.meta.mode != was.mode {
                self.check_records(Attribute::Mode)?;
            }
            if (s.meta.uid, s.meta.gid) != (was.uid, was.gid) {
                self.check_records(Attribute::Owner)?;
            }
            Ok(())
        })
    }

    /// Gives the object at `path` the times, mode and owner of `recorded` (its change time
    /// too, which every other change makes now): what an image built from a host tree records
    /// for a directory once its entries are in (`mkiso`).
    pub fn restore_meta(&self, path: &str, recorded: &Metadata) -> Result<()> {
        let mut st = self.write();
        let (chain, ino) = self.locate(&st, path)?;
        // Set in place: nothing to undo once the checks passed (a directory's listing is not
        // copied, as `change` copies it).
        let m = &mut self.stage(&mut st, ino)?.meta;
        if m.mode != recorded.mode {
            self.check_records(Attribute::Mode)?;
        }
        if (m.uid, m.gid) != (recorded.uid, recorded.gid) {
            self.check_records(Attribute::Owner)?;
        }
        (m.mode, m.uid, m.gid) = (recorded.mode, recorded.uid, recorded.gid);
        (m.mtime, m.atime, m.ctime) = (recorded.mtime, recorded.atime, recorded.ctime);
        touch(&mut st, &chain);
        Ok(())
    }

    /// The directories on the way to `path` and the object there; for `/`, the root itself
    /// (`mkiso` gives it the host directory's metadata).
    fn locate(&self, st: &State, path: &str) -> Result<(Vec<Ino>, Ino)> {
        if path::components(path.as_bytes()).next().is_none() {
            return Ok((Vec::new(), self.base.root()));
        }
        let (chain, name) = self.parent_chain(st, path)?;
        let e = self
            .entry(st, *chain.last().expect("root"), &name)?
            .ok_or_else(|| missing(path))?;
        Ok((chain, e.ino))
    }

    /// Refuses a change that needs `what` where the filesystem below cannot record it.
    fn check_records(&self, what: Attribute) -> Result<()> {
        match self.base.refuses(what) {
            Some(why) => Err(Error::unsupported(self.base.source().name(), why)),
            None => Ok(()),
        }
    }

    /// Sets the extended attributes of the object at `path` (`cp -a` keeps them).
    pub fn set_xattrs(&self, path: &str, xattrs: Vec<Xattr>) -> Result<()> {
        if !xattrs.is_empty() {
            self.check_records(Attribute::Xattrs)?;
        }
        self.change(path, |s| {
            s.xattrs = Some(xattrs);
            Ok(())
        })
    }

    /// Changes the staged object at `path` with `f`, all or nothing; its change time becomes
    /// now.
    fn change(&self, path: &str, f: impl FnOnce(&mut Staged) -> Result<()>) -> Result<()> {
        let mut st = self.write();
        let (chain, ino) = self.locate(&st, path)?;
        let staged = self.stage(&mut st, ino)?;
        let mut changed = staged.clone();
        f(&mut changed)?;
        changed.meta.ctime = Timestamp::now();
        *staged = changed;
        touch(&mut st, &chain);
        Ok(())
    }

    /// Removes the name `path` (a directory with all it holds: the caller checks emptiness
    /// where the command asks for it).
    pub fn remove(&self, path: &str) -> Result<()> {
        let mut st = self.write();
        let (chain, name) = self.parent_chain(&st, path)?;
        let dir = *chain.last().expect("root");
        let e = self.entry(&st, dir, &name)?.ok_or_else(|| missing(path))?;
        self.listing_mut(&mut st, dir)?.remove(&name);
        if !e.meta.is_dir() && e.meta.nlink > 1 {
            self.count_link(&mut st, &e, -1)?;
        }
        touch(&mut st, &chain);
        Ok(())
    }

    /// True when `ino` is one of the names a file has below: its link count is kept in
    /// `State::links`, for all its names at once.
    fn shared_count(&self, ino: Ino) -> Result<bool> {
        if ino & NEW != 0 {
            return Ok(false);
        }
        let below = self.base.metadata(ino)?;
        Ok(!below.is_dir() && below.nlink > 1)
    }

    /// Adds `by` to the link count of the non-directory `e`; its change time becomes now.
    fn count_link(&self, st: &mut State, e: &DirEntry, by: i64) -> Result<Metadata> {
        let shared = self.shared_count(e.ino)?;
        if shared {
            *st.links.entry(e.meta.ino).or_default() += by;
        }
        let staged = self.stage(st, e.ino)?;
        if !shared {
            staged.meta.nlink = staged.meta.nlink.saturating_add_signed(by as i32);
        }
        staged.meta.ctime = Timestamp::now();
        let mut meta = staged.meta.clone();
        shared_links(st, e.ino, &mut meta);
        Ok(meta)
    }

    /// Moves the object at `from` to `to` (which must not exist): renames, or moves between
    /// directories. A directory cannot move into itself.
    pub fn rename(&self, from: &str, to: &str) -> Result<()> {
        let mut st = self.write();
        let (from_chain, from_name) = self.parent_chain(&st, from)?;
        let (to_chain, to_name) = self.parent_chain(&st, to)?;
        let from_dir = *from_chain.last().expect("root");
        let to_dir = *to_chain.last().expect("root");
        let e = self
            .entry(&st, from_dir, &from_name)?
            .ok_or_else(|| missing(from))?;
        if to_chain.contains(&e.ino) {
            return Err(Error::Usage(format!(
                "cannot move {from} into itself ({to})"
            )));
        }
        if self.entry(&st, to_dir, &to_name)?.is_some() {
            return Err(exists(to));
        }
        self.listing_mut(&mut st, from_dir)?.remove(&from_name);
        let mut moved = e.clone();
        moved.name = to_name;
        self.listing_mut(&mut st, to_dir)?.push(moved);
        if e.ino & NEW == 0 {
            st.moved_from
                .entry(e.ino)
                .or_insert_with(|| from.to_string());
        }
        if let Some(s) = st.nodes.get_mut(&e.ino) {
            s.meta.ctime = Timestamp::now();
        }
        touch(&mut st, &from_chain);
        touch(&mut st, &to_chain);
        Ok(())
    }

    /// Gives the non-directory at `existing` a second name, `new` (which must not exist).
    pub fn link(&self, existing: &str, new: &str) -> Result<()> {
        self.check_records(Attribute::HardLink)?;
        let mut st = self.write();
        let (from_chain, from_name) = self.parent_chain(&st, existing)?;
        let e = self
            .entry(&st, *from_chain.last().expect("root"), &from_name)?
            .ok_or_else(|| missing(existing))?;
        if e.meta.is_dir() {
            return Err(Error::IsADirectory(existing.to_string()));
        }
        let (to_chain, to_name) = self.parent_chain(&st, new)?;
        self.link_at(&mut st, &e, &to_chain, to_name)
            .map_err(|e| e.unwrap_or_else(|| exists(new)))
    }

    /// [`Overlay::link`] of `existing`, a file [`Overlay::create_in`] made, as `name` in
    /// directory `parent`.
    pub fn link_in(&self, existing: Ino, parent: &Parent, name: &[u8]) -> Result<()> {
        self.check_records(Attribute::HardLink)?;
        let mut st = self.write();
        let path = || path::child(&parent.path, name);
        let meta = match st.nodes.get(&existing) {
            Some(s) if !s.meta.is_dir() => s.meta.clone(),
            Some(_) => return Err(Error::IsADirectory(path())),
            None => return Err(Error::Usage(format!("{}: no staged file to link", path()))),
        };
        let e = DirEntry {
            name: Vec::new(),
            ino: existing,
            meta,
        };
        self.link_at(&mut st, &e, &parent.chain, name.to_vec())
            .map_err(|e| e.unwrap_or_else(|| exists(&path())))
    }

    /// Gives `e` the name `name` in the last directory of `chain` (from the root); `Err(None)`
    /// when the name is taken.
    fn link_at(
        &self,
        st: &mut State,
        e: &DirEntry,
        chain: &[Ino],
        name: Vec<u8>,
    ) -> std::result::Result<(), Option<Error>> {
        let dir = *chain.last().expect("root");
        if self.kind_of(st, dir, &name)?.is_some() {
            return Err(None);
        }
        let meta = self.count_link(st, e, 1)?;
        self.listing_mut(st, dir)?.push(DirEntry {
            name,
            ino: e.ino,
            meta,
        });
        touch(st, chain);
        Ok(())
    }

    /// Changes the boot setup's edits (`set-boot-file`, `boot-add-efi`).
    pub fn edit_boot(&self, edit: impl FnOnce(&mut crate::boot::edits::BootEdits)) {
        edit(&mut self.write().boot);
    }

    /// The boot setup's edits staged.
    pub fn boot_edits(&self) -> crate::boot::edits::BootEdits {
        self.read().boot.clone()
    }

    /// Sets the volume label.
    pub fn set_label(&self, label: &str) {
        self.write().label = Some(label.to_string());
    }

    /// Sets the size in bytes of the image the filesystem is rebuilt into (`resize-fat`).
    pub fn set_size(&self, size: u64) {
        self.write().size = Some(size);
    }

    /// The size set with [`Overlay::set_size`], if any.
    pub fn size(&self) -> Option<u64> {
        self.read().size
    }

    /// Remembers an uploaded host file, checked again before a commit.
    pub fn note_host(&self, host: HostFile) {
        self.write().hosts.push(host);
    }
}

/// Marks every directory on a change's way as touched.
fn touch(st: &mut State, chain: &[Ino]) {
    st.touched.extend(chain.iter().copied());
}

/// `e` with the staged metadata of its object, if it is staged.
fn refreshed(st: &State, mut e: DirEntry) -> DirEntry {
    if let Some(s) = st.nodes.get(&e.ino) {
        e.meta = s.meta.clone();
    }
    shared_links(st, e.ino, &mut e.meta);
    e
}

/// A copy of `e` with the staged metadata of its object, if it is staged ([`refreshed`],
/// copying the metadata once).
fn refreshed_copy(st: &State, e: &DirEntry) -> DirEntry {
    let mut copy = match st.nodes.get(&e.ino) {
        Some(s) => DirEntry {
            name: e.name.clone(),
            ino: e.ino,
            meta: s.meta.clone(),
        },
        None => e.clone(),
    };
    shared_links(st, copy.ino, &mut copy.meta);
    copy
}

/// `meta` of object `ino` with the links made and removed to the file it is a name of, when
/// it has several names below.
fn shared_links(st: &State, ino: Ino, meta: &mut Metadata) {
    if ino & NEW != 0 || meta.is_dir() || meta.nlink < 2 {
        return;
    }
    if let Some(by) = st.links.get(&meta.ino) {
        meta.nlink = (i64::from(meta.nlink) + by).clamp(1, i64::from(u32::MAX)) as u32;
    }
    if let Some(shared) = shared_of(st, meta) {
        meta.size = shared.content.len();
        meta.allocated = meta.size;
        meta.mtime = shared.mtime;
    }
}

/// The new data written through one name of the file `meta` describes, when it has several
/// names below.
fn shared_of<'s>(st: &'s State, meta: &Metadata) -> Option<&'s Shared> {
    if meta.kind != FileKind::File || meta.nlink < 2 {
        return None;
    }
    st.shared.get(&meta.ino)
}

impl FileSystem for Overlay {
    fn type_name(&self) -> &'static str {
        self.base.type_name()
    }
    fn source(&self) -> &Arc<dyn Source> {
        self.base.source()
    }
    fn label(&self) -> Option<String> {
        self.read().label.clone().or_else(|| self.base.label())
    }
    fn root(&self) -> Ino {
        self.base.root()
    }
    fn metadata(&self, ino: Ino) -> Result<Metadata> {
        let st = self.read();
        let mut meta = match st.nodes.get(&ino) {
            Some(s) => s.meta.clone(),
            None => self.base.metadata(ino)?,
        };
        shared_links(&st, ino, &mut meta);
        Ok(meta)
    }
    fn read_dir(&self, dir: Ino) -> Result<Vec<DirEntry>> {
        let st = self.read();
        if let Some(entries) = st.nodes.get(&dir).and_then(|s| s.entries.as_deref()) {
            return Ok(entries.iter().map(|e| refreshed_copy(&st, e)).collect());
        }
        let entries = self.base.read_dir(dir)?;
        if st.nodes.is_empty() {
            return Ok(entries);
        }
        Ok(entries.into_iter().map(|e| refreshed(&st, e)).collect())
    }
    fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Option<DirEntry>> {
        let st = self.read();
        self.entry(&st, dir, name)
    }
    fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        match self.data_of(ino)? {
            Some(Some(c)) => c.read_at(offset, buf),
            Some(None) => Ok(0),
            None => self.base.read_at(ino, offset, buf),
        }
    }
    fn spans(&self, ino: Ino) -> Result<Option<Vec<Span>>> {
        match self.data_of(ino)? {
            Some(Some(c)) => Ok(Some(c.spans())),
            Some(None) => Ok(Some(Vec::new())),
            None => self.base.spans(ino),
        }
    }
    fn holes(&self, ino: Ino) -> Result<Vec<(u64, u64)>> {
        match self.data_of(ino)? {
            // Staged data gives its holes as spans of zeros.
            Some(_) => Ok(Vec::new()),
            None => self.base.holes(ino),
        }
    }
    fn xattrs(&self, ino: Ino) -> Result<Vec<Xattr>> {
        match self.read().nodes.get(&ino).map(|s| s.xattrs.clone()) {
            Some(Some(x)) => Ok(x),
            Some(None) if ino & NEW != 0 => Ok(Vec::new()),
            _ => self.base.xattrs(ino),
        }
    }
    fn name_fit(&self, name: &[u8], is_dir: bool) -> Result<Option<String>> {
        self.base.name_fit(name, is_dir)
    }
    fn refuses(&self, what: Attribute) -> Option<String> {
        self.base.refuses(what)
    }
    fn left_out(&self) -> Option<String> {
        self.base.left_out()
    }
    fn detail(&self) -> Option<String> {
        self.base.detail()
    }
    fn info(&self) -> Vec<(String, String)> {
        self.base.info()
    }
}
