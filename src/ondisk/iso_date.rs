//! ECMA-119 dates: the 7-byte recording date of directory records (§9.1.5) and the 17-byte
//! digit date of volume descriptors (§8.4.26.1), decoded to Unix time and encoded from it.
//! Encoders write UTC (offset 0), as xorriso does with `TZ=UTC`.

use super::civil::{self, Civil};
use crate::fs::Timestamp;

/// A 7-byte recording date: years since 1900, month, day, hour, minute, second, offset from
/// GMT in 15-minute units. All zeros means "not specified" (the epoch); any other values are
/// taken as they are, without panicking.
pub fn decode_short(b: &[u8]) -> Timestamp {
    if b.len() < 7 || b[..6].iter().all(|&x| x == 0) {
        return Timestamp::default();
    }
    let v = |i: usize| i64::from(b[i]);
    let offset = i64::from(b[6] as i8);
    Timestamp {
        secs: civil::to_unix(1900 + v(0), v(1), v(2), v(3), v(4), v(5)) - offset * 15 * 60,
        nanos: 0,
    }
}

/// The 7-byte recording date of `t` in UTC; years before 1900 and after 2155, which the field
/// cannot hold, are clamped to its first and last second.
pub fn encode_short(t: Timestamp) -> [u8; 7] {
    let first = civil::to_unix(1900, 1, 1, 0, 0, 0);
    let last = civil::to_unix(2155, 12, 31, 23, 59, 59);
    let c = Civil::from_unix(t.secs.clamp(first, last));
    [
        (c.year - 1900) as u8,
        c.month as u8,
        c.day as u8,
        c.hour as u8,
        c.minute as u8,
        c.second as u8,
        0,
    ]
}

/// The digits of a 17-byte date as numbers: year, month, day, hour, minute, second,
/// hundredths; `None` when they are not all digits or the year is 0 (not specified).
fn long_fields(raw: &[u8]) -> Option<[i64; 7]> {
    let digits = raw.get(..16)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |at: usize, len: usize| {
        digits[at..at + len]
            .iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'))
    };
    let year = num(0, 4);
    (year != 0).then(|| {
        [
            year,
            num(4, 2),
            num(6, 2),
            num(8, 2),
            num(10, 2),
            num(12, 2),
            num(14, 2),
        ]
    })
}

/// A 17-byte date (`YYYYMMDDHHMMSScc` in digits, then the offset from GMT in 15-minute
/// units) as Unix time; `None` when not specified (zeros, digits of zero) or not digits.
pub fn decode_long(raw: &[u8]) -> Option<Timestamp> {
    let [y, mo, d, h, mi, s, cs] = long_fields(raw)?;
    let offset = i64::from(*raw.get(16)? as i8);
    Some(Timestamp {
        secs: civil::to_unix(y, mo, d, h, mi, s) - offset * 15 * 60,
        nanos: (cs * 10_000_000) as u32,
    })
}

/// A 17-byte date moved to UTC, as the 16 digits `YYYYMMDDhhmmsscc` (what
/// `boot-info --as mkisofs` repeats, as xorriso's report does); `None` when unset, not digits,
/// or the month or day is out of range.
pub fn long_utc_digits(raw: &[u8]) -> Option<String> {
    let [_, mo, d, .., cs] = long_fields(raw)?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let c = Civil::from_unix(decode_long(raw)?.secs);
    Some(format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}{cs:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    ))
}

/// The 17-byte date of `t` in UTC, or the "not specified" date (sixteen `0` digits and a zero
/// offset) for `None`. Years past 9999 are clamped to its last second.
pub fn encode_long(t: Option<Timestamp>) -> [u8; 17] {
    let mut out = [b'0'; 17];
    out[16] = 0;
    if let Some(t) = t {
        let last = civil::to_unix(9999, 12, 31, 23, 59, 59);
        let c = Civil::from_unix(t.secs.clamp(civil::to_unix(1, 1, 1, 0, 0, 0), last));
        let digits = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}{:02}",
            c.year,
            c.month,
            c.day,
            c.hour,
            c.minute,
            c.second,
            t.nanos / 10_000_000
        );
        out[..16].copy_from_slice(digits.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(secs: i64, nanos: u32) -> Timestamp {
        Timestamp { secs, nanos }
    }

    #[test]
    fn short_dates_round_trip() {
        for secs in [
            civil::to_unix(1900, 1, 1, 0, 0, 1),
            0,
            1_700_000_000,
            civil::to_unix(2155, 12, 31, 23, 59, 59),
        ] {
            assert_eq!(decode_short(&encode_short(ts(secs, 0))), ts(secs, 0));
        }
        assert_eq!(decode_short(&[0; 7]), Timestamp::default());
        // Out of range: clamped.
        let late = decode_short(&encode_short(ts(i64::MAX / 4, 0)));
        assert_eq!(late.secs, civil::to_unix(2155, 12, 31, 23, 59, 59));
    }

    #[test]
    fn short_date_offset_is_subtracted() {
        // 2023-11-15 00:13:20 at GMT+02:00 is 2023-11-14 22:13:20 UTC.
        let b = [123, 11, 15, 0, 13, 20, 8];
        assert_eq!(
            decode_short(&b).secs,
            civil::to_unix(2023, 11, 14, 22, 13, 20)
        );
    }

    #[test]
    fn long_dates_round_trip() {
        let t = ts(1_700_000_000, 450_000_000);
        let raw = encode_long(Some(t));
        assert_eq!(&raw[..16], b"2023111422132045");
        assert_eq!(decode_long(&raw), Some(t));
        assert_eq!(decode_long(&encode_long(None)), None);
        assert_eq!(encode_long(None), *b"0000000000000000\0");
    }

    #[test]
    fn long_dates_are_moved_to_utc() {
        let mut d = *b"2023111500132000\0";
        d[16] = 8; // +02:00
        assert_eq!(long_utc_digits(&d).as_deref(), Some("2023111422132000"));
        assert_eq!(long_utc_digits(b"2023130100000000\0"), None);
        assert_eq!(long_utc_digits(b"20231101000000xx\0"), None);
    }
}
