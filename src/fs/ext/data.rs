//! Reading blocks and file data: [`Disk`] reads checked blocks of the image; [`FileData`] is a
//! file's mapping (runs of logical blocks to image blocks, built once from its extent tree or
//! block map and cached by the caller, or its inline bytes), from which `read_at` and
//! `extents` serve any range without touching the metadata again.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::fs::Span;
use crate::source::Source;

/// The image as a sequence of blocks.
#[derive(Clone, Copy)]
pub struct Disk<'a> {
    pub source: &'a dyn Source,
    pub block_size: u64,
    pub blocks_count: u64,
}

impl Disk<'_> {
    /// A corrupt-structure error in this image.
    pub fn corrupt(
        &self,
        structure: &'static str,
        offset: u64,
        detail: impl Into<String>,
    ) -> Error {
        Error::corrupt(self.source.name(), structure, offset, detail)
    }

    /// Reads block `block` (checked against the block count) as a metadata `structure`
    /// of inode `ino`.
    pub fn block(&self, block: u64, structure: &'static str, ino: u32) -> Result<Vec<u8>> {
        if block >= self.blocks_count {
            return Err(self.corrupt(
                structure,
                0,
                format!(
                    "inode {ino}: block {block} is past the end of the filesystem ({} blocks)",
                    self.blocks_count
                ),
            ));
        }
        self.source
            .read_vec(block * self.block_size, self.block_size as usize, structure)
    }
}

/// Logical blocks `logical..logical + len` of a file lie in image blocks `physical..`;
/// uninitialised runs read as zeros.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub logical: u64,
    pub physical: u64,
    pub len: u64,
    pub init: bool,
}

/// Collects runs in logical order, merging neighbours, and counts mapped blocks against a
/// budget (no file can map more blocks than the filesystem has: a map that does loops or lies).
pub struct Runs {
    pub runs: Vec<Run>,
    budget: u64,
}

impl Runs {
    /// An empty list that accepts at most `budget` mapped blocks.
    pub fn new(budget: u64) -> Self {
        Runs {
            runs: Vec::new(),
            budget,
        }
    }

    /// Spends `n` blocks of the budget (for mapped data or for map blocks read); false when
    /// the budget is spent.
    pub fn spend(&mut self, n: u64) -> bool {
        match self.budget.checked_sub(n) {
            Some(rest) => {
                self.budget = rest;
                true
            }
            None => false,
        }
    }

    /// Appends a run that starts after the previous one; false when the budget is spent.
    pub fn push(&mut self, run: Run) -> bool {
        if !self.spend(run.len) {
            return false;
        }
        if let Some(last) = self.runs.last_mut() {
            if last.init == run.init
                && last.logical + last.len == run.logical
                && last.physical + last.len == run.physical
            {
                last.len += run.len;
                return true;
            }
        }
        self.runs.push(run);
        true
    }
}

/// Where a file's bytes are.
#[derive(Debug)]
pub enum Content {
    /// Block runs, in logical order, not overlapping; what no run covers is a hole.
    Blocks(Vec<Run>),
    /// Bytes kept in the inode (inline data), exactly `size` of them.
    Inline(Vec<u8>),
}

/// A file's size and mapping.
#[derive(Debug)]
pub struct FileData {
    pub size: u64,
    pub content: Content,
}

impl FileData {
    /// Reads up to `buf.len()` bytes at `offset`; fewer only at the end of the file.
    pub fn read_at(&self, disk: &Disk, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.size {
            return Ok(0);
        }
        let want = buf.len().min((self.size - offset) as usize);
        let buf = &mut buf[..want];
        let runs = match &self.content {
            Content::Inline(bytes) => {
                let start = offset as usize;
                buf.copy_from_slice(&bytes[start..start + want]);
                return Ok(want);
            }
            Content::Blocks(runs) => runs,
        };
        let bs = disk.block_size;
        let mut idx = runs.partition_point(|r| (r.logical + r.len) * bs <= offset);
        let mut done = 0;
        while done < want {
            let pos = offset + done as u64;
            let rest = want - done;
            let out = &mut buf[done..];
            let n = match runs.get(idx) {
                Some(r) if r.logical * bs <= pos => {
                    let within = pos - r.logical * bs;
                    let n = rest.min((r.len * bs - within) as usize);
                    if r.init {
                        disk.source.read_exact_at(
                            r.physical * bs + within,
                            &mut out[..n],
                            "ext file data",
                        )?;
                    } else {
                        out[..n].fill(0);
                    }
                    idx += 1;
                    n
                }
                next => {
                    // A hole up to the next run (or the end).
                    let n = next.map_or(rest, |r| rest.min((r.logical * bs - pos) as usize));
                    out[..n].fill(0);
                    n
                }
            };
            done += n;
        }
        Ok(done)
    }

    /// The file's bytes as ranges of `disk` (holes and uninitialised runs as zeros),
    /// covering exactly `size` bytes; `None` for inline data.
    pub fn spans(&self, disk: &Arc<dyn Source>, block_size: u64) -> Option<Vec<Span>> {
        let Content::Blocks(runs) = &self.content else {
            return None;
        };
        let mut out: Vec<Span> = Vec::with_capacity(runs.len() + 1);
        let mut at = 0u64;
        let add =
            |out: &mut Vec<Span>, offset: Option<u64>, len: u64| match (out.last_mut(), offset) {
                (Some(Span::Zeros(last)), None) => *last += len,
                (_, None) => out.push(Span::Zeros(len)),
                (_, Some(offset)) => out.push(Span::source(disk, offset, len)),
            };
        for r in runs {
            let start = r.logical * block_size;
            if start >= self.size {
                break;
            }
            if start > at {
                add(&mut out, None, start - at);
            }
            let len = (r.len * block_size).min(self.size - start);
            add(&mut out, r.init.then_some(r.physical * block_size), len);
            at = start + len;
        }
        if at < self.size {
            add(&mut out, None, self.size - at);
        }
        Some(out)
    }
}
