//! Joliet: the UCS-2 (big-endian) names of a supplementary volume descriptor's tree, and the
//! escape sequences that say its level (`%/@` = 1, `%/C` = 2, `%/E` = 3).

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
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}
