//! A filesystem read from a decoded compressed image (an `.img.gz`, an xz'd squashfs): the
//! inner filesystem as it is, with `mounts` told how its bytes were decoded and where they are
//! kept.

use std::sync::Arc;

use crate::error::Result;
use crate::fs::{DirEntry, FileSystem, Ino, Metadata, NameKind, Span, Xattr};
use crate::source::Source;

/// The filesystem found in a decoded stream, and what to say about the decoding.
pub struct DecodedFs {
    pub inner: Arc<dyn FileSystem>,
    /// `gzip decoded in memory`, `xz decoded to a temporary file`.
    pub note: String,
}

impl FileSystem for DecodedFs {
    fn type_name(&self) -> &'static str {
        self.inner.type_name()
    }
    fn source(&self) -> &Arc<dyn Source> {
        self.inner.source()
    }
    fn label(&self) -> Option<String> {
        self.inner.label()
    }
    fn root(&self) -> Ino {
        self.inner.root()
    }
    fn metadata(&self, ino: Ino) -> Result<Metadata> {
        self.inner.metadata(ino)
    }
    fn read_dir(&self, dir: Ino) -> Result<Vec<DirEntry>> {
        self.inner.read_dir(dir)
    }
    fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Option<DirEntry>> {
        self.inner.lookup(dir, name)
    }
    fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.inner.read_at(ino, offset, buf)
    }
    fn spans(&self, ino: Ino) -> Result<Option<Vec<Span>>> {
        self.inner.spans(ino)
    }
    fn holes(&self, ino: Ino) -> Result<Vec<(u64, u64)>> {
        self.inner.holes(ino)
    }
    fn names(&self, dir: Ino) -> Result<Vec<NameKind>> {
        self.inner.names(dir)
    }
    fn xattrs(&self, ino: Ino) -> Result<Vec<Xattr>> {
        self.inner.xattrs(ino)
    }
    fn detail(&self) -> Option<String> {
        Some(match self.inner.detail() {
            Some(d) => format!("{d}, {}", self.note),
            None => self.note.clone(),
        })
    }
    fn info(&self) -> Vec<(String, String)> {
        let mut v = self.inner.info();
        v.push(("Decoded".into(), self.note.clone()));
        v
    }
}
