//! FAT directory entry dates (Microsoft's FAT specification, "Date and Time Formats"): a
//! 16-bit date (years since 1980, month, day), a 16-bit time (hour, minute, two-second
//! units) and, for creation times, a count of 10 ms units (0..=199). FAT records local time
//! with no zone; isofish reads and writes it as UTC, as Linux does with `tz=UTC`.

use super::civil::{self, Civil};
use crate::fs::Timestamp;

/// The time of a date, a time and a 10 ms count as FAT stores them. Zero and out-of-range
/// fields are taken as they are (month 0 counts back), without panicking.
pub fn decode(date: u16, time: u16, tens_of_ms: u8) -> Timestamp {
    let year = 1980 + i64::from(date >> 9);
    let (month, day) = (i64::from(date >> 5 & 0xf), i64::from(date & 0x1f));
    let (hour, minute) = (i64::from(time >> 11), i64::from(time >> 5 & 0x3f));
    let second = i64::from(time & 0x1f) * 2 + i64::from(tens_of_ms / 100);
    Timestamp {
        secs: civil::to_unix(year, month, day, hour, minute, second),
        nanos: u32::from(tens_of_ms % 100) * 10_000_000,
    }
}

/// The time of the broken-down fields fatfs gives (year, month, day, hour, minute, second,
/// milliseconds).
pub fn from_fields(ymd: (u16, u16, u16), hms: (u16, u16, u16), millis: u16) -> Timestamp {
    Timestamp {
        secs: civil::to_unix(
            i64::from(ymd.0),
            i64::from(ymd.1),
            i64::from(ymd.2),
            i64::from(hms.0),
            i64::from(hms.1),
            i64::from(hms.2),
        ),
        nanos: u32::from(millis) * 1_000_000,
    }
}

/// `t` as FAT's date, time and 10 ms count; times before 1980 and after 2107, which FAT cannot
/// hold, are clamped to its first and last two seconds.
pub fn encode(t: Timestamp) -> (u16, u16, u8) {
    let first = civil::to_unix(1980, 1, 1, 0, 0, 0);
    let last = civil::to_unix(2107, 12, 31, 23, 59, 59);
    let secs = t.secs.clamp(first, last);
    let c = Civil::from_unix(secs);
    let date = ((c.year - 1980) as u16) << 9 | (c.month as u16) << 5 | c.day as u16;
    let time = (c.hour as u16) << 11 | (c.minute as u16) << 5 | (c.second / 2) as u16;
    let nanos = if secs == t.secs { t.nanos } else { 0 };
    let tens = (c.second % 2) * 100 + nanos.min(999_999_999) / 10_000_000;
    (date, time, tens as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_at_ten_milliseconds() {
        for t in [
            Timestamp {
                secs: civil::to_unix(1980, 1, 1, 0, 0, 0),
                nanos: 0,
            },
            Timestamp {
                secs: 1_700_000_001,
                nanos: 990_000_000,
            },
            Timestamp {
                secs: civil::to_unix(2107, 12, 31, 23, 59, 59),
                nanos: 0,
            },
        ] {
            let (d, tm, tens) = encode(t);
            assert_eq!(decode(d, tm, tens), t);
        }
    }

    #[test]
    fn known_fields() {
        // 2009-07-14 12:34:56, as mkfs.fat writes it.
        let (d, t, tens) = encode(Timestamp {
            secs: civil::to_unix(2009, 7, 14, 12, 34, 56),
            nanos: 0,
        });
        assert_eq!((d, t, tens), (0x3aee, 0x645c, 0));
        assert_eq!(
            from_fields((2009, 7, 14), (12, 34, 56), 0),
            decode(d, t, tens)
        );
    }
}
