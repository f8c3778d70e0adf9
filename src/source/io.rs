//! [`SourceReader`]: a [`Source`] seen as a buffered `Read + BufRead + Seek` stream, for the
//! crates that want one (the decompressors) and for the streaming decoders, which need
//! to know exactly how many input bytes they consumed.

use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::sync::Arc;

use super::Source;

const BUFFER: usize = 64 * 1024;

/// A cursor over a source with its own read buffer.
pub struct SourceReader {
    source: Arc<dyn Source>,
    /// Offset in the source of `buf[0]`.
    buf_start: u64,
    buf: Vec<u8>,
    /// Read position inside `buf`.
    at: usize,
}

impl SourceReader {
    /// A reader positioned at `offset`.
    pub fn new(source: Arc<dyn Source>, offset: u64) -> Self {
        SourceReader {
            source,
            buf_start: offset,
            buf: Vec::new(),
            at: 0,
        }
    }

    /// The offset in the source of the next byte to be read.
    pub fn position(&self) -> u64 {
        self.buf_start + self.at as u64
    }
}

fn to_io(e: crate::error::Error) -> io::Error {
    io::Error::other(e)
}

impl BufRead for SourceReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at >= self.buf.len() {
            let pos = self.position();
            self.buf.resize(BUFFER, 0);
            let n = self.source.read_at(pos, &mut self.buf).map_err(to_io)?;
            self.buf.truncate(n);
            self.buf_start = pos;
            self.at = 0;
        }
        Ok(&self.buf[self.at..])
    }
    fn consume(&mut self, amt: usize) {
        self.at = (self.at + amt).min(self.buf.len());
    }
}

impl Read for SourceReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // Large reads bypass the buffer.
        if self.at >= self.buf.len() && out.len() >= BUFFER {
            let pos = self.position();
            let n = self.source.read_at(pos, out).map_err(to_io)?;
            self.buf.clear();
            self.at = 0;
            self.buf_start = pos + n as u64;
            return Ok(n);
        }
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl Seek for SourceReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.source.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.position().checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before byte 0"))?;
        if target >= self.buf_start && target <= self.buf_start + self.buf.len() as u64 {
            self.at = (target - self.buf_start) as usize;
        } else {
            self.buf.clear();
            self.at = 0;
            self.buf_start = target;
        }
        Ok(target)
    }
}
