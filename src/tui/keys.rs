//! The browser's keys, in one table: the `?` help, the hint line and `commands/browse.md` (a
//! test checks that the page lists every key) all come from it.

/// (keys, what they do), in the order `?` lists them.
pub const KEYS: &[(&str, &str)] = &[
    ("Up Down  k j", "move the selection (the mouse wheel too)"),
    ("PgUp PgDn", "move a page"),
    ("g G  Home End", "first, last entry"),
    (
        "Right l  Enter",
        "open a directory; mount a nested image in place and open it; view a file",
    ),
    (
        "Left h  Backspace",
        "go up; leaving a nested image unmounts it",
    ),
    (
        "/",
        "filter the listing as you type (Enter keeps the filter, Esc drops it)",
    ),
    ("n N", "next, previous entry matching the last filter"),
    ("i", "info: metadata, mount, device and volume"),
    ("x", "extract the selection to a host directory"),
    ("c", "copy the selection's path to the clipboard"),
    (
        "e F4",
        "edit the file in $VISUAL, $EDITOR or vi; staged when it changed",
    ),
    (
        "r F6",
        "rename or move the selection (a prompt with its name)",
    ),
    ("m F7", "make a directory here (a prompt for its name)"),
    (
        "d F8 Delete",
        "remove the selection, after a question naming what goes",
    ),
    (
        "u",
        "upload a host file into this directory (a prompt for its path; Tab completes it)",
    ),
    ("z", "revert the selection's staged changes"),
    (
        "s",
        "the staged changes (as `changes`): Enter goes to one, z reverts it",
    ),
    (
        "w",
        "commit: back into the image (Enter), or to a new image's path",
    ),
    (":", "run one shell command and show its output"),
    ("?", "this help"),
    (
        "q  Esc",
        "quit (Esc first drops a filter or stops an extraction)",
    ),
];

/// The one-line reminder at the bottom of the screen.
pub const HINT: &str =
    "↑↓ move  → open  ← back  / filter  i info  x extract  c copy  : command  ? help  q quit";

/// The help popup's lines.
pub fn help_lines() -> Vec<String> {
    let width = KEYS.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    KEYS.iter()
        .map(|(k, what)| format!("{k:<width$}  {what}"))
        .collect()
}
