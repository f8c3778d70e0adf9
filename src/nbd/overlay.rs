//! The copy-on-write overlay of a writable export (`serve --rw`): the blocks a client wrote,
//! kept in an unnamed temporary file (gone when the server ends) with a bitmap of which
//! blocks it holds. The base image is never written.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use super::BLOCK;

/// Written blocks over a base of `len` bytes.
pub struct Overlay {
    file: File,
    /// One bit per block of [`BLOCK`] bytes: set when the file holds the block.
    written: Vec<u64>,
    len: u64,
}

impl Overlay {
    /// An empty overlay over `len` bytes (a sparse temporary file of that size).
    pub fn new(len: u64) -> io::Result<Overlay> {
        let file = tempfile::tempfile()?;
        file.set_len(len)?;
        let blocks = len.div_ceil(u64::from(BLOCK));
        let words = usize::try_from(blocks.div_ceil(64)).map_err(io::Error::other)?;
        Ok(Overlay {
            file,
            written: vec![0; words],
            len,
        })
    }

    fn is_written(&self, block: u64) -> bool {
        self.written[(block / 64) as usize] & (1 << (block % 64)) != 0
    }

    fn mark(&mut self, block: u64) {
        self.written[(block / 64) as usize] |= 1 << (block % 64);
    }

    /// Whether the block holding byte `at` was written, and where the run of blocks in that
    /// state ends (at most `end`).
    pub fn run(&self, at: u64, end: u64) -> (bool, u64) {
        let block = u64::from(BLOCK);
        let state = self.is_written(at / block);
        let mut next = (at / block + 1) * block;
        while next < end && self.is_written(next / block) == state {
            next += block;
        }
        (state, next.min(end))
    }

    /// Reads `buf.len()` written bytes at `offset` (all in written blocks).
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    /// Writes `data` at `offset` (inside the base's length). A block the data covers only in
    /// part is first copied from the base with `base` (offset, buffer).
    pub fn write(
        &mut self,
        offset: u64,
        data: &[u8],
        base: &dyn Fn(u64, &mut [u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        let block = u64::from(BLOCK);
        let end = offset + data.len() as u64;
        let (first, last) = (offset / block, (end - 1) / block);
        for b in [first, last] {
            let (start, stop) = (b * block, ((b + 1) * block).min(self.len));
            let partial = start < offset || stop > end;
            if partial && !self.is_written(b) {
                let mut whole = vec![0u8; (stop - start) as usize];
                base(start, &mut whole)?;
                self.file.write_all_at(&whole, start)?;
                self.mark(b);
            }
        }
        self.file.write_all_at(data, offset)?;
        (first..=last).for_each(|b| self.mark(b));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_blocks_are_filled_from_the_base_and_runs_follow_the_bitmap() {
        let block = BLOCK as u64;
        let len = 4 * block + 100;
        let base = |at: u64, buf: &mut [u8]| {
            buf.iter_mut()
                .enumerate()
                .for_each(|(i, b)| *b = ((at + i as u64) % 251) as u8);
            Ok(())
        };
        let mut o = Overlay::new(len).unwrap();
        assert_eq!(o.run(0, len), (false, len));
        o.write(block + 10, b"xyz", &base).unwrap();
        o.write(4 * block + 99, b"!", &base).unwrap();
        assert_eq!(o.run(5, len), (false, block));
        assert_eq!(o.run(block + 1, len), (true, 2 * block));
        assert_eq!(o.run(4 * block, len), (true, len));
        let mut got = vec![0u8; 16];
        o.read(block + 5, &mut got).unwrap();
        let mut want = vec![0u8; 16];
        base(block + 5, &mut want).unwrap();
        want[5..8].copy_from_slice(b"xyz");
        assert_eq!(got, want);
        let mut tail = [0u8; 2];
        o.read(4 * block + 98, &mut tail).unwrap();
        assert_eq!(tail, [((4 * block + 98) % 251) as u8, b'!']);
    }
}
