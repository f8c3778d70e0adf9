//! The parts of a cpio member header that every format records, decoded into one type.

/// One member's header, whatever the cpio format.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub dev: (u32, u32),
    pub ino: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: i64,
    pub filesize: u64,
    pub rdev: (u32, u32),
    /// Length of the name including its terminating NUL.
    pub namesize: u64,
    /// Length of the fixed header.
    pub header_len: u64,
    /// Alignment of the name's end and of the data's end (4 for newc/crc, 2 for bin, 1 for odc).
    pub align: u64,
}

/// Decodes `digits` as a number in `radix`; `None` if a digit is bad.
pub fn ascii_number(digits: &[u8], radix: u32) -> Option<u64> {
    let s = std::str::from_utf8(digits).ok()?;
    u64::from_str_radix(s, radix).ok()
}
