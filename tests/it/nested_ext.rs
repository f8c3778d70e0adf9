//! ext2, ext3 and ext4 images made by `mke2fs -d` read by isofish exactly as `debugfs -R
//! rdump` extracts them (names, modes, owners, times, fast and slow symlinks, large files,
//! a directory big enough for an htree index after `e2fsck -D`); features the reader lacks
//! (inline_data) refused by name; damaged images refused without a panic or a hang.

use std::path::Path;

use crate::common::{scratch, tool};
use crate::host_tree::{assert_same, snapshot, Tree};
use crate::nested_util::{extract, make_tree, run, run_err, Kinds};

const KINDS: Kinds = Kinds {
    special: false,
    hard_links: true,
    owners: true,
    many: 1000,
    large: 3 << 20,
};

fn mke2fs(tree: &Path, image: &Path, kind: &str, extra: &[&str]) {
    let mut args = vec!["-q", "-F", "-t", kind];
    args.extend(extra);
    args.extend(["-d", tree.to_str().unwrap(), image.to_str().unwrap(), "32M"]);
    tool("mke2fs", &args, None);
}

#[test]
fn ext2_ext3_ext4_read_as_debugfs_rdump_extracts() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, KINDS);
    for kind in ["ext2", "ext3", "ext4"] {
        let image = dir.path().join(format!("{kind}.img"));
        mke2fs(&tree, &image, kind, &[]);
        // Rebuild the directories with htree indexes (the crowded one needs several blocks).
        let fsck = std::process::Command::new("e2fsck")
            .args(["-f", "-y", "-D", image.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            fsck.status.code().is_some_and(|c| c <= 1),
            "e2fsck on {kind}"
        );
        let theirs = dir.path().join(format!("{kind}-debugfs"));
        std::fs::create_dir(&theirs).unwrap();
        let cmd = format!("rdump / {}", theirs.display());
        tool("debugfs", &["-R", &cmd, image.to_str().unwrap()], None);
        let ours = dir.path().join(format!("{kind}-isofish"));
        extract(&image, &[], "/", &ours);
        let mut expected = snapshot(&theirs);
        fix_from_debugfs(&image, &mut expected);
        assert!(expected.nodes.len() > 1000, "{kind}: the tree is all there");
        assert_same(&expected, &snapshot(&ours), kind);
        let types =
            String::from_utf8(run(&image, &["vfs-type", "/dev/sda", ":", "mounts"])).unwrap();
        assert_eq!(types, format!("{kind}\n/dev/sda on / ({kind})\n"));
    }
}

/// `rdump` leaves symlinks with the extractor's owner and time, and its chown after chmod drops
/// set-id bits: take modes and owners from `debugfs ls -p` of every directory, and symlink
/// times from `debugfs stat`, all in one debugfs run.
fn fix_from_debugfs(image: &Path, tree: &mut Tree) {
    let mut script = String::from("ls -p /\n");
    for (path, node) in &tree.nodes {
        match node.kind {
            'd' => script.push_str(&format!("ls -p /{path}\n")),
            'l' => script.push_str(&format!("stat /{path}\n")),
            _ => {}
        }
    }
    let cmds = image.with_extension("debugfs");
    std::fs::write(&cmds, script).unwrap();
    let out = tool(
        "debugfs",
        &["-f", cmds.to_str().unwrap(), image.to_str().unwrap()],
        None,
    );
    let out = String::from_utf8(out).unwrap();
    let mut dir = String::new();
    for line in out.lines() {
        if let Some(d) = line.strip_prefix("debugfs: ls -p /") {
            dir = d.to_string();
        } else if let Some(p) = line.strip_prefix("debugfs: stat /") {
            dir = p.to_string();
        } else if let Some(hex) = line.trim_start().strip_prefix("mtime: 0x") {
            let secs = i64::from_str_radix(&hex[..8], 16).unwrap();
            tree.nodes.get_mut(&dir).unwrap().mtime = secs;
        } else if line.starts_with('/') {
            let f: Vec<&str> = line.split('/').collect();
            let name = f[5];
            // Unused slots list as inode 0 with an empty name.
            if name == "." || name == ".." || f[1] == "0" {
                continue;
            }
            let path = if dir.is_empty() {
                name.to_string()
            } else {
                format!("{dir}/{name}")
            };
            let node = tree.nodes.get_mut(&path).unwrap();
            if node.kind != 'l' {
                node.mode = u32::from_str_radix(f[2], 8).unwrap() & 0o7777;
            }
            node.uid = f[3].parse().unwrap();
            node.gid = f[4].parse().unwrap();
        }
    }
}

#[test]
fn damaged_images_fail_cleanly() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, Kinds::plain(200, 300_000));
    let image = dir.path().join("good.img");
    let mut args = vec!["-q", "-F", "-t", "ext4", "-d", tree.to_str().unwrap()];
    args.extend([image.to_str().unwrap(), "2M"]);
    tool("mke2fs", &args, None);
    let good = std::fs::read(&image).unwrap();
    let mut cases = vec![good[..4096].to_vec(), good[..good.len() / 2].to_vec()];
    // Flip bytes in the metadata blocks that are in use (the first 600 KiB hold them).
    for at in (1024..600 * 1024).step_by(12 * 1024) {
        let mut bad = good.clone();
        for b in &mut bad[at..at + 16] {
            *b ^= 0xa5;
        }
        cases.push(bad);
    }
    for (i, bytes) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.img"));
        std::fs::write(&path, bytes).unwrap();
        crate::nested_util::walk_damaged(&path, i);
    }
}

#[test]
fn an_extent_tree_that_loops_is_an_error() {
    let dir = scratch();
    let d = dir.path();
    // A fragmented file: 40 files written, every other one removed, then a large one written
    // into the holes, so its extent tree needs an index block (no checksums to trip first).
    let script = "mke2fs -q -F -t ext4 -O ^metadata_csum -b 1024 e.img 4M >/dev/null 2>&1 \
        && head -c 20000 /dev/urandom > small && head -c 300000 /dev/urandom > big \
        && for i in $(seq 1 40); do debugfs -w -R \"write small f$i\" e.img >/dev/null 2>&1; done \
        && for i in $(seq 1 2 40); do debugfs -w -R \"rm f$i\" e.img >/dev/null 2>&1; done \
        && debugfs -w -R 'write big big' e.img >/dev/null 2>&1";
    tool("sh", &["-c", script], Some(d));
    let ex = String::from_utf8(tool("debugfs", &["-R", "ex big", "e.img"], Some(d))).unwrap();
    // debugfs's first line under the header is the index entry: its physical block.
    let block: usize = ex
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .nth(7)
        .unwrap()
        .parse()
        .unwrap();
    let mut bytes = std::fs::read(d.join("e.img")).unwrap();
    let at = block * 1024;
    assert_eq!(&bytes[at..at + 2], &[0x0a, 0xf3], "an extent block");
    // The leaf claims depth 1 and its first entry becomes an index pointing at itself.
    bytes[at + 6..at + 8].copy_from_slice(&1u16.to_le_bytes());
    bytes[at + 12..at + 24].copy_from_slice(&[0; 12]);
    bytes[at + 16..at + 20].copy_from_slice(&(block as u32).to_le_bytes());
    let image = d.join("loop.img");
    std::fs::write(&image, &bytes).unwrap();
    let out = crate::common::isofish()
        .timeout(std::time::Duration::from_secs(20))
        .args(["--ro", "-a", image.to_str().unwrap(), "cat", "/big"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("corrupt ext structure") && err.contains("/big"),
        "{err}"
    );
}
