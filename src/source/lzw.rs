//! Unix `compress` (`.Z`, magic `1f 9d`): the 3-byte header (magic, then the largest code width
//! and the block-mode flag), then LZW codes of 9 bits up to that width, least significant bit
//! first. Codes come in groups of one width's worth of bytes: when the width grows, or a CLEAR
//! code (256, in block mode) resets the table, the rest of the current group is padding, as the
//! original VAX implementation wrote it. The stream has no end marker: it ends with the input.

use std::io::{self, BufRead, Read};

/// The stream's magic number.
pub const MAGIC: [u8; 2] = [0x1f, 0x9d];
/// The CLEAR code of block mode.
const CLEAR: u32 = 256;

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// A streaming decoder of one `.Z` stream.
pub struct LzwDecoder<R> {
    inner: R,
    started: bool,
    done: bool,
    /// Largest code width (9 to 16) and block mode.
    max_bits: u32,
    block_mode: bool,
    bits: u32,
    mask: u32,
    /// The last code in the table.
    end: u32,
    prefix: Vec<u16>,
    suffix: Vec<u8>,
    prev: Option<u32>,
    last_first: u8,
    /// Bits not yet used, and how many.
    buf: u32,
    left: u32,
    /// Code bytes read since the current width began, for the padding.
    since_mark: u64,
    /// Decoded bytes not yet handed out (a string of the table, reversed).
    stack: Vec<u8>,
}

impl<R: BufRead> LzwDecoder<R> {
    /// A decoder positioned at the stream's magic.
    pub fn new(inner: R) -> Self {
        LzwDecoder {
            inner,
            started: false,
            done: false,
            max_bits: 16,
            block_mode: true,
            bits: 9,
            mask: 0x1ff,
            end: 255,
            prefix: vec![0; 1 << 16],
            suffix: vec![0; 1 << 16],
            prev: None,
            last_first: 0,
            buf: 0,
            left: 0,
            since_mark: 0,
            stack: Vec::new(),
        }
    }

    fn header(&mut self) -> io::Result<()> {
        let mut h = [0u8; 3];
        self.inner.read_exact(&mut h)?;
        if h[..2] != MAGIC {
            return Err(invalid("not a compress (.Z) stream"));
        }
        self.max_bits = u32::from(h[2] & 0x1f);
        self.block_mode = h[2] & 0x80 != 0;
        if !(9..=16).contains(&self.max_bits) || h[2] & 0x60 != 0 {
            return Err(invalid(
                "a compress header with an unknown code width or flag",
            ));
        }
        self.reset();
        self.started = true;
        Ok(())
    }

    fn reset(&mut self) {
        self.bits = 9;
        self.mask = 0x1ff;
        self.end = if self.block_mode { CLEAR } else { 255 };
    }

    fn byte(&mut self) -> io::Result<Option<u8>> {
        let avail = self.inner.fill_buf()?;
        let Some(&b) = avail.first() else {
            return Ok(None);
        };
        self.inner.consume(1);
        self.since_mark += 1;
        Ok(Some(b))
    }

    /// The next code; `None` at the end of the input.
    fn code(&mut self) -> io::Result<Option<u32>> {
        while self.left < self.bits {
            let Some(b) = self.byte()? else {
                return Ok(None);
            };
            self.buf |= u32::from(b) << self.left;
            self.left += 8;
        }
        let code = self.buf & self.mask;
        self.buf >>= self.bits;
        self.left -= self.bits;
        Ok(Some(code))
    }

    /// Skips the rest of the current group of codes.
    fn flush(&mut self) -> io::Result<()> {
        let group = u64::from(self.bits);
        let rem = self.since_mark % group;
        if rem != 0 {
            for _ in 0..group - rem {
                if self.byte()?.is_none() {
                    break;
                }
            }
        }
        self.buf = 0;
        self.left = 0;
        self.since_mark = 0;
        Ok(())
    }

    /// Decodes the next code's string onto the stack; false at the end.
    fn step(&mut self) -> io::Result<bool> {
        loop {
            if self.end >= self.mask && self.bits < self.max_bits {
                self.flush()?;
                self.bits += 1;
                self.mask = (self.mask << 1) | 1;
            }
            let Some(code) = self.code()? else {
                return Ok(false);
            };
            let Some(prev) = self.prev else {
                if code > 255 {
                    return Err(invalid("the first compress code is not a byte"));
                }
                self.prev = Some(code);
                self.last_first = code as u8;
                self.stack.push(code as u8);
                return Ok(true);
            };
            if code == CLEAR && self.block_mode {
                self.flush()?;
                self.reset();
                self.end = 255;
                continue;
            }
            let mut c = code;
            if c > self.end {
                if c != self.end + 1 || prev > self.end {
                    return Err(invalid("a compress code past the table"));
                }
                self.stack.push(self.last_first);
                c = prev;
            }
            while c >= 256 {
                self.stack.push(self.suffix[c as usize]);
                c = u32::from(self.prefix[c as usize]);
            }
            self.stack.push(c as u8);
            self.last_first = c as u8;
            if self.end < self.mask {
                self.end += 1;
                self.prefix[self.end as usize] = prev as u16;
                self.suffix[self.end as usize] = self.last_first;
            }
            self.prev = Some(code);
            return Ok(true);
        }
    }
}

impl<R: BufRead> Read for LzwDecoder<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.started {
            self.header()?;
        }
        let mut n = 0;
        while n < out.len() {
            if let Some(b) = self.stack.pop() {
                out[n] = b;
                n += 1;
                continue;
            }
            if self.done {
                break;
            }
            if !self.step()? {
                self.done = true;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::LzwDecoder;

    #[test]
    fn a_short_stream_decodes() {
        // `printf 'TOBEORNOTTOBEORTOBEORNOT' | compress -c`, as ncompress writes it.
        let z = [
            0x1f, 0x9d, 0x90, 0x54, 0x9e, 0x08, 0x29, 0xf2, 0x44, 0x8a, 0x93, 0x27, 0x54, 0x02,
            0x0e, 0x2c, 0xa8, 0x90, 0xa0, 0x41, 0x84,
        ];
        let mut out = Vec::new();
        LzwDecoder::new(&z[..]).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"TOBEORNOTTOBEORTOBEORNOT");
    }
}
