//! The block group descriptors: 32 bytes each (64 with the 64bit feature and a larger
//! `s_desc_size`), in the blocks after the superblock, or with meta_bg spread one block per
//! meta group at the start of its first group. The reader keeps only what it uses: where each
//! group's inode table starts.

use super::superblock::{Superblock, INCOMPAT_64BIT, INCOMPAT_META_BG};
use crate::error::{Error, Result};
use crate::ondisk::Fields;
use crate::source::Source;

const STRUCTURE: &str = "ext group descriptors";

/// The inode table of every group, as block numbers.
pub struct Groups {
    inode_tables: Vec<u64>,
}

impl Groups {
    /// Reads the descriptors of all groups of the filesystem `sb` describes.
    pub fn read(source: &dyn Source, sb: &Superblock) -> Result<Self> {
        let bs = sb.block_size;
        let groups = sb.groups();
        let desc = u64::from(sb.desc_size);
        // The table cannot be longer than the image: this bounds the allocation below.
        if groups.saturating_mul(desc) > source.len() {
            return Err(Error::corrupt(
                source.name(),
                "ext superblock",
                super::superblock::OFFSET,
                format!("{groups} block groups do not fit in the image"),
            ));
        }
        let per_block = bs / desc;
        let wide = sb.has_incompat(INCOMPAT_64BIT) && desc >= 64;
        // The blocks after the superblock's block (block 0, or 1 with 1 KiB blocks; bigalloc
        // makes the first data block 0 even then, as e2fsprogs' descriptor_block_loc does).
        let zero_adjust = u64::from(sb.first_data_block == 0 && bs == 1024);
        let first = u64::from(sb.first_data_block) + zero_adjust + 1;
        let meta_bg = sb.has_incompat(INCOMPAT_META_BG);
        let mut inode_tables = Vec::with_capacity(groups as usize);
        let mut at = 0;
        while at < groups {
            let index = at / per_block;
            let block = if meta_bg && index >= u64::from(sb.first_meta_bg) {
                let group = index * per_block;
                group * u64::from(sb.blocks_per_group)
                    + u64::from(sb.first_data_block)
                    + u64::from(sb.group_has_super(group))
                    + if group == 0 { zero_adjust } else { 0 }
            } else {
                first + index
            };
            let count = (groups - at).min(per_block);
            let offset = block
                .checked_mul(bs)
                .ok_or_else(|| Error::corrupt(source.name(), STRUCTURE, 0, "block past 2^64"))?;
            let raw = source.read_vec(offset, (count * desc) as usize, STRUCTURE)?;
            for (i, d) in raw.chunks_exact(desc as usize).enumerate() {
                let f = Fields::new(d, source.name(), STRUCTURE, offset + i as u64 * desc);
                let hi = if wide {
                    u64::from(f.le32(0x28)?) << 32
                } else {
                    0
                };
                inode_tables.push(u64::from(f.le32(0x8)?) | hi);
            }
            at += count;
        }
        Ok(Groups { inode_tables })
    }

    /// The first block of the inode table of `group`.
    pub fn inode_table(&self, group: u64) -> Option<u64> {
        usize::try_from(group)
            .ok()
            .and_then(|g| self.inode_tables.get(g))
            .copied()
    }
}
