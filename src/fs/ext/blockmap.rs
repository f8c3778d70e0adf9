//! The ext2/ext3 block map: twelve direct block numbers in `i_block`, then one single, one
//! double and one triple indirect block, each a block of 32-bit block numbers; zero is a
//! hole (for a pointer block, a hole over everything below it). Only the blocks the file's
//! size covers are mapped, and the blocks read and mapped are bounded by the filesystem's
//! block count, so a map that points into itself ends in an error.

use super::data::{Disk, Run, Runs};
use crate::error::Result;
use crate::ondisk::endian::le32;

const DIRECT: u64 = 12;

/// Maps the first `blocks` logical blocks of inode `ino`, whose `i_block` is `i_block`.
pub fn map(disk: &Disk, ino: u32, i_block: &[u8], blocks: u64) -> Result<Vec<Run>> {
    let mut walk = Walk {
        disk,
        ino,
        limit: blocks,
        per_block: disk.block_size / 4,
        runs: Runs::new(disk.blocks_count),
    };
    // `i_block` is the inode's 60 bytes: 15 pointers.
    let pointer = |i: usize| u64::from(le32(i_block, 4 * i).unwrap_or_default());
    for i in 0..DIRECT {
        walk.pointer(pointer(i as usize), 0, i)?;
    }
    let mut start = DIRECT;
    let mut span = 1u64;
    for level in 1..=3u32 {
        span *= walk.per_block;
        walk.pointer(pointer(11 + level as usize), level, start)?;
        start += span;
    }
    Ok(walk.runs.runs)
}

struct Walk<'a> {
    disk: &'a Disk<'a>,
    ino: u32,
    limit: u64,
    per_block: u64,
    runs: Runs,
}

impl Walk<'_> {
    /// Follows `block`, which maps logical blocks from `logical` through `level` levels of
    /// pointer blocks (0: a data block).
    fn pointer(&mut self, block: u64, level: u32, logical: u64) -> Result<()> {
        if block == 0 || logical >= self.limit {
            return Ok(());
        }
        let bad = |detail: String| {
            self.disk.corrupt(
                "ext block map",
                block * self.disk.block_size,
                format!("inode {}: {detail}", self.ino),
            )
        };
        if block >= self.disk.blocks_count {
            return Err(bad(format!(
                "block {block} is past the end of the filesystem"
            )));
        }
        if level == 0 {
            let run = Run {
                logical,
                physical: block,
                len: 1,
                init: true,
            };
            if !self.runs.push(run) {
                return Err(bad("maps more blocks than the filesystem has".into()));
            }
            return Ok(());
        }
        if !self.runs.spend(1) {
            return Err(bad(
                "reads more blocks than the filesystem has (a loop?)".into()
            ));
        }
        let b = self.disk.block(block, "ext block map", self.ino)?;
        let span = self.per_block.pow(level - 1);
        let pointers = (0..b.len() / 4).filter_map(|i| le32(&b, 4 * i));
        for (i, p) in pointers.enumerate() {
            let at = logical + i as u64 * span;
            if at >= self.limit {
                break;
            }
            self.pointer(u64::from(p), level - 1, at)?;
        }
        Ok(())
    }
}
