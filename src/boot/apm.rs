//! The Apple Partition Map: the driver descriptor (`ER`) in block 0 says the block size, the
//! map entries (`PM`) follow from block 1, and the first entry says how many there are.

use crate::error::Result;
use crate::source::Source;

use super::{be16, be32};

/// The most entries read, whatever the map claims.
const MAX_ENTRIES: u32 = 256;

/// One map entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApmEntry {
    /// 1-based, the map's own entry included (as Linux and pdisk number them).
    pub number: usize,
    /// In blocks of [`Apm::block_size`].
    pub start: u32,
    pub blocks: u32,
    pub name: String,
    pub kind: String,
}

/// A decoded map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Apm {
    pub block_size: u16,
    pub entries: Vec<ApmEntry>,
    /// What is wrong with it.
    pub problems: Vec<String>,
}

fn text(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Decodes the map, if block 0 has the `ER` signature and block 1 a `PM` entry.
pub fn read(src: &dyn Source) -> Result<Option<Apm>> {
    let mut ddm = [0u8; 4];
    if src.read_at(0, &mut ddm)? < 4 || &ddm[..2] != b"ER" {
        return Ok(None);
    }
    let block_size = be16(&ddm, 2);
    if !matches!(block_size, 512 | 1024 | 2048 | 4096) {
        return Ok(None);
    }
    let mut apm = Apm {
        block_size,
        entries: Vec::new(),
        problems: Vec::new(),
    };
    let mut count = 1;
    let mut i = 1;
    while i <= count {
        let mut e = [0u8; 88];
        let offset = u64::from(i) * u64::from(block_size);
        if src.read_at(offset, &mut e)? < e.len() || &e[..2] != b"PM" {
            if i == 1 {
                return Ok(None);
            }
            apm.problems.push(format!(
                "the map claims {count} entries but entry {i} at offset {offset} is not one"
            ));
            break;
        }
        if i == 1 {
            count = be32(&e, 4);
            if count > MAX_ENTRIES {
                apm.problems.push(format!(
                    "the map claims {count} entries; only {MAX_ENTRIES} are read"
                ));
                count = MAX_ENTRIES;
            }
        }
        apm.entries.push(ApmEntry {
            number: i as usize,
            start: be32(&e, 8),
            blocks: be32(&e, 12),
            name: text(&e[16..48]),
            kind: text(&e[48..80]),
        });
        i += 1;
    }
    Ok(Some(apm))
}
