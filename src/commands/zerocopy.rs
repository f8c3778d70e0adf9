//! Moving plain file data from the image file to a command's output descriptor without copying
//! it through user space: `splice` into a pipe (the page-cache pages of the image go into the
//! pipe as they are), `copy_file_range` into a regular file, `sendfile` into a socket. Where
//! the host refuses, the bytes are read and written as before. Whoever writes through a
//! buffered writer in front of the same descriptor flushes it before each move, so the bytes
//! keep their order.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::BorrowedFd;

use rustix::fs::FileType;
use rustix::io::Errno;

use super::transfer::plain_extents;
use crate::error::Error;
use crate::fs::{FileSystem, Ino};
use crate::source::Source;

/// The most one system call is asked to move.
const CHUNK: usize = 1 << 30;

/// How bytes reach the output.
#[derive(Clone, Copy, PartialEq, Eq)]
enum How {
    Splice,
    CopyFileRange,
    Sendfile,
}

/// An output descriptor that file data can be moved into directly.
pub struct Direct<'a> {
    fd: BorrowedFd<'a>,
    how: How,
    /// Cleared when the host refused a move: the rest goes through `scratch`.
    fast: bool,
    scratch: Vec<u8>,
}

impl<'a> Direct<'a> {
    /// `fd` as a target of direct moves, when it is a pipe, a regular file or a socket (a
    /// terminal or a device gets ordinary writes).
    pub fn new(fd: BorrowedFd<'a>) -> Option<Self> {
        let kind = FileType::from_raw_mode(rustix::fs::fstat(fd).ok()?.st_mode);
        let how = match kind {
            FileType::Fifo => How::Splice,
            FileType::RegularFile => How::CopyFileRange,
            FileType::Socket => How::Sendfile,
            _ => return None,
        };
        Some(Direct {
            fd,
            how,
            fast: true,
            scratch: Vec::new(),
        })
    }

    /// One system call moving up to `len` bytes of `image` from `*offset` to the output at
    /// its current position; advances `*offset`.
    fn move_once(&self, image: &File, offset: &mut u64, len: usize) -> Result<usize, Errno> {
        match self.how {
            How::Splice => rustix::pipe::splice(
                image,
                Some(offset),
                self.fd,
                None,
                len,
                rustix::pipe::SpliceFlags::empty(),
            ),
            How::CopyFileRange => {
                rustix::fs::copy_file_range(image, Some(offset), self.fd, None, len)
            }
            How::Sendfile => rustix::fs::sendfile(self.fd, image, Some(offset), len),
        }
    }

    /// Moves `len` bytes of `src` from `offset` to the output: directly from the image file
    /// when `src` is a range of one and the host allows it, else read and written.
    pub fn copy(&mut self, src: &dyn Source, offset: u64, len: u64) -> anyhow::Result<()> {
        let mut done = 0;
        while done < len {
            let want = (len - done).min(CHUNK as u64) as usize;
            let moved = match src.host_file() {
                Some((image, base)) if self.fast => {
                    let mut at = base + offset + done;
                    match self.move_once(image, &mut at, want) {
                        Ok(n) => Some(n),
                        // The reader went away: no other way of writing would help.
                        Err(Errno::PIPE) => return Err(io::Error::from(Errno::PIPE).into()),
                        Err(Errno::INTR) => continue,
                        Err(_) => {
                            self.fast = false;
                            continue;
                        }
                    }
                }
                _ => None,
            };
            let n = match moved {
                Some(n) => n,
                None => self.write_through(src, offset + done, want)?,
            };
            if n == 0 {
                return Err(Error::corrupt(
                    src.name(),
                    "file extent",
                    offset + done,
                    "the image ends inside the file's data",
                )
                .into());
            }
            done += n as u64;
        }
        Ok(())
    }

    /// Reads up to `len` bytes of `src` at `offset` and writes them to the output.
    fn write_through(
        &mut self,
        src: &dyn Source,
        offset: u64,
        len: usize,
    ) -> anyhow::Result<usize> {
        self.scratch.resize(1 << 20, 0);
        let n = len.min(self.scratch.len());
        let n = src.read_at(offset, &mut self.scratch[..n])?;
        let mut data = &self.scratch[..n];
        while !data.is_empty() {
            match rustix::io::write(self.fd, data) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                Ok(w) => data = &data[w..],
                Err(Errno::INTR) => {}
                Err(e) => return Err(io::Error::from(e).into()),
            }
        }
        Ok(n)
    }
}

/// Writes the `size` bytes of file `ino` to `out`: moved straight from the image file into
/// `fd` (the descriptor behind `out`) when the file's data is plain, else read through `buf`
/// and written. Holes are written as zeros.
pub fn write_file(
    fs: &dyn FileSystem,
    ino: Ino,
    size: u64,
    out: &mut dyn Write,
    fd: Option<BorrowedFd>,
    buf: &mut [u8],
) -> anyhow::Result<()> {
    let direct = fd.and_then(Direct::new);
    let plain = match (&direct, fs.source().host_file()) {
        (Some(_), Some(_)) => plain_extents(fs, ino, size)?,
        _ => None,
    };
    let (Some(mut direct), Some(extents)) = (direct, plain) else {
        return super::read::copy_range(fs, ino, 0, size, buf, out);
    };
    if size >= 1 << 20 {
        widen_pipe(direct.fd);
    }
    for e in extents {
        match e.offset {
            Some(off) => {
                out.flush()?;
                direct.copy(fs.source().as_ref(), off, e.len)?;
            }
            None => {
                buf.fill(0);
                let mut left = e.len;
                while left > 0 {
                    let n = left.min(buf.len() as u64) as usize;
                    out.write_all(&buf[..n])?;
                    left -= n as u64;
                }
            }
        }
    }
    Ok(())
}

/// When `fd` is a pipe, asks the kernel for a 4 MiB pipe buffer (or 1 MiB, the most an
/// unprivileged process may ask for by default) instead of 64 KiB: a stream of megabytes then
/// needs far fewer wake-ups of the reader. Harmless when the output goes elsewhere.
pub fn widen_pipe(fd: BorrowedFd) {
    let is_pipe = rustix::fs::fstat(fd)
        .is_ok_and(|meta| FileType::from_raw_mode(meta.st_mode) == FileType::Fifo);
    if is_pipe && rustix::pipe::fcntl_setpipe_size(fd, 4 << 20).is_err() {
        let _ = rustix::pipe::fcntl_setpipe_size(fd, 1 << 20);
    }
}
