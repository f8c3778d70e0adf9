//! The last gaps of the ext reader, each held against e2fsprogs: bigalloc filesystems (clusters
//! of 16 and 64 KiB, 1 and 4 KiB blocks, meta_bg) read as `debugfs rdump` extracts them once
//! `e2fsck -fn` calls them clean; a fast symlink whose block count includes an xattr value kept in
//! an inode of its own (ea_inode), and those values, as debugfs reads them.

use std::path::Path;

use crate::common::{run_ro, scratch, tool};
use crate::nested_ext::{debugfs, mke2fs_sized, same_as_debugfs, sparse_file, KINDS};
use crate::nested_util::{make_tree, noise, Kinds};

/// Runs `e2fsck -fn` on `image` and asserts it finds nothing to fix.
fn clean(image: &Path) {
    let out = std::process::Command::new("e2fsck")
        .args(["-fn", image.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "e2fsck -fn {}: {}",
        image.display(),
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn bigalloc_filesystems_read_as_debugfs_rdump_extracts() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, Kinds { many: 300, ..KINDS });
    sparse_file(&tree.join("dir/sparse.bin"), 6 << 20);
    for (i, (extra, size)) in [
        (&["-b", "1024", "-C", "16384"][..], "64M"),
        (&["-b", "1024", "-C", "65536"], "64M"),
        // Several groups of 131072 blocks.
        (&["-b", "1024", "-C", "16384"], "512M"),
        (
            &["-b", "1024", "-C", "16384", "-O", "meta_bg,^resize_inode"],
            "512M",
        ),
        (&["-b", "4096", "-C", "65536"], "2G"),
    ]
    .into_iter()
    .enumerate()
    {
        let image = dir.path().join(format!("bigalloc{i}.img"));
        let mut args = vec!["-O", "bigalloc"];
        args.extend(extra);
        mke2fs_sized(&tree, &image, "ext4", &args, size);
        clean(&image);
        let stats = debugfs(&image, "stats\n");
        let cluster = stats
            .lines()
            .find_map(|l| l.strip_prefix("Cluster size:"))
            .unwrap()
            .trim();
        let what = format!("bigalloc {extra:?} {size}");
        same_as_debugfs(&image, &what);
        let info = run_ro(&image, &["info", "/dev/sda"]);
        let info = String::from_utf8(info).unwrap();
        assert!(
            info.lines()
                .any(|l| l.starts_with("Cluster size:") && l.ends_with(&format!(" {cluster}"))),
            "{what}: {info}"
        );
    }
}

#[test]
fn a_fast_symlink_beside_an_ea_inode_value_reads_as_debugfs() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::os::unix::fs::symlink("abc", tree.join("link")).unwrap();
    std::fs::write(tree.join("file"), b"x\n").unwrap();
    let image = dir.path().join("ea.img");
    mke2fs_sized(
        &tree,
        &image,
        "ext4",
        &["-O", "ea_inode", "-b", "1024"],
        "16M",
    );
    // A value larger than an inode and a block holds goes to an inode of its own.
    let value = dir.path().join("value");
    std::fs::write(&value, noise(1024, 7)).unwrap();
    for path in ["/link", "/file"] {
        debugfs_w(
            &image,
            &format!("ea_set -f {} {path} user.big", value.display()),
        );
    }
    // The kernel charges the value inode's blocks to the symlink's i_blocks; e2fsck does the
    // same for what debugfs wrote.
    let _ = std::process::Command::new("e2fsck")
        .args(["-fy", image.to_str().unwrap()])
        .output()
        .unwrap();
    let stat = debugfs(&image, "stat /link\n");
    let blocks: u64 = stat
        .split("Blockcount:")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        blocks > 0,
        "the symlink's i_blocks counts the value: {stat}"
    );
    let target = stat
        .split("Fast link dest: \"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("debugfs calls it a fast symlink: {stat}"));
    let ours = String::from_utf8(run_ro(&image, &["readlink", "/link"])).unwrap();
    assert_eq!(ours.trim_end(), target);
    for path in ["/link", "/file"] {
        let theirs = dir.path().join("theirs");
        debugfs(
            &image,
            &format!("ea_get -f {} {path} user.big\n", theirs.display()),
        );
        let ours = run_ro(&image, &["lgetxattr", path, "user.big"]);
        assert_eq!(ours, std::fs::read(&theirs).unwrap(), "{path}: user.big");
    }
    same_as_debugfs(&image, "ea_inode");
}

/// Runs one debugfs command on `image` opened read-write.
fn debugfs_w(image: &Path, command: &str) {
    tool(
        "debugfs",
        &["-w", "-R", command, image.to_str().unwrap()],
        None,
    );
}
