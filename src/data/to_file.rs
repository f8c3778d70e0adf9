//! [`FileCopy`]: a file's data copied into a new host file, in steps of a chosen size.
//! Ranges of host files are moved by the kernel, nothing passing through user space: with
//! `copy_file_range` (the kernel copies, or shares, the blocks), or where the host refuses it
//! (between two filesystems) with `sendfile` (the kernel copies the pages); holes stay holes,
//! bytes in memory and ranges of other sources are read and written with positioned writes, and
//! a file the filesystem does not lay out is read through it.

use std::fs::File;
use std::os::unix::fs::FileExt;

use rustix::fs::SeekFrom;

use super::file::FileData;
use super::layout::{ended, read_exact, Slice};
use super::span::Span;

/// The most one `copy_file_range` or `sendfile` call is asked to move: enough that the calls
/// cost nothing next to the copying, few enough bytes that a progress bar moves every fraction
/// of a second where the kernel copies the blocks rather than sharing them.
const CHUNK: u64 = 64 << 20;

/// How ranges of host files are moved into the host file; each way the host refuses gives way
/// to the next, for the rest of the copy (and, handed on with [`FileCopy::with_route`], for
/// the next files of an extraction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `copy_file_range`: the kernel copies, or shares, the blocks.
    CopyRange,
    /// `sendfile`: the kernel copies the pages (where `copy_file_range` is refused between two
    /// filesystems). It writes at the host file's offset, so only a copy that owns that offset
    /// takes this way.
    SendFile,
    /// Positioned reads and writes through a buffer.
    ReadWrite,
}

/// A copy in progress of a file's data into a host file.
pub struct FileCopy {
    data: FileData,
    out: File,
    /// Bytes of the file done so far.
    at: u64,
    /// The end of the bytes written so far: the file's length unless a hole comes last.
    written: u64,
    /// The host file's offset (where `sendfile` writes).
    cursor: u64,
    route: Route,
}

impl FileCopy {
    /// The copy of `data` into `out`, a new, empty host file (at offset 0, written by this
    /// copy alone).
    pub fn new(data: FileData, out: File) -> FileCopy {
        FileCopy {
            data,
            out,
            at: 0,
            written: 0,
            cursor: 0,
            route: Route::CopyRange,
        }
    }

    /// The copy, moving ranges of host files the way an earlier copy found the host takes.
    pub fn with_route(mut self, route: Route) -> FileCopy {
        self.route = route;
        self
    }

    /// The way ranges of host files are moved now (after any refusal so far).
    pub fn route(&self) -> Route {
        self.route
    }

    /// True when all the data is in the host file.
    pub fn finished(&self) -> bool {
        self.at >= self.data.size()
    }

    /// The host file.
    pub fn file(&self) -> &File {
        &self.out
    }

    /// Copies the next `budget` bytes of the file (fewer at its end) and returns how many;
    /// `done` is told of every piece moved. `buf` is scratch space for what is read and
    /// written. The host file gets its full length (a hole at the end included) with the last
    /// step.
    pub fn step(&mut self, budget: u64, buf: &mut [u8], done: &dyn Fn(u64)) -> anyhow::Result<u64> {
        let start = self.at;
        let end = start.saturating_add(budget).min(self.data.size());
        match self.data.layout() {
            Some(layout) => {
                let mut pos = start;
                for slice in layout.slices(start, end) {
                    let mut to = HostOut {
                        out: &self.out,
                        route: &mut self.route,
                        cursor: Some(&mut self.cursor),
                    };
                    to.slice(&slice, pos, buf, done)?;
                    pos += slice.len;
                    if !matches!(slice.span, Span::Zeros(_)) {
                        self.written = pos;
                    }
                }
            }
            None => self
                .data
                .for_each_chunk(start, end - start, buf, |offset, data| {
                    self.out.write_all_at(data, offset)?;
                    done(data.len() as u64);
                    Ok(())
                })?,
        }
        if self.data.layout().is_none() {
            self.written = end;
        }
        self.at = end;
        if self.finished() && self.written < self.data.size() {
            self.out.set_len(self.data.size())?;
        }
        Ok(end - start)
    }

    /// Copies all that is left; returns the host file.
    pub fn run(mut self, buf: &mut [u8], done: &dyn Fn(u64)) -> anyhow::Result<File> {
        while !self.finished() {
            self.step(u64::MAX, buf, done)?;
        }
        Ok(self.out)
    }
}

/// Copies one slice of a span to `pos` in `out`, a host file that reads as zeros where
/// nothing was written yet (a hole is left for a range of zeros; whoever writes the last slice
/// sets the file's length). `route` is how ranges of host files are moved, and gives way for
/// this slice and the next ones when the host refuses one; `cursor` is `out`'s offset when
/// the caller owns it (a new file written by it alone: `sendfile` may then be used); `buf` is
/// scratch space; `done` is told of every piece moved.
pub(crate) fn copy_slice(
    slice: &Slice,
    pos: u64,
    out: &File,
    (route, cursor): (&mut Route, Option<&mut u64>),
    buf: &mut [u8],
    done: &dyn Fn(u64),
) -> anyhow::Result<()> {
    HostOut { out, route, cursor }.slice(slice, pos, buf, done)
}

/// A host file being written, and how ranges of host files are moved into it.
struct HostOut<'a> {
    out: &'a File,
    route: &'a mut Route,
    /// The host file's offset, when the copy owns it (else `sendfile` is not used).
    cursor: Option<&'a mut u64>,
}

impl HostOut<'_> {
    /// Copies one slice of a span to `pos` in the host file, as [`copy_slice`] does; a way the
    /// host refuses is left for the next one, for this slice and the next.
    fn slice(
        &mut self,
        slice: &Slice,
        mut pos: u64,
        buf: &mut [u8],
        done: &dyn Fn(u64),
    ) -> anyhow::Result<()> {
        let span = slice.span;
        if let Span::Zeros(_) = span {
            // A hole: the host file's length, set at the end, makes it read as zeros.
            done(slice.len);
            return Ok(());
        }
        let mut within = slice.within;
        let end = slice.within + slice.len;
        // Opened once for the slice (a source that keeps no descriptor opens it here).
        let host = if *self.route != Route::ReadWrite {
            span.host_file()
        } else {
            None
        };
        while within < end {
            crate::cancel::check()?;
            if let (Some((file, base)), false) = (&host, *self.route == Route::ReadWrite) {
                let want = (end - within).min(CHUNK) as usize;
                let mut from = base + within;
                let moved = match (*self.route, self.cursor.as_deref_mut()) {
                    (Route::CopyRange, _) => {
                        let mut to = pos;
                        rustix::fs::copy_file_range(
                            file,
                            Some(&mut from),
                            self.out,
                            Some(&mut to),
                            want,
                        )
                    }
                    (_, Some(cursor)) => send(file, &mut from, self.out, pos, cursor, want),
                    (_, None) => Err(rustix::io::Errno::INVAL),
                };
                match moved {
                    Ok(0) => return Err(ended(span, within).into()),
                    Ok(n) => {
                        within += n as u64;
                        pos += n as u64;
                        done(n as u64);
                    }
                    Err(rustix::io::Errno::INTR) => {}
                    // The host cannot move the bytes this way: try the next.
                    Err(_) => {
                        *self.route = match (*self.route, &self.cursor) {
                            (Route::CopyRange, Some(_)) => Route::SendFile,
                            _ => Route::ReadWrite,
                        }
                    }
                }
                continue;
            }
            let n = buf.len().min((end - within) as usize);
            read_exact(span, within, &mut buf[..n])?;
            self.out.write_all_at(&buf[..n], pos)?;
            within += n as u64;
            pos += n as u64;
            done(n as u64);
        }
        Ok(())
    }
}

/// `sendfile` of up to `want` bytes from `from` in `file` to `pos` in `out`, whose offset is
/// `cursor` (moved to `pos` first when it lies elsewhere); both offsets advance.
fn send(
    file: &File,
    from: &mut u64,
    out: &File,
    pos: u64,
    cursor: &mut u64,
    want: usize,
) -> rustix::io::Result<usize> {
    if *cursor != pos {
        *cursor = rustix::fs::seek(out, SeekFrom::Start(pos))?;
    }
    let n = rustix::fs::sendfile(out, file, Some(from), want)?;
    *cursor += n as u64;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::sync::Arc;

    use super::*;
    use crate::data::tests::{host_source, one_file, SpansFs};
    use crate::source::{MemSource, Source};

    /// Copies the file of `fs` in steps of `step` bytes; returns the host file's bytes and
    /// the byte count `done` was told of.
    fn copy(fs: SpansFs, step: u64) -> anyhow::Result<(Vec<u8>, u64)> {
        copy_by(fs, step, Route::CopyRange)
    }

    /// [`copy`], ranges of host files moved by `route` first.
    fn copy_by(fs: SpansFs, step: u64, route: Route) -> anyhow::Result<(Vec<u8>, u64)> {
        let (fs, size) = one_file(fs);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let out = File::create(&path).unwrap();
        let mut copy = FileCopy::new(FileData::open(&fs, 0, size)?, out).with_route(route);
        let told = Cell::new(0);
        let mut buf = [0u8; 7];
        while !copy.finished() {
            let n = copy.step(step, &mut buf, &|n| told.set(told.get() + n))?;
            assert!(n <= step);
        }
        // Host files within one filesystem take both kernel ways: none was given up.
        assert_eq!(copy.route(), route);
        Ok((std::fs::read(&path).unwrap(), told.get()))
    }

    #[test]
    fn every_kind_of_span_lands_in_place() {
        let (_keep, host) = host_source(64);
        let mem: Arc<dyn Source> = Arc::new(MemSource::new((100..164).collect(), "mem"));
        let fs = SpansFs::new(vec![
            Span::source(&host, 10, 20),
            Span::Zeros(9),
            Span::Bytes(Arc::from(&b"abc"[..])),
            Span::source(&mem, 5, 11),
            Span::Zeros(4),
        ]);
        let want = fs.expected();
        for step in [1, 5, 64, u64::MAX] {
            let (got, told) = copy(fs.clone(), step).unwrap();
            assert_eq!(got, want, "steps of {step}");
            assert_eq!(told, want.len() as u64);
        }
    }

    /// `sendfile` (the way between two filesystems) writes each range where it belongs, holes
    /// between them and at the end included, whatever the steps.
    #[test]
    fn sendfile_lands_every_range_in_place() {
        let (_keep, host) = host_source(64);
        let fs = SpansFs::new(vec![
            Span::Zeros(3),
            Span::source(&host, 10, 20),
            Span::Zeros(9),
            Span::source(&host, 40, 7),
            Span::Bytes(Arc::from(&b"abc"[..])),
            Span::source(&host, 0, 5),
            Span::Zeros(4),
        ]);
        let want = fs.expected();
        for step in [1, 5, 64, u64::MAX] {
            let (got, told) = copy_by(fs.clone(), step, Route::SendFile).unwrap();
            assert_eq!(got, want, "steps of {step}");
            assert_eq!(told, want.len() as u64);
        }
    }

    #[test]
    fn a_file_without_spans_is_read_through_its_filesystem() {
        let fs = SpansFs::unlaid(b"through the filesystem".to_vec());
        let (got, _) = copy(fs, 4).unwrap();
        assert_eq!(got, b"through the filesystem");
    }

    #[test]
    fn a_span_past_its_source_is_refused() {
        let mem: Arc<dyn Source> = Arc::new(MemSource::new(vec![1; 10], "small.img"));
        let err = copy(SpansFs::new(vec![Span::source(&mem, 4, 8)]), 100).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("small.img: corrupt file extent at offset 4"),
            "{msg}"
        );
    }
}
