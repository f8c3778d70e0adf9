//! [`ParallelDeflate`]: raw DEFLATE compressed on every core, as pigz does it: the input cut
//! into 1 MiB blocks, each compressed on its own thread with the 32 KiB before it as the
//! preset dictionary (so matches reach across the cut as in one stream) and ended by a sync
//! flush (an empty stored block: the next block starts on a byte), the blocks' output put
//! together in order into one stream; the last block ends it (BFINAL) or syncs, as asked.
//! And [`GzipWriter`]: one gzip member around it, with the header a stream at that level gets
//! from `flate2` ([`gzip_header`]: XFL 2 at level 9, 4 at level 1), CRC-32 and size after.
//!
//! The cost in size against one serial stream is a few bytes a block (the sync flush and a
//! block header); the data decodes the same with any inflater (it is one DEFLATE stream).

use std::io::{self, Write};
use std::thread;

use flate2::{Compress, Compression, FlushCompress, Status};

/// The DEFLATE window: the dictionary each block gets.
const WINDOW: usize = 32 << 10;
/// Input bytes a thread compresses at a time.
const BLOCK: usize = 1 << 20;
/// The final empty block with the fixed codes (what zlib ends an empty stream with).
const LAST_EMPTY: [u8; 2] = [3, 0];

/// The header of a new gzip stream at `level`, as `flate2`'s encoder writes it: no name, no
/// time, XFL 2 for level 9 and up, 4 for level 1, else 0, OS 255.
pub fn gzip_header(level: u32) -> [u8; 10] {
    let xfl = match level {
        9.. => 2,
        0 | 1 => 4,
        _ => 0,
    };
    [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]
}

/// A raw DEFLATE stream written to `out`, compressed block by block on every core.
pub struct ParallelDeflate<W: Write> {
    out: W,
    level: u32,
    threads: usize,
    pending: Vec<u8>,
    /// The last 32 KiB of input before `pending`.
    window: Vec<u8>,
}

impl<W: Write> ParallelDeflate<W> {
    /// A stream at `level` whose first matches may reach into `dictionary` (its last 32 KiB:
    /// the data the decoder has before this stream's, or nothing).
    pub fn new(out: W, level: u32, dictionary: &[u8]) -> Self {
        let threads = thread::available_parallelism().map_or(1, |n| n.get());
        ParallelDeflate {
            out,
            level,
            threads,
            pending: Vec::with_capacity(threads * BLOCK),
            window: dictionary[dictionary.len().saturating_sub(WINDOW)..].to_vec(),
        }
    }

    /// Compresses what is pending; the stream's end when `end` (its last block final when
    /// `last`, else ended by a sync flush).
    fn run(&mut self, end: bool, last: bool) -> io::Result<()> {
        let blocks: Vec<&[u8]> = self.pending.chunks(BLOCK).collect();
        let n = blocks.len();
        let flush = |i: usize| match (end && i + 1 == n, last) {
            (true, true) => FlushCompress::Finish,
            _ => FlushCompress::Sync,
        };
        let dict = |i: usize| -> &[u8] {
            if i == 0 {
                &self.window
            } else {
                let prev = blocks[i - 1];
                &prev[prev.len().saturating_sub(WINDOW)..]
            }
        };
        let level = self.level;
        let packed: Vec<io::Result<Vec<u8>>> = if n <= 1 || self.threads == 1 {
            (0..n)
                .map(|i| deflate(level, dict(i), blocks[i], flush(i)))
                .collect()
        } else {
            thread::scope(|s| {
                let handles: Vec<_> = (0..n)
                    .map(|i| {
                        let (d, b, f) = (dict(i), blocks[i], flush(i));
                        s.spawn(move || deflate(level, d, b, f))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(io::Error::other("a compressing thread failed"))
                        })
                    })
                    .collect()
            })
        };
        for p in packed {
            self.out.write_all(&p?)?;
        }
        if end && last && n == 0 {
            self.out.write_all(&LAST_EMPTY)?;
        }
        let keep = self.pending.len().min(WINDOW);
        if keep == WINDOW {
            self.window.clear();
        } else {
            let drop = (self.window.len() + keep).saturating_sub(WINDOW);
            self.window.drain(..drop);
        }
        self.window
            .extend_from_slice(&self.pending[self.pending.len() - keep..]);
        self.pending.clear();
        Ok(())
    }

    /// Ends the stream: with a final block when `last`, else with a sync flush (more blocks
    /// may follow it); gives the writer back.
    pub fn finish(mut self, last: bool) -> io::Result<W> {
        self.run(true, last)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for ParallelDeflate<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.threads * BLOCK - self.pending.len();
        let n = buf.len().min(room);
        self.pending.extend_from_slice(&buf[..n]);
        if self.pending.len() == self.threads * BLOCK {
            self.run(false, false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// One block compressed: `data` at `level` with `dict` before it, ended by `flush`.
fn deflate(level: u32, dict: &[u8], data: &[u8], flush: FlushCompress) -> io::Result<Vec<u8>> {
    let mut c = Compress::new(Compression::new(level), false);
    if !dict.is_empty() {
        c.set_dictionary(dict).map_err(io::Error::other)?;
    }
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    let mut input = data;
    loop {
        out.reserve((input.len() / 2).max(64 << 10));
        let before = c.total_in();
        let status = c
            .compress_vec(input, &mut out, flush)
            .map_err(io::Error::other)?;
        input = &input[(c.total_in() - before) as usize..];
        let done = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            _ => input.is_empty() && out.len() < out.capacity(),
        };
        if done {
            return Ok(out);
        }
    }
}

/// One gzip member around a [`ParallelDeflate`] stream.
pub struct GzipWriter<W: Write> {
    inner: ParallelDeflate<W>,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> GzipWriter<W> {
    /// A member at `level` written to `out` (the header at once).
    pub fn new(mut out: W, level: u32) -> io::Result<Self> {
        out.write_all(&gzip_header(level))?;
        Ok(GzipWriter {
            inner: ParallelDeflate::new(out, level, &[]),
            crc: crc32fast::Hasher::new(),
            len: 0,
        })
    }

    /// Ends the member: the last block, the CRC-32 and the size.
    pub fn finish(self) -> io::Result<W> {
        let mut out = self.inner.finish(true)?;
        out.write_all(&self.crc.finalize().to_le_bytes())?;
        out.write_all(&(self.len as u32).to_le_bytes())?;
        out.flush()?;
        Ok(out)
    }
}

impl<W: Write> Write for GzipWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sample(len: usize) -> Vec<u8> {
        (0..len as u32)
            .map(|i| ((i / 5) ^ (i % 241) ^ (i >> 13)) as u8)
            .collect()
    }

    #[test]
    fn one_member_that_decodes_back() {
        for len in [0, 1, 100_000, BLOCK, 2 * BLOCK, 5 * BLOCK + 12_345] {
            let data = sample(len);
            let mut w = GzipWriter::new(Vec::new(), 6).unwrap();
            w.write_all(&data).unwrap();
            let packed = w.finish().unwrap();
            let mut d = flate2::bufread::GzDecoder::new(&packed[..]);
            let mut back = Vec::new();
            d.read_to_end(&mut back).unwrap();
            assert!(back == data, "{len}");
            // Nothing after the one member.
            let mut rest = Vec::new();
            d.into_inner().read_to_end(&mut rest).unwrap();
            assert!(rest.is_empty(), "{len}");
        }
    }

    #[test]
    fn a_synced_stream_goes_on_from_its_dictionary() {
        let data = sample(3 * BLOCK);
        let (a, b) = data.split_at(BLOCK + 777);
        let mut first = ParallelDeflate::new(Vec::new(), 6, &[]);
        first.write_all(a).unwrap();
        let mut packed = first.finish(false).unwrap();
        let mut second = ParallelDeflate::new(Vec::new(), 6, a);
        second.write_all(b).unwrap();
        packed.extend(second.finish(true).unwrap());
        let mut back = Vec::new();
        flate2::read::DeflateDecoder::new(&packed[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back == data);
    }
}
