//! Helpers of the ISO 9660 tests: a tree as isofish's library reads it, and the same tree as
//! xorriso, bsdtar and isoinfo extract or list it, in one comparable shape.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

use isofish::fs::walk::{walk, Limits};
use isofish::fs::{self, FileKind, FileSystem, MountOptions};
use isofish::source::{FileSource, Source};

use crate::common::tool;

/// What is compared about one path. `None` fields are not compared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Item {
    pub kind: Option<char>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub mtime: Option<i64>,
    pub nlink: Option<u32>,
    pub target: Option<String>,
    pub rdev: Option<(u32, u32)>,
    /// The md5 of a regular file's bytes (short diffs on failure).
    pub md5: Option<String>,
}

/// Paths (relative, no leading `/`) to items.
pub type Tree = BTreeMap<String, Item>;

fn md5(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    format!("{:x}", Md5::digest(data))
}

fn kind_char(k: FileKind) -> char {
    match k {
        FileKind::File => 'f',
        FileKind::Dir => 'd',
        FileKind::Symlink => 'l',
        FileKind::CharDevice => 'c',
        FileKind::BlockDevice => 'b',
        FileKind::Fifo => 'p',
        FileKind::Socket => 's',
    }
}

/// Opens an image with the library.
pub fn open(img: &Path, options: &str) -> isofish::Result<Arc<dyn FileSystem>> {
    let src: Arc<dyn Source> = Arc::new(FileSource::open(img)?);
    fs::open(src, &MountOptions::parse(options))
}

/// The whole tree as isofish reads it, every field filled.
pub fn ours(img: &Path, options: &str) -> Tree {
    let fs = open(img, options).unwrap_or_else(|e| panic!("{}: {e}", img.display()));
    let mut tree = Tree::new();
    let complete = walk(fs.as_ref(), Limits::default(), true, &mut |v| {
        let m = &v.entry.meta;
        let item = Item {
            kind: Some(kind_char(m.kind)),
            mode: Some(m.mode),
            uid: Some(m.uid),
            gid: Some(m.gid),
            size: Some(m.size),
            mtime: Some(m.mtime.secs),
            nlink: Some(m.nlink),
            target: m
                .symlink
                .as_ref()
                .map(|t| String::from_utf8_lossy(t).into_owned()),
            rdev: m.rdev,
            md5: v.data.map(md5),
        };
        if let Some(data) = v.data {
            assert_eq!(data.len() as u64, m.size, "{:?}: size", v.path);
        }
        tree.insert(String::from_utf8_lossy(v.path).into_owned(), item);
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{}: walk: {e}", img.display()));
    assert!(complete, "walk of {} hit a limit", img.display());
    tree
}

/// The tree below a host directory (lstat, every field filled).
pub fn host_tree(dir: &Path) -> Tree {
    fn visit(root: &Path, dir: &Path, out: &mut Tree) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("readable dir")
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for p in entries {
            let m = std::fs::symlink_metadata(&p).expect("lstat");
            let ft = m.file_type();
            use std::os::unix::fs::FileTypeExt;
            let kind = if ft.is_dir() {
                'd'
            } else if ft.is_symlink() {
                'l'
            } else if ft.is_char_device() {
                'c'
            } else if ft.is_block_device() {
                'b'
            } else if ft.is_fifo() {
                'p'
            } else if ft.is_socket() {
                's'
            } else {
                'f'
            };
            let rel = p
                .strip_prefix(root)
                .expect("below root")
                .to_string_lossy()
                .into_owned();
            let dev = m.rdev();
            out.insert(
                rel,
                Item {
                    kind: Some(kind),
                    mode: Some(m.mode() & 0o7777),
                    uid: Some(m.uid()),
                    gid: Some(m.gid()),
                    size: Some(m.size()),
                    mtime: Some(m.mtime()),
                    nlink: Some(m.nlink() as u32),
                    target: ft.is_symlink().then(|| {
                        std::fs::read_link(&p)
                            .expect("readlink")
                            .to_string_lossy()
                            .into_owned()
                    }),
                    rdev: matches!(kind, 'c' | 'b').then(|| {
                        (
                            (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as u32,
                            ((dev & 0xff) | ((dev >> 12) & !0xff)) as u32,
                        )
                    }),
                    md5: (kind == 'f').then(|| md5(&std::fs::read(&p).expect("read"))),
                },
            );
            if kind == 'd' {
                visit(root, &p, out);
            }
        }
    }
    let mut out = Tree::new();
    visit(dir, dir, &mut out);
    out
}

/// What `xorriso -osirrox on -extract / DIR` extracts (device nodes are not extracted by it).
pub fn xorriso_extract(img: &Path) -> Tree {
    let dir = crate::common::scratch();
    let out = dir.path().join("x");
    tool(
        "xorriso",
        &[
            "-no_rc",
            "-report_about",
            "FAILURE",
            "-osirrox",
            "on",
            "-indev",
            img.to_str().expect("utf-8 path"),
            "-extract",
            "/",
            out.to_str().expect("utf-8 path"),
        ],
        None,
    );
    host_tree(&out)
}

/// One line of `bsdtar -tv --numeric-owner`: mode, links, uid, gid, size or `maj,min`,
/// 3 date fields, then the name (with ` -> target` or ` link to other`).
fn parse_listing_line(line: &str) -> Option<(String, Item)> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let perms = fields.first()?;
    let name_start = {
        // The name starts after the 8th whitespace-separated field.
        let mut idx = 0;
        let mut seen = 0;
        let bytes = line.as_bytes();
        while seen < 8 {
            while idx < bytes.len() && bytes[idx] != b' ' {
                idx += 1;
            }
            while idx < bytes.len() && bytes[idx] == b' ' {
                idx += 1;
            }
            seen += 1;
        }
        idx
    };
    let rest = &line[name_start..];
    let (name, target) = match rest.split_once(" -> ") {
        Some((n, t)) => (n, Some(t.to_string())),
        None => (rest.split(" link to ").next()?, None),
    };
    let pb = perms.as_bytes();
    let mut mode = 0u32;
    for (i, &c) in pb[1..10].iter().enumerate() {
        let bit = 1 << (8 - i);
        match c {
            b'-' | b'S' | b'T' => {}
            _ => mode |= bit,
        }
    }
    if matches!(pb[3], b's' | b'S') {
        mode |= 0o4000;
    }
    if matches!(pb[6], b's' | b'S') {
        mode |= 0o2000;
    }
    if matches!(pb[9], b't' | b'T') {
        mode |= 0o1000;
    }
    let kind = match pb[0] {
        b'-' => 'f',
        b'h' => 'f',
        c => c as char,
    };
    let rdev = matches!(kind, 'c' | 'b').then(|| {
        let (a, b) = fields[4].split_once(',').expect("maj,min");
        (a.parse().expect("major"), b.parse().expect("minor"))
    });
    // bsdtar prints `./a` for some images (RRIP 1.12 ones) and `a` for others.
    let name = name.strip_prefix("./").unwrap_or(name);
    Some((
        name.trim_end_matches('/').to_string(),
        Item {
            kind: Some(kind),
            mode: Some(mode),
            uid: fields[2].parse().ok(),
            gid: fields[3].parse().ok(),
            nlink: fields[1].parse().ok(),
            target,
            rdev,
            ..Item::default()
        },
    ))
}

/// `bsdtar -tv --numeric-owner` of an image, the root (`.`) left out.
pub fn bsdtar_listing(img: &Path) -> Tree {
    let out = tool(
        "bsdtar",
        &["-tvf", img.to_str().expect("utf-8 path"), "--numeric-owner"],
        None,
    );
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(parse_listing_line)
        .filter(|(n, _)| n != ".")
        .collect()
}

/// What `bsdtar -xf` extracts: contents, sizes, mtimes, symlink targets and link counts
/// (device nodes are left out: a container may not create them; their numbers come from the
/// listing), with modes and owners from the listing (extraction as non-root would change them).
pub fn bsdtar_tree(img: &Path) -> Tree {
    let listing = bsdtar_listing(img);
    let dir = crate::common::scratch();
    let mut args = vec![
        "-xf".to_string(),
        img.to_str().expect("utf-8 path").to_string(),
        "-C".to_string(),
        dir.path().to_str().expect("utf-8 path").to_string(),
    ];
    for (name, item) in &listing {
        if matches!(item.kind, Some('c' | 'b')) {
            args.push("--exclude".into());
            args.push(name.clone());
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tool("bsdtar", &args, None);
    let mut tree = host_tree(dir.path());
    for (name, l) in listing {
        let item = tree.entry(name).or_insert_with(|| Item {
            kind: l.kind,
            rdev: l.rdev,
            ..Item::default()
        });
        item.mode = l.mode;
        item.uid = l.uid;
        item.gid = l.gid;
    }
    tree
}

/// Path names listed by `isoinfo -f` (with `-J` or `-R` in `extra`), without the leading `/`.
pub fn isoinfo_names(img: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["-f", "-i", img.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    let out = tool("isoinfo", &args, None);
    let mut names: Vec<String> = String::from_utf8_lossy(&out)
        .lines()
        .map(|l| l.trim_start_matches('/').to_string())
        .filter(|l| !l.is_empty())
        .collect();
    names.sort();
    names
}

/// Keeps only the fields `keep` sets from `src`, in every item.
pub fn project(tree: &Tree, keep: impl Fn(&str, &Item) -> Item) -> Tree {
    tree.iter().map(|(k, v)| (k.clone(), keep(k, v))).collect()
}

/// Asserts two trees are equal, listing every difference.
pub fn assert_same(what: &str, ours: &Tree, theirs: &Tree) {
    let mut diffs = Vec::new();
    for (k, v) in ours {
        match theirs.get(k) {
            None => diffs.push(format!("only isofish has {k:?}: {v:?}")),
            Some(t) if t != v => diffs.push(format!("{k:?}:\n  isofish {v:?}\n  oracle  {t:?}")),
            _ => {}
        }
    }
    for (k, v) in theirs {
        if !ours.contains_key(k) {
            diffs.push(format!("only the oracle has {k:?}: {v:?}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{what}: {} differences\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
