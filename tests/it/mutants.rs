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
