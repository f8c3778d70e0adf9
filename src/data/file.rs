//! [`FileData`]: the bytes of one file of a filesystem as the movers take them: its
//! [`Layout`] when the filesystem stores the file plainly (checked against its sources), else
//! the filesystem's own reads (which decode what the format compresses). And
//! [`for_each_chunk`], reading a file through its filesystem in large pieces.

use std::sync::Arc;

use super::layout::Layout;
use crate::data::Span;
use crate::error::{Error, Result};
use crate::fs::{FileSystem, Ino};
use crate::source::nested::FileInFs;
use crate::source::Source;

/// One file's data, `size` bytes.
pub struct FileData {
    fs: Arc<dyn FileSystem>,
    ino: Ino,
    size: u64,
    layout: Option<Layout>,
}

impl FileData {
    /// The data of file `ino` of `fs`, `size` bytes long. A span that runs past the end of its
    /// source is a corrupt-structure error; spans that do not add up to `size` are ignored
    /// (the data is then read through the filesystem).
    pub fn open(fs: &Arc<dyn FileSystem>, ino: Ino, size: u64) -> Result<FileData> {
        let layout = match fs.spans(ino)? {
            Some(spans) => Layout::checked(spans, size)?,
            None => with_holes(fs, ino, size)?,
        };
        Ok(FileData {
            fs: fs.clone(),
            ino,
            size,
            layout,
        })
    }

    /// The file's size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The file's spans, when it is stored plainly.
    pub fn layout(&self) -> Option<&Layout> {
        self.layout.as_ref()
    }

    /// Reads at least one byte at `offset` (which lies before the end of the file) into `buf`
    /// (not empty); fails when the file ends first (its data is shorter than its size).
    pub fn read_some(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let n = match &self.layout {
            Some(layout) => layout.read_at(offset, buf)?,
            None => self.fs.read_at(self.ino, offset, buf)?,
        };
        if n == 0 {
            return Err(ended(self.fs.as_ref(), offset, self.size));
        }
        Ok(n)
    }

    /// Reads `len` bytes from `offset` on, in reads of up to `buf.len()` bytes, handing each
    /// piece and its offset in the file to `each`; fails if the file ends first.
    pub fn for_each_chunk(
        &self,
        offset: u64,
        len: u64,
        buf: &mut [u8],
        each: impl FnMut(u64, &[u8]) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        chunks(offset, len, buf, |at, b| self.read_some(at, b), each)
    }
}

/// The error for a file whose data ends at `offset`, before its recorded size.
fn ended(fs: &dyn FileSystem, offset: u64, size: u64) -> Error {
    Error::corrupt(
        fs.source().name(),
        "file data",
        offset,
        format!("the file ends before its recorded size ({size} bytes)"),
    )
}

/// The layout of a compressed file that has holes: its data regions read through the
/// filesystem (as a [`FileInFs`] source), its holes as zeros; `None` without holes.
fn with_holes(fs: &Arc<dyn FileSystem>, ino: Ino, size: u64) -> Result<Option<Layout>> {
    let holes = fs.holes(ino)?;
    if holes.is_empty() {
        return Ok(None);
    }
    let name = format!("{}:inode {ino}", fs.source().name());
    let file: Arc<dyn Source> = Arc::new(FileInFs::new(fs.clone(), ino, size, name)?);
    let mut spans = Vec::new();
    let mut at = 0;
    for (start, len) in holes {
        if start < at || start.saturating_add(len) > size {
            return Ok(None);
        }
        if start > at {
            spans.push(Span::source(&file, at, start - at));
        }
        spans.push(Span::Zeros(len));
        at = start + len;
    }
    if at < size {
        spans.push(Span::source(&file, at, size - at));
    }
    Ok(Layout::covering(spans, size))
}

/// Reads `len` bytes of file `ino` from `offset` on through its filesystem, in reads of up to
/// `buf.len()` bytes, handing each piece and its offset in the file to `each`; fails if the
/// file ends first (its data is shorter than its recorded size).
pub fn for_each_chunk(
    fs: &dyn FileSystem,
    ino: Ino,
    offset: u64,
    len: u64,
    buf: &mut [u8],
    each: impl FnMut(u64, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let end = offset + len;
    let read = |at: u64, b: &mut [u8]| match fs.read_at(ino, at, b)? {
        0 => Err(ended(fs, at, end)),
        n => Ok(n),
    };
    chunks(offset, len, buf, read, each)
}

/// The loop of the `for_each_chunk`s: `read` gives at least one byte or fails.
fn chunks(
    mut offset: u64,
    len: u64,
    buf: &mut [u8],
    mut read: impl FnMut(u64, &mut [u8]) -> Result<usize>,
    mut each: impl FnMut(u64, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let end = offset + len;
    while offset < end {
        crate::cancel::check()?;
        let want = buf.len().min((end - offset) as usize);
        let n = read(offset, &mut buf[..want])?;
        each(offset, &buf[..n])?;
        offset += n as u64;
    }
    Ok(())
}
