//! `help` as people read it: the commands listed by group, a command's page rendered (plain
//! text in a pipe, bold headings in a terminal, wrapped to its width) and paged through
//! `$PAGER` when it is longer than the screen; `isofish -h` and `--help` list the commands too.

use std::path::Path;

use crate::common::{isofish, scratch};

/// What a pseudo-terminal of `rows` x `cols` shows while `isofish ARGS...` runs in it, with
/// `env` added to the environment (python3's `pty`).
fn in_a_terminal(rows: u16, cols: u16, env: &[(&str, &str)], args: &[&str]) -> String {
    const SPAWN: &str = "import fcntl, os, pty, struct, sys, termios\n\
        rows, cols = int(sys.argv[1]), int(sys.argv[2])\n\
        pid, fd = pty.fork()\n\
        if pid == 0:\n    \
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))\n    \
            os.execv(sys.argv[3], sys.argv[3:])\n\
        out = b''\n\
        while True:\n    try:\n        d = os.read(fd, 4096)\n    except OSError:\n        break\n    if not d:\n        break\n    out += d\n\
        os.waitpid(pid, 0)\n\
        sys.stdout.buffer.write(out)\n";
    let binary = assert_cmd::cargo::cargo_bin("isofish");
    let (rows, cols) = (rows.to_string(), cols.to_string());
    let mut cmd = std::process::Command::new("python3");
    cmd.args(["-c", SPAWN, &rows, &cols, binary.to_str().unwrap()])
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("PAGER")
        .env_remove("LESS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("python3 runs (tests/run installs it)");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

/// The page of `name` in a pipe.
fn piped(name: &str) -> String {
    let out = isofish().args(["help", name]).output().unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The page's own Markdown, as the repository has it.
fn source(name: &str) -> String {
    std::fs::read_to_string(crate::common::root().join(format!("commands/{name}.md"))).unwrap()
}

#[test]
fn a_page_in_a_pipe_is_plain_text() {
    for name in ["cat", "browse", "help", "tar-out"] {
        let text = piped(name);
        let markdown = source(name);
        assert!(markdown.contains("\n## ") && markdown.contains("```"));
        assert!(
            !text.lines().any(|l| l.trim_start().starts_with('#')),
            "{name}: a heading's # left:\n{text}"
        );
        assert!(!text.contains("```"), "{name}: a fence left");
        assert!(!text.contains('\x1b'), "{name}: an escape sequence");
        assert!(!text.contains("? failed"), "{name}: the docs test's mark");
        // Headings at the margin, text under them indented, examples indented further.
        assert!(text.starts_with(&format!("{name}\n\n    ")), "{text}");
        assert!(text.contains("\nSynopsis\n\n        "), "{text}");
        assert!(text.contains("\nExamples\n\n"), "{text}");
        assert!(text.contains("\n        $ isofish "), "{text}");
        // Text (not examples, which are shown as they are) wraps at 80 columns.
        for line in text.lines().filter(|l| !l.starts_with("        ")) {
            assert!(line.chars().count() <= 80, "{name}: {line:?}");
        }
    }
    // The browse page's key table is in columns.
    assert!(piped("browse").contains("\n    PgUp PgDn          move a page\n"));
}

#[test]
fn a_page_in_a_terminal_has_bold_headings_and_fits_its_width() {
    let shown = in_a_terminal(200, 60, &[], &["help", "cat"]);
    assert!(shown.contains("\x1b[1mSynopsis\x1b[0m"), "{shown:?}");
    assert!(shown.contains("\x1b[1mExamples\x1b[0m"), "{shown:?}");
    // Inline code is marked (in colour, as NO_COLOR is not set).
    assert!(shown.contains("\x1b[36mPATH\x1b[0m"), "{shown:?}");
    let unstyled = strip_escapes(&shown);
    for line in unstyled.lines().filter(|l| !l.starts_with("        ")) {
        assert!(line.chars().count() <= 60, "{line:?}");
    }
    let no_color = in_a_terminal(200, 60, &[("NO_COLOR", "1")], &["help", "cat"]);
    assert!(no_color.contains("\x1b[1mPATH\x1b[0m"), "{no_color:?}");
    assert!(!no_color.contains("\x1b[36m"));
}

/// `text` without SGR escape sequences.
fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after.find('m').map_or(after.len(), |e| e + 1);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// A pager that records its input and its `LESS` in `dir`.
fn recording_pager(dir: &Path) -> String {
    format!(
        "cat > '{0}/paged'; echo \"$LESS\" > '{0}/less'",
        dir.display()
    )
}

#[test]
fn a_page_longer_than_the_terminal_goes_through_the_pager() {
    let dir = scratch();
    let pager = recording_pager(dir.path());
    let shown = in_a_terminal(24, 80, &[("PAGER", &pager)], &["help", "help"]);
    let paged = std::fs::read_to_string(dir.path().join("paged")).expect("the pager ran");
    assert!(paged.contains("\x1b[1mSynopsis\x1b[0m"));
    assert!(paged.lines().count() > 24);
    assert!(
        !shown.contains("Synopsis"),
        "the page went to the pager: {shown:?}"
    );
    let less = std::fs::read_to_string(dir.path().join("less")).unwrap();
    assert_eq!(less.trim(), "FRX");

    // A screen the page fits in shows it directly.
    let dir = scratch();
    let pager = recording_pager(dir.path());
    let shown = in_a_terminal(500, 80, &[("PAGER", &pager)], &["help", "help"]);
    assert!(!dir.path().join("paged").exists());
    assert!(shown.contains("Synopsis"));

    // So does a pipe, however long the page.
    let dir = scratch();
    isofish()
        .env("PAGER", recording_pager(dir.path()))
        .args(["help", "help"])
        .assert()
        .success();
    assert!(!dir.path().join("paged").exists());
}

#[test]
fn help_lists_every_command_under_a_group() {
    let out = isofish().arg("help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for group in [
        "Reading:",
        "Extracting:",
        "Editing (staged):",
        "Boot:",
        "The shell:",
    ] {
        assert!(text.lines().any(|l| l == group), "{group}\n{text}");
    }
    let listed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut names: Vec<&str> = isofish::commands::all().iter().map(|c| c.name).collect();
    names.sort_unstable();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, names, "each command once");
    assert!(text.ends_with("\nhelp COMMAND shows a command's page.\n"));
}

#[test]
fn dash_h_and_dash_dash_help_list_the_commands_and_point_at_help() {
    let short = isofish().arg("-h").output().unwrap();
    let short = String::from_utf8(short.stdout).unwrap();
    assert!(short.contains("\nCommands:\n"));
    assert!(short.contains("  Reading:") && short.contains(" cat cd "));
    assert!(short.contains("'isofish help COMMAND' shows a command's page"));
    let long = isofish().arg("--help").output().unwrap();
    let long = String::from_utf8(long.stdout).unwrap();
    assert!(long.contains("\nReading:\n  cat                  Print a file's contents.\n"));
    assert!(long.contains("'isofish help COMMAND' shows a command's page"));
}
