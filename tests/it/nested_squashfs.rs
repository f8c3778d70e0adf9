//! Squashfs images made by mksquashfs, one per compressor, read by isofish exactly as
//! unsquashfs extracts them: names, kinds, modes, owners, times, symlink targets, device
//! numbers, hard links and every byte; listings as `unsquashfs -l` gives them; lzo refused
//! clearly; damaged images refused with an error, never a panic or a hang.

use std::path::Path;

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

fn mksquashfs(tree: &Path, image: &Path, comp: &str) {
    tool(
        "mksquashfs",
        &[
            tree.to_str().unwrap(),
            image.to_str().unwrap(),
            "-comp",
            comp,
            "-noappend",
            "-quiet",
            "-no-progress",
        ],
        None,
    );
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
