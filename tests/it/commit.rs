//! `commit` end to end: where the new image goes (the opened image, a new file, standard
//! output through a pipe), guestfish's commit at the end of a run (and none after a failure,
//! after `commit OUTPUT`, or under `quit!`), the REPL's question on `quit`, and the failures
//! that must leave the target byte-identical with no temporary file behind: a file-size limit,
//! a directory that does not exist, a process killed mid-commit (whose temporary file the
//! next commit removes). New images are read back by xorriso and bsdtar.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{fixture, isofish, root, scratch, tool};

/// A copy of `sample.iso` in `dir`, for a session that may change it.
fn copy_of_sample(dir: &Path) -> PathBuf {
    let path = dir.join("work.iso");
    std::fs::copy(fixture("sample.iso"), &path).unwrap();
    path
}

/// `isofish -a IMAGE ARGS` (not read-only); returns (status code, stdout, stderr).
fn run(image: &Path, args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = isofish().arg("-a").arg(image).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), out.stdout, err)
}

/// What xorriso extracts of `path` in `image`.
pub fn xorriso_cat(image: &Path, path: &str) -> Vec<u8> {
    let dir = scratch();
    let out = dir.path().join("x");
    tool(
        "xorriso",
        &[
            "-osirrox",
            "on",
            "-indev",
            image.to_str().unwrap(),
            "-extract",
            path,
            out.to_str().unwrap(),
        ],
        None,
    );
    std::fs::read(out).unwrap()
}

/// The names below the root of the directory listing of `bsdtar -tf`.
fn bsdtar_names(image: &Path) -> Vec<String> {
    let out = tool("bsdtar", &["-tf", image.to_str().unwrap()], None);
    let mut names: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| l.trim_start_matches("./").trim_end_matches('/').to_string())
        .filter(|l| !l.is_empty() && l != ".")
        .collect();
    names.sort();
    names
}

/// The files in `dir` (temporary files included).
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_one_liner_commits_its_changes_to_the_opened_image_at_its_end() {
    let dir = scratch();
    let image = copy_of_sample(dir.path());
    let (code, _, err) = run(&image, &["write", "/NEW.TXT", "made by a one-liner"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(xorriso_cat(&image, "/NEW.TXT"), b"made by a one-liner");
    assert!(bsdtar_names(&image).contains(&"NEW.TXT".to_string()));
    assert_eq!(
        entries(dir.path()),
        ["work.iso"],
        "a temporary file was left"
    );
}

#[test]
fn a_failed_run_a_commit_elsewhere_and_quit_bang_leave_the_opened_image_as_it_was() {
    let dir = scratch();
    let image = copy_of_sample(dir.path());
    let original = std::fs::read(&image).unwrap();
    let (code, _, err) = run(&image, &["write", "/A.TXT", "a", ":", "cat", "/nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("/nope: no such file or directory"), "{err}");
    let out = dir.path().join("new.iso");
    let (code, _, err) = run(
        &image,
        &["write", "/A.TXT", "a", ":", "commit", out.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(xorriso_cat(&out, "/A.TXT"), b"a");
    let (code, _, err) = run(&image, &["write", "/A.TXT", "a", ":", "quit!"]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(&image).unwrap() == original);
}

#[test]
fn commit_to_standard_output_writes_the_same_image_through_a_pipe() {
    let dir = scratch();
    let image = copy_of_sample(dir.path());
    let file = dir.path().join("file.iso");
    let piped = dir.path().join("piped.iso");
    let args = ["write", "/P.TXT", "piped", ":", "commit"];
    let (code, _, err) = run(&image, &[&args[..], &[file.to_str().unwrap()]].concat());
    assert_eq!(code, 0, "{err}");
    let script =
        "\"$0\" -a \"$1\" write /P.TXT piped : commit - | cat > \"$2\"; exit ${PIPESTATUS[0]}";
    let status = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(assert_cmd::cargo::cargo_bin("isofish"))
        .arg(&image)
        .arg(&piped)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(xorriso_cat(&piped, "/P.TXT"), b"piped");
    assert_eq!(bsdtar_names(&piped), bsdtar_names(&file));
}

#[test]
fn a_file_size_limit_fails_the_commit_and_leaves_the_target_and_no_temporary_file() {
    let dir = scratch();
    let image = copy_of_sample(dir.path());
    let target = dir.path().join("target.iso");
    std::fs::write(&target, b"the previous target").unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 8 && exec \"$0\" -a \"$1\" write /F.TXT f : commit \"$2\"")
        .arg(assert_cmd::cargo::cargo_bin("isofish"))
        .arg(&image)
        .arg(&target)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no space left"), "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"the previous target");
    assert_eq!(entries(dir.path()), ["target.iso", "work.iso"]);
}

#[test]
fn a_target_in_a_missing_directory_is_refused_naming_it() {
    let dir = scratch();
    let image = copy_of_sample(dir.path());
    let target = dir.path().join("nowhere/new.iso");
    let (code, _, err) = run(&image, &["commit", target.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("nowhere: no such file or directory"), "{err}");
}

#[test]
fn a_commit_killed_midway_leaves_the_image_and_the_next_commit_removes_its_temporary_file() {
    let dir = scratch();
    let image = copy_of_sample(dir.path());
    let original = std::fs::read(&image).unwrap();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("isofish"))
        .args([
            "-a",
            image.to_str().unwrap(),
            "write",
            "/K.TXT",
            "k",
            ":",
            "commit",
        ])
        .env("ISOFISH_DEBUG_COMMIT_STALL", "40000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let temp = dir
        .path()
        .join(format!(".work.iso.isofish-{}.tmp", child.id()));
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(&temp).map_or(true, |m| m.len() < 20000) {
        assert!(Instant::now() < deadline, "the commit never got half way");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        std::fs::read(&image).unwrap() == original,
        "the image changed"
    );
    assert!(temp.exists(), "the kill left no temporary file to clean up");
    let (code, _, err) = run(&image, &["write", "/K.TXT", "k"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(entries(dir.path()), ["work.iso"]);
    assert_eq!(xorriso_cat(&image, "/K.TXT"), b"k");
}

#[test]
fn quit_in_the_shell_asks_about_staged_changes_and_commits_on_c() {
    let dir = scratch();
    let image = copy_of_sample(dir.path());
    let script = root().join("tests/it/tui_pty/drive.py");
    let binary = assert_cmd::cargo::cargo_bin("isofish");
    let out = tool(
        "python3",
        &[
            script.to_str().unwrap(),
            "quit",
            binary.to_str().unwrap(),
            "-a",
            image.to_str().unwrap(),
        ],
        Some(&root()),
    );
    assert_eq!(String::from_utf8_lossy(&out), "ok\n");
    assert_eq!(xorriso_cat(&image, "/QUIT.TXT"), b"hello");
}
