//! The old binary cpio header (magic 070707 as a 16-bit word, `cpio -H bin`): 13 16-bit words in
//! the byte order of the machine that wrote it (the magic tells which), 32-bit values as two
//! words high first; name and data padded to 2 bytes. Decoded and encoded.

use super::header::Header;
use super::odc::split_dev;

/// Length of the fixed header.
pub const LEN: usize = 26;

/// The magic word.
const MAGIC: u16 = 0o070707;

/// A binary header as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bin {
    /// Written by a little-endian machine.
    pub little: bool,
    pub dev: u16,
    pub ino: u16,
    pub mode: u16,
    pub uid: u16,
    pub gid: u16,
    pub nlink: u16,
    pub rdev: u16,
    pub mtime: u32,
    /// Length of the name including its terminating NUL.
    pub namesize: u16,
    pub filesize: u32,
}

impl Bin {
    /// Decodes a header whose magic is 0x71c7 in either byte order.
    pub fn decode(b: &[u8; LEN]) -> Option<Bin> {
        let little = if u16::from_le_bytes([b[0], b[1]]) == MAGIC {
            true
        } else if u16::from_be_bytes([b[0], b[1]]) == MAGIC {
            false
        } else {
            return None;
        };
        let word = |i: usize| {
            let pair = [b[2 * i], b[2 * i + 1]];
            if little {
                u16::from_le_bytes(pair)
            } else {
                u16::from_be_bytes(pair)
            }
        };
        let long = |i: usize| (u32::from(word(i)) << 16) | u32::from(word(i + 1));
        Some(Bin {
            little,
            dev: word(1),
            ino: word(2),
            mode: word(3),
            uid: word(4),
            gid: word(5),
            nlink: word(6),
            rdev: word(7),
            mtime: long(8),
            namesize: word(10),
            filesize: long(11),
        })
    }

    /// The header's 26 bytes, in the byte order `little` says.
    pub fn encode(&self) -> [u8; LEN] {
        let words = [
            MAGIC,
            self.dev,
            self.ino,
            self.mode,
            self.uid,
            self.gid,
            self.nlink,
            self.rdev,
            (self.mtime >> 16) as u16,
            self.mtime as u16,
            self.namesize,
            (self.filesize >> 16) as u16,
            self.filesize as u16,
        ];
        let mut out = [0u8; LEN];
        for (pair, w) in out.chunks_exact_mut(2).zip(words) {
            pair.copy_from_slice(&if self.little {
                w.to_le_bytes()
            } else {
                w.to_be_bytes()
            });
        }
        out
    }

    /// The fields every cpio format shares.
    pub fn header(&self) -> Header {
        Header {
            dev: split_dev(u64::from(self.dev)),
            ino: u64::from(self.ino),
            mode: u32::from(self.mode),
            uid: u32::from(self.uid),
            gid: u32::from(self.gid),
            nlink: u32::from(self.nlink),
            rdev: split_dev(u64::from(self.rdev)),
            mtime: i64::from(self.mtime),
            namesize: u64::from(self.namesize),
            filesize: u64::from(self.filesize),
            header_len: LEN as u64,
            align: 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_both_byte_orders() {
        for little in [true, false] {
            let h = Bin {
                little,
                dev: 0x0801,
                ino: 7,
                mode: 0o100644,
                uid: 1000,
                gid: 1000,
                nlink: 1,
                rdev: 0,
                mtime: 1_700_000_000,
                namesize: 4,
                filesize: 0x0001_0002,
            };
            let b = h.encode();
            assert_eq!(b[..2], if little { [0xc7, 0x71] } else { [0x71, 0xc7] });
            assert_eq!(Bin::decode(&b), Some(h));
            assert_eq!(h.header().dev, (8, 1));
        }
    }
}
