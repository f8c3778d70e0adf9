//! Commands about the shell itself from issue 19: `time CMD` (guestfish's, its time on
//! standard error), `--help` that lists the commands as `help` does, and reading a path that
//! no mount covers.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{fixture, isofish, scratch};

/// The seconds of `time`'s `elapsed time: S.HH seconds` lines in `stderr`.
fn elapsed_lines(stderr: &[u8]) -> Vec<f64> {
    String::from_utf8_lossy(stderr)
        .lines()
        .map(|l| {
            let secs = l
                .strip_prefix("elapsed time: ")
                .and_then(|r| r.strip_suffix(" seconds"))
                .unwrap_or_else(|| panic!("not a time line: {l:?}"));
            let (_, hundredths) = secs.split_once('.').expect("S.HH");
            assert_eq!(hundredths.len(), 2, "{l}");
            secs.parse().unwrap()
        })
        .collect()
}

/// `isofish --ro -a IMAGE`, ready for more arguments.
fn read_only(image: &Path) -> assert_cmd::Command {
    let mut cmd = isofish();
    cmd.arg("--ro").arg("-a").arg(image);
    cmd
}

#[test]
fn time_prints_the_wall_time_the_command_took_on_stderr() {
    let dir = scratch();
    let image = dir.path().join("copy.iso");
    std::fs::copy(fixture("sample.iso"), &image).unwrap();
    // `upload -` waits for its standard input, which comes a known time later.
    let delay = Duration::from_millis(600);
    let started = Instant::now();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("isofish"))
        .arg("-a")
        .arg(&image)
        .args([
            "time",
            "upload",
            "-",
            "/slow.txt",
            ":",
            "cat",
            "/slow.txt",
            ":",
        ])
        .arg("quit!")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(delay);
    stdin.write_all(b"late data\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let wall = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"late data\n");
    let times = elapsed_lines(&out.stderr);
    assert_eq!(times.len(), 1, "{out:?}");
    // The wait is in the time: the command began once isofish had started and opened the
    // image, some way into the delay on a loaded host, so half the delay at least.
    assert!(
        times[0] >= delay.as_secs_f64() / 2.0 && times[0] <= wall,
        "elapsed {} outside [{delay:?} / 2, {wall}]",
        times[0]
    );
    // quit! dropped the upload: the image is the fixture still.
    assert_eq!(
        std::fs::read(&image).unwrap(),
        std::fs::read(fixture("sample.iso")).unwrap()
    );
}

#[test]
fn time_leaves_the_output_alone_and_a_failing_command_prints_no_time() {
    let image = fixture("sample.iso");
    let plain = read_only(&image)
        .write_stdin("ls / | wc -l\n")
        .output()
        .unwrap();
    let timed = read_only(&image)
        .write_stdin("time time ls / | wc -l\n")
        .output()
        .unwrap();
    assert!(
        plain.status.success() && timed.status.success(),
        "{timed:?}"
    );
    assert_eq!(timed.stdout, plain.stdout);
    // `time time` times twice.
    assert_eq!(elapsed_lines(&timed.stderr).len(), 2, "{timed:?}");

    let failed = |words: &[&str]| read_only(&image).args(words).output().unwrap();
    let alone = failed(&["cat", "/no-such-file"]);
    let timed = failed(&["time", "cat", "/no-such-file"]);
    assert_eq!(timed.status.code(), Some(1));
    assert_eq!((timed.stdout, timed.stderr), (alone.stdout, alone.stderr));
    let usage = failed(&["time"]);
    assert_eq!(usage.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&usage.stderr).contains("usage: time COMMAND [ARG...]"),
        "{usage:?}"
    );
}

#[test]
fn long_help_lists_the_commands_help_lists_and_both_helps_point_to_help_command() {
    let help = isofish().arg("help").output().unwrap();
    assert!(help.status.success(), "{help:?}");
    // The groups of commands, up to the pointer at `help COMMAND` after them.
    let mut listed: Vec<String> = String::from_utf8(help.stdout)
        .unwrap()
        .lines()
        .take_while(|l| !l.starts_with("help COMMAND"))
        .map(String::from)
        .collect();
    while listed.last().is_some_and(|l| l.is_empty()) {
        listed.pop();
    }
    assert!(
        listed.iter().any(|l| l.starts_with("  help ")),
        "{listed:?}"
    );

    let long = isofish().arg("--help").output().unwrap();
    assert!(long.status.success(), "{long:?}");
    let long = String::from_utf8(long.stdout).unwrap();
    // The same lines, in the same order, one after another, after the flags.
    let lines: Vec<&str> = long.lines().collect();
    let first = lines
        .iter()
        .position(|l| *l == listed[0])
        .unwrap_or_else(|| panic!("--help does not list {:?}:\n{long}", listed[0]));
    assert_eq!(&lines[first..first + listed.len()], &listed[..], "{long}");
    assert!(long.find("--add").unwrap() < first_byte(&long, &listed[0]));

    let short = isofish().arg("-h").output().unwrap();
    assert!(short.status.success(), "{short:?}");
    for text in [&long, &String::from_utf8(short.stdout).unwrap()] {
        assert!(text.contains("'isofish help COMMAND'"), "{text}");
    }
}

/// Where `line` starts in `text`.
fn first_byte(text: &str, line: &str) -> usize {
    text.find(&format!("\n{line}\n")).unwrap() + 1
}

const NOTHING_MOUNTED: &str =
    "isofish: error: nothing is mounted at /; add an image with -a, then mount it (or use -i)\n";

#[test]
fn reading_a_path_with_nothing_mounted_is_an_error_not_an_empty_root() {
    // No image at all, and an image opened but not mounted (the script's trap).
    for words in [&["ll", "/"][..], &["ls", "/"], &["cat", "/README.TXT"]] {
        isofish()
            .args(words)
            .assert()
            .code(1)
            .stdout("")
            .stderr(NOTHING_MOUNTED);
    }
    let script = "open tests/fixtures/sample.iso\nll /\n";
    isofish()
        .args(["--ro", "-f", "-"])
        .write_stdin(script)
        .assert()
        .code(1)
        .stdout("")
        .stderr(format!("stdin:2: {NOTHING_MOUNTED}"));
    for words in [
        &["find", "/"][..],
        &["exists", "/README.TXT"],
        &["cd", "/docs"],
    ] {
        isofish()
            .args(["--ro", "-a", "tests/fixtures/sample.iso", "umount-all", ":"])
            .args(words)
            .assert()
            .code(1)
            .stdout("")
            .stderr(NOTHING_MOUNTED);
    }
}

#[test]
fn with_nothing_mounted_devices_still_read_and_a_root_above_mounts_still_lists() {
    let image = fixture("boot-eltorito.iso");
    let mounted = read_only(&image)
        .args(["boot-info", "/dev/sda"])
        .output()
        .unwrap();
    assert!(mounted.status.success(), "{mounted:?}");
    read_only(&image)
        .args(["umount-all", ":", "boot-info", "/dev/sda", ":"])
        .args(["vfs-type", "/dev/sda"])
        .assert()
        .success()
        .stdout(format!(
            "{}iso9660\n",
            String::from_utf8(mounted.stdout).unwrap()
        ));
    // A mount below `/` only: `/` is the directory leading to it, and the rest is not found
    // (an error the leading `-` lets the run go past).
    read_only(&image)
        .args(["-m", "/dev/sda:/cd", "ls", "/", ":", "-ls", "/elsewhere"])
        .assert()
        .success()
        .stdout("cd\n")
        .stderr("isofish: error: /elsewhere: no such file or directory\n");
}
