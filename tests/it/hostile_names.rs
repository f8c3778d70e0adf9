//! Names that would drive a terminal (issue 20, defect 4) and inputs without random access
//! (defect 8). An ISO xorriso makes from a tree whose names hold `ESC [2J`, a newline, a tab and
//! a backslash (Rock Ridge keeps them): on a terminal `ls`, `find`, `ll` and `readlink` print
//! them as GNU `ls -b` does on the host tree; into a pipe they print the bytes as stored; `find0`
//! splits back into the names; the browser pane draws them escaped, with no escape byte.
//! Warnings quote paths from the image escaped; `getxattrs` shows an attribute's name escaped
//! on a terminal and as stored into a pipe. And
//! `-a` of a pipe or a FIFO says that isofish needs random access instead of "no filesystem".

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use isofish::tui::App;
use ratatui::crossterm::event::KeyCode;

use crate::common::{fixture, isofish, scratch, tool, xorriso_rr};
use crate::tui::{key, screen, select, session};

/// Names below the tree's root (files unless said), as the host stores them.
const FILES: &[&[u8]] = &[
    b"clear\x1b[2Jme",
    b"new\nline",
    b"tab\there",
    b"back\\slash",
    b"plain",
    b"sub/in\x1bdir",
];
/// A symlink's name and target.
const LINK: (&[u8], &[u8]) = (b"link", b"\x1b[2Jtarget");
/// A text file whose line holds a colour sequence, for the pane's preview.
const TEXT: (&[u8], &[u8]) = (b"esc.txt", b"text \x1b[31mred\n");

/// The tree and its ISO, in `dir`.
fn hostile_iso(dir: &Path) -> (PathBuf, PathBuf) {
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    for name in FILES {
        std::fs::write(tree.join(OsStr::from_bytes(name)), b"data\n").unwrap();
    }
    std::fs::write(tree.join(OsStr::from_bytes(TEXT.0)), TEXT.1).unwrap();
    std::os::unix::fs::symlink(
        OsStr::from_bytes(LINK.1),
        tree.join(OsStr::from_bytes(LINK.0)),
    )
    .unwrap();
    let iso = dir.join("names.iso");
    xorriso_rr(&tree, &iso);
    crate::iso_names::names_match_read_dir(&iso, "");
    (tree, iso)
}

/// Every path below `dir` on the host, relative to it, as bytes, sorted bytewise.
fn host_paths(dir: &Path) -> Vec<Vec<u8>> {
    fn walk(dir: &Path, prefix: &[u8], out: &mut Vec<Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let mut rel = prefix.to_vec();
            rel.extend_from_slice(entry.file_name().as_bytes());
            if entry.file_type().unwrap().is_dir() {
                let mut below = rel.clone();
                below.push(b'/');
                walk(&entry.path(), &below, out);
            }
            out.push(rel);
        }
    }
    let mut out = Vec::new();
    walk(dir, b"", &mut out);
    out.sort();
    out
}

/// GNU `ls -b` (C locale) run in `cwd` with `args`: the escaped form the terminal must show.
fn ls_b(cwd: &Path, args: &[&OsStr]) -> String {
    let out = Command::new("ls")
        .env("LC_ALL", "C")
        .arg("-b")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("ls runs");
    assert!(out.status.success(), "ls -b {args:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `python3 -c SCRIPT`: `isofish --ro -a IMAGE ARGS` on a pseudo-terminal, its output
/// read to the end (carriage returns the terminal adds removed).
const ON_PTY: &str = r#"
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    out += data
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out.replace(b"\r\n", b"\n"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;

/// What `isofish --ro -a IMAGE ARGS` prints on a terminal; `color` leaves `NO_COLOR` unset.
fn on_terminal(image: &Path, args: &[&str], color: bool) -> String {
    let mut cmd = Command::new("python3");
    cmd.arg("-c")
        .arg(ON_PTY)
        .arg(assert_cmd::cargo::cargo_bin("isofish"))
        .arg("--ro")
        .arg("-a")
        .arg(image)
        .args(args)
        .env("TERM", "xterm");
    if color {
        cmd.env_remove("NO_COLOR");
    } else {
        cmd.env("NO_COLOR", "1");
    }
    let out = cmd.output().expect("python3 runs");
    assert!(out.status.success(), "isofish {args:?} on a terminal");
    String::from_utf8(out.stdout).expect("escaped output is UTF-8")
}

/// What `isofish --ro -a IMAGE ARGS` writes into a pipe.
fn into_pipe(image: &Path, args: &[&str]) -> Vec<u8> {
    let out = isofish()
        .arg("--ro")
        .arg("-a")
        .arg(image)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "isofish {args:?} into a pipe");
    out.stdout
}

/// `lines` joined, each ended by `end`.
fn joined(lines: &[Vec<u8>], end: u8) -> Vec<u8> {
    lines
        .iter()
        .flat_map(|l| l.iter().copied().chain([end]))
        .collect()
}

#[test]
fn on_a_terminal_names_print_as_gnu_ls_b_prints_them() {
    let dir = scratch();
    let (tree, iso) = hostile_iso(dir.path());

    let ls = on_terminal(&iso, &["ls", "/"], false);
    assert_eq!(ls, ls_b(&tree, &[]));
    assert!(
        ls.contains(r"clear\033[2Jme") && !ls.contains('\x1b'),
        "{ls:?}"
    );

    // Each path `find` prints is the path `ls -bd` prints for it in the tree.
    let paths = host_paths(&tree);
    let expected: String = paths
        .iter()
        .map(|p| {
            ls_b(
                &tree,
                &[OsStr::new("-d"), OsStr::new("--"), OsStr::from_bytes(p)],
            )
        })
        .collect();
    assert_eq!(on_terminal(&iso, &["find", "/"], false), expected);

    // `ll`, painted or not: each name as `ls -b` shows it, and the symlink's target too.
    let target = ls_b(&tree, &[OsStr::new("-l"), OsStr::new("link")]);
    let target = target.trim_end().rsplit(" -> ").next().unwrap().to_string();
    assert_eq!(target, r"\033[2Jtarget");
    for color in [false, true] {
        let ll = on_terminal(&iso, &["ll", "/"], color);
        for name in ls_b(&tree, &[]).lines() {
            assert!(ll.contains(name), "{name} in {ll:?}");
        }
        assert!(ll.contains(&format!(" -> {target}\n")), "{ll:?}");
        // `total`, `.`, `..`, then one line per entry: no name breaks its line.
        let entries = paths.iter().filter(|p| !p.contains(&b'/')).count();
        assert_eq!(ll.lines().count(), entries + 3, "{ll:?}");
        assert!(!ll.contains("\x1b[2J"), "{ll:?}");
        if !color {
            assert!(!ll.contains('\x1b'), "{ll:?}");
        }
    }
    assert_eq!(
        on_terminal(&iso, &["readlink", "/link"], false),
        format!("{target}\n")
    );

    // `checksums-out` to the terminal: one line per regular file, its name as `ls -b` shows it.
    let sums = on_terminal(&iso, &["checksums-out", "md5", "/", "-"], false);
    let files: Vec<&Vec<u8>> = paths
        .iter()
        .filter(|p| {
            tree.join(OsStr::from_bytes(p))
                .symlink_metadata()
                .unwrap()
                .is_file()
        })
        .collect();
    assert_eq!(sums.lines().count(), files.len(), "{sums:?}");
    for p in files {
        let shown = ls_b(
            &tree,
            &[OsStr::new("-d"), OsStr::new("--"), OsStr::from_bytes(p)],
        );
        assert!(
            sums.contains(&format!("  ./{shown}")),
            "{shown} in {sums:?}"
        );
    }
    assert!(!sums.contains('\x1b'), "{sums:?}");
}

#[test]
fn into_a_pipe_names_are_the_bytes_the_image_stores() {
    let dir = scratch();
    let (tree, iso) = hostile_iso(dir.path());
    let paths = host_paths(&tree);
    assert_eq!(into_pipe(&iso, &["find", "/"]), joined(&paths, b'\n'));
    let top: Vec<Vec<u8>> = paths
        .iter()
        .filter(|p| !p.contains(&b'/'))
        .cloned()
        .collect();
    assert_eq!(into_pipe(&iso, &["ls", "/"]), joined(&top, b'\n'));
    let ll = into_pipe(&iso, &["ll", "/"]);
    let has = |needle: &[u8]| ll.windows(needle.len()).any(|w| w == needle);
    assert!(has(b" clear\x1b[2Jme\n") && has(b" new\nline\n") && has(b" tab\there\n"));
    assert!(has(b" link -> \x1b[2Jtarget\n"));
    assert_eq!(into_pipe(&iso, &["readlink", "/link"]), b"\x1b[2Jtarget\n");
    let sums = into_pipe(&iso, &["checksums-out", "md5", "/", "-"]);
    assert!(
        sums.windows(13).any(|w| w == b"./clear\x1b[2Jme"),
        "{sums:?}"
    );
}

#[test]
fn find0_splits_on_nul_into_the_names() {
    let dir = scratch();
    let (tree, iso) = hostile_iso(dir.path());
    let paths = host_paths(&tree);
    let out = into_pipe(&iso, &["find0", "/", "-"]);
    let split: Vec<Vec<u8>> = out
        .strip_suffix(b"\0")
        .expect("every name ends with NUL")
        .split(|&b| b == 0)
        .map(<[u8]>::to_vec)
        .collect();
    assert_eq!(split, paths);
    // Into a host file, the same bytes; and below a directory, relative to it.
    let list = dir.path().join("list");
    into_pipe(&iso, &["find0", "/", list.to_str().unwrap()]);
    assert_eq!(std::fs::read(&list).unwrap(), out);
    assert_eq!(
        into_pipe(&iso, &["find0", "/sub", "-"]),
        b"in\x1bdir\0".to_vec()
    );
    // xargs -0 on the host takes the names back whole.
    let names = tool(
        "xargs",
        &["-0", "-a", list.to_str().unwrap(), "-n1", "printf", "%s|"],
        None,
    );
    let expected: Vec<u8> = paths
        .iter()
        .flat_map(|p| p.iter().copied().chain(*b"|"))
        .collect();
    assert_eq!(names, expected);
}

#[test]
fn the_browser_pane_draws_names_and_text_escaped_and_no_escape_byte() {
    let dir = scratch();
    let (_tree, iso) = hostile_iso(dir.path());
    let mut s = session(&iso);
    let mut app = App::new(&mut s, None).unwrap();
    let shown = screen(&mut app, 100, 30);
    assert!(!shown.contains('\x1b'), "{shown}");
    for name in [
        r"clear\033[2Jme",
        r"new\nline",
        r"tab\there",
        r"back\\slash",
    ] {
        assert!(shown.contains(name), "{name} in\n{shown}");
    }
    select(&mut app, "esc.txt");
    let shown = screen(&mut app, 100, 30);
    assert!(shown.contains(r"text \033[31mred"), "{shown}");
    assert!(!shown.contains('\x1b'), "{shown}");
    select(&mut app, "link");
    let shown = screen(&mut app, 100, 30);
    assert!(shown.contains(r"symbolic link to \033[2Jtarget"), "{shown}");
    select(&mut app, "sub");
    key(&mut app, KeyCode::Enter);
    let shown = screen(&mut app, 100, 30);
    assert!(shown.contains(r"in\033dir"), "{shown}");
    assert!(!shown.contains('\x1b'), "{shown}");
}

/// Checks a refusal of `-a PATH` for want of random access: status 1, the path named, what it
/// is, and how to get random access.
fn refused_for_random_access(out: &std::process::Output, path: &str, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains(&format!("{path}: {what}; isofish needs random access"))
            && stderr.contains("save it to a file first")
            && stderr.contains("cat > image.iso"),
        "{stderr}"
    );
    assert!(!stderr.contains("no filesystem found"), "{stderr}");
}

#[test]
fn an_image_from_a_pipe_or_a_fifo_is_refused_saying_random_access_is_needed() {
    let iso = fixture("sample.iso");
    let bytes = std::fs::read(&iso).unwrap();

    // Standard input from a pipe holding a real ISO.
    let out = isofish()
        .args(["-a", "/dev/stdin", "ll", "/"])
        .write_stdin(bytes)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    refused_for_random_access(&out, "/dev/stdin", "is a pipe");

    // A FIFO: refused without being opened, so without waiting for a writer.
    let dir = scratch();
    let fifo = dir.path().join("image.fifo");
    tool("mkfifo", &[fifo.to_str().unwrap()], None);
    let out = isofish()
        .arg("-a")
        .arg(&fifo)
        .args(["ll", "/"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    refused_for_random_access(&out, fifo.to_str().unwrap(), "is a pipe");

    // The same image on standard input from the file reads: the pipe was the trouble.
    let out = Command::new(assert_cmd::cargo::cargo_bin("isofish"))
        .args(["--ro", "-a", "/dev/stdin", "ls", "/"])
        .stdin(Stdio::from(std::fs::File::open(&iso).unwrap()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, into_pipe(&iso, &["ls", "/"]));
}

/// An ext4 image (mke2fs, then debugfs) whose directory `e ESC [2Jdir/sub/back` is a hard link
/// to `e ESC [2Jdir` itself: a loop whose warning quotes a path from the image.
#[test]
fn warnings_quote_paths_from_the_image_escaped() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    let top: &[u8] = b"e\x1b[2Jdir";
    std::fs::create_dir_all(tree.join(OsStr::from_bytes(top)).join("sub")).unwrap();
    let image = dir.path().join("loop.ext4");
    let img = image.to_str().unwrap();
    tool(
        "mke2fs",
        &[
            "-q",
            "-F",
            "-t",
            "ext4",
            "-d",
            tree.to_str().unwrap(),
            img,
            "1M",
        ],
        None,
    );
    let top_str = std::str::from_utf8(top).unwrap();
    let link = format!("link /{top_str} /{top_str}/sub/back");
    tool("debugfs", &["-w", "-R", &link, img], None);
    let out = isofish()
        .arg("--ro")
        .arg("-a")
        .arg(&image)
        .args(["find", "/"])
        .output()
        .unwrap();
    // The names into the pipe as stored; the warning as `ls -b` shows the path.
    let looped = [top, b"/sub/back"].concat();
    assert!(out.stdout.split(|&b| b == b'\n').any(|l| l == looped));
    let stderr = String::from_utf8(out.stderr).expect("escaped warnings are UTF-8");
    let shown = ls_b(&tree, &[OsStr::new("-d"), OsStr::from_bytes(top)]);
    let warning = format!(
        "isofish: warning: /{}/sub/back: not entered: the directory contains itself",
        shown.trim_end()
    );
    assert!(stderr.contains(&warning), "{stderr:?}");
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
}

/// A squashfs image (mksquashfs keeps extended attributes) whose file carries an attribute
/// named `user.e ESC [2Jx`: `getxattrs` shows the name as `ls -b` shows a file of that name
/// on a terminal, the stored bytes into a pipe, and the value in guestfish's escaped form.
#[test]
fn getxattrs_escapes_names_on_a_terminal_and_keeps_them_in_a_pipe() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    let file = tree.join("f");
    std::fs::write(&file, b"data\n").unwrap();
    let name: &[u8] = b"user.e\x1b[2Jx";
    tool(
        "setfattr",
        &[
            "-n",
            std::str::from_utf8(name).unwrap(),
            "-v",
            "0x761b77",
            file.to_str().unwrap(),
        ],
        None,
    );
    let image = dir.path().join("x.sqfs");
    let (t, img) = (tree.to_str().unwrap(), image.to_str().unwrap());
    tool("mksquashfs", &[t, img, "-quiet", "-no-progress"], None);
    // A host file of the attribute's name, for `ls -b` to show.
    let names = dir.path().join("names");
    std::fs::create_dir(&names).unwrap();
    std::fs::write(names.join(OsStr::from_bytes(name)), b"").unwrap();
    let shown = ls_b(&names, &[]);

    let terminal = on_terminal(&image, &["getxattrs", "/f"], false);
    let expected = format!("  attrname: {}  attrval: v\\x1bw\n", shown);
    assert!(terminal.contains(&expected), "{terminal:?}");
    assert!(!terminal.contains('\x1b'), "{terminal:?}");
    let pipe = into_pipe(&image, &["getxattrs", "/f"]);
    let expected = [b"  attrname: ", name, b"\n  attrval: v\\x1bw\n"].concat();
    assert!(
        pipe.windows(expected.len()).any(|w| w == expected),
        "{}",
        String::from_utf8_lossy(&pipe)
    );
}
