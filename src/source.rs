//! Random access to the bytes of an image: the [`Source`] trait and its implementations
//! (a host file read with positioned reads, a byte range of another source). Everything above
//! reads through this trait; nothing re-opens paths or loads whole images. Below this module:
//! a file inside a mounted filesystem ([`nested`]), a decoded compressed stream ([`decoded`]) and its encoders ([`encode`]), one
//! decoded again from checkpoints for each read, never kept whole ([`stream`]),
//! a stream view of any source for the crates that want `Read + Seek` ([`io`]), and a host
//! file staged by its path, opened only while its data is read ([`host_path`]). [`HostFd`] is
//! how a source lends the host file behind it to the zero-copy movers.

pub mod decoded;
pub mod encode;
pub mod host_path;
pub mod io;
mod lz4legacy;
mod lzw;
pub mod nested;
pub mod stream;

use std::fs::File;
use std::io::Seek;
use std::ops::Deref;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileExt, FileTypeExt};
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};

/// Random-access bytes. Implementations must be cheap to share between threads.
pub trait Source: Send + Sync {
    /// Reads up to `buf.len()` bytes at `offset`; returns fewer only at the end of the source.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize>;
    /// The size in bytes.
    fn len(&self) -> u64;
    /// True when the source holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The name used in error messages (the host path, or `outer.iso:/path/inner.img`).
    fn name(&self) -> &str;
    /// When these bytes are a plain range of a host file: the file and the offset of byte 0 in it.
    /// Copies use it to move data with `copy_file_range` instead of through user space. A
    /// source that keeps no descriptor open opens one for the occasion (closed when the
    /// [`HostFd`] is dropped); `None` too when that fails: the read that follows says why.
    fn host_file(&self) -> Option<(HostFd<'_>, u64)> {
        None
    }
    /// True when [`Source::host_file`] would give a file, found out without opening one.
    fn in_host_file(&self) -> bool {
        self.host_file().is_some()
    }

    /// Reads exactly `buf.len()` bytes at `offset`, or fails with a corrupt-structure error
    /// naming `structure` when the source ends first.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8], structure: &'static str) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let n = self.read_at(offset + done as u64, &mut buf[done..])?;
            if n == 0 {
                return Err(Error::corrupt(
                    self.name(),
                    structure,
                    offset,
                    format!(
                        "needs {} bytes but the image ends at {}",
                        buf.len(),
                        self.len()
                    ),
                ));
            }
            done += n;
        }
        Ok(())
    }

    /// Reads `len` bytes at `offset` into a new vector, after checking that they exist
    /// (so a length read from the disc never sizes an allocation past the image).
    fn read_vec(&self, offset: u64, len: usize, structure: &'static str) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.read_vec_into(offset, len, structure, &mut buf)?;
        Ok(buf)
    }

    /// [`read_vec`](Source::read_vec) into `buf` (its contents replaced), so a caller reading
    /// many structures can reuse one allocation.
    fn read_vec_into(
        &self,
        offset: u64,
        len: usize,
        structure: &'static str,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let end = offset.checked_add(len as u64);
        if end.is_none_or(|end| end > self.len()) {
            return Err(Error::corrupt(
                self.name(),
                structure,
                offset,
                format!(
                    "{len} bytes would pass the end of the image ({})",
                    self.len()
                ),
            ));
        }
        // Only bytes past what `buf` holds are zeroed first: the read replaces them all.
        buf.truncate(len);
        buf.resize(len, 0);
        self.read_exact_at(offset, buf, structure)
    }
}

/// The host file behind a source, lent for a copy: the descriptor the source keeps open, or
/// one it opened for the occasion and that is closed when this is dropped.
pub enum HostFd<'a> {
    /// A descriptor the source holds for its lifetime.
    Borrowed(&'a File),
    /// A descriptor opened for this copy.
    Owned(File),
}

impl Deref for HostFd<'_> {
    type Target = File;
    fn deref(&self) -> &File {
        match self {
            HostFd::Borrowed(file) => file,
            HostFd::Owned(file) => file,
        }
    }
}

impl AsFd for HostFd<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        (**self).as_fd()
    }
}

/// A host file, read with positioned reads (`pread`).
pub struct FileSource {
    file: File,
    len: u64,
    name: String,
}

impl FileSource {
    /// Opens `path` read-only. A pipe, a socket or anything else that cannot seek (a terminal)
    /// is refused with a message saying how to get random access: isofish reads an image at
    /// the offsets its structures name, not once from the start.
    pub fn open(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        // Looked at before opening: opening a FIFO waits for a writer.
        let kind = std::fs::metadata(path)
            .map_err(|e| Error::io(&name, e))?
            .file_type();
        if kind.is_fifo() {
            return Err(not_seekable(&name, "is a pipe"));
        }
        if kind.is_socket() {
            return Err(not_seekable(&name, "is a socket"));
        }
        let mut file = File::open(path).map_err(|e| Error::io(&name, e))?;
        let meta = file.metadata().map_err(|e| Error::io(&name, e))?;
        if meta.is_dir() {
            return Err(Error::Usage(format!(
                "{name}: is a directory, not an image"
            )));
        }
        if file.stream_position().is_err() {
            return Err(not_seekable(&name, "cannot seek"));
        }
        Ok(FileSource {
            len: meta.len(),
            file,
            name,
        })
    }
}

impl FileSource {
    /// The source of an open file (a temporary file a writer filled), named `name` in errors.
    pub fn from_file(file: File, name: String) -> Result<Self> {
        let len = file.metadata().map_err(|e| Error::io(&name, e))?.len();
        Ok(FileSource { file, len, name })
    }
}

/// The refusal of an input that gives no random access: what it is (`is a pipe`), and how to
/// get one.
fn not_seekable(name: &str, what: &str) -> Error {
    Error::Usage(format!(
        "{name}: {what}; isofish needs random access to an image: save it to a file first \
         (for example `cat > image.iso`) and add that file"
    ))
}

/// Fills `buf` from `file` at `offset` with positioned reads, retrying short and interrupted
/// reads; returns fewer bytes only where the file ends. `name` names the file in errors.
pub(crate) fn pread(file: &File, offset: u64, buf: &mut [u8], name: &str) -> Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(name, e)),
        }
    }
    Ok(done)
}

impl Source for FileSource {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let want = buf.len().min((self.len - offset) as usize);
        pread(&self.file, offset, &mut buf[..want], &self.name)
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn host_file(&self) -> Option<(HostFd<'_>, u64)> {
        Some((HostFd::Borrowed(&self.file), 0))
    }
}

/// A byte range of another source: a partition, an appended partition, a boot image, or a
/// file stored contiguously inside a filesystem.
pub struct RangeSource {
    inner: Arc<dyn Source>,
    start: u64,
    len: u64,
    name: String,
}

impl RangeSource {
    /// The `len` bytes of `inner` from `start`, clipped to what `inner` holds.
    pub fn new(inner: Arc<dyn Source>, start: u64, len: u64, name: String) -> Self {
        let len = len.min(inner.len().saturating_sub(start));
        RangeSource {
            inner,
            start,
            len,
            name,
        }
    }
}

impl Source for RangeSource {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let want = buf.len().min((self.len - offset) as usize);
        self.inner.read_at(self.start + offset, &mut buf[..want])
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn host_file(&self) -> Option<(HostFd<'_>, u64)> {
        self.inner
            .host_file()
            .map(|(file, base)| (file, base + self.start))
    }
    fn in_host_file(&self) -> bool {
        self.inner.in_host_file()
    }
}

/// Bytes in memory: images built or mutated by tests and fuzzers, small nested images.
pub struct MemSource {
    bytes: Vec<u8>,
    name: String,
}

impl MemSource {
    /// The source of `bytes`, named `name` in errors.
    pub fn new(bytes: Vec<u8>, name: impl Into<String>) -> Self {
        MemSource {
            bytes,
            name: name.into(),
        }
    }
}

impl Source for MemSource {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let Some(rest) = usize::try_from(offset)
            .ok()
            .and_then(|o| self.bytes.get(o..))
        else {
            return Ok(0);
        };
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn name(&self) -> &str {
        &self.name
    }
}
