//! The legacy LZ4 frame (`lz4 -l`, magic 0x184C2102) that Linux initrds use: the magic, then
//! chunks of a 32-bit little-endian compressed size and an LZ4 block of up to 8 MiB, until the
//! input ends (or a chunk size that cannot be one, such as the next archive's magic).

use std::io::{self, BufRead, Read};

/// Decompressed size of one chunk.
const CHUNK: usize = 8 << 20;
/// `LZ4_compressBound(CHUNK)`: no honest chunk is larger.
const MAX_COMPRESSED: usize = CHUNK + CHUNK / 255 + 16;
/// The frame's magic number.
pub const MAGIC: [u8; 4] = [0x02, 0x21, 0x4c, 0x18];

/// A streaming decoder of one legacy LZ4 frame. It consumes exactly the frame's bytes from the
/// underlying reader.
pub struct Lz4LegacyDecoder<R> {
    inner: R,
    started: bool,
    done: bool,
    input: Vec<u8>,
    output: Vec<u8>,
    at: usize,
}

impl<R: BufRead> Lz4LegacyDecoder<R> {
    /// A decoder positioned at the frame's magic.
    pub fn new(inner: R) -> Self {
        Lz4LegacyDecoder {
            inner,
            started: false,
            done: false,
            input: Vec::new(),
            output: Vec::new(),
            at: 0,
        }
    }

    /// Peeks 4 bytes without consuming them; `None` at the end of the input.
    fn peek4(&mut self) -> io::Result<Option<[u8; 4]>> {
        let avail = self.inner.fill_buf()?;
        if avail.len() >= 4 {
            return Ok(Some([avail[0], avail[1], avail[2], avail[3]]));
        }
        if avail.is_empty() {
            return Ok(None);
        }
        // A short buffer near the end: the remaining bytes can't hold a chunk header.
        Ok(None)
    }

    fn next_chunk(&mut self) -> io::Result<bool> {
        if !self.started {
            let mut magic = [0u8; 4];
            self.inner.read_exact(&mut magic)?;
            if magic != MAGIC {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "not a legacy LZ4 frame",
                ));
            }
            self.started = true;
        }
        loop {
            let Some(head) = self.peek4()? else {
                return Ok(false);
            };
            if head == MAGIC {
                // Concatenated legacy frames continue the stream.
                self.inner.consume(4);
                continue;
            }
            let size = u32::from_le_bytes(head) as usize;
            if size == 0 || size > MAX_COMPRESSED {
                return Ok(false);
            }
            self.inner.consume(4);
            self.input.resize(size, 0);
            self.inner.read_exact(&mut self.input)?;
            self.output.resize(CHUNK, 0);
            let n = lz4_flex::block::decompress_into(&self.input, &mut self.output)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            self.output.truncate(n);
            self.at = 0;
            return Ok(true);
        }
    }
}

impl<R: BufRead> Read for Lz4LegacyDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at >= self.output.len() {
            if self.done || !self.next_chunk()? {
                self.done = true;
                return Ok(0);
            }
        }
        let n = buf.len().min(self.output.len() - self.at);
        buf[..n].copy_from_slice(&self.output[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
