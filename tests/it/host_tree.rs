//! A snapshot of a directory tree on the host, to compare what isofish extracted with what a
//! third-party tool extracted: names, types, permission bits, owners, modification times,
//! symlink targets, device numbers, file contents and which names are hard links of each other.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

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
