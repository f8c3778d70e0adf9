//! Seeded mutations of ISO fixtures (bit flips, bytes set to 0x00/0xFF/random, random words,
//! truncations; in the descriptor and directory sectors mostly) are opened and walked with
//! the library's bounded walk: no panic, no hang, whatever the bytes say. Deterministic (fixed
//! seeds), bounded to a few seconds; `fuzz/` runs the same walk under cargo-fuzz.

use std::time::Duration;

use isofish::fs::MountOptions;

use crate::common::fixture;
use crate::mutants::{mult, run_mutants, Rng};

const SECTOR: usize = 2048;

/// Where mutations land: the descriptor sectors, and the sectors from the root directory on
/// (directories, continuation areas, the first file data).
fn regions(img: &[u8]) -> [(usize, usize); 2] {
    let root = u32::from_le_bytes(
        img[16 * SECTOR + 158..16 * SECTOR + 162]
            .try_into()
            .expect("4 bytes"),
    ) as usize
        * SECTOR;
    [
        (16 * SECTOR, 20 * SECTOR),
        (root, (root + 24 * SECTOR).min(img.len())),
    ]
}

pub(crate) fn mutate(base: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut img = base.to_vec();
    let regions = regions(base);
    for _ in 0..1 + rng.below(4) {
        let (start, end) = regions[rng.below(2)];
        let at = start + rng.below(end - start);
        match rng.below(7) {
            0 => img[at] ^= 1 << rng.below(8),
            1 => img[at] = 0,
            2 => img[at] = 0xff,
            3 => img[at] = rng.next() as u8,
            4 => {
                let word = rng.next().to_le_bytes();
                let n = (img.len() - at).min(1 + rng.below(8));
                img[at..at + n].copy_from_slice(&word[..n]);
            }
            5 => {
                // A small number in a both-endian-looking field.
                let v = rng.below(64) as u8;
                img[at] = v;
            }
            _ => {
                img.truncate(at);
                break;
            }
        }
    }
    img
}

fn run(name: &str, seed: u64, count: usize) {
    let base = std::fs::read(fixture(name)).expect("fixture");
    let (ok, failed, took) = run_mutants(
        name,
        seed,
        count,
        "mutant.iso",
        &MountOptions::default(),
        |rng| mutate(&base, rng),
    );
    // Both outcomes happen: the mutations reach structures that matter and ones that don't.
    assert!(ok > 0 && failed > 0, "{name}: {ok} read, {failed} refused");
    assert!(
        took < Duration::from_secs(60 * mult() as u64),
        "{name}: too slow"
    );
}

#[test]
fn mutated_sample_never_panics() {
    run("sample.iso", 0x0150_f15d, 1500 * mult());
}

#[test]
fn mutated_rock_ridge_deep_tree_never_panics() {
    run("level3-rr.iso", 0x9e37_79b9_7f4a_7c15, 800 * mult());
}

#[test]
fn mutated_zisofs_never_panics() {
    run("zisofs.iso", 0xdead_beef_cafe_f00d, 800 * mult());
}

#[test]
fn mutated_joliet_never_panics() {
    run("joliet-long.iso", 0x0123_4567_89ab_cdef, 500 * mult());
}
