//! Helpers shared by the integration tests: the binary, the fixtures, scratch directories.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A checked-in fixture, by file name (`tests/fixtures/NAME`).
pub fn fixture(name: &str) -> PathBuf {
    let p = root().join("tests/fixtures").join(name);
    assert!(
        p.exists(),
        "missing fixture {} (run tests/fixtures/make.sh)",
        p.display()
    );
    p
}

/// The isofish binary, ready for arguments.
pub fn isofish() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("isofish").expect("the isofish binary is built");
    cmd.env_remove("NO_COLOR").current_dir(root());
    cmd
}

/// A fresh scratch directory, removed when dropped.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("isofish-test")
        .tempdir()
        .expect("a temp dir")
}

/// Runs a host tool and returns its stdout; panics with its stderr when it fails (the oracle
/// tools are installed by .ci/run: a missing one is a failure, never a skip).
pub fn tool(program: &str, args: &[&str], cwd: Option<&Path>) -> Vec<u8> {
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{program} could not run ({e}); .ci/run installs it"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `isofish --ro -a IMAGE ARGS`; returns stdout, or panics with stderr.
pub fn run_ro(image: &Path, args: &[&str]) -> Vec<u8> {
    ok_stdout(isofish(), image, args)
}

/// [`run_ro`] with TZ=UTC (times print the same on every host), stdout as text.
pub fn run_ro_utc(image: &Path, args: &[&str]) -> String {
    let mut cmd = isofish();
    cmd.env("TZ", "UTC");
    String::from_utf8(ok_stdout(cmd, image, args)).unwrap()
}

/// What `cmd --ro -a IMAGE ARGS` did.
fn ro_output(mut cmd: assert_cmd::Command, image: &Path, args: &[&str]) -> std::process::Output {
    cmd.arg("--ro")
        .arg("-a")
        .arg(image)
        .args(args)
        .output()
        .unwrap()
}

fn ok_stdout(cmd: assert_cmd::Command, image: &Path, args: &[&str]) -> Vec<u8> {
    let out = ro_output(cmd, image, args);
    assert!(
        out.status.success(),
        "isofish {args:?} on {}: {}",
        image.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `isofish --ro -a IMAGE ARGS`, which must fail with exit status 1 within 30 s and
/// without a panic (a damaged image's error); returns its stdout and stderr.
pub fn refused_ro(image: &Path, args: &[&str]) -> (String, String) {
    let mut cmd = isofish();
    cmd.timeout(std::time::Duration::from_secs(30));
    let out = ro_output(cmd, image, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// Makes `image` of the host directory `tree` with `xorriso -as mkisofs -quiet -R`.
pub fn xorriso_rr(tree: &Path, image: &Path) {
    let (t, i) = (tree.to_str().unwrap(), image.to_str().unwrap());
    tool(
        "xorriso",
        &["-as", "mkisofs", "-quiet", "-R", "-o", i, t],
        None,
    );
}

/// Extracts `inside` (a file or a directory of `image`) to the host path `to` with xorriso.
pub fn xorriso_extract(image: &Path, inside: &str, to: &Path) {
    let (i, t) = (image.to_str().unwrap(), to.to_str().unwrap());
    xorriso(&["-osirrox", "on", "-indev", i, "-extract", inside, t]);
}

/// Runs xorriso quietly (`-no_rc -report_about FAILURE`, then `args`); returns its stdout.
pub fn xorriso(args: &[&str]) -> Vec<u8> {
    let mut all = vec!["-no_rc", "-report_about", "FAILURE"];
    all.extend_from_slice(args);
    tool("xorriso", &all, None)
}
