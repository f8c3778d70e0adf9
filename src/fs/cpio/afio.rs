//! afio's "large ASCII" cpio header (`070727`), which afio writes for the members an odc header
//! cannot hold (files of 2 GiB and more, ids past 65535, many hard links) and mixes with odc
//! headers in one archive: after the magic, the device (8 hex digits), the inode (16), `m`, the
//! mode (6 octal), uid, gid, link count and rdev (8 hex each), the mtime (16), `n`, the name
//! size, a flags word and the size of extended data (4 hex each), `s`, the file size (16 hex),
//! `:`; 116 bytes, then the name and the data, neither padded. Decoded only.

use super::header::{ascii_number, Header};

/// Length of the fixed header.
pub const LEN: usize = 116;

/// The fields after the magic: (offset, width in digits, radix).
const DEV: (usize, usize, u32) = (6, 8, 16);
const INO: (usize, usize, u32) = (14, 16, 16);
const MODE: (usize, usize, u32) = (31, 6, 8);
const UID: (usize, usize, u32) = (37, 8, 16);
const GID: (usize, usize, u32) = (45, 8, 16);
const NLINK: (usize, usize, u32) = (53, 8, 16);
const RDEV: (usize, usize, u32) = (61, 8, 16);
const MTIME: (usize, usize, u32) = (69, 16, 16);
const NAMESIZE: (usize, usize, u32) = (86, 4, 16);
const FLAGS: (usize, usize, u32) = (90, 4, 16);
const XSIZE: (usize, usize, u32) = (94, 4, 16);
const FILESIZE: (usize, usize, u32) = (99, 16, 16);

/// The separators afio puts between groups of fields, at their offsets.
const MARKS: [(usize, u8); 4] = [(30, b'm'), (85, b'n'), (98, b's'), (115, b':')];

/// Splits a Linux `dev_t` (as afio records it, 32 bits) into major and minor numbers.
fn split_dev(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    (major as u32, minor as u32)
}

/// A large ASCII header as recorded. Eight hex digits fit in 32 bits, four in 16: only the
/// inode, mtime and file size fields (16 digits) need 64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Afio {
    pub dev: u64,
    pub ino: u64,
    pub mode: u64,
    pub uid: u64,
    pub gid: u64,
    pub nlink: u64,
    pub rdev: u64,
    pub mtime: u64,
    /// Length of the name including its terminating NUL.
    pub namesize: u64,
    pub flags: u64,
    /// Bytes of extended header data after the name (afio writes none).
    pub xsize: u64,
    pub filesize: u64,
}

/// The fields in their order.
const FIELDS: [(usize, usize, u32); 12] = [
    DEV, INO, MODE, UID, GID, NLINK, RDEV, MTIME, NAMESIZE, FLAGS, XSIZE, FILESIZE,
];

impl Afio {
    /// Decodes a header; `None` without the `070727` magic and afio's separators, or when a
    /// field is not a number.
    pub fn decode(b: &[u8; LEN]) -> Option<Afio> {
        if !b.starts_with(b"070727") || MARKS.iter().any(|(at, c)| b[*at] != *c) {
            return None;
        }
        let mut v = [0u64; 12];
        for (slot, (at, len, radix)) in v.iter_mut().zip(FIELDS) {
            *slot = ascii_number(&b[at..at + len], radix)?;
        }
        let [dev, ino, mode, uid, gid, nlink, rdev, mtime, namesize, flags, xsize, filesize] = v;
        Some(Afio {
            dev,
            ino,
            mode,
            uid,
            gid,
            nlink,
            rdev,
            mtime,
            namesize,
            flags,
            xsize,
            filesize,
        })
    }

    /// The fields every cpio format shares.
    pub fn header(&self) -> Header {
        // At most 8 digits (6 octal for the mode): they fit.
        let small = |v: u64| v as u32;
        Header {
            dev: split_dev(self.dev),
            ino: self.ino,
            mode: small(self.mode),
            uid: small(self.uid),
            gid: small(self.gid),
            nlink: small(self.nlink),
            // A time past the year 2262 is clamped, not wrapped.
            mtime: i64::try_from(self.mtime).unwrap_or(i64::MAX),
            filesize: self.filesize,
            rdev: split_dev(self.rdev),
            namesize: self.namesize,
            header_len: LEN as u64,
            align: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_afio_writes() {
        // A header afio 2.5.2 wrote for a file owned by uid 70000 (with `./b` after it).
        let b: [u8; LEN] = *b"0707270000FE000000000000A62051m100644000111700001117100000\
00100000000000000006B146E48n000400000000s0000000000000006:";
        let h = Afio::decode(&b).unwrap();
        assert_eq!((h.uid, h.gid, h.namesize, h.filesize), (70000, 70001, 4, 6));
        let c = h.header();
        assert_eq!((c.mode, c.dev, c.mtime), (0o100644, (254, 0), 0x6B146E48));
        let mut bad = b;
        bad[30] = b'x';
        assert_eq!(Afio::decode(&bad), None);
    }
}
