//! The CRCs on-disk structures carry, from the `crc` crate's catalogue: CRC-16/CCITT of UDF
//! descriptor tags (ECMA-167 1/7.2.6), CRC-32 of GPT headers and entry arrays (UEFI 2.x, the
//! zlib/gzip CRC), and the POSIX `cksum` CRC that `checksum crc` prints.

use crc::{Crc, Table, CRC_16_XMODEM, CRC_32_CKSUM, CRC_32_ISO_HDLC};

/// Every CRC here reads 16 bytes a step (slice-by-16 tables, built at compile time): UDF
/// checks a tag CRC over every descriptor, file entry and directory it reads.
type Fast<W> = Crc<W, Table<16>>;

/// CRC-16/CCITT as ECMA-167 defines it: polynomial 0x1021, initial value 0, not reflected
/// (the catalogue's XMODEM).
pub const UDF: Fast<u16> = Fast::<u16>::new(&CRC_16_XMODEM);

/// The CRC-32 of GPT (and gzip, zlib, PNG).
pub const GPT: Fast<u32> = Fast::<u32>::new(&CRC_32_ISO_HDLC);

/// The POSIX `cksum` CRC-32 (polynomial 0x04C11DB7, not reflected, complemented); `cksum`
/// feeds the length after the data.
pub const CKSUM: Fast<u32> = Fast::<u32>::new(&CRC_32_CKSUM);

/// The UDF tag CRC of `data`.
pub fn udf16(data: &[u8]) -> u16 {
    UDF.checksum(data)
}

/// The GPT CRC-32 of `data`.
pub fn gpt32(data: &[u8]) -> u32 {
    GPT.checksum(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_check_values() {
        // The check value of every CRC: its CRC of the nine ASCII digits "123456789".
        assert_eq!(udf16(b"123456789"), 0x31c3);
        assert_eq!(gpt32(b"123456789"), 0xcbf4_3926);
        assert_eq!(CKSUM.checksum(b"123456789"), 0x765e_7680);
    }
}
