//! Commits of large changes, read back by third-party tools: 100 000 files unpacked with
//! `tar-in` (their data ranges of the host tar), and a sparse host file over 4 GiB uploaded
//! (written as a multi-extent file, read across its extents by xorriso).

use std::io::Write;
use std::path::Path;

use crate::common::{fixture, isofish, scratch, tool};

/// `isofish -a IMAGE ARGS`, which must succeed.
fn ok(image: &Path, args: &[&str]) {
    let out = isofish().arg("-a").arg(image).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_hundred_thousand_files_from_tar_in_are_committed_whole() {
    let dir = scratch();
    let tar = dir.path().join("many.tar");
    let script = r#"
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT) as tf:
    for d in range(100):
        info = tarfile.TarInfo(f"d{d:03}")
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tf.addfile(info)
        for i in range(1000):
            data = f"{d}-{i}\n".encode()
            info = tarfile.TarInfo(f"d{d:03}/f{i:04}.txt")
            info.size, info.mode = len(data), 0o644
            tf.addfile(info, io.BytesIO(data))
"#;
    tool("python3", &["-c", script, tar.to_str().unwrap()], None);
    let image = dir.path().join("work.iso");
    std::fs::copy(fixture("sample.iso"), &image).unwrap();
    let out = dir.path().join("out.iso");
    let (t, o) = (tar.to_str().unwrap(), out.to_str().unwrap());
    ok(
        &image,
        &[
            "mkdir", "/many", ":", "tar-in", t, "/many", ":", "commit", o,
        ],
    );
    let found = tool(
        "xorriso",
        &["-indev", o, "-find", "/many", "-type", "f"],
        None,
    );
    assert_eq!(
        found
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count(),
        100_000
    );
    let listed = tool("bsdtar", &["-tf", o], None);
    let files = listed
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"many/") && l.ends_with(b".txt"))
        .count();
    assert_eq!(files, 100_000);
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    for (path, want) in [
        ("/many/d000/f0000.txt", "0-0\n"),
        ("/many/d099/f0999.txt", "99-999\n"),
    ] {
        let dest = x.join("f");
        let d = dest.to_str().unwrap();
        tool(
            "xorriso",
            &["-osirrox", "on", "-indev", o, "-extract", path, d],
            None,
        );
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), want, "{path}");
        std::fs::remove_file(&dest).unwrap();
    }
}

#[test]
fn a_sparse_host_file_over_4_gib_is_committed_as_a_multi_extent_file() {
    let dir = scratch();
    let host = dir.path().join("big.bin");
    let tail_at: u64 = (4 << 30) + 100;
    let tail = b"the end of it all";
    {
        let mut f = std::fs::File::create(&host).unwrap();
        f.set_len(tail_at).unwrap();
        use std::io::Seek;
        f.seek(std::io::SeekFrom::Start(tail_at)).unwrap();
        f.write_all(tail).unwrap();
    }
    let size = tail_at + tail.len() as u64;
    let image = dir.path().join("work.iso");
    std::fs::copy(fixture("sample.iso"), &image).unwrap();
    let out = dir.path().join("out.iso");
    let o = out.to_str().unwrap();
    ok(
        &image,
        &[
            "upload",
            host.to_str().unwrap(),
            "/big.bin",
            ":",
            "commit",
            o,
        ],
    );
    let lsl = String::from_utf8(tool("xorriso", &["-indev", o, "-lsl", "/big.bin"], None)).unwrap();
    assert!(lsl.contains(&format!(" {size} ")), "{lsl}");
    let tv = String::from_utf8(tool("bsdtar", &["-tvf", o], None)).unwrap();
    assert!(
        tv.lines()
            .any(|l| l.ends_with(" big.bin") && l.contains(&format!(" {size} "))),
        "{tv}"
    );
    // The last bytes, read by xorriso across the file's extents.
    let cut = dir.path().join("cut");
    let (at, len) = (tail_at.to_string(), tail.len().to_string());
    let c = cut.to_str().unwrap();
    tool(
        "xorriso",
        &[
            "-osirrox",
            "on",
            "-indev",
            o,
            "-extract_cut",
            "/big.bin",
            &at,
            &len,
            c,
        ],
        None,
    );
    assert_eq!(std::fs::read(&cut).unwrap(), tail);
    std::fs::remove_file(&out).unwrap();
}
