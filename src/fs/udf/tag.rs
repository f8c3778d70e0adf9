//! The descriptor tag (ECMA-167 3/7.2) that opens every UDF descriptor: identifier, checksum,
//! CRC-16/CCITT of the body and the block the descriptor claims to be recorded at.

use crate::error::{Error, Result};
use crate::ondisk::crc::{self, udf16};
use crate::ondisk::endian::{le16, le32, put_le16, put_le32};

/// Tag identifiers (ECMA-167 3/7.2.1 and 4/7.2.1).
pub mod id {
    pub const PRIMARY_VOLUME: u16 = 1;
    pub const ANCHOR: u16 = 2;
    pub const VOLUME_POINTER: u16 = 3;
    pub const IMPLEMENTATION_USE: u16 = 4;
    pub const PARTITION: u16 = 5;
    pub const LOGICAL_VOLUME: u16 = 6;
    pub const UNALLOCATED_SPACE: u16 = 7;
    pub const TERMINATING: u16 = 8;
    pub const INTEGRITY: u16 = 9;
    pub const FILE_SET: u16 = 256;
    pub const FILE_IDENTIFIER: u16 = 257;
    pub const ALLOCATION_EXTENT: u16 = 258;
    pub const INDIRECT_ENTRY: u16 = 259;
    pub const EXTENDED_ATTRIBUTE_HEADER: u16 = 262;
    pub const SPACE_BITMAP: u16 = 264;
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

/// The tag checksum: the sum modulo 256 of the tag's bytes but the checksum itself (byte 4).
fn checksum(tag: &[u8]) -> u8 {
    tag.iter()
        .take(TAG_LEN)
        .enumerate()
        .filter(|&(i, _)| i != 4)
        .fold(0u8, |s, (_, &b)| s.wrapping_add(b))
}

/// Why a tag was refused (without the image/offset context, which [`Tag::check`] adds).
fn verify(buf: &[u8]) -> std::result::Result<Tag, String> {
    let short = || format!("{} bytes, shorter than a tag", buf.len());
    let field = |at| le16(buf, at).ok_or_else(short);
    let (ident, version, serial, crc, crc_len) =
        (field(0)?, field(2)?, field(6)?, field(8)?, field(10)?);
    let location = le32(buf, 12).ok_or_else(short)?;
    let sum = checksum(buf);
    if sum != buf[4] {
        return Err(format!(
            "tag checksum {:#04x}, the tag sums to {sum:#04x}",
            buf[4]
        ));
    }
    let end = TAG_LEN + usize::from(crc_len);
    let body = buf
        .get(TAG_LEN..end)
        .ok_or_else(|| format!("CRC length {crc_len} passes the descriptor's end"))?;
    let computed = udf16(body);
    if computed != crc {
        return Err(format!(
            "descriptor CRC {crc:#06x}, the body gives {computed:#06x}"
        ));
    }
    Ok(Tag {
        ident,
        version,
        serial,
        crc_len,
        location,
    })
}

impl Tag {
    /// The tag of a new descriptor of `len` bytes (the CRC covers all of it after the tag).
    /// `version` is 2 for UDF 1.x (NSR02) and 3 for 2.x (NSR03).
    pub fn new(ident: u16, version: u16, serial: u16, location: u32, len: usize) -> Tag {
        Tag {
            ident,
            version,
            serial,
            crc_len: len.saturating_sub(TAG_LEN).try_into().unwrap_or(u16::MAX),
            location,
        }
    }

    /// Writes the tag into the first 16 bytes of `descriptor` (the encoder's own buffer, at
    /// least 16 bytes), with the CRC of the `crc_len` bytes after it and the checksum. A CRC
    /// length past the descriptor's end counts zeros there, as in the rest of a block.
    pub fn encode(&self, descriptor: &mut [u8]) {
        put_le16(descriptor, 0, self.ident);
        put_le16(descriptor, 2, self.version);
        descriptor[4..6].fill(0);
        put_le16(descriptor, 6, self.serial);
        let body = descriptor.get(TAG_LEN..).unwrap_or_default();
        let covered = body.len().min(usize::from(self.crc_len));
        let mut digest = crc::UDF.digest();
        digest.update(&body[..covered]);
        digest.update(&vec![0; usize::from(self.crc_len) - covered]);
        let crc = digest.finalize();
        put_le16(descriptor, 8, crc);
        put_le16(descriptor, 10, self.crc_len);
        put_le32(descriptor, 12, self.location);
        descriptor[4] = checksum(descriptor);
    }

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
        let tag = Tag::of_kind(buf, want, image, structure, offset)?;
        tag.check_location(location, image, structure, offset)?;
        Ok(tag)
    }

    /// Decodes and verifies the tag at the start of `buf`, and that it has identifier `want`
    /// (wherever it was recorded).
    pub fn of_kind(
        buf: &[u8],
        want: u16,
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

/// A descriptor for round-trip tests: `len` bytes counting after the tag, changed by `fix`
/// (reserved fields back to zero, lengths made consistent), then signed with a tag of `ident`
/// recorded at block 0.
#[cfg(test)]
pub(crate) fn patterned(ident: u16, len: usize, fix: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let mut b: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
    fix(&mut b);
    Tag::new(ident, 3, 5, 0, len).encode(&mut b);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_tags_verify_and_round_trip() {
        let mut d = vec![0u8; 512];
        d[16..20].copy_from_slice(b"body");
        let tag = Tag::new(id::ANCHOR, 3, 1, 256, d.len());
        tag.encode(&mut d);
        assert_eq!(Tag::check(&d, id::ANCHOR, 256, "x", "t", 0).unwrap(), tag);
        d[17] ^= 1;
        assert!(Tag::parse(&d, "x", "t", 0)
            .unwrap_err()
            .to_string()
            .contains("CRC"));
        d[17] ^= 1;
        d[5] = 1;
        assert!(Tag::parse(&d, "x", "t", 0).is_err());
        assert!(Tag::parse(&d[..15], "x", "t", 0).is_err());
    }
}
