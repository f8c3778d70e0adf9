//! A gzip'd cpio archive of a few MiB rebuilt after a change (`fs::rebuild::plan` over an
//! overlay of the mounted archive): the new stream keeps the original's compressed blocks
//! around the change (its last 64 KiB before the trailer are the original's, byte for byte)
//! and is still one gzip member (Python's zlib reads it to its end with nothing after it) that
//! `gzip -t` passes, whose data GNU cpio extracts to the changed tree (`diff -r`), no larger
//! than `gzip` at the same level makes it (1 % and a few bytes allowed); the header keeps the
//! level's XFL byte; a `level=N` option other than the original's compresses it whole.

use std::path::Path;

use isofish::overlay::{Content, Overlay};

use crate::common::{scratch, tool};
use crate::nested_cpio::{archive, sh};
use crate::nested_cpio_write::rebuild_with;
use crate::nested_util::{noise, write};

/// Text that compresses as text does (dynamic Huffman blocks).
fn text(len: usize, seed: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 80);
    let mut i = 0u32;
    while out.len() < len {
        let word = ["alpha", "kernel", "module", "initrd", "config"][(i as usize * 7) % 5];
        out.extend_from_slice(
            format!(
                "{seed}:{i} {word} {} set to {}\n",
                i.wrapping_mul(7919) % 1000,
                i % 17
            )
            .as_bytes(),
        );
        i += 1;
    }
    out.truncate(len);
    out
}

/// About 5 MiB: text files and noise (which gzip stores), in 40 files, their times pinned.
fn big_tree(top: &Path) {
    for i in 0..20u32 {
        write(
            &top.join(format!("f{i:02}.txt")),
            &text(180_000 + 999 * i as usize, i),
        );
        write(
            &top.join(format!("n{i:02}.bin")),
            &noise(60_001 + 7 * i as usize, i),
        );
    }
    write(&top.join("etc/motd"), b"hello\n");
    // Pinned times: the same archive, the same compressed blocks, every run.
    sh(&format!(
        "find '{}' -exec touch -h -d '2023-11-14 22:13:20 UTC' {{}} +",
        top.display()
    ));
}

/// The original archive `compress`ed, the tree with `host` applied, and the archive rebuilt
/// with `stage` (mount options `options`).
struct Case {
    _dir: tempfile::TempDir,
    original: Vec<u8>,
    new: Vec<u8>,
    image: std::path::PathBuf,
    expected: std::path::PathBuf,
}

fn case(compress: &str, options: &str, stage: &dyn Fn(&Overlay), host: &str) -> Case {
    let dir = scratch();
    let d = dir.path();
    let tree = d.join("tree");
    big_tree(&tree);
    let original = d.join("in.cpio.gz");
    archive(&tree, "newc", compress, &original);
    let expected = d.join("expected");
    sh(&format!(
        "cp -a '{}' '{}' && cd '{}' && {host}",
        tree.display(),
        expected.display(),
        expected.display()
    ));
    let image = d.join("out.cpio.gz");
    rebuild_with(&original, options, stage, &image).unwrap();
    Case {
        _dir: dir,
        original: std::fs::read(&original).unwrap(),
        new: std::fs::read(&image).unwrap(),
        image,
        expected,
    }
}

/// Python's zlib reads the gzip file `path` as one member, to its end, nothing after it.
pub fn one_gzip_member(path: &Path) {
    let script = "import sys, zlib\n\
        d = zlib.decompressobj(31)\n\
        d.decompress(open(sys.argv[1], 'rb').read())\n\
        assert d.eof and not d.unused_data, 'not one gzip member'\n";
    tool("python3", &["-c", script, path.to_str().unwrap()], None);
}

/// The checks every rebuilt stream passes.
fn check(c: &Case, what: &str) {
    tool("gzip", &["-t", c.image.to_str().unwrap()], None);
    one_gzip_member(&c.image);
    let got = c.image.with_extension("x");
    std::fs::create_dir_all(&got).unwrap();
    sh(&format!(
        "cd '{}' && gzip -dc '{}' | cpio --quiet -idm --no-absolute-filenames && diff -r '{}' .",
        got.display(),
        c.image.display(),
        c.expected.display()
    ));
    let gzip6 = tool(
        "sh",
        &[
            "-c",
            &format!("gzip -dc '{}' | gzip -6 -n | wc -c", c.image.display()),
        ],
        None,
    );
    let gzip6: usize = String::from_utf8(gzip6).unwrap().trim().parse().unwrap();
    assert!(
        c.new.len() <= gzip6 + gzip6 / 100 + 64,
        "{what}: {} bytes, gzip -6 makes {gzip6}",
        c.new.len()
    );
}

/// The original's compressed bytes before its trailer end the new stream too.
fn keeps_the_end(c: &Case) -> bool {
    let tail = |b: &[u8]| b[b.len() - 8 - (64 << 10)..b.len() - 8].to_vec();
    tail(&c.new) == tail(&c.original)
}

/// A stretch of the original's compressed bytes from its middle is in the new stream.
fn keeps_some(c: &Case) -> bool {
    let at = c.original.len() / 2;
    let chunk = &c.original[at..at + 4096];
    c.new.windows(chunk.len()).any(|w| w == chunk)
}

#[test]
fn one_changed_file_keeps_the_rest_of_the_stream() {
    let c = case(
        "gzip -6 -n",
        "",
        &|o| {
            o.set_content("/f09.txt", Content::bytes(b"changed\n".to_vec()))
                .unwrap()
        },
        "printf 'changed\\n' > f09.txt",
    );
    check(&c, "one file");
    assert!(keeps_the_end(&c));
    assert_eq!(c.new[8], 0, "XFL of level 6");
}

#[test]
fn changes_spread_through_the_stream_at_level_9() {
    let c = case(
        "gzip -9 -n",
        "",
        &|o| {
            o.set_content("/f01.txt", Content::bytes(text(5_000, 99)))
                .unwrap();
            o.set_content("/n11.bin", Content::bytes(noise(70_000, 98)))
                .unwrap();
            o.set_content("/f18.txt", Content::bytes(b"late\n".to_vec()))
                .unwrap();
            o.remove("/n05.bin").unwrap();
            o.remove("/etc/motd").unwrap();
        },
        "true",
    );
    // The host side, from the same generators.
    write(&c.expected.join("f01.txt"), &text(5_000, 99));
    write(&c.expected.join("n11.bin"), &noise(70_000, 98));
    write(&c.expected.join("f18.txt"), b"late\n");
    std::fs::remove_file(c.expected.join("n05.bin")).unwrap();
    std::fs::remove_file(c.expected.join("etc/motd")).unwrap();
    check(&c, "spread changes");
    assert!(keeps_the_end(&c));
    assert_eq!(c.new[8], 2, "XFL of level 9");
}

#[test]
fn a_changed_last_member_and_a_new_one_end_the_stream_anew() {
    let c = case(
        "gzip -6 -n",
        "",
        &|o| {
            o.set_content("/n19.bin", Content::bytes(b"last\n".to_vec()))
                .unwrap();
            o.create(
                "/zz-new",
                isofish::overlay::fresh(isofish::fs::FileKind::File, 0o644),
                Some(Content::bytes(b"new\n".to_vec())),
            )
            .unwrap();
        },
        "printf 'last\\n' > n19.bin && printf 'new\\n' > zz-new",
    );
    // New files take the time of the commit: only their data is compared.
    check(&c, "changed end");
    assert!(!keeps_the_end(&c));
    assert!(keeps_some(&c), "the blocks before the change kept");
}

#[test]
fn another_level_compresses_the_stream_whole() {
    let c = case(
        "gzip -6 -n",
        "level=1",
        &|o| {
            o.set_content("/f09.txt", Content::bytes(b"changed\n".to_vec()))
                .unwrap()
        },
        "printf 'changed\\n' > f09.txt",
    );
    tool("gzip", &["-t", c.image.to_str().unwrap()], None);
    assert_eq!(c.new[8], 4, "XFL of level 1");
    assert!(!keeps_the_end(&c) && !keeps_some(&c));
}
