//! The old portable ASCII cpio header (`070707`, `cpio -H odc`, POSIX.1): octal fields, no
//! padding after the name or the data. Decoded and encoded.

use super::header::{ascii_number, Header};

/// Length of the fixed header.
pub const LEN: usize = 76;

/// The fields after the magic: (offset, width in octal digits).
const DEV: (usize, usize) = (6, 6);
const INO: (usize, usize) = (12, 6);
const MODE: (usize, usize) = (18, 6);
const UID: (usize, usize) = (24, 6);
const GID: (usize, usize) = (30, 6);
const NLINK: (usize, usize) = (36, 6);
const RDEV: (usize, usize) = (42, 6);
const MTIME: (usize, usize) = (48, 11);
const NAMESIZE: (usize, usize) = (59, 6);
const FILESIZE: (usize, usize) = (65, 11);

/// Splits the 16-bit `dev_t` of old formats into major and minor numbers.
pub fn split_dev(dev: u64) -> (u32, u32) {
    (((dev >> 8) & 0xff) as u32, (dev & 0xff) as u32)
}

/// The 16-bit `dev_t` of old formats from major and minor numbers (the inverse of
/// [`split_dev`]); `None` when either passes 8 bits.
pub fn join_dev((major, minor): (u32, u32)) -> Option<u32> {
    (major < 256 && minor < 256).then_some((major << 8) | minor)
}

/// An odc header as recorded: six octal digits hold 18 bits, eleven hold 33.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Odc {
    pub dev: u32,
    pub ino: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub rdev: u32,
    pub mtime: u64,
    /// Length of the name including its terminating NUL.
    pub namesize: u32,
    pub filesize: u64,
}

impl Odc {
    /// Decodes a header; `None` without the `070707` magic, or when a field is not octal.
    pub fn decode(b: &[u8; LEN]) -> Option<Odc> {
        if !b.starts_with(b"070707") {
            return None;
        }
        let field = |(at, len): (usize, usize)| ascii_number(&b[at..at + len], 8);
        let small = |f| field(f).and_then(|v| u32::try_from(v).ok());
        Some(Odc {
            dev: small(DEV)?,
            ino: small(INO)?,
            mode: small(MODE)?,
            uid: small(UID)?,
            gid: small(GID)?,
            nlink: small(NLINK)?,
            rdev: small(RDEV)?,
            mtime: field(MTIME)?,
            namesize: small(NAMESIZE)?,
            filesize: field(FILESIZE)?,
        })
    }

    /// The header's 76 bytes; `None` when a value needs more digits than its field has.
    pub fn encode(&self) -> Option<[u8; LEN]> {
        let mut out = [b'0'; LEN];
        out[..6].copy_from_slice(b"070707");
        for ((at, len), v) in [
            (DEV, u64::from(self.dev)),
            (INO, u64::from(self.ino)),
            (MODE, u64::from(self.mode)),
            (UID, u64::from(self.uid)),
            (GID, u64::from(self.gid)),
            (NLINK, u64::from(self.nlink)),
            (RDEV, u64::from(self.rdev)),
            (MTIME, self.mtime),
            (NAMESIZE, u64::from(self.namesize)),
            (FILESIZE, self.filesize),
        ] {
            let digits = format!("{v:0len$o}");
            if digits.len() > len {
                return None;
            }
            out[at..at + len].copy_from_slice(digits.as_bytes());
        }
        Some(out)
    }

    /// The fields every cpio format shares.
    pub fn header(&self) -> Header {
        Header {
            dev: split_dev(u64::from(self.dev)),
            ino: u64::from(self.ino),
            mode: self.mode,
            uid: self.uid,
            gid: self.gid,
            nlink: self.nlink,
            rdev: split_dev(u64::from(self.rdev)),
            mtime: self.mtime as i64,
            namesize: u64::from(self.namesize),
            filesize: self.filesize,
            header_len: LEN as u64,
            align: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_does_not_fit() {
        let h = Odc {
            dev: 0o777777,
            ino: 12,
            mode: 0o020644,
            uid: 0,
            gid: 5,
            nlink: 1,
            rdev: 0x0801,
            mtime: (1 << 33) - 1,
            namesize: 9,
            filesize: 0,
        };
        let b = h.encode().unwrap();
        assert_eq!(&b[..12], b"070707777777");
        assert_eq!(Odc::decode(&b), Some(h));
        assert_eq!(h.header().rdev, (8, 1));
        assert_eq!(Odc { uid: 1 << 18, ..h }.encode(), None);
        assert_eq!(
            Odc {
                mtime: 1 << 33,
                ..h
            }
            .encode(),
            None
        );
    }
}
