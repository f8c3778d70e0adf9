//! `-v`: messages on standard error about what the session does (the images opened, the
//! filesystems mounted, the plan a commit writes), each line `isofish: ...`. Off unless the
//! shell turns it on ([`enable`]).

use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);

/// Turns the messages on (`-v`).
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

/// True when `-v` was given.
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Writes `isofish: MESSAGE` on standard error when `-v` was given; the message is only
/// formatted then.
pub fn say(message: impl FnOnce() -> String) {
    if enabled() {
        eprintln!("isofish: {}", message());
    }
}
