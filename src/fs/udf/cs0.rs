//! OSTA CS0 strings (UDF 2.1.1/2.1.3): d-characters with a compression id (8: one byte per
//! character, 16: UTF-16 big-endian; 254/255 likewise), fixed-size dstrings whose last byte is
//! the used length, and entity identifiers (regid) as text.

/// Decodes CS0 d-characters (compression id first) to UTF-8; `None` for an unknown
/// compression id or an odd 16-bit length.
pub fn decode(chars: &[u8]) -> Option<String> {
    let (&cid, rest) = chars.split_first()?;
    match cid {
        8 | 254 => Some(rest.iter().map(|&b| char::from(b)).collect()),
        16 | 255 => {
            if rest.len() % 2 != 0 {
                return None;
            }
            let units = rest
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]));
            Some(
                char::decode_utf16(units)
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect(),
            )
        }
        _ => None,
    }
}

/// Encodes `name` as CS0 d-characters: compression id 8 (one byte per character) when every
/// character is below U+0100, else 16 (UTF-16 big-endian), as UDF writers choose.
pub fn encode(name: &str) -> Vec<u8> {
    if name.chars().all(|c| u32::from(c) < 0x100) {
        std::iter::once(8)
            .chain(name.chars().map(|c| u32::from(c) as u8))
            .collect()
    } else {
        std::iter::once(16)
            .chain(name.encode_utf16().flat_map(u16::to_be_bytes))
            .collect()
    }
}

/// Decodes a dstring field (its last byte is the number of bytes used, compression id
/// included); an empty, unused or undecodable field gives an empty string.
pub fn dstring(field: &[u8]) -> String {
    let Some((&used, body)) = field.split_last() else {
        return String::new();
    };
    let used = usize::from(used).min(body.len());
    decode(&body[..used])
        .map(|s| s.trim_end_matches('\0').to_string())
        .unwrap_or_default()
}

/// The identifier of an entity identifier (regid, ECMA-167 1/7.4): 23 bytes from offset 1,
/// up to the first NUL.
pub fn regid(field: &[u8]) -> String {
    let ident = field.get(1..24).unwrap_or_default();
    let end = ident.iter().position(|&b| b == 0).unwrap_or(ident.len());
    String::from_utf8_lossy(&ident[..end])
        .trim_end()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_widths_decode() {
        assert_eq!(decode(b"\x08caf\xe9").as_deref(), Some("café"));
        assert_eq!(decode(b"\x10\x00a\x20\xac").as_deref(), Some("a€"));
        assert_eq!(decode(b"\x10\x00"), None);
        assert_eq!(decode(b"\x07a"), None);
        for s in ["café", "a€", ""] {
            assert_eq!(decode(&encode(s)).as_deref(), Some(s));
        }
        assert_eq!(encode("a€"), b"\x10\x00a\x20\xac");
        let mut field = [0u8; 8];
        field[..3].copy_from_slice(b"\x08ab");
        field[7] = 3;
        assert_eq!(dstring(&field), "ab");
    }
}
