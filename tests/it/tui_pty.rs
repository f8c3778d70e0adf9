//! The browser end to end in a real pseudo-terminal (python3's `pty`, driven by
//! `tests/it/tui_pty/drive.py`): `isofish --tui` opens an image, enters a nested squashfs with
//! Enter, climbs back out, quits with `q`, exits 0 and leaves the terminal as it found it
//! (alternate screen left, mouse reporting off, termios unchanged).

use crate::common::{root, scratch, tool};
use crate::tui::browse_image;

#[test]
fn tui_enters_a_nested_squashfs_and_quits_leaving_the_terminal_restored() {
    let dir = scratch();
    let iso = browse_image(dir.path());
    let binary = assert_cmd::cargo::cargo_bin("isofish");
    let script = root().join("tests/it/tui_pty/drive.py");
    let out = tool(
        "python3",
        &[
            script.to_str().unwrap(),
            binary.to_str().unwrap(),
            "--ro",
            "--tui",
            "-a",
            iso.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(String::from_utf8_lossy(&out), "ok\n");
}
