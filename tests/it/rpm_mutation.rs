//! Seeded mutations of RPM packages built by rpmbuild (a gzip'd payload and an uncompressed
//! one), aimed at what a reader follows: the lead, the signature header's and the main
//! header's intros (index counts, store sizes) and index entries (tags, types, offsets,
//! counts), their data stores (the file list's strings and numbers), and the payload's first
//! headers. Each mutant is opened, described and walked with the library's bounded walk: it
//! reads or is refused, in bounded time, never a panic. And a few chosen damages, refused
//! with errors that name the image, the structure and the offset.

use crate::common::scratch;
use crate::mutants::{damage, run_format_mutants, sometimes_truncate, Rng};
use crate::nested_rpm::{make_tree, rpmbuild, SPEC};
use crate::nested_util::run_err;

/// `(start, end)` byte ranges of a package's parts: the lead, each header's intro and index,
/// each header's store, and the payload's first bytes.
fn regions(rpm: &[u8]) -> Vec<(usize, usize)> {
    let be32 = |at: usize| u32::from_be_bytes(rpm[at..at + 4].try_into().unwrap()) as usize;
    let mut out = vec![(0, 96)];
    let mut at = 96;
    for _ in 0..2 {
        let (count, size) = (be32(at + 8), be32(at + 12));
        let store = at + 16 + 16 * count;
        out.push((at, store));
        out.push((store, store + size));
        at = (store + size).next_multiple_of(8);
    }
    // The second header is not padded: the payload follows it at once.
    let payload = out[4].1;
    out.push((payload, (payload + 512).min(rpm.len())));
    out
}

fn mutate(base: &[u8], regions: &[(usize, usize)], rng: &mut Rng) -> Vec<u8> {
    let mut img = base.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.within(regions);
        if rng.below(3) == 0 {
            // A big-endian count, offset or size: small, plausible, or huge.
            let v = match rng.below(3) {
                0 => rng.below(64) as u32,
                1 => rng.below(1 << 20) as u32,
                _ => rng.next() as u32,
            };
            let at = at & !3;
            let n = (img.len() - at).min(4);
            img[at..at + n].copy_from_slice(&v.to_be_bytes()[..n]);
        } else {
            damage(&mut img, at, rng);
        }
    }
    sometimes_truncate(&mut img, base.len(), rng);
    img
}

fn package(payload: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree);
    let rpm = rpmbuild(dir.path(), SPEC, &tree, payload, "hello");
    (dir, rpm)
}

fn run(payload: &str, seed: u64, count: usize) {
    let (_dir, rpm) = package(payload);
    let base = std::fs::read(&rpm).unwrap();
    let regions = regions(&base);
    run_format_mutants(
        &format!("rpm+{payload}"),
        seed,
        count,
        "mutant.rpm",
        |rng| mutate(&base, &regions, rng),
    );
}

#[test]
fn mutated_rpm_headers_never_panic() {
    run("w0.ufdio", 0x5e_0001, 1500);
}

#[test]
fn mutated_gzip_rpm_never_panics() {
    run("w9.gzdio", 0x5e_0002, 800);
}

#[test]
fn damaged_headers_are_refused_with_the_structure_and_offset() {
    let (dir, rpm) = package("w9.gzdio");
    let base = std::fs::read(&rpm).unwrap();
    let r = regions(&base);
    let main = r[3].0;
    let cases: Vec<(usize, u32, String)> = vec![
        // The signature header's index count, past rpm's limit.
        (
            96 + 8,
            0x0100_0000,
            "corrupt rpm signature header at offset 96".into(),
        ),
        // The main header's store size, past the end of the image.
        (
            main + 12,
            0x00ff_ffff,
            format!("corrupt rpm header at offset {main}"),
        ),
        // The main header's first entry's type.
        (
            main + 16 + 4,
            99,
            format!("corrupt rpm header at offset {}", main + 16),
        ),
        // The lead's signature type.
        (76, 1, "unsupported rpm package format".into()),
    ];
    for (i, (at, value, said)) in cases.into_iter().enumerate() {
        let mut img = base.clone();
        if at == 76 {
            img[78..80].copy_from_slice(&(value as u16).to_be_bytes());
        } else {
            img[at..at + 4].copy_from_slice(&value.to_be_bytes());
        }
        let path = dir.path().join(format!("damaged-{i}.rpm"));
        std::fs::write(&path, img).unwrap();
        let err = run_err(&path, &["ls", "/"]);
        assert!(
            err.contains(&said) && err.contains(path.to_str().unwrap()),
            "case {i}: {err}"
        );
    }
}
