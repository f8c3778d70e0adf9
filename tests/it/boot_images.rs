//! Boot images for the boot tests: the checked-in ones from tests/fixtures, the large ones
//! built on demand by tests/fixtures/make-boot.sh (once per test run, under the target
//! directory), and parsers for the reports of the oracles (xorriso, isoinfo, fdisk) and of
//! `boot-info`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::common::{isofish, root, tool};

/// The ISO boot fixtures: every layout the boot tests hold isofish to (boot-extended, an MBR
/// disk that is no ISO, aside).
pub const ISO_LAYOUTS: &[&str] = &[
    "boot-eltorito",
    "boot-appended",
    "boot-hybrid",
    "boot-apm",
    "boot-grub",
    "boot-floppy",
    "boot-harddisk",
    "boot-multi-efi",
    "boot-gpt-appended",
    "boot-ubuntu",
    "boot-hidden",
    "boot-isohybrid",
    "boot-isohybrid-uefi",
    "boot-platforms",
    "boot-criteria",
];

/// The image `name`: the checked-in fixture, or one built on demand.
pub fn image(name: &str) -> PathBuf {
    let checked_in = root().join("tests/fixtures").join(format!("{name}.iso"));
    if checked_in.exists() {
        return checked_in;
    }
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(p) = built.get(name) {
        return p.clone();
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("boot-images");
    std::fs::create_dir_all(&dir).expect("a directory for built images");
    let script = root().join("tests/fixtures/make-boot.sh");
    tool(
        script.to_str().expect("a UTF-8 path"),
        &[name, dir.to_str().expect("a UTF-8 path")],
        None,
    );
    let path = dir.join(format!("{name}.iso"));
    built.insert(name.to_string(), path.clone());
    path
}

/// A copy of image `name` in `dir`, to patch.
pub fn copy(name: &str, dir: &Path) -> PathBuf {
    let to = dir.join(format!("{name}.iso"));
    std::fs::copy(image(name), &to).expect("a copy of the image");
    to
}

/// Splits `Label : value` lines into (label, value).
fn labelled(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once(" : ").or_else(|| l.split_once(": ")))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// xorriso's `-report_el_torito plain -report_system_area plain`, as (label, value) lines.
pub fn xorriso(path: &Path) -> Vec<(String, String)> {
    let out = tool(
        "xorriso",
        &[
            "-indev",
            path.to_str().expect("a UTF-8 path"),
            "-report_el_torito",
            "plain",
            "-report_system_area",
            "plain",
        ],
        None,
    );
    labelled(&String::from_utf8_lossy(&out))
}

/// The values of the lines labelled `label`.
pub fn values<'a>(lines: &'a [(String, String)], label: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter(|(k, _)| k == label)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The whitespace-separated fields of each value labelled `label`.
pub fn value_fields<'a>(lines: &'a [(String, String)], label: &str) -> Vec<Vec<&'a str>> {
    values(lines, label).into_iter().map(fields).collect()
}

/// The one value labelled `label`.
pub fn value<'a>(lines: &'a [(String, String)], label: &str) -> &'a str {
    let v = values(lines, label);
    assert_eq!(v.len(), 1, "one {label:?} line expected in {lines:#?}");
    v[0]
}

/// Runs isofish on `path` (added with `open`, so nothing is mounted) and returns stdout.
pub fn run(path: &Path, command: &[&str]) -> String {
    let mut args = vec!["open", path.to_str().expect("a UTF-8 path"), ":"];
    args.extend_from_slice(command);
    let out = isofish().args(&args).assert().success();
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

/// `boot-info /dev/sda` on `path`, as (label, value) lines.
pub fn boot_info(path: &Path) -> Vec<(String, String)> {
    labelled(&run(path, &["boot-info", "/dev/sda"]))
}

/// Whitespace-separated fields.
pub fn fields(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

/// A GUID as its stored bytes in hex (how xorriso prints GUIDs), from its text form.
pub fn guid_hex(text: &str) -> String {
    let h: String = text
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_lowercase();
    let swap = |s: &str| -> String {
        (0..s.len() / 2)
            .rev()
            .map(|i| &s[2 * i..2 * i + 2])
            .collect()
    };
    format!(
        "{}{}{}{}",
        swap(&h[0..8]),
        swap(&h[8..12]),
        swap(&h[12..16]),
        &h[16..]
    )
}
