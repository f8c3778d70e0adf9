//! A JBD2 revoke block: the block header, the bytes used (`r_count`, header included), then
//! filesystem block numbers (8 bytes each with 64-bit block numbers, else 4) whose earlier
//! copies in the log must not be replayed; with checksums v2/v3 a 4-byte tail holds the block's
//! checksum (checked by the caller).

use super::superblock::{JournalSuperblock, INCOMPAT_64BIT};
use crate::error::Result;
use crate::ondisk::Fields;

pub const STRUCTURE: &str = "ext journal revoke block";
const HEADER: usize = 16;

/// The block numbers the revoke block `f` lists.
pub fn blocks(f: &Fields, jsb: &JournalSuperblock) -> Result<Vec<u64>> {
    let count = f.be32(12)? as usize;
    let limit = f.bytes.len() - if jsb.seed.is_some() { 4 } else { 0 };
    if count < HEADER || count > limit {
        return Err(f.corrupt(format!("{count} bytes of records in a block of {limit}")));
    }
    let wide = jsb.has(INCOMPAT_64BIT);
    let size = if wide { 8 } else { 4 };
    (HEADER..count - (count - HEADER) % size)
        .step_by(size)
        .map(|at| {
            if wide {
                f.be64(at)
            } else {
                f.be32(at).map(u64::from)
            }
        })
        .collect()
}
