//! cpio archives made by GNU cpio (newc, crc, odc, bin), plain and compressed by every tool an
//! initrd uses (gzip, xz, lzma, zstd, lz4 -l, bzip2), read by isofish exactly as `cpio -idm`
//! extracts them; initrds of several archives read as the kernel unpacks them (later members
//! win); hostile archives (sizes past the end, `..` names, decompression bombs) refused or
//! contained.

use std::path::Path;

use crate::common::{isofish, scratch, tool};
use crate::host_tree::{assert_same, snapshot, Tree};
use crate::hostile_left_out::{reads_but_for, Damaged};
use crate::nested_util::{extract, make_tree, run, run_err, Kinds};

const KINDS: Kinds = Kinds {
    special: true,
    hard_links: true,
    owners: true,
    many: 60,
    large: 300_000,
};

/// (name, compress command, decompress command); `cat` for none.
const CODECS: &[(&str, &str, &str)] = &[
    ("none", "cat", "cat"),
    ("gzip", "gzip -9 -n", "gzip -dc"),
    ("xz", "xz --check=crc32", "xz -dc"),
    ("lzma", "xz --format=lzma", "xz -dc --format=lzma"),
    ("zstd", "zstd -q -19", "zstd -dc"),
    ("lz4", "lz4 -l -q", "lz4 -dc"),
    ("bzip2", "bzip2 -9", "bzip2 -dc"),
];

pub fn sh(script: &str) {
    tool("sh", &["-c", script], None);
}

/// `cpio -o -H format` of `tree`, through `compress`, into `out`.
fn archive(tree: &Path, format: &str, compress: &str, out: &Path) {
    sh(&format!(
        "cd '{}' && find . | LC_ALL=C sort | cpio --quiet -o -H {format} | {compress} > '{}'",
        tree.display(),
        out.display()
    ));
}

/// What GNU cpio extracts from `image` (decompressed with `decompress`) into `dir`. It does
/// not restore the times of directories and symlinks: [`libarchive_extract`] does.
pub fn cpio_extract(image: &Path, decompress: &str, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    sh(&format!(
        "cd '{}' && {decompress} < '{}' | cpio --quiet -idmu --no-absolute-filenames",
        dir.display(),
        image.display()
    ));
}

/// The archive read by libarchive (which decompresses by itself), rewritten as a tar and
/// extracted by GNU tar into `dir`: every time, owner and mode restored.
pub fn libarchive_extract(image: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    sh(&format!(
        "bsdtar -cf - --format=pax '@{}' | tar -xpf - --numeric-owner -C '{}'",
        image.display(),
        dir.display()
    ));
}

/// Kinds and bytes only: what GNU cpio restores faithfully.
fn contents(top: &Path) -> Vec<(String, char, Vec<u8>)> {
    snapshot(top)
        .nodes
        .into_iter()
        .map(|(k, n)| (k, n.kind, n.data))
        .collect()
}

/// The reference: times, owners and modes from libarchive's extraction (`meta`), bytes and
/// hard links from GNU cpio's (`data`); libarchive loses the data of newc hard links, whose
/// bytes travel with the last link.
pub fn reference(meta: &Path, data: &Path) -> Tree {
    let mut tree = snapshot(meta);
    let gnu = snapshot(data);
    for (path, node) in &mut tree.nodes {
        let g = &gnu.nodes[path];
        assert_eq!(
            node.kind, g.kind,
            "{path}: libarchive and GNU cpio disagree"
        );
        node.data = g.data.clone();
    }
    tree.links = gnu.links;
    tree
}

#[test]
fn every_format_and_compression_reads_as_cpio_extracts() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, KINDS);
    for format in ["newc", "crc", "odc", "bin"] {
        for (codec, compress, decompress) in CODECS {
            let what = format!("{format}+{codec}");
            let image = dir.path().join(format!("{what}.cpio"));
            archive(&tree, format, compress, &image);
            let gnu = dir.path().join(format!("{what}-cpio"));
            cpio_extract(&image, decompress, &gnu);
            let theirs = dir.path().join(format!("{what}-libarchive"));
            libarchive_extract(&image, &theirs);
            let ours = dir.path().join(format!("{what}-isofish"));
            extract(&image, &[], "/", &ours);
            let expected = reference(&theirs, &gnu);
            assert!(expected.nodes.contains_key("dev/null"), "{what}");
            assert!(!expected.links.is_empty(), "{what}");
            assert_same(&expected, &snapshot(&ours), &what);
            let mounts = String::from_utf8(run(&image, &["mounts"])).unwrap();
            let detail = match *codec {
                "none" => format!("cpio, {format}"),
                c => format!("cpio, {format}, {c} decoded on demand"),
            };
            assert_eq!(mounts, format!("/dev/sda on / ({detail})\n"), "{what}");
        }
    }
}

/// Writes the files `(path, content)` under a new directory `top`, times pinned.
fn tree_of(top: &Path, files: &[(&str, &str)]) {
    for (p, content) in files {
        let path = top.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    sh(&format!(
        "find '{}' -exec touch -h -d '2023-11-14 22:13:20 UTC' {{}} +",
        top.display()
    ));
}

#[test]
fn a_concatenated_initrd_reads_as_the_kernel_unpacks_it() {
    let dir = scratch();
    let d = dir.path();
    tree_of(
        &d.join("early"),
        &[
            ("kernel/x86/microcode/GenuineIntel.bin", "microcode\n"),
            ("etc/motd", "early motd\n"),
            ("etc/only-early", "kept\n"),
        ],
    );
    tree_of(
        &d.join("main"),
        &[("init", "#!/bin/sh\n"), ("etc/motd", "main motd\n")],
    );
    tree_of(
        &d.join("late"),
        &[("etc/motd", "late motd\n"), ("usr/lib/x", "x\n")],
    );
    let initrd = d.join("initrd.img");
    archive(&d.join("early"), "newc", "cat", &d.join("1"));
    archive(&d.join("main"), "newc", "zstd -q", &d.join("2"));
    archive(&d.join("late"), "newc", "xz --check=crc32", &d.join("3"));
    // Early archive, zero padding to a 512-byte boundary and beyond, then the compressed ones.
    sh(&format!(
        "cd '{0}' && {{ cat 1; head -c $((1024 - $(stat -c %s 1) % 512)) /dev/zero; cat 2 3; }} > '{1}'",
        d.display(),
        initrd.display()
    ));
    // The kernel's order: each archive unpacked over the previous ones.
    let theirs = d.join("theirs");
    let gnu = d.join("gnu");
    for (part, decompress) in [("1", "cat"), ("2", "zstd -dc"), ("3", "xz -dc")] {
        libarchive_extract(&d.join(part), &theirs);
        cpio_extract(&d.join(part), decompress, &gnu);
    }
    let ours = d.join("ours");
    extract(&initrd, &[], "/", &ours);
    let expected = reference(&theirs, &gnu);
    assert_eq!(expected.nodes["etc/motd"].data, b"late motd\n");
    assert_same(&expected, &snapshot(&ours), "initrd");
    assert_eq!(
        contents(&gnu),
        contents(&ours),
        "initrd: GNU cpio's extraction"
    );
    let mounts = String::from_utf8(run(&initrd, &["mounts"])).unwrap();
    assert_eq!(
        mounts,
        "/dev/sda on / (cpio, newc, zstd decoded on demand, xz decoded on demand)\n"
    );
}

#[test]
fn sizes_past_the_end_are_refused() {
    let dir = scratch();
    let image = dir.path().join("huge.cpio");
    let mut header = String::from("070701");
    // ino mode uid gid nlink mtime filesize devmaj devmin rmaj rmin namesize check
    for field in [1, 0o100644, 0, 0, 1, 0, 0xffff_ffffu32, 0, 0, 0, 0, 2, 0] {
        header.push_str(&format!("{field:08x}"));
    }
    let mut bytes = header.into_bytes();
    bytes.extend_from_slice(b"f\0");
    bytes.extend_from_slice(b"some data");
    std::fs::write(&image, &bytes).unwrap();
    let err = run_err(&image, &["ls", "/"]);
    assert!(
        err.contains("corrupt cpio header at offset 0") && err.contains("4294967295 bytes"),
        "{err}"
    );
}

#[test]
fn dot_dot_names_are_left_out() {
    let dir = scratch();
    let d = dir.path();
    tree_of(&d.join("top/in"), &[("safe", "safe\n")]);
    tree_of(&d.join("top"), &[("evil", "evil\n")]);
    let image = d.join("evil.cpio");
    sh(&format!(
        "cd '{}/top/in' && printf 'safe\\n../evil\\n' | cpio --quiet -o -H newc > '{}'",
        d.display(),
        image.display()
    ));
    // The policy of every format (see hostile_left_out): left out with a warning naming the
    // member's header (110 bytes of newc before the name), the rest read, exit status 1.
    let bytes = std::fs::read(&image).unwrap();
    let name = bytes.windows(7).position(|w| w == b"../evil").unwrap();
    let listed = tool(
        "sh",
        &["-c", &format!("cpio --quiet -t < '{}'", image.display())],
        None,
    );
    reads_but_for(&Damaged {
        image: &image,
        options: "",
        tree: String::from_utf8(listed)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect(),
        gone: "../evil",
        structure: "cpio header",
        offset: (name - 110) as u64,
        shown: "../evil",
        kept: ("safe", b"safe\n".to_vec()),
    });
}

/// The MD5 of `n` zero bytes, as md5sum says it.
pub fn zeros_md5(n: u64) -> String {
    let out = tool(
        "sh",
        &["-c", &format!("head -c {n} /dev/zero | md5sum")],
        None,
    );
    let out = String::from_utf8(out).unwrap();
    out.split_whitespace().next().unwrap().to_string()
}

/// An ISO (xorriso) holding `image` at its top, beside it as `drive.iso`.
pub fn drive_holding(image: &Path) -> std::path::PathBuf {
    let drive = image.with_file_name("drive.iso");
    tool(
        "xorriso",
        &[
            "-as",
            "mkisofs",
            "-quiet",
            "-o",
            drive.to_str().unwrap(),
            image.to_str().unwrap(),
        ],
        None,
    );
    drive
}

#[test]
fn decompression_is_bounded() {
    let dir = scratch();
    let d = dir.path();
    // 64 MiB of zeros gzip to about 64 KiB.
    let image = d.join("bomb.cpio.gz");
    std::fs::create_dir(d.join("b")).unwrap();
    sh(&format!(
        "cd '{0}/b' && head -c 67108864 /dev/zero > zeros && echo zeros | cpio --quiet -o -H newc | gzip > '{1}'",
        d.display(),
        image.display()
    ));
    assert!(std::fs::metadata(&image).unwrap().len() < 1 << 20);
    let drive = drive_holding(&image);
    // Under a 16 MiB limit the member is listed, its data reads up to the limit, and the
    // mount says what it left out.
    let out = isofish()
        .args(["--ro", "-a"])
        .arg(&drive)
        .args([
            "mount-loop",
            "/bomb.cpio.gz",
            "/b",
            "limit=16M",
            ":",
            "ls",
            "/b",
            ":",
            "info",
            "/b",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert!(stdout.starts_with("zeros\n"), "{stdout}");
    assert!(
        stderr.contains("the data of zeros passes the limit of 16777216 decoded bytes"),
        "{stderr}"
    );
    assert!(stdout.contains("Left out"), "{stdout}");
    let err = run_err(
        &drive,
        &[
            "mount-loop",
            "/bomb.cpio.gz",
            "/b",
            "limit=16M",
            ":",
            "checksum",
            "md5",
            "/b/zeros",
        ],
    );
    assert!(
        err.contains("more than the limit of 16777216 bytes"),
        "{err}"
    );
    // With the checkpoints capped at 1 MiB the whole file reads, and `info` says the cap.
    let out = String::from_utf8(run(
        &drive,
        &[
            "mount-loop",
            "/bomb.cpio.gz",
            "/b",
            "memory=1M",
            ":",
            "mounts",
            ":",
            "checksum",
            "md5",
            "/b/zeros",
            ":",
            "info",
            "/b",
        ],
    ))
    .unwrap();
    let expected = format!(
        "/dev/sda on / (iso9660)\n/bomb.cpio.gz on /b (cpio, newc, gzip decoded on demand, memory=1M)\n{}\n",
        zeros_md5(67108864)
    );
    assert!(out.starts_with(&expected), "{out}");
    assert!(out.contains("checkpoints ("), "{out}");
    assert!(out.contains("of the 1048576-byte cap"), "{out}");
}

/// An lzma header asking for a 2 GiB dictionary (as a fuzzer found): refused by the decoder's
/// memory limit, as `xz --memlimit-decompress` refuses it, never allocated.
#[test]
fn a_huge_lzma_dictionary_is_refused_not_allocated() {
    let dir = scratch();
    let d = dir.path();
    // Properties, dictionary size (LE), unknown uncompressed size, then anything.
    let mut bomb = vec![0x5d, 0, 0, 0, 0x80];
    bomb.extend([0xff; 8]);
    bomb.resize(120, 0);
    let image = d.join("bomb.lzma");
    std::fs::write(&image, &bomb).unwrap();
    let xz = std::process::Command::new("xz")
        .args(["-dc", "--format=lzma", "--memlimit-decompress=256MiB"])
        .arg(&image)
        .output()
        .unwrap();
    assert!(!xz.status.success());
    assert!(String::from_utf8_lossy(&xz.stderr).contains("Memory usage limit"));
    let drive = drive_holding(&image);
    let err = run_err(&drive, &["mount-loop", "/bomb.lzma", "/b"]);
    assert!(
        err.contains("bomb.lzma") && err.contains("memory limit"),
        "{err}"
    );
}

#[test]
fn bytes_after_the_last_archive_are_left_unread() {
    let dir = scratch();
    let d = dir.path();
    tree_of(&d.join("t"), &[("etc/motd", "kept\n")]);
    let plain = d.join("plain.img");
    archive(&d.join("t"), "newc", "gzip -n", &plain);
    // An appended signature blob, as some distributions append to their initrds.
    let image = d.join("signed.img");
    sh(&format!(
        "cat '{}' > '{1}' && printf '~Module signature appended~\\n' >> '{1}'",
        plain.display(),
        image.display()
    ));
    let theirs = d.join("theirs");
    cpio_extract(&plain, "gzip -dc", &theirs);
    assert_eq!(
        run(&image, &["cat", "/etc/motd"]),
        std::fs::read(theirs.join("etc/motd")).unwrap()
    );
}
