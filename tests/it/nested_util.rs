//! Helpers of the nested-image tests: a source tree with every kind of entry (built with the
//! host's own tools), and isofish's extraction of a mounted tree (tar-out unpacked by GNU tar).

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

pub use crate::common::run_ro as run;
use crate::common::{isofish, tool};

/// Deterministic bytes that do not compress to nothing.
pub fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            // Every 4th KiB a run of text, so compressors have something to do.
            if (i / 1024) % 4 == 0 {
                b"isofish "[i % 8]
            } else {
                x as u8
            }
        })
        .collect()
}

/// Writes `data` to `path`, making its parent directories.
pub fn write(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// What kinds of entries [`make_tree`] creates.
#[derive(Clone, Copy)]
pub struct Kinds {
    /// Device nodes and FIFOs.
    pub special: bool,
    /// Hard links.
    pub hard_links: bool,
    /// Owners other than root.
    pub owners: bool,
    /// Entries in the crowded directory.
    pub many: usize,
    /// Size of the large file.
    pub large: usize,
}

impl Kinds {
    /// Files, directories and symlinks only: no devices, FIFOs, hard links or owners.
    pub fn plain(many: usize, large: usize) -> Kinds {
        Kinds {
            special: false,
            hard_links: false,
            owners: false,
            many,
            large,
        }
    }
}

/// Builds a tree at `top`: plain, empty and large files, a crowded directory, fast and slow
/// (long) symlinks, and as `kinds` says hard links, devices, FIFOs and owners; every time
/// pinned to 2023-11-14.
pub fn make_tree(top: &Path, kinds: Kinds) {
    write(&top.join("hello.txt"), b"hello, nested world\n");
    write(&top.join("empty"), b"");
    write(&top.join("dir/sub/deep.txt"), b"deep inside\n");
    write(&top.join("dir/large.bin"), &noise(kinds.large, 7));
    write(&top.join("dir/odd-size.bin"), &noise(131_073, 9));
    for i in 0..kinds.many {
        write(
            &top.join(format!("many/entry-with-a-long-name-{i:05}.txt")),
            format!("file {i}\n").as_bytes(),
        );
    }
    symlink("hello.txt", top.join("fast-link")).unwrap();
    symlink(
        format!("dir/{}/target", "long".repeat(40)),
        top.join("slow-link"),
    )
    .unwrap();
    symlink("/etc/absolute", top.join("dir/abs-link")).unwrap();
    std::fs::set_permissions(
        top.join("dir/sub/deep.txt"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    write(&top.join("bin/suid"), b"#!/bin/sh\n");
    std::fs::set_permissions(
        top.join("bin/suid"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    if kinds.hard_links {
        std::fs::hard_link(top.join("hello.txt"), top.join("dir/hard-link")).unwrap();
    }
    if kinds.special {
        let dev = top.join("dev");
        std::fs::create_dir_all(&dev).unwrap();
        let d = |n: &str| dev.join(n).to_str().unwrap().to_string();
        tool("mknod", &[&d("null"), "c", "1", "3"], None);
        tool("mknod", &[&d("sda1"), "b", "8", "1"], None);
        tool("mkfifo", &[&d("fifo")], None);
    }
    if kinds.owners {
        std::os::unix::fs::chown(top.join("dir/sub"), Some(1000), Some(100)).unwrap();
        std::os::unix::fs::lchown(top.join("fast-link"), Some(1000), Some(1000)).unwrap();
    }
    tool(
        "find",
        &[
            top.to_str().unwrap(),
            "-exec",
            "touch",
            "-h",
            "-d",
            "2023-11-14 22:13:20 UTC",
            "{}",
            "+",
        ],
        None,
    );
}

/// Runs isofish expecting failure; returns stderr.
pub fn run_err(image: &Path, words: &[&str]) -> String {
    let out = isofish()
        .arg("--ro")
        .arg("-a")
        .arg(image)
        .args(words)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "isofish {words:?} on {} succeeded",
        image.display()
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Walks the damaged image `image` (case `i` of a test) with `find / : tar-out / /dev/null`
/// within 20 s; checks that isofish ends without a panic and not by a signal, and returns
/// whether it succeeded and its stderr.
pub fn walk_damaged(image: &Path, i: usize) -> (bool, String) {
    let out = isofish()
        .timeout(std::time::Duration::from_secs(20))
        .arg("--ro")
        .arg("-a")
        .arg(image)
        .args(["find", "/", ":", "tar-out", "/", "/dev/null"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked") && out.status.code().is_some(),
        "case {i}: {stderr}"
    );
    (out.status.success(), stderr)
}

/// Extracts `dir` (after the one-liner commands `pre`, which end with ':') with tar-out into
/// `into` via GNU tar, as root so owners, devices and modes come back.
pub fn extract(image: &Path, pre: &[&str], dir: &str, into: &Path) {
    let tarball = into.with_extension("tar");
    let mut words: Vec<&str> = pre.to_vec();
    words.extend(["tar-out", dir, tarball.to_str().unwrap()]);
    run(image, &words);
    std::fs::create_dir_all(into).unwrap();
    tool(
        "tar",
        &[
            "-xpf",
            tarball.to_str().unwrap(),
            "--numeric-owner",
            "-C",
            into.to_str().unwrap(),
        ],
        None,
    );
}
