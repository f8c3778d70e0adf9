//! The "new" ASCII cpio header (`070701`, `cpio -H newc`, the format of Linux initramfs) and its
//! checksummed variant (`070702`, `cpio -H crc`): 13 eight-digit hex fields after the magic;
//! name and data each padded to 4 bytes.

use super::header::{ascii_number, Header};

/// Length of the fixed header.
pub const LEN: usize = 110;

/// Decodes a header; `None` when a field is not hexadecimal.
pub fn decode(b: &[u8; LEN]) -> Option<Header> {
    let field = |i: usize| ascii_number(&b[6 + 8 * i..14 + 8 * i], 16);
    let small = |i: usize| field(i).and_then(|v| u32::try_from(v).ok());
    Some(Header {
        ino: field(0)?,
        mode: small(1)?,
        uid: small(2)?,
        gid: small(3)?,
        nlink: small(4)?,
        mtime: field(5)? as i64,
        filesize: field(6)?,
        dev: (small(7)?, small(8)?),
        rdev: (small(9)?, small(10)?),
        namesize: field(11)?,
        header_len: LEN as u64,
        align: 4,
    })
}
