//! The cpio writer, through the library (`fs::rebuild::plan` over an overlay of a mounted
//! archive, the plan written to a file): archives made by GNU cpio (newc, crc, odc, bin),
//! plain and compressed by every initrd compressor, changed (files added, replaced, removed,
//! chmod'ed, hard-linked, a directory moved) and checked with GNU cpio (`cpio -itv`,
//! `cpio -idm` extraction), bsdtar, and the kernel's rules (xz check CRC32, the lz4 legacy
//! magic); a Debian-style initrd (an uncompressed early-microcode archive, then a gzip'd or
//! zstd'd main one) whose early part stays first and byte for byte; the `level=N` option; and
//! the encoders against the compression tools.

use std::path::Path;
use std::sync::Arc;

use isofish::fs::{rebuild, FileKind, MountOptions, Timestamp};
use isofish::overlay::{fresh, Content, Overlay};
use isofish::plan::to_file;
use isofish::source::decoded::Codec;
use isofish::source::{encode, FileSource, MemSource, Source};

use crate::common::{scratch, tool};
use crate::gzip_splice::one_gzip_member;
use crate::host_tree::{assert_same, snapshot};
use crate::nested_cpio::{
    archive, contents, cpio_extract, libarchive_extract, reference, sh, tree_of, CODECS, KINDS,
};
use crate::nested_util::{make_tree, noise};

/// The time the changes give what they touch (the trees are pinned to 1700000000).
const T2: i64 = 1_710_000_000;

/// Opens `image` (with the mount options `options`), stages `stage` over it, and writes the
/// rebuilt file to `out`; the error, if the writer refuses.
pub fn rebuild_with(
    image: &Path,
    options: &str,
    stage: &dyn Fn(&Overlay),
    out: &Path,
) -> isofish::Result<()> {
    let source: Arc<dyn Source> = Arc::new(FileSource::open(image)?);
    let fs = isofish::fs::open(source, &MountOptions::parse(options))?;
    let overlay = Overlay::new(fs.clone());
    stage(&overlay);
    let plan = rebuild::plan(fs.as_ref(), &overlay, &|ino| overlay.provenance(ino))?;
    let file = std::fs::File::create(out).unwrap();
    to_file::write(&plan, &file, &|_| {}).unwrap();
    Ok(())
}

fn rebuild(image: &Path, stage: &dyn Fn(&Overlay), out: &Path) {
    rebuild_with(image, "", stage, out).unwrap();
}

/// Sets the modification time of `path` in the overlay.
fn retime(o: &Overlay, path: &str) {
    o.change_meta(path, |m| {
        m.mtime = Timestamp { secs: T2, nanos: 0 };
        Ok(())
    })
    .unwrap();
}

/// A new object of `kind`, mode `mode`, owned by `uid:gid`, modified at [`T2`].
fn object(o: &Overlay, path: &str, kind: FileKind, mode: u32, owner: (u32, u32), data: &[u8]) {
    let mut meta = fresh(kind, mode);
    (meta.uid, meta.gid) = owner;
    meta.mtime = Timestamp { secs: T2, nanos: 0 };
    let content = (kind == FileKind::File).then(|| Content::bytes(data.to_vec()));
    o.create(path, meta, content).unwrap();
}

/// The changes of these tests, staged in the overlay over [`make_tree`]'s tree: a file added
/// to a directory, a new directory with a file, a file's data replaced, a file removed, a
/// set-uid file chmod'ed, a third name for a hard-linked file, a crowded directory moved.
fn stage(o: &Overlay) {
    object(
        o,
        "/dir/new.conf",
        FileKind::File,
        0o600,
        (1000, 100),
        b"new file\n",
    );
    object(o, "/newdir", FileKind::Dir, 0o750, (0, 0), b"");
    object(
        o,
        "/newdir/inner.txt",
        FileKind::File,
        0o644,
        (0, 0),
        b"inner\n",
    );
    o.set_content("/dir/sub/deep.txt", Content::bytes(b"replaced\n".to_vec()))
        .unwrap();
    o.remove("/dir/odd-size.bin").unwrap();
    o.change_meta("/bin/suid", |m| {
        m.mode = 0o4750;
        Ok(())
    })
    .unwrap();
    o.link("/hello.txt", "/dir/link2").unwrap();
    o.rename("/many", "/dir/moved").unwrap();
    for p in ["/newdir", "/dir/sub/deep.txt", "/dir"] {
        retime(o, p);
    }
}

/// The same changes made to a host copy of the tree.
fn apply(top: &Path) {
    let p = |s: &str| top.join(s).to_str().unwrap().to_string();
    std::fs::write(p("dir/new.conf"), "new file\n").unwrap();
    std::fs::create_dir(p("newdir")).unwrap();
    std::fs::write(p("newdir/inner.txt"), "inner\n").unwrap();
    std::fs::write(p("dir/sub/deep.txt"), "replaced\n").unwrap();
    std::fs::remove_file(p("dir/odd-size.bin")).unwrap();
    std::fs::hard_link(p("hello.txt"), p("dir/link2")).unwrap();
    std::fs::rename(p("many"), p("dir/moved")).unwrap();
    tool("chown", &["1000:100", &p("dir/new.conf")], None);
    for (mode, path) in [
        ("600", "dir/new.conf"),
        ("750", "newdir"),
        ("644", "newdir/inner.txt"),
        ("4750", "bin/suid"),
    ] {
        tool("chmod", &[mode, &p(path)], None);
    }
    let at = format!("@{T2}");
    for path in [
        "dir/new.conf",
        "newdir/inner.txt",
        "newdir",
        "dir/sub/deep.txt",
        "dir",
    ] {
        tool("touch", &["-h", "-d", &at, &p(path)], None);
    }
}

/// The source tree and, beside it, the expected tree after the changes.
fn trees(d: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (src, expected) = (d.join("tree"), d.join("expected"));
    make_tree(&src, KINDS);
    sh(&format!(
        "cp -a '{}' '{}'",
        src.display(),
        expected.display()
    ));
    apply(&expected);
    (src, expected)
}

/// Checks the rebuilt archive `image` (decoded by `decompress`) against the host tree
/// `expected`: GNU cpio lists it (new directories before their contents, the removed file
/// gone) and extracts it without complaint; its extraction and libarchive's together are the
/// expected tree (bytes, kinds, modes, owners, times, devices, hard links).
fn check(image: &Path, decompress: &str, expected: &Path, what: &str) {
    let listing = tool(
        "sh",
        &[
            "-c",
            &format!("{decompress} < '{}' | cpio -itv --quiet", image.display()),
        ],
        None,
    );
    let listing = String::from_utf8(listing).unwrap();
    let names: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    let at = |n: &str| {
        names
            .iter()
            .position(|x| *x == n)
            .unwrap_or_else(|| panic!("{what}: {n} not listed:\n{listing}"))
    };
    assert!(at("newdir") < at("newdir/inner.txt"), "{what}:\n{listing}");
    assert!(at("dir") < at("dir/new.conf"), "{what}:\n{listing}");
    assert!(!names.contains(&"dir/odd-size.bin"), "{what}:\n{listing}");
    assert!(
        at("dir/moved") < at("dir/moved/entry-with-a-long-name-00000.txt"),
        "{what}:\n{listing}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with("many")),
        "{what}:\n{listing}"
    );
    // The link count of the file with three names now, on each of them.
    for name in ["hello.txt", "dir/hard-link", "dir/link2"] {
        let line = listing
            .lines()
            .find(|l| l.ends_with(&format!(" {name}")) && !l.contains(" -> "))
            .unwrap();
        assert_eq!(line.split_whitespace().nth(1), Some("3"), "{what}: {line}");
    }
    let scratch = image.with_extension("x");
    let gnu = scratch.join("gnu");
    std::fs::create_dir_all(&gnu).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cd '{}' && {decompress} < '{}' | cpio --quiet -idmu --no-absolute-filenames",
            gnu.display(),
            image.display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs = scratch.join("libarchive");
    libarchive_extract(image, &theirs);
    assert_same(&snapshot(expected), &reference(&theirs, &gnu), what);
}

#[test]
fn every_format_is_written_again_with_the_changes() {
    let dir = scratch();
    let (src, expected) = trees(dir.path());
    for format in ["newc", "crc", "odc", "bin"] {
        let image = dir.path().join(format!("{format}.cpio"));
        archive(&src, format, "cat", &image);
        let new = dir.path().join(format!("{format}-new.cpio"));
        rebuild(&image, &stage, &new);
        check(&new, "cat", &expected, format);
        let b = std::fs::read(&new).unwrap();
        let magic: &[u8] = match format {
            "newc" => b"070701",
            "crc" => b"070702",
            "odc" => b"070707",
            // 070707 as a 16-bit word in the writer's byte order.
            _ => &[0xc7, 0x71],
        };
        assert!(b.starts_with(magic), "{format}");
        assert_eq!(b.len() % 512, 0, "{format}: GNU cpio's padding");
        // Nothing staged: the same bytes.
        let same = dir.path().join(format!("{format}-same.cpio"));
        rebuild(&image, &|_| {}, &same);
        assert!(
            std::fs::read(&image).unwrap() == std::fs::read(&same).unwrap(),
            "{format}"
        );
    }
}

/// `xz -lvv` of the xz file `path`, whose every check is CRC32 (the kernel's decoder knows no
/// other).
fn xz_info(path: &Path) -> String {
    let info = String::from_utf8(tool("xz", &["-lvv", path.to_str().unwrap()], None)).unwrap();
    let checks: Vec<&str> = info
        .lines()
        .filter(|l| l.trim_start().starts_with("Check:"))
        .collect();
    assert!(
        !checks.is_empty() && checks.iter().all(|l| l.contains("CRC32")),
        "{info}"
    );
    info
}

#[test]
fn every_compression_is_written_again_in_kind() {
    let dir = scratch();
    let (src, expected) = trees(dir.path());
    for (codec, compress, decompress) in CODECS.iter().filter(|c| c.0 != "none") {
        let image = dir.path().join(format!("{codec}.cpio"));
        archive(&src, "newc", compress, &image);
        let new = dir.path().join(format!("{codec}-new.cpio"));
        rebuild(&image, &stage, &new);
        check(&new, decompress, &expected, codec);
        let b = std::fs::read(&new).unwrap();
        let head = std::fs::read(&image).unwrap();
        assert_eq!(Codec::sniff(&b), Codec::sniff(&head), "{codec}");
        match *codec {
            "xz" => {
                xz_info(&new);
            }
            "lz4" => assert_eq!(&b[..4], &[0x02, 0x21, 0x4c, 0x18], "the legacy lz4 magic"),
            _ => {}
        }
    }
}

/// A Debian-style initrd: the early-microcode archive (uncompressed, GNU cpio's padding), then
/// the main archive compressed by `compress`.
fn initrd(d: &Path, compress: &str) -> (std::path::PathBuf, Vec<u8>) {
    tree_of(
        &d.join("early"),
        &[("kernel/x86/microcode/GenuineIntel.bin", "microcode\n")],
    );
    tree_of(
        &d.join("main"),
        &[
            ("init", "#!/bin/sh\n"),
            ("etc/motd", "main motd\n"),
            ("etc/old", "old\n"),
            ("usr/lib/x", "x\n"),
        ],
    );
    archive(&d.join("early"), "newc", "cat", &d.join("early.cpio"));
    archive(&d.join("main"), "newc", compress, &d.join("main.cpio"));
    let image = d.join("initrd.img");
    sh(&format!(
        "cd '{0}' && cat early.cpio main.cpio > '{1}'",
        d.display(),
        image.display()
    ));
    (image, std::fs::read(d.join("early.cpio")).unwrap())
}

#[test]
fn a_concatenated_initrd_keeps_its_early_part_first_and_as_it_was() {
    for (codec, compress, decompress) in [
        ("gzip", "gzip -9 -n", "gzip -dc"),
        ("zstd", "zstd -q", "zstd -dc"),
    ] {
        let dir = scratch();
        let d = dir.path();
        let (image, early) = initrd(d, compress);
        let new = d.join("new.img");
        rebuild(
            &image,
            &|o| {
                o.set_content("/etc/motd", Content::bytes(b"new motd\n".to_vec()))
                    .unwrap();
                o.remove("/etc/old").unwrap();
                object(o, "/etc/added", FileKind::File, 0o640, (0, 0), b"added\n");
                o.change_meta("/init", |m| {
                    m.mode = 0o700;
                    Ok(())
                })
                .unwrap();
            },
            &new,
        );
        let b = std::fs::read(&new).unwrap();
        assert!(
            b[..early.len()] == early[..],
            "{codec}: the early archive, byte for byte"
        );
        assert_eq!(
            Codec::sniff(&b[early.len()..]).map(|c| c.name()),
            Some(codec)
        );
        // The kernel's order: the early archive, then the main one over it.
        let gnu = d.join("gnu");
        cpio_extract(&d.join("early.cpio"), "cat", &gnu);
        let main = d.join("main-new");
        std::fs::write(&main, &b[early.len()..]).unwrap();
        cpio_extract(&main, decompress, &gnu);
        let expected = d.join("expected");
        for part in ["early", "main"] {
            sh(&format!(
                "cp -a '{}/.' '{}'",
                d.join(part).display(),
                expected.display()
            ));
        }
        std::fs::write(expected.join("etc/motd"), "new motd\n").unwrap();
        std::fs::remove_file(expected.join("etc/old")).unwrap();
        std::fs::write(expected.join("etc/added"), "added\n").unwrap();
        assert_eq!(contents(&expected), contents(&gnu), "{codec}");
        let mode = |p: &Path| {
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions())
                & 0o7777
        };
        assert_eq!(mode(&gnu.join("init")), 0o700, "{codec}");
        assert_eq!(mode(&gnu.join("etc/added")), 0o640, "{codec}");
        // A change in the early archive alone leaves the main stream as it was.
        let new_early = d.join("new-early.img");
        rebuild(
            &image,
            &|o| {
                o.set_content(
                    "/kernel/x86/microcode/GenuineIntel.bin",
                    Content::bytes(b"new microcode\n".to_vec()),
                )
                .unwrap()
            },
            &new_early,
        );
        let b = std::fs::read(&new_early).unwrap();
        let main_old = std::fs::read(d.join("main.cpio")).unwrap();
        assert!(
            b.ends_with(&main_old),
            "{codec}: the main stream, byte for byte"
        );
        let rest = &b[..b.len() - main_old.len()];
        assert!(rest.windows(14).any(|w| w == b"new microcode\n"), "{codec}");
        assert_eq!(rest.len() % 512, 0, "{codec}");
    }
}

#[test]
fn the_level_follows_the_original_or_the_option() {
    let dir = scratch();
    let d = dir.path();
    tree_of(&d.join("t"), &[("a", "a\n")]);
    let change = |o: &Overlay| {
        o.set_content("/a", Content::bytes(b"b\n".to_vec()))
            .unwrap()
    };
    let head = |compress: &str, options: &str| {
        let image = d.join("in.cpio");
        archive(&d.join("t"), "newc", compress, &image);
        let new = d.join("out.cpio");
        rebuild_with(&image, options, &change, &new)
            .map(|()| std::fs::read(&new).unwrap()[..10].to_vec())
    };
    assert_eq!(&head("bzip2 -4", "").unwrap()[..4], b"BZh4");
    assert_eq!(&head("bzip2 -4", "level=1").unwrap()[..4], b"BZh1");
    // gzip's XFL byte: 2 after -9, 4 after -1.
    assert_eq!(head("gzip -9", "").unwrap()[8], 2);
    assert_eq!(head("gzip -1", "").unwrap()[8], 4);
    assert_eq!(head("gzip -9", "level=1").unwrap()[8], 4);
    let err = head("gzip", "level=99").unwrap_err().to_string();
    assert!(err.contains("level 99"), "{err}");
}

#[test]
fn the_encoders_decode_with_the_tools() {
    let dir = scratch();
    let data = noise(3 << 20, 5);
    let src = MemSource::new(data.clone(), "noise");
    for (codec, decompress) in [
        (Codec::Gzip, "gzip -dc"),
        (Codec::Xz, "xz -dc"),
        (Codec::Lzma, "lzma -dc"),
        (Codec::Zstd, "zstd -dc"),
        (Codec::Lz4Legacy, "lz4 -dc"),
        (Codec::Bzip2, "bzip2 -dc"),
    ] {
        let path = dir.path().join(codec.name());
        let mut file = std::fs::File::create(&path).unwrap();
        encode::encode(codec, &src, None, &mut file).unwrap();
        drop(file);
        let back = tool(
            "sh",
            &["-c", &format!("{decompress} < '{}'", path.display())],
            None,
        );
        assert!(back == data, "{}", codec.name());
    }
}

/// Data long enough for the encoders to take every core: gzip in 1 MiB blocks joined into one
/// member, xz at level 0 in 768 KiB blocks (each with its CRC32 check, as the kernel's
/// decoder needs), zstd's workers past 8 MiB.
#[test]
fn the_threaded_encoders_decode_with_the_tools() {
    let dir = scratch();
    let data = noise(9 << 20, 11);
    let src = MemSource::new(data.clone(), "noise");
    for (codec, level, decompress) in [
        (Codec::Gzip, 6, "gzip -dc"),
        (Codec::Xz, 0, "xz -dc"),
        (Codec::Zstd, 3, "zstd -dc"),
    ] {
        let path = dir.path().join(codec.name());
        let mut file = std::fs::File::create(&path).unwrap();
        encode::encode(codec, &src, Some(level), &mut file).unwrap();
        drop(file);
        let p = path.to_str().unwrap();
        let back = tool("sh", &["-c", &format!("{decompress} < '{p}'")], None);
        assert!(back == data, "{}", codec.name());
        match codec {
            Codec::Gzip => one_gzip_member(&path),
            Codec::Xz => {
                let info = xz_info(&path);
                let blocks: u32 = info
                    .lines()
                    .find_map(|l| l.trim_start().strip_prefix("Blocks:"))
                    .and_then(|n| n.trim().parse().ok())
                    .unwrap_or(0);
                assert!(blocks > 1, "{info}");
            }
            _ => {}
        }
    }
}

#[test]
fn a_removed_path_leaves_every_part_that_had_it() {
    let dir = scratch();
    let d = dir.path();
    tree_of(&d.join("a"), &[("etc/shared", "early\n"), ("etc/a", "a\n")]);
    tree_of(&d.join("b"), &[("etc/shared", "main\n"), ("etc/b", "b\n")]);
    archive(&d.join("a"), "newc", "cat", &d.join("a.cpio"));
    archive(&d.join("b"), "newc", "xz --check=crc32", &d.join("b.cpio"));
    let image = d.join("initrd.img");
    sh(&format!(
        "cd '{0}' && cat a.cpio b.cpio > '{1}'",
        d.display(),
        image.display()
    ));
    let new = d.join("new.img");
    rebuild(&image, &|o| o.remove("/etc/shared").unwrap(), &new);
    let b = std::fs::read(&new).unwrap();
    // The first part ends with GNU cpio's padding, where the xz stream starts.
    let xz = b.windows(6).position(|w| w == b"\xfd7zXZ\0").unwrap();
    std::fs::write(d.join("1"), &b[..xz]).unwrap();
    std::fs::write(d.join("2"), &b[xz..]).unwrap();
    let gnu = d.join("gnu");
    cpio_extract(&d.join("1"), "cat", &gnu);
    cpio_extract(&d.join("2"), "xz -dc", &gnu);
    let names: Vec<String> = contents(&gnu).into_iter().map(|c| c.0).collect();
    assert_eq!(names, ["etc", "etc/a", "etc/b"]);
}
