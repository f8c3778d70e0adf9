//! The browser end to end in a real pseudo-terminal (python3's `pty`, driven by
//! `tests/it/tui_pty/drive.py`): `isofish --tui` opens an image, enters a nested squashfs with
//! Enter, climbs back out, quits with `q`, exits 0 and leaves the terminal as it found it
//! (alternate screen left, mouse reporting off, termios unchanged); and `browse` from the
//! interactive shell hands the session back where the pane was; what is written to stderr
//! meanwhile shows in the status line, not over the pane, and reaches the terminal afterwards.
//! The editing keys on copies of an image: `e` with EDITOR set to a sed that rewrites a file
//! (the terminal handed over and taken back), then `changes` after `browse` in the same
//! one-liner; `w` to a new image read back by xorriso and bsdtar, the opened one unchanged; a
//! file inside a nested squashfs edited and listed by `s`; and `q` with changes staged asking
//! before `isofish --tui` ends.

use crate::commit::xorriso_cat;
use crate::common::{root, scratch, tool};
use crate::tui::{browse_image, bsdtar_children, SAMPLE};

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

/// A copy of the browse image in `dir`, and its bytes before anything ran.
fn image_copy(dir: &std::path::Path) -> (std::path::PathBuf, Vec<u8>) {
    let iso = browse_image(dir);
    let bytes = std::fs::read(&iso).unwrap();
    (iso, bytes)
}

#[test]
fn e_edits_a_file_in_the_editor_and_changes_after_the_pane_lists_it() {
    let dir = scratch();
    let (iso, _) = image_copy(dir.path());
    drive(
        "edit",
        &["-a", iso.to_str().unwrap(), "browse", ":", "changes"],
    );
    // The one-liner committed what the pane staged at its end.
    let notes = xorriso_cat(&iso, "/notes.txt");
    let text = String::from_utf8(notes).unwrap();
    assert!(text.contains("line 6\nline SEVEN\nline 8\n"), "{text}");
}

#[test]
fn w_commits_what_e_staged_to_a_new_image_and_leaves_the_opened_one() {
    let dir = scratch();
    let (iso, before) = image_copy(dir.path());
    drive("commit", &["--tui", "-a", iso.to_str().unwrap()]);
    let new = iso.with_file_name("browse.iso.new.iso");
    let text = String::from_utf8(xorriso_cat(&new, "/notes.txt")).unwrap();
    assert!(text.contains("line 6\nline SEVEN\nline 8\n"), "{text}");
    let out = tool(
        "bsdtar",
        &["-xOf", new.to_str().unwrap(), "notes.txt"],
        None,
    );
    assert_eq!(String::from_utf8(out).unwrap(), text);
    assert_eq!(
        std::fs::read(&iso).unwrap(),
        before,
        "the opened image is unchanged"
    );
}

#[test]
fn leaving_tui_with_staged_changes_asks_and_c_commits_them_into_the_image() {
    let dir = scratch();
    let (iso, _) = image_copy(dir.path());
    drive("leave", &["--tui", "-a", iso.to_str().unwrap()]);
    assert!(bsdtar_children(&iso, "").contains(&"fromtui".to_string()));
}

#[test]
fn e_edits_a_file_inside_a_nested_squashfs_and_s_lists_it_under_its_mount() {
    let dir = scratch();
    let (iso, before) = image_copy(dir.path());
    drive("nested-edit", &["--tui", "-a", iso.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(&iso).unwrap(),
        before,
        "d left the image as it was"
    );
}
