//! Seeded mutations of cpio archives made by GNU cpio (newc, odc and old binary headers), aimed
//! at the headers a reader follows: their ASCII or binary numbers (modes, sizes, name lengths,
//! inode and link counts) and the names after them; and of a gzip-compressed one anywhere.
//! Each mutant is opened and walked with the library's bounded walk: it reads or is refused,
//! in bounded time, never a panic. Deterministic (fixed seeds).

use crate::common::{scratch, tool};
use crate::mutants::{damage, digits, run_format_mutants, sometimes_truncate, Rng};
use crate::nested_util::{make_tree, Kinds};

/// `(start, end)` byte ranges of the headers (and the names after them) in `img`, found by
/// their magic; in a gzip stream, its header's time and system fields
/// (which a reader may ignore), the deflate data, and the trailer's CRC and length.
fn headers(img: &[u8]) -> Vec<(usize, usize)> {
    if img.starts_with(&[0x1f, 0x8b]) {
        return vec![(4, 10), (10, img.len() - 8), (img.len() - 8, img.len())];
    }
    let mut out = Vec::new();
    for at in 0..img.len().saturating_sub(6) {
        let len = match &img[at..at + 6] {
            b"070701" | b"070702" => 110,
            b"070707" => 76,
            [0xc7, 0x71, ..] if at % 2 == 0 => 26,
            _ => continue,
        };
        out.push((at, (at + len + 16).min(img.len())));
    }
    out
}

fn mutate(base: &[u8], regions: &[(usize, usize)], rng: &mut Rng) -> Vec<u8> {
    let mut img = base.to_vec();
    for _ in 0..1 + rng.below(3) {
        let (start, end) = regions[rng.below(regions.len())];
        let at = start + rng.below(end - start);
        match rng.below(4) {
            0 => img[at] = b"0123456789abcdef"[rng.below(16)],
            1 => img[at] = b"0f7 xG\0"[rng.below(7)],
            2 => {
                let text = format!("{:08x}", rng.next() >> (rng.below(8) * 8));
                digits(&mut img, at, &text);
            }
            _ => damage(&mut img, at, rng),
        }
    }
    sometimes_truncate(&mut img, base.len(), rng);
    img
}

fn run(format: &str, compress: &str, seed: u64, count: usize) {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(
        &tree,
        Kinds {
            hard_links: true,
            ..Kinds::plain(40, 100_000)
        },
    );
    let image = dir.path().join("archive.cpio");
    let script = format!("cd \"$1\" && find . | cpio --quiet -o -H {format} | {compress} > \"$2\"");
    let (t, img) = (tree.to_str().unwrap(), image.to_str().unwrap());
    tool("sh", &["-c", &script, "sh", t, img], None);
    let base = std::fs::read(&image).unwrap();
    let regions = headers(&base);
    run_format_mutants(
        &format!("{format}+{compress}"),
        seed,
        count,
        "mutant.cpio",
        |rng| mutate(&base, &regions, rng),
    );
}

#[test]
fn mutated_newc_headers_never_panic() {
    run("newc", "cat", 0xc910_0001, 1500);
}

#[test]
fn mutated_odc_and_binary_headers_never_panic() {
    run("odc", "cat", 0xc910_0002, 1000);
    run("bin", "cat", 0xc910_0003, 1000);
}

#[test]
fn mutated_gzip_cpio_never_panics() {
    run("newc", "gzip", 0xc910_0004, 500);
}
