//! `changes`, `diff`, `revert` and `revert-all` on a copy of the sample image: the list says
//! what the edit commands staged, the diffs are GNU `diff -u`'s hunks, and each kind of
//! change reverts to what the image holds.

use std::path::{Path, PathBuf};

use crate::common::{fixture, isofish, scratch};

/// A copy of fixture `name` in `dir` (changes are staged on it, never on the fixture).
fn copy(dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    std::fs::copy(fixture(name), &to).unwrap();
    to
}

/// Runs `isofish -a IMAGE ARGS : revert-all` (nothing is left to commit); returns stdout,
/// or panics with stderr.
fn run(image: &Path, args: &[&str]) -> String {
    let out = isofish()
        .arg("-a")
        .arg(image)
        .args(args)
        .args([":", "revert-all"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "isofish {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The words of a command line without quoted words.
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Runs `isofish -a IMAGE ARGS`, expecting it to fail; returns stderr.
fn fails(image: &Path, args: &[&str]) -> String {
    let out = isofish().arg("-a").arg(image).args(args).output().unwrap();
    assert!(!out.status.success(), "isofish {args:?} succeeded");
    String::from_utf8(out.stderr).unwrap()
}

fn cat(image: &Path, path: &str) -> String {
    let out = isofish()
        .args(["--ro", "-a"])
        .arg(image)
        .args(["cat", path])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn changes_lists_what_the_edits_staged_in_path_order() {
    let d = scratch();
    let iso = copy(d.path(), "sample.iso");
    let out = run(
        &iso,
        &words("write /zz.txt new : mkdir-p /a/b : write /a/b/f x : write-append /docs/guide/intro.txt more : write /README.TXT y : changes"),
    );
    assert_eq!(
        out,
        "M /README.TXT\nA /a/\nA /a/b/\nA /a/b/f\nM /docs/guide/intro.txt\nA /zz.txt\n\
         commit: rewrite (/a: added)\n"
    );
}

#[test]
fn nothing_staged_prints_nothing() {
    let d = scratch();
    let iso = copy(d.path(), "sample.iso");
    assert_eq!(
        run(&iso, &["changes", ":", "diff", ":", "changes", "-v"]),
        ""
    );
    let ro = isofish()
        .args(["--ro", "-a"])
        .arg(&iso)
        .args(["changes", ":", "revert", "/README.TXT", ":", "revert-all"])
        .output()
        .unwrap();
    assert!(ro.status.success());
    assert!(ro.stdout.is_empty() && ro.stderr.is_empty());
}

#[test]
fn data_written_back_unchanged_is_only_a_change_of_times() {
    let d = scratch();
    let iso = copy(d.path(), "sample.iso");
    let text = cat(&iso, "/README.TXT");
    let out = run(
        &iso,
        &["write", "/README.TXT", &text, ":", "changes", ":", "diff"],
    );
    assert_eq!(out, "m /README.TXT (times)\ncommit: in place\n");
}

/// The hunks of a unified diff (everything after its `---`/`+++` header lines).
fn hunks(diff: &str) -> Vec<&str> {
    let lines: Vec<&str> = diff.lines().collect();
    assert!(lines[0].starts_with("--- ") && lines[1].starts_with("+++ "));
    lines[2..].to_vec()
}

/// GNU `diff -u` of two texts, written to host files.
fn gnu_diff(dir: &Path, old: &str, new: &str) -> String {
    let (a, b) = (dir.join("old"), dir.join("new"));
    std::fs::write(&a, old).unwrap();
    std::fs::write(&b, new).unwrap();
    let out = std::process::Command::new("diff")
        .arg("-u")
        .args([&a, &b])
        .output()
        .expect("GNU diff runs");
    assert_eq!(out.status.code(), Some(1), "the texts differ");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn diff_hunks_are_gnu_diff_hunks() {
    let d = scratch();
    let iso = copy(d.path(), "sample.iso");
    let cfg = cat(&iso, "/isolinux/isolinux.cfg");
    let readme = cat(&iso, "/README.TXT");
    let intro = cat(&iso, "/docs/guide/intro.txt");
    let cases: Vec<(&str, String, String)> = vec![
        (
            "/isolinux/isolinux.cfg",
            cfg.clone(),
            cfg.replace("timeout 50", "timeout 10") + "label rescue\n  kernel /boot/rescue\n",
        ),
        (
            "/README.TXT",
            readme.clone(),
            "isofish sample image\nchanged\nThis image is built by hand.".into(),
        ),
        ("/docs/guide/intro.txt", intro.clone(), String::new()),
        ("/docs/empty.txt", String::new(), "one\ntwo\nthree\n".into()),
        ("/docs/new.txt", String::new(), "fresh\nfile\n".into()),
    ];
    for (path, old, new) in &cases {
        let out = run(&iso, &["write", path, new, ":", "diff", path]);
        assert_eq!(
            hunks(&out),
            hunks(&gnu_diff(d.path(), old, new)),
            "diff {path}:\n{out}"
        );
    }
}

/// Texts whose diffs have several hunks (the image's files are too short for that, and files
/// made in a session have no old side until a commit), diffed as `diff` does.
#[test]
fn hunks_of_longer_texts_are_gnu_diff_hunks() {
    let d = scratch();
    let long: String = (1..=40).map(|i| format!("line {i}\n")).collect();
    let cases = [
        (
            long.clone(),
            long.replace("line 3\n", "line three\n")
                .replace("line 30\n", "")
                + "line 41\n",
        ),
        (long.clone(), long.replace("line 20\n", "twenty\nmore\n")),
        (long.clone(), long.trim_end().to_string()),
        ("a\nb\nc\n".into(), "x\ny\n".into()),
    ];
    for (old, new) in cases {
        let mut ours = Vec::new();
        isofish::commands::changes::unified(old.as_bytes(), new.as_bytes(), "a", "b", &mut ours)
            .unwrap();
        let ours = String::from_utf8(ours).unwrap();
        assert_eq!(
            hunks(&ours),
            hunks(&gnu_diff(d.path(), &old, &new)),
            "{ours}"
        );
    }
}

#[test]
fn diff_headers_name_the_paths_and_dev_null() {
    let d = scratch();
    let iso = copy(d.path(), "sample.iso");
    let out = run(
        &iso,
        &[
            "write",
            "/docs/new.txt",
            "a\n",
            ":",
            "write",
            "/docs/empty.txt",
            "b\n",
            ":",
            "diff",
            "/docs",
        ],
    );
    assert_eq!(
        out,
        "--- a/docs/empty.txt\n+++ b/docs/empty.txt\n@@ -0,0 +1 @@\n+b\n\
         --- /dev/null\n+++ b/docs/new.txt\n@@ -0,0 +1 @@\n+a\n"
    );
    let verbose = run(
        &iso,
        &["write", "/docs/new.txt", "a\n", ":", "changes", "-v"],
    );
    assert_eq!(
        verbose,
        "A /docs/new.txt\n--- /dev/null\n+++ b/docs/new.txt\n@@ -0,0 +1 @@\n+a\n\
         commit: rewrite (/docs/new.txt: added)\n"
    );
}

#[test]
fn diff_of_unchanged_and_missing_paths() {
    let d = scratch();
    let iso = copy(d.path(), "sample.iso");
    assert_eq!(
        run(&iso, &["write", "/a", "x", ":", "diff", "/README.TXT"]),
        ""
    );
    let err = fails(&iso, &["diff", "/nope"]);
    assert!(err.contains("/nope: no such file or directory"), "{err}");
}

#[test]
fn binary_files_are_shown_by_size() {
    let d = scratch();
    let iso = copy(d.path(), "nested.iso");
    let out = run(&iso, &["write-append", "/root.sqfs", "x", ":", "diff"]);
    assert_eq!(
        out,
        "Binary files a/root.sqfs and b/root.sqfs differ (4096 -> 4097 bytes)\n"
    );
}

#[test]
fn each_mount_with_changes_has_a_header() {
    let d = scratch();
    let iso = copy(d.path(), "nested.iso");
    let out = run(
        &iso,
        &words("mount-loop /root.sqfs /sq : write /sq/etc/motd hi : write /n x : changes : diff /sq/etc/motd"),
    );
    assert_eq!(
        out,
        "/:\nA /n\n\n/sq:\nM /sq/etc/motd\n\ncommit: the nested images rebuilt first (innermost \
         first), then in place if they fit, else a rewrite\n  rebuild /root.sqfs: squashfs\n\
         --- a/sq/etc/motd\n+++ b/sq/etc/motd\n\
         @@ -1 +1 @@\n-Welcome to the nested root.\n+hi\n\\ No newline at end of file\n"
    );
}

#[test]
fn revert_drops_each_kind_of_change() {
    let d = scratch();
    let iso = copy(d.path(), "sample.iso");
    let readme = cat(&iso, "/README.TXT");
    // A modified file gets its data back; an added file and an added directory (with what
    // was made in it) go; a directory reverts everything below it.
    let out = run(
        &iso,
        &words("write /README.TXT changed : write /new.txt n : mkdir-p /a/b : write /a/b/f x : write /docs/guide/intro.txt y : mkdir /docs/more : revert /README.TXT /new.txt /a /docs : changes : cat /README.TXT : ls /"),
    );
    assert_eq!(out, format!("{readme}README.TXT\ndocs\nempty\nisolinux\n"));
    // Reverting one change leaves the others.
    let out = run(
        &iso,
        &words("write /x 1 : write /y 2 : revert /x : changes"),
    );
    assert_eq!(out, "A /y\ncommit: rewrite (/y: added)\n");
    let err = fails(&iso, &["revert", "/nope"]);
    assert!(err.contains("/nope: no such file or directory"), "{err}");
}

#[test]
fn a_mount_with_everything_reverted_can_be_unmounted() {
    let d = scratch();
    let iso = copy(d.path(), "nested.iso");
    let out = run(
        &iso,
        &words("mount-loop /root.sqfs /sq : write /sq/etc/motd hi : revert /sq/etc/motd : umount /sq : mounts"),
    );
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn revert_all_drops_everything_in_every_mount() {
    let d = scratch();
    let iso = copy(d.path(), "nested.iso");
    let out = run(
        &iso,
        &words("mount-loop /root.sqfs /sq : write /sq/etc/motd hi : mkdir /new : revert-all : changes : cat /sq/etc/motd : umount /sq : exists /new"),
    );
    assert_eq!(out, "Welcome to the nested root.\nfalse\n");
}

#[test]
fn a_reverted_tree_lists_as_the_image_does() {
    let d = scratch();
    let iso = copy(d.path(), "sample.iso");
    let look = words("ll / : ll /docs : ll /docs/guide : ll /isolinux");
    let edits = words(
        "write /README.TXT x : write-append /docs/guide/intro.txt y : mkdir-p /docs/guide/deep/er : \
         write /isolinux/new.cfg z : write /docs/empty.txt w : revert / :",
    );
    let image = run(&iso, &look);
    assert_eq!(run(&iso, &[edits, look].concat()), image);
}
