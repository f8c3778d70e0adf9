//! ECMA-119 dates: the 7-byte recording date of directory records (§9.1.5) and the 17-byte
//! digit date of volume descriptors (§8.4.26.1), decoded to Unix time and encoded from it.
//! Encoders write UTC (offset 0), as xorriso does with `TZ=UTC`.
//!
//! A date that cannot be (a month of 165, a minute of 60) is read as unset, as libarchive
//! (`isodate7_valid`, `isodate17_valid`) reads it, rather than counted on into another date:
//! [`check_short`] and [`check_long`] say why, for the readers that report it.

use super::civil::{self, Civil};
use crate::fs::Timestamp;

/// Why a date field holds no date: the first field out of its range, as `month 165`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks month, day, hour, minute and second (in that order) against their ranges.
#[inline]
fn check_fields(month: i64, day: i64, hour: i64, minute: i64, second: i64) -> Result<(), Invalid> {
    if (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..=23).contains(&hour)
        && (0..=59).contains(&minute)
        && (0..=59).contains(&second)
    {
        return Ok(());
    }
    Err(out_of_range(month, day, hour, minute, second))
}

/// The first field of a date that is out of its range, named.
#[cold]
fn out_of_range(month: i64, day: i64, hour: i64, minute: i64, second: i64) -> Invalid {
    let fields = [
        ("month", month, 1..=12),
        ("day", day, 1..=31),
        ("hour", hour, 0..=23),
        ("minute", minute, 0..=59),
        ("second", second, 0..=59),
    ];
    let (name, v, _) = fields
        .into_iter()
        .find(|(_, v, range)| !range.contains(v))
        .unwrap_or(("date", month, 1..=12));
    Invalid(format!("{name} {v}"))
}

/// A 7-byte recording date: years since 1900, month, day, hour, minute, second, offset from
/// GMT in 15-minute units. `Ok(None)` when the first six are zeros ("not specified"); an error
/// naming the field when one is out of its range.
pub fn check_short(b: &[u8]) -> Result<Option<Timestamp>, Invalid> {
    if b.len() < 7 || b[..6].iter().all(|&x| x == 0) {
        return Ok(None);
    }
    let v = |i: usize| i64::from(b[i]);
    check_fields(v(1), v(2), v(3), v(4), v(5))?;
    let offset = i64::from(b[6] as i8);
    Ok(Some(Timestamp {
        secs: civil::to_unix(1900 + v(0), v(1), v(2), v(3), v(4), v(5)) - offset * 15 * 60,
        nanos: 0,
    }))
}

/// A 7-byte recording date as Unix time ([`check_short`]); the epoch when it is not specified
/// or cannot be a date.
pub fn decode_short(b: &[u8]) -> Timestamp {
    check_short(b).ok().flatten().unwrap_or_default()
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
/// hundredths; `Ok(None)` when not specified (a year of 0; or only `0`s, NULs and spaces, which
/// some writers leave), an error when they are not all digits.
fn long_fields(raw: &[u8]) -> Result<Option<[i64; 7]>, Invalid> {
    let digits = raw.get(..16).ok_or_else(|| Invalid("cut short".into()))?;
    if digits.iter().all(|b| matches!(b, b'0' | 0 | b' ')) {
        return Ok(None);
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(Invalid("not digits".into()));
    }
    let num = |at: usize, len: usize| {
        digits[at..at + len]
            .iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'))
    };
    let year = num(0, 4);
    Ok((year != 0).then(|| {
        [
            year,
            num(4, 2),
            num(6, 2),
            num(8, 2),
            num(10, 2),
            num(12, 2),
            num(14, 2),
        ]
    }))
}

/// A 17-byte date (`YYYYMMDDHHMMSScc` in digits, then the offset from GMT in 15-minute
/// units) as Unix time: `Ok(None)` when not specified (zeros, digits of zero), an error when
/// not digits or a field is out of its range.
pub fn check_long(raw: &[u8]) -> Result<Option<Timestamp>, Invalid> {
    let Some([y, mo, d, h, mi, s, cs]) = long_fields(raw)? else {
        return Ok(None);
    };
    check_fields(mo, d, h, mi, s)?;
    let offset = i64::from(*raw.get(16).ok_or_else(|| Invalid("no offset".into()))? as i8);
    Ok(Some(Timestamp {
        secs: civil::to_unix(y, mo, d, h, mi, s) - offset * 15 * 60,
        nanos: (cs * 10_000_000) as u32,
    }))
}

/// A 17-byte date as Unix time ([`check_long`]); `None` when not specified or not a date.
pub fn decode_long(raw: &[u8]) -> Option<Timestamp> {
    check_long(raw).ok().flatten()
}

/// A 17-byte date moved to UTC, as the 16 digits `YYYYMMDDhhmmsscc` (what
/// `boot-info --as mkisofs` repeats, as xorriso's report does); `None` when unset or not a
/// date.
pub fn long_utc_digits(raw: &[u8]) -> Option<String> {
    let utc = encode_long(Some(decode_long(raw)?));
    Some(String::from_utf8_lossy(&utc[..16]).into_owned())
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

    #[test]
    fn impossible_dates_are_unset() {
        // Month 165 (2079 if counted on), day 0, hour 24, minute 60, second 60.
        let good = [123u8, 11, 15, 0, 13, 20, 0];
        assert_eq!(check_short(&good), Ok(Some(ts(1_700_007_200, 0))));
        for (at, v, why) in [
            (1, 165, "month 165"),
            (2, 0, "day 0"),
            (3, 24, "hour 24"),
            (4, 60, "minute 60"),
            (5, 60, "second 60"),
        ] {
            let mut b = good;
            b[at] = v;
            assert_eq!(check_short(&b), Err(Invalid(why.into())));
            assert_eq!(decode_short(&b), Timestamp::default());
        }
        assert_eq!(check_short(&[0, 0, 0, 0, 0, 0, 8]), Ok(None));
        assert_eq!(
            check_long(b"2023131500132000\0"),
            Err(Invalid("month 13".into()))
        );
        assert_eq!(
            decode_long(b"2023111500132000\0").map(|t| t.secs),
            Some(1_700_007_200)
        );
        assert_eq!(decode_long(b"2023111524132000\0"), None);
        assert_eq!(check_long(b"0000000000000000\0"), Ok(None));
        assert_eq!(check_long(&[0; 17]), Ok(None));
        assert_eq!(
            check_long(b"20231101000000xx\0"),
            Err(Invalid("not digits".into()))
        );
    }
}
