//! The browser end to end in a real pseudo-terminal (python3's `pty`, driven by
//! `tests/it/tui_pty/drive.py`): `isofish --tui` opens an image, enters a nested squashfs with
//! Enter, climbs back out, quits with `q`, exits 0 and leaves the terminal as it found it
//! (alternate screen left, mouse reporting off, termios unchanged); and `browse` from the
//! interactive shell hands the session back where the pane was; what is written to stderr
//! meanwhile shows in the status line, not over the pane, and reaches the terminal afterwards.

use crate::common::{root, scratch, tool};
use crate::tui::{browse_image, SAMPLE};

/// Runs `drive.py SCENARIO isofish ARGS...` and checks it says `ok`.
fn drive(scenario: &str, args: &[&str]) {
    let binary = assert_cmd::cargo::cargo_bin("isofish");
    let script = root().join("tests/it/tui_pty/drive.py");
    let mut argv = vec![script.to_str().unwrap(), scenario, binary.to_str().unwrap()];
    argv.extend_from_slice(args);
    let out = tool("python3", &argv, Some(&root()));
    assert_eq!(String::from_utf8_lossy(&out), "ok\n");
}

#[test]
fn tui_enters_a_nested_squashfs_and_quits_leaving_the_terminal_restored() {
    let dir = scratch();
    let iso = browse_image(dir.path());
    drive("nested", &["--ro", "--tui", "-a", iso.to_str().unwrap()]);
}

#[test]
fn tui_catches_stderr_shows_it_in_the_status_line_and_repeats_it_on_leaving() {
    let dir = scratch();
    let iso = browse_image(dir.path());
    drive("stderr", &["--ro", "--tui", "-a", iso.to_str().unwrap()]);
}

#[test]
fn browse_from_the_shell_returns_to_it_in_the_directory_the_pane_left() {
    drive("repl", &["--ro", "-a", SAMPLE]);
}
