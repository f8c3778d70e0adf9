//! The space bitmap descriptor (ECMA-167 4/14.12): one bit per block of a partition, set for
//! a free block, that the partition header descriptor names as its unallocated space
//! bitmap; encoded.

use crate::ondisk::endian::put_le32;

use super::tag::{id, Tag};

/// Length of the descriptor before its bitmap.
pub const HEAD: usize = 24;

/// The bytes of a bitmap of `blocks` blocks whose first `used` are allocated, recorded at
/// block `location` of its partition with tag `version` and `serial`.
pub fn encode(blocks: u32, used: u32, location: u32, version: u16, serial: u16) -> Vec<u8> {
    let bytes = blocks.div_ceil(8) as usize;
    let mut b = vec![0u8; HEAD + bytes];
    put_le32(&mut b, 16, blocks);
    put_le32(&mut b, 20, bytes as u32);
    for block in used.min(blocks)..blocks {
        b[HEAD + (block / 8) as usize] |= 1 << (block % 8);
    }
    let len = b.len();
    Tag::new(id::SPACE_BITMAP, version, serial, location, len).encode(&mut b);
    b
}

/// Length in bytes of the descriptor of a bitmap of `blocks` blocks.
pub fn len(blocks: u32) -> u64 {
    HEAD as u64 + u64::from(blocks.div_ceil(8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_blocks_are_set() {
        let b = encode(20, 9, 0, 3, 1);
        assert_eq!(b.len() as u64, len(20));
        assert_eq!(&b[HEAD..], &[0x00, 0xfe, 0x0f]);
        Tag::check(&b, id::SPACE_BITMAP, 0, "x", "t", 0).unwrap();
    }
}
