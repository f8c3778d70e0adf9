//! [`Content`]: the data of a file the overlay changed, as spans (bytes written in the session,
//! ranges of uploaded host files, ranges of files of any mounted filesystem, zeros), so reads,
//! copies and the writer take it the way they take any plainly stored file; and
//! [`HostFile`], an uploaded host file with what it was when it was uploaded, checked again
//! before a commit takes its bytes.

use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::data::{Layout, Span};
use crate::error::Result;
use crate::fs::{FileSystem, Ino};
use crate::source::host_path::HostPathSource;
use crate::source::nested::FileInFs;
use crate::source::Source;

/// A changed file's data.
#[derive(Clone)]
pub struct Content {
    layout: Layout,
}

impl Content {
    /// `bytes`, held in memory.
    pub fn bytes(bytes: Vec<u8>) -> Content {
        Content::from_spans(vec![Span::Bytes(Arc::from(bytes))])
    }

    /// Spans laid end to end.
    pub fn from_spans(spans: Vec<Span>) -> Content {
        let len = spans.iter().map(Span::len).sum();
        Content {
            layout: Layout::covering(spans, len).expect("spans add up to their sum"),
        }
    }

    /// The data of file `ino` of `fs`, `size` bytes: its ranges where the filesystem stores
    /// it plainly, else read through the filesystem when asked for.
    pub fn of_file(fs: &Arc<dyn FileSystem>, ino: Ino, size: u64, name: String) -> Result<Content> {
        let spans = match fs.spans(ino)?.and_then(|s| Layout::covering(s, size)) {
            Some(layout) => layout.spans().cloned().collect(),
            None => {
                let source: Arc<dyn Source> = Arc::new(FileInFs::new(fs.clone(), ino, size, name)?);
                vec![Span::source(&source, 0, size)]
            }
        };
        Ok(Content::from_spans(spans))
    }

    /// The data of the regular file at `path` (absolute, named `name` in errors) as a
    /// directory walk found it (`meta`), staged without opening the file and checked as it is
    /// read (see [`HostPathSource::walked`]).
    pub fn walked(path: PathBuf, name: String, meta: &Metadata) -> Result<Content> {
        let source: Arc<dyn Source> = Arc::new(HostPathSource::walked(path, name, meta)?);
        Ok(Content::from_spans(vec![Span::source(
            &source,
            0,
            source.len(),
        )]))
    }

    /// The length in bytes.
    pub fn len(&self) -> u64 {
        self.layout.len()
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The spans, in file order.
    pub fn spans(&self) -> Vec<Span> {
        self.layout.spans().cloned().collect()
    }

    /// Reads at `offset`; fewer bytes only at the end.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.layout.read_at(offset, buf)
    }

    /// The first `len` bytes, with zeros after the end when `len` is longer (`truncate-size`).
    pub fn resized(&self, len: u64) -> Content {
        let mut spans = Vec::new();
        let mut left = len;
        for s in self.layout.spans() {
            if left == 0 {
                break;
            }
            let take = s.len().min(left);
            spans.push(match s {
                Span::Source { source, offset, .. } => Span::source(source, *offset, take),
                Span::Bytes(b) => Span::Bytes(Arc::from(&b[..take as usize])),
                Span::Zeros(_) => Span::Zeros(take),
            });
            left -= take;
        }
        if left > 0 {
            spans.push(Span::Zeros(left));
        }
        Content::from_spans(spans)
    }

    /// This content followed by `more`.
    pub fn appended(&self, more: Content) -> Content {
        let mut spans = self.spans();
        spans.extend(more.spans());
        Content::from_spans(spans)
    }
}

/// A host file uploaded into the overlay: read where it lies, opened only when the data is
/// needed, and checked again (same file, same size, same modification time) at every opening
/// and before a commit takes it.
#[derive(Clone)]
pub struct HostFile {
    pub path: PathBuf,
    source: Arc<HostPathSource>,
}

impl HostFile {
    /// Stages `path` for upload: its data as content, and the file as it is now.
    pub fn open(path: &Path) -> Result<(HostFile, Content)> {
        let source = Arc::new(HostPathSource::open(path)?);
        let len = source.len();
        let data: Arc<dyn Source> = source.clone();
        let content = Content::from_spans(vec![Span::source(&data, 0, len)]);
        let host = HostFile {
            path: path.to_path_buf(),
            source,
        };
        Ok((host, content))
    }

    /// Fails, naming the file, when it was removed, replaced or changed since it was uploaded:
    /// the bytes a commit would take are no longer the ones the user staged.
    pub fn check(&self) -> Result<()> {
        self.source.check()
    }
}
