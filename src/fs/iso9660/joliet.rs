//! Joliet: the UCS-2 (big-endian) names of a supplementary volume descriptor's tree, decoded
//! and encoded, and the escape sequences that say its level (`%/@` = 1, `%/C` = 2, `%/E` = 3).

use crate::ondisk::endian;

/// The Joliet level announced by a supplementary descriptor's escape sequences field.
pub fn level(escapes: &[u8]) -> Option<u8> {
    escapes.windows(3).find_map(|w| match w {
        [0x25, 0x2f, 0x40] => Some(1),
        [0x25, 0x2f, 0x43] => Some(2),
        [0x25, 0x2f, 0x45] => Some(3),
        _ => None,
    })
}

/// Decodes a UCS-2 big-endian name (an odd trailing byte is dropped; unpaired surrogates
/// become U+FFFD).
pub fn decode(raw: &[u8]) -> String {
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .filter_map(|c| endian::be16(c, 0))
        .collect();
    String::from_utf16_lossy(&units)
}

/// Encodes a name as UCS-2 big-endian (characters past the Basic Multilingual Plane as
/// surrogate pairs, as xorriso writes them).
pub fn encode(name: &str) -> Vec<u8> {
    name.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// A name without its UCS-2 `;1` version suffix (and without an odd trailing byte when it
/// has one).
pub fn strip_version(name: &[u8]) -> &[u8] {
    let unit = |i: usize| endian::be16(name, 2 * i);
    let is_digit = |u: u16| (u16::from(b'0')..=u16::from(b'9')).contains(&u);
    let units = name.len() / 2;
    let mut end = units;
    while end > 0 && unit(end - 1).is_some_and(is_digit) {
        end -= 1;
    }
    if end < units && end > 0 && unit(end - 1) == Some(u16::from(b';')) {
        name.get(..2 * (end - 1)).unwrap_or(name)
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in ["README.TXT", "été", "日本語", "𝄞 clef"] {
            assert_eq!(decode(&encode(name)), name);
        }
        assert_eq!(encode("A"), [0, b'A']);
        assert_eq!(level(b"%/E"), Some(3));
        assert_eq!(strip_version(&encode("A.TXT;12")), encode("A.TXT"));
        assert_eq!(strip_version(&encode("A;B")), encode("A;B"));
        assert_eq!(strip_version(&encode(";1")), b"");
    }
}
