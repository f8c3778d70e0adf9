//! The writer against hostile images: seeded mutations of the ISO fixtures (the mutator of
//! `iso_mutation`) that the reader opens are rewritten with no change. Each is refused with an
//! error (at planning or while its data is copied) or written; never a panic or a hang. What is
//! written reads back whole in isofish, and a sample of it in xorriso. The boot fixtures'
//! structures (system area, boot record, catalog, boot image) get mutations of their own, which
//! the boot replay meets.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use isofish::fs::iso9660::{write, IsoFs};
use isofish::fs::walk::{walk, Limits};
use isofish::fs::{FileSystem, MountOptions};
use isofish::overlay::Provenance;
use isofish::plan::to_file;
use isofish::source::{FileSource, MemSource, Source};

use crate::common::{fixture, scratch};
use crate::iso_mutation::mutate;
use crate::mutants::Rng;

/// Every how many written mutants xorriso reads one too.
const XORRISO_EVERY: usize = 10;

/// What became of one mutant.
enum Outcome {
    /// The reader refused the image: nothing to write.
    Unread,
    /// Planning or copying refused it with an error.
    Refused,
    /// Written, and the new image reads back.
    Written,
}

/// The bounded walk the mutation tests read with.
fn read_back(fs: &dyn FileSystem) -> isofish::error::Result<()> {
    let limits = Limits {
        entries: 5_000,
        bytes: 8 << 20,
        depth: 64,
    };
    walk(fs, limits, false, &mut |_| Ok(())).map(drop)
}

/// Rewrites `bytes` into `out`.
fn rewrite(bytes: Vec<u8>, out: &std::path::Path) -> Outcome {
    let src: Arc<dyn Source> = Arc::new(MemSource::new(bytes, "mutant.iso"));
    let Ok(original) = IsoFs::open(src, &MountOptions::default()) else {
        return Outcome::Unread;
    };
    if read_back(&original).is_err() {
        return Outcome::Unread;
    }
    let Ok(plan) = write::plan(
        &original,
        &original,
        &|_| Provenance::UNCHANGED,
        &Default::default(),
    ) else {
        return Outcome::Refused;
    };
    let file = std::fs::File::create(out).unwrap();
    if to_file::write(&plan, &file, &|_| {}).is_err() {
        return Outcome::Refused;
    }
    let written: Arc<dyn Source> = Arc::new(FileSource::open(out).unwrap());
    let again = IsoFs::open(written, &MountOptions::default())
        .unwrap_or_else(|e| panic!("the rewrite of a readable mutant does not open: {e}"));
    read_back(&again).unwrap_or_else(|e| panic!("the rewrite of a readable mutant: {e}"));
    Outcome::Written
}

fn run(name: &str, seed: u64, count: usize) {
    run_with(name, seed, count, mutate)
}

/// A mutation of the boot structures of `base`: the system area (MBR, GPT, APM), the boot
/// record, the catalog and the head of the first boot image, a few bytes each.
fn mutate_boot(base: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut img = base.to_vec();
    let catalog = u32::from_le_bytes(img[17 * 2048 + 71..17 * 2048 + 75].try_into().unwrap());
    let catalog = catalog as usize * 2048;
    let image = u32::from_le_bytes(img[catalog + 40..catalog + 44].try_into().unwrap());
    let regions = [
        (0, 34 * 512),
        (17 * 2048, 17 * 2048 + 80),
        (catalog, catalog + 256),
        (image as usize * 2048, image as usize * 2048 + 64),
    ];
    for _ in 0..1 + rng.below(4) {
        let (start, end) = regions[rng.below(regions.len())];
        let end = end.min(img.len());
        if start >= end {
            continue;
        }
        let at = start + rng.below(end - start);
        match rng.below(4) {
            0 => img[at] ^= 1 << rng.below(8),
            1 => img[at] = 0xff,
            2 => img[at] = rng.below(64) as u8,
            _ => {
                let word = rng.next().to_le_bytes();
                let n = (img.len() - at).min(1 + rng.below(8));
                img[at..at + n].copy_from_slice(&word[..n]);
            }
        }
    }
    img
}

fn run_with(name: &str, seed: u64, count: usize, mutate: fn(&[u8], &mut Rng) -> Vec<u8>) {
    let base = std::fs::read(fixture(name)).unwrap();
    let dir = scratch();
    let out = dir.path().join("out.iso");
    let mut rng = Rng(seed);
    let (mut unread, mut refused, mut written) = (0, 0, 0);
    for i in 0..count {
        let mutant = mutate(&base, &mut rng);
        let t = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| rewrite(mutant, &out)))
            .unwrap_or_else(|_| panic!("{name}: mutant {i} of seed {seed:#x} panicked"));
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{name}: mutant {i} of seed {seed:#x} took {:?}",
            t.elapsed()
        );
        match outcome {
            Outcome::Unread => unread += 1,
            Outcome::Refused => refused += 1,
            Outcome::Written => {
                written += 1;
                if written % XORRISO_EVERY == 1 {
                    let o = out.to_str().unwrap();
                    let x = std::process::Command::new("xorriso")
                        .args(["-indev", o, "-find", "/"])
                        .output()
                        .expect("xorriso runs (.ci/run installs it)");
                    assert!(
                        x.status.success(),
                        "{name}: xorriso cannot read the rewrite of mutant {i} of seed {seed:#x}: {}",
                        String::from_utf8_lossy(&x.stderr)
                    );
                }
            }
        }
    }
    assert!(
        written > 0,
        "{name}: none written ({unread} unread, {refused} refused)"
    );
}

#[test]
fn mutated_sample_is_refused_or_rewritten_readably() {
    run("sample.iso", 0x5eed_0001, 300);
}

#[test]
fn mutated_rock_ridge_deep_tree_is_refused_or_rewritten_readably() {
    run("level3-rr.iso", 0x5eed_0002, 200);
}

#[test]
fn mutated_zisofs_is_refused_or_rewritten_readably() {
    run("zisofs.iso", 0x5eed_0003, 150);
}

#[test]
fn mutated_joliet_is_refused_or_rewritten_readably() {
    run("joliet-long.iso", 0x5eed_0004, 150);
}

#[test]
fn mutated_boot_structures_are_refused_or_rewritten_readably() {
    run_with("boot-appended.iso", 0x5eed_0005, 200, mutate_boot);
    run_with("boot-eltorito.iso", 0x5eed_0006, 100, mutate_boot);
}
