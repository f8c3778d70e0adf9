//! The "new" ASCII cpio header (`070701`, `cpio -H newc`, the format of Linux initramfs) and its
//! checksummed variant (`070702`, `cpio -H crc`): 13 eight-digit hex fields after the magic;
//! name and data each padded to 4 bytes. Decoded and encoded.

use super::header::{ascii_number, Header};

/// Length of the fixed header.
pub const LEN: usize = 110;

/// A newc or crc header as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Newc {
    /// The `070702` variant, whose `check` is the sum of the data's bytes.
    pub crc: bool,
    pub ino: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
    pub filesize: u32,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub rdev_major: u32,
    pub rdev_minor: u32,
    /// Length of the name including its terminating NUL.
    pub namesize: u32,
    pub check: u32,
}

impl Newc {
    /// Decodes a header; `None` without a newc or crc magic, or when a field is not
    /// hexadecimal.
    pub fn decode(b: &[u8; LEN]) -> Option<Newc> {
        let crc = match &b[..6] {
            b"070701" => false,
            b"070702" => true,
            _ => return None,
        };
        let field = |i: usize| {
            ascii_number(&b[6 + 8 * i..14 + 8 * i], 16).and_then(|v| u32::try_from(v).ok())
        };
        Some(Newc {
            crc,
            ino: field(0)?,
            mode: field(1)?,
            uid: field(2)?,
            gid: field(3)?,
            nlink: field(4)?,
            mtime: field(5)?,
            filesize: field(6)?,
            dev_major: field(7)?,
            dev_minor: field(8)?,
            rdev_major: field(9)?,
            rdev_minor: field(10)?,
            namesize: field(11)?,
            check: field(12)?,
        })
    }

    /// The header's 110 bytes, hex digits in upper case as GNU cpio and libarchive write them.
    pub fn encode(&self) -> [u8; LEN] {
        let fields = [
            self.ino,
            self.mode,
            self.uid,
            self.gid,
            self.nlink,
            self.mtime,
            self.filesize,
            self.dev_major,
            self.dev_minor,
            self.rdev_major,
            self.rdev_minor,
            self.namesize,
            self.check,
        ];
        let magic = if self.crc { "070702" } else { "070701" };
        let text: String = std::iter::once(magic.to_string())
            .chain(fields.iter().map(|v| format!("{v:08X}")))
            .collect();
        let mut out = [0u8; LEN];
        out.copy_from_slice(text.as_bytes());
        out
    }

    /// The fields every cpio format shares.
    pub fn header(&self) -> Header {
        Header {
            ino: u64::from(self.ino),
            mode: self.mode,
            uid: self.uid,
            gid: self.gid,
            nlink: self.nlink,
            mtime: i64::from(self.mtime),
            filesize: u64::from(self.filesize),
            dev: (self.dev_major, self.dev_minor),
            rdev: (self.rdev_major, self.rdev_minor),
            namesize: u64::from(self.namesize),
            header_len: LEN as u64,
            align: 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let h = Newc {
            crc: true,
            ino: 0xdead_beef,
            mode: 0o100644,
            uid: 1000,
            gid: 100,
            nlink: 1,
            mtime: 1_700_000_000,
            filesize: u32::MAX,
            dev_major: 8,
            dev_minor: 1,
            rdev_major: 0,
            rdev_minor: 0,
            namesize: 6,
            check: 0x1234,
        };
        let b = h.encode();
        assert!(b.starts_with(b"070702DEADBEEF"));
        assert_eq!(Newc::decode(&b), Some(h));
        let newc = Newc { crc: false, ..h };
        assert_eq!(Newc::decode(&newc.encode()), Some(newc));
        assert_eq!(newc.header().filesize, u64::from(u32::MAX));
        let mut bad = b;
        bad[3] = b'8';
        assert_eq!(Newc::decode(&bad), None);
    }
}
