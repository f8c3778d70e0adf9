//! The zisofs2 (zisofs version 2) file header: the 24 bytes at the start of a file that a
//! version 2 ZF (or Z2) entry announces: magic, header version, header size, algorithm,
//! block size and the 64-bit uncompressed size. The pointer table after it holds 64-bit
//! pointers; reading it and the blocks is shared with version 1 in [`super::zisofs`].

use crate::error::{Error, Result};
use crate::ondisk::Fields;

/// The magic number at the start of a zisofs2 file.
const MAGIC: [u8; 8] = [0xef, 0x22, 0x55, 0xa1, 0xbc, 0x1b, 0x95, 0xa0];
/// The header's length in bytes.
pub const LEN: usize = 24;
/// The algorithms the format names: id, the two characters of the ZF entry, what it is.
const ALGORITHMS: &[(u8, [u8; 2], &str)] = &[
    (1, *b"PZ", "zlib"),
    (2, *b"XZ", "xz"),
    (3, *b"L4", "LZ4"),
    (4, *b"ZD", "Zstandard"),
    (5, *b"B2", "bzip2"),
];

/// A decoded zisofs2 file header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Header size in 4-byte words.
    pub words: u8,
    /// Algorithm id (1 is zlib).
    pub algorithm: u8,
    /// log2 of the block size.
    pub block_log2: u8,
    /// The uncompressed size.
    pub size: u64,
}

impl Header {
    /// Decodes the header from the file's first [`LEN`] bytes, found at byte `offset` of the
    /// image.
    pub fn decode(image: &str, offset: u64, b: &[u8; LEN]) -> Result<Header> {
        let corrupt = |detail: String| Error::corrupt(image, "zisofs2 file header", offset, detail);
        if b[..8] != MAGIC {
            return Err(corrupt("no zisofs2 magic number".into()));
        }
        if b[8] != 0 {
            return Err(corrupt(format!("header version {}, not 0", b[8])));
        }
        let f = Fields::new(b, image, "zisofs2 file header", offset);
        Ok(Header {
            words: f.u8(9)?,
            algorithm: f.u8(10)?,
            block_log2: f.u8(11)?,
            size: f.le64(12)?,
        })
    }
}

/// Whether a ZF entry's two characters name a zisofs2 algorithm (read or not).
pub fn named(chars: [u8; 2]) -> bool {
    ALGORITHMS.iter().any(|(_, c, _)| *c == chars)
}

/// The algorithm id a ZF entry's two characters stand for, or an error that names it: only
/// zlib (`PZ`) is read, as the format names the others but does not say how their blocks are
/// framed (and xorriso writes zlib only).
pub fn algorithm(image: &str, chars: [u8; 2]) -> Result<u8> {
    match ALGORITHMS.iter().find(|(_, c, _)| *c == chars) {
        Some((1, _, _)) => Ok(1),
        Some((_, c, name)) => Err(Error::unsupported(
            image,
            format!(
                "zisofs2 algorithm {} ({name}): the zisofs2 format does not define how its \
                 blocks are framed; only PZ (zlib) is read",
                String::from_utf8_lossy(c)
            ),
        )),
        None => Err(Error::unsupported(
            image,
            format!(
                "zisofs algorithm {:?} (only \"pz\", zisofs, and \"PZ\", zisofs2, both zlib, are read)",
                String::from_utf8_lossy(&chars)
            ),
        )),
    }
}
