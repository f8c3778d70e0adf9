//! File data of the new image: the original's data blocks and fragment blocks that kept files
//! use, copied as they are stored (ranges of the original image, in its order, each range once
//! however many files share it), and the data of new or changed files, cut into blocks of the
//! image's block size and compressed (all-zero blocks left sparse), their tails packed into
//! new fragment blocks where the image packs tails. Where the image deduplicates, a new file
//! whose compressed data is that of another new file shares its blocks and tail.

use std::collections::HashMap;
use std::sync::Arc;

use super::compress::Encoder;
use super::fragment::Fragment;
use crate::data::Span;
use crate::error::{Error, Result};
use crate::fs::squashfs::data::STORED;
use crate::fs::squashfs::inode::NO_FRAGMENT;
use crate::fs::squashfs::superblock::{
    Superblock, ALWAYS_FRAGMENTS, DUPLICATES, NO_FRAGMENTS, UNCOMPRESSED_DATA,
    UNCOMPRESSED_FRAGMENTS,
};
use crate::fs::{FileSystem, Ino};
use crate::plan::Plan;
use crate::source::Source;

/// Where a file's data lies in the new image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileLayout {
    pub blocks_start: u64,
    pub blocks: Vec<u32>,
    pub fragment: u32,
    pub fragment_offset: u32,
    pub sparse: u64,
}

/// The ranges of the original image copied into the new one: (start, end, new start).
pub struct Copies {
    runs: Vec<(u64, u64, u64)>,
}

impl Copies {
    /// Copies the union of `ranges` (start, end) of `source` into `plan`, in their order in
    /// the source. Ranges outside `area` are refused (the image's data area).
    pub fn copy(
        plan: &mut Plan,
        source: &Arc<dyn Source>,
        area: (u64, u64),
        mut ranges: Vec<(u64, u64)>,
    ) -> Result<Copies> {
        ranges.sort_unstable();
        let mut runs: Vec<(u64, u64, u64)> = Vec::new();
        for (start, end) in ranges {
            if start < area.0 || end > area.1 || start > end {
                return Err(Error::corrupt(
                    source.name(),
                    "squashfs file data",
                    start,
                    format!(
                        "blocks at {start}..{end} lie outside the data area {}..{}",
                        area.0, area.1
                    ),
                ));
            }
            match runs.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => runs.push((start, end, 0)),
            }
        }
        for run in &mut runs {
            run.2 = plan.push(Span::source(source, run.0, run.1 - run.0));
        }
        Ok(Copies { runs })
    }

    /// Where the original's byte `at` (inside a copied range) lies in the new image.
    pub fn moved(&self, at: u64) -> u64 {
        let i = self.runs.partition_point(|r| r.0 <= at);
        match i.checked_sub(1).map(|i| self.runs[i]) {
            Some((start, end, new)) if at <= end => new + (at - start),
            _ => at,
        }
    }
}

/// A new file's data, compressed: the size words and bytes of its blocks, and its tail.
#[derive(Default, PartialEq, Eq, Hash)]
struct Packed {
    words: Vec<u32>,
    bytes: Vec<Arc<[u8]>>,
    tail: Vec<u8>,
    sparse: u64,
}

/// Writes the data of new and changed files.
pub struct NewData<'a> {
    encoder: &'a Encoder,
    block_size: u64,
    /// Tails of which files go into fragments: none, those of files smaller than a block, all.
    no_fragments: bool,
    always_fragments: bool,
    uncompressed_data: bool,
    uncompressed_fragments: bool,
    /// The fragment block being filled, and the fragment blocks of the image.
    pending: Vec<u8>,
    pub fragments: Vec<Fragment>,
    buf: Vec<u8>,
    /// Whether files with the same data share it (the superblock's `DUPLICATES`), and the
    /// new files written so far.
    dedupe: bool,
    seen: HashMap<Packed, FileLayout>,
}

impl<'a> NewData<'a> {
    /// A writer for the image `sb` describes; `fragments` are the ones kept.
    pub fn new(encoder: &'a Encoder, sb: &Superblock, fragments: Vec<Fragment>) -> Self {
        NewData {
            encoder,
            block_size: u64::from(sb.block_size),
            no_fragments: sb.has(NO_FRAGMENTS),
            always_fragments: sb.has(ALWAYS_FRAGMENTS),
            uncompressed_data: sb.has(UNCOMPRESSED_DATA),
            uncompressed_fragments: sb.has(UNCOMPRESSED_FRAGMENTS),
            pending: Vec::new(),
            fragments,
            buf: vec![0; sb.block_size as usize],
            dedupe: sb.has(DUPLICATES),
            seen: HashMap::new(),
        }
    }

    /// A block compressed unless `stored`: its bytes and its size word.
    fn pack(&self, block: &[u8], stored: bool) -> Result<(Vec<u8>, u32)> {
        let packed = if stored {
            None
        } else {
            self.encoder.compress(block)?
        };
        Ok(match packed {
            Some(p) => {
                let len = p.len() as u32;
                (p, len)
            }
            None => (block.to_vec(), block.len() as u32 | STORED),
        })
    }

    /// Writes the `size` bytes of file `ino` of `tree`; returns where they lie. A file whose
    /// blocks and tail are those of a new file written before shares them, when the image
    /// deduplicates.
    pub fn add(
        &mut self,
        plan: &mut Plan,
        tree: &dyn FileSystem,
        ino: Ino,
        size: u64,
    ) -> Result<FileLayout> {
        let mut buf = std::mem::take(&mut self.buf);
        let packed = self.pack_file(tree, ino, size, &mut buf);
        self.buf = buf;
        let packed = packed?;
        if let Some(same) = self.seen.get(&packed) {
            return Ok(same.clone());
        }
        let mut layout = FileLayout {
            blocks_start: plan.len(),
            blocks: packed.words.clone(),
            fragment: NO_FRAGMENT,
            fragment_offset: 0,
            sparse: packed.sparse,
        };
        for b in &packed.bytes {
            plan.push(Span::Bytes(b.clone()));
        }
        if !packed.tail.is_empty() {
            self.tail(plan, &packed.tail, &mut layout)?;
        }
        if self.dedupe {
            self.seen.insert(packed, layout.clone());
        }
        Ok(layout)
    }

    /// Reads and compresses a file: its blocks (all-zero ones left sparse) and its tail.
    fn pack_file(
        &mut self,
        tree: &dyn FileSystem,
        ino: Ino,
        size: u64,
        buf: &mut [u8],
    ) -> Result<Packed> {
        let bs = self.block_size;
        let tail_len = if self.no_fragments || (size >= bs && !self.always_fragments) {
            0
        } else {
            size % bs
        };
        let mut packed = Packed::default();
        let mut at = 0;
        while at < size {
            crate::cancel::check()?;
            let len = (size - at).min(bs) as usize;
            let block = &mut buf[..len];
            read_full(tree, ino, at, block)?;
            if at + len as u64 == size && tail_len != 0 {
                packed.tail = block.to_vec();
            } else if block.iter().all(|&b| b == 0) {
                packed.words.push(0);
                packed.sparse += len as u64;
            } else {
                let (bytes, word) = self.pack(block, self.uncompressed_data)?;
                packed.bytes.push(Arc::from(bytes));
                packed.words.push(word);
            }
            at += len as u64;
        }
        Ok(packed)
    }

    /// Packs a file's tail into the fragment block being filled.
    fn tail(&mut self, plan: &mut Plan, tail: &[u8], layout: &mut FileLayout) -> Result<()> {
        if self.pending.len() + tail.len() > self.block_size as usize {
            self.flush(plan)?;
        }
        layout.fragment = self.fragments.len() as u32;
        layout.fragment_offset = self.pending.len() as u32;
        self.pending.extend_from_slice(tail);
        Ok(())
    }

    /// Writes the fragment block being filled, if it holds anything.
    pub fn flush(&mut self, plan: &mut Plan) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let (bytes, size_word) = self.pack(&self.pending, self.uncompressed_fragments)?;
        let start = plan.push_bytes(bytes);
        self.fragments.push(Fragment { start, size_word });
        self.pending.clear();
        Ok(())
    }
}

/// Fills `buf` from byte `at` of file `ino`.
fn read_full(tree: &dyn FileSystem, ino: Ino, at: u64, buf: &mut [u8]) -> Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match tree.read_at(ino, at + done as u64, &mut buf[done..])? {
            0 => {
                return Err(Error::corrupt(
                    tree.source().name(),
                    "file data",
                    at + done as u64,
                    "the file ends before its recorded size",
                ))
            }
            n => done += n,
        }
    }
    Ok(())
}
