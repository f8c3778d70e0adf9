//! The library's error type: every failure says which image, which structure and which offset,
//! and whether the image is corrupt, the feature unsupported, or the user asked for something
//! that does not exist; the write side's refusals (no space, a read-only target, a busy mount, a
//! name the target format cannot store); and the one policy for locks a panicking thread left
//! poisoned ([`lock_cache`], [`lock_state`]).

use std::io;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Errors of the isofish library. The binary adds context with `anyhow` at the edges.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The host could not read or write a file.
    #[error("{image}: {source}")]
    Io {
        image: String,
        #[source]
        source: io::Error,
    },
    /// A structure on the disc is damaged or lies about its sizes.
    #[error("{image}: corrupt {structure} at offset {offset}: {detail}")]
    Corrupt {
        image: String,
        structure: &'static str,
        offset: u64,
        detail: String,
    },
    /// The image uses a feature isofish does not read (yet).
    #[error("{image}: unsupported {what}")]
    Unsupported { image: String, what: String },
    /// A path inside the session does not exist.
    #[error("{0}: no such file or directory")]
    NotFound(String),
    /// A path inside the session was asked for while nothing at all is mounted (a script that
    /// added an image but did not mount it), rather than an empty root.
    #[error("nothing is mounted at /; add an image with -a, then mount it (or use -i)")]
    NothingMounted,
    /// A path component that must be a directory is not one.
    #[error("{0}: not a directory")]
    NotADirectory(String),
    /// A file operation was asked of a directory.
    #[error("{0}: is a directory")]
    IsADirectory(String),
    /// A symlink chain is too long or loops.
    #[error("{0}: too many levels of symbolic links")]
    SymlinkLoop(String),
    /// The command was used wrongly (bad argument, unknown device...).
    #[error("{0}")]
    Usage(String),
    /// The target has no room for what is to be written.
    #[error("{target}: no space left: {detail}")]
    NoSpace { target: String, detail: String },
    /// The target may not be written: the session is read-only (`--ro`), or its format is one
    /// isofish only reads.
    #[error("{target}: read-only: {reason}")]
    ReadOnly { target: String, reason: String },
    /// The thing is in use: a mount that nested mounts depend on, or that holds staged changes.
    #[error("{path}: busy: {reason}")]
    Busy { path: String, reason: String },
    /// The target format cannot store a name (too long, a character it has no code for...).
    #[error("{path}: {format} cannot store this name: {why}")]
    CannotStoreName {
        path: String,
        format: &'static str,
        why: String,
    },
    /// A thread panicked while it held the lock on a structure a panic can leave half-changed;
    /// the structure is not used again.
    #[error("{0} poisoned by an earlier panic")]
    Poisoned(&'static str),
    /// The user pressed Ctrl-C: the command stopped ([`crate::cancel`]).
    #[error("interrupted")]
    Interrupted,
}

/// Result with the library's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A corrupt-structure error; `image` names the image (or nested image) being read.
    pub fn corrupt(
        image: impl Into<String>,
        structure: &'static str,
        offset: u64,
        detail: impl Into<String>,
    ) -> Self {
        Error::Corrupt {
            image: image.into(),
            structure,
            offset,
            detail: detail.into(),
        }
    }

    /// An unsupported-feature error.
    pub fn unsupported(image: impl Into<String>, what: impl Into<String>) -> Self {
        Error::Unsupported {
            image: image.into(),
            what: what.into(),
        }
    }

    /// A host I/O error on `image`.
    pub fn io(image: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            image: image.into(),
            source,
        }
    }
}

// The one policy for poisoned locks. A lock is poisoned when a thread panicked while holding it.
// Where every critical section leaves the data whole (a cache, a once-filled slot: at worst an
// entry is missing), the guard is taken back and work goes on: `lock_cache`. Where a panic can
// leave the data half-changed (a foreign reader's state in mid-operation, two maps that must
// agree), the structure is refused from then on with `Error::Poisoned` naming it: `lock_state`.

/// Locks a cache or once-filled slot, taking the guard back from a poisoned lock (see above).
pub fn lock_cache<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Locks state a panic can leave half-changed; a poisoned lock is [`Error::Poisoned`] naming
/// `structure` (`"FAT reader"`).
pub fn lock_state<'a, T>(
    mutex: &'a Mutex<T>,
    structure: &'static str,
) -> Result<MutexGuard<'a, T>> {
    mutex.lock().map_err(|_| Error::Poisoned(structure))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mutex poisoned by a thread that panicked while holding it, after setting it to 7.
    fn poisoned() -> Mutex<u32> {
        let mutex = Mutex::new(0);
        let _ = std::thread::scope(|s| {
            s.spawn(|| {
                let mut guard = mutex.lock().unwrap();
                *guard = 7;
                panic!("poisoning the lock on purpose");
            })
            .join()
        });
        assert!(mutex.is_poisoned());
        mutex
    }

    #[test]
    fn write_side_errors_name_the_target_and_why() {
        let cases = [
            (
                Error::NoSpace {
                    target: "out.iso".into(),
                    detail: "4096 bytes more than the 2 GiB the sink takes".into(),
                },
                "out.iso: no space left: 4096 bytes more than the 2 GiB the sink takes",
            ),
            (
                Error::ReadOnly {
                    target: "/".into(),
                    reason: "the session was opened with --ro".into(),
                },
                "/: read-only: the session was opened with --ro",
            ),
            (
                Error::Busy {
                    path: "/sqsh".into(),
                    reason: "/sysroot is mounted from /sqsh/LiveOS/rootfs.img".into(),
                },
                "/sqsh: busy: /sysroot is mounted from /sqsh/LiveOS/rootfs.img",
            ),
            (
                Error::CannotStoreName {
                    path: "/efi/a\\b".into(),
                    format: "FAT",
                    why: "a backslash is not allowed in a long name".into(),
                },
                "/efi/a\\b: FAT cannot store this name: a backslash is not allowed in a long name",
            ),
        ];
        for (err, text) in cases {
            assert_eq!(err.to_string(), text);
        }
    }

    #[test]
    fn a_cache_is_taken_back_from_a_poisoned_lock() {
        assert_eq!(*lock_cache(&poisoned()), 7);
    }

    #[test]
    fn state_behind_a_poisoned_lock_is_refused_by_name() {
        let mutex = poisoned();
        let err = lock_state(&mutex, "FAT reader").map(|_| ()).unwrap_err();
        assert!(matches!(err, Error::Poisoned("FAT reader")));
        assert_eq!(err.to_string(), "FAT reader poisoned by an earlier panic");
        assert_eq!(*lock_state(&Mutex::new(3), "FAT reader").unwrap(), 3);
    }
}
