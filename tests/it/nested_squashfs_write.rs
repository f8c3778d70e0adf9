//! The squashfs writer (`fs::squashfs::write`), driven through the library as the session's
//! commit drives it: images made by mksquashfs (gzip, xz, zstd, lz4; xattrs set with
//! setfattr, devices, FIFOs and sockets from pseudo definitions, hard links, symlinks, a sparse
//! file), changed through an `Overlay` or not at all, rebuilt, written to a file and checked
//! with squashfs-tools: `unsquashfs -s` (compressor, block size, options and flags kept),
//! `-lln`, `-cat`, and `-d` extraction compared with the expected tree (the original's
//! extraction with the same changes made by the host's tools), xattrs read back by getfattr.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use isofish::fs::squashfs::SquashFs;
use isofish::fs::{rebuild, FileKind, FileSystem, Xattr};
use isofish::overlay::{fresh, Content, Overlay, Provenance};
use isofish::source::{FileSource, Source};

use crate::common::{scratch, tool};
use crate::nested_util::{make_tree, noise, write, Kinds};

/// The pseudo definitions of the special files (the tests need not run as root to make them).
const PSEUDO: [&str; 5] = [
    "dev d 755 0 0",
    "dev/null c 666 0 0 1 3",
    "dev/sda1 b 660 0 6 8 1",
    "dev/fifo i 600 0 0 f",
    "dev/socket i 600 0 0 s",
];

/// A source tree with every kind of entry, a sparse file and attributes; returns its path.
fn source_tree(dir: &Path) -> PathBuf {
    let top = dir.join("tree");
    make_tree(
        &top,
        Kinds {
            special: false,
            hard_links: true,
            owners: true,
            many: 300,
            large: 400_000,
        },
    );
    // Sparse: a hole of three blocks of 128 KiB, then data.
    let mut sparse = vec![0u8; 3 << 17];
    sparse.extend_from_slice(b"after the hole\n");
    write(&top.join("sparse.bin"), &sparse);
    write(&top.join("dup-a.bin"), &noise(200_000, 3));
    write(&top.join("dup-b.bin"), &noise(200_000, 3));
    let set = |name: &str, value: &str, path: &str| {
        let p = top.join(path);
        tool(
            "setfattr",
            &["-h", "-n", name, "-v", value, p.to_str().unwrap()],
            None,
        );
    };
    set("user.mime", "text/plain", "hello.txt");
    set("user.shared", "same", "dir/large.bin");
    set("user.shared", "same", "dir/sub/deep.txt");
    set("trusted.tag", "t", "dir");
    top
}

/// mksquashfs of `tree` into `image` with `comp` and `extra` options, the special files
/// made by pseudo definitions.
fn mksquashfs(tree: &Path, image: &Path, comp: &str, extra: &[&str]) {
    let mut args = vec![
        tree.to_str().unwrap(),
        image.to_str().unwrap(),
        "-comp",
        comp,
        "-noappend",
        "-quiet",
        "-no-progress",
    ];
    args.extend_from_slice(extra);
    for p in PSEUDO {
        args.extend_from_slice(&["-p", p]);
    }
    tool("mksquashfs", &args, None);
}

fn open(image: &Path) -> Arc<SquashFs> {
    let source: Arc<dyn Source> = Arc::new(FileSource::open(image).unwrap());
    Arc::new(SquashFs::open(source).unwrap())
}

/// Rebuilds `fs` holding `tree` into `out`; returns the writer's warnings.
fn rebuild_into(
    fs: &SquashFs,
    tree: &dyn FileSystem,
    provenance: &dyn Fn(u64) -> Provenance,
    out: &Path,
) -> Vec<String> {
    let plan = rebuild::plan(fs, tree, provenance).unwrap();
    let file = std::fs::File::create(out).unwrap();
    isofish::plan::to_file::write(&plan, &file, &|_| {}).unwrap();
    plan.warnings().to_vec()
}

/// `unsquashfs -d` of `image` into `into`.
fn extract(image: &Path, into: &Path) {
    tool(
        "unsquashfs",
        &[
            "-no-progress",
            "-d",
            into.to_str().unwrap(),
            image.to_str().unwrap(),
        ],
        None,
    );
}

/// `unsquashfs -s` without the lines that change with the content (sizes, counts).
fn settings(image: &Path) -> Vec<String> {
    let out = tool("unsquashfs", &["-s", image.to_str().unwrap()], None);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .filter(|l| {
            !["Filesystem size", "Number of", "Found a valid"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .map(String::from)
        .collect()
}

/// `unsquashfs -lln` of `image`: one line per entry with numeric owners.
fn listing(image: &Path) -> String {
    String::from_utf8(tool("unsquashfs", &["-lln", image.to_str().unwrap()], None)).unwrap()
}

/// The extended attributes under `dir`, as getfattr dumps them, by path relative to `dir`.
fn attributes(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let out = tool(
        "getfattr",
        &[
            "-R",
            "-P",
            "-h",
            "-d",
            "-m",
            "-",
            "--absolute-names",
            dir.to_str().unwrap(),
        ],
        None,
    );
    let mut map = BTreeMap::new();
    let mut current = None;
    for line in String::from_utf8(out).unwrap().lines() {
        if let Some(path) = line.strip_prefix("# file: ") {
            let rel = path.strip_prefix(dir.to_str().unwrap()).unwrap_or(path);
            current = Some(rel.to_string());
        } else if !line.is_empty() {
            let key = current.clone().unwrap();
            map.entry(key)
                .or_insert_with(Vec::new)
                .push(line.to_string());
        }
    }
    map
}

/// Everything a user sees of the tree at `dir`, path by path: kind, permissions, owners,
/// size, a digest of the content, the symlink target, device numbers, link counts,
/// attributes, and the modification time of non-directories not in `touched`.
fn describe(dir: &Path, touched: &[&str]) -> BTreeMap<String, String> {
    let xattrs = attributes(dir);
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        let m = std::fs::symlink_metadata(&p).unwrap();
        let rel = p.strip_prefix(dir).unwrap().to_str().unwrap().to_string();
        let ft = m.file_type();
        let mut d = format!(
            "mode {:o} owner {}:{} nlink {}",
            m.mode(),
            m.uid(),
            m.gid(),
            m.nlink()
        );
        if ft.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else {
            if !touched.contains(&rel.as_str()) {
                d += &format!(" mtime {}", m.mtime());
            }
            if ft.is_file() {
                let data = std::fs::read(&p).unwrap();
                let digest = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
                    (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                });
                d += &format!(" size {} digest {digest:x}", data.len());
            } else if ft.is_symlink() {
                d += &format!(" -> {}", std::fs::read_link(&p).unwrap().display());
            } else if ft.is_block_device() || ft.is_char_device() {
                d += &format!(" rdev {:x}", m.rdev());
            }
        }
        if let Some(x) = xattrs.get(&format!("/{rel}")).or(xattrs.get(&rel)) {
            d += &format!(" xattrs {x:?}");
        }
        out.insert(rel, d);
    }
    out
}

/// Asserts that two listings are the same, showing the lines that differ.
fn same(got: &str, want: &str, what: &str) {
    let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
    let extra: Vec<&&str> = g.iter().filter(|l| !w.contains(l)).collect();
    let missing: Vec<&&str> = w.iter().filter(|l| !g.contains(l)).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{what}: unexpected {extra:#?}\nmissing {missing:#?}"
    );
    assert_eq!(g.len(), w.len(), "{what}: {got}");
}

#[test]
fn an_unchanged_image_rebuilds_to_the_same_tree_with_its_data_copied() {
    let dir = scratch();
    let tree = source_tree(dir.path());
    for comp in ["gzip", "xz", "zstd", "lz4"] {
        let image = dir.path().join(format!("{comp}.sqfs"));
        mksquashfs(&tree, &image, comp, &[]);
        let fs = open(&image);
        let out = dir.path().join(format!("{comp}-same.sqfs"));
        let warnings = rebuild_into(&fs, &*fs, &|_| Provenance::UNCHANGED, &out);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(settings(&out), settings(&image), "{comp}");
        same(&listing(&out), &listing(&image), comp);
        let (a, b) = (
            dir.path().join(format!("{comp}-a")),
            dir.path().join(format!("{comp}-b")),
        );
        extract(&image, &a);
        extract(&out, &b);
        let want = describe(&a, &[]);
        assert!(
            want["hello.txt"].contains("user.mime=\\\"text/plain\\\""),
            "{want:?}"
        );
        assert!(want["dev/sda1"].contains("rdev 801"), "{want:?}");
        assert_eq!(describe(&b, &[]), want, "{comp}");
        // The data blocks are copied, not compressed again: the image keeps its size (the
        // tables may pack a little differently).
        let (old, new) = (
            std::fs::metadata(&image).unwrap().len(),
            std::fs::metadata(&out).unwrap().len(),
        );
        assert!(new.abs_diff(old) <= old / 50, "{comp}: {old} -> {new}");
    }
}
