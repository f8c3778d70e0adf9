//! Allocation descriptors (ECMA-167 4/14.14): short_ad, long_ad and ext_ad, the recorded
//! address of a block (lb_addr), and the extent types (recorded, allocated only, a hole, or
//! the next block of descriptors).

use super::tag::{le16, le32};

/// A block of a partition (lb_addr, ECMA-167 4/7.1): block number and partition reference
/// (index in the logical volume's partition maps).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LbAddr {
    pub block: u32,
    pub part: u16,
}

impl LbAddr {
    /// Decodes the 6 bytes at `off`.
    pub fn decode(b: &[u8], off: usize) -> Self {
        LbAddr {
            block: le32(b, off),
            part: le16(b, off + 4),
        }
    }
}

/// What an extent holds (the two top bits of its length).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtentType {
    /// Recorded and allocated: the bytes are there.
    Recorded,
    /// Allocated but not recorded: reads as zeros.
    Allocated,
    /// Neither allocated nor recorded: a hole, reads as zeros.
    Hole,
    /// The next block of allocation descriptors (an allocation extent descriptor).
    Continuation,
}

/// One allocation descriptor, whatever its form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ad {
    /// Length in bytes (30 bits).
    pub len: u32,
    pub kind: ExtentType,
    pub loc: LbAddr,
}

/// The form of the allocation descriptors of a file entry (ICB flags bits 0-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdForm {
    Short,
    Long,
    Ext,
}

impl AdForm {
    /// Size in bytes of one descriptor.
    pub fn size(self) -> usize {
        match self {
            AdForm::Short => 8,
            AdForm::Long => 16,
            AdForm::Ext => 20,
        }
    }
}

fn split_len(raw: u32) -> (u32, ExtentType) {
    let kind = match raw >> 30 {
        0 => ExtentType::Recorded,
        1 => ExtentType::Allocated,
        2 => ExtentType::Hole,
        _ => ExtentType::Continuation,
    };
    (raw & 0x3fff_ffff, kind)
}

/// Decodes a long_ad at `off` (also the form of ICB addresses in FIDs and the FSD).
pub fn long_ad(b: &[u8], off: usize) -> Ad {
    let (len, kind) = split_len(le32(b, off));
    Ad {
        len,
        kind,
        loc: LbAddr::decode(b, off + 4),
    }
}

/// Decodes the descriptors in `area`, up to the first of length zero (or the area's end).
/// Short descriptors address partition `part` (the one holding the descriptors).
pub fn decode_all(area: &[u8], form: AdForm, part: u16) -> Vec<Ad> {
    let mut out = Vec::new();
    for raw in area.chunks_exact(form.size()) {
        let ad = match form {
            AdForm::Short => {
                let (len, kind) = split_len(le32(raw, 0));
                Ad {
                    len,
                    kind,
                    loc: LbAddr {
                        block: le32(raw, 4),
                        part,
                    },
                }
            }
            AdForm::Long => long_ad(raw, 0),
            AdForm::Ext => {
                let (len, kind) = split_len(le32(raw, 0));
                Ad {
                    len,
                    kind,
                    loc: LbAddr::decode(raw, 12),
                }
            }
        };
        if ad.len == 0 {
            break;
        }
        out.push(ad);
        if ad.kind == ExtentType::Continuation {
            break;
        }
    }
    out
}
