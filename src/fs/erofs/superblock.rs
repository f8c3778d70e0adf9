//! The EROFS superblock fields isofish reads itself, before and beside erofs-rs (which parses
//! and validates the whole superblock): the feature words, the compression algorithms they
//! announce and the device count. The probe uses them to say `erofs (lz4)` without opening
//! the image; the reader uses them for `info` and to refuse multi-device images by name.

use crate::ondisk::endian::{le16, le32};

/// Where the superblock starts.
pub const OFFSET: u64 = 1024;
/// Bytes of the superblock.
pub const SIZE: usize = 128;
/// The magic number, little-endian, at [`OFFSET`].
pub const MAGIC: [u8; 4] = [0xe2, 0xe1, 0xf5, 0xe0];

const COMPAT: usize = 8;
const INCOMPAT: usize = 80;
const COMPR_ALGS: usize = 84;
const EXTRA_DEVICES: usize = 86;

/// `feature_incompat` bits whose meaning the code below relies on.
const INCOMPAT_ZERO_PADDING: u32 = 0x1;
const INCOMPAT_COMPR_CFGS: u32 = 0x2;
const INCOMPAT_DEVICE_TABLE: u32 = 0x8;
const INCOMPAT_METABOX: u32 = 0x100;

/// Names of the `feature_compat` bits, as dump.erofs prints them.
const COMPAT_NAMES: &[(u32, &str)] = &[
    (0x1, "sb_csum"),
    (0x2, "mtime"),
    (0x4, "xattr_filter"),
    (0x8, "shared_ea_in_metabox"),
    (0x10, "plain_xattr_pfx"),
];

/// Names of the `feature_incompat` bits, as dump.erofs prints them (some bits have two).
const INCOMPAT_NAMES: &[(u32, &str)] = &[
    (0x1, "0padding"),
    (0x2, "compr_cfgs"),
    (0x2, "big_pcluster"),
    (0x4, "chunked_file"),
    (0x8, "device_table"),
    (0x8, "compr_head2"),
    (0x10, "ztailpacking"),
    (0x20, "fragments"),
    (0x20, "dedupe"),
    (0x40, "xattr_prefixes"),
    (0x80, "48bit"),
    (0x100, "metabox"),
];

/// Bits of `compr_algs` (when `compr_cfgs` is set) and the algorithm each names.
const ALGORITHMS: &[(u16, &str)] = &[(0x1, "lz4"), (0x2, "lzma"), (0x4, "deflate"), (0x8, "zstd")];

/// The feature words of a superblock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Features {
    compat: u32,
    incompat: u32,
    compr_algs: u16,
    extra_devices: u16,
}

impl Features {
    /// Reads the features from `sb`, the bytes from [`OFFSET`] on; `None` when `sb` is too
    /// short or does not start with the magic.
    pub fn decode(sb: &[u8]) -> Option<Features> {
        if sb.get(..4)? != MAGIC {
            return None;
        }
        Some(Features {
            compat: le32(sb, COMPAT)?,
            incompat: le32(sb, INCOMPAT)?,
            compr_algs: le16(sb, COMPR_ALGS)?,
            extra_devices: le16(sb, EXTRA_DEVICES)?,
        })
    }

    /// The compression algorithms the image announces: the `compr_algs` bitmap where
    /// `compr_cfgs` is set, else `lz4` where the zero-padding that mkfs.erofs sets for
    /// compressed images is, else none (an uncompressed image, or legacy lz4 images made
    /// without zero padding, which cannot be told apart cheaply).
    pub fn compressions(&self) -> Vec<&'static str> {
        if self.incompat & INCOMPAT_COMPR_CFGS != 0 {
            ALGORITHMS
                .iter()
                .filter(|(bit, _)| self.compr_algs & bit != 0)
                .map(|(_, name)| *name)
                .collect()
        } else if self.incompat & INCOMPAT_ZERO_PADDING != 0 {
            vec!["lz4"]
        } else {
            Vec::new()
        }
    }

    /// The devices beyond the image itself that the image's data is spread over.
    pub fn extra_devices(&self) -> u16 {
        if self.incompat & INCOMPAT_DEVICE_TABLE != 0 {
            self.extra_devices
        } else {
            0
        }
    }

    /// True when inodes and directories live in a metabox, a compressed inode of their own.
    pub fn metabox(&self) -> bool {
        self.incompat & INCOMPAT_METABOX != 0
    }

    /// The names of the feature bits set, compatible ones first; unknown bits in hex.
    pub fn names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (word, table) in [(self.compat, COMPAT_NAMES), (self.incompat, INCOMPAT_NAMES)] {
            let mut known = 0;
            for (bit, name) in table {
                known |= bit;
                if word & bit != 0 {
                    out.push(name.to_string());
                }
            }
            if word & !known != 0 {
                out.push(format!("{:#x}", word & !known));
            }
        }
        out
    }
}

/// A UUID in its usual form, `8-4-4-4-12` lowercase hex digits.
pub fn uuid(bytes: &[u8; 16]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The volume name: the bytes up to the first NUL, when there are any.
pub fn volume_name(bytes: &[u8; 16]) -> Option<String> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let name = String::from_utf8_lossy(&bytes[..end]).trim().to_string();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sb(incompat: u32, compr_algs: u16) -> Vec<u8> {
        let mut b = vec![0; SIZE];
        b[..4].copy_from_slice(&MAGIC);
        b[INCOMPAT..INCOMPAT + 4].copy_from_slice(&incompat.to_le_bytes());
        b[COMPR_ALGS..COMPR_ALGS + 2].copy_from_slice(&compr_algs.to_le_bytes());
        b
    }

    #[test]
    fn compressions_from_the_bitmap_or_the_padding() {
        let f = |i, a| Features::decode(&sb(i, a)).unwrap().compressions();
        assert_eq!(f(0x2, 0x3), ["lz4", "lzma"]);
        assert_eq!(f(0x3, 0x8), ["zstd"]);
        assert_eq!(f(0x1, 0x4000), ["lz4"]);
        assert!(f(0, 0).is_empty());
    }

    #[test]
    fn no_magic_no_features() {
        assert_eq!(Features::decode(&[0; SIZE]), None);
        assert_eq!(Features::decode(&MAGIC), None);
    }

    #[test]
    fn uuid_and_name() {
        let mut u = [0u8; 16];
        u[0] = 0xab;
        u[15] = 1;
        assert_eq!(uuid(&u), "ab000000-0000-0000-0000-000000000001");
        assert_eq!(
            volume_name(b"fedora\0\0\0\0\0\0\0\0\0\0").unwrap(),
            "fedora"
        );
        assert_eq!(volume_name(&[0; 16]), None);
    }
}
