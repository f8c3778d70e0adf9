//! Squashfs images made by mksquashfs, one per compressor, read by isofish exactly as
//! unsquashfs extracts them: names, kinds, modes, owners, times, symlink targets (one of 4002
//! bytes too), device numbers, hard links and every byte; listings as `unsquashfs -l` gives
//! them; lzo refused clearly; damaged images refused with an error, never a panic or a hang.
//! Extended attributes as getfattr reads them from unsquashfs's extraction, for every
//! compressor; damaged xattr tables refused with an error naming the table.

use std::path::Path;

use crate::commands_xattr::{
    getfattr, isofish_attrs, make_xattr_tree, paths, tmpfs_scratch, unsquashfs,
};
use crate::common::{scratch, tool};
use crate::host_tree::{assert_same, snapshot};
use crate::nested_util::{extract, make_tree, run, run_err, Kinds};

const KINDS: Kinds = Kinds {
    special: true,
    hard_links: true,
    owners: true,
    many: 1500,
    large: 3 << 20,
};

/// Makes a squashfs of `tree` (extended attributes are stored, as by default).
pub fn mksquashfs(tree: &Path, image: &Path, comp: &str) {
    mksquashfs_with(tree, image, comp, &[]);
}

/// Makes a squashfs of `tree` with more options (`extra`).
pub fn mksquashfs_with(tree: &Path, image: &Path, comp: &str, extra: &[&str]) {
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
    tool("mksquashfs", &args, None);
}

#[test]
fn every_compressor_reads_as_unsquashfs_extracts() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, KINDS);
    for comp in ["gzip", "xz", "lzma", "lz4", "zstd"] {
        let image = dir.path().join(format!("{comp}.sqfs"));
        mksquashfs(&tree, &image, comp);
        let theirs = dir.path().join(format!("{comp}-unsquashfs"));
        tool(
            "unsquashfs",
            &[
                "-q",
                "-n",
                "-d",
                theirs.to_str().unwrap(),
                image.to_str().unwrap(),
            ],
            None,
        );
        let ours = dir.path().join(format!("{comp}-isofish"));
        extract(&image, &[], "/", &ours);
        let expected = snapshot(&theirs);
        assert!(expected.nodes.contains_key("dev/sda1") && !expected.links.is_empty());
        assert_same(&expected, &snapshot(&ours), comp);
        let mounts = String::from_utf8(run(&image, &["mounts"])).unwrap();
        assert_eq!(mounts, format!("/dev/sda on / (squashfs, {comp})\n"));
    }
}

#[test]
fn listing_matches_unsquashfs_l() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, KINDS);
    let image = dir.path().join("l.sqfs");
    mksquashfs(&tree, &image, "zstd");
    let theirs = String::from_utf8(tool(
        "unsquashfs",
        &["-l", "-n", image.to_str().unwrap()],
        None,
    ))
    .unwrap();
    let mut theirs: Vec<&str> = theirs
        .lines()
        .filter_map(|l| l.strip_prefix("squashfs-root/"))
        .collect();
    let ours = String::from_utf8(run(&image, &["find", "/"])).unwrap();
    let mut ours: Vec<&str> = ours.lines().filter(|l| !l.is_empty()).collect();
    theirs.sort();
    ours.sort();
    assert_eq!(ours, theirs);
}

#[test]
fn a_symlink_target_past_255_bytes_reads_as_unsquashfs_extracts() {
    // Linux allows 4095 bytes; backhand, which once read the inode table, refused 256 and more.
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("f"), b"x").unwrap();
    let target = format!("{}/f", "d/..".repeat(1000));
    std::os::unix::fs::symlink(&target, tree.join("long")).unwrap();
    let image = dir.path().join("long.sqfs");
    mksquashfs(&tree, &image, "gzip");
    let theirs = dir.path().join("unsquashfs");
    let args = [
        "-q",
        "-n",
        "-d",
        theirs.to_str().unwrap(),
        image.to_str().unwrap(),
    ];
    tool("unsquashfs", &args, None);
    let ours = dir.path().join("isofish");
    extract(&image, &[], "/", &ours);
    assert_eq!(
        std::fs::read_link(theirs.join("long"))
            .unwrap()
            .as_os_str()
            .len(),
        4002
    );
    assert_same(&snapshot(&theirs), &snapshot(&ours), "long symlink");
}

#[test]
fn lzo_is_refused_by_name() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("f"), b"x").unwrap();
    let image = dir.path().join("lzo.sqfs");
    mksquashfs(&tree, &image, "lzo");
    let err = run_err(&image, &["ls", "/"]);
    assert!(
        err.contains("lzo-compressed squashfs is not supported"),
        "{err}"
    );
}

#[test]
fn damaged_images_fail_cleanly() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, Kinds::plain(50, 400_000));
    let image = dir.path().join("good.sqfs");
    mksquashfs(&tree, &image, "gzip");
    let good = std::fs::read(&image).unwrap();
    // Truncations at several points, and bytes flipped through the image.
    let mut cases: Vec<Vec<u8>> = [96, 200, good.len() / 2, good.len() - 100]
        .iter()
        .map(|n| good[..*n].to_vec())
        .collect();
    for at in (96..good.len()).step_by(good.len() / 40) {
        let mut bad = good.clone();
        for b in &mut bad[at..(at + 8).min(good.len())] {
            *b ^= 0x5a;
        }
        cases.push(bad);
    }
    for (i, bytes) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.sqfs"));
        std::fs::write(&path, bytes).unwrap();
        let (ok, stderr) = crate::nested_util::walk_damaged(&path, i);
        if !ok {
            assert!(stderr.starts_with("isofish: error:"), "case {i}: {stderr}");
        }
    }
}

#[test]
fn xattrs_match_unsquashfs_for_every_file() {
    let dir = tmpfs_scratch();
    let tree = dir.path().join("tree");
    make_xattr_tree(&tree);
    let paths = paths(&tree);
    for comp in ["gzip", "xz", "lzma", "lz4", "zstd"] {
        let image = dir.path().join(format!("{comp}.sqfs"));
        mksquashfs(&tree, &image, comp);
        let expected = getfattr(&unsquashfs(&image, dir.path(), &format!("{comp}-ref")));
        // Everything has attributes but dir/plain and the directories same/, own/, shared/.
        assert_eq!(expected.len(), paths.len() - 4, "{comp}");
        assert!(expected.contains_key("."), "{comp}: the root's attributes");
        assert_eq!(isofish_attrs(&image, &[], "", &paths), expected, "{comp}");
    }
    // mksquashfs -no-xattrs: none, and no table to read.
    let image = dir.path().join("none.sqfs");
    tool(
        "mksquashfs",
        &[
            tree.to_str().unwrap(),
            image.to_str().unwrap(),
            "-no-xattrs",
            "-noappend",
            "-quiet",
            "-no-progress",
        ],
        None,
    );
    assert!(isofish_attrs(&image, &[], "", &paths).is_empty());
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Runs `getxattrs` on every file of `paths` and `tar-out xattrs:true` on the damaged image
/// `image` within 20 s; checks there is no panic or signal, and returns whether it succeeded
/// and its stderr.
fn read_damaged_xattrs(image: &Path, paths: &[String], case: &str) -> (bool, String) {
    // A leading `-` lets the run go on after an error (and the first word must not be one).
    let mut words: Vec<String> = vec!["echo".into(), ":".into()];
    for p in paths {
        words.extend(["-lgetxattrs".into(), format!("/{p}"), ":".into()]);
    }
    words.extend(["tar-out", "/", "/dev/null", "xattrs:true"].map(String::from));
    let out = crate::common::isofish()
        .timeout(std::time::Duration::from_secs(20))
        .arg("--ro")
        .arg("-a")
        .arg(image)
        .args(&words)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked") && out.status.code().is_some(),
        "{case}: {stderr}"
    );
    (out.status.success(), stderr)
}

#[test]
fn damaged_xattr_tables_fail_cleanly() {
    let dir = tmpfs_scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    for (name, attrs) in [
        (
            "a",
            &[
                ("user.one", "1"),
                ("user.shared", "a value shared by two sets"),
            ][..],
        ),
        ("b", &[("user.shared", "a value shared by two sets")][..]),
        (
            "c",
            &[
                ("user.shared", "a value shared by two sets"),
                ("trusted.c", "c"),
            ][..],
        ),
    ] {
        let f = tree.join(name);
        std::fs::write(&f, name).unwrap();
        for (n, v) in attrs {
            tool("setfattr", &["-n", n, "-v", v, f.to_str().unwrap()], None);
        }
    }
    let paths = paths(&tree);
    // -noX stores the xattr metadata blocks plainly, so their fields can be damaged one by one.
    let image = dir.path().join("good.sqfs");
    tool(
        "mksquashfs",
        &[
            tree.to_str().unwrap(),
            image.to_str().unwrap(),
            "-noX",
            "-noappend",
            "-quiet",
            "-no-progress",
        ],
        None,
    );
    let good = std::fs::read(&image).unwrap();
    let (ok, err) = read_damaged_xattrs(&image, &paths, "good");
    assert!(ok, "{err}");
    // The superblock's xattr_id_table_start, the table header (kv_start, count), its first
    // id block, the first id entry (reference, count) and the first key/value entry.
    let table = le64(&good, 56) as usize;
    let kv = le64(&good, table) as usize;
    let ids = le64(&good, table + 16) as usize;
    let count = le32(&good, table + 8);
    assert!(kv < ids && ids < table && count == 3);
    let entry = kv + 2;
    let name_size = u16::from_le_bytes([good[entry + 2], good[entry + 3]]) as usize;
    let value_size = entry + 4 + name_size;
    let len = good.len() as u64;
    let patch = |at: usize, bytes: &[u8]| {
        let mut bad = good.clone();
        bad[at..at + bytes.len()].copy_from_slice(bytes);
        bad
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("table start at 0", patch(56, &0u64.to_le_bytes())),
        (
            "no table, inodes with ids",
            patch(56, &u64::MAX.to_le_bytes()),
        ),
        (
            "table header past the end",
            patch(56, &(len - 8).to_le_bytes()),
        ),
        (
            "kv_start after the table",
            patch(table, &(table as u64 + 1).to_le_bytes()),
        ),
        (
            "id count too large",
            patch(table + 8, &u32::MAX.to_le_bytes()),
        ),
        (
            "id count smaller than the inodes' ids",
            patch(table + 8, &1u32.to_le_bytes()),
        ),
        (
            "id block past the table",
            patch(table + 16, &(len - 2).to_le_bytes()),
        ),
        (
            "id block before the area",
            patch(table + 16, &0u64.to_le_bytes()),
        ),
        (
            "id block length past the table",
            patch(ids, &0xffffu16.to_le_bytes()),
        ),
        (
            "reference past the area",
            patch(ids + 2, &(1u64 << 40).to_le_bytes()),
        ),
        (
            "reference past its block",
            patch(ids + 2, &0xfff0u64.to_le_bytes()),
        ),
        (
            "attribute count huge",
            patch(ids + 10, &u32::MAX.to_le_bytes()),
        ),
        ("unknown type", patch(entry, &7u16.to_le_bytes())),
        (
            "name past the area",
            patch(entry + 2, &0xffffu16.to_le_bytes()),
        ),
        (
            "huge value size",
            patch(value_size, &0x7fff_ffffu32.to_le_bytes()),
        ),
        (
            "value past the area",
            patch(value_size, &0xfff0u32.to_le_bytes()),
        ),
    ];
    for (case, bytes) in &cases {
        let path = dir.path().join("bad.sqfs");
        std::fs::write(&path, bytes).unwrap();
        let (ok, err) = read_damaged_xattrs(&path, &paths, case);
        assert!(!ok, "{case}: succeeded");
        assert!(
            err.starts_with("isofish: error:")
                && [
                    "squashfs xattr table",
                    "squashfs tables",
                    "squashfs superblock"
                ]
                .iter()
                .any(|s| err.contains(s)),
            "{case}: {err}"
        );
    }
    // Every byte of the tables flipped in turn, compressed this time: an error or a result,
    // never a panic or a hang.
    let image = dir.path().join("gzip.sqfs");
    mksquashfs(&tree, &image, "gzip");
    let good = std::fs::read(&image).unwrap();
    let table = le64(&good, 56) as usize;
    let kv = le64(&good, table) as usize;
    for at in kv..good.len().min(table + 24) {
        let mut bad = good.clone();
        bad[at] ^= 0xff;
        let path = dir.path().join("flipped.sqfs");
        std::fs::write(&path, &bad).unwrap();
        let (ok, err) = read_damaged_xattrs(&path, &paths, &format!("byte {at} flipped"));
        assert!(ok || err.starts_with("isofish: error:"), "byte {at}: {err}");
    }
}

#[test]
fn sparse_blocks_go_out_as_holes_through_tar_out_copy_out_and_download() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    let original = tree.join("sparse.bin");
    crate::nested_ext::sparse_file(&original, 4 << 30);
    let image = dir.path().join("sparse.sqfs");
    mksquashfs(&tree, &image, "zstd");
    let ro = |args: &[&str]| crate::common::run_ro(&image, args);
    // tar-out: a PAX sparse member that GNU tar and bsdtar extract with its holes.
    let tarball = dir.path().join("out.tar");
    ro(&["tar-out", "/", tarball.to_str().unwrap()]);
    assert!(std::fs::metadata(&tarball).unwrap().len() < 1 << 20);
    for extractor in ["tar", "bsdtar"] {
        let into = dir.path().join(format!("{extractor}-tree"));
        std::fs::create_dir(&into).unwrap();
        let args = [
            "-xf",
            tarball.to_str().unwrap(),
            "-C",
            into.to_str().unwrap(),
        ];
        tool(extractor, &args, None);
        crate::ext_gaps::same_sparse(&original, &into.join("sparse.bin"), extractor);
    }
    // With a change staged beside it, the file is still read through its holes.
    let staged = dir.path().join("staged.tar");
    let words = [
        "write",
        "/other.txt",
        "x",
        ":",
        "tar-out",
        "/",
        staged.to_str().unwrap(),
    ];
    let done = crate::common::isofish()
        .arg("-a")
        .arg(&image)
        .args([&words[..], &[":", "revert-all"]].concat())
        .output()
        .unwrap();
    assert!(done.status.success(), "{done:?}");
    assert!(std::fs::metadata(&staged).unwrap().len() < 1 << 20);
    // copy-out and download: holes made by seeking.
    let out = dir.path().join("copied");
    std::fs::create_dir(&out).unwrap();
    ro(&["copy-out", "/sparse.bin", out.to_str().unwrap()]);
    crate::ext_gaps::same_sparse(&original, &out.join("sparse.bin"), "copy-out");
    let downloaded = dir.path().join("downloaded.bin");
    ro(&["download", "/sparse.bin", downloaded.to_str().unwrap()]);
    crate::ext_gaps::same_sparse(&original, &downloaded, "download");
}

/// Files of many blocks, with and without a fragment for their tail, copied out (each whole
/// block decoded where it goes) byte for byte as unsquashfs extracts them, for the two
/// compressors decoded in place and one that is not; a symlink and a hard link beside them.
#[test]
fn multi_block_files_copy_out_as_unsquashfs_extracts() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    // Compressible, and no block the same as another.
    let text = |len: usize, seed: usize| -> Vec<u8> {
        (0..len)
            .map(|i| format!("{} {} ", i / 64, seed).into_bytes()[i % 3])
            .collect()
    };
    std::fs::write(tree.join("big.bin"), text((3 << 20) + 777, 1)).unwrap();
    std::fs::write(tree.join("blocks.bin"), text(5 * 4096, 2)).unwrap();
    std::fs::write(tree.join("small.txt"), text(300, 3)).unwrap();
    // Links, made after the files (on two threads).
    std::os::unix::fs::symlink("big.bin", tree.join("to-big")).unwrap();
    std::fs::hard_link(tree.join("small.txt"), tree.join("small-again.txt")).unwrap();
    for comp in ["zstd", "lz4", "gzip"] {
        for extra in [&["-b", "4096"][..], &["-b", "4096", "-no-fragments"][..]] {
            let case = format!("{comp} {extra:?}");
            let image = dir.path().join(format!("{comp}{}.sqfs", extra.len()));
            mksquashfs_with(&tree, &image, comp, extra);
            let theirs = dir.path().join(format!("{comp}{}-unsquashfs", extra.len()));
            let args = ["-q", "-n", "-d", theirs.to_str().unwrap()];
            tool(
                "unsquashfs",
                &[&args[..], &[image.to_str().unwrap()]].concat(),
                None,
            );
            let ours = dir.path().join(format!("{comp}{}-isofish", extra.len()));
            std::fs::create_dir(&ours).unwrap();
            crate::common::run_ro(&image, &["copy-out", "/", ours.to_str().unwrap()]);
            for name in ["big.bin", "blocks.bin", "small.txt"] {
                let (a, b) = (theirs.join(name), ours.join(name));
                assert!(
                    std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
                    "{case}: {name}"
                );
            }
            assert_same(&snapshot(&theirs), &snapshot(&ours), &case);
        }
    }
}
