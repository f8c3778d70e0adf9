//! The old binary cpio header (magic 070707 as a 16-bit word, `cpio -H bin`): 13 16-bit words in
//! the byte order of the machine that wrote it (the magic tells which), 32-bit values as two
//! words high first; name and data padded to 2 bytes.

use super::header::Header;
use super::odc::split_dev;

/// Length of the fixed header.
pub const LEN: usize = 26;

/// Decodes a header whose magic is 0x71c7 in either byte order.
pub fn decode(b: &[u8; LEN]) -> Option<Header> {
    let little = match (b[0], b[1]) {
        (0xc7, 0x71) => true,
        (0x71, 0xc7) => false,
        _ => return None,
    };
    let word = |i: usize| {
        let pair = [b[2 * i], b[2 * i + 1]];
        u64::from(if little {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        })
    };
    let long = |i: usize| (word(i) << 16) | word(i + 1);
    Some(Header {
        dev: split_dev(word(1)),
        ino: word(2),
        mode: word(3) as u32,
        uid: word(4) as u32,
        gid: word(5) as u32,
        nlink: word(6) as u32,
        rdev: split_dev(word(7)),
        mtime: long(8) as i64,
        namesize: word(10),
        filesize: long(11),
        header_len: LEN as u64,
        align: 2,
    })
}
