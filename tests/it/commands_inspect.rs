//! The inspect commands agree with the host's tools: `checksum` with md5sum, sha*sum and
//! cksum, `stat` with stat(1) and the `is-*`/`exists` tests with test(1) on the
//! reference extraction, `file` with `file -b` on nested images built by mksquashfs, mkfs.ext4,
//! mkfs.vfat, cpio, the compressors and genisoimage, `info` with `isoinfo -d`.

use crate::common::{fixture, run_ro_utc as run, scratch, tool, xorriso_rr};
use crate::host_tree::reference;

#[test]
fn checksum_agrees_with_the_sum_tools() {
    for (name, paths) in [
        ("sample.iso", &["README.TXT", "docs/empty.txt"][..]),
        ("zisofs.iso", &["text/numbers.txt", "zeros.bin"][..]),
        ("rr112.iso", &["big.txt"][..]),
    ] {
        let image = fixture(name);
        let (_keep, x) = reference(&image);
        for path in paths {
            let host = x.join(path);
            let host = host.to_str().unwrap();
            for (alg, program) in [
                ("md5", "md5sum"),
                ("sha1", "sha1sum"),
                ("sha224", "sha224sum"),
                ("sha256", "sha256sum"),
                ("sha384", "sha384sum"),
                ("sha512", "sha512sum"),
                ("crc", "cksum"),
            ] {
                let theirs = String::from_utf8(tool(program, &[host], None)).unwrap();
                let theirs = theirs.split_whitespace().next().unwrap().to_string();
                let ours = run(&image, &["checksum", alg, &format!("/{path}")]);
                assert_eq!(ours, format!("{theirs}\n"), "{name}: {alg} {path}");
            }
        }
    }
}

#[test]
fn stat_and_lstat_agree_with_stat_of_the_extraction() {
    let image = fixture("rr112.iso");
    let (_keep, x) = reference(&image);
    for (path, follow) in [
        ("big.txt", true),
        ("setuid", true),
        ("links/hardlink.txt", true),
        ("links/relative", false),
        ("links/relative", true),
        ("char-dev", true),
        ("block-dev", true),
        ("fifo", true),
        ("sticky", true),
    ] {
        let cmd = if follow { "stat" } else { "lstat" };
        let ours = run(&image, &[cmd, &format!("/{path}")]);
        let field = |name: &str| -> String {
            ours.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .unwrap_or_else(|| panic!("{cmd} {path}: no {name} in {ours}"))
                .to_string()
        };
        let mut st = std::process::Command::new("stat");
        if follow {
            st.arg("-L");
        }
        // mode (hex), nlink, uid, gid, size, mtime, major, minor (hex)
        let theirs = st
            .args(["-c", "%f %h %u %g %s %Y %t %T"])
            .arg(x.join(path))
            .output()
            .unwrap();
        let theirs = String::from_utf8(theirs.stdout).unwrap();
        let t: Vec<&str> = theirs.split_whitespace().collect();
        let mode = u32::from_str_radix(t[0], 16).unwrap();
        assert_eq!(field("mode"), mode.to_string(), "{cmd} {path}: mode");
        assert_eq!(field("uid"), t[2], "{cmd} {path}: uid");
        assert_eq!(field("gid"), t[3], "{cmd} {path}: gid");
        assert_eq!(field("mtime"), t[5], "{cmd} {path}: mtime");
        if mode & 0o170000 != 0o040000 {
            assert_eq!(field("nlink"), t[1], "{cmd} {path}: nlink");
            assert_eq!(field("size"), t[4], "{cmd} {path}: size");
        }
        if mode & 0o170000 == 0o020000 || mode & 0o170000 == 0o060000 {
            let (major, minor) = (
                u64::from_str_radix(t[6], 16).unwrap(),
                u64::from_str_radix(t[7], 16).unwrap(),
            );
            let rdev = (major << 8) | minor;
            assert_eq!(field("rdev"), rdev.to_string(), "{cmd} {path}: rdev");
        }
        let order: Vec<&str> = ours.lines().map(|l| l.split(':').next().unwrap()).collect();
        assert_eq!(
            order,
            [
                "dev", "ino", "mode", "nlink", "uid", "gid", "rdev", "size", "blksize", "blocks",
                "atime", "mtime", "ctime"
            ]
        );
    }
}

#[test]
fn the_tests_agree_with_test() {
    let image = fixture("rr112.iso");
    let (_keep, x) = reference(&image);
    let paths = [
        "big.txt",
        "links",
        "links/relative",
        "links/dangling",
        "fifo",
        "char-dev",
        "nothing",
        "big.txt/below",
    ];
    for path in paths {
        let host = x.join(path);
        let test = |flag: &str| {
            let ok = std::process::Command::new("test")
                .arg(flag)
                .arg(&host)
                .status()
                .unwrap()
                .success();
            format!("{ok}\n")
        };
        let abs = format!("/{path}");
        assert_eq!(
            run(&image, &["is-dir", &abs]),
            {
                // test -d follows links; is-dir does not unless asked.
                let is_link = test("-L") == "true\n";
                if is_link {
                    "false\n".to_string()
                } else {
                    test("-d")
                }
            },
            "is-dir {path}"
        );
        assert_eq!(
            run(&image, &["is-dir", &abs, "followsymlinks:true"]),
            test("-d"),
            "is-dir {path} followsymlinks"
        );
        assert_eq!(
            run(&image, &["is-file", &abs, "followsymlinks:true"]),
            test("-f"),
            "is-file {path} followsymlinks"
        );
        assert_eq!(
            run(&image, &["is-symlink", &abs]),
            test("-L"),
            "is-symlink {path}"
        );
        assert_eq!(run(&image, &["exists", &abs]), test("-e"), "exists {path}");
    }
}

#[test]
fn file_says_what_file_b_says() {
    let dir = scratch();
    let d = dir.path();
    let tree = d.join("tree");
    let sub = d.join("content");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::create_dir_all(sub.join("inner")).unwrap();
    std::fs::write(sub.join("inner/hello.txt"), "hello\n").unwrap();
    let t = |name: &str| tree.join(name).to_str().unwrap().to_string();
    let s = sub.to_str().unwrap();
    tool(
        "mksquashfs",
        &[s, &t("fs.squashfs"), "-quiet", "-noappend", "-comp", "xz"],
        None,
    );
    tool(
        "mksquashfs",
        &[s, &t("fs-gzip.sqfs"), "-quiet", "-noappend"],
        None,
    );
    tool("truncate", &["-s", "4M", &t("ext4.img")], None);
    tool("mkfs.ext4", &["-q", "-L", "EXTLABEL", &t("ext4.img")], None);
    tool("truncate", &["-s", "2M", &t("ext2.img")], None);
    tool("mkfs.ext2", &["-q", &t("ext2.img")], None);
    tool("mkfs.vfat", &["-C", &t("fat.img"), "1440"], None);
    tool("mkfs.erofs", &["--quiet", &t("plain.erofs"), s], None);
    tool(
        "mkfs.erofs",
        &["--quiet", "-zlz4hc", "-Eztailpacking", &t("lz4.erofs"), s],
        None,
    );
    tool(
        "mkfs.erofs",
        &["--quiet", "--chunksize=4096", &t("chunked.erofs"), s],
        None,
    );
    tool(
        "genisoimage",
        &["-quiet", "-V", "INNER_LABEL", "-o", &t("inner.iso"), s],
        None,
    );
    for (format, file) in [
        ("newc", "a.cpio"),
        ("crc", "b.cpio"),
        ("odc", "c.cpio"),
        ("bin", "d.cpio"),
    ] {
        tool(
            "sh",
            &[
                "-c",
                &format!("echo inner/hello.txt | cpio -o -H {format} > {}", t(file)),
            ],
            Some(&sub),
        );
    }
    std::fs::write(tree.join("ascii.txt"), "plain text\nsecond line\n").unwrap();
    std::fs::write(tree.join("utf8.txt"), "na\u{ef}ve caf\u{e9}\n").unwrap();
    std::fs::write(tree.join("crlf.txt"), "one\r\ntwo\r\n").unwrap();
    std::fs::write(tree.join("noeol.txt"), "no newline").unwrap();
    std::fs::write(tree.join("empty"), "").unwrap();
    std::fs::write(tree.join("binary.dat"), [0u8, 1, 2, 3, 255, 0, 7, 9]).unwrap();
    std::fs::copy("/bin/true", tree.join("true-elf")).unwrap();
    let libc = std::fs::read_dir("/usr/lib/x86_64-linux-gnu")
        .ok()
        .and_then(|rd| {
            rd.filter_map(|e| e.ok())
                .find(|e| e.file_name() == "libc.so.6")
        });
    if let Some(libc) = libc {
        std::fs::copy(libc.path(), tree.join("libc.so")).unwrap();
    }
    std::fs::write(tree.join("g.txt"), "gzip me\n").unwrap();
    tool("gzip", &["-k", &t("g.txt")], None);
    tool("xz", &["-k", &t("g.txt")], None);
    tool("zstd", &["-q", "-k", &t("g.txt")], None);
    tool("bzip2", &["-k", &t("g.txt")], None);
    for name in ["sample.iso", "partition-offset.iso", "multisession.iso"] {
        std::fs::copy(fixture(name), tree.join(name)).unwrap();
    }
    tool(
        "xorriso",
        &[
            "-as",
            "mkisofs",
            "-quiet",
            "-b",
            "inner/hello.txt",
            "-no-emul-boot",
            "-o",
            &t("boot.iso"),
            s,
        ],
        None,
    );
    std::os::unix::fs::symlink("ascii.txt", tree.join("link")).unwrap();
    std::fs::create_dir(tree.join("dir")).unwrap();
    let image = d.join("nested.iso");
    xorriso_rr(&tree, &image);
    let mut names: Vec<String> = std::fs::read_dir(&tree)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let theirs = std::process::Command::new("file")
            .arg("-b")
            .arg(tree.join(&name))
            .env("TZ", "UTC")
            .output()
            .unwrap();
        let theirs = String::from_utf8(theirs.stdout)
            .unwrap()
            .trim_end()
            .to_string();
        let ours = run(&image, &["file", &format!("/{name}")]);
        let ours = ours.trim_end();
        // isofish gives the headline; `file` may go on with more details.
        assert!(
            theirs == ours
                || theirs.starts_with(&format!("{ours},"))
                || theirs.starts_with(&format!("{ours} (")),
            "{name}: file -b says {theirs:?}, isofish says {ours:?}"
        );
    }
}

#[test]
fn file_describes_special_files_as_file_does() {
    let image = fixture("rr112.iso");
    let (_keep, x) = reference(&image);
    for path in [
        "char-dev",
        "block-dev",
        "fifo",
        "links/relative",
        "links",
        "empty.txt",
    ] {
        let theirs =
            String::from_utf8(tool("file", &["-b", x.join(path).to_str().unwrap()], None)).unwrap();
        assert_eq!(
            run(&image, &["file", &format!("/{path}")]),
            theirs,
            "{path}"
        );
    }
}

#[test]
fn du_counts_whole_sectors_and_hard_links_once() {
    let image = fixture("sample.iso");
    // The listing of isoinfo gives every extent's size: du is the sum over distinct extents
    // (hard links share one; a directory appears as `.` in its own listing and by name in
    // its parent's) of whole 2048-byte sectors, in KiB.
    let listing = tool(
        "isoinfo",
        &["-R", "-l", "-i", image.to_str().unwrap()],
        None,
    );
    let listing = String::from_utf8(listing).unwrap();
    let mut in_docs = false;
    let mut extents = std::collections::BTreeMap::new();
    for line in listing.lines() {
        if let Some(dir) = line.strip_prefix("Directory listing of ") {
            in_docs = dir.starts_with("/docs/");
            continue;
        }
        if !in_docs || line.trim().is_empty() {
            continue;
        }
        // "-rw-r--r--   1  1000  1000    20 Nov 14 2023 [     35 00]  name"
        let f: Vec<&str> = line.split_whitespace().collect();
        let name = f.last().unwrap();
        if *name == ".." {
            continue;
        }
        let size: u64 = f[4].parse().unwrap();
        let extent = line
            .split('[')
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        extents.insert(extent, size);
    }
    let kib: u64 = extents.values().map(|s| s.div_ceil(2048) * 2).sum();
    assert_eq!(run(&image, &["du", "/docs"]), format!("{kib}\n"));
}

#[test]
fn info_reports_what_isoinfo_d_reports() {
    let image = fixture("sample.iso");
    let ours = run(&image, &["info", "/dev/sda"]);
    assert!(ours.starts_with("Type:"), "{ours}");
    assert!(ours.lines().next().unwrap().ends_with(" iso9660"), "{ours}");
    let theirs = String::from_utf8(tool(
        "isoinfo",
        &["-d", "-i", image.to_str().unwrap()],
        None,
    ))
    .unwrap();
    let volume_id = theirs
        .lines()
        .find_map(|l| l.strip_prefix("Volume id: "))
        .unwrap();
    assert!(
        ours.lines()
            .any(|l| l.ends_with(&format!(" {volume_id}")) && l.starts_with("Volume id:")),
        "{ours}"
    );
}
