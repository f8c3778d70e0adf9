//! The read commands print what the host's own tools print about the same files: `find` lists
//! what `bsdtar -tf` and `isoinfo -R -f` list, `ll` agrees field by field with `ls -la` of a
//! `xorriso -osirrox` extraction, and `cat`, `head`, `tail`, `hexdump`, `grep`, `readlink` and
//! `glob` agree with `cat`, `head`, `tail`, `hexdump -C`, `grep` and `readlink` run on
//! bsdtar's extraction.

use crate::common::{fixture, isofish, run_ro_utc as run, scratch, tool};
use crate::host_tree::reference;

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(String::from).collect();
    v.sort();
    v
}

#[test]
fn find_lists_what_bsdtar_and_isoinfo_list() {
    for name in ["sample.iso", "rr112.iso", "level3-rr.iso", "zisofs.iso"] {
        let image = fixture(name);
        let ours = run(&image, &["find", "/"]);
        let lines: Vec<&str> = ours.lines().collect();
        let mut sorted = lines.clone();
        sorted.sort();
        assert_eq!(lines, sorted, "{name}: find sorts its output");
        let bsd = tool("bsdtar", &["-tf", image.to_str().unwrap()], None);
        let bsd: Vec<String> = String::from_utf8(bsd)
            .unwrap()
            .lines()
            .map(|l| l.trim_start_matches("./").trim_end_matches('/').to_string())
            .filter(|l| !l.is_empty() && l != ".")
            .collect();
        let mut bsd = bsd;
        bsd.sort();
        assert_eq!(sorted_lines(&ours), bsd, "{name}: find / vs bsdtar -tf");
    }
    for name in ["sample.iso", "rr112.iso"] {
        let image = fixture(name);
        let isoinfo = tool(
            "isoinfo",
            &["-R", "-f", "-i", image.to_str().unwrap()],
            None,
        );
        let theirs: Vec<String> = String::from_utf8(isoinfo)
            .unwrap()
            .lines()
            .map(|l| l.trim_start_matches('/').to_string())
            .collect();
        let mut theirs = theirs;
        theirs.sort();
        assert_eq!(
            sorted_lines(&run(&image, &["find", "/"])),
            theirs,
            "{name}: find / vs isoinfo -R -f"
        );
    }
}

#[test]
fn find_of_a_subdirectory_is_relative_to_it() {
    let image = fixture("sample.iso");
    let all = run(&image, &["find", "/"]);
    let expected: Vec<String> = all
        .lines()
        .filter_map(|l| l.strip_prefix("docs/"))
        .map(String::from)
        .collect();
    assert_eq!(
        run(&image, &["find", "/docs"])
            .lines()
            .map(String::from)
            .collect::<Vec<_>>(),
        expected
    );
}

/// One `ls -l` line split into the fields that do not depend on the host's filesystem.
#[derive(Debug, PartialEq, Eq)]
struct LsLine {
    mode: String,
    nlink: Option<String>,
    uid: String,
    gid: String,
    size: Option<String>,
    date: String,
    name: String,
}

fn parse_ls(text: &str) -> Vec<LsLine> {
    text.lines()
        .filter(|l| !l.starts_with("total "))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let is_dev = f[0].starts_with('c') || f[0].starts_with('b');
            let (size, rest) = if is_dev {
                (format!("{} {}", f[4], f[5]), 6)
            } else {
                (f[4].to_string(), 5)
            };
            let is_dir = f[0].starts_with('d');
            let is_link = f[0].starts_with('l');
            LsLine {
                mode: f[0].to_string(),
                // Directory link counts and sizes depend on the filesystem holding them.
                nlink: (!is_dir).then(|| f[1].to_string()),
                uid: f[2].to_string(),
                gid: f[3].to_string(),
                size: (!is_dir && !is_link).then_some(size),
                date: f[rest..rest + 3].join(" "),
                name: f[rest + 3..].join(" "),
            }
        })
        .collect()
}

#[test]
fn ll_agrees_with_ls_la_of_an_xorriso_extraction() {
    for (name, dirs) in [
        ("sample.iso", &["/", "/docs", "/docs/guide", "/empty"][..]),
        ("rr112.iso", &["/", "/links", "/a/b"][..]),
    ] {
        let image = fixture(name);
        let (_keep, x) = reference(&fixture(name));
        for d in dirs {
            let ours = run(&image, &["ll", d]);
            let host = x.join(d.trim_start_matches('/'));
            let mut cmd = std::process::Command::new("ls");
            cmd.args(["-la", "-n"])
                .arg(&host)
                .env("TZ", "UTC")
                .env("LC_ALL", "C");
            let theirs = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
            let (mut ours, mut theirs) = (parse_ls(&ours), parse_ls(&theirs));
            // `.` and `..` of the extraction's top are host directories.
            if *d == "/" {
                ours.retain(|l| l.name != "." && l.name != "..");
                theirs.retain(|l| l.name != "." && l.name != "..");
            } else {
                ours.retain(|l| l.name != "..");
                theirs.retain(|l| l.name != "..");
            }
            assert_eq!(ours, theirs, "{name}: ll {d}");
        }
    }
}

#[test]
fn ll_total_counts_kib_and_a_file_gets_one_line() {
    let image = fixture("sample.iso");
    let out = run(&image, &["ll", "/isolinux/isolinux.cfg"]);
    assert_eq!(out.lines().count(), 1);
    assert!(out.starts_with("-rw-r--r-- 1 0 0 107 "), "{out}");
    assert!(out.trim_end().ends_with(" /isolinux/isolinux.cfg"), "{out}");
    let link = run(&image, &["ll", "/docs/readme-link"]);
    assert!(
        link.trim_end().ends_with("readme-link -> ../README.TXT"),
        "{link}"
    );
}

#[test]
fn cat_head_and_tail_agree_with_the_host_tools() {
    let (_keep, x) = reference(&fixture("zisofs.iso"));
    let image = fixture("zisofs.iso");
    for path in ["text/numbers.txt", "tiny.txt"] {
        let host = x.join(path);
        let host = host.to_str().unwrap();
        let abs = format!("/{path}");
        assert_eq!(
            run(&image, &["cat", &abs]).into_bytes(),
            std::fs::read(host).unwrap()
        );
        let head = |args: &[&str]| {
            let mut a = args.to_vec();
            a.push(host);
            String::from_utf8(tool("head", &a, None)).unwrap()
        };
        let tail = |args: &[&str]| {
            let mut a = args.to_vec();
            a.push(host);
            String::from_utf8(tool("tail", &a, None)).unwrap()
        };
        assert_eq!(run(&image, &["head", &abs]), head(&[]), "head {path}");
        assert_eq!(run(&image, &["tail", &abs]), tail(&[]), "tail {path}");
        for n in ["1", "7", "5000", "19999", "20000", "20001", "0"] {
            assert_eq!(
                run(&image, &["head-n", n, &abs]),
                head(&["-n", n]),
                "head-n {n} {path}"
            );
            assert_eq!(
                run(&image, &["tail-n", n, &abs]),
                tail(&["-n", n]),
                "tail-n {n} {path}"
            );
            // With 0, guestfish (and isofish) print nothing whatever the sign.
            if n != "0" {
                let neg = format!("-{n}");
                assert_eq!(
                    run(&image, &["head-n", &neg, &abs]),
                    head(&["-n", &neg]),
                    "head-n -{n} {path}"
                );
                let from = format!("+{n}");
                assert_eq!(
                    run(&image, &["tail-n", &neg, &abs]),
                    tail(&["-n", &from]),
                    "tail-n -{n} {path}"
                );
            }
        }
    }
}

#[test]
fn hexdump_agrees_with_hexdump_c() {
    for (name, paths) in [
        (
            "zisofs.iso",
            &["zeros.bin", "text/numbers.txt", "tiny.txt"][..],
        ),
        ("rr112.iso", &["big.txt", "empty.txt", "setuid"][..]),
    ] {
        let (_keep, x) = reference(&fixture(name));
        let image = fixture(name);
        for path in paths {
            let theirs = tool("hexdump", &["-C", x.join(path).to_str().unwrap()], None);
            assert_eq!(
                run(&image, &["hexdump", &format!("/{path}")]),
                String::from_utf8(theirs).unwrap(),
                "{name}: hexdump {path}"
            );
        }
    }
}

#[test]
fn grep_agrees_with_grep_on_its_subset() {
    let (_keep, x) = reference(&fixture("zisofs.iso"));
    let image = fixture("zisofs.iso");
    let host = x.join("text/numbers.txt");
    for pattern in [
        "99",
        "^1.3$",
        "^[2-3]*$",
        "0*7$",
        "[^0-8]9[^0-8]",
        "^$",
        "1\\.2",
        "^..$",
    ] {
        let mut cmd = std::process::Command::new("grep");
        cmd.args(["-e", pattern]).arg(&host).env("LC_ALL", "C");
        let theirs = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
        assert_eq!(
            run(&image, &["grep", pattern, "/text/numbers.txt"]),
            theirs,
            "grep {pattern}"
        );
    }
}

#[test]
fn readlink_agrees_with_readlink() {
    let (_keep, x) = reference(&fixture("rr112.iso"));
    let image = fixture("rr112.iso");
    for link in ["relative", "absolute", "dangling", "long-target"] {
        let theirs = tool(
            "readlink",
            &[x.join("links").join(link).to_str().unwrap()],
            None,
        );
        assert_eq!(
            run(&image, &["readlink", &format!("/links/{link}")]),
            String::from_utf8(theirs).unwrap(),
            "{link}"
        );
    }
    isofish()
        .args([
            "--ro",
            "-a",
            "tests/fixtures/sample.iso",
            "readlink",
            "/README.TXT",
        ])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("not a symbolic link"));
}

#[test]
fn glob_runs_the_command_for_each_match_as_the_shell_expands() {
    let (_keep, x) = reference(&fixture("sample.iso"));
    let image = fixture("sample.iso");
    let theirs = tool("sh", &["-c", "cat docs/*.txt"], Some(&x));
    assert_eq!(
        run(&image, &["glob", "cat", "/docs/*.txt"]).into_bytes(),
        theirs
    );
    let theirs = tool(
        "sh",
        &["-c", "export LC_ALL=C; for d in */; do ls -A \"$d\"; done"],
        Some(&x),
    );
    assert_eq!(
        run(&image, &["glob", "ls", "/*/"]),
        String::from_utf8(theirs).unwrap()
    );
    // No match: the pattern is passed on as it is, and the command says what it thinks.
    isofish()
        .args([
            "--ro",
            "-a",
            "tests/fixtures/sample.iso",
            "glob",
            "cat",
            "/nothing*",
        ])
        .assert()
        .code(1)
        .stderr("isofish: error: /nothing*: no such file or directory\n");
}

#[test]
fn a_missing_path_is_an_error_naming_it() {
    for cmd in ["cat", "ll", "find", "head", "hexdump", "stat", "file"] {
        isofish()
            .args(["--ro", "-a", "tests/fixtures/sample.iso", cmd, "/no/such"])
            .assert()
            .code(1)
            .stderr("isofish: error: /no/such: no such file or directory\n");
    }
}

#[test]
fn walks_enter_filesystems_mounted_below() {
    // rr112.iso mounted over sample.iso's empty directory: find, du and tar-out see its tree
    // there, as `find /` of rr112.iso alone lists it.
    let inner = run(&fixture("rr112.iso"), &["find", "/"]);
    let out = isofish()
        .args([
            "--ro",
            "-a",
            "tests/fixtures/sample.iso",
            "-a",
            "tests/fixtures/rr112.iso",
            "mount",
            "/dev/sdb",
            "/empty",
            ":",
            "find",
            "/",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let outer = String::from_utf8(out.stdout).unwrap();
    let below: Vec<&str> = outer
        .lines()
        .filter_map(|l| l.strip_prefix("empty/"))
        .collect();
    assert_eq!(below, inner.lines().collect::<Vec<_>>());
    let tar = isofish()
        .args([
            "--ro",
            "-a",
            "tests/fixtures/sample.iso",
            "-a",
            "tests/fixtures/rr112.iso",
            "mount",
            "/dev/sdb",
            "/empty",
            ":",
            "tar-out",
            "/empty",
            "-",
        ])
        .output()
        .unwrap();
    assert!(tar.status.success());
    let dir = scratch();
    let path = dir.path().join("t.tar");
    std::fs::write(&path, tar.stdout).unwrap();
    let listing = String::from_utf8(tool("tar", &["-tf", path.to_str().unwrap()], None)).unwrap();
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.trim_start_matches("./").trim_end_matches('/'))
        .filter(|l| !l.is_empty())
        .collect();
    let mut sorted_inner: Vec<&str> = inner.lines().collect();
    sorted_inner.sort();
    let mut sorted_names = names.clone();
    sorted_names.sort();
    assert_eq!(sorted_names, sorted_inner);
}

#[test]
fn ls_lists_what_ls_a_lists() {
    let (_keep, x) = reference(&fixture("rr112.iso"));
    let image = fixture("rr112.iso");
    for dir in ["", "links", "a/b", "emptydir"] {
        let mut cmd = std::process::Command::new("ls");
        cmd.arg("-A").arg(x.join(dir)).env("LC_ALL", "C");
        let theirs = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
        assert_eq!(
            run(&image, &["ls", &format!("/{dir}")]),
            theirs,
            "ls /{dir}"
        );
    }
}

#[test]
fn relative_paths_follow_cd() {
    let image = fixture("sample.iso");
    let absolute = run(&image, &["find", "/docs"]);
    assert_eq!(run(&image, &["cd", "/docs", ":", "find", "."]), absolute);
    assert_eq!(
        run(&image, &["cd", "/docs/guide", ":", "cat", "../readme-link"]),
        run(&image, &["cat", "/README.TXT"])
    );
    assert_eq!(
        run(
            &image,
            &["cd", "/docs", ":", "checksum", "md5", "guide/intro.txt"]
        ),
        run(&image, &["checksum", "md5", "/docs/intro-hardlink.txt"])
    );
}
