//! LZ4 blocks decoded up to a given length, for the pclusters that lz4_flex (which decodes a
//! block whole) cannot take: those of images made without zero padding, whose compressed
//! data may be followed by other bytes, and partial references, which use only the start of
//! what their pcluster decodes to. The decoding stops as soon as the output is full.

use crate::ondisk::endian::le16;

/// Decodes the LZ4 block `input` until `out` is full; `None` when the block ends first or
/// refers before its start.
pub fn decode_prefix(input: &[u8], out: &mut [u8]) -> Option<()> {
    let (mut i, mut o) = (0usize, 0usize);
    while o < out.len() {
        let token = *input.get(i)?;
        i += 1;
        let literals = length(input, &mut i, usize::from(token >> 4))?.min(out.len() - o);
        out[o..o + literals].copy_from_slice(input.get(i..i.checked_add(literals)?)?);
        i += literals;
        o += literals;
        if o == out.len() {
            break;
        }
        let distance = usize::from(le16(input, i)?);
        i += 2;
        if distance == 0 || distance > o {
            return None;
        }
        let len = length(input, &mut i, usize::from(token & 15))?
            .checked_add(4)?
            .min(out.len() - o);
        if distance >= len {
            out.copy_within(o - distance..o - distance + len, o);
        } else {
            // The match overlaps what it writes: byte by byte, each byte read once written.
            for k in o..o + len {
                out[k] = out[k - distance];
            }
        }
        o += len;
    }
    Some(())
}

/// A literal or match length: `initial` (the token's nibble), extended by the bytes that
/// follow while they are 255.
fn length(input: &[u8], i: &mut usize, initial: usize) -> Option<usize> {
    let mut len = initial;
    if initial == 15 {
        loop {
            let b = *input.get(*i)?;
            *i += 1;
            len = len.checked_add(usize::from(b))?;
            if b != 255 {
                break;
            }
        }
    }
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_of_a_block_decode_as_lz4_flex_decodes_it() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 7 + i / 300) as u8).collect();
        let block = lz4_flex::block::compress(&data);
        for len in [0, 1, 100, 4999, 5000] {
            let mut out = vec![0u8; len];
            decode_prefix(&block, &mut out).unwrap();
            assert_eq!(out, data[..len]);
        }
        // Trailing bytes after the block are never read once the output is full.
        let mut padded = block.clone();
        padded.extend_from_slice(&[0; 64]);
        let mut out = vec![0u8; 5000];
        decode_prefix(&padded, &mut out).unwrap();
        assert_eq!(out, data);
        // Asking for more than the block holds fails, as does a match before the start.
        assert!(decode_prefix(&block, &mut vec![0u8; 5001]).is_none());
        assert!(decode_prefix(&[0x04, 1, 0], &mut [0u8; 8]).is_none());
    }
}
