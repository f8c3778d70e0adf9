//! The staged layer: a [`FileSystem`](crate::fs::FileSystem) over a mounted filesystem that
//! holds the session's uncommitted changes, so every reader sees them with no code of its own.

use crate::fs::Ino;

/// How much of an object of a tree being written comes from the filesystem below the overlay.
/// Objects that come from it keep its [`Ino`], so a writer can ask the original for what the
/// generic metadata does not carry (the recorded name, compressed data as stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// Made in the overlay: nothing of it is in the original.
    New,
    /// An object of the original: `data` is true while its content is the original's.
    Base { data: bool },
}
