//! EROFS images made by mkfs.erofs (erofs-utils), uncompressed (compact and extended inodes,
//! inline or not, chunked) and lz4/lz4hc (small and big physical clusters, tail packing), read
//! by isofish exactly as `fsck.erofs --extract` extracts them: names, kinds, modes, owners,
//! times, symlink targets, device numbers, hard links and every byte (also with full legacy
//! lcluster indexes, extended inodes, and in reads from any offset); the same image as the
//! Fedora-like `LiveOS/squashfs.img` of an ISO and inside a squashfs inside an ISO; extended
//! attributes as getfattr reads them from the tree mkfs.erofs was given; damaged images
//! refused with an error naming image and structure, never a panic or a hang; seeded mutants
//! likewise.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use isofish::fs::walk::{walk, Limits};
use isofish::fs::{self, MountOptions};
use isofish::source::{FileSource, Source};

use crate::common::{scratch, tool, xorriso_rr};
use crate::host_tree::{assert_same, snapshot, Tree};
use crate::mutants::run_mutants;
use crate::nested_util::{extract, make_tree, run, run_err, walk_damaged, Kinds};

const KINDS: Kinds = Kinds {
    special: true,
    hard_links: true,
    owners: true,
    many: 3000,
    large: 5 << 20,
};

/// Files with shared extended attributes (mkfs.erofs shares those met more than twice).
const SHARED: usize = 5;

fn setfattr(name: &str, value: &str, path: &Path) {
    tool(
        "setfattr",
        &["-h", "-n", name, "-v", value, path.to_str().unwrap()],
        None,
    );
}

/// What [`make_tree`] lacks: incompressible data, a deep directory, odd permissions, an owner
/// too large for a compact inode, and extended attributes (inline, long, on a directory, in
/// the trusted namespace, and shared).
fn extras(top: &Path) {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let random: Vec<u8> = (0..2 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(top.join("random.bin"), random).unwrap();
    let mut deep = top.join("deep");
    for i in 0..40 {
        deep = deep.join(format!("level{i}"));
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("bottom.txt"), b"at the bottom\n").unwrap();
    let mode = |p: &Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    };
    std::fs::write(top.join("locked"), b"nobody may read this\n").unwrap();
    mode(&top.join("locked"), 0o000);
    std::fs::create_dir(top.join("sticky")).unwrap();
    mode(&top.join("sticky"), 0o1777);
    std::fs::create_dir(top.join("setgid")).unwrap();
    std::fs::write(top.join("setgid/big-owner"), b"owned by 70000\n").unwrap();
    std::os::unix::fs::chown(top.join("setgid/big-owner"), Some(70000), Some(70001)).unwrap();
    mode(&top.join("setgid"), 0o2775);
    setfattr("user.x", "hello", &top.join("hello.txt"));
    setfattr("user.empty", "", &top.join("empty"));
    let long = format!("0x{}", "ab".repeat(1000));
    setfattr("user.long", &long, &top.join("dir/large.bin"));
    setfattr("trusted.overlay.opaque", "y", &top.join("dir"));
    setfattr("user.on-a-dir", "yes", &top.join("dir/sub"));
    for i in 0..SHARED {
        let f = top.join(format!("many/entry-with-a-long-name-{i:05}.txt"));
        setfattr("user.shared", "the same value on several files", &f);
    }
}

/// The tree every image of these tests holds.
fn tree(top: &Path) {
    make_tree(top, KINDS);
    extras(top);
}

fn mkfs(tree: &Path, image: &Path, args: &[&str]) {
    let mut words = args.to_vec();
    words.extend(["--quiet", image.to_str().unwrap(), tree.to_str().unwrap()]);
    tool("mkfs.erofs", &words, None);
}

/// fsck.erofs's extraction of `image` into `dir`, as a tree. fsck.erofs 1.5 drops set-id and
/// sticky bits (it changes the owner after the mode) and writes hard links as separate
/// copies: those two come from `source`, the tree mkfs.erofs was given, once the loss is seen
/// to be exactly that.
fn fsck_tree(image: &Path, dir: &Path, source: &Tree) -> Tree {
    let extract = format!("--extract={}", dir.display());
    tool("fsck.erofs", &[&extract, image.to_str().unwrap()], None);
    let mut t = snapshot(dir);
    for (path, node) in &mut t.nodes {
        let src = &source.nodes[path];
        if src.mode & 0o7000 != 0 && node.mode != src.mode {
            assert_eq!(node.mode, src.mode & 0o777, "{path}: fsck.erofs mode");
            node.mode = src.mode;
        }
    }
    assert!(t.links.is_empty(), "fsck.erofs made hard links now");
    t.links = source.links.clone();
    t
}

/// `dump.erofs` lines about `path` in `image`, as `Key: value` pairs.
fn dump(image: &Path, path: &str) -> BTreeMap<String, String> {
    let out = tool(
        "dump.erofs",
        &[&format!("--path={path}"), image.to_str().unwrap()],
        None,
    );
    let text = String::from_utf8(out).unwrap();
    let mut fields = BTreeMap::new();
    for line in text.lines() {
        // `NID: 47   Links: 1   Layout: 3   Compression ratio: 62.29%`
        let words: Vec<&str> = line.split("  ").filter(|w| !w.trim().is_empty()).collect();
        for w in words {
            if let Some((k, v)) = w.split_once(": ") {
                fields.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
    }
    fields
}

/// Where the inode of `path` lies in `image` (dump.erofs's nid and metadata start block),
/// with its on-disk size and the size of its xattr body.
fn inode_at(image: &Path, path: &str) -> (usize, usize, usize) {
    let sb = String::from_utf8(tool("dump.erofs", &["-s", image.to_str().unwrap()], None)).unwrap();
    let meta: usize = sb
        .lines()
        .find_map(|l| l.strip_prefix("Filesystem inode metadata start block:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let f = dump(image, path);
    let num = |k: &str| -> usize { f[k].parse().unwrap() };
    (
        meta * 4096 + num("NID") * 32,
        num("Inode size"),
        num("Xattr size"),
    )
}

#[test]
fn every_layout_reads_as_fsck_erofs_extracts() {
    let dir = scratch();
    let top = dir.path().join("tree");
    tree(&top);
    let source = snapshot(&top);
    for (name, args, detail) in [
        ("plain", &[][..], ""),
        ("compact", &["-T1700000000"][..], ""),
        ("lz4", &["-zlz4"][..], ", lz4"),
        ("lz4hc", &["-zlz4hc,9"][..], ", lz4"),
        ("lz4hc-big", &["-zlz4hc", "-C65536"][..], ", lz4"),
        ("ztailpacking", &["-zlz4hc", "-Eztailpacking"][..], ", lz4"),
        ("chunked", &["--chunksize=8192"][..], ""),
        ("noinline", &["-Enoinline_data"][..], ""),
        (
            "extended",
            &["-zlz4", "-Eforce-inode-extended"][..],
            ", lz4",
        ),
        (
            "big-ztailpacking",
            &["-zlz4hc", "-C65536", "-Eztailpacking"][..],
            ", lz4",
        ),
        // Full (legacy) lcluster indexes: plain ones written without zero padding, so the
        // probe cannot name the compression.
        ("legacy", &["-zlz4", "-Elegacy-compress"][..], ""),
        (
            "legacy-big",
            &["-zlz4hc", "-C16384", "-Elegacy-compress"][..],
            ", lz4",
        ),
        (
            "legacy-ztailpacking",
            &["-zlz4hc", "-Eztailpacking", "-Elegacy-compress"][..],
            ", lz4",
        ),
    ] {
        let image = dir.path().join(format!("{name}.erofs"));
        mkfs(&top, &image, args);
        let theirs = fsck_tree(&image, &dir.path().join(format!("{name}-fsck")), &source);
        assert!(theirs.nodes.contains_key("dev/sda1") && !theirs.links.is_empty());
        let ours = dir.path().join(format!("{name}-isofish"));
        extract(&image, &[], "/", &ours);
        assert_same(&theirs, &snapshot(&ours), name);
        let mounts = String::from_utf8(run(&image, &["mounts"])).unwrap();
        assert_eq!(mounts, format!("/dev/sda on / (erofs{detail})\n"), "{name}");
    }
    // -T made compact (32-byte) inodes, whose time is the superblock's.
    let compact = dir.path().join("compact.erofs");
    assert_eq!(dump(&compact, "/hello.txt")["Inode size"], "32");
    assert_eq!(dump(&compact, "/setgid/big-owner")["Inode size"], "64");
}

/// The file at `path` (from the root) of `erofs`.
fn ino_of(erofs: &dyn fs::FileSystem, path: &str) -> fs::Ino {
    let mut ino = erofs.root();
    for name in path.split('/').filter(|n| !n.is_empty()) {
        ino = erofs.lookup(ino, name.as_bytes()).unwrap().unwrap().ino;
    }
    ino
}

#[test]
fn reads_at_any_offset_give_the_bytes_fsck_erofs_extracts() {
    let dir = scratch();
    let top = dir.path().join("tree");
    tree(&top);
    let source = snapshot(&top);
    let files = [
        "/dir/large.bin",
        "/dir/odd-size.bin",
        "/random.bin",
        "/hello.txt",
    ];
    for (name, args) in [
        ("lz4hc", &["-zlz4hc"][..]),
        ("big", &["-zlz4hc", "-C65536", "-Eztailpacking"][..]),
        ("legacy", &["-zlz4hc", "-C16384", "-Elegacy-compress"][..]),
        ("plain", &[][..]),
    ] {
        let image = dir.path().join(format!("{name}.erofs"));
        mkfs(&top, &image, args);
        let out = dir.path().join(format!("{name}-fsck"));
        fsck_tree(&image, &out, &source);
        let src: Arc<dyn Source> = Arc::new(FileSource::open(&image).unwrap());
        let erofs = fs::open(src, &MountOptions::default()).unwrap();
        for file in files {
            let want = std::fs::read(out.join(&file[1..])).unwrap();
            let ino = ino_of(erofs.as_ref(), file);
            // Reads of odd lengths from odd places, forwards then backwards, cut extents
            // anywhere; each must give the bytes fsck.erofs wrote.
            for step in [1000, 65_537, 1 << 20] {
                let mut starts: Vec<usize> = (0..want.len()).step_by(step * 3 / 2 + 7).collect();
                starts.extend(starts.clone().into_iter().rev());
                for at in starts {
                    let mut buf = vec![0u8; step];
                    let n = erofs.read_at(ino, at as u64, &mut buf).unwrap();
                    let end = (at + step).min(want.len());
                    assert_eq!(n, end - at, "{name} {file} at {at}");
                    assert!(buf[..n] == want[at..end], "{name} {file} at {at}+{step}");
                }
            }
            let mut buf = [0u8; 4];
            let past = erofs.read_at(ino, want.len() as u64, &mut buf).unwrap();
            assert_eq!(past, 0, "{name} {file}: a read at the end gives nothing");
        }
    }
}

/// `isofish --ro -a ISO` followed by `words`, stdout as text.
fn iso_run(iso: &Path, words: &[&str]) -> String {
    String::from_utf8(run(iso, words)).unwrap()
}

#[test]
fn fedora_like_chain_reads_the_erofs_root() {
    let dir = scratch();
    let top = dir.path().join("tree");
    tree(&top);
    let source = snapshot(&top);
    let media = dir.path().join("media");
    std::fs::create_dir_all(media.join("LiveOS")).unwrap();
    let img = media.join("LiveOS/squashfs.img");
    mkfs(&top, &img, &["-zlz4hc"]);
    let theirs = fsck_tree(&img, &dir.path().join("fsck"), &source);
    let iso = dir.path().join("live.iso");
    xorriso_rr(&media, &iso);

    let ours = dir.path().join("isofish");
    extract(
        &iso,
        &["mount-loop", "/LiveOS/squashfs.img", "/e", ":"],
        "/e",
        &ours,
    );
    assert_same(&theirs, &snapshot(&ours), "erofs in an ISO");
    assert_eq!(
        iso_run(&iso, &["vfs-type", "/LiveOS/squashfs.img"]),
        "erofs (lz4)\n"
    );
    assert_eq!(
        iso_run(
            &iso,
            &["mount-loop", "/LiveOS/squashfs.img", "/e", ":", "mounts"]
        ),
        "/dev/sda on / (iso9660)\n/LiveOS/squashfs.img on /e (erofs, lz4)\n"
    );

    // copy-out of a directory from the mount: the bytes as fsck.erofs extracted them.
    let out = dir.path().join("copied");
    std::fs::create_dir(&out).unwrap();
    run(
        &iso,
        &[
            "mount-loop",
            "/LiveOS/squashfs.img",
            "/e",
            ":",
            "copy-out",
            "/e/dir",
            out.to_str().unwrap(),
        ],
    );
    for f in ["large.bin", "odd-size.bin", "sub/deep.txt"] {
        assert_eq!(
            std::fs::read(out.join("dir").join(f)).unwrap(),
            theirs.nodes[&format!("dir/{f}")].data,
            "{f}"
        );
    }

    // One level deeper: the EROFS image as LiveOS/rootfs.img in a squashfs in an ISO.
    let sq_tree = dir.path().join("sq");
    std::fs::create_dir_all(sq_tree.join("LiveOS")).unwrap();
    std::fs::copy(&img, sq_tree.join("LiveOS/rootfs.img")).unwrap();
    let media2 = dir.path().join("media2");
    std::fs::create_dir_all(media2.join("LiveOS")).unwrap();
    tool(
        "mksquashfs",
        &[
            sq_tree.to_str().unwrap(),
            media2.join("LiveOS/squashfs.img").to_str().unwrap(),
            "-comp",
            "xz",
            "-noappend",
            "-quiet",
            "-no-progress",
        ],
        None,
    );
    let iso2 = dir.path().join("live2.iso");
    xorriso_rr(&media2, &iso2);
    let ours2 = dir.path().join("isofish2");
    extract(
        &iso2,
        &[
            "mount-loop",
            "/LiveOS/squashfs.img",
            "/s",
            ":",
            "mount-loop",
            "/s/LiveOS/rootfs.img",
            "/e",
            ":",
        ],
        "/e",
        &ours2,
    );
    assert_same(&theirs, &snapshot(&ours2), "erofs in a squashfs in an ISO");
}

/// `getfattr -d` of every path below `top` (symlinks not followed): path (relative, no `./`)
/// to name and value.
fn getfattr(top: &Path) -> BTreeMap<String, BTreeMap<Vec<u8>, Vec<u8>>> {
    let out = tool(
        "getfattr",
        &["-R", "-h", "-d", "-m", "-", "-e", "hex", "."],
        Some(top),
    );
    let text = String::from_utf8(out).unwrap();
    let mut all: BTreeMap<String, BTreeMap<Vec<u8>, Vec<u8>>> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("# file: ") {
            current = p.trim_start_matches("./").to_string();
        } else if !line.is_empty() {
            let (name, value) = line.split_once('=').unwrap_or((line, "0x"));
            let hex = value.strip_prefix("0x").unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            all.entry(current.clone())
                .or_default()
                .insert(name.as_bytes().to_vec(), bytes);
        }
    }
    all
}

#[test]
fn xattrs_match_getfattr_on_the_source_tree() {
    let dir = scratch();
    let top = dir.path().join("tree");
    tree(&top);
    let expected = getfattr(&top);
    assert!(expected.len() > SHARED + 3, "{expected:?}");
    for (name, args) in [("plain", &[][..]), ("lz4", &["-zlz4hc"][..])] {
        let image = dir.path().join(format!("{name}.erofs"));
        mkfs(&top, &image, args);
        let src: Arc<dyn Source> = Arc::new(FileSource::open(&image).unwrap());
        let erofs = fs::open(src, &MountOptions::default()).unwrap();
        let mut ours = BTreeMap::new();
        let complete = walk(erofs.as_ref(), Limits::default(), false, &mut |v| {
            let attrs = erofs.xattrs(v.entry.ino)?;
            if !attrs.is_empty() {
                let path = String::from_utf8(v.path.to_vec()).unwrap();
                let map: BTreeMap<_, _> = attrs.into_iter().map(|x| (x.name, x.value)).collect();
                ours.insert(path, map);
            }
            Ok(())
        })
        .unwrap();
        assert!(complete);
        assert_eq!(ours, expected, "{name}");
    }
}

/// A copy of `good` with `bytes` written at `at`.
fn patched(good: &[u8], at: usize, bytes: &[u8]) -> Vec<u8> {
    let mut bad = good.to_vec();
    bad[at..at + bytes.len()].copy_from_slice(bytes);
    bad
}

#[test]
fn damaged_images_fail_cleanly() {
    let dir = scratch();
    let top = dir.path().join("tree");
    make_tree(&top, Kinds::plain(50, 400_000));
    let image = dir.path().join("good.erofs");
    mkfs(&top, &image, &["-zlz4hc"]);
    let good = std::fs::read(&image).unwrap();
    let sb = 1024;
    let (hello, hello_size, _) = inode_at(&image, "/hello.txt");
    let (link, link_size, _) = inode_at(&image, "/slow-link");
    let (sub, sub_size, sub_xattrs) = inode_at(&image, "/dir");
    // All of these are extended inodes (their times differ from the build time): the size is
    // a u64 at byte 8, the mode a u16 at byte 4.
    assert_eq!((hello_size, link_size, sub_size), (64, 64, 64));
    let huge = (1u64 << 40).to_le_bytes();
    // The first dirent of /dir (inline after its inode): nid u64, nameoff u16, type, reserved.
    let dirent = sub + sub_size + sub_xattrs;
    assert_eq!(dump(&image, "/dir")["Layout"], "2", "/dir is inline");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated in the superblock",
            good[..1100].to_vec(),
            "corrupt erofs superblock at offset 1024",
        ),
        (
            "truncated in the middle",
            good[..good.len() / 2].to_vec(),
            "corrupt erofs block",
        ),
        (
            "block size bits 40",
            patched(&good, sb + 12, &[40]),
            "corrupt erofs superblock at offset 1024: invalid super block: invalid block size bits: 40",
        ),
        (
            "unknown incompatible feature",
            patched(&good, sb + 80, &0x8000_0001u32.to_le_bytes()),
            "unsupported EROFS incompatible filesystem features 0x80000000",
        ),
        (
            "extra devices",
            patched(&patched(&good, sb + 80, &0x9u32.to_le_bytes()), sb + 86, &[2, 0]),
            "unsupported EROFS image spread over 2 extra devices",
        ),
        (
            "metabox",
            patched(&good, sb + 80, &0x101u32.to_le_bytes()),
            "unsupported EROFS metabox",
        ),
        (
            "root nid past the end",
            patched(&good, sb + 14, &[0xff, 0xff]),
            "corrupt erofs",
        ),
        (
            "file size 1 TiB",
            patched(&good, hello + 8, &huge),
            "corrupt erofs",
        ),
        (
            "inline symlink target of 1 TiB",
            patched(&good, link + 8, &huge),
            "inline data crosses metadata block boundary",
        ),
        (
            // Extended format, flat plain layout: the crate would read it block by block.
            "plain symlink target of 1 TiB",
            patched(&patched(&good, link, &[1, 0]), link + 8, &huge),
            "corrupt erofs symlink",
        ),
        (
            "plain directory of 1 TiB",
            patched(&patched(&good, sub, &[1, 0]), sub + 8, &huge),
            "is over the 67108864-byte limit",
        ),
        (
            // Extended format, compressed (full index) layout, 2 MiB.
            "compressed directory of 2 MiB",
            patched(&patched(&good, sub, &[3, 0]), sub + 8, &(2u64 << 20).to_le_bytes()),
            "unsupported compressed EROFS directory /dir of 2097152 bytes",
        ),
        (
            "inode without a type",
            patched(&good, hello + 4, &0o644u16.to_le_bytes()),
            "corrupt erofs",
        ),
        (
            "dirent name offset",
            patched(&good, dirent + 8, &[0xff, 0xff]),
            "corrupt erofs directory",
        ),
        (
            // Dirents are 12 bytes, sorted by name: the third follows `.` and `..`.
            "dirent nid far away",
            patched(&good, dirent + 24, &u64::MAX.to_le_bytes()),
            "corrupt erofs",
        ),
    ];
    for (i, (what, bytes, message)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.erofs"));
        std::fs::write(&path, bytes).unwrap();
        let (ok, _) = walk_damaged(&path, i);
        assert!(!ok, "{what}: read without error");
        let err = run_err(&path, &["find", "/", ":", "tar-out", "/", "/dev/null"]);
        assert!(
            err.starts_with("isofish: error:") && err.contains(path.to_str().unwrap()),
            "{what}: {err}"
        );
        assert!(err.contains(message), "{what}: {err}");
        eprintln!("{what}: {}", err.trim_end());
    }
}

#[test]
fn mutants_never_panic_or_hang() {
    let dir = scratch();
    let top = dir.path().join("tree");
    make_tree(&top, Kinds::plain(40, 200_000));
    extras(&top);
    for (name, args, seed) in [
        ("plain", &[][..], 0xe20f_5001u64),
        ("lz4hc", &["-zlz4hc", "-C16384"][..], 0xe20f_5002),
        ("chunked", &["--chunksize=8192"][..], 0xe20f_5003),
        (
            "ztailpacking",
            &["-zlz4", "-Eztailpacking"][..],
            0xe20f_5004,
        ),
    ] {
        let image = dir.path().join(format!("{name}.erofs"));
        mkfs(&top, &image, args);
        let base = std::fs::read(&image).unwrap();
        let (ok, failed, _) = run_mutants(
            name,
            seed,
            300,
            "mutant.erofs",
            &MountOptions::default(),
            |rng| {
                let mut bytes = base.clone();
                if rng.below(10) == 0 {
                    bytes.truncate(1024 + rng.below(base.len() - 1024));
                    return bytes;
                }
                // Mostly the superblock and the metadata near it, sometimes anywhere.
                for _ in 0..1 + rng.below(8) {
                    let at = match rng.below(3) {
                        0 => 1024 + rng.below(128),
                        1 => rng.below(base.len().min(16384)),
                        _ => rng.below(base.len()),
                    };
                    bytes[at] = match rng.below(3) {
                        0 => 0,
                        1 => 0xff,
                        _ => rng.next() as u8,
                    };
                }
                bytes
            },
        );
        eprintln!("{name}: {ok} read, {failed} refused");
        assert!(ok > 0 && failed > 0, "{name}: {ok} read, {failed} refused");
    }
}

#[test]
fn a_directory_loop_is_left_out() {
    let dir = scratch();
    let top = dir.path().join("tree");
    std::fs::create_dir_all(top.join("dir/sub")).unwrap();
    std::fs::write(top.join("dir/f"), b"a\n").unwrap();
    let image = dir.path().join("loop.erofs");
    mkfs(&top, &image, &[]);
    let root_nid: u64 = dump(&image, "/")["NID"].parse().unwrap();
    let (at, size, xattrs) = inode_at(&image, "/dir");
    // The dirents of /dir: `.`, `..`, `f`, `sub`; `sub` now names the root.
    let loop_image = dir.path().join("looped.erofs");
    let good = std::fs::read(&image).unwrap();
    std::fs::write(
        &loop_image,
        patched(&good, at + size + xattrs + 36, &root_nid.to_le_bytes()),
    )
    .unwrap();
    let out = crate::common::isofish()
        .timeout(std::time::Duration::from_secs(20))
        .args(["--ro", "-a", loop_image.to_str().unwrap(), "find", "/"])
        .output()
        .unwrap();
    // The looping entry is left out of /dir's listing, said with /dir's inode, exit 1.
    assert_eq!(String::from_utf8_lossy(&out.stdout), "dir\ndir/f\n");
    let err = String::from_utf8_lossy(&out.stderr);
    let warning = format!(
        "{}: erofs directory at offset {at}: entry \"sub\" left out: ",
        loop_image.display()
    );
    assert!(
        err.contains(&warning) && err.contains("a directory loop"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
}

#[test]
fn info_matches_dump_erofs() {
    let dir = scratch();
    let top = dir.path().join("tree");
    make_tree(&top, Kinds::plain(10, 100_000));
    for (name, args) in [
        ("plain", &[][..]),
        ("chunked", &["--chunksize=8192"][..]),
        ("lz4hc", &["-zlz4hc", "-Eztailpacking"][..]),
    ] {
        let image = dir.path().join(format!("{name}.erofs"));
        mkfs(&top, &image, args);
        let sb =
            String::from_utf8(tool("dump.erofs", &["-s", image.to_str().unwrap()], None)).unwrap();
        let theirs = |key: &str| -> String {
            sb.lines()
                .find_map(|l| l.strip_prefix(&format!("Filesystem {key}:")))
                .unwrap_or_else(|| panic!("dump.erofs -s has no {key}: {sb}"))
                .trim()
                .to_string()
        };
        let info = String::from_utf8(run(&image, &["info", "/dev/sda"])).unwrap();
        let ours = |key: &str| -> String {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}:")))
                .unwrap_or_else(|| panic!("info has no {key}: {info}"))
                .trim()
                .to_string()
        };
        assert_eq!(ours("UUID"), theirs("UUID").to_lowercase(), "{name}");
        assert_eq!(ours("Blocks"), theirs("blocks"), "{name}");
        assert_eq!(ours("Inodes"), theirs("inode count"), "{name}");
        assert_eq!(ours("Root nid"), theirs("root nid"), "{name}");
        // dump.erofs 1.5 names the features it knows (not ztailpacking, which it lists as
        // nothing): each of its words must be among ours.
        let features = ours("Features");
        let ours_words: Vec<&str> = features.split(' ').collect();
        for word in theirs("features").split_whitespace() {
            assert!(
                ours_words.contains(&word),
                "{name}: {word} not in {features}"
            );
        }
    }
}

#[test]
fn holes_of_a_chunk_based_file_go_out_as_holes() {
    let dir = scratch();
    let top = dir.path().join("tree");
    std::fs::create_dir(&top).unwrap();
    let original = top.join("sparse.bin");
    crate::nested_ext::sparse_file(&original, 1 << 30);
    let image = dir.path().join("chunks.erofs");
    mkfs(&top, &image, &["--chunksize=4096"]);
    // mkfs.erofs 1.5 points every zero chunk at one zero block; later versions record holes
    // as null addresses, which is what this makes of them: the chunk index follows the
    // file's inode, one 4-byte block address per chunk, and the zero block is the one most
    // chunks name. The superblock checksum (crc32c of the first block from the superblock
    // on, without the final inversion) is made again.
    let mut img = std::fs::read(&image).unwrap();
    let inode = (0..4096)
        .step_by(32)
        .find(|&at| u16::from_le_bytes([img[at], img[at + 1]]) == 0x0009)
        .expect("the file's extended chunk-based inode");
    let chunks = (1usize << 30) / 4096;
    let index = inode + 64;
    let addr = |img: &[u8], i: usize| {
        u32::from_le_bytes(img[index + 4 * i..index + 4 * i + 4].try_into().unwrap())
    };
    let mut count = std::collections::HashMap::new();
    for i in 0..chunks {
        *count.entry(addr(&img, i)).or_insert(0) += 1;
    }
    let zero = *count.iter().max_by_key(|(_, n)| **n).unwrap().0;
    for i in 0..chunks {
        if addr(&img, i) == zero {
            img[index + 4 * i..index + 4 * i + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        }
    }
    img[1028..1032].fill(0);
    const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
    let sum = !CRC.checksum(&img[1024..4096]);
    img[1028..1032].copy_from_slice(&sum.to_le_bytes());
    std::fs::write(&image, &img).unwrap();
    // Linux reads the holes as zeros (a loop mount of such an image gives the original,
    // checked by hand); fsck.erofs 1.5 does not read null chunks, so the original file is
    // the reference here.
    let ro = |args: &[&str]| crate::common::run_ro(&image, args);
    let tarball = dir.path().join("out.tar");
    ro(&["tar-out", "/", tarball.to_str().unwrap()]);
    assert!(std::fs::metadata(&tarball).unwrap().len() < 1 << 20);
    let into = dir.path().join("untarred");
    std::fs::create_dir(&into).unwrap();
    tool(
        "tar",
        &[
            "-xf",
            tarball.to_str().unwrap(),
            "-C",
            into.to_str().unwrap(),
        ],
        None,
    );
    crate::ext_gaps::same_sparse(&original, &into.join("sparse.bin"), "tar-out");
    let out = dir.path().join("copied");
    std::fs::create_dir(&out).unwrap();
    ro(&["copy-out", "/sparse.bin", out.to_str().unwrap()]);
    crate::ext_gaps::same_sparse(&original, &out.join("sparse.bin"), "copy-out");
}
