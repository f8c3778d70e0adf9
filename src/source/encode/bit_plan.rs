//! [`BitPlan`]: a DEFLATE stream put together bit by bit into a [`Plan`]: bits and bytes the
//! splice makes in memory, and long runs of an original stream's bytes taken as ranges of its
//! source (not copied) where the new stream has them at the same bit alignment.

use std::sync::Arc;

use crate::data::Span;
use crate::error::Result;
use crate::plan::Plan;
use crate::source::Source;

/// Byte runs at least this long go into the plan as ranges of their source.
const AS_RANGE: u64 = 64 << 10;

/// The stream being written.
pub struct BitPlan {
    plan: Plan,
    bytes: Vec<u8>,
    acc: u64,
    nbits: u32,
}

impl BitPlan {
    /// An empty stream.
    pub fn new() -> BitPlan {
        BitPlan {
            plan: Plan::new(),
            bytes: Vec::new(),
            acc: 0,
            nbits: 0,
        }
    }

    /// The bits written, modulo 8 (where in its byte the next bit goes).
    pub fn alignment(&self) -> u64 {
        u64::from(self.nbits)
    }

    /// Writes the low `n` bits of `value` (n <= 32), least significant first.
    pub fn put(&mut self, value: u32, n: u32) {
        self.acc |= (u64::from(value) & ((1u64 << n) - 1)) << self.nbits;
        self.nbits += n;
        while self.nbits >= 8 {
            self.bytes.push(self.acc as u8);
            self.acc >>= 8;
            self.nbits -= 8;
        }
    }

    /// Whole bytes (the stream is at a byte boundary).
    pub fn put_bytes(&mut self, bytes: &[u8]) {
        debug_assert_eq!(self.nbits, 0);
        self.bytes.extend_from_slice(bytes);
    }

    /// An empty stored block, not the last: the stream goes on at a byte boundary (what
    /// zlib's sync flush writes).
    pub fn sync(&mut self) {
        self.put(0, 3);
        if self.nbits > 0 {
            self.put(0, 8 - self.nbits);
        }
        self.put_bytes(&[0, 0, 0xff, 0xff]);
    }

    /// An empty block with the fixed codes: ten bits, the end-of-block code alone; `last`
    /// sets BFINAL.
    pub fn empty_fixed(&mut self, last: bool) {
        self.put(u32::from(last) | 0b10, 3);
        self.put(0, 7);
    }

    /// The bits `from..to` of the stream lying in `source` from byte `base`; the stream being
    /// written is at the same bit within its byte as `from`.
    pub fn copy(&mut self, source: &Arc<dyn Source>, base: u64, from: u64, to: u64) -> Result<()> {
        debug_assert_eq!(from % 8, u64::from(self.nbits));
        if from >= to {
            return Ok(());
        }
        let mut at = from;
        if !at.is_multiple_of(8) {
            let byte = read_byte(source, base + at / 8)?;
            let have = (8 - at % 8).min(to - at) as u32;
            self.put(u32::from(byte) >> (at % 8), have);
            at += u64::from(have);
        }
        let whole = (to / 8).saturating_sub(at / 8);
        if at.is_multiple_of(8) && whole > 0 {
            let offset = base + at / 8;
            if whole >= AS_RANGE {
                let bytes = std::mem::take(&mut self.bytes);
                self.plan.push(Span::Bytes(Arc::from(bytes)));
                self.plan.push(Span::source(source, offset, whole));
            } else {
                let mut buf = vec![0u8; whole as usize];
                source.read_exact_at(offset, &mut buf, "deflate stream")?;
                self.bytes.extend_from_slice(&buf);
            }
            at += whole * 8;
        }
        if at < to {
            let byte = read_byte(source, base + at / 8)?;
            self.put(u32::from(byte), (to - at) as u32);
        }
        Ok(())
    }

    /// The stream, its last byte's spare bits zero.
    pub fn finish(mut self) -> Plan {
        if self.nbits > 0 {
            self.put(0, 8 - self.nbits);
        }
        self.plan.push(Span::Bytes(Arc::from(self.bytes)));
        self.plan
    }
}

fn read_byte(source: &Arc<dyn Source>, at: u64) -> Result<u8> {
    let mut b = [0u8];
    source.read_exact_at(at, &mut b, "deflate stream")?;
    Ok(b[0])
}
