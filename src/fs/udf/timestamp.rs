//! The UDF timestamp (ECMA-167 1/7.3): a local date and time with its offset from UTC in
//! minutes (or none recorded), converted to Unix time.

use crate::fs::Timestamp;

use super::tag::le16;

/// Days from 1970-01-01 to the given proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Decodes the 12-byte timestamp at the start of `b`. An all-zero field (no time recorded)
/// gives the epoch; the time zone, when recorded, is subtracted to give UTC.
pub fn decode(b: &[u8]) -> Timestamp {
    if b.len() < 12 || b[..12].iter().all(|&x| x == 0) {
        return Timestamp::default();
    }
    let type_tz = le16(b, 0);
    let year = i64::from(le16(b, 2) as i16);
    let (month, day) = (u32::from(b[4]).clamp(1, 12), u32::from(b[5]).clamp(1, 31));
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
    let secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
        - offset * 60;
    let nanos = (centis * 10_000_000 + hundreds_us * 100_000 + us * 1000).min(999_999_999);
    Timestamp { secs, nanos }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_is_subtracted() {
        // 2009-07-14 05:00:00 at UTC+2 (type 1, offset 120 minutes) is 03:00:00 UTC.
        let mut b = [0u8; 12];
        b[..2].copy_from_slice(&(0x1000u16 | 120).to_le_bytes());
        b[2..4].copy_from_slice(&2009u16.to_le_bytes());
        b[4..9].copy_from_slice(&[7, 14, 5, 0, 0]);
        let t = decode(&b);
        assert_eq!(t.secs, days_from_civil(2009, 7, 14) * 86400 + 3 * 3600);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
    }
}
