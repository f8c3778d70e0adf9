//! `getxattrs`, `lgetxattrs`, `getxattr`, `lgetxattr` and `tar-out xattrs:true` agree with the
//! host's tools: on squashfs images made by mksquashfs from trees whose attributes `setfattr`
//! set, isofish lists for every file what `getfattr` reads from unsquashfs's extraction, and
//! its archives unpack (GNU tar `--xattrs`, bsdtar `--xattrs`) to the same attributes. The
//! helpers here (the tree, the tmpfs scratch, both sides' attribute maps) serve the squashfs
//! tests too.

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::Path;

use crate::common::{fixture, isofish, run_ro, tool, xorriso_rr};
use crate::nested_squashfs::mksquashfs;

/// Attributes per file (relative path, no leading `./`): (name, value) sorted by name.
pub type Attrs = BTreeMap<String, Vec<(String, Vec<u8>)>>;

/// A scratch directory on tmpfs: unlike most disc filesystems it takes values of any size up
/// to Linux's 64 KiB, so unsquashfs and tar can restore every attribute of the trees.
pub fn tmpfs_scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("isofish-xattr")
        .tempdir_in("/dev/shm")
        .expect("a scratch directory on /dev/shm (tmpfs)")
}

fn setfattr(path: &Path, name: &str, value: &[u8]) {
    let hex: String = value.iter().map(|b| format!("{b:02x}")).collect();
    let value = format!("0x{hex}");
    tool(
        "setfattr",
        &["-h", "-n", name, "-v", &value, path.to_str().unwrap()],
        None,
    );
}

/// A printable value of `len` bytes, different for each `seed`.
fn text(len: usize, seed: usize) -> Vec<u8> {
    (0..len)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[(i * 7 + seed) % 36])
        .collect()
}

/// Builds a tree at `top` (on tmpfs) with user.*, trusted.* and security.* attributes (set as
/// root): many files sharing one attribute set, many with sets of their own (a key/value area
/// of several metadata blocks), values of 9 and 20 KiB (longer than a metadata block), a
/// value shared by files whose sets differ (mksquashfs stores it once and refers to it), a
/// binary value, an empty one, a directory and a symlink with attributes, files with none.
pub fn make_xattr_tree(top: &Path) {
    std::fs::create_dir_all(top).unwrap();
    let selinux = b"system_u:object_r:etc_t:s0\0";
    // The top directory's become the root's.
    setfattr(top, "user.root", b"the top");
    setfattr(top, "security.selinux", b"system_u:object_r:root_t:s0\0");
    for i in 0..150 {
        let f = top.join(format!("same/f{i:03}"));
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, format!("{i}\n")).unwrap();
        setfattr(&f, "user.mime_type", b"text/plain");
        setfattr(&f, "security.selinux", selinux);
    }
    for i in 0..120 {
        let f = top.join(format!("own/g{i:03}"));
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, b"own\n").unwrap();
        setfattr(&f, &format!("user.n{i}"), &text(90 + i, i));
        setfattr(&f, "trusted.t", &text(i % 7 + 1, i));
    }
    let shared = text(64, 99);
    for (i, extra) in ["user.a", "user.b", "trusted.c"].iter().enumerate() {
        let f = top.join(format!("shared/s{i}"));
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, b"s\n").unwrap();
        setfattr(&f, "user.shared", &shared);
        setfattr(&f, extra, b"x");
    }
    let big = top.join("big");
    std::fs::write(&big, b"big\n").unwrap();
    setfattr(&big, "user.big", &text(9000, 1));
    setfattr(&big, "trusted.bigger", &text(20000, 2));
    // cap_net_bind_service=ep (VFS_CAP_REVISION_2, 20 bytes: the kernel checks the form).
    let mut cap = vec![0u8; 20];
    cap[..6].copy_from_slice(&[1, 0, 0, 2, 0, 4]);
    setfattr(&big, "security.capability", &cap);
    setfattr(&big, "user.empty", b"");
    let dir = top.join("dir");
    std::fs::create_dir(&dir).unwrap();
    setfattr(&dir, "user.comment", b"a directory");
    setfattr(&dir, "trusted.overlay.opaque", b"y");
    std::fs::write(dir.join("plain"), b"no attributes\n").unwrap();
    symlink("../big", dir.join("link")).unwrap();
    setfattr(&dir.join("link"), "trusted.link", b"the link's own");
    setfattr(&dir.join("link"), "security.selinux", selinux);
}

/// `.` and every path below `top` (relative, no leading `./`), sorted.
pub fn paths(top: &Path) -> Vec<String> {
    let out = tool("find", &["."], Some(top));
    let mut v: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| l.trim_start_matches("./").to_string())
        .collect();
    v.sort();
    v
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The attributes `getfattr -h -d -m - -e hex -R` reads below `top` (files with none are
/// left out).
pub fn getfattr(top: &Path) -> Attrs {
    let out = tool(
        "getfattr",
        &["-h", "-d", "-m", "-", "-e", "hex", "-R", "."],
        Some(top),
    );
    let mut map = Attrs::new();
    let mut file = String::new();
    for line in String::from_utf8(out).unwrap().lines() {
        if let Some(f) = line.strip_prefix("# file: ") {
            file = f.trim_start_matches("./").to_string();
        } else if let Some((name, value)) = line.split_once('=') {
            let value = unhex(value.strip_prefix("0x").unwrap_or(value));
            map.entry(file.clone())
                .or_default()
                .push((name.to_string(), value));
        }
    }
    for v in map.values_mut() {
        v.sort();
    }
    map
}

/// Decodes `getxattrs` output: blocks of `attrname:` and `attrval:` lines, `\xNN` escapes.
pub fn parse_getxattrs(text: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(open) = lines.next() {
        assert!(open.starts_with('[') && open.ends_with("] = {"), "{open:?}");
        let name = lines.next().unwrap().strip_prefix("  attrname: ").unwrap();
        let raw = lines.next().unwrap().strip_prefix("  attrval: ").unwrap();
        assert_eq!(lines.next(), Some("}"));
        let (raw, mut value) = (raw.as_bytes(), Vec::new());
        let mut i = 0;
        while i < raw.len() {
            if raw[i..].starts_with(b"\\x") {
                value.push(u8::from_str_radix(&text_of(&raw[i + 2..i + 4]), 16).unwrap());
                i += 4;
            } else {
                value.push(raw[i]);
                i += 1;
            }
        }
        out.push((name.to_string(), value));
    }
    out
}

fn text_of(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

/// What `lgetxattrs` prints for each of `paths` below `dir` (`.` is `dir` itself) in the
/// session of `image` after the commands `pre` (each ending with `:`), in one run; files with
/// none are left out.
pub fn isofish_attrs(image: &Path, pre: &[&str], dir: &str, paths: &[String]) -> Attrs {
    const MARK: &str = "@@isofish-test@@";
    let mut words: Vec<String> = pre.iter().map(|s| s.to_string()).collect();
    for p in paths {
        let path = match (p.as_str(), dir) {
            (".", "") => "/".to_string(),
            (".", _) => dir.to_string(),
            _ => format!("{dir}/{p}"),
        };
        words.extend([
            "lgetxattrs".into(),
            path,
            ":".into(),
            "echo".into(),
            MARK.into(),
            ":".into(),
        ]);
    }
    words.pop();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let out = String::from_utf8(run_ro(image, &words)).unwrap();
    let chunks: Vec<&str> = out.split(&format!("{MARK}\n")).collect();
    assert_eq!(chunks.len(), paths.len() + 1, "{out}");
    let mut map = Attrs::new();
    for (p, chunk) in paths.iter().zip(chunks) {
        let mut list = parse_getxattrs(chunk);
        if !list.is_empty() {
            list.sort();
            map.insert(p.clone(), list);
        }
    }
    map
}

/// unsquashfs's extraction of `image` into `dir/name` (as root it restores the attributes).
pub fn unsquashfs(image: &Path, dir: &Path, name: &str) -> std::path::PathBuf {
    let out = dir.join(name);
    tool(
        "unsquashfs",
        &[
            "-q",
            "-n",
            "-d",
            out.to_str().unwrap(),
            image.to_str().unwrap(),
        ],
        None,
    );
    out
}

#[test]
fn the_fixture_lists_as_getfattr_reads_it() {
    let dir = tmpfs_scratch();
    let image = fixture("xattrs.sqfs");
    let theirs = unsquashfs(&image, dir.path(), "ref");
    let paths = paths(&theirs);
    assert_eq!(isofish_attrs(&image, &[], "", &paths), getfattr(&theirs));
    // getxattrs follows the link to etc/motd; lgetxattrs lists the link's own.
    let follow = tool(
        "getfattr",
        &["-d", "-m", "-", "-e", "hex", "etc/motd-link"],
        Some(&theirs),
    );
    let own = tool(
        "getfattr",
        &["-h", "-d", "-m", "-", "-e", "hex", "etc/motd-link"],
        Some(&theirs),
    );
    assert_ne!(follow, own);
    let ours = |cmd: &str| {
        let mut v =
            parse_getxattrs(&String::from_utf8(run_ro(&image, &[cmd, "/etc/motd-link"])).unwrap());
        v.sort();
        v
    };
    let getfattr_one = |out: Vec<u8>| {
        let mut v: Vec<(String, Vec<u8>)> = String::from_utf8(out)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once("=0x"))
            .map(|(n, v)| (n.to_string(), unhex(v)))
            .collect();
        v.sort();
        v
    };
    assert_eq!(ours("getxattrs"), getfattr_one(follow));
    assert_eq!(ours("lgetxattrs"), getfattr_one(own));
}

#[test]
fn getxattr_prints_the_value_as_stored() {
    let dir = tmpfs_scratch();
    let image = fixture("xattrs.sqfs");
    let theirs = unsquashfs(&image, dir.path(), "ref");
    for (cmd, flag, name) in [
        ("getxattr", "", "security.selinux"),
        ("getxattr", "", "user.mime_type"),
        ("lgetxattr", "-h", "trusted.origin"),
    ] {
        let mut args = vec!["--only-values", "-n", name];
        if !flag.is_empty() {
            args.push(flag);
        }
        args.push("etc/motd-link");
        let expected = tool("getfattr", &args, Some(&theirs));
        assert_eq!(
            run_ro(&image, &[cmd, "/etc/motd-link", name]),
            expected,
            "{cmd} {name}"
        );
    }
    let value = tool(
        "getfattr",
        &["--only-values", "-n", "security.capability", "bin/serve"],
        Some(&theirs),
    );
    assert_eq!(
        run_ro(&image, &["getxattr", "/bin/serve", "security.capability"]),
        value
    );
}

#[test]
fn a_missing_attribute_is_an_error() {
    let image = fixture("xattrs.sqfs");
    for (cmd, path, name) in [
        ("getxattr", "/etc/motd", "user.none"),
        // The link's own attributes do not include its target's.
        ("lgetxattr", "/etc/motd-link", "user.mime_type"),
        ("getxattr", "/bin", "user.comment"),
    ] {
        let out = isofish()
            .args(["--ro", "-a"])
            .arg(&image)
            .args([cmd, path, name])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{cmd} {path} {name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err,
            format!("isofish: error: {cmd}: {path}: {name}: No data available\n")
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn filesystems_without_attributes_list_none() {
    let out = run_ro(
        &fixture("sample.iso"),
        &[
            "getxattrs",
            "/README.TXT",
            ":",
            "lgetxattrs",
            "/docs/readme-link",
            ":",
            "getxattrs",
            "/",
        ],
    );
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
}

/// A squashfs inside an ISO, mounted with mount-loop: the VFS asks the right filesystem.
#[test]
fn attributes_are_read_through_nested_mounts() {
    let dir = tmpfs_scratch();
    let tree = dir.path().join("iso");
    std::fs::create_dir(&tree).unwrap();
    std::fs::copy(fixture("xattrs.sqfs"), tree.join("x.sqfs")).unwrap();
    let outer = dir.path().join("outer.iso");
    xorriso_rr(&tree, &outer);
    let theirs = unsquashfs(&fixture("xattrs.sqfs"), dir.path(), "ref");
    let paths = paths(&theirs);
    let ours = isofish_attrs(
        &outer,
        &["mount-loop", "/x.sqfs", "/mnt", ":"],
        "/mnt",
        &paths,
    );
    assert_eq!(ours, getfattr(&theirs));
    // The ISO's own files have none.
    let iso_file = run_ro(&outer, &["getxattrs", "/x.sqfs"]);
    assert!(iso_file.is_empty());
}

/// Unpacks `tarball` into the new directory `dir/name` with GNU tar or bsdtar, attributes on.
pub fn unpack(tarball: &Path, dir: &Path, name: &str, bsdtar: bool) -> std::path::PathBuf {
    let into = dir.join(name);
    std::fs::create_dir(&into).unwrap();
    let t = tarball.to_str().unwrap();
    if bsdtar {
        tool("bsdtar", &["--xattrs", "-xpf", t], Some(&into));
    } else {
        tool(
            "tar",
            &[
                "--xattrs",
                "--xattrs-include=*",
                "-xpf",
                t,
                "-C",
                into.to_str().unwrap(),
            ],
            None,
        );
    }
    into
}

#[test]
fn tar_out_xattrs_unpack_as_unsquashfs_extracts() {
    let dir = tmpfs_scratch();
    let tree = dir.path().join("tree");
    make_xattr_tree(&tree);
    for comp in ["gzip", "xz"] {
        let image = dir.path().join(format!("{comp}.sqfs"));
        mksquashfs(&tree, &image, comp);
        let expected = getfattr(&unsquashfs(&image, dir.path(), &format!("{comp}-ref")));
        assert!(expected.contains_key("big") && expected.contains_key("dir/link"));
        let tarball = dir.path().join(format!("{comp}.tar"));
        run_ro(
            &image,
            // root:true: the top directory's attributes too, as unsquashfs restores them.
            &[
                "tar-out",
                "/",
                tarball.to_str().unwrap(),
                "xattrs:true",
                "root:true",
            ],
        );
        for bsdtar in [false, true] {
            let name = format!("{comp}-{}", if bsdtar { "bsdtar" } else { "gnutar" });
            let got = getfattr(&unpack(&tarball, dir.path(), &name, bsdtar));
            assert_eq!(got, expected, "{name}");
        }
        // Without the option the archive carries none.
        let plain = dir.path().join(format!("{comp}-plain.tar"));
        run_ro(&image, &["tar-out", "/", plain.to_str().unwrap()]);
        let got = getfattr(&unpack(&plain, dir.path(), &format!("{comp}-plain"), false));
        assert!(got.is_empty(), "{got:?}");
    }
}

#[test]
fn tar_out_checks_the_xattrs_option() {
    let out = isofish()
        .args(["--ro", "-a"])
        .arg(fixture("xattrs.sqfs"))
        .args(["tar-out", "/", "/dev/null", "xattrs:maybe"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "isofish: error: xattrs:maybe: expected true or false\n"
    );
}
