//! The descriptor tag (ECMA-167 3/7.2) that opens every UDF descriptor: identifier, checksum,
//! CRC-16/CCITT of the body and the block the descriptor claims to be recorded at.

use crate::error::{Error, Result};

/// Tag identifiers (ECMA-167 3/7.2.1 and 4/7.2.1) that the reader looks for.
pub mod id {
    pub const PRIMARY_VOLUME: u16 = 1;
    pub const ANCHOR: u16 = 2;
    pub const VOLUME_POINTER: u16 = 3;
    pub const IMPLEMENTATION_USE: u16 = 4;
    pub const PARTITION: u16 = 5;
    pub const LOGICAL_VOLUME: u16 = 6;
    pub const TERMINATING: u16 = 8;
    pub const FILE_SET: u16 = 256;
    pub const FILE_IDENTIFIER: u16 = 257;
    pub const ALLOCATION_EXTENT: u16 = 258;
    pub const INDIRECT_ENTRY: u16 = 259;
    pub const FILE_ENTRY: u16 = 261;
    pub const EXTENDED_FILE_ENTRY: u16 = 266;
}

/// Size of the tag in bytes.
pub const TAG_LEN: usize = 16;

/// A decoded and verified descriptor tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag {
    pub ident: u16,
    pub version: u16,
    pub serial: u16,
    /// Bytes after the tag covered by the CRC.
    pub crc_len: u16,
    /// The block the descriptor says it is recorded at.
    pub location: u32,
}

const fn crc_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static CRC_TABLE: [u16; 256] = crc_table();

/// CRC-16/CCITT as ECMA-167 1/7.2.6 defines it: polynomial 0x1021, initial value 0, no
/// reflection, no final xor.
pub fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ CRC_TABLE[usize::from((crc >> 8) as u8 ^ b)]
    })
}

pub(crate) fn le16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}
pub(crate) fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}
pub(crate) fn le64(b: &[u8], off: usize) -> u64 {
    u64::from(le32(b, off)) | (u64::from(le32(b, off + 4)) << 32)
}

/// Why a tag was refused (without the image/offset context, which [`Tag::check`] adds).
fn verify(buf: &[u8]) -> std::result::Result<Tag, String> {
    if buf.len() < TAG_LEN {
        return Err(format!("{} bytes, shorter than a tag", buf.len()));
    }
    let sum = buf[..TAG_LEN]
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != 4)
        .fold(0u8, |s, (_, &b)| s.wrapping_add(b));
    if sum != buf[4] {
        return Err(format!(
            "tag checksum {:#04x}, the tag sums to {sum:#04x}",
            buf[4]
        ));
    }
    let tag = Tag {
        ident: le16(buf, 0),
        version: le16(buf, 2),
        serial: le16(buf, 6),
        crc_len: le16(buf, 10),
        location: le32(buf, 12),
    };
    let end = TAG_LEN + usize::from(tag.crc_len);
    let body = buf
        .get(TAG_LEN..end)
        .ok_or_else(|| format!("CRC length {} passes the descriptor's end", tag.crc_len))?;
    let crc = crc16(body);
    if crc != le16(buf, 8) {
        return Err(format!(
            "descriptor CRC {:#06x}, the body gives {crc:#06x}",
            le16(buf, 8)
        ));
    }
    Ok(tag)
}

impl Tag {
    /// Decodes and verifies the tag at the start of `buf` (checksum, CRC over the body), and
    /// that it has identifier `want` and was recorded at block `location`. `image`, `structure`
    /// and `offset` name the descriptor in the error.
    pub fn check(
        buf: &[u8],
        want: u16,
        location: u32,
        image: &str,
        structure: &'static str,
        offset: u64,
    ) -> Result<Tag> {
        let tag = verify(buf).map_err(|d| Error::corrupt(image, structure, offset, d))?;
        if tag.ident != want {
            return Err(Error::corrupt(
                image,
                structure,
                offset,
                format!("tag identifier {}, expected {want}", tag.ident),
            ));
        }
        tag.check_location(location, image, structure, offset)?;
        Ok(tag)
    }

    /// Fails unless the tag says it was recorded at block `location`, where it was found.
    pub fn check_location(
        &self,
        location: u32,
        image: &str,
        structure: &'static str,
        offset: u64,
    ) -> Result<()> {
        if self.location != location {
            return Err(Error::corrupt(
                image,
                structure,
                offset,
                format!(
                    "tag says block {}, found at block {location}",
                    self.location
                ),
            ));
        }
        Ok(())
    }

    /// Decodes and verifies a tag whatever its identifier (for descriptor sequences, where the
    /// identifier says what follows).
    pub fn parse(buf: &[u8], image: &str, structure: &'static str, offset: u64) -> Result<Tag> {
        verify(buf).map_err(|d| Error::corrupt(image, structure, offset, d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_ccitt_check_value() {
        // The standard check value of CRC-16/XMODEM (the variant ECMA-167 uses).
        assert_eq!(crc16(b"123456789"), 0x31c3);
    }
}
