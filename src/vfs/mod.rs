//! The session's view of all mounted filesystems as one tree: the mount table (any path can be
//! a mountpoint, nested at any depth; each mount with its id, its origin and its count of staged
//! changes; a generation that every change to the table moves), and path resolution across
//! mounts with physical `..` and symlinks followed inside the session's root.

pub mod origin;
pub mod path;
pub mod walk;

pub use origin::{FileRef, MountId, Origin};

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::fs::{FileKind, FileSystem, Ino, Metadata, MountOptions};
use crate::overlay::Overlay;
use crate::source::nested::FileInFs;

/// Symlinks followed in one resolution before giving up, as Linux does.
const MAX_SYMLINKS: usize = 40;

/// One filesystem mounted at a path of the session.
#[derive(Clone)]
pub struct Mount {
    /// Normalised absolute path.
    pub mountpoint: String,
    /// What was mounted: a device (`/dev/sda`) or an image file in another mount.
    pub device: String,
    pub fs: Arc<dyn FileSystem>,
    pub options: MountOptions,
}

/// Refuses to unmount a mount with staged changes: they would be lost.
fn refuse_staged(mount: &Mount, record: &Record) -> Result<()> {
    match record.changes {
        0 => Ok(()),
        n => Err(Error::Busy {
            path: mount.mountpoint.clone(),
            reason: format!(
                "{n} staged change{} not committed",
                if n == 1 { "" } else { "s" }
            ),
        }),
    }
}

/// What a resolved path is.
#[derive(Clone)]
pub enum Target {
    /// A file or directory of a mounted filesystem.
    Fs {
        fs: Arc<dyn FileSystem>,
        ino: Ino,
        meta: Metadata,
    },
    /// A directory that exists only because a mountpoint lies below it.
    Virtual,
}

/// A resolved path.
#[derive(Clone)]
pub struct Node {
    /// The absolute path the node was reached by (after symlinks and `..`).
    pub path: String,
    pub target: Target,
}

impl Node {
    /// A regular file's data as a source named `image:path` in errors, read straight from the
    /// parent's bytes where the filesystem stores it plainly; `None` for anything but a regular
    /// file.
    pub fn file_data(&self) -> Option<Result<FileInFs>> {
        match &self.target {
            Target::Fs { fs, ino, meta } if meta.kind == FileKind::File => {
                let name = format!("{}:{}", fs.source().name(), self.path);
                Some(FileInFs::new(fs.clone(), *ino, meta.size, name))
            }
            _ => None,
        }
    }
    /// The node's metadata; a virtual directory is root's 0755 directory.
    pub fn meta(&self) -> Metadata {
        match &self.target {
            Target::Fs { meta, .. } => meta.clone(),
            Target::Virtual => Metadata::synthetic_dir(0),
        }
    }
    /// The node's kind.
    pub fn kind(&self) -> FileKind {
        match &self.target {
            Target::Fs { meta, .. } => meta.kind,
            Target::Virtual => FileKind::Dir,
        }
    }
    /// True for directories, virtual or not.
    pub fn is_dir(&self) -> bool {
        self.kind() == FileKind::Dir
    }
    /// The filesystem the node belongs to (none for a virtual directory).
    pub fn fs(&self) -> Option<&Arc<dyn FileSystem>> {
        match &self.target {
            Target::Fs { fs, .. } => Some(fs),
            Target::Virtual => None,
        }
    }
}

/// What the table keeps about a mount besides the mount itself.
#[derive(Clone)]
struct Record {
    id: MountId,
    origin: Origin,
    /// Staged changes made in the mount since it was mounted.
    changes: u64,
    /// The staged layer, once a change was made: the mount's filesystem is then this overlay
    /// over the one mounted.
    overlay: Option<Arc<Overlay>>,
}

/// One mount of the table with what the table knows about it.
#[derive(Clone, Copy)]
pub struct Mounted<'a> {
    pub id: MountId,
    pub origin: &'a Origin,
    pub mount: &'a Mount,
    /// Staged changes made in the mount (each edit counts one).
    pub changes: u64,
}

impl Mounted<'_> {
    /// True when edits to the mount are staged and not yet committed: unmounting would lose
    /// them.
    pub fn has_staged_changes(&self) -> bool {
        self.changes != 0
    }
}

/// The mount table and the resolver over it.
#[derive(Default)]
pub struct Vfs {
    mounts: Vec<Mount>,
    /// `records[i]` is about `mounts[i]`.
    records: Vec<Record>,
    /// The last id given.
    last_id: u64,
    /// Moved by every mount, unmount and staged change.
    generation: u64,
}

impl Vfs {
    /// The mounts, in the order they were made.
    pub fn mounts(&self) -> &[Mount] {
        &self.mounts
    }

    /// The mounts with their ids and origins, in the order they were made.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = Mounted<'_>> + '_ {
        self.records
            .iter()
            .zip(&self.mounts)
            .map(|(r, mount)| Mounted {
                id: r.id,
                origin: &r.origin,
                mount,
                changes: r.changes,
            })
    }

    /// The mount numbered `id`, if it is still mounted.
    pub fn get(&self, id: MountId) -> Option<Mounted<'_>> {
        self.entries().find(|m| m.id == id)
    }

    /// The topmost mount at `mountpoint` (an absolute path), the one paths resolve into.
    pub fn topmost(&self, mountpoint: &str) -> Option<Mounted<'_>> {
        let mp = path::normalize(mountpoint);
        self.entries().rev().find(|m| m.mount.mountpoint == mp)
    }

    /// The mount `node` was reached through (none for a virtual directory).
    pub fn owner(&self, node: &Node) -> Option<Mounted<'_>> {
        let fs = node.fs()?;
        self.entries().rev().find(|m| {
            Arc::ptr_eq(&m.mount.fs, fs)
                && path::relative_to(&node.path, &m.mount.mountpoint).is_some()
        })
    }

    /// A number that moves whenever the table changes (a mount, an unmount, a staged change):
    /// what was read from the tree while it stood still is still true.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Adds a filesystem with nothing beneath it (see [`Origin::Detached`]); a later mount on
    /// the same path hides the earlier one.
    pub fn mount(&mut self, mount: Mount) -> MountId {
        self.mount_from(mount, Origin::Detached)
    }

    /// Adds a mount read from `origin`; returns its new id.
    pub fn mount_from(&mut self, mount: Mount, origin: Origin) -> MountId {
        self.last_id += 1;
        let id = MountId(self.last_id);
        self.mounts.push(mount);
        self.records.push(Record {
            id,
            origin,
            changes: 0,
            overlay: None,
        });
        self.generation += 1;
        id
    }

    /// Counts one staged change in mount `id`; returns the mount's count.
    pub fn note_change(&mut self, id: MountId) -> Result<u64> {
        let idx = self.index(id)?;
        self.records[idx].changes += 1;
        self.generation += 1;
        Ok(self.records[idx].changes)
    }

    /// The staged layer of mount `id`, laid over its filesystem the first time it is asked
    /// for: from then on, paths of the mount resolve into the overlay (objects below keep
    /// their numbers, so nodes resolved before stay true).
    pub fn overlay(&mut self, id: MountId) -> Result<Arc<Overlay>> {
        let idx = self.index(id)?;
        if let Some(o) = &self.records[idx].overlay {
            return Ok(o.clone());
        }
        let overlay = Arc::new(Overlay::new(self.mounts[idx].fs.clone()));
        self.mounts[idx].fs = overlay.clone();
        self.records[idx].overlay = Some(overlay.clone());
        self.generation += 1;
        Ok(overlay)
    }

    /// The staged layer of mount `id`, if a change was ever made in it.
    pub fn staged(&self, id: MountId) -> Option<&Arc<Overlay>> {
        let idx = self.index(id).ok()?;
        self.records[idx].overlay.as_ref()
    }

    /// Drops every change staged in mount `id` (`revert-all`, a commit that made them the
    /// image's): its filesystem is the one mounted again.
    pub fn discard(&mut self, id: MountId) -> Result<()> {
        let idx = self.index(id)?;
        if let Some(o) = self.records[idx].overlay.take() {
            self.mounts[idx].fs = o.base().clone();
        }
        self.records[idx].changes = 0;
        self.generation += 1;
        Ok(())
    }

    /// Puts `fs` in the place of mount `id`'s filesystem (the image it was read from was
    /// replaced by a commit), its staged changes dropped with the old one.
    pub fn reopen(&mut self, id: MountId, fs: Arc<dyn FileSystem>) -> Result<()> {
        self.discard(id)?;
        let idx = self.index(id)?;
        self.mounts[idx].fs = fs;
        Ok(())
    }

    /// Records that mount `id` is now read from `origin` (its file was written anew).
    pub fn set_origin(&mut self, id: MountId, origin: Origin) -> Result<()> {
        let idx = self.index(id)?;
        self.records[idx].origin = origin;
        Ok(())
    }

    /// Takes `overlay` off mount `id` again when it is still the mount's and stages nothing
    /// (it was made for a moment, by a commit staging a rebuilt image in it).
    pub fn drop_clean_overlay(&mut self, id: MountId, overlay: &Arc<Overlay>) {
        let Ok(idx) = self.index(id) else { return };
        let ours = self.records[idx]
            .overlay
            .as_ref()
            .is_some_and(|o| Arc::ptr_eq(o, overlay));
        if ours && overlay.is_clean() && self.records[idx].changes == 0 {
            self.records[idx].overlay = None;
            self.mounts[idx].fs = overlay.base().clone();
            self.generation += 1;
        }
    }

    fn index(&self, id: MountId) -> Result<usize> {
        self.records
            .iter()
            .position(|r| r.id == id)
            .ok_or_else(|| Error::Usage(format!("{id}: not mounted")))
    }

    /// Removes mount `id`, refusing while another is mounted below its mountpoint or while it
    /// holds staged changes. (Mounts read from a file of it are the session's to check, as a
    /// drive can stand between them: `Session::umount`.)
    pub fn umount(&mut self, id: MountId) -> Result<Mount> {
        let idx = self.index(id)?;
        let mp = &self.mounts[idx].mountpoint;
        let below = format!("{}/", mp.trim_end_matches('/'));
        if let Some(busy) = self.mounts[idx + 1..]
            .iter()
            .find(|m| m.mountpoint.starts_with(&below))
        {
            return Err(Error::Busy {
                path: mp.clone(),
                reason: format!("{} is mounted below it", busy.mountpoint),
            });
        }
        refuse_staged(&self.mounts[idx], &self.records[idx])?;
        self.records.remove(idx);
        self.generation += 1;
        Ok(self.mounts.remove(idx))
    }

    /// Removes every mount, refusing (and removing none) while one holds staged changes.
    pub fn umount_all(&mut self) -> Result<()> {
        for (mount, record) in self.mounts.iter().zip(&self.records) {
            refuse_staged(mount, record)?;
        }
        self.mounts.clear();
        self.records.clear();
        self.generation += 1;
        Ok(())
    }

    fn mount_at(&self, path: &str) -> Option<&Mount> {
        self.mounts.iter().rev().find(|m| m.mountpoint == path)
    }

    fn has_mount_below(&self, path: &str) -> bool {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        self.mounts
            .iter()
            .any(|m| m.mountpoint.starts_with(&prefix))
    }

    fn mount_root(&self, m: &Mount, path: String) -> Result<Node> {
        let ino = m.fs.root();
        let meta = m.fs.metadata(ino)?;
        Ok(Node {
            path,
            target: Target::Fs {
                fs: m.fs.clone(),
                ino,
                meta,
            },
        })
    }

    /// The node at `/`: a mount's root, or a directory leading to the mounts below it. With
    /// nothing mounted there is no tree to read, and that is the error (not an empty `/`).
    pub fn root(&self) -> Result<Node> {
        match self.mount_at("/") {
            Some(m) => self.mount_root(m, "/".into()),
            None if self.mounts.is_empty() => Err(Error::NothingMounted),
            None => Ok(Node {
                path: "/".into(),
                target: Target::Virtual,
            }),
        }
    }

    /// The entry `name` of directory `dir`, mounts taking precedence over what lies beneath.
    pub fn child(&self, dir: &Node, name: &[u8]) -> Result<Option<Node>> {
        let path = path::child(&dir.path, name);
        if let Some(m) = self.mount_at(&path) {
            return self.mount_root(m, path).map(Some);
        }
        if let Target::Fs { fs, ino, meta } = &dir.target {
            if meta.kind != FileKind::Dir {
                return Err(Error::NotADirectory(dir.path.clone()));
            }
            if let Some(e) = fs.lookup(*ino, name)? {
                return Ok(Some(Node {
                    path,
                    target: Target::Fs {
                        fs: fs.clone(),
                        ino: e.ino,
                        meta: e.meta,
                    },
                }));
            }
        }
        if self.has_mount_below(&path) {
            return Ok(Some(Node {
                path,
                target: Target::Virtual,
            }));
        }
        Ok(None)
    }

    /// Resolves an absolute path. Symlinks in the middle are always followed, the last one only
    /// when `follow` is set; absolute symlink targets are taken from the session's `/`.
    pub fn resolve(&self, abs: &str, follow: bool) -> Result<Node> {
        let mut stack = vec![self.root()?];
        let mut todo: Vec<Vec<u8>> = path::components(abs.as_bytes())
            .rev()
            .map(<[u8]>::to_vec)
            .collect();
        let mut hops = 0;
        while let Some(name) = todo.pop() {
            match name.as_slice() {
                b"." => continue,
                b".." => {
                    if stack.len() > 1 {
                        stack.pop();
                    }
                    continue;
                }
                _ => {}
            }
            let dir = stack.last().expect("the root stays on the stack");
            if !dir.is_dir() {
                return Err(Error::NotADirectory(dir.path.clone()));
            }
            let node = self
                .child(dir, &name)?
                .ok_or_else(|| Error::NotFound(abs.to_string()))?;
            let meta = node.meta();
            if meta.kind == FileKind::Symlink && (follow || !todo.is_empty()) {
                hops += 1;
                if hops > MAX_SYMLINKS {
                    return Err(Error::SymlinkLoop(abs.to_string()));
                }
                let target = meta.symlink.unwrap_or_default();
                if target.starts_with(b"/") {
                    stack.truncate(1);
                }
                todo.extend(path::components(&target).rev().map(<[u8]>::to_vec));
                continue;
            }
            stack.push(node);
        }
        Ok(stack.pop().expect("the stack is never empty"))
    }

    /// The entries of a directory node: its filesystem's entries with mounts laid over them,
    /// plus the virtual directories leading to mountpoints below it.
    pub fn read_dir(&self, dir: &Node) -> Result<Vec<(Vec<u8>, Node)>> {
        let mut out = Vec::new();
        match &dir.target {
            Target::Fs { fs, ino, meta } => {
                if meta.kind != FileKind::Dir {
                    return Err(Error::NotADirectory(dir.path.clone()));
                }
                // Most directories have no mountpoint below them: skip the per-entry lookup.
                let mounts_below = self.has_mount_below(&dir.path);
                for e in fs.read_dir(*ino)? {
                    let path = path::child(&dir.path, &e.name);
                    let mount = if mounts_below {
                        self.mount_at(&path)
                    } else {
                        None
                    };
                    let node = match mount {
                        Some(m) => self.mount_root(m, path)?,
                        None => Node {
                            path,
                            target: Target::Fs {
                                fs: fs.clone(),
                                ino: e.ino,
                                meta: e.meta,
                            },
                        },
                    };
                    out.push((e.name, node));
                }
            }
            Target::Virtual => {}
        }
        let prefix = format!("{}/", dir.path.trim_end_matches('/'));
        for m in &self.mounts {
            let Some(rest) = m.mountpoint.strip_prefix(&prefix) else {
                continue;
            };
            let name = rest
                .split('/')
                .next()
                .unwrap_or_default()
                .as_bytes()
                .to_vec();
            if name.is_empty() || out.iter().any(|(n, _)| *n == name) {
                continue;
            }
            if let Some(node) = self.child(dir, &name)? {
                out.push((name, node));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::walk::tests::{meta, MemFs};
    use super::*;

    /// A root directory holding the file `f`.
    fn one_file() -> Arc<dyn FileSystem> {
        Arc::new(MemFs {
            nodes: vec![
                (
                    meta(FileKind::Dir, 0, 0),
                    vec![(b"f".to_vec(), 1)],
                    Vec::new(),
                ),
                (meta(FileKind::File, 1, 3), Vec::new(), b"abc".to_vec()),
            ],
        })
    }

    fn at(mountpoint: &str, fs: Arc<dyn FileSystem>) -> Mount {
        Mount {
            mountpoint: mountpoint.into(),
            device: "/dev/sda".into(),
            fs,
            options: MountOptions::default(),
        }
    }

    #[test]
    fn ids_are_never_given_again_not_even_after_umount_all() {
        let mut vfs = Vfs::default();
        let a = vfs.mount(at("/", one_file()));
        let b = vfs.mount(at("/b", one_file()));
        assert!(a < b);
        assert_eq!(*vfs.get(b).unwrap().origin, Origin::Detached);
        vfs.umount_all().unwrap();
        assert!(vfs.get(a).is_none() && vfs.mounts().is_empty());
        let c = vfs.mount(at("/", one_file()));
        assert!(c > b);
        assert_eq!(vfs.topmost("/").unwrap().id, c);
    }

    #[test]
    fn nothing_mounted_is_an_error_but_a_root_above_mounts_is_a_directory() {
        let mut vfs = Vfs::default();
        assert!(matches!(
            vfs.resolve("/f", true),
            Err(Error::NothingMounted)
        ));
        vfs.mount(at("/b", one_file()));
        assert!(matches!(vfs.root().unwrap().target, Target::Virtual));
        assert!(vfs.resolve("/b/f", true).is_ok());
        assert!(matches!(vfs.resolve("/f", true), Err(Error::NotFound(_))));
    }

    #[test]
    fn a_node_belongs_to_the_mount_it_was_reached_through() {
        let mut vfs = Vfs::default();
        let fs = one_file();
        let low = vfs.mount(at("/", fs.clone()));
        // The same filesystem again, lower down: the path tells the two apart.
        let high = vfs.mount(at("/again", fs));
        let owner = |path: &str| vfs.owner(&vfs.resolve(path, true).unwrap()).map(|m| m.id);
        assert_eq!(owner("/f"), Some(low));
        assert_eq!(owner("/again/f"), Some(high));
    }

    #[test]
    fn staged_changes_and_mounts_below_refuse_umount() {
        let mut vfs = Vfs::default();
        let root = vfs.mount(at("/", one_file()));
        let below = vfs.mount(at("/b", one_file()));
        let generation = vfs.generation();
        let err = vfs.umount(root).map(drop).unwrap_err();
        assert_eq!(err.to_string(), "/: busy: /b is mounted below it");
        assert_eq!(vfs.note_change(below).unwrap(), 1);
        assert!(vfs.generation() > generation);
        assert!(vfs.get(below).unwrap().has_staged_changes());
        let err = vfs.umount(below).map(drop).unwrap_err();
        assert_eq!(err.to_string(), "/b: busy: 1 staged change not committed");
        assert!(matches!(vfs.umount_all(), Err(Error::Busy { .. })));
        assert_eq!(vfs.mounts().len(), 2);
        let gone = MountId(99);
        assert_eq!(
            vfs.note_change(gone).unwrap_err().to_string(),
            "mount 99: not mounted"
        );
    }
}
