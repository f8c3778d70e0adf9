//! The one place isofish asserts a thread-safety property the compiler cannot see: fatfs's
//! filesystem made `Send`, so the reader can keep it behind a `Mutex` (which then makes it
//! `Sync`) and be shared between threads like every other filesystem.
#![allow(unsafe_code)]

use std::ops::Deref;

use super::Disk;

/// fatfs's filesystem over our read-only disk, movable between threads.
pub(super) struct SendFs(fatfs::FileSystem<Disk>);

// SAFETY: `fatfs::FileSystem` is not `Send` only because its options hold `&'static dyn`
// references to the code page converter and time provider, and those are the crate's default
// ones (unit structs without state, used only to convert names and to stamp writes, which
// never happen here). Everything else in it is owned data, and the reader only reaches it
// through a `Mutex`, one thread at a time.
unsafe impl Send for SendFs {}

impl SendFs {
    /// Wraps `fs`, opened with the default options (see the `Send` impl).
    pub(super) fn new(fs: fatfs::FileSystem<Disk>) -> Self {
        SendFs(fs)
    }
}

impl Deref for SendFs {
    type Target = fatfs::FileSystem<Disk>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
