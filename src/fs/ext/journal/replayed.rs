//! The filesystem as the kernel would see it after replaying its journal: a [`Source`] over
//! the image in which every block the journal holds a newer copy of reads as that copy (its
//! first four bytes given back the journal magic when the copy was escaped). Nothing is
//! written; the image is read as it is everywhere else.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::Result;
use crate::source::Source;

/// Where the newest copy of a filesystem block lies in the image.
#[derive(Clone, Copy, Debug)]
pub struct Copy {
    pub offset: u64,
    pub escaped: bool,
}

/// The image with the journal's copies laid over it.
pub struct Replayed {
    inner: Arc<dyn Source>,
    block_size: u64,
    /// Filesystem block → its newest copy in the journal.
    copies: BTreeMap<u64, Copy>,
}

impl Replayed {
    pub fn new(inner: Arc<dyn Source>, block_size: u64, copies: BTreeMap<u64, Copy>) -> Self {
        Replayed {
            inner,
            block_size,
            copies,
        }
    }
}

impl Source for Replayed {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let len = self.inner.len();
        if offset >= len {
            return Ok(0);
        }
        let want = buf.len().min((len - offset) as usize);
        let buf = &mut buf[..want];
        let bs = self.block_size;
        let end = offset + want as u64;
        let mut done = 0u64;
        // The replaced blocks this read touches, in order; the rest reads from the image.
        for (&block, copy) in self.copies.range(offset / bs..end.div_ceil(bs)) {
            let from = (block * bs).max(offset);
            let to = ((block + 1) * bs).min(end);
            let pos = offset + done;
            if from > pos {
                let n = (from - pos) as usize;
                let part = &mut buf[done as usize..done as usize + n];
                self.inner.read_exact_at(pos, part, "ext file data")?;
                done += n as u64;
            }
            let within = from - block * bs;
            let part = &mut buf[done as usize..(to - offset) as usize];
            self.inner
                .read_exact_at(copy.offset + within, part, "ext journal block")?;
            if copy.escaped && within < 4 {
                let magic = super::MAGIC.to_be_bytes();
                let n = (4 - within as usize).min(part.len());
                part[..n].copy_from_slice(&magic[within as usize..within as usize + n]);
            }
            done = to - offset;
        }
        if done < want as u64 {
            let part = &mut buf[done as usize..];
            self.inner
                .read_exact_at(offset + done, part, "ext file data")?;
        }
        Ok(want)
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
}
