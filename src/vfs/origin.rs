//! Where a mounted filesystem comes from: each mount's [`MountId`] (a number never reused in a
//! session) and its [`Origin`] (a drive, a partition of a drive, a file of another mount, or the
//! decoded stream of one). Following origins from a mount down to a drive gives the images a
//! change has to be rebuilt into, innermost first; following them up gives the mounts that
//! depend on a mount and keep it from being unmounted.

use std::fmt;

use crate::fs::Ino;

/// A mount's number: given in the order mounts are made, from 1, and never given again in the
/// session, so it names one mount even after another takes its mountpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MountId(pub(super) u64);

impl fmt::Display for MountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mount {}", self.0)
    }
}

/// A regular file of a mounted filesystem: where a nested image lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRef {
    /// The mount whose filesystem holds the file.
    pub mount: MountId,
    /// The file's path from that filesystem's root (not the session's).
    pub path: String,
    /// The file's number in that filesystem.
    pub ino: Ino,
}

/// What a mount's filesystem is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A whole drive: its index in the session's drives (`/dev/sda` is 0).
    Drive { drive: usize },
    /// A partition of a drive: the drive's index and the partition's number (`/dev/sda2`: 0, 2).
    Partition { drive: usize, number: usize },
    /// An image held in a file of another mount, read through the file.
    File(FileRef),
    /// The decompressed stream of a file of another mount (a gzip'd cpio initrd, an `.img.xz`);
    /// `codec` is the compression (`gzip`, `xz`...) a rebuild encodes with again.
    Decoded { file: FileRef, codec: &'static str },
    /// A filesystem handed to the mount table directly, with nothing beneath it to rebuild.
    Detached,
}

impl Origin {
    /// The file of another mount this filesystem is read from (plainly or decoded).
    pub fn file(&self) -> Option<&FileRef> {
        match self {
            Origin::File(file) | Origin::Decoded { file, .. } => Some(file),
            _ => None,
        }
    }

    /// The drive this filesystem is read from (whole or a partition of it).
    pub fn drive(&self) -> Option<usize> {
        match self {
            Origin::Drive { drive } | Origin::Partition { drive, .. } => Some(*drive),
            _ => None,
        }
    }
}
