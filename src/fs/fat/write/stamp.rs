//! The time fatfs stamps on what the writer makes. fatfs asks its time provider for "now"
//! when it creates an entry and when it writes to a file; the writer sets that time to the
//! staged modification time of the object first, so a new or changed file carries its staged
//! time (FAT local time taken as UTC, as the reader shows it) and the rebuilt image does not
//! depend on the host's clock.

use std::cell::Cell;

use fatfs::{Date, DateTime, Time, TimeProvider};

use crate::fs::Timestamp;
use crate::ondisk::fat_date;

const FIRST: DateTime = DateTime {
    date: Date {
        year: 1980,
        month: 1,
        day: 1,
    },
    time: Time {
        hour: 0,
        min: 0,
        sec: 0,
        millis: 0,
    },
};

thread_local! {
    /// What the provider answers on this thread.
    static NOW: Cell<DateTime> = const { Cell::new(FIRST) };
}

/// The provider the writer gives fatfs: the time last [`set`] on this thread.
#[derive(Debug)]
pub(super) struct Staged;

/// The one provider (fatfs keeps a `'static` reference).
pub(super) static STAGED: Staged = Staged;

impl TimeProvider for Staged {
    fn get_current_date(&self) -> Date {
        NOW.with(Cell::get).date
    }
    fn get_current_date_time(&self) -> DateTime {
        NOW.with(Cell::get)
    }
}

/// Makes `t` the time fatfs stamps next on this thread.
pub(super) fn set(t: Timestamp) {
    NOW.with(|now| now.set(fat_time(t)));
}

/// `t` as fatfs's broken-down FAT time (clamped to the years FAT holds).
fn fat_time(t: Timestamp) -> DateTime {
    let (date, time, tens) = fat_date::encode(t);
    DateTime {
        date: Date {
            year: 1980 + (date >> 9),
            month: date >> 5 & 0xf,
            day: date & 0x1f,
        },
        time: Time {
            hour: time >> 11,
            min: time >> 5 & 0x3f,
            sec: (time & 0x1f) * 2 + u16::from(tens) / 100,
            millis: u16::from(tens) % 100 * 10,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_staged_time_reads_back_as_the_reader_shows_it() {
        let t = Timestamp {
            secs: 1_700_000_001,
            nanos: 0,
        };
        let d = fat_time(t);
        let back = fat_date::from_fields(
            (d.date.year, d.date.month, d.date.day),
            (d.time.hour, d.time.min, d.time.sec),
            d.time.millis,
        );
        assert_eq!(back, t);
    }
}
