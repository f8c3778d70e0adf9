//! File data written to a stream (a command's output, a tar file being written). Spans that
//! are ranges of a host file go to the output descriptor without passing through user space
//! ([`Direct`]): `splice` into a pipe (the page-cache pages of the image go into the pipe as
//! they are), `copy_file_range` into a regular file, `sendfile` into a socket or a device
//! that is not a terminal; where the host
//! refuses, and for every other span, the bytes are read and written; holes are written as
//! zeros. Whoever writes through a buffered writer in front of the same descriptor flushes it
//! before each move, so the bytes keep their order.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::BorrowedFd;

use rustix::fs::FileType;
use rustix::io::Errno;

use super::file::FileData;
use super::layout::{ended, read_exact};
use super::span::Span;

/// The most one system call is asked to move.
const CHUNK: u64 = 1 << 30;

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
    /// `fd` as a target of direct moves, when it is a pipe, a regular file, a socket or a
    /// device other than a terminal (`/dev/null`, a disk); a terminal gets ordinary writes.
    pub fn new(fd: BorrowedFd<'a>) -> Option<Self> {
        let kind = FileType::from_raw_mode(rustix::fs::fstat(fd).ok()?.st_mode);
        let how = match kind {
            FileType::Fifo => How::Splice,
            FileType::RegularFile => How::CopyFileRange,
            FileType::Socket | FileType::BlockDevice => How::Sendfile,
            FileType::CharacterDevice if !rustix::termios::isatty(fd) => How::Sendfile,
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

    /// Writes `span` to the output: moved straight from the host file when it is a range of
    /// one and the host allows it, else read and written.
    pub fn copy(&mut self, span: &Span) -> anyhow::Result<()> {
        self.copy_reporting(span, &|_| {})
    }

    /// [`Direct::copy`], telling `done` of every piece moved.
    pub fn copy_reporting(&mut self, span: &Span, done: &dyn Fn(u64)) -> anyhow::Result<()> {
        let len = span.len();
        let mut moved = 0;
        // Opened once for the span (a source that keeps no descriptor opens it here).
        let host = if self.fast { span.host_file() } else { None };
        while moved < len {
            crate::cancel::check()?;
            let want = (len - moved).min(CHUNK) as usize;
            if let (true, Some((image, base))) = (self.fast, &host) {
                let mut at = base + moved;
                match self.move_once(image, &mut at, want) {
                    Ok(0) => return Err(ended(span, moved).into()),
                    Ok(n) => {
                        moved += n as u64;
                        done(n as u64);
                    }
                    // The reader went away: no other way of writing would help.
                    Err(Errno::PIPE) => return Err(io::Error::from(Errno::PIPE).into()),
                    Err(Errno::INTR) => {}
                    Err(_) => self.fast = false,
                }
                continue;
            }
            let n = self.write_through(span, moved, want)? as u64;
            moved += n;
            done(n);
        }
        Ok(())
    }

    /// Reads up to `len` bytes of `span` from `within` and writes them to the output.
    fn write_through(&mut self, span: &Span, within: u64, len: usize) -> anyhow::Result<usize> {
        self.scratch.resize(1 << 20, 0);
        let n = len.min(self.scratch.len());
        read_exact(span, within, &mut self.scratch[..n])?;
        self.write_all(&self.scratch[..n])?;
        Ok(n)
    }

    /// Writes `data` to the output descriptor.
    fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            match rustix::io::write(self.fd, data) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(w) => data = &data[w..],
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// Writes a file's data to `out`: when it is laid out as spans, through [`write_spans`], else
/// read through its filesystem into `buf` and written to `out`.
pub fn write_file(
    data: &FileData,
    out: &mut dyn Write,
    fd: Option<BorrowedFd>,
    buf: &mut [u8],
) -> anyhow::Result<()> {
    match data.layout() {
        Some(layout) => write_spans(layout.spans(), layout.len(), out, fd, buf, &|_| {}),
        None => data.for_each_chunk(0, data.size(), buf, |_, chunk| Ok(out.write_all(chunk)?)),
    }
}

/// Writes `spans` (`len` bytes in all) to `out`: when some of them lie in a host file and `fd`
/// (the descriptor behind `out`) takes direct moves, span by span into `fd` (after flushing
/// `out`), else read through `buf` (not empty) and written to `out`. `done` is told of every
/// piece written.
pub fn write_spans<'s, I>(
    spans: I,
    len: u64,
    out: &mut dyn Write,
    fd: Option<BorrowedFd>,
    buf: &mut [u8],
    done: &dyn Fn(u64),
) -> anyhow::Result<()>
where
    I: Iterator<Item = &'s Span> + Clone,
{
    let direct = fd
        .and_then(Direct::new)
        .filter(|_| spans.clone().any(Span::in_host_file));
    let Some(mut direct) = direct else {
        for span in spans {
            let mut within = 0;
            while within < span.len() {
                crate::cancel::check()?;
                let n = buf.len().min((span.len() - within) as usize);
                read_exact(span, within, &mut buf[..n])?;
                out.write_all(&buf[..n])?;
                within += n as u64;
                done(n as u64);
            }
        }
        return Ok(());
    };
    if len >= 1 << 20 {
        widen_pipe(direct.fd);
    }
    out.flush()?;
    // Spans that are not in a host file (an image's many small structures) gather in `buf`
    // and go out in large writes, between the direct moves.
    let mut pending = 0;
    for span in spans {
        if span.in_host_file() {
            direct.write_all(&buf[..pending])?;
            pending = 0;
            direct.copy_reporting(span, done)?;
            continue;
        }
        let mut within = 0;
        while within < span.len() {
            crate::cancel::check()?;
            if pending == buf.len() {
                direct.write_all(buf)?;
                pending = 0;
            }
            let n = (buf.len() - pending).min((span.len() - within) as usize);
            read_exact(span, within, &mut buf[pending..pending + n])?;
            (pending, within) = (pending + n, within + n as u64);
            done(n as u64);
        }
    }
    direct.write_all(&buf[..pending])?;
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

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;
    use std::sync::Arc;

    use super::*;
    use crate::data::tests::{host_source, one_file, SpansFs};
    use crate::source::{MemSource, Source};

    /// Writes the file of `fs` into a new host file through `write_file`, with the file's
    /// descriptor as the direct target when `direct`; returns what the file holds.
    fn written(fs: SpansFs, direct: bool) -> anyhow::Result<Vec<u8>> {
        let (fs, size) = one_file(fs);
        let data = FileData::open(&fs, 0, size)?;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let mut file = File::create(&path).unwrap();
        let fd = file.try_clone().unwrap();
        let mut buf = [0u8; 5];
        write_file(&data, &mut file, direct.then(|| fd.as_fd()), &mut buf)?;
        Ok(std::fs::read(&path).unwrap())
    }

    #[test]
    fn every_kind_of_span_is_written_in_order() {
        let (_keep, host) = host_source(64);
        let mem: Arc<dyn Source> = Arc::new(MemSource::new((100..164).collect(), "mem"));
        let fs = SpansFs::new(vec![
            Span::Bytes(Arc::from(&b"head"[..])),
            Span::source(&host, 3, 40),
            Span::Zeros(6),
            Span::source(&mem, 50, 14),
            Span::source(&host, 0, 2),
        ]);
        for direct in [true, false] {
            assert_eq!(written(fs.clone(), direct).unwrap(), fs.expected());
        }
    }

    #[test]
    fn host_ranges_are_spliced_into_a_pipe() {
        let (_keep, host) = host_source(200_000);
        let fs = SpansFs::new(vec![
            Span::source(&host, 1000, 150_000),
            Span::Zeros(10),
            Span::Bytes(Arc::from(&b"mid"[..])),
            Span::source(&host, 0, 5),
        ]);
        let expected = fs.expected();
        let (fs, size) = one_file(fs);
        let data = FileData::open(&fs, 0, size).unwrap();
        let (read_end, write_end) = rustix::pipe::pipe().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            io::Read::read_to_end(&mut File::from(read_end), &mut got).unwrap();
            got
        });
        // Nothing goes through the buffered writer: all of it is moved into the descriptor.
        let mut out = io::sink();
        write_file(&data, &mut out, Some(write_end.as_fd()), &mut [0; 8]).unwrap();
        drop(write_end);
        assert!(reader.join().unwrap() == expected);
    }

    #[test]
    fn a_span_past_its_source_is_refused() {
        let (_keep, host) = host_source(64);
        let host_name = host.name().to_string();
        let err = written(SpansFs::new(vec![Span::source(&host, 60, 5)]), true).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains(&format!("{host_name}: corrupt file extent at offset 60")),
            "{msg}"
        );
    }

    #[test]
    fn a_source_that_ends_early_is_corrupt() {
        let (_keep, host) = host_source(64);
        let span = Span::source(&host, 60, 5);
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("out")).unwrap();
        let mut direct = Direct::new(file.as_fd()).unwrap();
        let msg = direct.copy(&span).unwrap_err().to_string();
        assert!(msg.contains("file extent at offset 64"), "{msg}");
        assert!(msg.contains("ends inside the file's data"), "{msg}");
    }
}
