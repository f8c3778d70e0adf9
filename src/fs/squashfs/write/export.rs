//! The export table (`mksquashfs -exportable`, the NFS lookup table): each inode's reference
//! in the inode table (metadata block offset << 16 | offset in the block), by inode number
//! from 1, as a lookup table of u64 entries.

use super::compress::Encoder;
use super::metadata::lookup_table;
use crate::error::Result;
use crate::plan::Plan;

/// Appends the table of `refs` (the reference of inode `n` at `n - 1`) to `plan`; returns the
/// superblock's pointer.
pub fn write(plan: &mut Plan, encoder: &Encoder, uncompressed: bool, refs: &[u64]) -> Result<u64> {
    let bytes: Vec<u8> = refs.iter().flat_map(|r| r.to_le_bytes()).collect();
    lookup_table(plan, encoder, uncompressed, &bytes)
}
