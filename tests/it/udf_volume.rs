//! UDF volumes as a whole: the descriptors `info` shows held against udfinfo (udftools) for
//! every revision, block size and media type mkudffs makes (type 1, sparable, VAT and
//! metadata partitions), the probe's answer on bridge discs, `mount-options udf`, and hard
//! links.

use std::collections::BTreeMap;

use crate::common::{fixture, isofish, tool};
use crate::udf_helpers::{big, open, udfinfo, walk};

/// The info lines udfinfo also prints, keyed by udfinfo's names.
fn ours(image: &std::path::Path) -> BTreeMap<String, String> {
    let fs = open(image, "udf");
    let info: BTreeMap<String, String> = fs.info().into_iter().collect();
    let mut out = BTreeMap::new();
    for (theirs, mine) in [
        ("udfrev", "Minimum UDF read revision"),
        ("udfwriterev", "Minimum UDF write revision"),
        ("numfiles", "Files"),
        ("numdirs", "Directories"),
        ("integrity", "Integrity"),
        ("owner", "Owner"),
        ("organization", "Organization"),
        ("contact", "Contact"),
        ("vid", "Volume identifier"),
        ("lvid", "Logical volume identifier"),
        ("fsid", "File set identifier"),
        ("fullvsid", "Volume set identifier"),
        ("blocksize", "Block size"),
        ("appid", "Application"),
        ("impid", "Implementation (primary)"),
    ] {
        out.insert(
            theirs.to_string(),
            info.get(mine).cloned().unwrap_or_default(),
        );
    }
    out.insert("label".into(), fs.label().unwrap_or_default());
    out
}

#[test]
fn descriptors_match_udfinfo_for_every_mkudffs_layout() {
    // Image and the revision make-udf.sh asked mkudffs for (the domain identifier's).
    for (image, revision) in [
        ("mkudffs-102.img", "1.02"),
        ("mkudffs-150.img", "1.50"),
        ("mkudffs-201.img", "2.01"),
        ("mkudffs-250-bdr.img", "2.50"),
        ("mkudffs-260-dvdr.img", "2.60"),
        ("mkudffs-201-b512.img", "2.01"),
        ("mkudffs-201-b4096.img", "2.01"),
        ("mkudffs-150-cdrw.img", "1.50"),
        ("mkudffs-201-cdr.img", "2.01"),
        ("mkudffs-150-cdr.img", "1.50"),
    ] {
        let path = big(image);
        let info: BTreeMap<String, String> = open(&path, "").info().into_iter().collect();
        assert_eq!(info["UDF revision"], revision, "{image}");
        let theirs = udfinfo(&path);
        let mine = ours(&path);
        for (k, v) in &mine {
            assert_eq!(Some(v), theirs.get(k), "{image}: {k}");
        }
        // Every layout opens and lists its root, empty or not.
        let fs = open(&path, "");
        let root = fs.read_dir(fs.root()).expect("root lists");
        let files: u64 = theirs["numfiles"].parse().expect("numfiles");
        assert_eq!(root.is_empty(), files == 0, "{image}: root entries");
    }
}

#[test]
fn pycdlib_descriptors_match_udfinfo() {
    // pycdlib calls its UDF "2.60" but records revision 1.02 (udfinfo agrees).
    for image in ["udf-260-pycdlib.iso", "udf-windows-like.iso"] {
        let path = fixture(image);
        let theirs = udfinfo(&path);
        for (k, v) in ours(&path) {
            assert_eq!(Some(&v), theirs.get(&k), "{image}: {k}");
        }
    }
}

#[test]
fn info_names_the_partition_maps() {
    let maps = |image: &str| -> Vec<String> {
        open(&big(image), "")
            .info()
            .into_iter()
            .filter(|(k, _)| k.starts_with("Partition map"))
            .map(|(_, v)| v)
            .collect()
    };
    assert!(maps("mkudffs-201.img")
        .iter()
        .all(|m| m.starts_with("type 1")));
    assert!(maps("mkudffs-150-cdrw.img")
        .iter()
        .any(|m| m.contains("*UDF Sparable Partition")));
    assert!(maps("mkudffs-201-cdr.img")
        .iter()
        .any(|m| m.contains("*UDF Virtual Partition")));
    // mkudffs (udftools 2.3) makes BD-R 2.50 volumes with a VAT, not a metadata partition.
    let bdr = maps("mkudffs-250-bdr.img");
    assert!(
        bdr.iter().any(|m| m.contains("*UDF Virtual Partition")),
        "{bdr:?}"
    );
}

#[test]
fn genisoimage_bridge_info_names_both_and_its_implementation() {
    let fs = open(&fixture("udf-102-bridge.iso"), "udf");
    let info: BTreeMap<String, String> = fs.info().into_iter().collect();
    assert_eq!(info["UDF revision"], "1.02");
    assert_eq!(info["Implementation (primary)"], "*genisoimage");
    assert!(info["Filesystem"].contains("ISO 9660"), "{info:?}");
    // isoinfo reads the ISO 9660 side of the same disc.
    let pvd = String::from_utf8(tool(
        "isoinfo",
        &["-d", "-i", fixture("udf-102-bridge.iso").to_str().unwrap()],
        None,
    ))
    .unwrap();
    assert!(
        pvd.contains(&format!("Volume id: {}", info["Volume identifier"])),
        "{pvd}"
    );
}

#[test]
fn stub_iso_tree_makes_the_disc_udf() {
    // The Windows install DVD case: the ISO 9660 tree holds only README.TXT (isoinfo shows
    // it), the real tree is UDF.
    let image = fixture("udf-windows-like.iso");
    let listing = String::from_utf8(tool(
        "isoinfo",
        &["-l", "-i", image.to_str().unwrap()],
        None,
    ))
    .unwrap();
    assert!(listing.contains("README.TXT;1"));
    let out = isofish()
        .args(["--ro", "-a"])
        .arg(&image)
        .args([
            "list-filesystems",
            ":",
            "vfs-type",
            "/dev/sda",
            ":",
            "ls",
            "/docs/deep/er",
        ])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(text, "/dev/sda: udf\nudf\nleaf.txt\n");
    // `mount-options iso9660` picks the stub tree isoinfo lists.
    isofish()
        .args(["--ro", "-a"])
        .arg(&image)
        .args(["mount-options", "iso9660", "/dev/sda", "/", ":", "ls", "/"])
        .assert()
        .success()
        .stdout("README.TXT\n");
}

#[test]
fn full_iso_tree_keeps_the_bridge_iso9660_and_mount_options_udf_picks_udf() {
    let image = fixture("udf-102-bridge.iso");
    isofish()
        .args(["--ro", "-a"])
        .arg(&image)
        .args([
            "-m",
            "/dev/sda:/:udf",
            "vfs-type",
            "/dev/sda",
            ":",
            "cat",
            "/docs/deep/er/leaf.txt",
            ":",
            "mounts",
        ])
        .assert()
        .success()
        .stdout("iso9660\ndeep\n/dev/sda on / (udf)\n");
}

#[test]
fn hard_links_share_an_inode() {
    let seen = walk(open(&fixture("udf-260-pycdlib.iso"), "").as_ref());
    let (a, b) = (&seen["hello.txt"], &seen["docs/hello-again.txt"]);
    assert_eq!(a.ino, b.ino, "pycdlib's hard link names the same ICB");
    assert_eq!(a.data, b.data);
    assert_ne!(seen["hello.txt"].ino, seen["zero.bin"].ino);
}
