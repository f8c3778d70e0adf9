//! Extended attributes and ACLs that xorriso records in ISO 9660 images (AAIP: AL entries):
//! `lgetxattrs` lists for every file what `getfattr` reads from xorriso's own extraction
//! (`-osirrox on -xattr any -acl on -extract`), for symlinks (which xorriso does not restore)
//! what `xorriso -getfattr` shows; `tar-out xattrs:true` unpacks with GNU tar to the same;
//! ACLs come out as the `system.posix_acl_*` values the kernel gives the extracted files.
//! Damaged attribute lists fail with an error naming the image, AAIP and the offset.

use std::path::{Path, PathBuf};

use isofish::fs::MountOptions;

use crate::commands_xattr::{
    getfattr, isofish_attrs, make_xattr_tree, paths, tmpfs_scratch, unpack, Attrs,
};
use crate::common::{isofish, run_ro, tool};
use crate::mutants::run_mutants;

/// The tree of the squashfs tests (user, trusted and security attributes, values up to
/// 20 KiB, binary ones, a directory and a symlink with attributes) plus ACLs: access ACLs on
/// many files and on a directory, a default ACL, a file with an ACL and no attribute.
pub(crate) fn make_tree(top: &Path) {
    make_xattr_tree(top);
    let t = |p: &str| top.join(p).to_str().unwrap().to_string();
    tool("setfacl", &["-R", "-m", "u:1234:r--", &t("same")], None);
    tool(
        "setfacl",
        &["-m", "u:1234:rw-,g:4321:r--,g:65534:rwx", &t("own/g000")],
        None,
    );
    // A default ACL on a directory of its own: files xorriso extracts into a directory with
    // one inherit it, so `dir/plain` (made before) would differ from the original.
    std::fs::create_dir(top.join("defaults")).unwrap();
    tool(
        "setfacl",
        &["-d", "-m", "u:1234:rwx,g:4321:r-x", &t("defaults")],
        None,
    );
    std::fs::write(top.join("defaults/inherited"), b"i\n").unwrap();
    std::fs::write(top.join("acl-only"), b"acl\n").unwrap();
    tool("setfacl", &["-m", "g:77:-w-", &t("acl-only")], None);
}

/// The ways xorriso is asked to record them: all namespaces (the ACLs then twice: as the
/// recorded `system.posix_acl_*` attributes and in AAIP's compact form) natively, the same
/// with RRIP 1.12 (an ER entry announces AAIP, ES entries separate the extensions), and as
/// mkisofs does, `user.*` and the compact ACLs only.
pub(crate) const WRITERS: &[(&str, &[&str])] = &[
    ("any", &["-xattr", "any", "-acl", "on"]),
    (
        "new_rr",
        &["-compliance", "new_rr", "-xattr", "any", "-acl", "on"],
    ),
    (
        "mkisofs",
        &["-as", "mkisofs", "-quiet", "-R", "--xattr", "--acl"],
    ),
];

pub(crate) fn make_image(tree: &Path, image: &Path, writer: &[&str]) {
    let (t, i) = (tree.to_str().unwrap(), image.to_str().unwrap());
    // (xorriso takes paths below /dev as files only with the stdio: prefix.)
    let dev = format!("stdio:{i}");
    let mut args = writer.to_vec();
    if writer[0] == "-as" {
        args.extend(["-o", i, t]);
    } else {
        args.extend(["-outdev", &dev, "-map", t, "/"]);
    }
    tool("xorriso", &args, None);
}

/// xorriso's extraction of `image` into `dir/name`, attributes and ACLs restored.
pub(crate) fn xorriso_extract(image: &Path, dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    tool(
        "xorriso",
        &[
            "-osirrox",
            "on",
            "-xattr",
            "any",
            "-acl",
            "on",
            "-indev",
            &format!("stdio:{}", image.display()),
            "-extract",
            "/",
            out.to_str().unwrap(),
        ],
        None,
    );
    out
}

/// What `xorriso -getfattr` shows for `path` in `image`: `name="value"` lines whose value
/// writes `"`, `\` and bytes outside printable ASCII as `\ooo`.
fn xorriso_getfattr(image: &Path, path: &str) -> Vec<(String, Vec<u8>)> {
    let out = tool(
        "xorriso",
        &[
            "-xattr",
            "any",
            "-indev",
            &format!("stdio:{}", image.display()),
            "-getfattr",
            path,
            "--",
        ],
        None,
    );
    let mut list = Vec::new();
    for line in String::from_utf8(out).unwrap().lines() {
        let Some((name, quoted)) = line.split_once("=\"") else {
            continue;
        };
        let raw = quoted.strip_suffix('"').unwrap().as_bytes();
        let (mut value, mut i) = (Vec::new(), 0);
        while i < raw.len() {
            if raw[i] == b'\\' {
                let digits = std::str::from_utf8(&raw[i + 1..i + 4]).unwrap();
                value.push(u8::from_str_radix(digits, 8).unwrap());
                i += 4;
            } else {
                value.push(raw[i]);
                i += 1;
            }
        }
        list.push((name.to_string(), value));
    }
    list.sort();
    list
}

/// Compares two attribute maps, reporting the first few files that differ by their
/// attribute names and value lengths (the values can be long).
fn assert_same(got: &Attrs, want: &Attrs, what: &str) {
    let brief = |v: Option<&Vec<(String, Vec<u8>)>>| -> Vec<(String, usize)> {
        v.map_or_else(Vec::new, |v| {
            v.iter().map(|(n, x)| (n.clone(), x.len())).collect()
        })
    };
    let files: std::collections::BTreeSet<&String> = got.keys().chain(want.keys()).collect();
    let diffs: Vec<String> = files
        .into_iter()
        .filter(|f| got.get(*f) != want.get(*f))
        .take(5)
        .map(|f| {
            format!(
                "{f}: got {:?}, want {:?}",
                brief(got.get(f)),
                brief(want.get(f))
            )
        })
        .collect();
    assert!(diffs.is_empty(), "{what}:\n{}", diffs.join("\n"));
}

/// The symlinks among `paths` below `top`.
fn symlinks(top: &Path, paths: &[String]) -> Vec<String> {
    paths
        .iter()
        .filter(|p| top.join(p).is_symlink())
        .cloned()
        .collect()
}

/// Splits the symlinks' attributes off `attrs`.
fn split_links(attrs: &mut Attrs, links: &[String]) -> Attrs {
    links.iter().filter_map(|l| attrs.remove_entry(l)).collect()
}

#[test]
fn attributes_and_acls_list_as_xorriso_extracts_them() {
    let dir = tmpfs_scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree);
    for (name, writer) in WRITERS {
        let image = dir.path().join(format!("{name}.iso"));
        make_image(&tree, &image, writer);
        let theirs = xorriso_extract(&image, dir.path(), &format!("{name}-ref"));
        let paths = paths(&theirs);
        let expected = getfattr(&theirs);
        for (file, attr) in [
            ("same/f000", "system.posix_acl_access"),
            ("defaults", "system.posix_acl_default"),
            ("defaults/inherited", "system.posix_acl_access"),
            ("acl-only", "system.posix_acl_access"),
            ("big", "user.big"),
        ] {
            assert!(
                expected[file].iter().any(|(n, _)| n == attr),
                "{name}: {file} {attr}"
            );
        }
        let mut ours = isofish_attrs(&image, &[], "", &paths);
        let links = symlinks(&theirs, &paths);
        let our_links = split_links(&mut ours, &links);
        assert_same(&ours, &expected, name);
        for link in &links {
            let want = xorriso_getfattr(&image, &format!("/{link}"));
            let got = our_links.get(link).cloned().unwrap_or_default();
            assert_eq!(got, want, "{name}: {link}");
        }
        assert_eq!(*name != "mkisofs", !our_links.is_empty(), "{name}");
    }
}

#[test]
fn tar_out_xattrs_unpack_as_xorriso_extracts() {
    let dir = tmpfs_scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree);
    let (name, writer) = WRITERS[0];
    let image = dir.path().join(format!("{name}.iso"));
    make_image(&tree, &image, writer);
    let theirs = xorriso_extract(&image, dir.path(), "ref");
    let paths = paths(&theirs);
    let tarball = dir.path().join("out.tar");
    run_ro(
        &image,
        // root:true: the root's attributes too, as xorriso's extraction restores them.
        &[
            "tar-out",
            "/",
            tarball.to_str().unwrap(),
            "xattrs:true",
            "root:true",
        ],
    );
    let unpacked = unpack(&tarball, dir.path(), "gnutar", false);
    let mut got = getfattr(&unpacked);
    let links = symlinks(&theirs, &paths);
    let got_links = split_links(&mut got, &links);
    assert_same(&got, &getfattr(&theirs), "GNU tar");
    for link in &links {
        assert_eq!(
            got_links.get(link).cloned().unwrap_or_default(),
            xorriso_getfattr(&image, &format!("/{link}")),
            "{link}"
        );
    }
}

/// Directories nested deeper than ISO 9660's 8 levels, relocated by xorriso (Rock Ridge CL
/// and RE entries), keep their attributes at their real place: those of the placeholder
/// record (CL) in the real parent, where xorriso writes them.
#[test]
fn relocated_directories_keep_their_attributes() {
    let dir = tmpfs_scratch();
    let tree = dir.path().join("deep");
    let mut path = tree.clone();
    for level in 0..11 {
        path.push(format!("d{level}"));
        std::fs::create_dir_all(&path).unwrap();
        let value = format!("level {level}");
        tool(
            "setfattr",
            &["-n", "user.level", "-v", &value, path.to_str().unwrap()],
            None,
        );
    }
    std::fs::write(path.join("leaf"), b"leaf\n").unwrap();
    tool(
        "setfacl",
        &["-m", "u:1234:r--", path.join("leaf").to_str().unwrap()],
        None,
    );
    let image = dir.path().join("deep.iso");
    make_image(
        &tree,
        &image,
        &[
            "-compliance",
            "deep_paths_off",
            "-xattr",
            "on",
            "-acl",
            "on",
        ],
    );
    let bytes = std::fs::read(&image).unwrap();
    find(&bytes, b"CL\x0c\x01");
    // xorriso 1.5.4 reads no attributes for the relocated directory itself (d7: its
    // placeholder record carries them), so the oracle is the tree they were set on.
    let expected = getfattr(&tree);
    assert_eq!(expected.len(), 12, "{:?}", expected.keys());
    assert_same(
        &isofish_attrs(&image, &[], "", &paths(&tree)),
        &expected,
        "deep",
    );
    let theirs = getfattr(&xorriso_extract(&image, dir.path(), "ref"));
    let lost: Vec<&String> = expected
        .keys()
        .filter(|k| !theirs.contains_key(*k))
        .collect();
    assert_eq!(lost, ["d0/d1/d2/d3/d4/d5/d6/d7"]);
    let mut others = expected.clone();
    others.remove("d0/d1/d2/d3/d4/d5/d6/d7");
    assert_same(&theirs, &others, "xorriso's extraction");
}

/// A small image with attributes `user.a` = `v1` on `small`, a 6000-byte value on `big`
/// (continuation areas) and an access ACL on `acl`, and its bytes; AAIP is announced by an
/// ER entry.
fn small_image(dir: &Path) -> (PathBuf, Vec<u8>) {
    let tree = dir.join("small-tree");
    std::fs::create_dir(&tree).unwrap();
    let small = tree.join("small");
    std::fs::write(&small, b"s\n").unwrap();
    tool(
        "setfattr",
        &["-n", "user.a", "-v", "v1", small.to_str().unwrap()],
        None,
    );
    let big = tree.join("big");
    std::fs::write(&big, b"b\n").unwrap();
    let value = "q".repeat(6000);
    tool(
        "setfattr",
        &["-n", "user.big", "-v", &value, big.to_str().unwrap()],
        None,
    );
    let acl = tree.join("acl");
    std::fs::write(&acl, b"a\n").unwrap();
    tool(
        "setfacl",
        &["-m", "u:1234:rw-,g:4321:r--", acl.to_str().unwrap()],
        None,
    );
    let image = dir.join("small.iso");
    make_image(
        &tree,
        &image,
        &[
            "-compliance",
            "aaip_susp_1_10_off",
            "-xattr",
            "on",
            "-acl",
            "on",
        ],
    );
    let bytes = std::fs::read(&image).unwrap();
    (image, bytes)
}

/// Where the AL entries of an image are: `AL`, a length of 5 or more, version 1, flags 0 or 1.
fn al_entries(bytes: &[u8]) -> Vec<(usize, usize)> {
    let is_al = |w: &[u8]| w[0] == b'A' && w[1] == b'L' && w[2] >= 5 && w[3] == 1 && w[4] <= 1;
    let starts = bytes.windows(5).enumerate().filter(|(_, w)| is_al(w));
    starts.map(|(i, w)| (i, usize::from(w[2]))).collect()
}

fn find(bytes: &[u8], what: &[u8]) -> usize {
    let mut hits = bytes.windows(what.len()).enumerate();
    let at = hits.find(|(_, w)| *w == what).map(|(i, _)| i);
    at.unwrap_or_else(|| panic!("{what:?} not in the image"))
}

/// Runs `lgetxattrs PATH` on `bytes` written beside `image`; returns stderr after checking the
/// exit status and that the error names the image, `what` and an offset.
fn fails(image: &Path, bytes: &[u8], path: &str, what: &str) -> String {
    let bad = image.with_file_name("bad.iso");
    std::fs::write(&bad, bytes).unwrap();
    let out = isofish()
        .args(["--ro", "-a"])
        .arg(&bad)
        .args(["lgetxattrs", path])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("isofish: error: "), "{err}");
    for want in [bad.to_str().unwrap(), what, "offset"] {
        assert!(err.contains(want), "{want:?} not in {err}");
    }
    err
}

#[test]
fn damaged_attribute_lists_fail_with_the_offset() {
    let dir = tmpfs_scratch();
    let (image, bytes) = small_image(dir.path());
    assert_eq!(
        String::from_utf8(run_ro(&image, &["getxattr", "/small", "user.a"])).unwrap(),
        "v1"
    );
    // The pair user.a=v1: name record (flags, length, 0x03 for "user.", "a"), value record.
    let pair = find(&bytes, b"\x00\x02\x03a\x00\x02v1");
    // A value record longer than what the entries hold.
    let mut long = bytes.clone();
    long[pair + 5] = 0x60;
    let err = fails(&image, &long, "/small", "AAIP");
    assert!(err.contains("passes the last AL entry"), "{err}");
    // The value's last record says it continues.
    let mut open = bytes.clone();
    open[pair + 4] = 0x01;
    let err = fails(&image, &open, "/small", "AAIP");
    assert!(err.contains("ends inside"), "{err}");
    // The name's record says the name continues: the value is taken for the rest of the
    // name, and the list ends with a name without its value.
    let mut odd = bytes.clone();
    odd[pair] = 0x01;
    let err = fails(&image, &odd, "/small", "AAIP");
    assert!(err.contains("without its value"), "{err}");
    // An AL entry too short for its flags byte (length 4): the rest of the area no longer
    // parses as entries, or the list breaks; either way an error, never a panic.
    let al = pair - 5;
    assert_eq!(&bytes[al..al + 2], b"AL");
    let mut short = bytes.clone();
    short[al + 2] = 4;
    fails(&image, &short, "/small", "offset");
}

#[test]
fn a_continuation_loop_in_an_attribute_list_fails() {
    let dir = tmpfs_scratch();
    let (image, bytes) = small_image(dir.path());
    let value = String::from_utf8(run_ro(&image, &["getxattr", "/big", "user.big"])).unwrap();
    assert_eq!(value, "q".repeat(6000));
    // The CE entries (28 bytes: block, offset, length, both-endian); one that sits in the
    // area another points to is made to point back at its own area.
    let ces: Vec<usize> = (0..bytes.len() - 28)
        .filter(|&i| bytes[i..i + 4] == *b"CE\x1c\x01")
        .collect();
    let target = |i: usize| {
        let le = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        (le(i + 4) * 2048 + le(i + 12), le(i + 20))
    };
    let (inner, area) = ces
        .iter()
        .find_map(|&c| {
            let area = ces
                .iter()
                .map(|&o| target(o))
                .find(|&(s, l)| s <= c && c < s + l)?;
            Some((c, area))
        })
        .expect("a CE entry inside a continuation area");
    let mut looped = bytes.clone();
    let (block, offset) = ((area.0 / 2048) as u32, (area.0 % 2048) as u32);
    let len = area.1 as u32;
    for (at, v) in [(inner + 4, block), (inner + 12, offset), (inner + 20, len)] {
        looped[at..at + 4].copy_from_slice(&v.to_le_bytes());
        looped[at + 4..at + 8].copy_from_slice(&v.to_be_bytes());
    }
    let err = fails(&image, &looped, "/big", "SUSP");
    assert!(err.contains("loop"), "{err}");
}

/// AAIP 1.0 wrote the same lists as `AA` entries under the ER identifier `AAIP_0100`; `AA`
/// entries without it may be Apple's and are not read.
#[test]
fn aaip_1_0_aa_entries_are_read() {
    let dir = tmpfs_scratch();
    let (image, bytes) = small_image(dir.path());
    let list = |bytes: &[u8]| {
        let at = image.with_file_name("renamed.iso");
        std::fs::write(&at, bytes).unwrap();
        run_ro(&at, &["lgetxattrs", "/small", ":", "lgetxattrs", "/big"])
    };
    let expected = run_ro(&image, &["lgetxattrs", "/small", ":", "lgetxattrs", "/big"]);
    assert!(!expected.is_empty());
    let mut aa = bytes.clone();
    for (at, _) in al_entries(&bytes) {
        aa[at + 1] = b'A';
    }
    assert!(list(&aa).is_empty());
    let er = find(&aa, b"AAIP_0200");
    aa[er..er + 9].copy_from_slice(b"AAIP_0100");
    assert_eq!(list(&aa), expected);
}

/// Seeded mutations of the AL entries (and the continuation entries among them): the bounded
/// walk, which asks every file for its attributes, never panics or hangs.
#[test]
fn mutated_attribute_lists_never_panic() {
    let dir = tmpfs_scratch();
    let (image, bytes) = small_image(dir.path());
    let acl = String::from_utf8(run_ro(&image, &["lgetxattrs", "/acl"])).unwrap();
    assert!(acl.contains("system.posix_acl_access"), "{acl}");
    let entries = al_entries(&bytes);
    assert!(entries.len() > 20, "{} AL entries", entries.len());
    let (ok, failed, _) = run_mutants(
        "aaip",
        0x0aa1_9200,
        600,
        "aaip.iso",
        &MountOptions::default(),
        |rng| {
            let mut img = bytes.clone();
            for _ in 0..1 + rng.below(3) {
                let (at, len) = entries[rng.below(entries.len())];
                let pos = at + 2 + rng.below(len - 2);
                match rng.below(4) {
                    0 => img[pos] ^= 1 << rng.below(8),
                    1 => img[pos] = 0,
                    2 => img[pos] = 0xff,
                    _ => img[pos] = rng.next() as u8,
                }
            }
            img
        },
    );
    assert!(ok > 0 && failed > 0, "{ok} read, {failed} refused");
}
