//! Seeded mutations of ext2 and ext4 images made by mke2fs, aimed at what a reader follows:
//! the superblock, the group descriptors, the inodes in use (sizes, flags, block maps and
//! extent trees, inline data) and the directory blocks (inode numbers, record and name
//! lengths, file types), and in images that need recovery the journal's superblock,
//! descriptor, revoke and commit blocks (big-endian numbers too: tag counts, block numbers,
//! sequences, the log's start and length). isofish checks no filesystem metadata checksums, so
//! every change reaches the decoders (a journal without checksums lets every change reach the
//! replay; one with checksums v3 has its blocks' checksums checked). Each mutant is opened and walked with the library's bounded walk: it reads or is
//! refused, in bounded time, never a panic. Deterministic (fixed seeds).

use std::path::{Path, PathBuf};

use crate::common::{run_ro, scratch, tool};
use crate::ext_gaps::list;
use crate::mutants::{damage, run_format_mutants, sometimes_truncate, Rng};
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
        let at = start + rng.below(end - start);
        if rng.below(4) == 0 {
            // A plausible big-endian number, as the journal keeps them, on a field boundary.
            let at = (at & !3).min(img.len() - 4);
            let v = rng.below(4096) as u32;
            img[at..at + 4].copy_from_slice(&v.to_be_bytes());
        } else {
            damage(&mut img, at, rng);
        }
    }
    sometimes_truncate(&mut img, base.len(), rng);
    img
}

/// An ext image of `kind` made by mke2fs with `options`.
fn image(dir: &Path, kind: &str, options: &[&str]) -> PathBuf {
    let tree = dir.join("tree");
    make_tree(&tree, Kinds::plain(40, 100_000));
    let image = dir.join("image.ext");
    let mut args = vec!["-q", "-F", "-t", kind];
    args.extend(options);
    args.extend(["-d", tree.to_str().unwrap(), image.to_str().unwrap(), "2M"]);
    tool("mke2fs", &args, None);
    image
}

fn run(kind: &str, options: &[&str], seed: u64, count: usize) {
    let dir = scratch();
    let image = image(dir.path(), kind, options);
    mutate_all(&format!("{kind} {options:?}"), &image, &[], seed, count);
}

/// Mutates `image` in its usual regions and in `more`, `count` times from `seed`.
fn mutate_all(label: &str, image: &Path, more: &[(usize, usize)], seed: u64, count: usize) {
    let base = std::fs::read(image).unwrap();
    let mut regions = regions(&base);
    assert!(regions.len() > 6, "{label}: directory blocks found");
    regions.extend(more);
    run_format_mutants(label, seed, count, "mutant.ext", |rng| {
        mutate(&base, &regions, rng)
    });
}

/// An ext4 image that needs recovery: debugfs opens its journal with `open` and logs copies
/// of the first directory blocks and inode table blocks in three transactions (one revoking
/// a block), the last left uncommitted. Mutated in its journal's blocks too.
fn run_journaled(open: &str, seed: u64, count: usize) {
    let dir = scratch();
    let image = image(dir.path(), "ext4", &[]);
    let base = std::fs::read(&image).unwrap();
    let block = 1024 << le32(&base, 1024 + 24);
    let blocks: Vec<usize> = regions(&base)[1..]
        .iter()
        .map(|&(start, _)| start / block)
        .filter(|&b| b > 0)
        .take(6)
        .collect();
    let copies = dir.path().join("copies.bin");
    let bytes: Vec<u8> = blocks
        .iter()
        .flat_map(|&b| base[b * block..(b + 1) * block].to_vec())
        .collect();
    std::fs::write(&copies, bytes).unwrap();
    let script = dir.path().join("script");
    std::fs::write(
        &script,
        format!(
            "{open}\njw -b {} {c}\njw -r {} {c}\njw -b {} {c}\njw -b {} -c {c}\njc\n",
            list(&blocks[..3]),
            blocks[0],
            list(&blocks[3..]),
            blocks[1],
            c = copies.display()
        ),
    )
    .unwrap();
    let args = [
        "-w",
        "-f",
        script.to_str().unwrap(),
        image.to_str().unwrap(),
    ];
    tool("debugfs", &args, None);
    let info = String::from_utf8(run_ro(&image, &["info", "/dev/sda"])).unwrap();
    assert!(info.contains("replayed: "), "{open}: {info}");
    let journaled = std::fs::read(&image).unwrap();
    // The journal's superblock and log blocks: those that start with its magic.
    let magic = [0xc0, 0x3b, 0x39, 0x98];
    let journal: Vec<(usize, usize)> = (0..journaled.len())
        .step_by(block)
        .filter(|&at| journaled[at..at + 4] == magic)
        .map(|at| (at, at + block.min(1024)))
        .collect();
    assert!(journal.len() > 4, "{open}: journal blocks found");
    // Weighted towards the journal: its regions several times over.
    let more: Vec<(usize, usize)> = journal
        .iter()
        .cycle()
        .take(journal.len() * 4)
        .copied()
        .collect();
    mutate_all(&format!("journaled {open}"), &image, &more, seed, count);
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

#[test]
fn mutated_journals_never_panic() {
    run_journaled("jo", 0xe474_10c0, 1000);
}

#[test]
fn mutated_checksummed_journals_never_panic() {
    run_journaled("jo -c", 0xe474_10c3, 600);
}
