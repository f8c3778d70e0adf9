//! `tar-out`, `copy-out`, `download` and `checksums-out` give the same trees, bytes and sums as
//! third-party tools: GNU tar unpacks isofish's archives into exactly what bsdtar extracts from
//! the image, GNU tar lists them as it lists its own archive of that extraction, every
//! compression decompresses with the real tool, and md5sum agrees with the sums.

use std::path::{Path, PathBuf};

use crate::common::{fixture, isofish, run_ro as isofish_ok, scratch, tool, xorriso_rr};
use crate::host_tree::{assert_same, reference_extract, snapshot};

/// Images with everything the readers know: Rock Ridge from xorriso (devices, FIFOs, long
/// names and link targets, hard links) and genisoimage (relocated deep directories), zisofs.
const IMAGES: &[&str] = &["sample.iso", "rr112.iso", "level3-rr.iso", "zisofs.iso"];

/// The extraction isofish is held against (bsdtar's, see [`reference_extract`]); returns the
/// paths bsdtar could not extract.
fn bsdtar_extract(image: &Path, dir: &Path) -> Vec<String> {
    reference_extract(image, dir)
}

/// Creates the empty directory `parent/name` and returns it.
fn fresh_dir(parent: &Path, name: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir(&dir).unwrap();
    dir
}

/// Unpacks `tarball` with GNU tar into the new directory `dir/gnutar`, which it returns.
fn gnu_tar_extract(tarball: &Path, dir: &Path) -> PathBuf {
    let actual = fresh_dir(dir, "gnutar");
    tool(
        "tar",
        &[
            "-xpf",
            tarball.to_str().unwrap(),
            "-C",
            actual.to_str().unwrap(),
        ],
        None,
    );
    actual
}

#[test]
fn tar_out_unpacks_with_gnu_tar_to_what_bsdtar_extracts() {
    for name in IMAGES {
        let image = fixture(name);
        let dir = scratch();
        let expected = dir.path().join("bsdtar");
        let skipped = bsdtar_extract(&image, &expected);
        let tarball = dir.path().join("out.tar");
        isofish_ok(&image, &["tar-out", "/", tarball.to_str().unwrap()]);
        let actual = gnu_tar_extract(&tarball, dir.path());
        assert_same(
            &snapshot(&expected),
            &snapshot(&actual).without(&skipped),
            name,
        );
    }
}

#[test]
fn gnu_tar_lists_tar_out_as_its_own_archive_of_the_tree() {
    for name in IMAGES {
        let image = fixture(name);
        let dir = scratch();
        let extracted = dir.path().join("x");
        let skipped = bsdtar_extract(&image, &extracted);
        let theirs = dir.path().join("theirs.tar");
        tool(
            "tar",
            &[
                "--sort=name",
                "--numeric-owner",
                "--format=gnu",
                "-cf",
                theirs.to_str().unwrap(),
                "-C",
                extracted.to_str().unwrap(),
                ".",
            ],
            None,
        );
        let ours = dir.path().join("ours.tar");
        isofish_ok(&image, &["tar-out", "/", ours.to_str().unwrap()]);
        let list = |t: &Path| {
            let out = tool(
                "tar",
                &[
                    "--numeric-owner",
                    "--full-time",
                    "-tvf",
                    t.to_str().unwrap(),
                ],
                None,
            );
            // Not the top directory, whose times the extraction did not keep (and which
            // tar-out leaves out without root:true).
            String::from_utf8(out)
                .unwrap()
                .lines()
                .filter(|l| !l.ends_with(" ./"))
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let (theirs, mut ours) = (list(&theirs), list(&ours));
        ours.retain(|l| !skipped.iter().any(|s| l.ends_with(&format!(" ./{s}"))));
        // Directory sizes are 0 in both; GNU tar numbers them the same way.
        assert_eq!(ours, theirs, "{name}");
    }
}

#[test]
fn tar_out_to_stdout_and_every_compression_decompress_with_the_real_tools() {
    let image = fixture("rr112.iso");
    let plain = isofish_ok(&image, &["tar-out", "/", "-"]);
    assert_eq!(plain.len() % 10240, 0, "padded to whole records");
    let dir = scratch();
    for (method, program) in [
        ("gzip", "gzip"),
        ("xz", "xz"),
        ("zstd", "zstd"),
        ("bzip2", "bzip2"),
    ] {
        let file = dir.path().join(format!("t.{method}"));
        let arg = format!("compress:{method}");
        isofish_ok(&image, &["tar-out", "/", file.to_str().unwrap(), &arg]);
        let unpacked = tool(program, &["-dc", file.to_str().unwrap()], None);
        assert!(unpacked == plain, "{method}: not the plain archive");
    }
    for (cmd, program) in [("tgz-out", "gzip"), ("txz-out", "xz")] {
        let file = dir.path().join(cmd);
        isofish_ok(&image, &[cmd, "/", file.to_str().unwrap()]);
        let unpacked = tool(program, &["-dc", file.to_str().unwrap()], None);
        assert!(unpacked == plain, "{cmd}: not the plain archive");
    }
}

#[test]
fn tar_out_excludes_what_gnu_tar_excludes() {
    let image = fixture("rr112.iso");
    let dir = scratch();
    let extracted = dir.path().join("x");
    bsdtar_extract(&image, &extracted);
    for patterns in ["*.txt", "links,fifo", "a/b/c", "l*", "./big.txt", "./a/*/c"] {
        let mut args = vec![
            "--sort=name".to_string(),
            "-cf".into(),
            "-".into(),
            "-C".into(),
            extracted.to_str().unwrap().into(),
        ];
        args.extend(patterns.split(',').map(|p| format!("--exclude={p}")));
        args.push(".".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let theirs = tool("tar", &args, None);
        let list = |tarball: Vec<u8>| {
            let path = dir.path().join("l.tar");
            std::fs::write(&path, tarball).unwrap();
            tool("tar", &["-tf", path.to_str().unwrap()], None)
        };
        let option = format!("excludes:{patterns}");
        // GNU tar's archive of `.` has a `./` member: root:true asks for the same.
        let ours = isofish_ok(&image, &["tar-out", "/", "-", &option, "root:true"]);
        assert_eq!(
            String::from_utf8(list(ours)).unwrap(),
            String::from_utf8(list(theirs)).unwrap(),
            "excludes:{patterns}"
        );
    }
}

#[test]
fn copy_out_of_the_root_gives_what_bsdtar_extracts() {
    for name in IMAGES {
        let image = fixture(name);
        let dir = scratch();
        let expected = dir.path().join("bsdtar");
        let skipped = bsdtar_extract(&image, &expected);
        let actual = fresh_dir(dir.path(), "copy");
        isofish_ok(&image, &["copy-out", "/", actual.to_str().unwrap()]);
        let expected = snapshot(&expected);
        assert_same(&expected, &snapshot(&actual).without(&skipped), name);
        // Copying again over the result replaces files and merges into the directories.
        isofish_ok(&image, &["copy-out", "/", actual.to_str().unwrap()]);
        assert_same(&expected, &snapshot(&actual).without(&skipped), name);
    }
}

#[test]
fn copy_out_of_files_and_subdirectories_names_them_in_the_target() {
    let image = fixture("rr112.iso");
    let dir = scratch();
    let expected = dir.path().join("bsdtar");
    bsdtar_extract(&image, &expected);
    let actual = fresh_dir(dir.path(), "copy");
    isofish_ok(
        &image,
        &["copy-out", "/links", "/big.txt", actual.to_str().unwrap()],
    );
    let whole = snapshot(&expected);
    let got = snapshot(&actual);
    let names: Vec<&String> = got.nodes.keys().collect();
    let want: Vec<&String> = whole
        .nodes
        .keys()
        .filter(|k| *k == "links" || k.starts_with("links/") || *k == "big.txt")
        .collect();
    assert_eq!(names, want);
    for (k, v) in &got.nodes {
        assert_eq!(Some(v), whole.nodes.get(k), "{k}");
    }
}

#[test]
fn copy_out_needs_an_existing_host_directory() {
    let dir = scratch();
    let missing = dir.path().join("no/such/dir");
    isofish()
        .args([
            "--ro",
            "-a",
            "tests/fixtures/sample.iso",
            "copy-out",
            "/docs",
        ])
        .arg(&missing)
        .assert()
        .failure()
        .stderr(predicates::str::contains("not a directory"));
    assert!(!missing.exists());
}

#[test]
fn download_gives_the_bytes_bsdtar_extracts() {
    let dir = scratch();
    for (name, path) in [
        ("sample.iso", "README.TXT"),
        ("rr112.iso", "big.txt"),
        ("zisofs.iso", "text/numbers.txt"),
        ("zisofs.iso", "zeros.bin"),
        ("sample.iso", "docs/empty.txt"),
    ] {
        let image = fixture(name);
        let x = dir.path().join(name);
        if !x.exists() {
            bsdtar_extract(&image, &x);
        }
        let expected = std::fs::read(x.join(path)).unwrap();
        let abs = format!("/{path}");
        assert!(
            isofish_ok(&image, &["download", &abs, "-"]) == expected,
            "{name}:{path} to -"
        );
        let host = dir.path().join("downloaded");
        isofish_ok(&image, &["download", &abs, host.to_str().unwrap()]);
        assert!(
            std::fs::read(&host).unwrap() == expected,
            "{name}:{path} to a file"
        );
    }
}

#[test]
fn download_of_a_missing_file_says_so() {
    isofish()
        .args([
            "--ro",
            "-a",
            "tests/fixtures/sample.iso",
            "download",
            "/nope",
            "-",
        ])
        .assert()
        .code(1)
        .stderr("isofish: error: /nope: no such file or directory\n");
}

#[test]
fn checksums_out_agrees_with_md5sum_and_cksum() {
    for name in IMAGES {
        let image = fixture(name);
        let dir = scratch();
        let x = dir.path().join("x");
        bsdtar_extract(&image, &x);
        let files = tool("find", &[".", "-type", "f"], Some(&x));
        let files: Vec<&str> = std::str::from_utf8(&files).unwrap().lines().collect();
        for (alg, program) in [("md5", "md5sum"), ("sha256", "sha256sum"), ("crc", "cksum")] {
            let mut args = vec!["--"];
            args.extend(&files);
            let theirs = tool(program, &args, Some(&x));
            let ours = isofish_ok(&image, &["checksums-out", alg, "/", "-"]);
            let sorted = |b: Vec<u8>| {
                let mut v: Vec<String> = String::from_utf8(b)
                    .unwrap()
                    .lines()
                    .map(String::from)
                    .collect();
                v.sort();
                v
            };
            assert_eq!(sorted(ours), sorted(theirs), "{name} {alg}");
        }
    }
}

#[test]
fn copy_out_as_an_ordinary_user_skips_devices_and_set_id_bits() {
    let image = fixture("rr112.iso");
    let dir = scratch();
    let expected = dir.path().join("bsdtar");
    bsdtar_extract(&image, &expected);
    let actual = fresh_dir(dir.path(), "user");
    std::os::unix::fs::chown(&actual, Some(65534), Some(65534)).unwrap();
    // The scratch directory itself must be enterable by the user.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let bin = assert_cmd::cargo::cargo_bin("isofish");
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .args(["--ro", "-a"])
        .arg(&image)
        .arg("copy-out")
        .arg("/")
        .arg(&actual)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for dev in ["char-dev", "block-dev"] {
        assert!(
            stderr.contains(&format!("{dev}: device node skipped")),
            "{stderr}"
        );
    }
    let reference = snapshot(&expected);
    let got = snapshot(&actual);
    for (path, want) in &reference.nodes {
        if want.kind == 'c' || want.kind == 'b' {
            assert!(!got.nodes.contains_key(path), "{path} was created");
            continue;
        }
        let have = &got.nodes[path];
        assert_eq!(
            (have.kind, have.mode, have.mtime, &have.data),
            (want.kind, want.mode & 0o777, want.mtime, &want.data),
            "{path}"
        );
        assert_eq!((have.uid, have.gid), (65534, 65534), "{path}");
    }
    assert_eq!(got.links, reference.links);
}

/// An image (xorriso, Rock Ridge) of a tree with a file of 3 MiB and one of 300 kB (which
/// `tar-out` moves straight from the image) and a small one (which it reads into its blocks);
/// returns the image and the bytes of `/big.bin`.
fn big_files_image(dir: &Path) -> (PathBuf, Vec<u8>) {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    let big: Vec<u8> = (0..3 * 1024 * 1024 + 123)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    std::fs::write(src.join("big.bin"), &big).unwrap();
    std::fs::write(src.join("d/small.txt"), "small\n").unwrap();
    std::fs::write(src.join("d/mid.bin"), &big[..300_000]).unwrap();
    let image = dir.join("big.iso");
    xorriso_rr(&src, &image);
    (image, big)
}

#[test]
fn tar_out_to_a_file_copies_large_extents_from_the_image() {
    // Files of several MiB go into a tar file by copy_file_range between the header and
    // padding isofish writes; GNU tar must see the same bytes as bsdtar extracts.
    let dir = scratch();
    let (image, _) = big_files_image(dir.path());
    let expected = dir.path().join("bsdtar");
    bsdtar_extract(&image, &expected);
    let tarball = dir.path().join("out.tar");
    isofish_ok(&image, &["tar-out", "/", tarball.to_str().unwrap()]);
    assert_eq!(std::fs::metadata(&tarball).unwrap().len() % 10240, 0);
    let actual = gnu_tar_extract(&tarball, dir.path());
    assert_same(&snapshot(&expected), &snapshot(&actual), "big files");
    // The same archive goes to a pipe (spliced from the image between the blocks).
    let piped = isofish_ok(&image, &["tar-out", "/", "-"]);
    assert!(piped == std::fs::read(&tarball).unwrap());
}

/// Runs `line` with bash (`pipefail` set), `$ISOFISH` being the binary; fails unless it succeeds
/// without a word on stderr. Returns its stdout.
fn bash(line: &str) -> Vec<u8> {
    let out = std::process::Command::new("bash")
        .args(["-c", &format!("set -o pipefail; {line}")])
        .env("ISOFISH", env!("CARGO_BIN_EXE_isofish"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "{line}: {stderr}"
    );
    out.stdout
}

#[test]
fn tar_out_into_a_pipe_unpacks_with_gnu_tar_to_what_bsdtar_extracts() {
    // Large extents are spliced from the image into the pipe between the headers and padding
    // that go through the blocks: the pipe of a host shell, and isofish's own `| host-cmd`.
    let dir = scratch();
    let (image, _) = big_files_image(dir.path());
    let expected = dir.path().join("bsdtar");
    bsdtar_extract(&image, &expected);
    let expected = snapshot(&expected);
    let host = fresh_dir(dir.path(), "host");
    bash(&format!(
        "\"$ISOFISH\" --ro -a '{}' tar-out / - | tar -xpf - -C '{}'",
        image.display(),
        host.display()
    ));
    assert_same(&expected, &snapshot(&host), "tar-out / - | tar -x");
    let inner = fresh_dir(dir.path(), "inner");
    isofish()
        .arg("--ro")
        .arg("-a")
        .arg(&image)
        .write_stdin(format!(
            "tar-out / - | tar -xpf - -C '{}'\n",
            inner.display()
        ))
        .assert()
        .success()
        .stderr("");
    assert_same(
        &expected,
        &snapshot(&inner),
        "isofish's tar-out / - | tar -x",
    );
}

#[test]
fn cat_into_a_pipe_gives_the_bytes_bsdtar_extracts() {
    let dir = scratch();
    let (image, _) = big_files_image(dir.path());
    let x = dir.path().join("x");
    bsdtar_extract(&image, &x);
    for path in ["big.bin", "d/mid.bin", "d/small.txt"] {
        let theirs = tool("md5sum", &[x.join(path).to_str().unwrap()], None);
        let ours = bash(&format!(
            "\"$ISOFISH\" --ro -a '{}' cat /{path} | md5sum",
            image.display()
        ));
        let sum = |b: &[u8]| String::from_utf8_lossy(&b[..32]).into_owned();
        assert_eq!(sum(&ours), sum(&theirs), "{path}");
    }
}

#[test]
fn download_to_a_redirected_stdout_gives_the_bytes_bsdtar_extracts() {
    // stdout is a regular file: the data is copied into it with copy_file_range, after what
    // was already there and at the end of what the shell appends with >>.
    let dir = scratch();
    let (image, big) = big_files_image(dir.path());
    let x = dir.path().join("x");
    bsdtar_extract(&image, &x);
    let expected = std::fs::read(x.join("big.bin")).unwrap();
    assert!(expected == big);
    let file = dir.path().join("out.bin");
    bash(&format!(
        "\"$ISOFISH\" --ro -a '{}' download /big.bin - > '{}'",
        image.display(),
        file.display()
    ));
    assert!(std::fs::read(&file).unwrap() == expected, "> file");
    bash(&format!(
        "\"$ISOFISH\" --ro -a '{i}' echo head : download /big.bin - : echo tail > '{f}'; \
         \"$ISOFISH\" --ro -a '{i}' download /d/small.txt - >> '{f}'",
        i = image.display(),
        f = file.display()
    ));
    let small = std::fs::read(x.join("d/small.txt")).unwrap();
    let mut want = b"head\n".to_vec();
    want.extend_from_slice(&expected);
    want.extend_from_slice(b"tail\n");
    want.extend_from_slice(&small);
    assert!(
        std::fs::read(&file).unwrap() == want,
        "echo : download : echo >> file"
    );
}
