//! The library's error type: every failure says which image, which structure and which offset,
//! and whether the image is corrupt, the feature unsupported, or the user asked for something
//! that does not exist.

use std::io;

/// Errors of the isofish library. The binary adds context with `anyhow` at the edges.
#[derive(Debug, thiserror::Error)]
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
