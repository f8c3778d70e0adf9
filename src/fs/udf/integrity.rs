//! The logical volume integrity descriptor (ECMA-167 3/10.10, UDF 2.2.6): open or closed,
//! and the implementation use UDF gives it (file and directory counts, the UDF revisions a
//! reader and a writer need).

use crate::source::Source;

use super::anchor::ExtentAd;
use super::tag::{le16, le32, Tag};

/// Tag identifier of the descriptor.
const LVID: u16 = 9;
/// Descriptors followed through `next integrity extent` at most.
const MAX_CHAIN: usize = 64;

/// What the last integrity descriptor of the sequence says.
#[derive(Clone, Debug, Default)]
pub struct Integrity {
    pub closed: bool,
    pub files: u32,
    pub dirs: u32,
    pub min_read: u16,
    pub min_write: u16,
    pub max_write: u16,
}

/// Reads the integrity sequence at `extent`; `None` when there is no valid descriptor (the
/// descriptor is informative: a damaged one does not stop reading the volume).
pub fn read(src: &dyn Source, bs: u32, extent: ExtentAd) -> Option<Integrity> {
    let mut found = None;
    let mut next = extent;
    for _ in 0..MAX_CHAIN {
        if next.len == 0 {
            break;
        }
        let mut block = next.block;
        let end = u64::from(next.block) + u64::from(next.len / bs);
        next = ExtentAd { len: 0, block: 0 };
        while u64::from(block) < end {
            let offset = u64::from(block) * u64::from(bs);
            let Ok(buf) = src.read_vec(offset, bs as usize, "UDF integrity descriptor") else {
                break;
            };
            if Tag::check(
                &buf,
                LVID,
                block,
                src.name(),
                "UDF integrity descriptor",
                offset,
            )
            .is_err()
            {
                break;
            }
            let partitions = le32(&buf, 72) as usize;
            let iu = 80usize.saturating_add(partitions.saturating_mul(8));
            let get16 = |off: usize| buf.get(iu + off..iu + off + 2).map_or(0, |b| le16(b, 0));
            let get32 = |off: usize| buf.get(iu + off..iu + off + 4).map_or(0, |b| le32(b, 0));
            found = Some(Integrity {
                closed: le32(&buf, 28) == 1,
                files: get32(32),
                dirs: get32(36),
                min_read: get16(40),
                min_write: get16(42),
                max_write: get16(44),
            });
            next = ExtentAd::decode(&buf, 32);
            block += 1;
        }
    }
    found
}
