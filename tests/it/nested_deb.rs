//! .deb packages built with `dpkg-deb -b` (xz, zstd, gzip and uncompressed members), read by
//! isofish as `dpkg-deb -x` extracts the data and `dpkg-deb -e` the control archive (under
//! `/DEBIAN`, as `dpkg-deb -R` lays them out), listed as `dpkg-deb -c` lists them, with `info`
//! showing the fields `dpkg-deb -f` shows; mounted from inside an ISO; damaged ar headers
//! refused with the offset.

use std::path::Path;

use crate::common::{scratch, tool};
use crate::host_tree::{assert_same, snapshot};
use crate::nested_cpio::drive_holding;
use crate::nested_tar::listed_names;
use crate::nested_util::{extract, make_tree, run, run_err, write, Kinds};

fn sh(script: &str) -> Vec<u8> {
    tool("sh", &["-c", script], None)
}

/// A package tree at `top`: the usual test tree as its data, a control file and a maintainer
/// script.
fn package(top: &Path) {
    make_tree(
        top,
        Kinds {
            hard_links: true,
            ..Kinds::plain(20, 150_000)
        },
    );
    write(
        &top.join("DEBIAN/control"),
        b"Package: isofish-test\nVersion: 1.2-3\nArchitecture: all\n\
          Maintainer: Nobody <nobody@example.org>\nDescription: a test package\n \
          with a long description.\n",
    );
    write(&top.join("DEBIAN/postinst"), b"#!/bin/sh\nexit 0\n");
    sh(&format!(
        "chmod 755 '{0}/DEBIAN' '{0}/DEBIAN/postinst' && find '{0}' -exec touch -h -d '2023-11-14 22:13:20 UTC' {{}} +",
        top.display()
    ));
}

/// `dpkg-deb -c`'s names with the control archive's members under `DEBIAN` (as
/// `dpkg-deb --ctrl-tarfile | tar -tv` lists them), as `find` prints them.
fn dpkg_listing(deb: &Path) -> Vec<String> {
    let data = sh(&format!("dpkg-deb -c '{}'", deb.display()));
    let control = sh(&format!(
        "dpkg-deb --ctrl-tarfile '{}' | tar -tvf -",
        deb.display()
    ));
    let mut names = listed_names(&data, "");
    names.extend(listed_names(&control, "DEBIAN/"));
    names.sort();
    names
}

/// `dpkg-deb -b` of `top` into `deb`, members compressed with `z`.
fn build(top: &Path, z: &str, deb: &Path) {
    tool(
        "dpkg-deb",
        &[
            "--root-owner-group",
            &format!("-Z{z}"),
            "-b",
            top.to_str().unwrap(),
            deb.to_str().unwrap(),
        ],
        None,
    );
}

#[test]
fn packages_read_as_dpkg_deb_extracts_them() {
    let dir = scratch();
    let d = dir.path();
    let top = d.join("pkg");
    package(&top);
    for z in ["xz", "zstd", "gzip", "none"] {
        let deb = d.join(format!("p-{z}.deb"));
        build(&top, z, &deb);
        // dpkg-deb -R's layout: the data extracted by bsdtar (GNU tar, which dpkg-deb -R runs,
        // makes absolute symlinks last, after it set their directory's time), the control
        // archive by GNU tar (bsdtar leaves the time of its `./` unset).
        let theirs = d.join(format!("{z}-theirs"));
        std::fs::create_dir_all(theirs.join("DEBIAN")).unwrap();
        sh(&format!(
            "dpkg-deb --fsys-tarfile '{0}' | bsdtar -xpf - --numeric-owner -C '{1}' && \
             dpkg-deb --ctrl-tarfile '{0}' | tar -xpf - --numeric-owner -C '{1}/DEBIAN'",
            deb.display(),
            theirs.display()
        ));
        let ours = d.join(format!("{z}-ours"));
        extract(&deb, &[], "/", &ours);
        assert_same(&snapshot(&theirs), &snapshot(&ours), z);
        let listed = String::from_utf8(run(&deb, &["find", "/"])).unwrap();
        let mut listed: Vec<&str> = listed.lines().collect();
        listed.sort();
        assert_eq!(listed, dpkg_listing(&deb), "{z}: listing");
        // info: each field dpkg-deb -f shows.
        let info = String::from_utf8(run(&deb, &["info", "/dev/sda"])).unwrap();
        assert!(
            info.contains("Filesystem:") && info.contains(" deb\n"),
            "{info}"
        );
        for field in ["Package", "Version", "Architecture", "Maintainer"] {
            let value = sh(&format!("dpkg-deb -f '{}' {field}", deb.display()));
            let value = String::from_utf8(value).unwrap();
            let line = info
                .lines()
                .find(|l| l.starts_with(&format!("{field}:")))
                .unwrap_or_else(|| panic!("{z}: no {field} in {info}"));
            assert_eq!(line.split_once(':').unwrap().1.trim(), value.trim(), "{z}");
        }
    }
}

#[test]
fn a_package_inside_an_iso_mounts_with_mount_loop() {
    let dir = scratch();
    let d = dir.path();
    let top = d.join("pkg");
    package(&top);
    let deb = d.join("pkg.deb");
    build(&top, "xz", &deb);
    let drive = drive_holding(&deb);
    let out = String::from_utf8(run(
        &drive,
        &[
            "vfs-type",
            "/pkg.deb",
            ":",
            "mount-loop",
            "/pkg.deb",
            "/p",
            ":",
            "cat",
            "/p/DEBIAN/postinst",
            ":",
            "cat",
            "/p/hello.txt",
        ],
    ))
    .unwrap();
    let theirs = d.join("x");
    tool(
        "dpkg-deb",
        &["-x", deb.to_str().unwrap(), theirs.to_str().unwrap()],
        None,
    );
    let expected = format!(
        "deb\n#!/bin/sh\nexit 0\n{}",
        std::fs::read_to_string(theirs.join("hello.txt")).unwrap()
    );
    assert_eq!(out, expected);
}

#[test]
fn a_member_past_the_end_is_refused() {
    let dir = scratch();
    let d = dir.path();
    let top = d.join("pkg");
    package(&top);
    let deb = d.join("pkg.deb");
    build(&top, "gzip", &deb);
    let mut bytes = std::fs::read(&deb).unwrap();
    // The first member header (debian-binary) is at 8; its size field at 8 + 48.
    bytes[56..66].copy_from_slice(b"9999999999");
    let bad = d.join("bad.deb");
    std::fs::write(&bad, &bytes).unwrap();
    let dpkg = std::process::Command::new("dpkg-deb")
        .arg("-c")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!dpkg.status.success());
    let err = run_err(&bad, &["ls", "/"]);
    assert!(
        err.contains("corrupt ar member header at offset 8")
            && err.contains("claims 9999999999 bytes"),
        "{err}"
    );
}
