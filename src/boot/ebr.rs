//! Extended boot records: the chain of logical partitions inside an MBR extended partition
//! (types 0x05, 0x0f, 0x85). Each record is a sector laid out as an MBR ([`mbr::Mbr`] decodes
//! and encodes it) and holds one logical partition (relative to the record) and a link to the
//! next record (relative to the extended partition). The chain is followed once per record: a
//! link back to a record already read, or past the image, ends it with a problem, never a
//! loop.

use std::collections::HashSet;

use crate::error::Result;
use crate::source::Source;

use super::mbr;

const SECTOR: u64 = 512;
/// The most logical partitions read.
const MAX_RECORDS: usize = 256;

/// True for the MBR types that mark an extended partition.
pub fn is_extended(kind: u8) -> bool {
    matches!(kind, 0x05 | 0x0f | 0x85)
}

/// One logical partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logical {
    /// 5, 6, ... as Linux and fdisk number them.
    pub number: usize,
    pub kind: u8,
    /// Absolute, in 512-byte sectors.
    pub start: u64,
    pub sectors: u32,
    /// The sector of the record that describes it.
    pub record: u64,
}

/// The logical partitions of one extended partition, and what is wrong with the chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chain {
    pub partitions: Vec<Logical>,
    pub problems: Vec<String>,
}

/// Follows the chain of records from the extended partition starting at sector `extended`.
pub fn read(src: &dyn Source, extended: u64) -> Result<Chain> {
    let mut chain = Chain::default();
    let mut seen = HashSet::new();
    let mut record = extended;
    loop {
        if !seen.insert(record) {
            chain.problems.push(format!(
                "the extended boot record at sector {record} links back to one already read"
            ));
            break;
        }
        if seen.len() > MAX_RECORDS {
            chain
                .problems
                .push(format!("more than {MAX_RECORDS} logical partitions"));
            break;
        }
        let sector = match record.checked_mul(SECTOR) {
            Some(offset) => mbr::read_at(src, offset)?,
            None => None,
        };
        let Some(sector) = sector else {
            chain.problems.push(format!(
                "no extended boot record at sector {record} (past the end or no 55 aa)"
            ));
            break;
        };
        // The record is laid out as an MBR: the partition in its first entry, the link to the
        // next record in its second.
        let [first, next, ..] = &sector.slots;
        if first.kind != 0 && first.sectors > 0 {
            chain.partitions.push(Logical {
                number: 5 + chain.partitions.len(),
                kind: first.kind,
                start: record + u64::from(first.start),
                sectors: first.sectors,
                record,
            });
        }
        if !is_extended(next.kind) {
            break;
        }
        record = extended + u64::from(next.start);
    }
    Ok(chain)
}
