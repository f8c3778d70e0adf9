//! The proleptic Gregorian calendar in UTC, to and from Unix time (Howard Hinnant's
//! `days_from_civil` and `civil_from_days`). Every date field on disc (ECMA-119, UDF, FAT) and
//! every date isofish prints goes through here.

/// A UTC calendar date and time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Days from 1970-01-01 to a civil date. Any values are taken without panicking: a month or day
/// past its range counts on into the next (month 13 is January of the next year).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date `(year, month, day)` of a day count from 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Seconds since the epoch of a civil date and time in UTC (any values, as
/// [`days_from_civil`]).
pub fn to_unix(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64) -> i64 {
    days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
}

impl Civil {
    /// The UTC date and time of `secs` since the epoch.
    pub fn from_unix(secs: i64) -> Civil {
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let rem = secs.rem_euclid(86_400) as u32;
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
        }
    }

    /// Seconds since the epoch.
    pub fn to_unix(&self) -> i64 {
        to_unix(
            self.year,
            i64::from(self.month),
            i64::from(self.day),
            i64::from(self.hour),
            i64::from(self.minute),
            i64::from(self.second),
        )
    }

    /// The day of the week, 0 for Sunday.
    pub fn weekday(&self) -> u32 {
        // 1970-01-01 was a Thursday.
        (days_from_civil(self.year, i64::from(self.month), i64::from(self.day)) + 4).rem_euclid(7)
            as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        // Month 13 is January of the next year.
        assert_eq!(days_from_civil(2023, 13, 1), days_from_civil(2024, 1, 1));
        assert_eq!(Civil::from_unix(0).weekday(), 4);
    }

    #[test]
    fn round_trips_across_eras() {
        for secs in [
            i64::from(i32::MIN) * 10,
            -1,
            0,
            951_782_400, // 2000-02-29
            4_102_444_799,
            253_402_300_799, // 9999-12-31 23:59:59
        ] {
            let c = Civil::from_unix(secs);
            assert_eq!(c.to_unix(), secs, "{c:?}");
            assert!((1..=12).contains(&c.month) && (1..=31).contains(&c.day));
        }
        let leap = Civil::from_unix(951_782_400);
        assert_eq!((leap.year, leap.month, leap.day), (2000, 2, 29));
    }
}
