//! File data as source-qualified spans ([`Span`]): what a file's bytes are made of, wherever
//! they lie (a range of any [`Source`](crate::source::Source), bytes in memory, zeros), and the
//! movers that take them somewhere. The formats describe plainly stored files this way; nested
//! file sources read them through a [`Layout`], and copy-out, download, `cat` and tar-out move
//! them without decoding and, where they lie in a host file, without passing them through user
//! space ([`FileCopy`] into a host file, [`Direct`] into a stream).

pub mod file;
pub mod layout;
pub mod span;
pub mod to_file;
pub mod to_stream;

pub use file::FileData;
pub use layout::Layout;
pub use span::Span;
pub use to_file::FileCopy;
pub use to_stream::Direct;

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use super::Span;
    use crate::error::Result;
    use crate::fs::{DirEntry, FileSystem, Ino, Metadata};
    use crate::source::{FileSource, MemSource, Source};

    /// A filesystem of one file (any inode): laid out as `spans` (or not at all), and read
    /// through the filesystem as `bytes`.
    #[derive(Clone)]
    pub struct SpansFs {
        pub source: Arc<dyn Source>,
        pub spans: Option<Vec<Span>>,
        pub bytes: Vec<u8>,
        pub size: u64,
    }

    impl SpansFs {
        /// A file laid out as `spans`; its size is theirs, and the filesystem reads give the
        /// bytes the spans hold.
        pub fn new(spans: Vec<Span>) -> SpansFs {
            let mut bytes = Vec::new();
            for s in &spans {
                let mut b = vec![0; s.len() as usize];
                let n = s.read_at(0, &mut b).unwrap_or(0);
                bytes.extend_from_slice(&b[..n]);
            }
            SpansFs {
                source: Arc::new(MemSource::new(Vec::new(), "test.img")),
                size: spans.iter().map(Span::len).sum(),
                spans: Some(spans),
                bytes,
            }
        }

        /// A file of `bytes` the filesystem gives no spans for (as if compressed).
        pub fn unlaid(bytes: Vec<u8>) -> SpansFs {
            SpansFs {
                source: Arc::new(MemSource::new(Vec::new(), "test.img")),
                spans: None,
                size: bytes.len() as u64,
                bytes,
            }
        }

        /// What the file holds.
        pub fn expected(&self) -> Vec<u8> {
            self.bytes.clone()
        }
    }

    impl FileSystem for SpansFs {
        fn type_name(&self) -> &'static str {
            "test"
        }
        fn source(&self) -> &Arc<dyn Source> {
            &self.source
        }
        fn label(&self) -> Option<String> {
            None
        }
        fn root(&self) -> Ino {
            0
        }
        fn metadata(&self, _: Ino) -> Result<Metadata> {
            Ok(Metadata::synthetic_dir(0))
        }
        fn read_dir(&self, _: Ino) -> Result<Vec<DirEntry>> {
            Ok(Vec::new())
        }
        fn read_at(&self, _: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
            let rest = self.bytes.get(offset as usize..).unwrap_or_default();
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            Ok(n)
        }
        fn spans(&self, _: Ino) -> Result<Option<Vec<Span>>> {
            Ok(self.spans.clone())
        }
        fn info(&self) -> Vec<(String, String)> {
            Vec::new()
        }
    }

    /// The filesystem, shared, and its file's size.
    pub fn one_file(fs: SpansFs) -> (Arc<dyn FileSystem>, u64) {
        let size = fs.size;
        (Arc::new(fs), size)
    }

    /// A host file of `len` bytes, byte `i` being `i as u8`, as a source (keep the temp file
    /// while it is used).
    pub fn host_source(len: usize) -> (tempfile::NamedTempFile, Arc<dyn Source>) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
        f.write_all(&bytes).unwrap();
        let src: Arc<dyn Source> = Arc::new(FileSource::open(f.path()).unwrap());
        (f, src)
    }
}
