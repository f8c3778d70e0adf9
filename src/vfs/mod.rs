//! The session's view of all mounted filesystems as one tree: the mount table (any path can be
//! a mountpoint, nested at any depth), and path resolution across mounts with physical `..` and
//! symlinks followed inside the session's root.

pub mod path;
pub mod walk;

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::fs::{FileKind, FileSystem, Ino, Metadata, MountOptions};
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

/// The mount table and the resolver over it.
#[derive(Default)]
pub struct Vfs {
    mounts: Vec<Mount>,
}

impl Vfs {
    /// The mounts, in the order they were made.
    pub fn mounts(&self) -> &[Mount] {
        &self.mounts
    }

    /// Adds a mount; a later mount on the same path hides the earlier one.
    pub fn mount(&mut self, mount: Mount) {
        self.mounts.push(mount);
    }

    /// Removes the topmost mount at `mountpoint`, refusing while another is mounted below it.
    pub fn umount(&mut self, mountpoint: &str) -> Result<Mount> {
        let mp = path::normalize(mountpoint);
        let idx = self
            .mounts
            .iter()
            .rposition(|m| m.mountpoint == mp)
            .ok_or_else(|| Error::Usage(format!("{mp}: not mounted")))?;
        let below = format!("{}/", mp.trim_end_matches('/'));
        if let Some(busy) = self.mounts[idx + 1..]
            .iter()
            .find(|m| m.mountpoint.starts_with(&below))
        {
            return Err(Error::Usage(format!(
                "{mp}: busy: {} is mounted below it",
                busy.mountpoint
            )));
        }
        Ok(self.mounts.remove(idx))
    }

    /// Removes every mount.
    pub fn umount_all(&mut self) {
        self.mounts.clear();
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

    /// The node at `/`.
    pub fn root(&self) -> Result<Node> {
        match self.mount_at("/") {
            Some(m) => self.mount_root(m, "/".into()),
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
