//! The checksum algorithms of `checksum` and `checksums-out`: the MD5 and SHA families, and
//! the POSIX `cksum` CRC (CRC-32 with polynomial 0x04C11DB7, most significant bit first, the
//! length appended, complemented), printed as the host tools print them.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use crate::ondisk::crc::CKSUM;

/// A running checksum.
pub enum Hasher {
    Md5(Md5),
    Sha1(Sha1),
    Sha224(Sha224),
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
    Crc {
        digest: crc::Digest<'static, u32, crc::Table<16>>,
        len: u64,
    },
}

/// The names `checksum` accepts.
pub const ALGORITHMS: &[&str] = &["crc", "md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

impl Hasher {
    /// The hasher for `name` (`md5`, `sha256`, `crc`...).
    pub fn new(name: &str) -> anyhow::Result<Hasher> {
        Ok(match name {
            "md5" => Hasher::Md5(Md5::new()),
            "sha1" => Hasher::Sha1(Sha1::new()),
            "sha224" => Hasher::Sha224(Sha224::new()),
            "sha256" => Hasher::Sha256(Sha256::new()),
            "sha384" => Hasher::Sha384(Sha384::new()),
            "sha512" => Hasher::Sha512(Sha512::new()),
            "crc" => Hasher::Crc {
                digest: CKSUM.digest(),
                len: 0,
            },
            other => anyhow::bail!(
                "{other}: unknown checksum type (known: {})",
                ALGORITHMS.join(" ")
            ),
        })
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha224(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
            Hasher::Crc { digest, len } => {
                digest.update(data);
                *len += data.len() as u64;
            }
        }
    }

    /// The checksum as the host tool prints it: lowercase hex, or the decimal CRC for `crc`.
    pub fn finish(self) -> String {
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect();
        match self {
            Hasher::Md5(h) => hex(&h.finalize()),
            Hasher::Sha1(h) => hex(&h.finalize()),
            Hasher::Sha224(h) => hex(&h.finalize()),
            Hasher::Sha256(h) => hex(&h.finalize()),
            Hasher::Sha384(h) => hex(&h.finalize()),
            Hasher::Sha512(h) => hex(&h.finalize()),
            Hasher::Crc {
                mut digest,
                mut len,
            } => {
                // `cksum` feeds the length after the data, least significant byte first and
                // no more bytes than it needs.
                while len > 0 {
                    digest.update(&[len as u8]);
                    len >>= 8;
                }
                digest.finalize().to_string()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Hasher;

    fn sum(alg: &str, data: &[u8]) -> String {
        let mut h = Hasher::new(alg).unwrap();
        h.update(data);
        h.finish()
    }

    #[test]
    fn known_values() {
        // Published check values: `printf 123456789 | cksum` and the empty input.
        assert_eq!(sum("crc", b"123456789"), "930766865");
        assert_eq!(sum("crc", b""), "4294967295");
        assert_eq!(sum("md5", b""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
