//! Seeded mutations of ext2 and ext4 images made by mke2fs, aimed at what a reader follows:
//! the superblock, the group descriptors, the inodes in use (sizes, flags, block maps and
//! extent trees, inline data) and the directory blocks (inode numbers, record and name
//! lengths, file types). isofish checks no metadata checksums, so every change reaches the
//! decoders. Each mutant is opened and walked with the library's bounded walk: it reads or is
//! refused, in bounded time, never a panic. Deterministic (fixed seeds).

use crate::common::{scratch, tool};
use crate::mutants::{damage, run_format_mutants, Rng};
use crate::nested_util::{make_tree, Kinds};

fn le32(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// `(start, end)` byte ranges of an ext image's superblock, first group descriptors, inodes
/// in use, and directory blocks (found by their `.` entry).
fn regions(img: &[u8]) -> Vec<(usize, usize)> {
    const SB: usize = 1024;
    let block = 1024 << le32(img, SB + 24);
    let gdt = (le32(img, SB + 20) + 1) * block;
    let inode_size = usize::from(u16::from_le_bytes([img[SB + 88], img[SB + 89]]));
    let used = le32(img, SB) - le32(img, SB + 16);
    let table = le32(img, gdt + 8) * block;
    let mut out = vec![
        (SB, SB + 256),
        (gdt, gdt + 64),
        (table, table + (used + 2) * inode_size),
    ];
    out.extend(
        (0..img.len())
            .step_by(block)
            .filter(|&at| img[at + 4..at + 9] == [12, 0, 1, 2, b'.'])
            .map(|at| (at, at + block)),
    );
    out
}

fn mutate(base: &[u8], regions: &[(usize, usize)], rng: &mut Rng) -> Vec<u8> {
    let mut img = base.to_vec();
    for _ in 0..1 + rng.below(3) {
        let (start, end) = regions[rng.below(regions.len())];
        damage(&mut img, start + rng.below(end - start), rng);
    }
    if rng.below(20) == 0 {
        img.truncate(rng.below(base.len()));
    }
    img
}

fn run(kind: &str, options: &[&str], seed: u64, count: usize) {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, Kinds::plain(40, 100_000));
    let image = dir.path().join("image.ext");
    let mut args = vec!["-q", "-F", "-t", kind];
    args.extend(options);
    args.extend(["-d", tree.to_str().unwrap(), image.to_str().unwrap(), "2M"]);
    tool("mke2fs", &args, None);
    let base = std::fs::read(&image).unwrap();
    let regions = regions(&base);
    assert!(regions.len() > 6, "{kind}: directory blocks found");
    run_format_mutants(
        &format!("{kind} {options:?}"),
        seed,
        count,
        "mutant.ext",
        |rng| mutate(&base, &regions, rng),
    );
}

#[test]
fn mutated_ext2_never_panics() {
    run("ext2", &[], 0xe472_0002, 1500);
}

#[test]
fn mutated_ext4_never_panics() {
    run("ext4", &[], 0xe474_0004, 1500);
}

#[test]
fn mutated_ext4_inline_data_never_panics() {
    run("ext4", &["-O", "inline_data"], 0xe474_11de, 1000);
}
