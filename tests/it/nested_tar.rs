//! tar archives made by GNU tar (v7, ustar, gnu, oldgnu, pax; long names past 100 and 255
//! bytes, hard links, symlinks, devices, sparse files in every GNU sparse format) and bsdtar,
//! plain and compressed (gzip, xz, zstd, bzip2, compress, lzip), read by isofish exactly as
//! GNU tar extracts them and listed as `tar -t` lists them; mounted from inside an ISO with
//! mount-loop; hostile archives (`..` and absolute names, truncated data) contained.

use std::path::Path;

use crate::common::{isofish, scratch, tool};
use crate::host_tree::{assert_same, snapshot};
use crate::nested_cpio::drive_holding;
use crate::nested_util::{extract, make_tree, run, run_err, write, Kinds};

/// (name, compress command); `cat` for none.
const CODECS: &[(&str, &str)] = &[
    ("none", "cat"),
    ("gzip", "gzip -9 -n"),
    ("xz", "xz --check=crc32"),
    ("zstd", "zstd -q"),
    ("bzip2", "bzip2"),
    ("compress", "compress -c"),
    ("lzip", "lzip -c"),
];

fn sh(script: &str) -> Vec<u8> {
    tool("sh", &["-c", script], None)
}

/// A tree for `format`: what it can record (v7 no devices, v7 and ustar no long names), a
/// long-named file past 100 and 255 bytes (ustar: past 100 in its prefix and name fields),
/// and a sparse file of 3 MiB with two islands.
fn tree(top: &Path, format: &str) {
    let long = matches!(format, "gnu" | "oldgnu" | "pax" | "bsdtar");
    make_tree(
        top,
        Kinds {
            special: format != "v7",
            hard_links: true,
            owners: true,
            many: 30,
            large: 200_000,
        },
    );
    if long {
        let dir = "d".repeat(120);
        write(&top.join(&dir).join("n".repeat(150)), b"a long name\n");
    } else {
        std::fs::remove_file(top.join("slow-link")).unwrap();
    }
    if format == "ustar" {
        // Past 100 bytes: the name is split into ustar's prefix and name fields.
        write(
            &top.join("p".repeat(120)).join("q".repeat(90)),
            b"prefixed\n",
        );
    }
    let sparse = top.join("sparse.img");
    sh(&format!(
        "truncate -s 3M '{0}' && printf island | dd of='{0}' bs=1 seek=1000000 conv=notrunc status=none \
         && printf end | dd of='{0}' bs=1 seek=3145000 conv=notrunc status=none",
        sparse.display()
    ));
    sh(&format!(
        "find '{}' -exec touch -h -d '2023-11-14 22:13:20 UTC' {{}} +",
        top.display()
    ));
}

/// GNU tar's (or bsdtar's) archive of `top` in `format`, through `compress`, into `out`.
fn archive(top: &Path, format: &str, extra: &str, compress: &str, out: &Path) {
    let maker = match format {
        "bsdtar" => "bsdtar -cf - --format=pax".to_string(),
        f => format!("tar -cf - --format={f} {extra}"),
    };
    sh(&format!(
        "cd '{}' && {maker} . | {compress} > '{}'",
        top.display(),
        out.display()
    ));
}

/// What GNU tar (or `tool`, bsdtar) extracts from `image` into `dir` (it decompresses by
/// itself).
fn extract_with(tool: &str, image: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    sh(&format!(
        "{tool} -xpf '{}' --numeric-owner -C '{}'",
        image.display(),
        dir.display()
    ));
}

fn gnu_extract(image: &Path, dir: &Path) {
    extract_with("tar", image, dir);
}

/// The names of a verbose listing (`tar -tv`, `dpkg-deb -c`: the name is the sixth word),
/// without `./` and trailing slashes, under `prefix` (`DEBIAN/`), sorted.
pub fn listed_names(listing: &[u8], prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = String::from_utf8_lossy(listing)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|n| format!("{prefix}{}", n.trim_start_matches("./")))
        .map(|n| n.trim_end_matches('/').to_string())
        .filter(|n| !n.is_empty() && n != ".")
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `tar -tvf`'s names.
fn tar_listing(image: &Path) -> Vec<String> {
    listed_names(&sh(&format!("tar -tvf '{}'", image.display())), "")
}

fn find(image: &Path, pre: &[&str], dir: &str) -> Vec<String> {
    let mut words: Vec<&str> = pre.to_vec();
    words.extend(["find", dir]);
    let out = String::from_utf8(run(image, &words)).unwrap();
    let mut names: Vec<String> = out.lines().map(str::to_string).collect();
    names.sort();
    names
}

/// Checks isofish's reading of `image` against `tool`'s (GNU tar or bsdtar): the tree
/// extracted, the listing, and `cat` of the sparse file.
fn check(tool: &str, image: &Path, what: &str) {
    let dir = image.with_extension("out");
    let theirs = dir.join("theirs");
    extract_with(tool, image, &theirs);
    let ours = dir.join("ours");
    extract(image, &[], "/", &ours);
    let expected = snapshot(&theirs);
    assert!(expected.nodes.contains_key("sparse.img"), "{what}");
    assert!(!expected.links.is_empty(), "{what}");
    assert_same(&expected, &snapshot(&ours), what);
    assert_eq!(find(image, &[], "/"), tar_listing(image), "{what}: listing");
    assert_eq!(
        run(image, &["cat", "/sparse.img"]),
        std::fs::read(theirs.join("sparse.img")).unwrap(),
        "{what}: cat"
    );
}

#[test]
fn every_gnu_format_reads_as_gnu_tar_extracts() {
    let dir = scratch();
    for (format, extra) in [
        ("v7", ""),
        ("ustar", ""),
        ("gnu", "--sparse"),
        ("oldgnu", "--sparse"),
        ("pax", "--sparse --sparse-version=0.0"),
        ("pax", "--sparse --sparse-version=0.1"),
        ("pax", "--sparse --sparse-version=1.0"),
        ("bsdtar", ""),
    ] {
        let what = format!("{format} {extra}");
        let name = what.replace([' ', '=', '-'], "_");
        let top = dir.path().join(&name).join("tree");
        tree(&top, format);
        let image = dir.path().join(format!("{name}.tar"));
        archive(&top, format, extra, "cat", &image);
        // GNU tar leaves the times of directories of bsdtar's archives unset: bsdtar is the
        // reference there.
        let reference = if format == "bsdtar" { "bsdtar" } else { "tar" };
        check(reference, &image, &what);
    }
}

#[test]
fn every_compression_reads_as_gnu_tar_extracts() {
    let dir = scratch();
    let top = dir.path().join("tree");
    tree(&top, "pax");
    for (codec, compress) in CODECS {
        let image = dir.path().join(format!("{codec}.tar"));
        archive(&top, "pax", "--sparse", compress, &image);
        check("tar", &image, codec);
        let mounts = String::from_utf8(run(&image, &["mounts"])).unwrap();
        let detail = match *codec {
            "none" => "tar, ustar, pax".to_string(),
            c => format!("tar, ustar, pax, {c} decoded on demand"),
        };
        assert_eq!(mounts, format!("/dev/sda on / ({detail})\n"), "{codec}");
    }
}

#[test]
fn a_tarball_inside_an_iso_mounts_with_mount_loop() {
    let dir = scratch();
    let top = dir.path().join("tree");
    tree(&top, "gnu");
    let image = dir.path().join("t.tar.gz");
    archive(&top, "gnu", "--sparse", "gzip -n", &image);
    let drive = drive_holding(&image);
    let said = String::from_utf8(run(&drive, &["vfs-type", "/t.tar.gz"])).unwrap();
    assert_eq!(said, "tar (gzip)\n");
    let listed = find(&drive, &["mount-loop", "/t.tar.gz", "/t", ":"], "/t");
    // `find` names what is below its directory, as `tar -t` does.
    assert_eq!(listed, tar_listing(&image));
    // copy-out of one member, byte for byte as GNU tar extracts it.
    let theirs = dir.path().join("theirs");
    gnu_extract(&image, &theirs);
    let out = dir.path().join("copied");
    std::fs::create_dir(&out).unwrap();
    run(
        &drive,
        &[
            "mount-loop",
            "/t.tar.gz",
            "/t",
            ":",
            "copy-out",
            "/t/dir/large.bin",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read(out.join("large.bin")).unwrap(),
        std::fs::read(theirs.join("dir/large.bin")).unwrap()
    );
}

#[test]
fn unsafe_names_are_left_out_and_the_rest_reads() {
    let dir = scratch();
    let d = dir.path();
    write(&d.join("in/safe"), b"safe\n");
    write(&d.join("evil"), b"evil\n");
    let image = d.join("evil.tar");
    // -P keeps `..` and the absolute name as given.
    sh(&format!(
        "cd '{0}/in' && tar -cPf '{1}' safe ../evil '{0}/evil'",
        d.display(),
        image.display()
    ));
    let out = isofish()
        .args(["--ro", "-a"])
        .arg(&image)
        .args(["find", "/", ":", "cat", "/safe"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "safe\nsafe\n");
    let stderr = String::from_utf8(out.stderr).unwrap();
    // GNU tar writes each member as a header and one block of data.
    assert!(
        stderr.contains("tar header at offset 1024: entry \"../evil\" left out"),
        "{stderr}"
    );
    assert!(stderr.contains("tar header at offset 2048"), "{stderr}");
}

#[test]
fn truncated_data_and_bad_checksums_are_refused() {
    let dir = scratch();
    let d = dir.path();
    write(&d.join("t/a"), &vec![b'a'; 3000]);
    write(&d.join("t/b"), b"b\n");
    let full = d.join("full.tar");
    sh(&format!(
        "cd '{}/t' && tar -cf '{}' a b",
        d.display(),
        full.display()
    ));
    let bytes = std::fs::read(&full).unwrap();
    let cut = d.join("cut.tar");
    std::fs::write(&cut, &bytes[..2048]).unwrap();
    let err = run_err(&cut, &["ls", "/"]);
    assert!(
        err.contains("corrupt tar header at offset 0")
            && err.contains("claims 3000 bytes of data, but the archive ends at 2048"),
        "{err}"
    );
    let mut bad = bytes.clone();
    // The second header (after 512 + 3072 bytes): one byte of its name changed.
    bad[3584] ^= 1;
    let image = d.join("bad.tar");
    std::fs::write(&image, &bad).unwrap();
    let err = run_err(&image, &["ls", "/"]);
    assert!(
        err.contains("corrupt tar header at offset 3584") && err.contains("checksum"),
        "{err}"
    );
}
