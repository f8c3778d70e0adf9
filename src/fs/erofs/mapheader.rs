//! The 8-byte map header of a compressed EROFS inode (`z_erofs_map_header`), at the first
//! 8-byte boundary after the inode and its xattrs: the size of a tail-packed pcluster (or a
//! fragment's offset), the advice bits saying how the lcluster index is packed, the algorithm
//! of each head type, and the lcluster size.

use crate::ondisk::endian::le16;

/// Bytes of the header.
pub const SIZE: u64 = 8;

/// `h_advise` bits.
/// Compact indexes: 2-byte packs. (In a full index: a table of extents, erofs-utils 1.8+.)
pub const COMPACTED_2B: u16 = 0x1;
pub const BIG_PCLUSTER_1: u16 = 0x2;
pub const BIG_PCLUSTER_2: u16 = 0x4;
pub const INLINE_PCLUSTER: u16 = 0x8;
pub const INTERLACED_PCLUSTER: u16 = 0x10;

/// One decoded map header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapHeader {
    /// Bytes of the tail-packed pcluster (with [`INLINE_PCLUSTER`]).
    pub idata_size: u16,
    pub advise: u16,
    /// Algorithm of HEAD1 lclusters (low nibble) and of HEAD2 ones (high nibble).
    pub algorithms: u8,
    /// Lcluster bits above the block size (bits 0-3); bit 7: the whole file is a fragment.
    pub clusterbits: u8,
}

impl MapHeader {
    /// Decodes the header from its 8 bytes.
    pub fn decode(b: &[u8]) -> Option<MapHeader> {
        Some(MapHeader {
            idata_size: le16(b, 2)?,
            advise: le16(b, 4)?,
            algorithms: *b.get(6)?,
            clusterbits: *b.get(7)?,
        })
    }

    /// Where the header of an inode whose xattrs end at `tail` lies.
    pub fn offset(tail: u64) -> Option<u64> {
        Some(tail.checked_add(7)? & !7)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_and_place() {
        let h = MapHeader::decode(&[0, 0, 0x34, 0x12, 0x0b, 0, 0x30, 0x81]).unwrap();
        assert_eq!(
            h,
            MapHeader {
                idata_size: 0x1234,
                advise: 0xb,
                algorithms: 0x30,
                clusterbits: 0x81
            }
        );
        assert_eq!(MapHeader::decode(&[0; 7]), None);
        assert_eq!(MapHeader::offset(4096 + 32 + 20), Some(4096 + 56));
        assert_eq!(MapHeader::offset(64), Some(64));
    }
}
