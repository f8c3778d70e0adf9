//! Metadata blocks: the 8 KiB units the inode, directory, fragment, export, id and xattr tables
//! are stored in, each behind a 16-bit header (its stored length, bit 15 set when stored
//! uncompressed), and the lookup tables made of them: the blocks, then the image offsets of
//! the blocks (u64 each), where the superblock points.

use super::compress::Encoder;
use crate::error::Result;
use crate::fs::squashfs::metadata::{BLOCK, STORED};
use crate::plan::Plan;

/// Writes a run of metadata blocks into memory; positions in it are (offset of a block's
/// header from the run's start, offset in the block's decoded bytes).
pub struct MetadataWriter<'a> {
    encoder: &'a Encoder,
    uncompressed: bool,
    out: Vec<u8>,
    pending: Vec<u8>,
    /// Where each block starts in the run, the one being filled last.
    starts: Vec<u64>,
}

impl<'a> MetadataWriter<'a> {
    /// A writer compressing with `encoder`, unless `uncompressed` (the superblock's flag).
    pub fn new(encoder: &'a Encoder, uncompressed: bool) -> Self {
        MetadataWriter {
            encoder,
            uncompressed,
            out: Vec::new(),
            pending: Vec::with_capacity(BLOCK),
            starts: vec![0],
        }
    }

    /// Where the next byte written will lie: the block's offset in the run, and the offset in
    /// the block.
    pub fn position(&self) -> (u64, u16) {
        (self.out.len() as u64, self.pending.len() as u16)
    }

    /// Appends `bytes`, closing each block as it fills.
    pub fn write(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let take = bytes.len().min(BLOCK - self.pending.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.pending.len() == BLOCK {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let packed = if self.uncompressed {
            None
        } else {
            self.encoder.compress(&self.pending)?
        };
        match packed {
            Some(p) => {
                self.out.extend_from_slice(&(p.len() as u16).to_le_bytes());
                self.out.extend_from_slice(&p);
            }
            None => {
                let word = self.pending.len() as u16 | STORED;
                self.out.extend_from_slice(&word.to_le_bytes());
                self.out.extend_from_slice(&self.pending);
            }
        }
        self.pending.clear();
        self.starts.push(self.out.len() as u64);
        Ok(())
    }

    /// The decoded bytes written so far.
    pub fn written(&self) -> u64 {
        (self.starts.len() as u64 - 1) * BLOCK as u64 + self.pending.len() as u64
    }

    /// Where the block holding decoded byte `at` (already written) starts in the run.
    pub fn block_of(&self, at: u64) -> u64 {
        let i = (at / BLOCK as u64) as usize;
        self.starts[i.min(self.starts.len() - 1)]
    }

    /// The run's bytes, its last block closed.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        self.flush()?;
        Ok(self.out)
    }
}

/// Appends `bytes` to `plan` as metadata blocks, each of whole entries (the blocks of a table
/// are read one by one); returns the blocks' offsets in the image, as u64s.
pub fn blocks(
    plan: &mut Plan,
    encoder: &Encoder,
    uncompressed: bool,
    bytes: &[u8],
) -> Result<Vec<u8>> {
    let mut index = Vec::with_capacity(bytes.len().div_ceil(BLOCK) * 8);
    for chunk in bytes.chunks(BLOCK) {
        let mut w = MetadataWriter::new(encoder, uncompressed);
        w.write(chunk)?;
        let at = plan.push_bytes(w.finish()?);
        index.extend_from_slice(&at.to_le_bytes());
    }
    Ok(index)
}

/// Appends a lookup table holding `bytes` (fixed-size entries) to `plan`: its metadata blocks,
/// then their offsets; returns where the offsets start (the superblock's pointer).
pub fn lookup_table(
    plan: &mut Plan,
    encoder: &Encoder,
    uncompressed: bool,
    bytes: &[u8],
) -> Result<u64> {
    let index = blocks(plan, encoder, uncompressed, bytes)?;
    Ok(plan.push_bytes(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_close_at_8_kib_and_positions_follow_them() {
        let e = Encoder::new("t", 6, 4096, None).unwrap();
        let mut w = MetadataWriter::new(&e, true);
        w.write(&[1; BLOCK - 2]).unwrap();
        assert_eq!(w.position(), (0, BLOCK as u16 - 2));
        w.write(&[2; 4]).unwrap();
        assert_eq!(w.position(), (BLOCK as u64 + 2, 2));
        let out = w.finish().unwrap();
        assert_eq!(out.len(), BLOCK + 2 + 2 + 2);
        assert_eq!(&out[..2], &(BLOCK as u16 | STORED).to_le_bytes());
        assert_eq!(&out[BLOCK + 2..BLOCK + 4], &(2 | STORED).to_le_bytes());
    }
}
