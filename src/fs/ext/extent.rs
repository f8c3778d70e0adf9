//! The ext4 extent tree: a 12-byte header (magic 0xf30a, entries, max, depth) and 12-byte
//! entries, the root in `i_block`, index nodes pointing to blocks one level down, leaves
//! mapping runs of logical blocks (uninitialised when the length has its top bit). Every node
//! is checked (magic, entries within the node, depth one less than its parent, logical order
//! within the range its parent gives) and every block is visited at most once, so a tree that
//! loops or lies ends in an error.

use std::collections::HashSet;

use super::data::{Disk, Run, Runs};
use crate::error::Result;
use crate::ondisk::Fields;

const MAGIC: u16 = 0xf30a;
/// The deepest tree the kernel builds.
const MAX_DEPTH: u16 = 5;
const HEADER: usize = 12;
const ENTRY: usize = 12;
/// Above this, a leaf's length marks an uninitialised extent.
const INIT_MAX: u16 = 32768;

/// Walks the extent tree of inode `ino`, whose root is `root` (its `i_block`), into runs.
pub fn map(disk: &Disk, ino: u32, root: &[u8]) -> Result<Vec<Run>> {
    let mut walk = Walk {
        disk,
        ino,
        seen: HashSet::new(),
        runs: Runs::new(disk.blocks_count),
    };
    walk.node(root, None, 0, 1 << 32, 0)?;
    Ok(walk.runs.runs)
}

struct Walk<'a> {
    disk: &'a Disk<'a>,
    ino: u32,
    seen: HashSet<u64>,
    runs: Runs,
}

impl Walk<'_> {
    /// Reads the node `b` (found in block `at`, 0 for the root) that must have `depth`
    /// (any for the root) and map logical blocks `lo..hi`.
    fn node(&mut self, b: &[u8], depth: Option<u16>, lo: u64, hi: u64, at: u64) -> Result<()> {
        let offset = at * self.disk.block_size;
        let (disk, ino) = (self.disk, self.ino);
        let bad = |detail: String| {
            disk.corrupt("ext extent tree", offset, format!("inode {ino}: {detail}"))
        };
        let f = Fields::new(b, disk.source.name(), "ext extent tree", offset);
        if f.le16(0)? != MAGIC {
            return Err(bad(format!("no extent magic in block {at}")));
        }
        let (entries, max, d) = (f.le16(2)?, f.le16(4)?, f.le16(6)?);
        if usize::from(max) > b.len().saturating_sub(HEADER) / ENTRY || entries > max {
            return Err(bad(format!(
                "{entries} entries of {max} do not fit a node of {} bytes",
                b.len()
            )));
        }
        if d > MAX_DEPTH {
            return Err(bad(format!("depth {d}, deeper than {MAX_DEPTH}")));
        }
        if let Some(want) = depth.filter(|&want| want != d) {
            return Err(bad(format!(
                "block {at} has depth {d} where its parent wants {want} (a loop?)"
            )));
        }
        let entry = |i: usize| HEADER + i * ENTRY;
        let mut prev_end = lo;
        for i in 0..usize::from(entries) {
            let e = entry(i);
            let first = u64::from(f.le32(e)?);
            let next = if i + 1 < usize::from(entries) {
                u64::from(f.le32(entry(i + 1))?)
            } else {
                hi
            };
            if first < prev_end || first >= hi || next > hi {
                return Err(bad(format!(
                    "entry {i} starts at logical block {first}, out of order (range {lo}..{hi})"
                )));
            }
            if d == 0 {
                let raw = f.le16(e + 4)?;
                let (len, init) = if raw > INIT_MAX {
                    (u64::from(raw - INIT_MAX), false)
                } else {
                    (u64::from(raw), true)
                };
                let physical = u64::from(f.le32(e + 8)?) | (u64::from(f.le16(e + 6)?) << 32);
                if len == 0 || first + len > next || physical + len > self.disk.blocks_count {
                    return Err(bad(format!(
                        "extent {i} maps {len} blocks at {physical} for logical block {first}"
                    )));
                }
                if !self.runs.push(Run {
                    logical: first,
                    physical,
                    len,
                    init,
                }) {
                    return Err(bad("maps more blocks than the filesystem has".into()));
                }
                prev_end = first + len;
            } else {
                let child = u64::from(f.le32(e + 4)?) | (u64::from(f.le16(e + 8)?) << 32);
                if !self.seen.insert(child) || !self.runs.spend(1) {
                    return Err(bad(format!("block {child} is reached twice (a loop)")));
                }
                let block = self.disk.block(child, "ext extent tree", self.ino)?;
                self.node(&block, Some(d - 1), first, next, child)?;
                prev_end = next;
            }
        }
        Ok(())
    }
}
