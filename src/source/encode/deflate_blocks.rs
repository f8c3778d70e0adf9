//! [`Blocks`]: the blocks of a raw DEFLATE stream (RFC 1951) walked without producing their
//! output: where each block starts (its bit in the stream, its byte in the decoded data) and
//! whether it is the last. The Huffman codes are decoded to find where a block ends (a table
//! of the first 10 bits, the longer codes bit by bit), literals and matches only counted.
//!
//! Used by [`super::splice`] to find where a gzip stream's compressed blocks can be taken as
//! they are. A stream that breaks the format is an error, never a panic: the walk only reads.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::source::Source;

/// Bits the fast table of a Huffman code looks up at once.
const FAST: u32 = 10;
/// Compressed bytes read from the source at a time.
const CHUNK: usize = 256 << 10;

/// Match lengths: the base of each length symbol (257...285) and its extra bits.
const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// The extra bits of each distance symbol (0...29).
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order the code length code's lengths are stored in.
const CLEN_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// One block of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// Its first bit (the BFINAL bit), counted from the stream's first byte.
    pub bit: u64,
    /// Its first decoded byte's offset.
    pub out: u64,
    /// Whether BFINAL is set.
    pub last: bool,
}

/// The walk of a DEFLATE stream lying in `source` from `start` to `end`.
pub struct Blocks {
    bits: BitReader,
    out: u64,
    done: bool,
    /// The decoded length no block may pass.
    bound: u64,
}

impl Blocks {
    /// A walk of the stream in `source` between `start` and `end`, whose decoded data is
    /// `bound` bytes at most.
    pub fn new(source: &Arc<dyn Source>, start: u64, end: u64, bound: u64) -> Blocks {
        Blocks {
            bits: BitReader::new(source.clone(), start, end),
            out: 0,
            done: false,
            bound,
        }
    }

    /// The next block (walked through: its end is where the following one starts), or `None`
    /// after the last.
    pub fn next_block(&mut self) -> Result<Option<Block>> {
        if self.done {
            return Ok(None);
        }
        let block = Block {
            bit: self.bits.position(),
            out: self.out,
            last: self.bits.take(1)? == 1,
        };
        match self.bits.take(2)? {
            0 => {
                self.bits.align();
                let len = self.bits.take(16)?;
                let nlen = self.bits.take(16)?;
                if len != !nlen & 0xffff {
                    return Err(self.corrupt(
                        block.bit,
                        "a stored block's length and its complement differ",
                    ));
                }
                self.bits.skip_bytes(u64::from(len))?;
                self.out += u64::from(len);
            }
            1 => {
                let mut lengths = [0u8; 288 + 32];
                lengths[..144].fill(8);
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                lengths[280..288].fill(8);
                lengths[288..].fill(5);
                let lit = Huffman::new(&lengths[..288]).map_err(|m| self.corrupt(block.bit, m))?;
                let dist = Huffman::new(&lengths[288..]).map_err(|m| self.corrupt(block.bit, m))?;
                self.symbols(&lit, &dist, block.bit)?;
            }
            2 => {
                let (lit, dist) = self.dynamic_codes(block.bit)?;
                self.symbols(&lit, &dist, block.bit)?;
            }
            _ => return Err(self.corrupt(block.bit, "block type 3 is reserved")),
        }
        if self.out > self.bound {
            return Err(self.corrupt(block.bit, "the blocks decode to more than the stream holds"));
        }
        self.done = block.last;
        Ok(Some(block))
    }

    /// Where the walk is: after the last block, the stream's end (its bit count).
    #[cfg(test)]
    pub fn position(&self) -> u64 {
        self.bits.position()
    }

    /// The decoded bytes the blocks walked so far hold.
    #[cfg(test)]
    pub fn decoded(&self) -> u64 {
        self.out
    }

    fn corrupt(&self, bit: u64, message: &str) -> Error {
        Error::corrupt(
            self.bits.source.name(),
            "deflate block",
            self.bits.start + bit / 8,
            message.to_string(),
        )
    }

    /// A dynamic block's literal/length and distance codes, read from its header.
    fn dynamic_codes(&mut self, at: u64) -> Result<(Huffman, Huffman)> {
        let hlit = self.bits.take(5)? as usize + 257;
        let hdist = self.bits.take(5)? as usize + 1;
        let hclen = self.bits.take(4)? as usize + 4;
        let mut clen = [0u8; 19];
        for &i in &CLEN_ORDER[..hclen] {
            clen[i] = self.bits.take(3)? as u8;
        }
        let code = Huffman::new(&clen).map_err(|m| self.corrupt(at, m))?;
        let mut lengths = vec![0u8; hlit + hdist];
        let mut i = 0;
        while i < lengths.len() {
            let sym = code.decode(&mut self.bits)?;
            let (value, repeat) = match sym {
                0..=15 => (sym as u8, 1),
                16 => {
                    let Some(prev) = i.checked_sub(1).map(|p| lengths[p]) else {
                        return Err(self.corrupt(at, "a length repeat with no length before it"));
                    };
                    (prev, 3 + self.bits.take(2)? as usize)
                }
                17 => (0, 3 + self.bits.take(3)? as usize),
                18 => (0, 11 + self.bits.take(7)? as usize),
                _ => return Err(self.corrupt(at, "a code length symbol past 18")),
            };
            if i + repeat > lengths.len() {
                return Err(self.corrupt(at, "code lengths repeated past their count"));
            }
            lengths[i..i + repeat].fill(value);
            i += repeat;
        }
        if lengths[256] == 0 {
            return Err(self.corrupt(at, "a block with no end-of-block code"));
        }
        let lit = Huffman::new(&lengths[..hlit]).map_err(|m| self.corrupt(at, m))?;
        let dist = Huffman::new(&lengths[hlit..]).map_err(|m| self.corrupt(at, m))?;
        Ok((lit, dist))
    }

    /// Walks a Huffman block's symbols up to its end-of-block code, counting the bytes they
    /// stand for.
    fn symbols(&mut self, lit: &Huffman, dist: &Huffman, at: u64) -> Result<()> {
        loop {
            let sym = lit.decode(&mut self.bits)?;
            match sym {
                0..=255 => self.out += 1,
                256 => return Ok(()),
                _ => {
                    let k = usize::from(sym - 257);
                    let (Some(base), Some(extra)) = (LEN_BASE.get(k), LEN_EXTRA.get(k)) else {
                        return Err(self.corrupt(at, "a length symbol past 285"));
                    };
                    self.out += u64::from(*base) + u64::from(self.bits.take(u32::from(*extra))?);
                    let d = usize::from(dist.decode(&mut self.bits)?);
                    let Some(extra) = DIST_EXTRA.get(d) else {
                        return Err(self.corrupt(at, "a distance symbol past 29"));
                    };
                    self.bits.take(u32::from(*extra))?;
                }
            }
            if self.out > self.bound {
                return Err(self.corrupt(at, "the blocks decode to more than the stream holds"));
            }
        }
    }
}

/// A canonical Huffman code (RFC 1951 3.2.2): a table of the codes up to [`FAST`] bits, and
/// the counts and sorted symbols for the longer ones.
struct Huffman {
    /// Indexed by the next `FAST` bits: `length << 9 | symbol`, or 0 for a longer code.
    fast: Vec<u16>,
    count: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> std::result::Result<Huffman, &'static str> {
        let mut count = [0u16; 16];
        for &l in lengths {
            count[usize::from(l)] += 1;
        }
        count[0] = 0;
        // Over-subscribed codes are refused; incomplete ones are allowed (a single distance
        // code is one).
        let mut left = 1i32;
        for &c in &count[1..] {
            left = (left << 1) - i32::from(c);
            if left < 0 {
                return Err("an over-subscribed Huffman code");
            }
        }
        let mut offs = [0u16; 16];
        for l in 1..15 {
            offs[l + 1] = offs[l] + count[l];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbols[usize::from(offs[usize::from(l)])] = sym as u16;
                offs[usize::from(l)] += 1;
            }
        }
        // The fast table: each code of up to FAST bits, bit-reversed (codes are stored from
        // their first bit on), at every index whose low bits it is.
        let mut fast = vec![0u16; 1 << FAST];
        let mut code = 0u32;
        let mut k = 0usize;
        for len in 1..=FAST {
            for _ in 0..count[len as usize] {
                let rev = code.reverse_bits() >> (32 - len);
                let entry = (len as u16) << 9 | symbols[k];
                let mut i = rev as usize;
                while i < fast.len() {
                    fast[i] = entry;
                    i += 1 << len;
                }
                code += 1;
                k += 1;
            }
            code <<= 1;
        }
        Ok(Huffman {
            fast,
            count,
            symbols,
        })
    }

    fn decode(&self, bits: &mut BitReader) -> Result<u16> {
        let entry = self.fast[bits.peek(FAST)? as usize];
        if entry != 0 {
            if u32::from(entry >> 9) > bits.nbits {
                return Err(bits.past_end());
            }
            bits.drop_bits(u32::from(entry >> 9));
            return Ok(entry & 0x1ff);
        }
        // A longer code, bit by bit (as zlib's puff does).
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.take(1)? as i32;
            let count = i32::from(self.count[len]);
            if code - count < first {
                return self
                    .symbols
                    .get((index + code - first) as usize)
                    .copied()
                    .ok_or_else(|| bits.past_end());
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err(Error::corrupt(
            bits.source.name(),
            "deflate block",
            bits.start + bits.position() / 8,
            "a bit sequence no Huffman code has".to_string(),
        ))
    }
}

/// Bits read from a source, least significant first, through a buffer.
struct BitReader {
    source: Arc<dyn Source>,
    start: u64,
    end: u64,
    buf: Vec<u8>,
    /// Where `buf` starts, from `start`.
    buf_at: u64,
    /// The next byte of `buf` not yet in `acc`.
    next: usize,
    acc: u64,
    nbits: u32,
}

impl BitReader {
    fn new(source: Arc<dyn Source>, start: u64, end: u64) -> BitReader {
        BitReader {
            source,
            start,
            end,
            buf: Vec::new(),
            buf_at: 0,
            next: 0,
            acc: 0,
            nbits: 0,
        }
    }

    /// Bits consumed since the stream's start.
    fn position(&self) -> u64 {
        (self.buf_at + self.next as u64) * 8 - u64::from(self.nbits)
    }

    fn past_end(&self) -> Error {
        Error::corrupt(
            self.source.name(),
            "deflate block",
            self.end,
            "the stream ends inside a block".to_string(),
        )
    }

    /// Fills `acc` with at least `n` bits (up to 32), as far as the stream has them; bits past
    /// its end read as zeros, and taking them is an error.
    fn fill(&mut self, n: u32) -> Result<()> {
        while self.nbits < n {
            if self.next == self.buf.len() {
                let at = self.buf_at + self.buf.len() as u64;
                let left = (self.end - self.start).saturating_sub(at);
                if left == 0 {
                    return Ok(());
                }
                let want = (CHUNK as u64).min(left) as usize;
                self.buf.resize(want, 0);
                self.source
                    .read_exact_at(self.start + at, &mut self.buf, "deflate stream")?;
                self.buf_at = at;
                self.next = 0;
            }
            self.acc |= u64::from(self.buf[self.next]) << self.nbits;
            self.next += 1;
            self.nbits += 8;
        }
        Ok(())
    }

    fn peek(&mut self, n: u32) -> Result<u32> {
        self.fill(n)?;
        Ok((self.acc & ((1u64 << n) - 1)) as u32)
    }

    fn drop_bits(&mut self, n: u32) {
        // Bits past the end were never filled: nbits going short is caught by `take`.
        let n = n.min(self.nbits);
        self.acc >>= n;
        self.nbits -= n;
    }

    fn take(&mut self, n: u32) -> Result<u32> {
        if n == 0 {
            return Ok(0);
        }
        self.fill(n)?;
        if self.nbits < n {
            return Err(self.past_end());
        }
        let v = (self.acc & ((1u64 << n) - 1)) as u32;
        self.acc >>= n;
        self.nbits -= n;
        Ok(v)
    }

    /// Drops the bits up to the next byte boundary.
    fn align(&mut self) {
        let n = self.nbits % 8;
        self.drop_bits(n);
    }

    /// Skips `n` whole bytes (the reader is aligned).
    fn skip_bytes(&mut self, mut n: u64) -> Result<()> {
        while n > 0 && self.nbits >= 8 {
            self.drop_bits(8);
            n -= 1;
        }
        let pos = self.buf_at + self.next as u64 + n;
        if pos > self.end - self.start {
            return Err(self.past_end());
        }
        if pos <= self.buf_at + self.buf.len() as u64 {
            self.next = (pos - self.buf_at) as usize;
        } else {
            self.buf.clear();
            self.buf_at = pos;
            self.next = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;
    use std::io::Write;

    #[test]
    fn blocks_add_up_to_the_data() {
        let data: Vec<u8> = (0..400_000u32)
            .map(|i| ((i / 3) ^ (i % 97)) as u8)
            .chain((0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8))
            .collect();
        for level in [0, 1, 6, 9] {
            let mut e =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
            e.write_all(&data).unwrap();
            let packed = e.finish().unwrap();
            let len = packed.len() as u64;
            let src: Arc<dyn Source> = Arc::new(MemSource::new(packed, "d"));
            let mut walk = Blocks::new(&src, 0, len, data.len() as u64);
            let mut blocks = Vec::new();
            while let Some(b) = walk.next_block().unwrap() {
                blocks.push(b);
            }
            assert!(blocks.len() > 1, "level {level}");
            assert!(blocks.last().unwrap().last);
            assert_eq!(walk.decoded(), data.len() as u64, "level {level}");
            assert_eq!(walk.position().div_ceil(8), len, "level {level}");
            assert!(blocks
                .windows(2)
                .all(|w| w[0].out <= w[1].out && w[0].bit < w[1].bit));
        }
    }

    #[test]
    fn a_cut_stream_is_an_error() {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(&vec![5u8; 100_000]).unwrap();
        e.write_all(
            &(0..100_000u32)
                .map(|i| (i * 7 % 251) as u8)
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let packed = e.finish().unwrap();
        let cut = packed.len() as u64 / 2;
        let src: Arc<dyn Source> = Arc::new(MemSource::new(packed, "d"));
        let mut walk = Blocks::new(&src, 0, cut, 200_000);
        let mut result = Ok(None);
        for _ in 0..1000 {
            result = walk.next_block();
            if !matches!(result, Ok(Some(_))) {
                break;
            }
        }
        assert!(result.is_err());
    }
}
