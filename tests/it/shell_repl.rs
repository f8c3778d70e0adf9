//! The shell as people use it (issue 19): lines typed ahead or pasted at the interactive
//! prompt, Ctrl-C during a long command (through a pseudo-terminal, driven by
//! `tests/it/shell_repl/drive.py`), Ctrl-C in a one-liner and a script (exit 130, nothing
//! committed), `<! cmd`, and guestfish's options: `--rw`/`-w`, `--format`, `-v`, and `add`'s
//! `readonly:`, `format:` and `label:`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{fixture, isofish, root, scratch, tool, xorriso, xorriso_rr};

/// Runs `drive.py SCENARIO isofish ARGS...` in `cwd` with `env`; returns what it printed
/// (ending with `ok`).
fn drive(scenario: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let binary = assert_cmd::cargo::cargo_bin("isofish");
    let script = root().join("tests/it/shell_repl/drive.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(scenario)
        .arg(binary)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root())
        .output()
        .expect("python3 runs (.ci/run installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.ends_with("ok\n"),
        "{scenario}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// An image holding `/big.txt` (8.4 MB of numbered lines) and a tree of 300 small files under
/// `/tree`, made by xorriso in `dir`.
fn big_image(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("tree")).unwrap();
    let text: String = (0..700_000).map(|i| format!("line {i:06}\n")).collect();
    std::fs::write(tree.join("big.txt"), text).unwrap();
    for i in 0..300 {
        std::fs::write(tree.join(format!("tree/f{i}")), format!("{i}\n")).unwrap();
    }
    let image = dir.join("big.iso");
    xorriso_rr(&tree, &image);
    image
}

#[test]
fn lines_sent_at_once_all_run_in_order() {
    drive(
        "typeahead",
        &["--ro", "-a", fixture("sample.iso").to_str().unwrap()],
        &[],
    );
}

#[test]
fn a_bracketed_paste_of_two_lines_runs_two_commands() {
    drive(
        "paste",
        &["--ro", "-a", fixture("sample.iso").to_str().unwrap()],
        &[],
    );
}

#[test]
fn ctrl_c_stops_hexdump_cat_and_tar_out_and_keeps_the_session() {
    let dir = scratch();
    let image = big_image(dir.path());
    let before = std::fs::read(&image).unwrap();
    drive("interrupt", &["-a", image.to_str().unwrap()], &[]);
    // The staged file was discarded at quit: the image is as it was.
    assert!(std::fs::read(&image).unwrap() == before);
}

/// Interrupts `command` where it stalls (at check number `check`), checking that `target` (a
/// glob pattern) exists then when given; returns what the driver printed about it.
fn stalled(image: &Path, command: &str, check: &str, target: Option<&Path>) -> String {
    let env = [
        ("ISOFISH_DEBUG_STALL_CHECK", check),
        ("DRIVE_COMMAND", command),
    ];
    stalled_with(&["--ro", "-a", image.to_str().unwrap()], &env, target)
}

/// [`stalled`] with the arguments and the whole environment of the driver given.
fn stalled_with(args: &[&str], env: &[(&str, &str)], target: Option<&Path>) -> String {
    let mut env = env.to_vec();
    let wait = target.map(|t| t.to_str().unwrap());
    if let Some(t) = wait {
        env.push(("DRIVE_WAIT_FOR", t));
    }
    drive("stalled", args, &env)
}

#[test]
fn an_interrupted_commit_leaves_the_image_and_the_staged_changes() {
    let dir = scratch();
    let image = big_image(dir.path());
    let before = std::fs::read(&image).unwrap();
    let env = [
        ("ISOFISH_DEBUG_STALL_CHECK", "1"),
        ("DRIVE_BEFORE", "write /staged.txt kept"),
        ("DRIVE_COMMAND", "commit"),
        ("DRIVE_AFTER", "cat /staged.txt"),
        ("DRIVE_EXPECT", "\r\nkept"),
    ];
    let temp = dir.path().join(".big.iso.isofish-*.tmp");
    let said = stalled_with(&["-a", image.to_str().unwrap()], &env, Some(&temp));
    assert_eq!(said, "gone\nok\n");
    assert!(std::fs::read(&image).unwrap() == before);
    // Neither the temporary file nor anything else is left beside the image.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["big.iso", "tree"]);
}

#[test]
fn an_interrupted_download_or_tar_out_leaves_no_partial_file() {
    let dir = scratch();
    let image = big_image(dir.path());
    let dest = dir.path().join("big.txt");
    let command = format!("download /big.txt {}", dest.display());
    assert_eq!(stalled(&image, &command, "1", Some(&dest)), "gone\nok\n");
    let tarball = dir.path().join("t.tar");
    let command = format!("tar-out / {}", tarball.display());
    assert_eq!(
        stalled(&image, &command, "20", Some(&tarball)),
        "gone\nok\n"
    );
}

#[test]
fn ctrl_c_stops_find_and_copy_out_walking_a_tree() {
    let dir = scratch();
    let image = big_image(dir.path());
    assert_eq!(stalled(&image, "find /", "100", None), "ok\n");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let command = format!("copy-out /tree {}", out.display());
    assert_eq!(stalled(&image, &command, "400", None), "ok\n");
    // Every file copied out before Ctrl-C is whole: no file is left short.
    for entry in std::fs::read_dir(out.join("tree")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let want = format!("{}\n", &name[1..]);
        assert_eq!(std::fs::read_to_string(entry.path()).unwrap(), want);
    }
}

/// Starts `isofish ARGS` with its stdout a pipe, reads until `started` appears in it, sends
/// SIGINT while the pipe is full, reads the rest; returns the exit status and stderr.
fn interrupted_run(args: &[&std::ffi::OsStr], started: &[u8]) -> (Option<i32>, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("isofish"))
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(started.len()).any(|w| w == started) {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "the output ended before {started:?}");
        seen.extend_from_slice(&buf[..n]);
    }
    tool("kill", &["-INT", &child.id().to_string()], None);
    std::io::copy(&mut stdout, &mut std::io::sink()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn ctrl_c_stops_a_one_liner_or_a_script_with_130_and_commits_nothing() {
    let dir = scratch();
    let image = big_image(dir.path());
    let before = std::fs::read(&image).unwrap();
    let os = |s: &str| std::ffi::OsString::from(s);
    let one_liner = [
        os("-a"),
        image.clone().into_os_string(),
        os("write"),
        os("/new.txt"),
        os("new"),
        os(":"),
        os("hexdump"),
        os("/big.txt"),
    ];
    let args: Vec<&std::ffi::OsStr> = one_liner.iter().map(|s| s.as_os_str()).collect();
    let (code, stderr) = interrupted_run(&args, b"|line 0000");
    assert_eq!(
        (code, stderr.as_str()),
        (Some(130), "isofish: interrupted\n")
    );
    let script = dir.path().join("s.fish");
    std::fs::write(
        &script,
        "write /new.txt new\ncat /big.txt\nwrite /after.txt x\n",
    )
    .unwrap();
    let script_args = [
        os("-a"),
        image.clone().into_os_string(),
        os("-f"),
        script.into(),
    ];
    let args: Vec<&std::ffi::OsStr> = script_args.iter().map(|s| s.as_os_str()).collect();
    let (code, stderr) = interrupted_run(&args, b"line 000001");
    assert_eq!(code, Some(130));
    assert!(
        stderr.ends_with("s.fish:2: isofish: interrupted\n"),
        "{stderr}"
    );
    assert!(
        std::fs::read(&image).unwrap() == before,
        "a change was committed"
    );
}

#[test]
fn host_command_output_runs_as_commands() {
    let sample = fixture("sample.iso");
    let sample = sample.to_str().unwrap();
    let direct = isofish()
        .args(["--ro", "-a", sample, "ls", "/docs", ":", "pwd"])
        .output()
        .unwrap();
    assert!(direct.status.success());
    let dir = scratch();
    let script = dir.path().join("s.fish");
    std::fs::write(&script, "<! printf 'ls /docs\\n# a comment\\npwd\\n'\n").unwrap();
    for args in [
        vec!["--ro", "-a", sample, "<!", "printf 'ls /docs\\npwd\\n'"],
        vec!["--ro", "-a", sample, "-f", script.to_str().unwrap()],
    ] {
        let out = isofish().args(&args).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(out.stdout, direct.stdout);
    }
    // A failing host command runs nothing; a failing generated command stops the rest.
    for (host, said) in [
        (
            "echo pwd; exit 3",
            "isofish: error: host command 'echo pwd; exit 3' exited with status 3\n",
        ),
        (
            "printf 'cat /nope\\npwd\\n'",
            "isofish: error: /nope: no such file or directory\n",
        ),
    ] {
        let out = isofish()
            .args(["--ro", "-a", sample, "<!", host])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty());
        assert_eq!(String::from_utf8_lossy(&out.stderr), said);
    }
}

/// The names xorriso lists in the root of `image`.
fn root_names(image: &Path) -> String {
    let out = xorriso(&["-indev", image.to_str().unwrap(), "-lsd", "/*"]);
    String::from_utf8(out).unwrap()
}

#[test]
fn rw_is_the_default_and_conflicts_with_ro() {
    let dir = scratch();
    let image = dir.path().join("cd.iso");
    std::fs::copy(fixture("sample.iso"), &image).unwrap();
    for (flag, name) in [("--rw", "/by-rw.txt"), ("-w", "/by-w.txt")] {
        isofish()
            .args([flag, "-a", image.to_str().unwrap(), "write", name, "x"])
            .assert()
            .success();
        assert!(root_names(&image).contains(&format!("'{name}'")), "{flag}");
    }
    let out = isofish().args(["--rw", "--ro"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

#[test]
fn format_is_accepted_before_an_image_and_checked() {
    let sample = fixture("sample.iso");
    let sample = sample.to_str().unwrap();
    let plain = isofish()
        .args(["--ro", "-a", sample, "ls", "/"])
        .output()
        .unwrap();
    for format in ["--format=raw", "--format=iso", "--format"] {
        let out = isofish()
            .args([format, "--ro", "-a", sample, "ls", "/"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{format}: {out:?}");
        assert_eq!(out.stdout, plain.stdout, "{format}");
    }
    // Each -a takes the last --format before it; -v says so.
    let out = isofish()
        .args(["-v", "--ro", "-a", sample, "--format=raw", "-a", sample])
        .args(["--format=iso", "--format", "-a", sample, "pwd"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let said: Vec<&str> = stderr.lines().filter(|l| l.contains("--format")).collect();
    assert_eq!(said, ["isofish: /dev/sdb: --format=raw (read as it is)"]);
    let out = isofish()
        .args(["--format=qcow2", "--ro", "-a", sample, "ls", "/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("qcow2"));
}

#[test]
fn verbose_says_what_is_opened_mounted_and_committed() {
    let dir = scratch();
    let image = dir.path().join("cd.iso");
    std::fs::copy(fixture("sample.iso"), &image).unwrap();
    let path = image.to_str().unwrap();
    let size = std::fs::metadata(&image).unwrap().len();
    let out = isofish()
        .args(["-v", "-a", path, "write", "/v.txt", "x"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[0],
        format!("isofish: added {path} as /dev/sda ({size} bytes)")
    );
    assert_eq!(lines[1], "isofish: mounted /dev/sda on / (iso9660)");
    let new_size = std::fs::metadata(&image).unwrap().len();
    assert!(
        lines[2].starts_with(&format!("isofish: commit: a plan of {new_size} bytes in ")),
        "{stderr}"
    );
    assert!(
        lines[2].ends_with(&format!("then renamed over {path}")),
        "{stderr}"
    );
    // Without -v, nothing.
    let out = isofish()
        .args(["--ro", "-a", path, "ls", "/"])
        .output()
        .unwrap();
    assert!(out.stderr.is_empty());
}

#[test]
fn add_takes_guestfishs_optional_arguments() {
    let dir = scratch();
    let image = dir.path().join("cd.iso");
    std::fs::copy(fixture("sample.iso"), &image).unwrap();
    let path = image.to_str().unwrap();
    let before = std::fs::read(&image).unwrap();
    let listed = |args: &[&str]| {
        let out = isofish().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        out.stdout
    };
    let by_label = listed(&[
        "add",
        path,
        "readonly:true",
        "format:raw",
        "label:cd",
        ":",
        "mount",
        "/dev/disk/guestfs/cd",
        "/",
        ":",
        "ls",
        "/",
    ]);
    assert_eq!(by_label, listed(&["--ro", "-a", path, "ls", "/"]));
    // readonly:true: nothing may be staged, so nothing is committed.
    let out = isofish()
        .args([
            "add",
            path,
            "readonly:true",
            ":",
            "mount",
            "/dev/sda",
            "/",
            ":",
            "write",
            "/x",
            "y",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "isofish: error: /x: read-only: /dev/sda was added with readonly:true\n"
    );
    assert!(std::fs::read(&image).unwrap() == before);
    // Usage errors name the command as typed.
    for (words, start) in [
        (
            vec!["add", path, "extra"],
            "add: wrong number of arguments; usage: add IMAGE [",
        ),
        (
            vec!["add-ro"],
            "add-ro: wrong number of arguments; usage: add-ro IMAGE [",
        ),
        (
            vec!["add", path, "format:qcow2"],
            "format:qcow2: expected raw or iso",
        ),
    ] {
        let out = isofish().arg("--ro").args(&words).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            stderr.starts_with(&format!("isofish: error: {start}")),
            "{stderr}"
        );
    }
}
