//! The JBD2 journal superblock (journal block 0, big-endian): the common block header, the
//! journal's block size and length, where the log starts and the sequence it expects there,
//! the feature flags (revoke, 64-bit block numbers, async commit, checksums v2 and v3, fast
//! commits) and, with checksums v2/v3, its own CRC32C and the UUID that seeds every other
//! checksum. Checked as the kernel's `journal_check_superblock` does before a replay.

use super::{checksum_ok, crc32c, Header, BLOCK_SUPERBLOCK_V1, BLOCK_SUPERBLOCK_V2};
use crate::error::{Error, Result};
use crate::ondisk::Fields;

pub const STRUCTURE: &str = "ext journal superblock";
/// The superblock's size (`sizeof(journal_superblock_t)`), over which its checksum runs.
const SIZE: usize = 1024;
const CHECKSUM_AT: usize = 0xfc;
/// `s_checksum_type` for CRC32C, the only one checksums v2/v3 use.
const CRC32C: u8 = 4;

/// `s_feature_incompat` bits.
pub const INCOMPAT_REVOKE: u32 = 0x1;
pub const INCOMPAT_64BIT: u32 = 0x2;
const INCOMPAT_ASYNC_COMMIT: u32 = 0x4;
pub const INCOMPAT_CSUM_V2: u32 = 0x8;
pub const INCOMPAT_CSUM_V3: u32 = 0x10;
const INCOMPAT_FAST_COMMIT: u32 = 0x20;
const INCOMPAT_KNOWN: u32 = INCOMPAT_REVOKE
    | INCOMPAT_64BIT
    | INCOMPAT_ASYNC_COMMIT
    | INCOMPAT_CSUM_V2
    | INCOMPAT_CSUM_V3
    | INCOMPAT_FAST_COMMIT;

/// The checked journal superblock.
#[derive(Debug)]
pub struct JournalSuperblock {
    /// Blocks in the journal (`s_maxlen`).
    pub maxlen: u64,
    /// The first block of the log area (`s_first`).
    pub first: u64,
    /// Where the log starts, 0 when nothing is to be replayed (`s_start`).
    pub start: u64,
    /// The sequence of the first transaction in the log (`s_sequence`).
    pub sequence: u32,
    pub incompat: u32,
    /// The checksum seed (CRC32C of the UUID) with checksums v2/v3.
    pub seed: Option<u32>,
}

impl JournalSuperblock {
    /// Checks the superblock `b` (the journal's block 0, at image offset `offset`) of a journal
    /// of `blocks` blocks of `block_size` bytes.
    pub fn parse(image: &str, b: &[u8], offset: u64, block_size: u64, blocks: u64) -> Result<Self> {
        let f = Fields::new(b, image, STRUCTURE, offset);
        let bad = |detail: String| f.corrupt(detail);
        let header = Header::parse(&f)?
            .filter(|h| matches!(h.kind, BLOCK_SUPERBLOCK_V1 | BLOCK_SUPERBLOCK_V2))
            .ok_or_else(|| bad("no journal superblock (magic 0xc03b3998, type 3 or 4)".into()))?;
        let size = u64::from(f.be32(0xc)?);
        if size != block_size {
            return Err(bad(format!(
                "journal blocks of {size} bytes in a filesystem of {block_size}-byte blocks"
            )));
        }
        let maxlen = u64::from(f.be32(0x10)?);
        let first = u64::from(f.be32(0x14)?);
        let start = u64::from(f.be32(0x1c)?);
        if maxlen > blocks || maxlen < 2 {
            return Err(bad(format!(
                "a journal of {maxlen} blocks in a journal inode of {blocks}"
            )));
        }
        if first == 0 || first >= maxlen || (start != 0 && (start < first || start >= maxlen)) {
            return Err(bad(format!(
                "log area from block {first}, start {start}, of {maxlen} blocks"
            )));
        }
        let v2 = header.kind == BLOCK_SUPERBLOCK_V2;
        let incompat = if v2 { f.be32(0x28)? } else { 0 };
        let unknown = incompat & !INCOMPAT_KNOWN;
        if unknown != 0 {
            return Err(Error::unsupported(
                image,
                format!("ext journal incompatible features {unknown:#x}"),
            ));
        }
        if incompat & INCOMPAT_FAST_COMMIT != 0 {
            return Err(Error::unsupported(
                image,
                "ext journal feature fast_commit: its fast commits are not replayed",
            ));
        }
        let seed = if incompat & (INCOMPAT_CSUM_V2 | INCOMPAT_CSUM_V3) != 0 {
            if f.u8(0x50)? != CRC32C {
                return Err(bad(format!("checksum type {}, not crc32c", f.u8(0x50)?)));
            }
            if !checksum_ok(f.slice(0, SIZE)?, CHECKSUM_AT, !0) {
                return Err(bad(format!(
                    "checksum {:#010x} is not the superblock's",
                    f.be32(CHECKSUM_AT)?
                )));
            }
            Some(crc32c(!0, f.slice(0x30, 16)?))
        } else {
            None
        };
        Ok(JournalSuperblock {
            maxlen,
            first,
            start,
            sequence: f.be32(0x18)?,
            incompat,
            seed,
        })
    }

    pub fn has(&self, bit: u32) -> bool {
        self.incompat & bit != 0
    }
}
