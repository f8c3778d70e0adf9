//! The last gaps of the ext reader, each held against e2fsprogs: bigalloc filesystems (clusters
//! of 16 and 64 KiB, 1 and 4 KiB blocks, meta_bg) read as `debugfs rdump` extracts them once
//! `e2fsck -fn` calls them clean; a fast symlink whose block count includes an xattr value kept in
//! an inode of its own (ea_inode), and those values, as debugfs reads them; filesystems that
//! need recovery (journals with and without checksums v2/v3, 32- and 64-bit tags, revoked
//! blocks, an uncommitted transaction) read as debugfs reads a copy `e2fsck -E journal_only`
//! replayed, the image untouched; hostile journal superblocks and descriptors refused with the
//! structure and its offset; a sparse terabyte in ext4 and ext2 images through `tar-out` (a PAX
//! sparse member GNU tar and bsdtar extract with its holes), `copy-out` and `download`.

use std::path::Path;

use crate::boot_extract::bytes_at;
use crate::common::{run_ro, scratch, tool};
use crate::nested_ext::{
    debugfs, mke2fs_sized, same_as_debugfs, same_as_debugfs_of, sparse_file, KINDS,
};
use crate::nested_util::{make_tree, noise, run_err, Kinds};

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

/// The blocks of `after` that differ from `before` (two images of one filesystem), and their
/// bytes in `after`, one after the other.
fn changed_blocks(before: &Path, after: &Path, block_size: usize) -> (Vec<usize>, Vec<u8>) {
    let (a, b) = (
        std::fs::read(before).unwrap(),
        std::fs::read(after).unwrap(),
    );
    let changed: Vec<usize> = (0..a.len() / block_size)
        .filter(|i| {
            a[i * block_size..(i + 1) * block_size] != b[i * block_size..(i + 1) * block_size]
        })
        .collect();
    let bytes = changed
        .iter()
        .flat_map(|i| b[i * block_size..(i + 1) * block_size].to_vec())
        .collect();
    (changed, bytes)
}

/// The first data block of `path` in `image`.
fn data_block(image: &Path, path: &str) -> usize {
    let out = debugfs(image, &format!("bmap {path} 0\n"));
    out.lines().last().unwrap().trim().parse().unwrap()
}

/// The number of committed transactions `debugfs logdump` finds in the journal of `image`.
fn logged_commits(image: &Path) -> usize {
    debugfs(image, "logdump\n")
        .lines()
        .filter(|l| l.contains("(commit block)"))
        .count()
}

/// Block numbers as debugfs takes them: `1,2,3`.
pub(crate) fn list(blocks: &[usize]) -> String {
    blocks
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn a_filesystem_that_needs_recovery_reads_as_e2fsck_replays_it() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, Kinds::plain(40, 100_000));
    std::fs::write(tree.join("revoked.txt"), noise(3000, 1)).unwrap();
    std::fs::write(tree.join("uncommitted.txt"), noise(3000, 2)).unwrap();
    std::fs::write(tree.join("gone.txt"), b"removed after the crash\n").unwrap();
    let new = dir.path().join("new.bin");
    // Starting with the journal's magic, its first block's copy in the journal is escaped.
    let magic = [0xc0, 0x3b, 0x39, 0x98];
    std::fs::write(&new, [&magic[..], &noise(70_000, 3)].concat()).unwrap();
    for (i, (kind, block_size, extra, open)) in [
        ("ext4", 4096, &[][..], "jo -c"),
        ("ext4", 1024, &["-O", "^64bit"], "jo -c -v 2"),
        ("ext4", 4096, &[], "jo"),
        ("ext3", 1024, &[], "jo"),
    ]
    .into_iter()
    .enumerate()
    {
        let what = format!("{kind} {block_size} {extra:?} {open}");
        let image = dir.path().join(format!("journaled{i}.img"));
        let bs = block_size.to_string();
        let mut args = vec!["-b", &bs];
        args.extend(extra);
        mke2fs_sized(&tree, &image, kind, &args, "32M");
        // The state the journal leads to: debugfs changes a copy in place.
        let after = dir.path().join(format!("after{i}.img"));
        std::fs::copy(&image, &after).unwrap();
        debugfs_w_script(
            &after,
            &format!(
                "write {} /journaled.bin\nmkdir /journaled-dir\nsymlink /journaled-dir/link \
                 /journaled.bin\nrm /gone.txt\nsif / mode 040700\n",
                new.display()
            ),
        );
        let (changed, bytes) = changed_blocks(&image, &after, block_size);
        assert!(changed.len() > 4, "{what}: {changed:?}");
        // Those blocks go to the journal of the original in two transactions; a block the
        // first one scribbles over is revoked by a later one, and a last transaction that
        // scribbles over another is left uncommitted.
        let half = changed.len() / 2;
        let revoked = data_block(&image, "/revoked.txt");
        let uncommitted = data_block(&image, "/uncommitted.txt");
        let garbage = noise(block_size, 9);
        let first = dir.path().join("first.bin");
        std::fs::write(&first, [&bytes[..half * block_size], &garbage].concat()).unwrap();
        let second = dir.path().join("second.bin");
        std::fs::write(&second, &bytes[half * block_size..]).unwrap();
        let scribble = dir.path().join("scribble.bin");
        std::fs::write(&scribble, &garbage).unwrap();
        let mut first_blocks = changed[..half].to_vec();
        first_blocks.push(revoked);
        debugfs_w_script(
            &image,
            &format!(
                "{open}\njw -b {} {}\njw -r {revoked} {}\njw -b {} {}\njw -b {uncommitted} -c \
                 {}\njc\n",
                list(&first_blocks),
                first.display(),
                scribble.display(),
                list(&changed[half..]),
                second.display(),
                scribble.display(),
            ),
        );
        let features = debugfs(&image, "features\n");
        assert!(features.contains("needs_recovery"), "{what}: {features}");
        let pristine = std::fs::read(&image).unwrap();
        // e2fsck replays the journal of a copy, as the kernel would on mounting.
        let replayed = dir.path().join(format!("replayed{i}.img"));
        std::fs::copy(&image, &replayed).unwrap();
        let fsck = std::process::Command::new("e2fsck")
            .args(["-y", "-E", "journal_only", replayed.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            fsck.status.code().is_some_and(|c| c <= 1),
            "{what}: {fsck:?}"
        );
        same_as_debugfs_of(&image, &replayed, &what);
        let info = String::from_utf8(run_ro(&image, &["info", "/dev/sda"])).unwrap();
        let expected = format!(
            "replayed: {} transactions, {} blocks",
            logged_commits(&image),
            changed.len()
        );
        assert!(
            info.lines()
                .any(|l| l.starts_with("Journal:") && l.ends_with(&expected)),
            "{what}: {info}"
        );
        assert_eq!(
            std::fs::read(&image).unwrap(),
            pristine,
            "{what}: the image is untouched"
        );
    }
}

/// Runs the debugfs commands `script` on `image` opened read-write.
fn debugfs_w_script(image: &Path, script: &str) {
    let cmds = image.with_extension("debugfs-w");
    std::fs::write(&cmds, script).unwrap();
    tool(
        "debugfs",
        &["-w", "-f", cmds.to_str().unwrap(), image.to_str().unwrap()],
        None,
    );
}

/// Where the journal superblock of `image` lies (the block starting with the journal magic
/// and type 4), and the first descriptor block after it.
fn journal_blocks(image: &[u8], block_size: usize) -> (usize, usize) {
    let at = |kind: u32| {
        (0..image.len())
            .step_by(block_size)
            .find(|&at| {
                image[at..at + 4] == [0xc0, 0x3b, 0x39, 0x98]
                    && image[at + 4..at + 8] == kind.to_be_bytes()
            })
            .unwrap()
    };
    (at(4), at(1))
}

#[test]
fn hostile_journals_are_refused_with_the_structure_and_offset() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, Kinds::plain(10, 10_000));
    std::fs::write(tree.join("target.bin"), noise(5000, 5)).unwrap();
    for open in ["jo", "jo -c"] {
        let image = dir.path().join("journaled.img");
        mke2fs_sized(&tree, &image, "ext4", &["-b", "4096"], "8M");
        let copy = dir.path().join("copy.bin");
        std::fs::write(&copy, noise(4096, 4)).unwrap();
        let block = data_block(&image, "/target.bin");
        debugfs_w_script(
            &image,
            &format!("{open}\njw -b {block} {}\njc\n", copy.display()),
        );
        let good = std::fs::read(&image).unwrap();
        let (jsb, descriptor) = journal_blocks(&good, 4096);
        let patched = |name: &str, at: usize, value: u32| {
            let path = dir.path().join(name);
            let mut b = good.clone();
            b[at..at + 4].copy_from_slice(&value.to_be_bytes());
            std::fs::write(&path, b).unwrap();
            path
        };
        // s_maxlen past the journal inode.
        let long = patched("long.img", jsb + 0x10, 1 << 30);
        let err = run_err(&long, &["ls", "/"]);
        assert!(
            err.contains(&format!("corrupt ext journal superblock at offset {jsb}"))
                && err.contains("in a journal inode of"),
            "{open}: {err}"
        );
        // s_start past the journal.
        let start = patched("start.img", jsb + 0x1c, 1 << 20);
        let err = run_err(&start, &["ls", "/"]);
        assert!(err.contains("log area from block"), "{open}: {err}");
        // An unknown incompatible feature, as the kernel refuses it.
        let feature = patched("feature.img", jsb + 0x28, 0x8000_0000);
        let err = run_err(&feature, &["ls", "/"]);
        assert!(
            err.contains("unsupported ext journal incompatible features 0x80000000"),
            "{open}: {err}"
        );
        let tag = patched("tag.img", descriptor + 12, 0xffff_fff0);
        if open == "jo" {
            // A tag naming a block past the filesystem.
            let err = run_err(&tag, &["ls", "/"]);
            assert!(
                err.contains(&format!(
                    "corrupt ext journal descriptor block at offset {descriptor}"
                )) && err.contains("past the filesystem"),
                "{open}: {err}"
            );
        } else {
            // With checksums: the superblock's own, and a descriptor whose checksum fails
            // ends the log before it (as a stale block does): nothing is replayed.
            let sum = patched("sum.img", jsb + 0x30, 0x1234_5678);
            let err = run_err(&sum, &["ls", "/"]);
            assert!(err.contains("is not the superblock's"), "{open}: {err}");
            // A copy whose checksum its tag does not match fails the replay, as the mount.
            let copy = patched("copy.img", descriptor + 4096 + 100, 0x0bad_0bad);
            let err = run_err(&copy, &["ls", "/"]);
            assert!(
                err.contains("corrupt ext journal block at offset") && err.contains("its tag says"),
                "{open}: {err}"
            );
            let info = String::from_utf8(run_ro(&tag, &["info", "/dev/sda"])).unwrap();
            assert!(
                info.contains("replayed: 0 transactions, 0 blocks"),
                "{open}: {info}"
            );
        }
    }
}

/// Asserts that `copy` is the sparse terabyte `original`: its size, its three pieces of data,
/// and little allocated.
pub(crate) fn same_sparse(original: &Path, copy: &Path, what: &str) {
    use std::os::unix::fs::MetadataExt;
    let (want, got) = (
        std::fs::metadata(original).unwrap(),
        std::fs::metadata(copy).unwrap(),
    );
    assert_eq!(got.len(), want.len(), "{what}: size");
    for at in [0, want.len() / 2, want.len() - 5000] {
        assert_eq!(
            bytes_at(copy, at, 5000),
            bytes_at(original, at, 5000),
            "{what}: data at {at}"
        );
    }
    assert!(
        got.blocks() * 512 < 1 << 20,
        "{what}: {} bytes allocated",
        got.blocks() * 512
    );
}

#[test]
fn a_sparse_terabyte_goes_out_sparse_through_tar_out_copy_out_and_download() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    let original = tree.join("huge.bin");
    sparse_file(&original, 1 << 40);
    std::fs::write(tree.join("small.txt"), b"not sparse\n").unwrap();
    // Extents (ext4) and block maps with zero pointers (ext2).
    for (kind, extra) in [("ext4", &[][..]), ("ext2", &["-b", "4096"])] {
        let work = dir.path().join(kind);
        std::fs::create_dir(&work).unwrap();
        let image = work.join("sparse.img");
        mke2fs_sized(&tree, &image, kind, extra, "64M");
        // tar-out: a PAX sparse member that GNU tar and bsdtar extract with its holes.
        let tarball = work.join("out.tar");
        run_ro(&image, &["tar-out", "/", tarball.to_str().unwrap()]);
        assert!(std::fs::metadata(&tarball).unwrap().len() < 1 << 20);
        for (extractor, args) in [("tar", &["-xf"][..]), ("bsdtar", &["-xf"])] {
            let into = work.join(format!("{extractor}-tree"));
            std::fs::create_dir(&into).unwrap();
            let mut all = args.to_vec();
            all.extend([tarball.to_str().unwrap(), "-C", into.to_str().unwrap()]);
            tool(extractor, &all, None);
            same_sparse(
                &original,
                &into.join("huge.bin"),
                &format!("{kind}: {extractor}"),
            );
            assert_eq!(
                std::fs::read(into.join("small.txt")).unwrap(),
                b"not sparse\n"
            );
        }
        let listing =
            String::from_utf8(tool("tar", &["-tvf", tarball.to_str().unwrap()], None)).unwrap();
        assert!(
            listing.contains(&format!(" {} ", 1u64 << 40)) && listing.contains("./huge.bin"),
            "{listing}"
        );
        // With xattrs:true, one pax header carries the attributes and the sparse map.
        let note = work.join("note");
        std::fs::write(&note, b"hello-xattr").unwrap();
        debugfs_w(
            &image,
            &format!("ea_set -f {} /huge.bin user.note", note.display()),
        );
        let with_xattrs = work.join("xattrs.tar");
        let words = ["tar-out", "/", with_xattrs.to_str().unwrap(), "xattrs:true"];
        run_ro(&image, &words);
        let listing = String::from_utf8(tool(
            "tar",
            &["--xattrs", "-tvvf", with_xattrs.to_str().unwrap()],
            None,
        ))
        .unwrap();
        assert!(listing.contains("x: 11 user.note"), "{listing}");
        let into = work.join("xattrs-tree");
        std::fs::create_dir(&into).unwrap();
        let args = [
            "-xf",
            with_xattrs.to_str().unwrap(),
            "-C",
            into.to_str().unwrap(),
        ];
        tool("tar", &args, None);
        same_sparse(
            &original,
            &into.join("huge.bin"),
            &format!("{kind}: tar with xattrs"),
        );
        // copy-out and download: holes made by seeking.
        let out = work.join("copied");
        std::fs::create_dir(&out).unwrap();
        run_ro(&image, &["copy-out", "/huge.bin", out.to_str().unwrap()]);
        same_sparse(
            &original,
            &out.join("huge.bin"),
            &format!("{kind}: copy-out"),
        );
        let downloaded = work.join("downloaded.bin");
        run_ro(
            &image,
            &["download", "/huge.bin", downloaded.to_str().unwrap()],
        );
        same_sparse(&original, &downloaded, &format!("{kind}: download"));
    }
}
