//! Allocation descriptors (ECMA-167 4/14.14): short_ad, long_ad and ext_ad, the recorded
//! address of a block (lb_addr), and the extent types (recorded, allocated only, a hole, or
//! the next block of descriptors); decoded and encoded.

use crate::error::Result;
use crate::ondisk::endian::{le16, le32, put_le16, put_le32};
use crate::ondisk::Fields;

/// A block of a partition (lb_addr, ECMA-167 4/7.1): block number and partition reference
/// (index in the logical volume's partition maps).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LbAddr {
    pub block: u32,
    pub part: u16,
}

impl LbAddr {
    /// Decodes the 6 bytes at `off`.
    pub fn decode(b: &[u8], off: usize) -> Option<Self> {
        Some(LbAddr {
            block: le32(b, off)?,
            part: le16(b, off.checked_add(4)?)?,
        })
    }

    /// Writes the 6 bytes at `off` of an encoder's buffer.
    pub fn encode(&self, b: &mut [u8], off: usize) {
        put_le32(b, off, self.block);
        put_le16(b, off + 4, self.part);
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
    /// The implementation use bytes of a long_ad (UDF keeps flags and a unique id there,
    /// 2.3.4.3), the first two those of an ext_ad; zeros for a short_ad.
    pub impl_use: [u8; 6],
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

impl Ad {
    /// The descriptor's length field: the type in the top two bits, the length below.
    fn raw_len(&self) -> u32 {
        let kind = match self.kind {
            ExtentType::Recorded => 0,
            ExtentType::Allocated => 1,
            ExtentType::Hole => 2,
            ExtentType::Continuation => 3,
        };
        kind << 30 | (self.len & 0x3fff_ffff)
    }

    /// Decodes the descriptor of `form` at the start of `raw`; a short_ad addresses partition
    /// `part` (the one holding it). `None` when `raw` is too short.
    pub fn decode(raw: &[u8], form: AdForm, part: u16) -> Option<Ad> {
        let (len, kind) = split_len(le32(raw, 0)?);
        let mut impl_use = [0u8; 6];
        let loc = match form {
            AdForm::Short => LbAddr {
                block: le32(raw, 4)?,
                part,
            },
            AdForm::Long => {
                impl_use.copy_from_slice(raw.get(10..16)?);
                LbAddr::decode(raw, 4)?
            }
            AdForm::Ext => {
                impl_use[..2].copy_from_slice(raw.get(18..20)?);
                LbAddr::decode(raw, 12)?
            }
        };
        Some(Ad {
            len,
            kind,
            loc,
            impl_use,
        })
    }

    /// The descriptor in `form` ([`AdForm::size`] bytes). An ext_ad, which UDF does not record
    /// (UDF 2.3.10), is written with its recorded and information lengths equal to the
    /// extent's length.
    pub fn encode(&self, form: AdForm) -> Vec<u8> {
        let mut b = vec![0u8; form.size()];
        put_le32(&mut b, 0, self.raw_len());
        match form {
            AdForm::Short => put_le32(&mut b, 4, self.loc.block),
            AdForm::Long => {
                self.loc.encode(&mut b, 4);
                b[10..16].copy_from_slice(&self.impl_use);
            }
            AdForm::Ext => {
                put_le32(&mut b, 4, self.len);
                put_le32(&mut b, 8, self.len);
                self.loc.encode(&mut b, 12);
                b[18..20].copy_from_slice(&self.impl_use[..2]);
            }
        }
        b
    }
}

/// Decodes the long_ad at `at` of a descriptor (the form of ICB addresses in FIDs, the file
/// set descriptor and the logical volume descriptor).
pub fn long_ad(f: &Fields, at: usize) -> Result<Ad> {
    let raw = f.slice(at, AdForm::Long.size())?;
    Ad::decode(raw, AdForm::Long, 0).ok_or_else(|| f.corrupt("a short long_ad"))
}

/// Decodes the descriptors in `area`, up to the first of length zero (or the area's end).
/// Short descriptors address partition `part` (the one holding the descriptors).
pub fn decode_all(area: &[u8], form: AdForm, part: u16) -> Vec<Ad> {
    let mut out = Vec::new();
    for raw in area.chunks_exact(form.size()) {
        let Some(ad) = Ad::decode(raw, form, part).filter(|ad| ad.len != 0) else {
            break;
        };
        out.push(ad);
        if ad.kind == ExtentType::Continuation {
            break;
        }
    }
    out
}

/// The descriptors `ads` in `form`, back to back.
pub fn encode_all(ads: &[Ad], form: AdForm) -> Vec<u8> {
    ads.iter().flat_map(|ad| ad.encode(form)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_round_trips() {
        let ad = Ad {
            len: 0x1234,
            kind: ExtentType::Allocated,
            loc: LbAddr { block: 77, part: 1 },
            impl_use: [1, 2, 3, 4, 5, 6],
        };
        let long = ad.encode(AdForm::Long);
        assert_eq!(Ad::decode(&long, AdForm::Long, 9), Some(ad));
        let short = ad.encode(AdForm::Short);
        let back = Ad::decode(&short, AdForm::Short, 1).unwrap();
        assert_eq!((back.len, back.kind, back.loc), (ad.len, ad.kind, ad.loc));
        let ext = ad.encode(AdForm::Ext);
        let back = Ad::decode(&ext, AdForm::Ext, 0).unwrap();
        assert_eq!((back.loc, &back.impl_use[..2]), (ad.loc, &[1u8, 2][..]));
        let area = encode_all(&[ad, ad], AdForm::Long);
        assert_eq!(decode_all(&area, AdForm::Long, 0), vec![ad, ad]);
        assert_eq!(Ad::decode(&long[..15], AdForm::Long, 0), None);
    }
}
