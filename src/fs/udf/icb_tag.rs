//! The ICB tag (ECMA-167 4/14.6) that every file entry carries after its descriptor tag: the
//! strategy of the ICB, the file type, the parent ICB and the flags (allocation descriptor
//! form, set-uid, set-gid, sticky...); decoded and encoded.

use crate::error::Result;
use crate::ondisk::endian::{put_le16, put_le32};
use crate::ondisk::Fields;

use super::ad::LbAddr;

/// Length of the ICB tag.
pub const LEN: usize = 20;

/// An ICB tag as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcbTag {
    pub prior_entries: u32,
    /// 4 (one direct entry) or 4096 (an indirect entry may follow).
    pub strategy: u16,
    pub strategy_parameter: u16,
    pub max_entries: u16,
    pub file_type: u8,
    pub parent: LbAddr,
    pub flags: u16,
}

impl IcbTag {
    /// Decodes the ICB tag at `at` of a descriptor.
    pub fn decode(f: &Fields, at: usize) -> Result<Self> {
        let raw = f.slice(at, LEN)?;
        Ok(IcbTag {
            prior_entries: f.le32(at)?,
            strategy: f.le16(at + 4)?,
            strategy_parameter: f.le16(at + 6)?,
            max_entries: f.le16(at + 8)?,
            file_type: raw[11],
            parent: LbAddr::decode(raw, 12).ok_or_else(|| f.corrupt("a short ICB tag"))?,
            flags: f.le16(at + 18)?,
        })
    }

    /// Writes the ICB tag at `at` of an encoder's buffer.
    pub fn encode(&self, b: &mut [u8], at: usize) {
        put_le32(b, at, self.prior_entries);
        put_le16(b, at + 4, self.strategy);
        put_le16(b, at + 6, self.strategy_parameter);
        put_le16(b, at + 8, self.max_entries);
        b[at + 10] = 0;
        b[at + 11] = self.file_type;
        self.parent.encode(b, at + 12);
        put_le16(b, at + 18, self.flags);
    }
}
