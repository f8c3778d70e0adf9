//! What the seeded mutation tests of ISO and UDF images share: the deterministic generator,
//! and the loop that opens and walks each mutant with the library's bounded walk, holding it
//! to no panic and no hang.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use isofish::fs::walk::{walk, Limits};
use isofish::fs::{self, MountOptions};
use isofish::source::{MemSource, Source};

/// xorshift64*: a small deterministic generator.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// An offset in one of `regions` (`(start, end)` ranges, none empty), the region picked
    /// first.
    pub fn within(&mut self, regions: &[(usize, usize)]) -> usize {
        let (start, end) = regions[self.below(regions.len())];
        start + self.below(end - start)
    }
}

/// Opens one mutant (called `name`) with `opts`, asks for its info and walks it; true when
/// it was read without error.
fn exercise(bytes: Vec<u8>, name: &str, opts: &MountOptions) -> bool {
    let src: Arc<dyn Source> = Arc::new(MemSource::new(bytes, name));
    let limits = Limits {
        entries: 5_000,
        bytes: 8 << 20,
        depth: 64,
    };
    fs::open(src, opts)
        .and_then(|fs| {
            let _ = fs.info();
            walk(fs.as_ref(), limits, false, &mut |_| Ok(()))
        })
        .is_ok()
}

/// Makes `count` mutants with `mutate` from the generator seeded with `seed` and exercises
/// each (as `name`, mounted with `opts`); panics when one panics or takes 5 s or more.
/// Returns how many were read and how many refused, and the time taken.
pub fn run_mutants(
    label: &str,
    seed: u64,
    count: usize,
    name: &str,
    opts: &MountOptions,
    mut mutate: impl FnMut(&mut Rng) -> Vec<u8>,
) -> (usize, usize, Duration) {
    let mut rng = Rng(seed);
    let started = Instant::now();
    let (mut ok, mut failed) = (0, 0);
    for i in 0..count {
        let mutant = mutate(&mut rng);
        let t = Instant::now();
        match catch_unwind(AssertUnwindSafe(|| exercise(mutant, name, opts))) {
            Ok(true) => ok += 1,
            Ok(false) => failed += 1,
            Err(_) => panic!("{label}: mutant {i} of seed {seed:#x} panicked"),
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{label}: mutant {i} of seed {seed:#x} took {:?}",
            t.elapsed()
        );
    }
    (ok, failed, started.elapsed())
}

/// Damages `img` at `at` one of the usual ways: a bit flipped; the byte set to 0x00, 0xFF or a
/// random value; a plausible little number (a block, a count, a length: below 4096, 32 bits
/// little-endian); or a random word of 1 to 8 bytes (each cut at the end of the image).
pub fn damage(img: &mut [u8], at: usize, rng: &mut Rng) {
    match rng.below(6) {
        0 => img[at] ^= 1 << rng.below(8),
        1 => img[at] = 0,
        2 => img[at] = 0xff,
        3 => img[at] = rng.next() as u8,
        4 => {
            let v = (rng.below(4096) as u32).to_le_bytes();
            let n = (img.len() - at).min(4);
            img[at..at + n].copy_from_slice(&v[..n]);
        }
        _ => {
            let word = rng.next().to_le_bytes();
            let n = (img.len() - at).min(1 + rng.below(8));
            img[at..at + n].copy_from_slice(&word[..n]);
        }
    }
}

/// Writes a whole field of ASCII digits at `at` (a small or a huge number, as `text` is),
/// cut at the end of the image.
pub fn digits(img: &mut [u8], at: usize, text: &str) {
    let n = (img.len() - at).min(text.len());
    img[at..at + n].copy_from_slice(&text.as_bytes()[..n]);
}

/// One time in twenty, cuts `img` (a mutant of a `len`-byte image) short somewhere.
pub fn sometimes_truncate(img: &mut Vec<u8>, len: usize, rng: &mut Rng) {
    if rng.below(20) == 0 {
        img.truncate(rng.below(len));
    }
}

/// `ISOFISH_MUTATIONS=N` multiplies the number of mutants (for longer local runs).
pub fn mult() -> usize {
    std::env::var("ISOFISH_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// [`run_mutants`] with the default mount options and `count` times [`mult`] mutants, holding
/// the outcome to what a mutation test of a format asserts: some mutants read and some
/// refused (the mutations reach structures that matter and ones that do not), all of them
/// within a minute (times [`mult`]).
pub fn run_format_mutants(
    label: &str,
    seed: u64,
    count: usize,
    name: &str,
    mutate: impl FnMut(&mut Rng) -> Vec<u8>,
) {
    let (ok, failed, took) = run_mutants(
        label,
        seed,
        count * mult(),
        name,
        &MountOptions::default(),
        mutate,
    );
    eprintln!("{label}: {ok} read, {failed} refused in {took:?}");
    assert!(ok > 0 && failed > 0, "{label}: {ok} read, {failed} refused");
    let bound = Duration::from_secs(60 * mult() as u64);
    assert!(took < bound, "{label}: too slow");
}
