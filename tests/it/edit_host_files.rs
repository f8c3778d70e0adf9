//! Host files staged by reference (`upload`, `copy-in`): none stays open, so a tree of more
//! files than the limit on open files (`ulimit -n`) is copied in and committed; each is opened
//! when its data is needed and checked then, so one removed or changed since it was staged
//! fails the read and the commit, naming it, and the commit writes nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{fixture, isofish, scratch, tool};

/// A scratch directory holding a copy of `sample.iso` (`work.iso`), for a session that may
/// change it.
fn work() -> (tempfile::TempDir, PathBuf) {
    let dir = scratch();
    let image = dir.path().join("work.iso");
    std::fs::copy(fixture("sample.iso"), &image).unwrap();
    (dir, image)
}

/// The names in `dir` (temporary files included).
fn names(dir: &Path) -> BTreeSet<String> {
    let list = std::fs::read_dir(dir).unwrap();
    list.map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

/// `isofish -a IMAGE` running `script` from standard input.
fn script(image: &Path, script: &str) -> Output {
    let mut cmd = isofish();
    cmd.arg("-a").arg(image).write_stdin(script);
    cmd.output().unwrap()
}

#[test]
fn copy_in_of_more_files_than_may_be_open_then_commit() {
    let (dir, image) = work();
    let tree = dir.path().join("many");
    std::fs::create_dir(&tree).unwrap();
    let count = 600;
    for i in 0..count {
        std::fs::write(tree.join(format!("f{i:04}")), format!("file {i}\n")).unwrap();
    }
    let out = dir.path().join("out.iso");
    // `ulimit -n` sets the hard limit too: nothing can raise it back.
    let run = Command::new("sh")
        .arg("-c")
        .arg(
            "ulimit -n 256 && exec \"$0\" -a \"$1\" copy-in \"$2\" / : cat /many/f0599 \
             : commit \"$3\"",
        )
        .arg(assert_cmd::cargo::cargo_bin("isofish"))
        .arg(&image)
        .arg(&tree)
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "file 599\n");
    let listed = tool("isoinfo", &["-R", "-f", "-i", out.to_str().unwrap()], None);
    let listed = String::from_utf8(listed).unwrap();
    let copied = listed.lines().filter(|l| l.starts_with("/many/f")).count();
    assert_eq!(copied, count, "{listed}");
    let back = isofish()
        .arg("--ro")
        .arg("-a")
        .arg(&out)
        .args(["cat", "/many/f0123"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&back.stdout),
        "file 123\n",
        "{back:?}"
    );
}

/// Uploads `f` (holding `v1`), runs the host command `change` on it, then commits to a new
/// file in its own directory: the commit must fail naming `f`, with `says` in the message, and
/// leave no file there; the opened image is left as it was.
fn commit_after(change: &str, says: &str) {
    let (dir, image) = work();
    let before = std::fs::read(&image).unwrap();
    let f = dir.path().join("up.txt");
    std::fs::write(&f, "v1\n").unwrap();
    let outdir = dir.path().join("out");
    std::fs::create_dir(&outdir).unwrap();
    let target = outdir.join("new.iso");
    let f = f.display();
    let run = script(
        &image,
        &format!(
            "upload {f} /UP.TXT\n!{change} {f}\ncommit {}\n",
            target.display()
        ),
    );
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("{f}: uploaded file {says}")), "{err}");
    assert!(names(&outdir).is_empty(), "nothing is written");
    assert!(
        std::fs::read(&image).unwrap() == before,
        "the image is as it was"
    );
    // No temporary file beside the image either.
    let mut left = names(dir.path());
    left.remove("up.txt");
    assert_eq!(left, BTreeSet::from(["out".into(), "work.iso".into()]));
}

#[test]
fn a_removed_upload_fails_the_commit_naming_it_and_writes_nothing() {
    commit_after("rm", "is gone since it was staged");
}

#[test]
fn an_upload_appended_to_fails_the_commit_naming_it_and_writes_nothing() {
    commit_after("echo more >>", "changed since it was staged");
}

#[test]
fn a_copied_in_file_removed_after_is_an_error_naming_it_when_read() {
    let (dir, image) = work();
    let f = dir.path().join("gone");
    std::fs::write(&f, "still here\n").unwrap();
    // A script: `!rm` runs on the host between the commands. No descriptor was kept: reading
    // the file opens it, and finds it gone.
    let f = f.display();
    let run = script(&image, &format!("copy-in {f} /\n!rm {f}\ncat /gone\n"));
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "");
    assert!(
        err.contains(&format!("{f}: uploaded file is gone since it was staged")),
        "{err}"
    );
}
