//! A snapshot of a directory tree on the host, to compare what isofish extracted with what a
//! third-party tool extracted: names, types, permission bits, owners, modification times,
//! symlink targets, device numbers, file contents and which names are hard links of each other.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// What is known of one name.
#[derive(Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: char,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    /// File contents, symlink target, or `major,minor` of devices; empty for directories.
    pub data: Vec<u8>,
}

/// A tree: every path below the top (the top itself left out) and the hard-link groups.
#[derive(Debug, PartialEq, Eq)]
pub struct Tree {
    pub nodes: BTreeMap<String, Node>,
    pub links: BTreeSet<Vec<String>>,
}

fn major(dev: u64) -> u64 {
    ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff)
}
fn minor(dev: u64) -> u64 {
    ((dev >> 12) & 0xffff_ff00) | (dev & 0xff)
}

/// Reads the tree at `top`.
pub fn snapshot(top: &Path) -> Tree {
    let mut nodes = BTreeMap::new();
    let mut inodes: HashMap<(u64, u64), Vec<String>> = HashMap::new();
    let mut todo = vec![top.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            let rel = path
                .strip_prefix(top)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let m = std::fs::symlink_metadata(&path).unwrap();
            let ft = m.file_type();
            let (kind, data) = if ft.is_dir() {
                todo.push(path.clone());
                ('d', Vec::new())
            } else if ft.is_symlink() {
                let t = std::fs::read_link(&path).unwrap();
                ('l', t.as_os_str().as_bytes().to_vec())
            } else if ft.is_file() {
                ('-', std::fs::read(&path).unwrap())
            } else if ft.is_char_device() || ft.is_block_device() {
                let c = if ft.is_char_device() { 'c' } else { 'b' };
                let dev = format!("{},{}", major(m.rdev()), minor(m.rdev()));
                (c, dev.into_bytes())
            } else if ft.is_fifo() {
                ('p', Vec::new())
            } else {
                ('s', Vec::new())
            };
            if kind == '-' && m.nlink() > 1 {
                inodes
                    .entry((m.dev(), m.ino()))
                    .or_default()
                    .push(rel.clone());
            }
            let mode = if kind == 'l' { 0 } else { m.mode() & 0o7777 };
            nodes.insert(
                rel,
                Node {
                    kind,
                    mode,
                    uid: m.uid(),
                    gid: m.gid(),
                    mtime: m.mtime(),
                    data,
                },
            );
        }
    }
    let links = inodes
        .into_values()
        .map(|mut v| {
            v.sort();
            v
        })
        .collect();
    Tree { nodes, links }
}

/// Panics with a readable difference when the trees differ.
pub fn assert_same(expected: &Tree, actual: &Tree, what: &str) {
    let mut diffs = Vec::new();
    for (path, e) in &expected.nodes {
        match actual.nodes.get(path) {
            None => diffs.push(format!("missing: {path}")),
            Some(a) if a != e => diffs.push(format!(
                "differs: {path}\n  expected {:?}\n  actual   {:?}",
                short(e),
                short(a)
            )),
            Some(_) => {}
        }
    }
    for path in actual.nodes.keys() {
        if !expected.nodes.contains_key(path) {
            diffs.push(format!("unexpected: {path}"));
        }
    }
    if expected.links != actual.links {
        diffs.push(format!(
            "hard links: expected {:?}, actual {:?}",
            expected.links, actual.links
        ));
    }
    assert!(diffs.is_empty(), "{what}:\n{}", diffs.join("\n"));
}

fn short(n: &Node) -> String {
    let data = if n.data.len() > 64 {
        format!("{} bytes", n.data.len())
    } else {
        format!("{:?}", String::from_utf8_lossy(&n.data))
    };
    format!(
        "{} {:o} {}:{} mtime {} {data}",
        n.kind, n.mode, n.uid, n.gid, n.mtime
    )
}

/// The reference extraction of an image into `dir`: bsdtar's (which keeps owners, modes,
/// times, devices, FIFOs and hard links), with symlink targets corrected from xorriso's own
/// extraction. libarchive drops the `/` where a Rock Ridge SL component record continues into
/// the next SL entry (long targets written by xorriso); xorriso, the images' writer, reads them
/// back right, but does not restore devices or symlink times, hence the combination.
///
/// Returns the paths bsdtar could not create (it reads genisoimage's 64-bit device numbers
/// as invalid ones); any other bsdtar error fails the test.
pub fn reference_extract(image: &Path, dir: &Path) -> Vec<String> {
    use crate::common::tool;
    std::fs::create_dir_all(dir).unwrap();
    let image = image.to_str().unwrap();
    let out = std::process::Command::new("bsdtar")
        .args(["-xpf", image, "-C", dir.to_str().unwrap()])
        .output()
        .expect("bsdtar runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut skipped = Vec::new();
    for line in stderr.lines() {
        match line.split_once(": Can't create '") {
            Some((path, _)) => skipped.push(path.to_string()),
            None if line == "bsdtar: Error exit delayed from previous errors." => {}
            None => panic!("bsdtar -x {image}: {stderr}"),
        }
    }
    let links = dir.with_extension("xorriso-links");
    tool(
        "xorriso",
        &[
            "-osirrox",
            "on",
            "-indev",
            image,
            "-extract",
            "/",
            links.to_str().unwrap(),
        ],
        None,
    );
    let tree = snapshot(dir);
    for (path, node) in &tree.nodes {
        if node.kind != 'l' {
            continue;
        }
        let right = std::fs::read_link(links.join(path)).unwrap();
        if right.as_os_str().as_bytes() == node.data.as_slice() {
            continue;
        }
        let p = dir.join(path);
        std::fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink(&right, &p).unwrap();
        std::os::unix::fs::lchown(&p, Some(node.uid), Some(node.gid)).unwrap();
        touch(&p, node.mtime);
        // Replacing the link changed its directory's time: put it back.
        let parent = p.parent().unwrap();
        let rel = parent
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if let Some(d) = tree.nodes.get(&rel) {
            touch(parent, d.mtime);
        }
    }
    std::fs::remove_dir_all(&links).unwrap();
    skipped
}

fn touch(path: &Path, mtime: i64) {
    let when = format!("@{mtime}");
    crate::common::tool("touch", &["-h", "-d", &when, path.to_str().unwrap()], None);
}

impl Tree {
    /// The tree without the given paths.
    pub fn without(mut self, paths: &[String]) -> Tree {
        self.nodes.retain(|k, _| !paths.contains(k));
        self
    }
}

/// The reference extraction of an image (see [`reference_extract`]) in a fresh scratch
/// directory, kept while the returned guard lives.
pub fn reference(image: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = crate::common::scratch();
    let x = dir.path().join("x");
    reference_extract(image, &x);
    (dir, x)
}
