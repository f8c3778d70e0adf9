//! The old portable ASCII cpio header (`070707`, `cpio -H odc`, POSIX.1): octal fields, no
//! padding after the name or the data.

use super::header::{ascii_number, Header};

/// Length of the fixed header.
pub const LEN: usize = 76;

/// Splits the 16-bit `dev_t` of old formats into major and minor numbers.
pub fn split_dev(dev: u64) -> (u32, u32) {
    (((dev >> 8) & 0xff) as u32, (dev & 0xff) as u32)
}

/// Decodes a header; `None` when a field is not octal.
pub fn decode(b: &[u8; LEN]) -> Option<Header> {
    let field = |at: usize, len: usize| ascii_number(&b[at..at + len], 8);
    let small = |at: usize, len: usize| field(at, len).and_then(|v| u32::try_from(v).ok());
    Some(Header {
        dev: split_dev(field(6, 6)?),
        ino: field(12, 6)?,
        mode: small(18, 6)?,
        uid: small(24, 6)?,
        gid: small(30, 6)?,
        nlink: small(36, 6)?,
        rdev: split_dev(field(42, 6)?),
        mtime: field(48, 11)? as i64,
        namesize: field(59, 6)?,
        filesize: field(65, 11)?,
        header_len: LEN as u64,
        align: 1,
    })
}
