//! The UDF timestamp (ECMA-167 1/7.3): a local date and time with its offset from UTC in
//! minutes (or none recorded), 12 bytes, decoded to Unix time and encoded from it (in UTC,
//! type 1, as mkudffs writes).

use super::civil::{self, Civil};
use super::endian::{le16, put_le16};
use crate::fs::Timestamp;

/// Decodes the 12-byte timestamp at the start of `b`. An all-zero field (no time recorded),
/// or a short one, gives the epoch; the time zone, when recorded, is subtracted to give UTC.
pub fn decode(b: &[u8]) -> Timestamp {
    let (Some(type_tz), Some(year)) = (le16(b, 0), le16(b, 2)) else {
        return Timestamp::default();
    };
    if b.len() < 12 || b[..12].iter().all(|&x| x == 0) {
        return Timestamp::default();
    }
    let year = i64::from(year as i16);
    let (month, day) = (i64::from(b[4].clamp(1, 12)), i64::from(b[5].clamp(1, 31)));
    let (hour, minute, second) = (i64::from(b[6]), i64::from(b[7]), i64::from(b[8]));
    let (centis, hundreds_us, us) = (u32::from(b[9]), u32::from(b[10]), u32::from(b[11]));
    // Bits 0-11: signed offset from UTC in minutes, -2047 when none is recorded (type 1 only).
    let raw = i64::from(type_tz & 0x0fff);
    let offset = if raw >= 0x800 { raw - 0x1000 } else { raw };
    let offset = if type_tz >> 12 == 1 && (-1440..=1440).contains(&offset) {
        offset
    } else {
        0
    };
    let secs = civil::to_unix(year, month, day, hour, minute, second) - offset * 60;
    let nanos = (centis * 10_000_000 + hundreds_us * 100_000 + us * 1000).min(999_999_999);
    Timestamp { secs, nanos }
}

/// The 12-byte timestamp of `t`: type 1 (local time) with a zero offset, so the local time
/// is UTC; microsecond precision. Years outside the field's -32768..=32767 are clamped.
pub fn encode(t: Timestamp) -> [u8; 12] {
    let first = civil::to_unix(-32768, 1, 1, 0, 0, 0);
    let last = civil::to_unix(32767, 12, 31, 23, 59, 59);
    let c = Civil::from_unix(t.secs.clamp(first, last));
    let us = t.nanos.min(999_999_999) / 1000;
    let mut b = [0u8; 12];
    put_le16(&mut b, 0, 1 << 12);
    put_le16(&mut b, 2, c.year as i16 as u16);
    b[4..9].copy_from_slice(&[
        c.month as u8,
        c.day as u8,
        c.hour as u8,
        c.minute as u8,
        c.second as u8,
    ]);
    b[9] = (us / 10_000) as u8;
    b[10] = (us / 100 % 100) as u8;
    b[11] = (us % 100) as u8;
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_is_subtracted() {
        // 2009-07-14 05:00 at UTC+02:00.
        let mut b = [0u8; 12];
        put_le16(&mut b, 0, (1 << 12) | 120);
        put_le16(&mut b, 2, 2009);
        b[4..9].copy_from_slice(&[7, 14, 5, 0, 0]);
        let t = decode(&b);
        assert_eq!(
            t.secs,
            civil::days_from_civil(2009, 7, 14) * 86400 + 3 * 3600
        );
        assert_eq!(decode(&[0; 12]), Timestamp::default());
        assert_eq!(decode(&b[..6]), Timestamp::default());
    }

    #[test]
    fn round_trips() {
        for t in [
            Timestamp {
                secs: 0,
                nanos: 1000,
            },
            Timestamp {
                secs: 1_700_000_000,
                nanos: 123_456_000,
            },
            Timestamp {
                secs: -86_400 * 365 * 100,
                nanos: 999_999_000,
            },
        ] {
            assert_eq!(decode(&encode(t)), t);
        }
    }
}
