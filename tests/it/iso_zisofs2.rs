//! zisofs2 (zisofs version 2) as xorriso writes it (`-zisofs version_2=on|as_needed`): every
//! file reads back as the original tree and as xorriso's own decoding (`-osirrox on -extract`)
//! has it, for 32 KiB, 128 KiB and 1 MiB blocks, ZF and Z2 entries, version 1 and 2 files in
//! one image, and a file over 4 GiB. Hostile changes to the header, the pointer table and the
//! blocks give an error naming the image, zisofs and the offset, exit status 1; seeded
//! mutations of them never panic or hang.

use std::path::{Path, PathBuf};
use std::time::Duration;

use isofish::fs::MountOptions;

use crate::common::{isofish, root, run_ro, scratch, tool};
use crate::iso_oracle::open;
use crate::mutants::run_mutants;

/// The zisofs2 magic number (zisofs2 format: file header).
const MAGIC2: [u8; 8] = [0xef, 0x22, 0x55, 0xa1, 0xbc, 0x1b, 0x95, 0xa0];

/// Deterministic incompressible bytes (xorshift64).
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

/// Compressible text: numbered lines.
fn text(len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = (0..)
        .flat_map(|i| format!("line {i} of some compressible text\n").into_bytes())
        .take(len)
        .collect();
    v.truncate(len);
    v
}

/// The files every image holds, for blocks of `block` bytes: (name, content).
fn files(block: usize) -> Vec<(&'static str, Vec<u8>)> {
    // Compressible blocks with incompressible (stored) ones between them.
    let mut mixed = Vec::new();
    for i in 0..6u64 {
        mixed.extend(text(block));
        mixed.extend(noise(block / 2 + 17, i + 1));
    }
    // Mostly zeros (zero blocks), a little data in the middle.
    let mut sparse = vec![0; 5 * block + 1234];
    sparse[2 * block + 100..2 * block + 200].copy_from_slice(&text(100));
    vec![
        ("empty", Vec::new()),
        ("one", b"x".to_vec()),
        ("block", text(block)),
        ("many/text", text(9 * block + 4321)),
        ("many/mixed", mixed),
        ("random", noise(3 * block, 99)),
        ("zeros", vec![0; 4 * block]),
        ("sparse", sparse),
    ]
}

/// Writes `files` under `dir`.
fn write_tree(dir: &Path, files: &[(&str, Vec<u8>)]) {
    for (name, data) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
}

/// Makes `image` of `tree` with every file zisofs-compressed under `-zisofs settings`.
pub fn xorriso_zisofs(tree: &Path, image: &Path, settings: &str) {
    let (t, i) = (tree.to_str().unwrap(), image.to_str().unwrap());
    let _ = std::fs::remove_file(image);
    tool(
        "xorriso",
        &[
            "-no_rc",
            "-report_about",
            "FAILURE",
            "-zisofs",
            settings,
            "-outdev",
            i,
            "-map",
            t,
            "/",
            "-set_filter_r",
            "--zisofs",
            "/",
            "--",
            "-commit",
        ],
        None,
    );
}

/// xorriso's filter of each file of `image` (`-exec show_stream`): "PZ" (zisofs2), "pz"
/// (zisofs), or "" (stored as is).
fn streams(image: &Path) -> Vec<(String, String)> {
    let out = tool(
        "xorriso",
        &[
            "-no_rc",
            "-indev",
            image.to_str().unwrap(),
            "-find",
            "/",
            "-type",
            "f",
            "-exec",
            "show_stream",
        ],
        None,
    );
    String::from_utf8(out)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (path, rest) = l.strip_prefix('\'')?.split_once("' < ")?;
            let alg = rest
                .strip_prefix("--zisofs-decode:")
                .map_or("", |r| &r[..2]);
            Some((path.trim_start_matches('/').to_string(), alg.to_string()))
        })
        .collect()
}

/// xorriso's extraction of the whole image (it decodes zisofs and zisofs2).
fn xorriso_extract(image: &Path, out: &Path) {
    tool(
        "xorriso",
        &[
            "-no_rc",
            "-report_about",
            "FAILURE",
            "-osirrox",
            "on",
            "-indev",
            image.to_str().unwrap(),
            "-extract",
            "/",
            out.to_str().unwrap(),
        ],
        None,
    );
}

/// The size `ll` shows for `path`.
fn ll_size(image: &Path, path: &str) -> u64 {
    let out = String::from_utf8(run_ro(image, &["ll", path])).unwrap();
    out.split_whitespace().nth(4).unwrap().parse().unwrap()
}

/// Every file of `files` read by `cat`, `copy-out` and `tar-out`, and its `ll` size, agree with
/// the original and with xorriso's extraction of `image`.
fn check_image(image: &Path, files: &[(&str, Vec<u8>)]) {
    let work = scratch();
    let x = work.path().join("xorriso");
    xorriso_extract(image, &x);
    let copy = work.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    run_ro(image, &["copy-out", "/", copy.to_str().unwrap()]);
    let tar = work.path().join("tar");
    std::fs::create_dir(&tar).unwrap();
    let archive = work.path().join("all.tar");
    run_ro(image, &["tar-out", "/", archive.to_str().unwrap()]);
    tool(
        "tar",
        &[
            "-xf",
            archive.to_str().unwrap(),
            "-C",
            tar.to_str().unwrap(),
        ],
        None,
    );
    for (name, data) in files {
        let abs = format!("/{name}");
        let theirs = std::fs::read(x.join(name)).unwrap();
        assert!(theirs == *data, "xorriso's {name} is the original");
        assert!(run_ro(image, &["cat", &abs]) == *data, "cat {name}");
        assert!(
            std::fs::read(copy.join(name)).unwrap() == *data,
            "copy-out {name}"
        );
        assert!(
            std::fs::read(tar.join(name)).unwrap() == *data,
            "tar-out {name}"
        );
        assert_eq!(ll_size(image, &abs), data.len() as u64, "ll {name}");
    }
}

#[test]
fn version_2_images_read_back_for_every_block_size() {
    for (setting, block) in [("32k", 32 << 10), ("128k", 128 << 10), ("1m", 1 << 20)] {
        let work = scratch();
        let tree = work.path().join("tree");
        let files = files(block);
        write_tree(&tree, &files);
        let image = work.path().join("v2.iso");
        xorriso_zisofs(
            &tree,
            &image,
            &format!("version_2=on:block_size_v2={setting}"),
        );
        let algs = streams(&image);
        // xorriso compresses what gets smaller, as zisofs2.
        for name in ["block", "many/text", "many/mixed", "zeros", "sparse"] {
            assert!(
                algs.contains(&(name.to_string(), "PZ".to_string())),
                "{setting}: {name} is zisofs2 in {algs:?}"
            );
        }
        check_image(&image, &files);
    }
}

#[test]
fn z2_entries_and_version_1_files_in_one_image() {
    let work = scratch();
    let tree = work.path().join("tree");
    let files = files(64 << 10);
    write_tree(&tree, &files);
    // Session 1: zisofs (version 1); session 2 adds a zisofs2 file announced by Z2.
    let image = work.path().join("mixed.iso");
    xorriso_zisofs(&tree, &image, "block_size=64k");
    let new = work.path().join("new");
    let added = text(700_000);
    std::fs::create_dir(&new).unwrap();
    std::fs::write(new.join("v2.txt"), &added).unwrap();
    tool(
        "xorriso",
        &[
            "-no_rc",
            "-report_about",
            "FAILURE",
            "-zisofs",
            "version_2=on:susp_z2=on:block_size_v2=256k",
            "-dev",
            image.to_str().unwrap(),
            "-map",
            new.join("v2.txt").to_str().unwrap(),
            "/v2.txt",
            "-set_filter",
            "--zisofs",
            "/v2.txt",
            "--",
            "-commit",
        ],
        None,
    );
    let bytes = std::fs::read(&image).unwrap();
    assert!(
        bytes.windows(6).any(|w| w == b"Z2\x10\x02PZ"),
        "a Z2 entry is written"
    );
    let algs = streams(&image);
    assert!(algs.contains(&("v2.txt".into(), "PZ".into())), "{algs:?}");
    assert!(
        algs.contains(&("many/text".into(), "pz".into())),
        "{algs:?}"
    );
    let mut all = files;
    all.push(("v2.txt", added));
    check_image(&image, &all);
}

/// A scratch directory under target/tmp (for files too big for /tmp).
fn big_scratch() -> tempfile::TempDir {
    let dir = root().join("target/tmp");
    std::fs::create_dir_all(&dir).unwrap();
    tempfile::Builder::new()
        .prefix("isofish-zisofs2")
        .tempdir_in(dir)
        .unwrap()
}

#[test]
fn as_needed_compresses_a_file_over_4_gib_as_version_2() {
    let work = big_scratch();
    let tree = work.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    // 4.5 GiB, mostly a hole, with data before and after 4 GiB and at the end.
    let huge = tree.join("huge");
    let len: u64 = 4608 << 20;
    let marks: [(u64, Vec<u8>); 4] = [
        (0, text(100_000)),
        ((4 << 30) - 50_000, text(100_000)),
        ((4 << 30) + 212_345, noise(300_000, 7)),
        (len - 1000, text(1000)),
    ];
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::create(&huge).unwrap();
        f.set_len(len).unwrap();
        for (at, data) in &marks {
            f.write_all_at(data, *at).unwrap();
        }
    }
    let small = text(5000);
    std::fs::write(tree.join("small"), &small).unwrap();
    let image = work.path().join("big.iso");
    xorriso_zisofs(&tree, &image, "version_2=as_needed:block_size_v2=1m");
    std::fs::remove_file(&huge).unwrap();
    let algs = streams(&image);
    assert!(algs.contains(&("huge".into(), "PZ".into())), "{algs:?}");
    assert!(algs.contains(&("small".into(), "pz".into())), "{algs:?}");
    assert_eq!(ll_size(&image, "/huge"), len);
    assert!(run_ro(&image, &["cat", "/small"]) == small);
    // Reading all of it takes long in a debug build: read around the marks and the holes
    // (past 4 GiB the 1 MiB blocks' pointers are in the table's second window of 4096).
    let fs = open(&image, "").unwrap();
    let ino = fs.lookup(fs.root(), b"huge").unwrap().unwrap().ino;
    let read = |at: u64, n: usize| {
        let mut buf = vec![0xaa; n];
        let got = fs.read_at(ino, at, &mut buf).unwrap();
        buf.truncate(got);
        buf
    };
    for (at, data) in &marks {
        assert!(read(*at, data.len()) == *data, "data at {at}");
        let before = at.saturating_sub(3000);
        assert!(read(before, (at - before) as usize).iter().all(|&b| b == 0));
    }
    assert!(read(3 << 30, 1 << 20).iter().all(|&b| b == 0));
    assert!(read(len - 10, 100) == marks[3].1[990..]);
    assert!(read(len, 100).is_empty());
}

/// A zisofs2 image of one compressible file (`text`, 32 KiB blocks) and its bytes.
struct Hostile {
    _work: tempfile::TempDir,
    dir: PathBuf,
    bytes: Vec<u8>,
    /// Offsets of the file's header and of its ZF entry.
    header: usize,
    zf: usize,
}

impl Hostile {
    fn new() -> Hostile {
        let work = scratch();
        let tree = work.path().join("tree");
        write_tree(&tree, &[("text", text(10 * 32768 + 5))]);
        let image = work.path().join("good.iso");
        xorriso_zisofs(&tree, &image, "version_2=on:block_size_v2=32k");
        let bytes = std::fs::read(&image).unwrap();
        let find = |what: &[u8]| {
            let mut hits = bytes.windows(what.len()).enumerate();
            let at = hits.find(|(_, w)| *w == what).unwrap().0;
            assert!(hits.all(|(_, w)| w != what), "one {what:?}");
            at
        };
        Hostile {
            header: find(&MAGIC2),
            zf: find(b"ZF\x10\x02PZ"),
            dir: work.path().to_path_buf(),
            bytes,
            _work: work,
        }
    }

    fn pointer(&self, i: usize) -> u64 {
        let at = self.header + 24 + 8 * i;
        u64::from_le_bytes(self.bytes[at..at + 8].try_into().unwrap())
    }

    fn set_pointer(b: &mut [u8], header: usize, i: usize, v: u64) {
        let at = header + 24 + 8 * i;
        b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }

    /// `cat /text` on the image changed by `change` fails with exit status 1 and an error
    /// naming the image, zisofs, the offset and `detail`.
    fn fails(&self, what: &str, change: impl Fn(&mut Vec<u8>), detail: &str) {
        let mut b = self.bytes.clone();
        change(&mut b);
        let image = self.dir.join(format!("{what}.iso"));
        std::fs::write(&image, &b).unwrap();
        let out = isofish()
            .timeout(Duration::from_secs(120))
            .arg("--ro")
            .arg("-a")
            .arg(&image)
            .args(["cat", "/text"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(err.contains(image.to_str().unwrap()), "{what}: {err}");
        assert!(err.contains("zisofs"), "{what}: {err}");
        assert!(err.contains(detail), "{what}: {err}");
        assert!(!err.contains("panick"), "{what}: {err}");
    }
}

#[test]
fn hostile_version_2_files_fail_clearly() {
    let h = Hostile::new();
    // Sanity: the unchanged image reads.
    let good = h.dir.join("good.iso");
    assert!(run_ro(&good, &["cat", "/text"]) == text(10 * 32768 + 5));
    let (hd, zf) = (h.header, h.zf);
    h.fails(
        "magic",
        |b| b[hd + 3] ^= 0xff,
        &format!("zisofs2 file header at offset {hd}: no zisofs2 magic"),
    );
    h.fails("header-version", |b| b[hd + 8] = 1, "header version 1");
    // The header disagrees with the ZF entry.
    h.fails("header-log2", |b| b[hd + 11] = 16, "block size (16)");
    h.fails("header-size", |b| b[hd + 12] ^= 1, "uncompressed size");
    // Both agree on a size out of range. (A block size out of range makes the ZF entry
    // one that is not zisofs: the file reads as stored, see iso_layouts.)
    h.fails(
        "size",
        |b| {
            b[hd + 19] = 0x10;
            b[zf + 15] = 0x10;
        },
        "do not fit",
    );
    h.fails(
        "header-words",
        |b| {
            b[hd + 9] = 0x40;
            b[zf + 6] = 0x40;
        },
        "zisofs block pointer at offset",
    );
    // The pointer table.
    let past = h.bytes.len() as u64;
    h.fails(
        "past",
        |b| Hostile::set_pointer(b, hd, 3, past),
        &format!("zisofs block pointer at offset {}", hd + 24 + 24),
    );
    let (p2, p3) = (h.pointer(2), h.pointer(3));
    h.fails(
        "decreasing",
        |b| {
            Hostile::set_pointer(b, hd, 2, p3);
            Hostile::set_pointer(b, hd, 3, p2);
        },
        "out of order",
    );
    h.fails(
        "inside-table",
        |b| Hostile::set_pointer(b, hd, 0, 24),
        "end of the pointer table",
    );
    // A block that inflates to more than the block size (a bomb) in block 1's place.
    let bomb = {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![0; 1 << 20]).unwrap();
        z.finish().unwrap()
    };
    let (p1, p2) = (h.pointer(1), h.pointer(2));
    assert!((bomb.len() as u64) < p2 - p1);
    h.fails(
        "bomb",
        |b| {
            let at = hd + p1 as usize;
            b[at..at + bomb.len()].copy_from_slice(&bomb);
        },
        &format!("zisofs block at offset {}", hd as u64 + p1),
    );
    // Garbage instead of zlib.
    h.fails(
        "garbage",
        |b| {
            let at = hd + p1 as usize;
            b[at..at + 64].fill(0x5a);
        },
        "zisofs block",
    );
}

#[test]
fn other_zisofs2_algorithms_are_refused_by_name() {
    let h = Hostile::new();
    let (hd, zf) = (h.header, h.zf);
    for (chars, id, name) in [
        (b"XZ", 2, "xz"),
        (b"ZD", 4, "Zstandard"),
        (b"B2", 5, "bzip2"),
    ] {
        h.fails(
            name,
            |b| {
                b[zf + 4..zf + 6].copy_from_slice(chars);
                b[hd + 10] = id;
            },
            &format!(
                "unsupported zisofs2 algorithm {} ({name})",
                std::str::from_utf8(chars).unwrap()
            ),
        );
    }
}

#[test]
fn mutated_version_2_files_never_panic() {
    let h = Hostile::new();
    let (hd, zf) = (h.header, h.zf);
    let end = hd + h.pointer(11) as usize;
    let (ok, failed, _) = run_mutants(
        "zisofs2",
        0x2150_f502,
        400,
        "mutant.iso",
        &MountOptions::default(),
        |rng| {
            let mut b = h.bytes.clone();
            for _ in 0..1 + rng.below(3) {
                // The ZF entry, the header and pointer table, or the blocks.
                let at = match rng.below(3) {
                    0 => zf + 4 + rng.below(12),
                    1 => hd + rng.below(24 + 12 * 8),
                    _ => hd + rng.below(end - hd),
                };
                match rng.below(3) {
                    0 => b[at] ^= 1 << rng.below(8),
                    1 => b[at] = rng.next() as u8,
                    _ => b[at] = [0, 0xff, 15, 20, 21][rng.below(5)],
                }
            }
            b
        },
    );
    assert!(ok > 0 && failed > 0, "{ok} read, {failed} refused");
}
