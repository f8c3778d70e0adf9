//! Compressed initrds read without spooling their decoded bytes: decompression bombs made by
//! GNU cpio and gzip, xz, zstd (a small file, then zero files past the decoded-size limit) read
//! their first file and list their root with no temporary file written (a 4 MiB file-size
//! limit on the process and an empty `TMPDIR` hold it), what passes the limit is said; and
//! multi-MiB initrds read at random (files in reverse order, the gzip checkpoints thinned by a
//! small `memory=`) exactly as `cpio -i` extracts them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{scratch, tool};
use crate::nested_cpio::{drive_holding, zeros_md5};

fn sh(script: &str) {
    tool("sh", &["-c", script], None);
}

/// Runs isofish on `drive` with a fresh empty `TMPDIR` and a 4 MiB limit on the size of any file
/// it writes (8192 blocks of 512 bytes, as dash counts them: a spool would die of SIGXFSZ);
/// checks that `TMPDIR` stays empty.
fn run_without_spool(drive: &Path, words: &[&str]) -> Output {
    let tmp = drive.with_file_name("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("isofish");
    let out = Command::new("sh")
        .args(["-c", "ulimit -f 8192 && exec \"$0\" \"$@\""])
        .arg(bin)
        .args(["--ro", "-a"])
        .arg(drive)
        .args(words)
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some(),
        "isofish was killed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "files left in TMPDIR: {left:?}");
    out
}

/// `small` (its text), then `big1`..`big3` sparse zero files of `big` bytes each, archived by
/// GNU cpio (newc) through `compress` into `bomb.cpio` in `dir`, inside an ISO.
fn bomb(dir: &Path, compress: &str, big: u64) -> PathBuf {
    let tree = dir.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("small"), "the first file\n").unwrap();
    for i in 1..=3 {
        let f = std::fs::File::create(tree.join(format!("big{i}"))).unwrap();
        f.set_len(big).unwrap();
    }
    let image = dir.join("bomb.cpio");
    sh(&format!(
        "cd '{}' && printf 'small\\nbig1\\nbig2\\nbig3\\n' | cpio --quiet -o -H newc | {compress} > '{}'",
        tree.display(),
        image.display()
    ));
    drive_holding(&image)
}

/// A bomb whose second file passes the limit: the first file reads, the root lists what was
/// found up to the limit, the rest is said to be left out, and nothing is spooled.
fn bomb_reads_its_first_file(compress: &str) {
    let dir = scratch();
    let big = 96 << 20;
    let drive = bomb(dir.path(), compress, big);
    // Every run mounts the bomb under a 160 MiB limit first.
    let run = |words: &[&str]| {
        let mount = ["mount-loop", "/bomb.cpio", "/b", "limit=160M", ":"];
        run_without_spool(&drive, &[&mount[..], words].concat())
    };
    let out = run(&["cat", "/b/small"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "the first file\n");
    let out = run(&["ls", "/b", ":", "cat", "/b/small"]);
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert_eq!(stdout, "big1\nbig2\nsmall\nthe first file\n", "{compress}");
    assert!(
        stderr.contains("the data of big2 passes the limit of 167772160 decoded bytes"),
        "{compress}: {stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "{compress}: {stderr}");
    // The file below the limit reads whole; the one across it up to the limit.
    let out = run(&["checksum", "md5", "/b/big1", ":", "info", "/b"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with(&zeros_md5(big)), "{stdout}");
    assert!(stdout.contains("Left out:"), "{stdout}");
    let out = run(&["checksum", "md5", "/b/big2"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("more than the limit of 167772160 bytes"),
        "{compress}"
    );
}

#[test]
fn a_zstd_bomb_reads_its_first_file_without_spooling() {
    bomb_reads_its_first_file("zstd -q -1");
}

#[test]
fn a_gzip_bomb_reads_its_first_file_without_spooling() {
    bomb_reads_its_first_file("gzip -1");
}

#[test]
fn an_xz_bomb_reads_its_first_file_without_spooling() {
    bomb_reads_its_first_file("xz -0 -T1");
}

/// Bytes that compress a little (a generator, not the test's subject).
fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|i| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            if i % 4 == 0 {
                b'a' + (i % 13) as u8
            } else {
                (x >> 23) as u8
            }
        })
        .collect()
}

#[test]
fn compressed_initrds_read_at_random_as_cpio_extracts() {
    let dir = scratch();
    let d = dir.path();
    let tree = d.join("tree");
    std::fs::create_dir_all(tree.join("lib")).unwrap();
    let names: Vec<String> = (0..12).map(|i| format!("lib/f{i:02}")).collect();
    for (i, name) in names.iter().enumerate() {
        std::fs::write(tree.join(name), noise((1 << 20) + i * 4099, i as u32)).unwrap();
    }
    for (codec, compress, decompress) in [
        ("gzip", "gzip -6", "gzip -dc"),
        ("xz", "xz -0 -T1", "xz -dc"),
        ("zstd", "zstd -q -3", "zstd -dc"),
    ] {
        let image = d.join("initrd.img");
        sh(&format!(
            "cd '{}' && find . | LC_ALL=C sort | cpio --quiet -o -H newc | {compress} > '{}'",
            tree.display(),
            image.display()
        ));
        let drive = drive_holding(&image);
        let gnu = d.join(format!("gnu-{codec}"));
        std::fs::create_dir_all(&gnu).unwrap();
        sh(&format!(
            "cd '{}' && {decompress} < '{}' | cpio --quiet -idm",
            gnu.display(),
            image.display()
        ));
        // Reverse order: every read starts before the one that came last.
        let mut words = vec!["mount-loop", "/initrd.img", "/i", "memory=100K"];
        let paths: Vec<String> = names.iter().rev().map(|n| format!("/i/{n}")).collect();
        let mut expected = Vec::new();
        for (name, path) in names.iter().rev().zip(&paths) {
            words.extend([":", "cat", path]);
            expected.extend(std::fs::read(gnu.join(name)).unwrap());
        }
        words.extend([":", "info", "/i"]);
        let out = run_without_spool(&drive, &words);
        assert!(out.status.success(), "{codec}");
        let (data, info) = out.stdout.split_at(expected.len().min(out.stdout.len()));
        assert!(data == expected, "{codec}: the files differ from cpio -i's");
        let info = String::from_utf8_lossy(info);
        if codec == "gzip" {
            // Checkpoints taken, and thinned to fit the 100 KiB cap.
            assert!(info.contains("of the 102400-byte cap"), "{info}");
            assert!(!info.contains(" 0 checkpoints"), "{info}");
        } else {
            assert!(info.contains("no checkpoints"), "{info}");
        }
    }
}
