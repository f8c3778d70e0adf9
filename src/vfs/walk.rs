//! The session-level recursive walk that `find`, `du`, `tar-out`, `copy-out` and
//! `checksums-out` share: pre-order, each directory's entries sorted by name (bytes, as `ls`
//! sorts in the C locale), crossing the mounts below the start (the VFS lays them over the
//! directories). It is also the one place that guards the host against hostile names: an entry
//! whose name is not a single path component (empty, `.`, `..`, a `/` or a NUL inside), or that
//! repeats a name already seen in the same directory, is skipped with a warning, and a
//! directory met again below itself (a loop in a corrupt image) is not entered twice. So the
//! relative paths it hands out can be joined to an extraction directory without escaping it.

use std::collections::HashSet;
use std::sync::Arc;

use crate::error::Result;
use crate::fs::FileSystem;
use crate::vfs::{Node, Target, Vfs};

/// Nesting deeper than this is treated as a loop in a corrupt image.
const MAX_DEPTH: usize = 4096;

/// One visited node.
pub struct Item<'a> {
    /// The path relative to the start of the walk, without a leading `./`; empty for the start.
    pub rel: &'a [u8],
    /// The node's last component (empty for the start).
    pub name: &'a [u8],
    pub node: &'a Node,
    /// 0 for the start, 1 for its entries...
    pub depth: usize,
}

/// True when `name` can be used as one component of a host path.
pub fn is_safe_name(name: &[u8]) -> bool {
    !name.is_empty() && name != b"." && name != b".." && !name.contains(&b'/') && !name.contains(&0)
}

/// A stable identity for a filesystem object across the mounts of a session: the filesystem
/// and the inode number it records.
pub fn identity(fs: &Arc<dyn FileSystem>, ino: u64) -> (usize, u64) {
    (Arc::as_ptr(fs) as *const () as usize, ino)
}

/// A directory's entries, checked and sorted.
fn entries(vfs: &Vfs, dir: &Node) -> Result<Vec<(Vec<u8>, Node)>> {
    let mut list = vfs.read_dir(dir)?;
    list.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut checked: Vec<(Vec<u8>, Node)> = Vec::with_capacity(list.len());
    for (name, node) in list {
        if !is_safe_name(&name) {
            warn(dir, &name, "is not a plain file name");
        } else if checked.last().is_some_and(|(prev, _)| *prev == name) {
            warn(dir, &name, "appears twice in the directory");
        } else {
            checked.push((name, node));
        }
    }
    Ok(checked)
}

fn warn(dir: &Node, name: &[u8], why: &str) {
    eprintln!(
        "isofish: warning: {}: skipping entry {:?}: it {why}",
        dir.path,
        String::from_utf8_lossy(name)
    );
}

/// Walks the tree at `start` in pre-order. `visit` returns whether to descend into the item
/// (it is only asked to for directories; the answer is ignored for anything else).
pub fn walk(
    vfs: &Vfs,
    start: &Node,
    mut visit: impl FnMut(&Item) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let descend = visit(&Item {
        rel: b"",
        name: b"",
        node: start,
        depth: 0,
    })?;
    if !descend || !start.is_dir() {
        return Ok(());
    }
    // Directories on the current branch, to refuse loops.
    let mut branch: Vec<Option<(usize, u64)>> = vec![dir_identity(start)];
    let mut on_branch: HashSet<(usize, u64)> = branch.iter().flatten().copied().collect();
    let mut stack = vec![(entries(vfs, start)?.into_iter(), 0usize)];
    let mut rel: Vec<u8> = Vec::with_capacity(256);
    while let Some((iter, base)) = stack.last_mut() {
        let base = *base;
        let Some((name, node)) = iter.next() else {
            stack.pop();
            if let Some(id) = branch.pop().flatten() {
                on_branch.remove(&id);
            }
            continue;
        };
        rel.truncate(base);
        if base > 0 {
            rel.push(b'/');
        }
        rel.extend_from_slice(&name);
        let depth = stack.len();
        let descend = visit(&Item {
            rel: &rel,
            name: &name,
            node: &node,
            depth,
        })?;
        if !descend || !node.is_dir() {
            continue;
        }
        let id = dir_identity(&node);
        if id.is_some_and(|id| on_branch.contains(&id)) || depth >= MAX_DEPTH {
            eprintln!(
                "isofish: warning: {}: not entered: the directory contains itself (a loop in the image)",
                node.path
            );
            continue;
        }
        let list = entries(vfs, &node)?;
        if let Some(id) = id {
            on_branch.insert(id);
        }
        branch.push(id);
        stack.push((list.into_iter(), rel.len()));
    }
    Ok(())
}

fn dir_identity(node: &Node) -> Option<(usize, u64)> {
    match &node.target {
        Target::Fs { fs, ino, .. } => Some(identity(fs, *ino)),
        Target::Virtual => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fs::{DirEntry, FileKind, Ino, Metadata, Timestamp};
    use crate::source::Source;
    use crate::vfs::Mount;

    /// One file of [`MemFs`]: its metadata, its entries (directories) and data (files).
    pub type MemNode = (Metadata, Vec<(Vec<u8>, Ino)>, Vec<u8>);

    /// An in-memory filesystem: inode `i` is `nodes[i]`, directories list child inodes.
    pub struct MemFs {
        pub nodes: Vec<MemNode>,
    }

    pub fn meta(kind: FileKind, ino: u64, size: u64) -> Metadata {
        Metadata {
            kind,
            mode: 0o755,
            uid: 0,
            gid: 0,
            size,
            nlink: 1,
            ino,
            mtime: Timestamp::default(),
            atime: Timestamp::default(),
            ctime: Timestamp::default(),
            rdev: None,
            symlink: None,
            allocated: size,
        }
    }

    impl FileSystem for MemFs {
        fn type_name(&self) -> &'static str {
            "memfs"
        }
        fn source(&self) -> &Arc<dyn Source> {
            unimplemented!("the test filesystem has no source")
        }
        fn label(&self) -> Option<String> {
            None
        }
        fn root(&self) -> Ino {
            0
        }
        fn metadata(&self, ino: Ino) -> Result<Metadata> {
            Ok(self.nodes[ino as usize].0.clone())
        }
        fn read_dir(&self, dir: Ino) -> Result<Vec<DirEntry>> {
            Ok(self.nodes[dir as usize]
                .1
                .iter()
                .map(|(name, ino)| DirEntry {
                    name: name.clone(),
                    ino: *ino,
                    meta: self.nodes[*ino as usize].0.clone(),
                })
                .collect())
        }
        fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
            let data = &self.nodes[ino as usize].2;
            let start = (offset as usize).min(data.len());
            let n = buf.len().min(data.len() - start);
            buf[..n].copy_from_slice(&data[start..start + n]);
            Ok(n)
        }
        fn info(&self) -> Vec<(String, String)> {
            Vec::new()
        }
    }

    /// A filesystem whose root holds hostile names and a directory that contains itself.
    pub fn hostile_vfs() -> Vfs {
        let fs = MemFs {
            nodes: vec![
                (
                    meta(FileKind::Dir, 0, 0),
                    vec![
                        (b"..".to_vec(), 1),
                        (b"a/b".to_vec(), 1),
                        (b"".to_vec(), 1),
                        (b"ok".to_vec(), 1),
                        (b"ok".to_vec(), 2),
                        (b"loop".to_vec(), 2),
                    ],
                    Vec::new(),
                ),
                (meta(FileKind::File, 1, 3), Vec::new(), b"abc".to_vec()),
                (
                    meta(FileKind::Dir, 2, 0),
                    vec![(b"again".to_vec(), 2), (b"f".to_vec(), 1)],
                    Vec::new(),
                ),
            ],
        };
        let mut vfs = Vfs::default();
        vfs.mount(Mount {
            mountpoint: "/".into(),
            device: "/dev/sda".into(),
            fs: Arc::new(fs),
            options: Default::default(),
        });
        vfs
    }

    #[test]
    fn hostile_names_and_loops_are_skipped() {
        let vfs = hostile_vfs();
        let root = vfs.root().unwrap();
        let mut seen = Vec::new();
        walk(&vfs, &root, |item| {
            seen.push(String::from_utf8_lossy(item.rel).into_owned());
            Ok(true)
        })
        .unwrap();
        assert_eq!(seen, ["", "loop", "loop/again", "loop/f", "ok"]);
        for rel in &seen {
            assert!(rel.split('/').all(|c| c != ".." && c != "."));
        }
    }

    #[test]
    fn safe_names() {
        assert!(is_safe_name(b"a.b"));
        assert!(is_safe_name(b"..."));
        for bad in [&b""[..], b".", b"..", b"a/b", b"/", b"a\0"] {
            assert!(!is_safe_name(bad));
        }
    }
}
