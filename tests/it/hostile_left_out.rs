//! One policy for a damaged directory entry, in every format: an entry whose name cannot be a
//! file name (`..`, a `/` or a NUL inside), or a directory that loops, is left out with a
//! warning naming the image, the structure, its offset and the entry; the rest of the image
//! lists and extracts; the command exits 1 at its end. Each image is made by the format's own
//! tool (mksquashfs, mke2fs, mkfs.erofs; the UDF fixture by genisoimage; the ISO ones in
//! `iso_hostile`), then one field is changed.

use std::path::Path;
use std::time::Duration;

use crate::common::{isofish, scratch, tool};
use crate::udf_helpers::{fix_tag, seven_zip_extract, seven_zip_list};

/// A damaged image and what it should read as.
pub struct Damaged<'a> {
    pub image: &'a Path,
    /// Mount options (`-m /dev/sda:/:OPTIONS`).
    pub options: &'a str,
    /// The undamaged tree (paths without a leading `/`), as a third-party tool lists it.
    pub tree: Vec<String>,
    /// The path left out (with what lies below it).
    pub gone: &'a str,
    /// The structure and offset the warning names, and the entry's name as it shows it.
    pub structure: &'a str,
    pub offset: u64,
    pub shown: &'a str,
    /// A file beside the entry left out and its bytes, as a third-party tool extracts them.
    pub kept: (&'a str, Vec<u8>),
}

/// Runs isofish on the damaged image with `words`; asserts exit status 1 and returns stdout
/// and stderr.
fn run(d: &Damaged, words: &[&str]) -> (String, String) {
    let mount = format!("/dev/sda:/:{}", d.options);
    let out = isofish()
        .arg("--ro")
        .arg("-a")
        .arg(d.image)
        .args(["-m", &mount])
        .args(words)
        .timeout(Duration::from_secs(20))
        .assert()
        .code(1)
        .get_output()
        .clone();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (text(&out.stdout), text(&out.stderr))
}

/// `find /` lists the undamaged tree without the entry left out, a warning names it, and
/// `copy-out /` extracts the rest; both exit 1.
pub fn reads_but_for(d: &Damaged) {
    let image = d.image.display();
    let (listed, err) = run(d, &["find", "/"]);
    let mut listed: Vec<&str> = listed.lines().collect();
    listed.sort_unstable();
    let below = format!("{}/", d.gone);
    let mut want: Vec<&str> = d
        .tree
        .iter()
        .map(String::as_str)
        .filter(|p| *p != d.gone && !p.starts_with(&below))
        .collect();
    want.sort_unstable();
    assert_eq!(listed, want, "{image}");
    let warning = format!(
        "isofish: warning: {image}: {} at offset {}: entry {:?} left out: ",
        d.structure, d.offset, d.shown
    );
    assert!(err.contains(&warning), "{image}: want {warning}\n{err}");
    assert!(!err.contains("error"), "{image}: {err}");
    let dir = scratch();
    let dest = dir.path().to_str().unwrap();
    let (_, err) = run(d, &["copy-out", "/", dest]);
    assert!(err.contains(&warning), "{image}: {err}");
    let (kept, data) = &d.kept;
    assert_eq!(
        &std::fs::read(dir.path().join(kept)).unwrap(),
        data,
        "{image}: {kept}"
    );
}

/// The paths below `top` on the host (no leading `/`).
fn host_tree(top: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![top.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            let rel = path
                .strip_prefix(top)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            if path.is_dir() {
                todo.push(path.clone());
            }
            out.push(rel);
        }
    }
    out
}

/// A small tree: `d/bad-name-here` (the entry to damage), `d/keep.txt`, `d/sub/deep.txt`,
/// `top.txt`.
fn small_tree(top: &Path) {
    std::fs::create_dir_all(top.join("d/sub")).unwrap();
    std::fs::write(top.join("d/bad-name-here"), b"the victim\n").unwrap();
    std::fs::write(top.join("d/keep.txt"), b"kept beside it\n").unwrap();
    std::fs::write(top.join("d/sub/deep.txt"), b"deeper\n").unwrap();
    std::fs::write(top.join("top.txt"), b"at the top\n").unwrap();
}

/// A change to an image's bytes, given where the name of the entry to damage lies.
type Mutation = dyn Fn(&mut Vec<u8>, usize);

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// Where `needle` occurs in `hay` (once).
fn find(hay: &[u8], needle: &[u8]) -> usize {
    let at = hay
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("found");
    let again = hay[at + 1..].windows(needle.len()).any(|w| w == needle);
    assert!(!again, "{} occurs twice", String::from_utf8_lossy(needle));
    at
}

/// The small tree made into an image by `make(tree, image)` (which adds `extra` to the tree),
/// its entry `d/bad-name-here` damaged by `mutate`, reads but for that entry; the warning
/// names it as `shown`, with the `structure` at `offset(image bytes, where its name lies)`.
fn small_case(
    make: &dyn Fn(&Path, &Path),
    extra: &[&str],
    (mutate, shown): (&Mutation, &str),
    structure: &str,
    offset: &dyn Fn(&[u8], usize) -> usize,
) {
    let dir = scratch();
    let top = dir.path().join("tree");
    small_tree(&top);
    let image = dir.path().join("bad.img");
    make(&top, &image);
    let mut bytes = std::fs::read(&image).unwrap();
    let name = find(&bytes, b"bad-name-here");
    let at = offset(&bytes, name) as u64;
    mutate(&mut bytes, name);
    std::fs::write(&image, bytes).unwrap();
    let mut tree = host_tree(&top);
    tree.extend(extra.iter().map(|p| p.to_string()));
    reads_but_for(&Damaged {
        image: &image,
        options: "",
        tree,
        gone: "d/bad-name-here",
        structure,
        offset: at,
        shown,
        kept: ("d/keep.txt", std::fs::read(top.join("d/keep.txt")).unwrap()),
    });
}

/// Puts `/` (or NUL) in the middle of the name.
const SLASH: (&Mutation, &str) = (&|b, name| b[name + 3] = b'/', "bad/name-here");
const NUL: (&Mutation, &str) = (&|b, name| b[name + 3] = 0, "bad\0name-here");

#[test]
fn squashfs_leaves_out_a_bad_name_or_a_loop() {
    let mksquashfs = |top: &Path, image: &Path| {
        let flags = ["-noI", "-noD", "-noF", "-noX", "-quiet", "-no-progress"];
        let mut args = vec![top.to_str().unwrap(), image.to_str().unwrap()];
        args.extend(flags);
        tool("mksquashfs", &args, None);
    };
    // An entry: inode offset (u16), inode number delta (i16) from its run's header, type,
    // name size, name; the header before /d's first entry: count, start block, base inode.
    let point_at_root = |b: &mut Vec<u8>, name: usize| {
        let entry = name - 8;
        let base = i64::from(le32(b, entry - 12 + 8));
        let root = i64::from(le32(b, 4)); // mksquashfs numbers the root last: inode_count
        let delta = (root - base) as i16;
        b[entry + 2..entry + 4].copy_from_slice(&delta.to_le_bytes());
    };
    // The directory table (uncompressed, one metadata block: a 2-byte header) starts at the
    // superblock's directory_table_start (byte 72); an entry's name follows its 8-byte header.
    let offset = |b: &[u8], name: usize| name - 8 - le32(b, 72) as usize - 2;
    for case in [SLASH, NUL, (&point_at_root, "bad-name-here")] {
        let table = "squashfs directory table (decompressed)";
        small_case(&mksquashfs, &[], case, table, &offset);
    }
}

#[test]
fn ext_leaves_out_a_bad_name_or_a_loop() {
    let mke2fs = |top: &Path, image: &Path| {
        let args = ["-q", "-F", "-t", "ext4", "-O", "^metadata_csum", "-d"];
        let mut args = args.to_vec();
        args.extend([top.to_str().unwrap(), image.to_str().unwrap(), "4M"]);
        tool("mke2fs", &args, None);
    };
    // A directory entry: inode (u32), record length (u16), name length, type, name.
    let dot_dot = |b: &mut Vec<u8>, name: usize| {
        b[name - 2] = 2;
        b[name..name + 2].copy_from_slice(b"..");
    };
    let root = |b: &mut Vec<u8>, name: usize| b[name - 8..name - 4].copy_from_slice(&[2, 0, 0, 0]);
    for case in [SLASH, (&dot_dot, ".."), (&root, "bad-name-here")] {
        // mke2fs adds lost+found to the tree it was given.
        small_case(
            &mke2fs,
            &["lost+found"],
            case,
            "ext directory entry",
            &|_, name| name - 8,
        );
    }
}

#[test]
fn erofs_leaves_out_a_bad_name_and_lists_the_rest_of_its_directory() {
    let mkfs = |top: &Path, image: &Path| {
        let args = ["--quiet", image.to_str().unwrap(), top.to_str().unwrap()];
        tool("mkfs.erofs", &args, None);
    };
    // /d's dirents (12 bytes each: `.`, `..`, `bad-name-here`, `keep.txt`, `sub`), then their
    // names in the same order: the third dirent's.
    let offset = |_: &[u8], name: usize| name - 3 - 5 * 12 + 2 * 12;
    for case in [SLASH, NUL] {
        small_case(&mkfs, &[], case, "erofs dirent", &offset);
    }
}

#[test]
fn udf_leaves_out_a_bad_name() {
    // genisoimage's UDF 1.02 bridge (see tests/fixtures/make-udf.sh), read as UDF; 7z lists
    // and extracts the undamaged one.
    let good = crate::common::fixture("udf-102-bridge.iso");
    let tree: Vec<String> = seven_zip_list(&good).into_keys().collect();
    let extracted = seven_zip_extract(&good);
    let numbers = std::fs::read(extracted.path().join("data/numbers.txt")).unwrap();
    let mut img = std::fs::read(&good).unwrap();
    // The FID of hello.txt: its name (8-bit CS0: a compression id 8, then the bytes) at 38 +
    // its implementation use (none here).
    let fid = (0..img.len() - 64)
        .step_by(4)
        .find(|&at| img[at] == 1 && img[at + 1] == 1 && img[at + 38..at + 48] == *b"\x08hello.txt")
        .expect("the FID of hello.txt");
    img[fid + 38 + 4] = b'/';
    fix_tag(&mut img, fid);
    let dir = scratch();
    let image = dir.path().join("bad.iso");
    std::fs::write(&image, img).unwrap();
    reads_but_for(&Damaged {
        image: &image,
        options: "udf",
        tree,
        gone: "hello.txt",
        structure: "UDF file identifier",
        offset: fid as u64,
        shown: "hel/o.txt",
        kept: ("data/numbers.txt", numbers),
    });
}
