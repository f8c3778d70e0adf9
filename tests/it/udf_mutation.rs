//! Seeded mutations of UDF images are opened and walked with the library's bounded walk: no
//! panic, no hang. UDF descriptors carry a CRC, so random bytes alone would only ever meet
//! the tag check; here most mutants get their descriptor's checksum and CRC recomputed after
//! the change, so the damage reaches the decoders behind the tag (lengths, locations,
//! allocation descriptors, partition maps, file identifiers). Deterministic (fixed seeds).

use std::time::Duration;

use isofish::fs::MountOptions;
use isofish::ondisk::crc::udf16;

use crate::common::fixture;
use crate::mutants::{run_mutants, Rng};
use crate::udf_helpers::big;

/// Byte offsets of every descriptor in the image: 2048-byte blocks whose first 16 bytes are
/// a valid tag (checksum) of a known identifier, and the FIDs inside directory blocks.
fn descriptors(img: &[u8]) -> Vec<(usize, usize)> {
    let valid = |at: usize| -> Option<usize> {
        let t = img.get(at..at + 16)?;
        let sum = t
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != 4)
            .fold(0u8, |s, (_, &b)| s.wrapping_add(b));
        let ident = u16::from_le_bytes([t[0], t[1]]);
        let crc_len = usize::from(u16::from_le_bytes([t[10], t[11]]));
        let known = (1..=9).contains(&ident) || (256..=266).contains(&ident);
        (sum == t[4] && known && t.iter().any(|&b| b != 0)).then_some(16 + crc_len)
    };
    let mut out = Vec::new();
    for block in (0..img.len()).step_by(2048) {
        let mut at = block;
        while at + 16 <= (block + 2048).min(img.len()) {
            match valid(at) {
                Some(len) => {
                    out.push((at, len));
                    at += len.max(4).next_multiple_of(4);
                }
                None => break,
            }
        }
    }
    out
}

/// Recomputes the checksum and CRC of the descriptor of `len` bytes at `at`.
fn fix_tag(img: &mut [u8], at: usize, len: usize) {
    let end = (at + len).min(img.len());
    let crc = udf16(&img[at + 16..end]);
    img[at + 8..at + 10].copy_from_slice(&crc.to_le_bytes());
    let sum = img[at..at + 16]
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != 4)
        .fold(0u8, |s, (_, &b)| s.wrapping_add(b));
    img[at + 4] = sum;
}

fn mutate(base: &[u8], descs: &[(usize, usize)], rng: &mut Rng) -> Vec<u8> {
    let mut img = base.to_vec();
    for _ in 0..1 + rng.below(3) {
        let (at, len) = descs[rng.below(descs.len())];
        let len = len.min(img.len() - at);
        // Past the tag mostly; the tag's own fields (identifier, location) sometimes.
        let pos = if rng.below(5) == 0 {
            at + rng.below(16)
        } else {
            at + 16 + rng.below(len - 16)
        };
        match rng.below(6) {
            0 => img[pos] ^= 1 << rng.below(8),
            1 => img[pos] = 0,
            2 => img[pos] = 0xff,
            3 => {
                let word = rng.next().to_le_bytes();
                let n = (img.len() - pos).min(1 + rng.below(8));
                img[pos..pos + n].copy_from_slice(&word[..n]);
            }
            4 => img[pos] = rng.below(64) as u8,
            _ => {
                // A plausible little number: a block, a count, a length.
                let v = (rng.below(4096) as u32).to_le_bytes();
                let n = (img.len() - pos).min(4);
                img[pos..pos + n].copy_from_slice(&v[..n]);
            }
        }
        if rng.below(8) != 0 {
            fix_tag(&mut img, at, len);
        }
    }
    img
}

fn run(image: &std::path::Path, seed: u64, count: usize) {
    let base = std::fs::read(image).expect("image");
    let descs = descriptors(&base);
    assert!(descs.len() > 10, "{}: descriptors found", image.display());
    let label = image.display().to_string();
    let (ok, failed, took) = run_mutants(
        &label,
        seed,
        count,
        "mutant.udf",
        &MountOptions::parse("udf,unhide"),
        |rng| mutate(&base, &descs, rng),
    );
    eprintln!("{label}: {ok} read, {failed} refused in {took:?}");
    assert!(ok > 0 && failed > 0, "{label}: {ok} read, {failed} refused");
    assert!(took < Duration::from_secs(120), "{label}: too slow");
}

#[test]
fn mutated_pycdlib_260_never_panics() {
    run(&fixture("udf-260-pycdlib.iso"), 0x0260_f15d, 600);
}

#[test]
fn mutated_genisoimage_bridge_never_panics() {
    run(&fixture("udf-102-bridge.iso"), 0x0102_b1d6, 400);
}

#[test]
fn mutated_sparable_and_vat_volumes_never_panic() {
    run(&big("mkudffs-150-cdrw.img"), 0xc0d3_0150, 60);
    run(&big("mkudffs-201-cdr.img"), 0xc0d3_0201, 200);
}
