//! Seeded mutations of tar archives made by GNU tar (gnu and pax headers, long names, sparse
//! members of the old GNU and the pax 1.0 formats) and of .deb packages made by dpkg-deb, aimed
//! at what a reader follows: the headers' numbers (sizes, modes, times, checksums, the sparse
//! maps), the pax records and the 1.0 sparse map's text, and the ar member headers. Half the
//! mutated tar headers get their checksum set right again, so the damage reaches past it.
//! Each mutant is opened and walked with the library's bounded walk: read or refused, in
//! bounded time, never a panic. Deterministic (fixed seeds).

use crate::common::{scratch, tool};
use crate::mutants::{damage, digits, run_format_mutants, sometimes_truncate, Rng};
use crate::nested_util::{make_tree, write, Kinds};

/// Offsets of the tar header blocks (valid checksum) in `img`, and of the ar member headers.
fn headers(img: &[u8]) -> Vec<usize> {
    if img.starts_with(b"!<arch>\n") {
        let mut out = Vec::new();
        let mut at = 8;
        while at + 60 <= img.len() {
            out.push(at);
            let size: usize = std::str::from_utf8(&img[at + 48..at + 58])
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            at += 60 + size + size % 2;
        }
        return out;
    }
    (0..img.len() / 512)
        .map(|i| i * 512)
        .filter(|at| {
            let b = &img[*at..*at + 512];
            let stored = std::str::from_utf8(&b[148..154]).ok();
            let sum: u32 = b
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if (148..156).contains(&i) {
                        32
                    } else {
                        u32::from(*c)
                    }
                })
                .sum();
            stored.and_then(|s| u32::from_str_radix(s.trim(), 8).ok()) == Some(sum)
        })
        .collect()
}

/// Sets the checksum of the tar header at `at` right.
fn fix_checksum(img: &mut [u8], at: usize) {
    img[at + 148..at + 156].copy_from_slice(b"        ");
    let sum: u32 = img[at..at + 512].iter().map(|c| u32::from(*c)).sum();
    img[at + 148..at + 156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

fn mutate(base: &[u8], heads: &[usize], rng: &mut Rng) -> Vec<u8> {
    let mut img = base.to_vec();
    let ar = base.starts_with(b"!<arch>\n");
    for _ in 0..1 + rng.below(3) {
        let head = heads[rng.below(heads.len())];
        // The header, or the block after it (pax records, long names, the 1.0 sparse map).
        let span = if ar { 60 } else { 1024 };
        let at = (head + rng.below(span)).min(img.len() - 1);
        match rng.below(4) {
            0 => img[at] = b"0123456789 =\n,"[rng.below(14)],
            1 => {
                let text = format!("{:011o}", rng.next() >> (rng.below(8) * 8));
                digits(&mut img, at, &text);
            }
            2 => img[at] = 0x80,
            _ => damage(&mut img, at, rng),
        }
        if !ar && rng.below(2) == 0 && head + 512 <= img.len() {
            fix_checksum(&mut img, head);
        }
    }
    sometimes_truncate(&mut img, base.len(), rng);
    img
}

/// A tree with a long name and a sparse file; archived by `script` ($1 the tree, $2 the
/// archive), then mutated.
fn run(label: &str, script: &str, seed: u64, count: usize) {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(
        &tree,
        Kinds {
            hard_links: true,
            ..Kinds::plain(10, 20_000)
        },
    );
    write(&tree.join("n".repeat(120)).join("m".repeat(150)), b"long\n");
    write(
        &tree.join("DEBIAN/control"),
        b"Package: p\nVersion: 1\nArchitecture: all\nMaintainer: n <n@e>\nDescription: d\n",
    );
    tool(
        "sh",
        &[
            "-c",
            "truncate -s 200K \"$1/sparse\" && printf x | dd of=\"$1/sparse\" bs=1 seek=70000 conv=notrunc status=none",
            "sh",
            tree.to_str().unwrap(),
        ],
        None,
    );
    let image = dir.path().join("archive");
    let (t, img) = (tree.to_str().unwrap(), image.to_str().unwrap());
    tool("sh", &["-c", script, "sh", t, img], None);
    let base = std::fs::read(&image).unwrap();
    let heads = headers(&base);
    run_format_mutants(label, seed, count, "mutant", |rng| {
        mutate(&base, &heads, rng)
    });
}

#[test]
fn mutated_gnu_tar_headers_never_panic() {
    run(
        "gnu",
        "cd \"$1\" && tar --format=gnu --sparse -cf \"$2\" .",
        0x7a40_0001,
        1500,
    );
}

#[test]
fn mutated_pax_headers_and_sparse_maps_never_panic() {
    run(
        "pax",
        "cd \"$1\" && tar --format=pax --sparse --sparse-version=1.0 -cf \"$2\" .",
        0x7a40_0002,
        1500,
    );
}

#[test]
fn mutated_deb_members_never_panic() {
    run(
        "deb",
        "dpkg-deb --root-owner-group -Znone -b \"$1\" \"$2\" >/dev/null",
        0x7a40_0003,
        800,
    );
}
