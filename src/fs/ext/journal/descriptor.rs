//! A JBD2 descriptor block: the block header, then one tag per journal block that follows it
//! (the filesystem block it is a copy of, flags, with checksums v2/v3 the copy's checksum),
//! each tag but those flagged SAME_UUID followed by a 16-byte UUID, the last flagged LAST_TAG;
//! with checksums v2/v3 a 4-byte tail holds the block's own checksum. Tag sizes follow the
//! kernel's `journal_tag_bytes`: 16 with v3, else 8, +4 with 64-bit block numbers, +2 with v2.

use super::superblock::{JournalSuperblock, INCOMPAT_64BIT, INCOMPAT_CSUM_V2, INCOMPAT_CSUM_V3};
use crate::error::Result;
use crate::ondisk::Fields;

pub const STRUCTURE: &str = "ext journal descriptor block";
const HEADER: usize = 12;
const UUID: usize = 16;
/// Tag flags.
const FLAG_ESCAPE: u32 = 0x1;
const FLAG_SAME_UUID: u32 = 0x2;
const FLAG_LAST_TAG: u32 = 0x8;

/// One tag: the journal block after the descriptor holds a copy of filesystem block `block`.
#[derive(Clone, Copy, Debug)]
pub struct Tag {
    pub block: u64,
    /// The copy's first four bytes were the journal magic and are stored zeroed.
    pub escaped: bool,
    /// The copy's checksum (the full 32 bits with v3, the low 16 with v2).
    pub checksum: u32,
}

/// The tags of the descriptor block `f` (its checksum already checked by the caller).
pub fn tags(f: &Fields, jsb: &JournalSuperblock) -> Result<Vec<Tag>> {
    let v3 = jsb.has(INCOMPAT_CSUM_V3);
    let wide = jsb.has(INCOMPAT_64BIT);
    let tag_bytes = if v3 {
        16
    } else {
        8 + if wide { 4 } else { 0 } + if jsb.has(INCOMPAT_CSUM_V2) { 2 } else { 0 }
    };
    let end = f.bytes.len() - if jsb.seed.is_some() { 4 } else { 0 };
    let mut out = Vec::new();
    let mut at = HEADER;
    while at + tag_bytes <= end {
        let low = u64::from(f.be32(at)?);
        let (flags, checksum) = if v3 {
            (f.be32(at + 4)?, f.be32(at + 12)?)
        } else {
            (u32::from(f.be16(at + 6)?), u32::from(f.be16(at + 4)?))
        };
        let high = if wide { u64::from(f.be32(at + 8)?) } else { 0 };
        out.push(Tag {
            block: low | high << 32,
            escaped: flags & FLAG_ESCAPE != 0,
            checksum,
        });
        at += tag_bytes;
        if flags & FLAG_SAME_UUID == 0 {
            at += UUID;
        }
        if flags & FLAG_LAST_TAG != 0 {
            break;
        }
    }
    Ok(out)
}
