//! Commits on pure UDF images (mkudffs volumes, no ISO 9660): the edits staged in the UDF
//! tree written by the UDF writer, held against 7z (listing and bytes), udfinfo (revision,
//! block size, integrity counts), udfclient and isofish's own reading; the revision, the
//! partition kind (type 1, the metadata partition) kept, sparable and VAT volumes written as
//! type 1 with a warning; a file over 4 GiB one file; what UDF cannot record refused when
//! staged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{isofish, run_ro, scratch, tool};
use crate::udf_helpers::{assert_matches_7z, big, seven_zip_list, udfclient_list, udfinfo};

const XML: &str = "<unattend>isofish</unattend>";

/// Copies `image` into `dir` (commits never touch the fixtures).
fn copy(image: &Path, dir: &Path) -> PathBuf {
    let to = dir.join("in.img");
    std::fs::copy(image, &to).expect("copy");
    to
}

/// Runs `isofish -a IMAGE ARGS`, which must succeed; returns its stderr.
fn run(image: &Path, args: &[&str]) -> String {
    let out = isofish().arg("-a").arg(image).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "isofish {args:?}: {err}");
    err
}

/// What udfinfo must say of a volume 7z lists as `listed`: its files and directories (the
/// root too) counted by the integrity descriptor, closed.
fn assert_counts(image: &Path, listed: &BTreeMap<String, crate::udf_helpers::SevenZip>) {
    let info = udfinfo(image);
    let dirs = listed.values().filter(|e| e.dir).count() + 1;
    let files = listed.len() + 1 - dirs;
    assert_eq!(info["numfiles"], files.to_string(), "{info:?}");
    assert_eq!(info["numdirs"], dirs.to_string(), "{info:?}");
    assert_eq!(info["integrity"], "closed");
}

/// Stages an `autounattend.xml`, a new directory, a replaced file and a removal in a copy of
/// `name` (a populated volume when `populated`), commits to a new file and checks it.
fn edit_and_check(name: &str, populated: bool) {
    let dir = scratch();
    let original = big(name);
    let image = copy(&original, dir.path());
    let out = dir.path().join("out.img");
    let mut args = vec!["write", "/autounattend.xml", XML, ":", "mkdir", "/nd"];
    if populated {
        args.extend([
            ":",
            "rm",
            "/zero.bin",
            ":",
            "write",
            "/docs/deep/er/leaf.txt",
            "new leaf",
        ]);
    }
    args.extend([":", "commit", out.to_str().unwrap()]);
    run(&image, &args);

    // 7z reads no strategy 4096 volume: the original's tree is isofish's.
    let old = crate::udf_helpers::walk(crate::udf_helpers::open(&original, "").as_ref());
    let after = seven_zip_list(&out);
    let mut want: Vec<&str> = old.keys().map(String::as_str).collect();
    want.extend(["autounattend.xml", "nd"]);
    if populated {
        want.push("docs/deep/er/leaf.txt");
    }
    want.retain(|p| *p != "zero.bin");
    want.sort_unstable();
    want.dedup();
    assert_eq!(
        after.keys().map(String::as_str).collect::<Vec<_>>(),
        want,
        "{name}"
    );
    // isofish reads what 7z reads, byte for byte; the unchanged files kept theirs.
    let seen = assert_matches_7z(&out, "");
    assert_eq!(
        seen["autounattend.xml"].data.as_deref(),
        Some(XML.as_bytes())
    );
    for (path, s) in &old {
        if path == "zero.bin" || path == "docs/deep/er/leaf.txt" {
            continue;
        }
        assert_eq!(seen[path].data, s.data, "{name}: {path}");
        if !s.meta.is_dir() {
            assert_eq!(seen[path].meta.mtime, s.meta.mtime, "{name}: {path}");
        }
    }
    if populated {
        assert_eq!(
            seen["docs/deep/er/leaf.txt"].data.as_deref(),
            Some(&b"new leaf"[..])
        );
    }
    let (a, b) = (udfinfo(&original), udfinfo(&out));
    for key in [
        "udfrev",
        "blocksize",
        "label",
        "lvid",
        "vid",
        "vsid",
        "blocks",
    ] {
        assert_eq!(a.get(key), b.get(key), "{name}: udfinfo {key}");
    }
    assert_counts(&out, &after);
}

#[test]
fn pure_udf_edits_commit_at_each_revision() {
    for name in ["mkudffs-102.img", "mkudffs-150.img", "mkudffs-201.img"] {
        edit_and_check(name, true);
    }
}

#[test]
fn pure_udf_edits_keep_entry_kinds_block_sizes_and_strategy() {
    for name in ["mkudffs-201-noefe.img", "mkudffs-201-s4096.img"] {
        edit_and_check(name, true);
    }
    edit_and_check("mkudffs-201-b512.img", false);
}

#[test]
fn udfclient_reads_the_new_tree() {
    let dir = scratch();
    let image = copy(&big("mkudffs-201.img"), dir.path());
    let out = dir.path().join("out.img");
    run(
        &image,
        &[
            "write",
            "/autounattend.xml",
            XML,
            ":",
            "chmod",
            "0600",
            "/hello.txt",
            ":",
            "commit",
            out.to_str().unwrap(),
        ],
    );
    let listed = udfclient_list(&out, 2048, &["", "docs"]);
    let (mode, _, _, size) = &listed["autounattend.xml"];
    assert_eq!(*size, XML.len() as u64);
    assert!(mode.starts_with('-'), "{mode}");
    assert_eq!(listed["hello.txt"].0, "-rw-------", "{listed:?}");
    assert!(listed.contains_key("docs/deep"), "{listed:?}");
}

#[test]
fn a_rewrite_without_changes_lists_the_same() {
    let dir = scratch();
    let original = big("mkudffs-201.img");
    let image = copy(&original, dir.path());
    let out = dir.path().join("out.img");
    run(&image, &["commit", out.to_str().unwrap()]);
    assert_eq!(seven_zip_list(&out), seven_zip_list(&original));
    assert_matches_7z(&out, "");
    assert_eq!(udfinfo(&out)["numfiles"], udfinfo(&original)["numfiles"]);
}

#[test]
fn sparable_and_vat_volumes_are_written_as_type_1_with_a_warning() {
    for (name, kind) in [
        ("mkudffs-150-cdrw.img", "sparable"),
        ("mkudffs-201-cdr.img", "virtual (VAT)"),
    ] {
        let dir = scratch();
        let image = copy(&big(name), dir.path());
        let out = dir.path().join("out.img");
        let err = run(
            &image,
            &["write", "/a.txt", "a", ":", "commit", out.to_str().unwrap()],
        );
        assert!(
            err.contains(&format!(
                "its {kind} partition is written as a type 1 partition"
            )),
            "{err}"
        );
        assert_matches_7z(&out, "");
        let info = String::from_utf8(run_ro(&out, &["info", "/dev/sda"])).unwrap();
        assert!(info.contains("type 1, partition"), "{info}");
        assert!(!info.contains("Partition map 1"), "{info}");
        assert_eq!(udfinfo(&out)["udfrev"], udfinfo(&big(name))["udfrev"]);
    }
}

#[test]
fn metadata_partition_volumes_keep_a_metadata_file_and_its_mirror() {
    let dir = scratch();
    let image = dir.path().join("meta.img");
    std::fs::write(&image, crate::udf_metadata::build(false)).expect("image");
    let out = dir.path().join("out.img");
    run(
        &image,
        &[
            "write",
            "/autounattend.xml",
            XML,
            ":",
            "rm",
            "/zero.bin",
            ":",
            "commit",
            out.to_str().unwrap(),
        ],
    );
    let info = String::from_utf8(run_ro(&out, &["info", "/dev/sda"])).unwrap();
    assert!(info.contains("*UDF Metadata Partition"), "{info}");
    assert!(!info.contains("mirror used"), "{info}");
    let listed = seven_zip_list(&out);
    assert!(listed.contains_key("autounattend.xml") && !listed.contains_key("zero.bin"));
    assert_matches_7z(&out, "");
    assert_counts(&out, &listed);
    // The mirror holds the same metadata: with the main file damaged, the tree reads the same.
    let mut bytes = std::fs::read(&out).expect("out");
    let lvd_map = find_metadata_map(&bytes);
    let main = u32::from_le_bytes(bytes[lvd_map + 40..lvd_map + 44].try_into().unwrap());
    let at = (257 + main as usize) * 2048 + 60;
    bytes[at] ^= 1;
    let damaged = dir.path().join("damaged.img");
    std::fs::write(&damaged, bytes).expect("damaged");
    let info = String::from_utf8(run_ro(&damaged, &["info", "/dev/sda"])).unwrap();
    assert!(info.contains("mirror used"), "{info}");
    let a = crate::udf_helpers::walk(crate::udf_helpers::open(&out, "").as_ref());
    let b = crate::udf_helpers::walk(crate::udf_helpers::open(&damaged, "").as_ref());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
}

/// The byte offset of the metadata partition map in the main sequence's logical volume
/// descriptor.
fn find_metadata_map(img: &[u8]) -> usize {
    let main =
        u32::from_le_bytes(img[256 * 2048 + 20..256 * 2048 + 24].try_into().unwrap()) as usize;
    let lvd = (main..main + 16)
        .map(|b| b * 2048)
        .find(|&at| img[at] == 6 && img[at + 1] == 0)
        .expect("logical volume descriptor");
    let maps = lvd + 440;
    let first = img[maps + 1] as usize;
    assert_eq!(
        &img[maps + first + 5..maps + first + 28],
        b"*UDF Metadata Partition"
    );
    maps + first
}

#[test]
fn a_file_over_4_gib_is_one_file() {
    let dir = scratch();
    let image = copy(&big("mkudffs-201.img"), dir.path());
    let host = dir.path().join("install.wim");
    let size: u64 = 4700 << 20;
    let file = std::fs::File::create(&host).expect("host file");
    file.set_len(size).expect("sparse");
    use std::os::unix::fs::FileExt;
    file.write_all_at(b"MARK-HIGH", 4_900_000_000)
        .expect("marker");
    let out = dir.path().join("out.img");
    run(
        &image,
        &[
            "upload",
            host.to_str().unwrap(),
            "/install.wim",
            ":",
            "commit",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        seven_zip_list(&out)["install.wim"].size,
        Some(size),
        "7z's size"
    );
    let fs = crate::udf_helpers::open(&out, "");
    let e = crate::udf_helpers::entry(fs.as_ref(), "install.wim");
    assert_eq!(e.meta.size, size);
    let mut marker = [0u8; 9];
    fs.read_at(e.ino, 4_900_000_000, &mut marker).expect("read");
    assert_eq!(&marker, b"MARK-HIGH");
    let _ = tool("udfinfo", &[out.to_str().unwrap()], None);
}

#[test]
fn names_udf_cannot_hold_are_refused_when_staged() {
    let dir = scratch();
    let image = copy(&big("mkudffs-201.img"), dir.path());
    let before = std::fs::read(&image).expect("image");
    // 130 characters, 132 bytes of UTF-8, but 261 of CS0 (two bytes each, for the euro sign).
    let name = format!("/{}€", "a".repeat(129));
    let out = isofish()
        .arg("-a")
        .arg(&image)
        .args(["write", &name, "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("UDF cannot store this name") && err.contains("261 bytes of CS0"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&image).expect("image"),
        before,
        "nothing written"
    );
}

#[test]
fn extended_attributes_are_refused_when_staged() {
    let dir = scratch();
    let image = copy(&big("mkudffs-201.img"), dir.path());
    let tar = dir.path().join("x.tar");
    tool(
        "python3",
        &[
            "-c",
            "import tarfile,io,sys\n\
             t=tarfile.open(sys.argv[1],'w',format=tarfile.PAX_FORMAT)\n\
             i=tarfile.TarInfo('x.txt');i.size=1;i.pax_headers={'SCHILY.xattr.user.k':'v'}\n\
             t.addfile(i,io.BytesIO(b'x'));t.close()",
            tar.to_str().unwrap(),
        ],
        None,
    );
    let out = isofish()
        .arg("-a")
        .arg(&image)
        .args(["tar-in", tar.to_str().unwrap(), "/", "xattrs:true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("extended attributes in UDF 2.01"), "{err}");
}
