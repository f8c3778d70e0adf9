//! Squashfs images made by mksquashfs (uncompressed, so the tables can be patched in place),
//! then damaged: a fragment entry that says the fragment is shorter than the file tails in it
//! need (the tails that fit read, the others are a corrupt error naming the fragment; a cached
//! fragment once skipped the length check its decoding made), and a directory header that
//! counts 2^32 entries (its error message once overflowed). No command panics.

use crate::common::{refused_ro, scratch, tool};

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// An uncompressed squashfs image of `tree` made by mksquashfs at `image`, and its bytes.
fn plain_image(tree: &std::path::Path, image: &std::path::Path) -> Vec<u8> {
    let (t, img) = (tree.to_str().unwrap(), image.to_str().unwrap());
    let flags = ["-noI", "-noD", "-noF", "-noX", "-quiet", "-no-progress"];
    let mut args = vec![t, img];
    args.extend(flags);
    tool("mksquashfs", &args, None);
    std::fs::read(image).unwrap()
}

/// Runs isofish on `image` with `words`, which must fail (see [`refused_ro`]) saying
/// `error`; returns what it wrote to standard output.
fn fails(image: &std::path::Path, words: &[&str], error: &str) -> String {
    let (stdout, stderr) = refused_ro(image, words);
    assert!(stderr.contains(error), "{words:?}: {stderr}");
    stdout
}

#[test]
fn a_fragment_shorter_than_its_tails_is_an_error_not_a_panic() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    // Eight small files, each different: their tails share one fragment, in name order.
    let data = |name: char| name.to_string().repeat(100).into_bytes();
    for name in "abcdefgh".chars() {
        std::fs::write(tree.join(format!("{name}.bin")), data(name)).unwrap();
    }
    let image = dir.path().join("frag.sqfs");
    let mut bytes = plain_image(&tree, &image);
    // The superblock's fragment count (byte 16) and the fragment table's lookup table (byte 80):
    // 8-byte pointers to metadata blocks of 16-byte entries (start, size, unused).
    assert_eq!(le32(&bytes, 16), 1);
    let block = le64(&bytes, le64(&bytes, 80) as usize) as usize;
    let entry = block + 2;
    let (start, size) = (le64(&bytes, entry), le32(&bytes, entry + 8));
    assert_ne!(size & 1 << 24, 0, "an uncompressed fragment");
    let half = (size & 0xff_ffff) / 2;
    bytes[entry + 8..entry + 12].copy_from_slice(&(size & 0xff00_0000 | half).to_le_bytes());
    std::fs::write(&image, &bytes).unwrap();

    let copy = dir.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    let error = format!("frag.sqfs: corrupt squashfs data block at offset {start}");
    let run = |words: &[&str]| fails(&image, words, &error);
    run(&["copy-out", "/", copy.to_str().unwrap()]);
    // The first tail lies at the fragment's start, inside the bytes still claimed.
    assert_eq!(std::fs::read(copy.join("a.bin")).unwrap(), data('a'));
    let sums = run(&["checksums-out", "sha256", "/", "-"]);
    assert!(sums.contains("./a.bin"), "{sums}");
}

#[test]
fn a_directory_header_counting_2_to_the_32_entries_is_an_error_not_a_panic() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    for name in ["a", "b", "c"] {
        std::fs::write(tree.join(name), name).unwrap();
    }
    let image = dir.path().join("dir.sqfs");
    let mut bytes = plain_image(&tree, &image);
    // The directory table (superblock byte 72) holds the root's listing alone, in one
    // uncompressed metadata block: its 2-byte header, then the listing's first header, whose
    // first word counts its entries less one.
    let listing = le64(&bytes, 72) as usize + 2;
    assert_eq!(le32(&bytes, listing), 2, "three entries under one header");
    bytes[listing..listing + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&image, &bytes).unwrap();
    let error = "dir.sqfs: corrupt squashfs directory listing at offset 0: \
                 directory header counts 4294967296 entries";
    fails(&image, &["ll", "/"], error);
}
