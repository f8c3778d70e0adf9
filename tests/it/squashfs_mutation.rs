//! Seeded mutations of squashfs images made by mksquashfs, aimed at the tables a reader
//! follows: the inode table, the directory table, the fragment table (its lookup table and
//! its 16-byte entries: start, size and the uncompressed bit), the id table, and the
//! superblock's pointers to them. One image keeps its metadata and data uncompressed, so a
//! changed field reaches the decoders as it is; one is gzip-compressed throughout. Each mutant
//! is opened and walked with the library's bounded walk: it reads or is refused, in bounded
//! time, never a panic. Deterministic (fixed seeds).

use crate::common::{scratch, tool};
use crate::mutants::{damage, run_format_mutants, sometimes_truncate, Rng};
use crate::nested_util::{make_tree, Kinds};

fn le64(b: &[u8], at: usize) -> usize {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize
}

/// The tables of a squashfs image, from its superblock: `(start, end)` byte ranges of the
/// inode table, the directory table, the fragment entries, the fragment lookup table, the
/// id table's lookup, and the superblock itself; and the fragment entries' offsets.
struct Tables {
    regions: Vec<(usize, usize)>,
    fragments: Vec<usize>,
}

impl Tables {
    fn read(img: &[u8]) -> Tables {
        let count = u32::from_le_bytes(img[16..20].try_into().unwrap()) as usize;
        let (ids, inodes, dirs, frags) =
            (le64(img, 48), le64(img, 64), le64(img, 72), le64(img, 80));
        // The fragment lookup table: one pointer per metadata block of 512 entries.
        let first = le64(img, frags);
        let fragments = (0..count).map(|i| first + 2 + 16 * i).collect();
        Tables {
            regions: vec![
                (0, 96),
                (inodes, dirs),
                (dirs, first),
                (first, first + 2 + 16 * count),
                (frags, frags + 8 * count.div_ceil(512)),
                (ids, ids + 8),
            ],
            fragments,
        }
    }
}

fn mutate(base: &[u8], t: &Tables, rng: &mut Rng) -> Vec<u8> {
    let mut img = base.to_vec();
    for _ in 0..1 + rng.below(3) {
        if rng.below(3) == 0 && !t.fragments.is_empty() {
            // A fragment entry: its start, its size, or the size's uncompressed bit.
            let at = t.fragments[rng.below(t.fragments.len())];
            match rng.below(5) {
                0 => {
                    let start = rng.below(base.len() + 4096) as u64;
                    img[at..at + 8].copy_from_slice(&start.to_le_bytes());
                }
                1 => {
                    let size = u32::from_le_bytes(img[at + 8..at + 12].try_into().unwrap());
                    let len = match rng.below(3) {
                        0 => 0,
                        1 => (size & 0xff_ffff) / 2,
                        _ => rng.below(1 << 20) as u32,
                    };
                    img[at + 8..at + 12].copy_from_slice(&(size & 0xff00_0000 | len).to_le_bytes());
                }
                2 => img[at + 11] ^= 1,
                3 => img[at + 8..at + 12].copy_from_slice(&u32::MAX.to_le_bytes()),
                _ => img[at + rng.below(16)] = rng.next() as u8,
            }
            continue;
        }
        let (start, end) = t.regions[rng.below(t.regions.len())];
        let end = end.min(img.len());
        if start >= end {
            continue;
        }
        damage(&mut img, start + rng.below(end - start), rng);
    }
    sometimes_truncate(&mut img, base.len(), rng);
    img
}

fn run(label: &str, options: &[&str], seed: u64, count: usize) {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, Kinds::plain(40, 100_000));
    let image = dir.path().join("image.sqfs");
    let mut args = vec![tree.to_str().unwrap(), image.to_str().unwrap()];
    args.extend(["-noappend", "-quiet", "-no-progress"]);
    args.extend(options);
    tool("mksquashfs", &args, None);
    let base = std::fs::read(&image).unwrap();
    let tables = Tables::read(&base);
    assert!(tables.fragments.len() == 1, "{label}: one fragment block");
    run_format_mutants(label, seed, count, "mutant.sqfs", |rng| {
        mutate(&base, &tables, rng)
    });
}

#[test]
fn mutated_uncompressed_squashfs_tables_never_panic() {
    run(
        "uncompressed",
        &["-noI", "-noD", "-noF", "-noX"],
        0x5a5f_0001,
        2000,
    );
}

#[test]
fn mutated_gzip_squashfs_tables_never_panic() {
    run("gzip", &["-comp", "gzip"], 0x5a5f_0002, 1000);
}
