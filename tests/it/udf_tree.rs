//! The UDF reader holds whole trees against third-party readers: 7z on genisoimage's UDF 1.02
//! bridge and on mkudffs 1.02/1.50/2.01 volumes populated by udfclient; pycdlib (the one
//! reader of its 2.60 trees) and udfclient on pycdlib's UDF 2.60 images; udfclient on a
//! sparable (CD-RW) volume.

use std::collections::BTreeMap;
use std::process::Command;

use isofish::fs::FileKind;

use crate::common::fixture;
use crate::udf_helpers::{
    assert_matches_7z, big, mode_string, open, udfclient_key, udfclient_list, udfclient_name, walk,
};

#[test]
fn genisoimage_udf_102_bridge_matches_7z() {
    let seen = assert_matches_7z(&fixture("udf-102-bridge.iso"), "udf");
    assert!(seen.contains_key("docs/deep/er/leaf.txt"));
    assert!(seen.contains_key("docs/€uro.txt"), "16-bit CS0 name");
}

#[test]
fn windows_like_disc_matches_7z() {
    // pycdlib's UDF tree behind an ISO 9660 tree of README.TXT only; 7z reads this one.
    let seen = assert_matches_7z(&fixture("udf-windows-like.iso"), "");
    assert!(seen.contains_key("docs/deep/er/leaf.txt"));
}

#[test]
fn mkudffs_revisions_populated_by_udfclient_match_7z() {
    // File entries (noefe) and extended file entries (2.01's default) alike.
    for image in [
        "mkudffs-102.img",
        "mkudffs-150.img",
        "mkudffs-201.img",
        "mkudffs-201-noefe.img",
    ] {
        let seen = assert_matches_7z(&big(image), "");
        assert!(
            seen.contains_key("data/numbers.txt"),
            "{image}: udfclient wrote the tree"
        );
    }
}

/// pycdlib's view of a UDF tree: path → (is dir, is symlink, data length, file bytes).
type Pycdlib = BTreeMap<String, (bool, bool, u64, Option<Vec<u8>>)>;

fn pycdlib_walk(image: &std::path::Path) -> Pycdlib {
    const SCRIPT: &str = r#"
import sys, io, pycdlib
iso = pycdlib.PyCdlib()
iso.open(sys.argv[1])
def walk(path):
    for c in iso.list_children(udf_path=path or '/'):
        if c is None or c.is_dot() or c.is_dotdot():
            continue
        name = c.file_ident.fi.decode(c.file_ident.encoding)
        p = path + '/' + name
        data = b''
        if c.is_file() and not c.is_symlink():
            f = io.BytesIO()
            iso.get_file_from_iso_fp(f, udf_path=p)
            data = f.getvalue()
        print('%d %d %d %s %s' % (c.is_dir(), c.is_symlink(), c.get_data_length(), data.hex() or '-', p[1:]))
        if c.is_dir():
            walk(p)
walk('')
"#;
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(image)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "pycdlib: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.splitn(5, ' ').collect();
            let data = (f[3] != "-").then(|| {
                (0..f[3].len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&f[3][i..i + 2], 16).expect("hex"))
                    .collect()
            });
            (
                f[4].to_string(),
                (
                    f[0] == "1",
                    f[1] == "1",
                    f[2].parse().expect("length"),
                    data,
                ),
            )
        })
        .collect()
}

#[test]
fn pycdlib_udf_260_matches_pycdlib_and_udfclient() {
    let image = fixture("udf-260-pycdlib.iso");
    let fs = open(&image, "");
    assert_eq!(
        fs.type_name(),
        "udf",
        "the ISO 9660 tree of this image is empty"
    );
    let ours = walk(fs.as_ref());
    let theirs = pycdlib_walk(&image);
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "the same paths as pycdlib"
    );
    for (path, (dir, symlink, len, data)) in &theirs {
        let s = &ours[path];
        assert_eq!(s.meta.is_dir(), *dir, "{path}: directory");
        assert_eq!(
            s.meta.kind == FileKind::Symlink,
            *symlink,
            "{path}: symlink"
        );
        if !dir && !symlink {
            assert_eq!(s.meta.size, *len, "{path}: size");
            if *len > 0 {
                assert_eq!(s.data.as_ref(), data.as_ref(), "{path}: bytes");
            }
        }
    }
    assert_eq!(ours.keys().filter(|p| p.starts_with("many/")).count(), 120);
    let files = ours.values().filter(|s| s.data.is_some()).count();
    assert_eq!(
        crate::udf_helpers::assert_extents_hold_the_data(&image, fs.as_ref(), &ours),
        files,
        "every file has plain extents"
    );
    // The targets make-udf.sh gave pycdlib.
    for (link, target) in [
        ("link-to-hello", "hello.txt"),
        ("docs/up-link", "../data/numbers.txt"),
        ("abs-link", "/docs/deep/er/leaf.txt"),
    ] {
        assert_eq!(
            ours[link].meta.symlink.as_deref(),
            Some(target.as_bytes()),
            "{link}"
        );
    }

    // udfclient: modes, owners (4294967295 is udfclient's -1), sizes of every entry.
    let dirs = ["", "data", "docs", "docs/deep", "docs/deep/er", "many"];
    let uc = udfclient_list(&image, 2048, &dirs);
    let uc: BTreeMap<String, _> = uc
        .into_iter()
        .map(|(p, v)| (udfclient_key(&p), v))
        .collect();
    let listed: BTreeMap<String, _> = ours
        .iter()
        .filter(|(p, _)| dirs.contains(&p.rsplit_once('/').map_or("", |(d, _)| d)))
        .map(|(p, s)| {
            let m = &s.meta;
            // udfclient shows symlinks as plain files of their recorded length.
            let size = if m.is_dir() || m.kind == FileKind::Symlink {
                None
            } else {
                Some(m.size)
            };
            let mode = mode_string(m).replacen('l', "-", 1);
            (
                udfclient_name(p),
                (mode, m.uid as i32 as i64, m.gid as i32 as i64, size),
            )
        })
        .collect();
    let theirs: BTreeMap<String, _> = uc
        .into_iter()
        .map(|(p, (mode, uid, gid, size))| {
            let s = (!mode.starts_with('d')).then_some(size);
            (p, (mode, uid, gid, s))
        })
        .collect();
    let mut listed = listed;
    for (p, v) in listed.iter_mut() {
        if ours
            .get(p)
            .is_some_and(|s| s.meta.kind == FileKind::Symlink)
        {
            v.3 = theirs.get(p).and_then(|t| t.3);
        }
    }
    assert_eq!(
        listed, theirs,
        "modes, owners and sizes as udfclient lists them"
    );
}

/// Holds the files of an on-demand image against udfclient's listing of every directory
/// (modes, sizes) and their bytes against the same files in the 2.01 image, which 7z reads.
fn assert_files_match_udfclient(name: &str) {
    let image = big(name);
    let fs = open(&image, "");
    let ours = walk(fs.as_ref());
    let mut dirs: Vec<&str> = ours
        .iter()
        .filter(|(_, s)| s.meta.is_dir())
        .map(|(p, _)| p.as_str())
        .collect();
    dirs.push("");
    let uc = udfclient_list(&image, 2048, &dirs);
    let theirs: BTreeMap<String, (String, u64)> = uc
        .into_iter()
        .map(|(p, (mode, _, _, size))| (udfclient_key(&p), (mode, size)))
        .filter(|(_, (mode, _))| !mode.starts_with('d'))
        .collect();
    let listed: BTreeMap<String, (String, u64)> = ours
        .iter()
        .filter(|(_, s)| !s.meta.is_dir())
        .map(|(p, s)| (udfclient_name(p), (mode_string(&s.meta), s.meta.size)))
        .collect();
    assert_eq!(listed, theirs, "{name}: files as udfclient lists them");
    assert!(listed.contains_key("hello.txt"), "{name}: populated");
    let plain = walk(open(&big("mkudffs-201.img"), "").as_ref());
    for (p, s) in &ours {
        if let Some(d) = &s.data {
            assert_eq!(Some(d), plain[p].data.as_ref(), "{name}: {p}");
        }
    }
}

#[test]
fn sparable_cdrw_volume_matches_udfclient() {
    assert_files_match_udfclient("mkudffs-150-cdrw.img");
}

#[test]
fn strategy_4096_volume_matches_udfclient() {
    // 7z refuses strategy 4096 ICBs ("Unsupported feature").
    assert_files_match_udfclient("mkudffs-201-s4096.img");
}

#[test]
fn windows_like_disc_through_the_commands() {
    // The seed's session: list-filesystems says udf, ll shows UDF's "no owner" as 4294967295,
    // and copy-out extracts the UDF tree as 7z does.
    let image = fixture("udf-windows-like.iso");
    let out = crate::common::isofish()
        .args(["--ro", "-a"])
        .arg(&image)
        .args(["ll", "/"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let entries: Vec<&str> = text.lines().skip(3).collect();
    assert_eq!(entries.len(), 5, "{text}");
    for line in entries {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!((f[2], f[3]), ("4294967295", "4294967295"), "{line}");
    }
    let dir = crate::common::scratch();
    crate::common::isofish()
        .args(["--ro", "-a"])
        .arg(&image)
        .args(["copy-out", "/"])
        .arg(dir.path())
        .assert()
        .success();
    let theirs = crate::udf_helpers::seven_zip_extract(&image);
    for (path, seen) in walk(open(&image, "").as_ref()) {
        let ours = dir.path().join(&path);
        if seen.meta.is_dir() {
            assert!(ours.is_dir(), "{path}");
        } else {
            let a = std::fs::read(&ours).expect("copied out");
            let b = std::fs::read(theirs.path().join(&path)).expect("7z extracted");
            assert!(a == b, "{path}");
        }
    }
}
