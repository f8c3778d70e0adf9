//! Edits in combination, committed, and the new image read by the third-party tools: xorriso's
//! extraction (contents, modes, owners, symlinks), isoinfo's Rock Ridge and Joliet listings,
//! bsdtar, and pycdlib reading files by their Rock Ridge and Joliet paths. On a copy of
//! `sample.iso` (Rock Ridge and Joliet): a directory holding changed files renamed, a file
//! replaced by a directory, a directory removed and made again, a file uploaded from the host,
//! modes, owners, a symlink and a hard link added.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::common::{fixture, isofish, scratch, tool};

/// The one-liner of edits (HOST is the uploaded host file), ending with `commit OUT`.
const EDITS: &str = "mkdir-p /new/deep/er : write /new/deep/er/file.txt deep : \
    upload HOST /new/uploaded.bin : mv /docs /documents : write /documents/added.txt added : \
    write-append /documents/guide/intro.txt more : rm /README.TXT : mkdir /README.TXT : \
    write /isolinux/isolinux.cfg cfg : chmod 0600 /isolinux/isolinux.cfg : \
    chown 1000 100 /new/uploaded.bin : ln-s ../isolinux/isolinux.cfg /new/link : \
    ln /new/deep/er/file.txt /new/hard.txt : rm-rf /empty : mkdir /empty";

/// Runs the edits on a copy of sample.iso and commits to `out`; returns the host file
/// uploaded and the original intro text.
fn edited(dir: &Path, out: &Path) -> Vec<u8> {
    let image = dir.join("work.iso");
    std::fs::copy(fixture("sample.iso"), &image).unwrap();
    let host = dir.join("upload.bin");
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&host, &bytes).unwrap();
    let line =
        format!("{EDITS} : commit {}", out.display()).replace("HOST", host.to_str().unwrap());
    let words: Vec<String> = line.split_whitespace().map(String::from).collect();
    let res = isofish()
        .arg("-a")
        .arg(&image)
        .args(&words)
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert!(
        std::fs::read(&image).unwrap() == std::fs::read(fixture("sample.iso")).unwrap(),
        "commit OUT changed the opened image"
    );
    bytes
}

#[test]
fn edits_in_combination_read_back_by_xorriso_isoinfo_bsdtar_and_pycdlib() {
    let dir = scratch();
    let out = dir.path().join("out.iso");
    let uploaded = edited(dir.path(), &out);
    let o = out.to_str().unwrap();

    // xorriso's extraction.
    let x = dir.path().join("x");
    tool(
        "xorriso",
        &[
            "-osirrox",
            "on",
            "-indev",
            o,
            "-extract",
            "/",
            x.to_str().unwrap(),
        ],
        None,
    );
    let read = |p: &str| std::fs::read(x.join(p)).unwrap();
    assert_eq!(read("new/deep/er/file.txt"), b"deep");
    assert_eq!(read("new/hard.txt"), b"deep");
    assert_eq!(read("new/uploaded.bin"), uploaded);
    assert_eq!(read("documents/added.txt"), b"added");
    assert!(read("documents/guide/intro.txt").ends_with(b"more"));
    assert_eq!(read("isolinux/isolinux.cfg"), b"cfg");
    assert!(x.join("README.TXT").is_dir() && x.join("empty").is_dir());
    assert!(!x.join("docs").exists());
    let meta = |p: &str| std::fs::symlink_metadata(x.join(p)).unwrap();
    assert_eq!(
        meta("isolinux/isolinux.cfg").permissions().mode() & 0o7777,
        0o600
    );
    assert_eq!(
        (
            meta("new/uploaded.bin").uid(),
            meta("new/uploaded.bin").gid()
        ),
        (1000, 100)
    );
    assert_eq!(
        std::fs::read_link(x.join("new/link")).unwrap(),
        Path::new("../isolinux/isolinux.cfg")
    );
    assert_eq!(
        std::fs::read_link(x.join("documents/readme-link")).unwrap(),
        Path::new("../README.TXT"),
        "an unchanged symlink in a renamed directory"
    );

    // isoinfo: the Rock Ridge and the Joliet trees both hold the new names.
    for tree in ["-R", "-J"] {
        let listing = String::from_utf8(tool("isoinfo", &["-f", tree, "-i", o], None)).unwrap();
        for want in [
            "/new/deep/er/file.txt",
            "/documents/added.txt",
            "/new/uploaded.bin",
        ] {
            assert!(
                listing.lines().any(|l| l == want),
                "isoinfo -f {tree}: no {want}\n{listing}"
            );
        }
        assert!(
            !listing.lines().any(|l| l.starts_with("/docs")),
            "{listing}"
        );
    }

    // bsdtar: types, modes, owners.
    let tv = String::from_utf8(tool("bsdtar", &["-tvf", o], None)).unwrap();
    let line = |name: &str| {
        tv.lines()
            .find(|l| l.ends_with(name))
            .unwrap_or_else(|| panic!("bsdtar -tv: no {name}\n{tv}"))
            .to_string()
    };
    assert!(line("isolinux/isolinux.cfg").starts_with("-rw-------"));
    assert!(line("README.TXT").starts_with("d"));
    assert!(line("new/link -> ../isolinux/isolinux.cfg").starts_with("l"));
    assert!(
        line("new/uploaded.bin").contains(" 1000 ") && line("new/uploaded.bin").contains(" 100 ")
    );

    // pycdlib: files by their Rock Ridge and Joliet paths.
    let script = r#"
import io, sys, pycdlib
iso = pycdlib.PyCdlib()
iso.open(sys.argv[1])
for kind, path in (("rr_path", "/new/deep/er/file.txt"), ("joliet_path", "/new/deep/er/file.txt"),
                   ("rr_path", "/documents/added.txt"), ("joliet_path", "/isolinux/isolinux.cfg")):
    out = io.BytesIO()
    iso.get_file_from_iso_fp(out, **{kind: path})
    print(kind, path, out.getvalue().decode())
iso.close()
"#;
    let got = String::from_utf8(tool("python3", &["-c", script, o], None)).unwrap();
    assert_eq!(
        got,
        "rr_path /new/deep/er/file.txt deep\njoliet_path /new/deep/er/file.txt deep\n\
         rr_path /documents/added.txt added\njoliet_path /isolinux/isolinux.cfg cfg\n"
    );
}

#[test]
fn what_a_plain_iso_9660_image_cannot_record_is_refused_when_staged() {
    let dir = scratch();
    let image = dir.path().join("plain.iso");
    std::fs::copy(fixture("level1.iso"), &image).unwrap();
    for (args, what) in [
        (&["chmod", "0600", "/FILE1.TXT"][..], "permissions"),
        (&["chown", "1", "1", "/FILE1.TXT"][..], "owners"),
        (&["ln-s", "FILE1.TXT", "/LINK"][..], "symbolic links"),
        (&["ln", "/FILE1.TXT", "/HARD"][..], "hard links"),
    ] {
        let out = isofish().arg("-a").arg(&image).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        let want = format!(
            "{}: unsupported {what} in an image without Rock Ridge: plain ISO 9660 cannot \
             record them",
            image.display()
        );
        assert!(err.contains(&want), "{args:?}: {err}");
    }
    assert!(std::fs::read(&image).unwrap() == std::fs::read(fixture("level1.iso")).unwrap());
}

#[test]
fn an_image_with_an_associated_file_is_not_committed_without_it() {
    let dir = scratch();
    let image = dir.path().join("assoc.iso");
    let mut bytes = std::fs::read(fixture("sample.iso")).unwrap();
    // README.TXT's primary record becomes an associated file: flags sit 8 bytes before the
    // identifier (ECMA-119 9.1: flags at 25, identifier at 33).
    let id = b"\x0cREADME.TXT;1";
    let at = bytes
        .windows(id.len())
        .position(|w| w == id)
        .expect("the record")
        + 1;
    bytes[at - 8] |= 0x04;
    std::fs::write(&image, &bytes).unwrap();
    let out = dir.path().join("out.iso");
    let res = isofish()
        .arg("-a")
        .arg(&image)
        .args([
            "write",
            "/NEW.TXT",
            "x",
            ":",
            "commit",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(1), "{err}");
    assert!(err.contains("associated files"), "{err}");
    assert!(!out.exists());
    assert!(std::fs::read(&image).unwrap() == bytes);
}
