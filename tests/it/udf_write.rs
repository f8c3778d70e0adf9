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

/// Runs the commands `edits` (each its words) on `image`, then `commit OUT`; returns stderr.
fn commit_edits(image: &Path, edits: &[&[&str]], out: &Path) -> String {
    let mut args: Vec<&str> = Vec::new();
    for e in edits {
        args.extend_from_slice(e);
        args.push(":");
    }
    args.extend(["commit", out.to_str().unwrap()]);
    run(image, &args)
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
    let edits: &[&[&str]] = &[
        &["write", "/autounattend.xml", XML],
        &["chmod", "0600", "/hello.txt"],
    ];
    commit_edits(&image, edits, &out);
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
    let edits: &[&[&str]] = &[&["write", "/autounattend.xml", XML], &["rm", "/zero.bin"]];
    commit_edits(&image, edits, &out);
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
    let size: u64 = 4700 << 20;
    let out = dir.path().join("out.img");
    // Made sparse in the image: the new image holds it as a hole (a sparse host file).
    let size_arg = size.to_string();
    let edits: &[&[&str]] = &[
        &["write", "/install.wim", "MARK-LOW"],
        &["truncate-size", "/install.wim", &size_arg],
    ];
    commit_edits(&image, edits, &out);
    assert_eq!(
        seven_zip_list(&out)["install.wim"].size,
        Some(size),
        "7z's size"
    );
    let fs = crate::udf_helpers::open(&out, "");
    let e = crate::udf_helpers::entry(fs.as_ref(), "install.wim");
    assert_eq!(e.meta.size, size);
    let mut marker = [0u8; 8];
    fs.read_at(e.ino, 0, &mut marker).expect("read");
    assert_eq!(&marker, b"MARK-LOW");
    let info = udfinfo(&out);
    assert_eq!(info["numfiles"], "10", "{info:?}");
}

/// A Windows-like install disc as genisoimage `-udf` lays one out: UDF 1.02 beside ISO 9660
/// and Joliet, a no-emulation BIOS entry whose image ISO 9660 hides, a UEFI entry for a FAT
/// image; built in `dir`.
fn windows_like(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("sources")).expect("tree");
    std::fs::create_dir_all(tree.join("boot")).expect("tree");
    std::fs::write(tree.join("setup.exe"), b"setup").expect("file");
    std::fs::write(tree.join("sources/boot.wim"), vec![7u8; 300_000]).expect("file");
    std::fs::write(tree.join("sources/install.esd"), vec![9u8; 5000]).expect("file");
    std::fs::write(tree.join("sources/lang.ini"), b"lang").expect("file");
    std::fs::write(tree.join("boot/etfsboot.com"), vec![0xeb; 4096]).expect("file");
    std::fs::write(tree.join("boot/efisys.bin"), vec![0u8; 1_474_560]).expect("file");
    let image = dir.join("win.iso");
    tool(
        "genisoimage",
        &[
            "-quiet",
            "-udf",
            "-iso-level",
            "3",
            "-J",
            "-V",
            "WINLIKE",
            "-b",
            "boot/etfsboot.com",
            "-no-emul-boot",
            "-boot-load-size",
            "8",
            "-hide",
            "boot/etfsboot.com",
            "-eltorito-alt-boot",
            "-e",
            "boot/efisys.bin",
            "-no-emul-boot",
            "-hide",
            "boot/efisys.bin",
            "-hide",
            "boot.catalog",
            "-hide-joliet",
            "boot.catalog",
            "-o",
            image.to_str().unwrap(),
            tree.to_str().unwrap(),
        ],
        None,
    );
    image
}

/// `xorriso -report_el_torito plain` without the block addresses (which a rewrite moves).
fn el_torito(image: &Path) -> Vec<String> {
    let out = tool(
        "xorriso",
        &[
            "-indev",
            image.to_str().unwrap(),
            "-report_el_torito",
            "plain",
        ],
        None,
    );
    String::from_utf8_lossy(&out)
        .lines()
        .filter(|l| l.starts_with("El Torito"))
        .map(|l| {
            let mut words: Vec<&str> = l.split_whitespace().collect();
            if l.starts_with("El Torito boot img") {
                words.pop();
            }
            if l.starts_with("El Torito catalog") {
                words.remove(4);
            }
            words.join(" ")
        })
        .collect()
}

#[test]
fn bridge_edits_reach_both_trees_and_keep_el_torito() {
    let dir = scratch();
    let original = windows_like(dir.path());
    let image = copy(&original, dir.path());
    let out = dir.path().join("out.iso");
    let host = dir.path().join("new.wim");
    std::fs::write(&host, vec![5u8; 70_000]).expect("host file");
    let edits: &[&[&str]] = &[
        &["write", "/autounattend.xml", XML],
        &["upload", host.to_str().unwrap(), "/sources/boot.wim"],
        &["rm", "/sources/lang.ini"],
    ];
    commit_edits(&image, edits, &out);
    // UDF: 7z and isofish read the new tree and bytes; udfinfo finds every anchor.
    let listed = seven_zip_list(&out);
    assert!(listed.contains_key("autounattend.xml") && !listed.contains_key("sources/lang.ini"));
    assert_eq!(listed["sources/boot.wim"].size, Some(70_000));
    let seen = assert_matches_7z(&out, "udf");
    assert_eq!(
        seen["sources/boot.wim"].data.as_deref(),
        Some(&vec![5u8; 70_000][..])
    );
    assert_counts(&out, &listed);
    let info =
        String::from_utf8_lossy(&tool("udfinfo", &[out.to_str().unwrap()], None)).into_owned();
    assert_eq!(info.matches("type=ANCHOR").count(), 3, "{info}");
    // ISO 9660 and Joliet: the same changes.
    let iso = String::from_utf8_lossy(&tool(
        "isoinfo",
        &["-J", "-l", "-i", out.to_str().unwrap()],
        None,
    ))
    .into_owned();
    assert!(
        iso.contains("autounattend.xml") && !iso.contains("lang.ini"),
        "{iso}"
    );
    let joliet = run_ro(
        &out,
        &[
            "mount-options",
            "iso9660",
            "/dev/sda",
            "/",
            ":",
            "cat",
            "/sources/boot.wim",
        ],
    );
    assert_eq!(joliet, vec![5u8; 70_000]);
    // Both trees share the file data: the image grew by less than a second copy.
    let grown = std::fs::metadata(&out).unwrap().len() as i64
        - std::fs::metadata(&original).unwrap().len() as i64;
    assert!(grown < 200_000, "grew by {grown} bytes");
    assert_eq!(el_torito(&out), el_torito(&original));
}

#[test]
fn a_bridge_whose_iso_tree_is_a_stub_keeps_the_stub() {
    let dir = scratch();
    let image = copy(&crate::common::fixture("udf-windows-like.iso"), dir.path());
    let out = dir.path().join("out.iso");
    let edits: &[&[&str]] = &[
        &["write", "/autounattend.xml", XML],
        &["rm", "/hello.txt"],
        &["write", "/docs/deep/er/leaf.txt", "new leaf"],
    ];
    commit_edits(&image, edits, &out);
    let iso = String::from_utf8_lossy(&tool("isoinfo", &["-l", "-i", out.to_str().unwrap()], None))
        .into_owned();
    let files: Vec<&str> = iso.lines().filter(|l| l.starts_with('-')).collect();
    assert_eq!(files.len(), 1, "{iso}");
    assert!(files[0].trim_end().ends_with("README.TXT;1"), "{iso}");
    let listed = seven_zip_list(&out);
    assert!(listed.contains_key("autounattend.xml") && !listed.contains_key("hello.txt"));
    let seen = assert_matches_7z(&out, "");
    assert_eq!(
        seen["docs/deep/er/leaf.txt"].data.as_deref(),
        Some(&b"new leaf"[..])
    );
    assert_counts(&out, &listed);
    assert_eq!(udfinfo(&out)["udfrev"], udfinfo(&image)["udfrev"]);
}

#[test]
fn pycdlib_reads_a_committed_udf_2_60_bridge() {
    let dir = scratch();
    let image = copy(&crate::common::fixture("udf-260-pycdlib.iso"), dir.path());
    let out = dir.path().join("out.iso");
    let edits: &[&[&str]] = &[
        &["write", "/autounattend.xml", XML],
        &["rm", "/many/file-000.txt"],
    ];
    commit_edits(&image, edits, &out);
    let script = "import pycdlib,io,sys\n\
        iso=pycdlib.PyCdlib();iso.open(sys.argv[1])\n\
        b=io.BytesIO();iso.get_file_from_iso_fp(b,udf_path='/autounattend.xml')\n\
        n=[c.file_identifier().decode() for c in iso.list_children(udf_path='/many') if c.file_identifier()]\n\
        print(b.getvalue().decode());print(len(n));print('file-000.txt' in n)";
    let got = String::from_utf8(tool(
        "python3",
        &["-c", script, out.to_str().unwrap()],
        None,
    ))
    .unwrap();
    assert_eq!(got.lines().collect::<Vec<_>>(), [XML, "119", "False"]);
    let fs = crate::udf_helpers::open(&out, "");
    let seen = crate::udf_helpers::walk(fs.as_ref());
    assert_eq!(
        seen["link-to-hello"].meta.symlink.as_deref(),
        Some(&b"hello.txt"[..])
    );
    assert_eq!(
        seen["docs/hello-again.txt"].ino, seen["hello.txt"].ino,
        "the hard link kept"
    );
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

#[test]
fn a_pure_udf_file_that_fits_commits_in_place() {
    let dir = scratch();
    let image = copy(&big("mkudffs-201.img"), dir.path());
    let before = std::fs::read(&image).expect("image");
    let edits = [
        "write",
        "/data/numbers.txt",
        "short numbers",
        ":",
        "chmod",
        "0600",
        "/data/block.bin",
    ];
    let shown = isofish()
        .arg("-a")
        .arg(&image)
        .args(edits)
        .args([":", "changes", ":", "revert-all"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("commit: in place"),
        "{shown:?}"
    );
    run(&image, &[&edits[..], &[":", "commit"]].concat());
    let after = std::fs::read(&image).expect("image");
    assert_eq!(after.len(), before.len());
    // Only the file's block and the two file entries were written.
    let changed = before
        .chunks(2048)
        .zip(after.chunks(2048))
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(changed, 3);
    let seen = assert_matches_7z(&image, "");
    assert_eq!(
        seen["data/numbers.txt"].data.as_deref(),
        Some(&b"short numbers"[..])
    );
    let listed = udfclient_list(&image, 2048, &["data"]);
    assert_eq!(listed["data/block.bin"].0, "-rw-------", "{listed:?}");
    // Data that grows past its blocks is a rewrite.
    let grown = dir.path().join("grown.txt");
    std::fs::write(&grown, vec![b'x'; 200_000]).expect("host file");
    let shown = isofish()
        .arg("-a")
        .arg(&image)
        .args([
            "upload",
            grown.to_str().unwrap(),
            "/data/numbers.txt",
            ":",
            "changes",
            ":",
            "revert-all",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("its new data passes the blocks it has"),
        "{text}"
    );
}

#[test]
fn a_bridge_whose_iso_directories_pass_block_256_commits() {
    // 300 directories with Rock Ridge and Joliet: the ISO 9660 trees take more than the 256
    // blocks before UDF's anchor, so they follow the UDF side's blocks, as genisoimage has them.
    let dir = scratch();
    let tree = dir.path().join("tree");
    for i in 0..300 {
        let d = tree.join(format!("dir{i:03}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("file.txt"), format!("file {i}\n")).unwrap();
    }
    let image = dir.path().join("in.iso");
    let (t, i) = (tree.to_str().unwrap(), image.to_str().unwrap());
    tool(
        "genisoimage",
        &["-quiet", "-udf", "-R", "-J", "-o", i, t],
        None,
    );
    let out = dir.path().join("out.iso");
    commit_edits(&image, &[&["write", "/dir150/file.txt", "changed"]], &out);
    assert_eq!(seven_zip_list(&out).len(), 600);
    assert_matches_7z(&out, "udf");
    let x = crate::udf_helpers::seven_zip_extract(&out);
    assert_eq!(
        std::fs::read(x.path().join("dir150/file.txt")).unwrap(),
        b"changed"
    );
    let iso_side = tool(
        "isoinfo",
        &["-R", "-x", "/dir150/file.txt", "-i", out.to_str().unwrap()],
        None,
    );
    assert_eq!(iso_side, b"changed");
    assert_eq!(udfinfo(&out)["integrity"], "closed");
}

/// `isofish -a IMAGE [before...] write /new.txt x : commit OUT`, as it ran.
fn write_new_and_commit(image: &Path, before: &[&str], out: &Path) -> std::process::Output {
    let mut args = before.to_vec();
    args.extend([
        "write",
        "/new.txt",
        "x",
        ":",
        "commit",
        out.to_str().unwrap(),
    ]);
    isofish().arg("-a").arg(image).args(args).output().unwrap()
}

/// 7z lists both `hello.txt` and `new.txt` in the UDF tree of `out`.
fn hello_and_new_listed(out: &Path) {
    let listed = seven_zip_list(out);
    assert!(
        listed.contains_key("hello.txt") && listed.contains_key("new.txt"),
        "{listed:?}"
    );
}

/// Where the UDF file identifier of `/hello.txt` starts in `img` (its name, CS0 8-bit,
/// starts at byte 38 of the descriptor when it has no implementation use).
fn hello_fid(img: &[u8]) -> usize {
    let name = b"\x08hello.txt";
    let at = img
        .windows(name.len())
        .position(|w| w == name)
        .expect("hello.txt's identifier")
        - 38;
    assert_eq!(u16::from_le_bytes([img[at], img[at + 1]]), 257, "a FID tag");
    at
}

/// Marks the UDF identifier of `/hello.txt` in `image` hidden: its characteristics (byte 18
/// of the descriptor, whose name, CS0 8-bit, starts at byte 38 when it has no implementation
/// use).
fn hide_hello(image: &Path) {
    let mut img = std::fs::read(image).unwrap();
    let at = hello_fid(&img);
    img[at + 18] |= 1;
    crate::udf_helpers::fix_tag(&mut img, at);
    // The root's identifiers are embedded in its file entry, whose tag covers them too.
    let entry = at / 2048 * 2048;
    if matches!(u16::from_le_bytes([img[entry], img[entry + 1]]), 261 | 266) {
        crate::udf_helpers::fix_tag(&mut img, entry);
    }
    std::fs::write(image, &img).unwrap();
}

/// The bytes of `path` in the UDF tree of `image`, as 7z extracts them.
fn udf_bytes(image: &Path, path: &str) -> Vec<u8> {
    let out = std::process::Command::new("7z")
        .args(["e", "-tudf", "-so"])
        .arg(image)
        .arg(path)
        .output()
        .expect("7z runs (.ci/run installs p7zip-full)");
    assert!(out.status.success(), "7z e {path}");
    out.stdout
}

#[test]
fn a_bridge_mounted_as_iso_keeps_its_hidden_udf_entries_in_step() {
    let dir = scratch();
    let image = copy(&crate::common::fixture("udf-102-bridge.iso"), dir.path());
    hide_hello(&image);
    // A rewrite: refused without `unhide`, which the ISO 9660 mount passes to the UDF side.
    let out = dir.path().join("out.iso");
    let failed = write_new_and_commit(&image, &[], &out);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("unhide"));
    let kept = write_new_and_commit(&image, &["-m", "/dev/sda:/:unhide"], &out);
    assert!(kept.status.success(), "{kept:?}");
    hello_and_new_listed(&out);
    // In place: the hidden UDF entry follows its file's new size.
    run(
        &image,
        &[
            "write",
            "/hello.txt",
            "changed in place\n",
            ":",
            "commit",
            "--in-place",
        ],
    );
    assert_eq!(udf_bytes(&image, "hello.txt"), b"changed in place\n");
}

#[test]
fn entries_marked_hidden_stop_a_rewrite_unless_unhidden() {
    let dir = scratch();
    let image = copy(&big("mkudffs-201.img"), dir.path());
    hide_hello(&image);
    let out = dir.path().join("out.img");
    let failed = write_new_and_commit(&image, &[], &out);
    assert_eq!(failed.status.code(), Some(1));
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(
        err.contains("entries marked hidden") && err.contains("unhide"),
        "{err}"
    );
    assert!(!out.exists());
    // With `unhide` the entry is listed, so it is kept.
    let kept = write_new_and_commit(&image, &["-m", "/dev/sda:/:unhide"], &out);
    assert!(kept.status.success(), "{kept:?}");
    hello_and_new_listed(&out);
}

#[test]
fn named_streams_left_out_are_named_in_a_warning() {
    let dir = scratch();
    let image = copy(&big("mkudffs-201.img"), dir.path());
    let mut img = std::fs::read(&image).unwrap();
    // hello.txt's identifier, then the file entry its ICB names (tag location = that block).
    let fid = hello_fid(&img);
    let le32 = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let block = le32(&img, fid + 24);
    let entry = (0..img.len() / 2048)
        .map(|b| b * 2048)
        .find(|&at| {
            let ident = u16::from_le_bytes([img[at], img[at + 1]]);
            matches!(ident, 261 | 266) && le32(&img, at + 12) == block && img[at + 27] == 5
        })
        .expect("hello.txt's file entry");
    // A stream directory (extended entry) or an extended attribute ICB (file entry): a
    // 2048-byte extent at the entry's own block; the writer does not follow it.
    let field = if img[entry] == 10 { 152 } else { 112 };
    img[entry + field..entry + field + 4].copy_from_slice(&2048u32.to_le_bytes());
    img[entry + field + 4..entry + field + 8].copy_from_slice(&block.to_le_bytes());
    crate::udf_helpers::fix_tag(&mut img, entry);
    std::fs::write(&image, &img).unwrap();
    let out = dir.path().join("out.img");
    let done = write_new_and_commit(&image, &[], &out);
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{err}");
    assert!(
        err.contains("named streams") && err.contains("/hello.txt") && err.contains("one file"),
        "{err}"
    );
    hello_and_new_listed(&out);
}

#[test]
fn a_bridge_mounted_as_udf_carries_its_changes_to_the_iso_tree() {
    let dir = scratch();
    let image = copy(&crate::common::fixture("udf-102-bridge.iso"), dir.path());
    let out = dir.path().join("out.iso");
    let err = commit_edits(
        &image,
        &[
            &["mount-options", "udf", "/dev/sda", "/"],
            &["write", "/hello.txt", "changed under UDF\n"],
            &["mkdir", "/newdir"],
            &["write", "/newdir/new.txt", "new\n"],
            &["rm", "/zero.bin"],
            &["mv", "/docs", "/documents"],
        ],
        &out,
    );
    assert!(
        !err.contains("keeps its own copy") && !err.contains("not carried"),
        "{err}"
    );
    let o = out.to_str().unwrap();
    // ISO 9660 with Rock Ridge, as isoinfo lists and extracts it.
    let listing =
        String::from_utf8_lossy(&tool("isoinfo", &["-R", "-f", "-i", o], None)).into_owned();
    for present in [
        "/newdir/new.txt",
        "/documents/deep/er/leaf.txt",
        "/hello.txt",
    ] {
        assert!(
            listing.lines().any(|l| l == present),
            "{present}: {listing}"
        );
    }
    for gone in ["/zero.bin", "/docs"] {
        assert!(!listing.lines().any(|l| l == gone), "{gone}: {listing}");
    }
    let hello = tool("isoinfo", &["-R", "-i", o, "-x", "/hello.txt"], None);
    assert_eq!(hello, b"changed under UDF\n");
    // The UDF tree, as 7z reads it: the same.
    let listed = seven_zip_list(&out);
    assert!(
        listed.contains_key("newdir/new.txt") && !listed.contains_key("zero.bin"),
        "{listed:?}"
    );
    assert_eq!(udf_bytes(&out, "hello.txt"), b"changed under UDF\n");
}

/// A bridge disc made by genisoimage from a tree with two names of one host file: its ISO
/// 9660 tree links the two records (one extent, Rock Ridge link count 2), its UDF tree gives
/// each name a file entry of its own. Returns the image.
fn bridge_with_linked_names(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("a.txt"), b"linked\n").unwrap();
    std::fs::hard_link(tree.join("a.txt"), tree.join("b.txt")).unwrap();
    let image = dir.join("linked.iso");
    let (t, i) = (tree.to_str().unwrap(), image.to_str().unwrap());
    tool(
        "genisoimage",
        &["-quiet", "-udf", "-R", "-J", "-o", i, t],
        None,
    );
    image
}

/// `name` of `image` as isoinfo reads it from Rock Ridge and Joliet and 7z from UDF, by reader.
fn read_in_every_tree(image: &Path, name: &str) -> Vec<(&'static str, Vec<u8>)> {
    let i = image.to_str().unwrap();
    let path = format!("/{name}");
    vec![
        (
            "rock ridge",
            tool("isoinfo", &["-R", "-i", i, "-x", &path], None),
        ),
        (
            "joliet",
            tool("isoinfo", &["-J", "-i", i, "-x", &path], None),
        ),
        ("udf", tool("7z", &["e", "-so", i, name], None)),
    ]
}

#[test]
fn a_name_linked_only_in_the_iso_tree_changes_alone_as_in_the_udf_tree() {
    let dir = scratch();
    let image = bridge_with_linked_names(dir.path());
    // Mounted as UDF (a bridge's default), the names are two files: one changes, not both.
    let out = dir.path().join("udf.iso");
    commit_edits(&image, &[&["write", "/a.txt", "changed\n"]], &out);
    for (name, want) in [("a.txt", &b"changed\n"[..]), ("b.txt", b"linked\n")] {
        for (tree, got) in read_in_every_tree(&out, name) {
            assert_eq!(got, want, "{name} in the {tree} tree");
        }
    }
    // Mounted as ISO 9660, they are one file with two names: both change, in both trees.
    let out = dir.path().join("iso.iso");
    commit_edits(
        &image,
        &[
            &["mount-options", "iso9660", "/dev/sda", "/"],
            &["write", "/a.txt", "changed\n"],
        ],
        &out,
    );
    for name in ["a.txt", "b.txt"] {
        for (tree, got) in read_in_every_tree(&out, name) {
            assert_eq!(got, b"changed\n", "{name} in the {tree} tree");
        }
    }
}
