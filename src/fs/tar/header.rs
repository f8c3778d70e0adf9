//! The 512-byte tar header block as v7, POSIX ustar and GNU tar write it: the fields every
//! format shares (name, mode, owners, size, mtime, checksum, type, link name), ustar's magic,
//! device numbers and name prefix, and the numbers in octal or in GNU's base-256. The owner
//! names are not read: the tree keeps the numbers.

/// A header's size, and the unit of member data.
pub const BLOCK: u64 = 512;

/// Offset and length of the GNU extra area (atime, ctime, the old sparse map) in the header.
pub const GNU_AREA: std::ops::Range<usize> = 345..500;

/// Which header layout a block uses, from its magic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// No magic: the 7th Edition header.
    V7,
    /// `ustar\0` `00`: POSIX (and pax, which adds extended headers).
    Ustar,
    /// `ustar  \0`: GNU tar's own.
    Gnu,
}

/// One decoded header block.
#[derive(Clone, Debug)]
pub struct Header {
    /// The name (with the ustar prefix joined in front).
    pub name: Vec<u8>,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Bytes of data after the header (for GNU old sparse members, the bytes stored).
    pub size: u64,
    pub mtime: i64,
    pub typeflag: u8,
    pub linkname: Vec<u8>,
    pub dev: (u32, u32),
    pub layout: Layout,
}

/// The field at `range`, up to its first NUL.
pub fn text(b: &[u8], range: std::ops::Range<usize>) -> Vec<u8> {
    let f = &b[range];
    let end = f.iter().position(|c| *c == 0).unwrap_or(f.len());
    f[..end].to_vec()
}

/// A numeric field: octal digits between optional spaces and NULs (empty is 0), or GNU's
/// base-256 (first byte 0x80: positive, 0xff: negative, two's complement). `None` when it is
/// neither, or does not fit.
pub fn number(f: &[u8]) -> Option<i64> {
    match f.first() {
        Some(0x80) | Some(0xff) => {
            let negative = f[0] == 0xff;
            let mut v: i64 = if negative { -1 } else { 0 };
            for (i, b) in f.iter().enumerate() {
                let b = if i == 0 {
                    if negative {
                        0xff
                    } else {
                        0
                    }
                } else {
                    *b
                };
                if !negative && v > (i64::MAX >> 8) {
                    return None;
                }
                if negative && v < (i64::MIN >> 8) {
                    return None;
                }
                v = (v << 8) | i64::from(b);
            }
            Some(v)
        }
        _ => {
            let s = f
                .iter()
                .position(|c| !matches!(c, b' ' | 0))
                .map_or(&[][..], |start| &f[start..]);
            let end = s
                .iter()
                .position(|c| matches!(c, b' ' | 0))
                .unwrap_or(s.len());
            if s[end..].iter().any(|c| !matches!(c, b' ' | 0)) {
                return None;
            }
            let mut v: i64 = 0;
            for c in &s[..end] {
                if !(b'0'..=b'7').contains(c) {
                    return None;
                }
                v = v.checked_mul(8)?.checked_add(i64::from(c - b'0'))?;
            }
            Some(v)
        }
    }
}

/// A numeric field that must not be negative.
pub fn unsigned(f: &[u8]) -> Option<u64> {
    number(f).and_then(|v| u64::try_from(v).ok())
}

/// Whether the checksum field holds at least one digit and equals the sum of the block's
/// bytes (the field itself counted as spaces), unsigned or, as old tars computed it, signed.
pub fn checksum_ok(b: &[u8; BLOCK as usize]) -> bool {
    let field = &b[148..156];
    if !field.iter().any(u8::is_ascii_digit) {
        return false;
    }
    let Some(stored) = number(field) else {
        return false;
    };
    // Whole-block sums (they vectorise; 512 bytes cannot overflow 32 bits), the field's bytes
    // then counted as spaces; the signed sum only when the unsigned one is not it.
    let sum = |byte: fn(u8) -> i32| {
        let all = b.iter().map(|c| byte(*c)).sum::<i32>();
        let own = field.iter().map(|c| byte(*c)).sum::<i32>();
        i64::from(all - own + 8 * i32::from(b' '))
    };
    stored == sum(i32::from) || stored == sum(|c| i32::from(c as i8))
}

/// Whether `b` looks like the first header of a tar archive: the ustar magic, or a valid
/// checksum (v7).
pub fn looks_like(b: &[u8]) -> bool {
    let Ok(block) = <&[u8; BLOCK as usize]>::try_from(b.get(..BLOCK as usize).unwrap_or(&[]))
    else {
        return false;
    };
    block[257..262] == *b"ustar" || checksum_ok(block)
}

impl Header {
    /// Decodes a block whose checksum was checked; `Err` names the bad field.
    pub fn decode(b: &[u8; BLOCK as usize]) -> Result<Header, String> {
        let layout = match &b[257..265] {
            m if m == b"ustar  \0" => Layout::Gnu,
            m if &m[..6] == b"ustar\0" => Layout::Ustar,
            _ => Layout::V7,
        };
        let field = |name: &str, range: std::ops::Range<usize>| {
            unsigned(&b[range]).ok_or_else(|| format!("its {name} field is not a number"))
        };
        let small = |name: &str, range: std::ops::Range<usize>| {
            field(name, range).and_then(|v| {
                u32::try_from(v).map_err(|_| format!("its {name} field is out of range"))
            })
        };
        let mut name = text(b, 0..100);
        let mut dev = (0, 0);
        if layout != Layout::V7 && matches!(b[156], b'3' | b'4') {
            dev = (small("devmajor", 329..337)?, small("devminor", 337..345)?);
        }
        if layout == Layout::Ustar {
            let prefix = text(b, 345..500);
            if !prefix.is_empty() {
                name = [prefix, b"/".to_vec(), name].concat();
            }
        }
        Ok(Header {
            name,
            mode: small("mode", 100..108)? & 0o7777,
            uid: field("uid", 108..116)?,
            gid: field("gid", 116..124)?,
            size: field("size", 124..136)?,
            mtime: number(&b[136..148]).ok_or("its mtime field is not a number")?,
            typeflag: b[156],
            linkname: text(b, 157..257),
            dev,
            layout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn numbers_in_octal_and_base_256() {
        assert_eq!(number(b"0000644\0"), Some(0o644));
        assert_eq!(number(b"   755 \0"), Some(0o755));
        assert_eq!(number(b"\0\0\0\0"), Some(0));
        assert_eq!(number(b"12 3"), None);
        assert_eq!(number(b"9"), None);
        assert_eq!(number(&[0x80, 0, 0, 1, 0]), Some(256));
        assert_eq!(number(&[0xff, 0xff, 0xff, 0xfe]), Some(-2));
        assert_eq!(
            number(&[0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            None
        );
    }
}
