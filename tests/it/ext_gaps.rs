//! The last gaps of the ext reader, each held against e2fsprogs: bigalloc filesystems (clusters
//! of 16 and 64 KiB, 1 and 4 KiB blocks, meta_bg) read as `debugfs rdump` extracts them once
//! `e2fsck -fn` calls them clean.

use std::path::Path;

use crate::common::{run_ro, scratch};
use crate::nested_ext::{debugfs, mke2fs_sized, same_as_debugfs, sparse_file, KINDS};
use crate::nested_util::{make_tree, Kinds};

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
