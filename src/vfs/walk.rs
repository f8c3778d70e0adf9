//! The session-level recursive walk that `find`, `du`, `tar-out`, `copy-out` and
//! `checksums-out` share: pre-order, each directory's entries sorted by name (bytes, as `ls`
//! sorts in the C locale), or ([`walk_in_path_order`], for `find`) in the bytewise order of
//! the whole paths, crossing the mounts below the start (the VFS lays them over the
//! directories). It is also the one place that guards the host against hostile names: an entry
//! whose name is not a single path component (empty, `.`, `..`, a `/` or a NUL inside), or that
//! repeats a name already seen in the same directory, is skipped with a warning, and a
//! directory met again below itself (a loop in a corrupt image) is not entered twice; either
//! makes the run exit 1 at its end ([`crate::fs::left_out`]). Warnings
//! go to stderr ([`walk`]) or to the caller ([`walk_warning`], for the browser pane, which
//! owns the terminal), names and paths in them escaped as `ls -b` shows them
//! ([`escape_name`]), so a name from the image cannot drive the terminal. So the
//! relative paths it hands out can be joined to an extraction directory without escaping it.

use std::borrow::Cow;
use std::sync::Arc;

use hashbrown::HashSet;

use crate::commands::format::escape_name;
use crate::error::{Error, Result};
use crate::fs::{left_out, FileKind, FileSystem, Ino, Metadata, NameKind};
use crate::vfs::{path, Node, Target, Vfs};

/// Nesting deeper than this is treated as a loop in a corrupt image.
const MAX_DEPTH: usize = 4096;

/// One visited file or directory.
pub struct Item<'a> {
    /// The path relative to the start of the walk, without a leading `./`; empty for the start.
    pub rel: &'a [u8],
    /// The last component (empty for the start).
    pub name: &'a [u8],
    /// What the path leads to.
    pub target: &'a Target,
    /// 0 for the start, 1 for its entries...
    pub depth: usize,
}

impl Item<'_> {
    /// The metadata (borrowed, except for virtual directories).
    pub fn meta(&self) -> Cow<'_, Metadata> {
        match self.target {
            Target::Fs { meta, .. } => Cow::Borrowed(meta),
            // A virtual directory's metadata does not depend on its path.
            Target::Virtual => Cow::Owned(
                Node {
                    path: String::new(),
                    target: Target::Virtual,
                }
                .meta(),
            ),
        }
    }
    /// True for directories, virtual or not.
    pub fn is_dir(&self) -> bool {
        is_dir(self.target)
    }
    /// The filesystem the item belongs to (none for a virtual directory).
    pub fn fs(&self) -> Option<&Arc<dyn FileSystem>> {
        match self.target {
            Target::Fs { fs, .. } => Some(fs),
            Target::Virtual => None,
        }
    }
}

/// True when two walk items or nodes lie on one filesystem (the virtual directories above the
/// mounts count as one): what `xdev:true` keeps to, as GNU tar's `--one-file-system`.
pub fn same_fs(a: Option<&Arc<dyn FileSystem>>, b: Option<&Arc<dyn FileSystem>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// True when `name` can be used as one component of a host path.
pub fn is_safe_name(name: &[u8]) -> bool {
    // One pass over the name (it is asked of every entry a walk meets).
    !name.is_empty() && name != b"." && name != b".." && name.iter().all(|&b| b != b'/' && b != 0)
}

/// A stable identity for a filesystem object across the mounts of a session: the filesystem
/// and the inode number it records.
pub fn identity(fs: &Arc<dyn FileSystem>, ino: u64) -> (usize, u64) {
    (Arc::as_ptr(fs) as *const () as usize, ino)
}

/// True when `target` is a directory, virtual or not.
fn is_dir(target: &Target) -> bool {
    match target {
        Target::Fs { meta, .. } => meta.kind == FileKind::Dir,
        Target::Virtual => true,
    }
}

/// The order a walk goes through a directory's entries in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    /// By name, each directory entered as soon as it is visited (pre-order).
    Names,
    /// The bytewise order of the whole paths: a directory `a` is visited at `a` but entered at
    /// `a/`, so after a sibling `a-b` (`-` sorts before `/`).
    Paths,
}

/// One step through a directory: an entry (an index into its list) visited, entered, or
/// visited and entered at once.
#[derive(Clone, Copy)]
enum Step {
    Visit(u32),
    Enter(u32),
    Both(u32),
}

/// `a` followed by a `/` against `b` followed by one when `b_slash` (names hold no `/`).
fn cmp_slashed(a: &[u8], b: &[u8], b_slash: bool) -> std::cmp::Ordering {
    let n = a.len().min(b.len());
    a[..n]
        .cmp(&b[..n])
        .then_with(|| match (a.get(n), b.get(n)) {
            (None, None) if b_slash => std::cmp::Ordering::Equal,
            (None, None) => std::cmp::Ordering::Greater,
            (None, Some(&c)) => b'/'.cmp(&c),
            (Some(&c), None) if b_slash => c.cmp(&b'/'),
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(_), Some(_)) => unreachable!("the first {n} bytes differ"),
        })
}

/// The steps through a directory whose entries `by_name` (indexes into `list`, sorted by
/// name, no name twice) are, in `order`.
fn steps<E: Listed>(list: &[E], by_name: Vec<u32>, order: Order) -> Vec<Step> {
    if order == Order::Names {
        return by_name.into_iter().map(Step::Both).collect();
    }
    let name = |i: u32| list[i as usize].name();
    // Directories by their name and a `/`: nearly their order by name.
    let mut dirs: Vec<u32> = (by_name.iter().copied())
        .filter(|&i| list[i as usize].is_dir())
        .collect();
    dirs.sort_by(|&a, &b| cmp_slashed(name(a), name(b), true));
    let mut out = Vec::with_capacity(by_name.len() + dirs.len());
    let mut dirs = dirs.into_iter().peekable();
    for i in by_name {
        while let Some(d) = dirs.next_if(|&d| cmp_slashed(name(d), name(i), false).is_lt()) {
            out.push(Step::Enter(d));
        }
        out.push(Step::Visit(i));
    }
    out.extend(dirs.map(Step::Enter));
    out
}

/// One entry of a directory as a walk lists it: a name and a [`Target`] with its metadata
/// (over a hundred bytes), or ([`Named`]) a name alone with what to enter.
trait Listed: Sized {
    /// The entries of the directory `ino` of `fs`, asked directly (no session path is built
    /// per entry: no mount lies below it).
    fn direct(fs: &Arc<dyn FileSystem>, ino: Ino) -> Result<Vec<Self>>;
    /// An entry the session tree listed.
    fn from_target(name: Vec<u8>, target: Target) -> Self;
    fn name(&self) -> &[u8];
    fn is_dir(&self) -> bool;
    /// What the entry leads to, `dir` being the directory that lists it.
    fn target(&self, dir: &Node) -> Target;
}

impl Listed for (Vec<u8>, Target) {
    fn direct(fs: &Arc<dyn FileSystem>, ino: Ino) -> Result<Vec<Self>> {
        let entries = fs.read_dir(ino)?.into_iter().map(|e| {
            let target = Target::Fs {
                fs: fs.clone(),
                ino: e.ino,
                meta: e.meta,
            };
            (e.name, target)
        });
        Ok(entries.collect())
    }
    fn from_target(name: Vec<u8>, target: Target) -> Self {
        (name, target)
    }
    fn name(&self) -> &[u8] {
        &self.0
    }
    fn is_dir(&self) -> bool {
        is_dir(&self.1)
    }
    fn target(&self, _dir: &Node) -> Target {
        self.1.clone()
    }
}

/// An entry of a walk that lists names only ([`walk_paths`]): as its filesystem's
/// [`names`](FileSystem::names) gives it, or with its [`Target`] where the session tree was
/// asked (a mount lies below its directory; boxed, so the entries of the others stay small).
enum Named {
    Name(NameKind),
    Target(Vec<u8>, Box<Target>),
}

impl Listed for Named {
    fn direct(fs: &Arc<dyn FileSystem>, ino: Ino) -> Result<Vec<Self>> {
        Ok(fs.names(ino)?.into_iter().map(Named::Name).collect())
    }
    fn from_target(name: Vec<u8>, target: Target) -> Self {
        Named::Target(name, Box::new(target))
    }
    fn name(&self) -> &[u8] {
        match self {
            Named::Name(n) => &n.name,
            Named::Target(name, _) => name,
        }
    }
    fn is_dir(&self) -> bool {
        match self {
            Named::Name(n) => n.is_dir,
            Named::Target(_, target) => is_dir(target),
        }
    }
    fn target(&self, dir: &Node) -> Target {
        match (self, &dir.target) {
            (Named::Target(_, target), _) => Target::clone(target),
            // A directory (only those are entered) of the listed directory's filesystem,
            // whose metadata the walk does not need.
            (Named::Name(n), Target::Fs { fs, .. }) => Target::Fs {
                fs: fs.clone(),
                ino: n.ino,
                meta: Metadata::synthetic_dir(n.ino),
            },
            // Names are only listed from a filesystem.
            (Named::Name(_), Target::Virtual) => Target::Virtual,
        }
    }
}

/// A directory's entries, checked, and the steps to go through them in (`order`), as
/// indexes into them: the entries stay where they are.
fn entries<E: Listed>(vfs: &Vfs, dir: &Node, warn: Warn, walk_order: Order) -> Result<Entries<E>> {
    let prefix = dir.path.trim_end_matches('/');
    let mounts_below = vfs.mounts().iter().any(|m| {
        m.mountpoint
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
    });
    let list: Vec<E> = match &dir.target {
        Target::Fs { fs, ino, meta } if !mounts_below => {
            if meta.kind != FileKind::Dir {
                return Err(Error::NotADirectory(dir.path.clone()));
            }
            E::direct(fs, *ino)?
        }
        _ => vfs
            .read_dir(dir)?
            .into_iter()
            .map(|(name, node)| E::from_target(name, node.target))
            .collect(),
    };
    let mut sorted: Vec<u32> = (0..list.len() as u32).collect();
    sorted.sort_unstable_by(|&a, &b| list[a as usize].name().cmp(list[b as usize].name()));
    let mut order: Vec<u32> = Vec::with_capacity(sorted.len());
    for i in sorted {
        let name = list[i as usize].name();
        let skip = |why: &str| {
            format!(
                "{}: skipping entry \"{}\": it {why}",
                escape_name(dir.path.as_bytes()),
                escape_name(name)
            )
        };
        if !is_safe_name(name) {
            warn(skip("is not a plain file name"));
        } else if order
            .last()
            .is_some_and(|&prev| list[prev as usize].name() == name)
        {
            warn(skip("appears twice in the directory"));
        } else {
            order.push(i);
            continue;
        }
        left_out::mark();
    }
    let steps = steps(&list, order, walk_order);
    Ok(Entries {
        list,
        steps: steps.into_iter(),
    })
}

/// A directory's entries as [`entries`] gives them: the list, and the steps still to take
/// through it.
struct Entries<E> {
    list: Vec<E>,
    steps: std::vec::IntoIter<Step>,
}

/// Where the walk's warnings go: one line each, without the `isofish: warning: ` prefix.
pub type Warn<'w> = &'w mut dyn FnMut(String);

/// One directory being listed: its remaining entries, where its path ends in `rel`, the
/// directory itself, and (in path order, where visiting and entering are two steps) the
/// directories the visitor said not to enter (by index; empty until it says so).
struct Level<E> {
    entries: Entries<E>,
    base: usize,
    dir: Node,
    declined: Vec<bool>,
}

/// Walks the tree at `start` in pre-order. `visit` returns whether to descend into the item
/// (it is only asked to for directories; the answer is ignored for anything else). Warnings
/// (names skipped, loops not entered) are printed to stderr.
pub fn walk(
    vfs: &Vfs,
    start: &Node,
    visit: impl FnMut(&Item) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    walk_ordered(vfs, start, &mut print_warning, Order::Names, visit)
}

/// [`walk`], visiting the items in the bytewise order of their paths (as `sort` would put
/// them; a directory is still visited before what it holds), so a listing of the whole tree
/// is written as it is walked.
pub fn walk_in_path_order(
    vfs: &Vfs,
    start: &Node,
    visit: impl FnMut(&Item) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    walk_ordered(vfs, start, &mut print_warning, Order::Paths, visit)
}

fn print_warning(w: String) {
    eprintln!("isofish: warning: {w}");
}

/// [`walk`], with the warnings handed to `warn`.
pub fn walk_warning(
    vfs: &Vfs,
    start: &Node,
    warn: Warn,
    visit: impl FnMut(&Item) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    walk_ordered(vfs, start, warn, Order::Names, visit)
}

fn walk_ordered(
    vfs: &Vfs,
    start: &Node,
    warn: Warn,
    order: Order,
    mut visit: impl FnMut(&Item) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let descend = visit(&Item {
        rel: b"",
        name: b"",
        target: &start.target,
        depth: 0,
    })?;
    if !descend || !start.is_dir() {
        return Ok(());
    }
    walk_below(vfs, start, warn, order, |rel, name, depth, e: &(_, _)| {
        visit(&Item {
            rel,
            name,
            target: &e.1,
            depth,
        })
    })
}

/// Visits the paths below the directory `start` in the bytewise order of their
/// paths ([`walk_in_path_order`]), for listings of paths alone: `visit` is handed each path
/// (as [`Item::rel`]) and its depth (1 for the entries of `start`), and every directory is
/// entered. The filesystems are asked for names alone ([`FileSystem::names`]), not metadata.
pub fn walk_paths(
    vfs: &Vfs,
    start: &Node,
    mut visit: impl FnMut(&[u8], usize) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if !start.is_dir() {
        return Ok(());
    }
    let warn = &mut print_warning;
    walk_below(
        vfs,
        start,
        warn,
        Order::Paths,
        |rel, _, depth, _: &Named| visit(rel, depth).map(|()| true),
    )
}

/// The walk below the directory `start` (not visited), its entries listed as `E`: `visit`
/// is handed each one's path, name, depth and entry, and returns whether to descend into it.
fn walk_below<E: Listed>(
    vfs: &Vfs,
    start: &Node,
    warn: Warn,
    order: Order,
    mut visit: impl FnMut(&[u8], &[u8], usize, &E) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    // Directories on the current branch, to refuse loops.
    let mut branch: Vec<Option<(usize, u64)>> = vec![dir_identity(&start.target)];
    let mut on_branch: HashSet<(usize, u64)> = branch.iter().flatten().copied().collect();
    let mut stack = vec![Level {
        entries: entries::<E>(vfs, start, warn, order)?,
        base: 0,
        dir: start.clone(),
        declined: Vec::new(),
    }];
    let mut rel: Vec<u8> = Vec::with_capacity(256);
    loop {
        crate::cancel::check()?;
        let depth = stack.len();
        let Some(level) = stack.last_mut() else {
            break;
        };
        let base = level.base;
        let Some(step) = level.entries.steps.next() else {
            stack.pop();
            if let Some(id) = branch.pop().flatten() {
                on_branch.remove(&id);
            }
            continue;
        };
        let (i, visiting, entering) = match step {
            Step::Visit(i) => (i, true, false),
            Step::Enter(i) => (i, false, true),
            Step::Both(i) => (i, true, true),
        };
        let entry = &level.entries.list[i as usize];
        let name = entry.name();
        rel.truncate(base);
        if base > 0 {
            rel.push(b'/');
        }
        rel.extend_from_slice(name);
        if visiting {
            if !visit(&rel, name, depth, entry)? && entry.is_dir() {
                if !entering {
                    let n = level.entries.list.len();
                    level.declined.resize(n, false);
                    level.declined[i as usize] = true;
                }
                continue;
            }
        } else if level.declined.get(i as usize) == Some(&true) {
            continue;
        }
        if !entering || !entry.is_dir() {
            continue;
        }
        let node = Node {
            path: path::child(&level.dir.path, name),
            target: entry.target(&level.dir),
        };
        let id = dir_identity(&node.target);
        if id.is_some_and(|id| on_branch.contains(&id)) || depth >= MAX_DEPTH {
            warn(format!(
                "{}: not entered: the directory contains itself (a loop in the image)",
                escape_name(node.path.as_bytes())
            ));
            left_out::mark();
            continue;
        }
        let list = entries(vfs, &node, warn, order)?;
        if let Some(id) = id {
            on_branch.insert(id);
        }
        branch.push(id);
        stack.push(Level {
            entries: list,
            base: rel.len(),
            dir: node,
            declined: Vec::new(),
        });
    }
    Ok(())
}

fn dir_identity(target: &Target) -> Option<(usize, u64)> {
    match target {
        Target::Fs { fs, ino, .. } => Some(identity(fs, *ino)),
        Target::Virtual => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fs::{DirEntry, FileKind, Ino, Metadata};
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
            size,
            nlink: 1,
            allocated: size,
            ..Metadata::synthetic_dir(ino)
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
        mem_vfs(fs)
    }

    /// A session tree with `fs` mounted at `/`.
    pub fn mem_vfs(fs: MemFs) -> Vfs {
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

    /// A tree whose names end in bytes on both sides of `/` (`-`, `.`, `0`), directories
    /// and files among them, each directory holding the same names again.
    fn crowded_vfs() -> Vfs {
        let names: [&[u8]; 8] = [b"a", b"a-b", b"a.c", b"a0", b"ab", b"a-", b"b", b"a/"];
        let mut nodes: Vec<MemNode> = vec![(meta(FileKind::Dir, 0, 0), Vec::new(), Vec::new())];
        let mut todo = vec![(0usize, 0usize)];
        while let Some((dir, depth)) = todo.pop() {
            for (k, name) in names.iter().enumerate() {
                let ino = nodes.len();
                let is_dir = depth < 2 && k % 2 == 0;
                let kind = if is_dir {
                    FileKind::Dir
                } else {
                    FileKind::File
                };
                nodes.push((meta(kind, ino as u64, 0), Vec::new(), Vec::new()));
                nodes[dir].1.push((name.to_vec(), ino as Ino));
                if is_dir {
                    todo.push((ino, depth + 1));
                }
            }
        }
        mem_vfs(MemFs { nodes })
    }

    #[test]
    fn path_order_is_the_sorted_walk() {
        let vfs = crowded_vfs();
        let root = vfs.root().unwrap();
        let mut by_names = Vec::new();
        walk(&vfs, &root, |item| {
            by_names.push(item.rel.to_vec());
            Ok(true)
        })
        .unwrap();
        let mut by_paths = Vec::new();
        walk_in_path_order(&vfs, &root, |item| {
            by_paths.push(item.rel.to_vec());
            // Declined directories are visited, not entered.
            Ok(item.rel != b"a.c")
        })
        .unwrap();
        assert!(by_names.iter().any(|p| p.starts_with(b"a.c/")));
        by_names.retain(|p| !p.starts_with(b"a.c/"));
        assert_ne!(by_names, by_paths, "the tree has names that sort apart");
        by_names.sort();
        assert_eq!(by_names, by_paths);
    }

    #[test]
    fn paths_walk_is_the_path_order_walk() {
        for vfs in [crowded_vfs(), hostile_vfs()] {
            let root = vfs.root().unwrap();
            let mut full = Vec::new();
            walk_in_path_order(&vfs, &root, |item| {
                if item.depth > 0 {
                    full.push((item.rel.to_vec(), item.depth));
                }
                Ok(true)
            })
            .unwrap();
            let mut names = Vec::new();
            walk_paths(&vfs, &root, |rel, depth| {
                names.push((rel.to_vec(), depth));
                Ok(())
            })
            .unwrap();
            assert!(!names.is_empty());
            assert_eq!(names, full);
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
