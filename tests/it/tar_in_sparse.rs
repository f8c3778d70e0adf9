//! `tar-in` of sparse members, held against GNU tar: archives GNU tar writes with `--sparse`
//! in each of its sparse formats (old GNU `S` headers with extension blocks, pax 0.0, 0.1 and
//! 1.0) unpack to the bytes of the file archived, with its holes kept (what `download` writes
//! back allocates no more than the file did), and the image committed holds those bytes as
//! xorriso extracts them; `tar-out` of a staged sparse file writes an archive that GNU tar
//! extracts sparse and that `tar-in` reads back; a damaged sparse map is refused, naming it.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::common::{fixture, isofish, scratch, tool, xorriso_extract};

/// A 3 MiB file of 40 short runs of data between holes (more than an old GNU header's four
/// map pairs: extension blocks follow), ending in a hole.
fn sparse_file(dir: &Path) -> PathBuf {
    let path = dir.join("sp");
    let f = File::create(&path).unwrap();
    f.set_len(3 << 20).unwrap();
    for i in 0..40u64 {
        let text = format!("run {i} of data between holes\n");
        f.write_all_at(text.repeat(20).as_bytes(), i * 65536 + 4096)
            .unwrap();
    }
    path
}

/// A copy of the sample image to change.
fn image(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::copy(fixture("sample.iso"), &path).unwrap();
    path
}

/// Runs isofish on `image` (changes committed at the end) with `stdin`, expecting success.
fn run(image: &Path, args: &[&str], stdin: &[u8]) {
    let out = isofish()
        .arg("-a")
        .arg(image)
        .args(args)
        .write_stdin(stdin)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "isofish {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `tar-in` of `tar` into a new directory `/d` of `image`, then the commands `then`.
fn into_d(image: &Path, tar: &Path, then: &[&str]) {
    let mut args = vec!["mkdir", "/d", ":", "tar-in", s(tar), "/d", ":"];
    args.extend_from_slice(then);
    run(image, &args, b"");
}

/// `tar-in` of `tar` (a path, or `-` for `stdin`) into the root of `image`, and the file `sp`
/// downloaded to `out`.
fn unpack_sp(image: &Path, tar: &str, out: &Path, stdin: &[u8]) {
    run(
        image,
        &["tar-in", tar, "/", ":", "download", "/sp", s(out)],
        stdin,
    );
}

/// `got` holds the bytes of `want` and allocates no more of the disk than it (plus a block's
/// slack): its holes were kept.
fn same_and_sparse(got: &Path, want: &Path) {
    assert!(
        std::fs::read(got).unwrap() == std::fs::read(want).unwrap(),
        "{} is not {}",
        got.display(),
        want.display()
    );
    let (g, w) = (got.metadata().unwrap(), want.metadata().unwrap());
    assert!(
        g.blocks() <= w.blocks() + 8,
        "{} allocates {} blocks, the file archived {}",
        got.display(),
        g.blocks(),
        w.blocks()
    );
    assert!(
        g.blocks() * 512 < g.len() / 4,
        "{} has no holes",
        got.display()
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn every_gnu_sparse_format_unpacks_to_the_file_with_its_holes() {
    let dir = scratch();
    let src = sparse_file(dir.path());
    let formats: [(&str, &[&str]); 4] = [
        ("gnu", &["--format=gnu"]),
        ("pax00", &["--format=posix", "--sparse-version=0.0"]),
        ("pax01", &["--format=posix", "--sparse-version=0.1"]),
        ("pax10", &["--format=posix", "--sparse-version=1.0"]),
    ];
    for (name, flags) in formats {
        let tar = dir.path().join(format!("{name}.tar"));
        let mut args = vec!["--sparse", "-cf", s(&tar)];
        args.extend_from_slice(flags);
        args.push("sp");
        tool("tar", &args, Some(dir.path()));
        let img = image(dir.path(), &format!("{name}.iso"));
        let out = dir.path().join(format!("{name}.out"));
        into_d(&img, &tar, &["download", "/d/sp", s(&out)]);
        same_and_sparse(&out, &src);
        // The committed image holds the same bytes, as xorriso reads them.
        let extracted = dir.path().join(format!("{name}.xorriso"));
        xorriso_extract(&img, "/d/sp", &extracted);
        assert!(
            std::fs::read(&extracted).unwrap() == std::fs::read(&src).unwrap(),
            "{name}: the committed /d/sp is not the file archived"
        );
    }
    // Compressed, and from standard input.
    let gz = dir.path().join("pax10.tar.gz");
    tool(
        "sh",
        &["-c", "gzip -c pax10.tar > pax10.tar.gz"],
        Some(dir.path()),
    );
    let img = image(dir.path(), "gz.iso");
    let out = dir.path().join("gz.out");
    unpack_sp(&img, s(&gz), &out, b"");
    same_and_sparse(&out, &src);
    let img = image(dir.path(), "stdin.iso");
    let out = dir.path().join("stdin.out");
    let stdin = std::fs::read(dir.path().join("gnu.tar")).unwrap();
    unpack_sp(&img, "-", &out, &stdin);
    same_and_sparse(&out, &src);
}

#[test]
fn tar_out_of_a_staged_sparse_file_round_trips_through_gnu_tar_and_tar_in() {
    let dir = scratch();
    let src = sparse_file(dir.path());
    let tar = dir.path().join("gnu.tar");
    tool(
        "tar",
        &["--sparse", "--format=gnu", "-cf", s(&tar), "sp"],
        Some(dir.path()),
    );
    let img = image(dir.path(), "a.iso");
    let rt = dir.path().join("rt.tar");
    into_d(&img, &tar, &["tar-out", "/d", s(&rt)]);
    // GNU tar extracts the file, sparse.
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    tool("tar", &["-xf", s(&rt), "-C", s(&x)], None);
    same_and_sparse(&x.join("sp"), &src);
    // And tar-in reads it back.
    let img = image(dir.path(), "b.iso");
    let out = dir.path().join("b.out");
    unpack_sp(&img, s(&rt), &out, b"");
    same_and_sparse(&out, &src);
}

#[test]
fn a_sparse_map_past_the_file_is_refused_naming_it() {
    let dir = scratch();
    sparse_file(dir.path());
    let tar = dir.path().join("pax.tar");
    tool(
        "tar",
        &["--sparse", "--format=posix", "-cf", s(&tar), "sp"],
        Some(dir.path()),
    );
    // The real size made smaller than the extents reach (same length: the records still
    // parse).
    let mut bytes = std::fs::read(&tar).unwrap();
    let key = b"GNU.sparse.realsize=3145728";
    let at = bytes
        .windows(key.len())
        .position(|w| w == key)
        .expect("GNU tar writes the real size");
    bytes[at + key.len() - 7..at + key.len()].copy_from_slice(b"0000100");
    std::fs::write(&tar, bytes).unwrap();
    let img = image(dir.path(), "c.iso");
    let out = isofish()
        .args(["-a", s(&img), "tar-in", s(&tar), "/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tar sparse map at offset"), "{err}");
}
