//! A file over 4 GiB is one file: xorriso (`-iso-level 3`) records it as consecutive directory
//! records with the multi-extent flag, and the reader joins them. The image (4.5 GiB) is built
//! on demand in a temp dir from a sparse file and removed after; it is not a fixture.

use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::common::{scratch, tool};
use crate::iso_oracle::open;

pub(crate) const SIZE: u64 = 4608 << 20;
pub(crate) const FOUR_GIB: u64 = 4 << 30;

/// Marks in the big file: at the start, across the end of xorriso's first extent (4 GiB -
/// 2 KiB, the largest sector-aligned size; isoinfo confirms it below), across 4 GiB, and at
/// the end.
pub(crate) const MARKS: &[(u64, &[u8])] = &[
    (0, b"START"),
    (FOUR_GIB - 2048 - 6, b"ACROSS-EXTENT"),
    (FOUR_GIB - 7, b"ACROSS-4-GIB"),
    (SIZE - 3, b"END"),
];

/// Builds `DIR/big.iso` (xorriso, `-iso-level 3 -R`) of `DIR/tree` holding the sparse
/// `big.bin` of [`SIZE`] bytes with its [`MARKS`] and the files `extra` names; returns the
/// image and the big file.
pub(crate) fn big_image(dir: &Path, extra: &[(&str, &[u8])]) -> (PathBuf, PathBuf) {
    let tree = dir.join("tree");
    std::fs::create_dir(&tree).expect("mkdir");
    let src_path = tree.join("big.bin");
    let mut f = std::fs::File::create(&src_path).expect("create");
    f.set_len(SIZE).expect("sparse file");
    for (at, mark) in MARKS {
        f.seek(SeekFrom::Start(*at)).expect("seek");
        f.write_all(mark).expect("mark");
    }
    drop(f);
    for (name, bytes) in extra {
        std::fs::write(tree.join(name), bytes).expect("extra file");
    }
    let img = dir.join("big.iso");
    tool(
        "xorriso",
        &[
            "-as",
            "mkisofs",
            "-quiet",
            "-iso-level",
            "3",
            "-R",
            "-o",
            img.to_str().expect("utf-8"),
            tree.to_str().expect("utf-8"),
        ],
        None,
    );
    (img, src_path)
}

#[test]
fn file_over_4_gib_reads_whole_across_its_extents() {
    let dir = scratch();
    let (img, src_path) = big_image(dir.path(), &[]);

    let fs = open(&img, "").expect("opens");
    let entries = fs.read_dir(fs.root()).expect("root");
    assert_eq!(entries.len(), 1, "one file, not one per extent");
    let big = &entries[0];
    assert_eq!(big.name, b"big.bin");
    assert_eq!(big.meta.size, SIZE);

    // The extents are the ones isoinfo lists as separate records of BIG.BIN;1.
    let listing = tool("isoinfo", &["-l", "-i", img.to_str().expect("utf-8")], None);
    let isoinfo_sizes: Vec<u64> = String::from_utf8_lossy(&listing)
        .lines()
        .filter(|l| l.contains("BIG.BIN;1"))
        .map(|l| {
            l.split_whitespace()
                .nth(4)
                .and_then(|s| s.parse().ok())
                .expect("size column")
        })
        .collect();
    let extents = fs.spans(big.ino).expect("extents").expect("plain file");
    let ours: Vec<u64> = extents.iter().map(|e| e.len()).collect();
    assert_eq!(ours, isoinfo_sizes);
    assert!(ours.len() >= 2);

    // Every byte equals the source file's (compared in 8 MiB blocks).
    let original = std::fs::File::open(&src_path).expect("source");
    let mut a = vec![0u8; 8 << 20];
    let mut b = vec![0u8; 8 << 20];
    let mut offset = 0u64;
    while offset < SIZE {
        let n = fs.read_at(big.ino, offset, &mut a).expect("read");
        assert!(n > 0, "short file at {offset}");
        original
            .read_exact_at(&mut b[..n], offset)
            .expect("source read");
        assert!(a[..n] == b[..n], "bytes differ in [{offset}, +{n})");
        offset += n as u64;
    }
    assert_eq!(fs.read_at(big.ino, SIZE, &mut a).expect("read at end"), 0);

    // Reads spanning the boundary between the two extents and 4 GiB.
    for (at, mark) in [
        (ours[0] - 6, &b"ACROSS-EXTENT"[..]),
        (FOUR_GIB - 7, b"ACROSS-4-GIB"),
    ] {
        let mut got = vec![0u8; mark.len()];
        assert_eq!(fs.read_at(big.ino, at, &mut got).expect("read"), mark.len());
        assert_eq!(got, mark, "at {at}");
    }
}
