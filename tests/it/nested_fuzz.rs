//! Mutation fuzzing, one target per nested format (squashfs, ext4, FAT, cpio and initrds):
//! images made by the real tools, then bytes flipped and images cut at random (a fixed seed, so
//! every run tries the same cases), opened and walked whole through the library. Each case must
//! end in a result, an error or the data, never a panic; sizes stay bounded by the image.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use isofish::fs::{self, FileSystem, Ino, MountOptions};
use isofish::source::{MemSource, Source};

use crate::common::{scratch, tool};
use crate::nested_util::{make_tree, Kinds};

/// Reads everything below `dir`, stopping at errors; bounded in depth and entries.
fn walk(fs: &dyn FileSystem, dir: Ino, depth: usize, budget: &mut usize) {
    if depth > 16 {
        return;
    }
    let Ok(entries) = fs.read_dir(dir) else {
        return;
    };
    let mut buf = vec![0u8; 64 * 1024];
    for e in entries {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let _ = fs.metadata(e.ino);
        let _ = fs.lookup(dir, &e.name);
        if e.meta.is_dir() {
            walk(fs, e.ino, depth + 1, budget);
        } else if e.meta.kind == fs::FileKind::File {
            let mut at = 0u64;
            while at < e.meta.size.min(8 << 20) {
                match fs.read_at(e.ino, at, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => at += n as u64,
                }
            }
        }
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tries `cases` mutants of `image`; panics naming the first case that panicked.
fn fuzz(image: &[u8], what: &str, cases: usize, seed: u64) {
    let mut rng = Rng(seed);
    // Metadata sits mostly near the start and the end of these small images.
    for case in 0..cases {
        let mut bytes = image.to_vec();
        match rng.below(4) {
            0 => bytes.truncate(rng.below(image.len())),
            _ => {
                for _ in 0..1 + rng.below(8) {
                    let at = match rng.below(3) {
                        0 => rng.below(image.len().min(8192)),
                        1 => image.len() - 1 - rng.below(image.len().min(8192)),
                        _ => rng.below(image.len()),
                    };
                    bytes[at] = match rng.below(3) {
                        0 => 0,
                        1 => 0xff,
                        _ => rng.next() as u8,
                    };
                }
            }
        }
        let source: Arc<dyn Source> = Arc::new(MemSource::new(bytes, "mutant"));
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            if let Ok(fs) = fs::open(source, &MountOptions::default()) {
                let mut budget = 5000;
                walk(fs.as_ref(), fs.root(), 0, &mut budget);
            }
        }));
        assert!(
            outcome.is_ok(),
            "{what}: mutant {case} (seed {seed}) panicked"
        );
    }
}

fn small_tree(top: &Path) {
    make_tree(
        top,
        Kinds {
            special: false,
            hard_links: true,
            owners: false,
            many: 40,
            large: 200_000,
        },
    );
}

fn build(script: &str, tree: &Path, image: &Path) -> Vec<u8> {
    tool(
        "sh",
        &[
            "-c",
            script,
            "sh",
            tree.to_str().unwrap(),
            image.to_str().unwrap(),
        ],
        None,
    );
    std::fs::read(image).unwrap()
}

#[test]
fn squashfs_mutants_never_panic() {
    let dir = scratch();
    let tree = dir.path().join("t");
    small_tree(&tree);
    for comp in ["gzip", "xz", "zstd", "lz4"] {
        let img = build(
            &format!("mksquashfs \"$1\" \"$2\" -comp {comp} -noappend -quiet -no-progress"),
            &tree,
            &dir.path().join(format!("{comp}.sqfs")),
        );
        fuzz(&img, comp, 150, 0x5155_4153 ^ comp.len() as u64);
    }
}

#[test]
fn ext_mutants_never_panic() {
    let dir = scratch();
    let tree = dir.path().join("t");
    small_tree(&tree);
    for kind in ["ext2", "ext4"] {
        let img = build(
            &format!("mke2fs -q -F -t {kind} -d \"$1\" \"$2\" 2M"),
            &tree,
            &dir.path().join(format!("{kind}.img")),
        );
        fuzz(&img, kind, 150, 0xe474 + kind.len() as u64);
    }
}

#[test]
fn fat_mutants_never_panic() {
    let dir = scratch();
    let tree = dir.path().join("t");
    small_tree(&tree);
    for (bits, size) in [("12", "2000"), ("16", "20000")] {
        let img = build(
            &format!(
                "rm -f \"$2\" && mkfs.fat -F {bits} -C \"$2\" {size} >/dev/null && \
                 MTOOLS_SKIP_CHECK=1 mcopy -s -i \"$2\" \"$1\"/dir/sub \"$1\"/dir/large.bin \"$1\"/many \"$1\"/hello.txt ::/"
            ),
            &tree,
            &dir.path().join(format!("fat{bits}.img")),
        );
        fuzz(&img, &format!("FAT{bits}"), 150, 0xfa7 + bits.len() as u64);
    }
}

#[test]
fn cpio_mutants_never_panic() {
    let dir = scratch();
    let tree = dir.path().join("t");
    small_tree(&tree);
    for (format, compress) in [
        ("newc", "cat"),
        ("odc", "cat"),
        ("bin", "cat"),
        ("newc", "gzip"),
        ("newc", "xz --check=crc32"),
        ("newc", "lz4 -l -q"),
        ("crc", "zstd -q"),
        ("newc", "bzip2"),
    ] {
        let img = build(
            &format!("cd \"$1\" && find . | cpio --quiet -o -H {format} | {compress} > \"$2\""),
            &tree,
            &dir.path().join("a.cpio"),
        );
        fuzz(
            &img,
            &format!("{format}+{compress}"),
            100,
            0xc910 + img.len() as u64,
        );
    }
}
