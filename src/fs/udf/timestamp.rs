//! The UDF timestamp (ECMA-167 1/7.3) as a descriptor records it: 12 bytes, kept as they are
//! (type, time zone and sub-second fields included) so a descriptor re-encodes exactly; the
//! time they name comes from [`crate::ondisk::udf_date`].

use crate::error::Result;
use crate::fs::Timestamp;
use crate::ondisk::{udf_date, Fields};

use super::field::array;

/// A recorded UDF timestamp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UdfTime(pub [u8; 12]);

impl UdfTime {
    /// The timestamp at `at` of a descriptor.
    pub fn read(f: &Fields, at: usize) -> Result<Self> {
        Ok(UdfTime(array(f, at)?))
    }

    /// `t` as a timestamp in UTC (type 1, offset 0).
    pub fn of(t: Timestamp) -> Self {
        UdfTime(udf_date::encode(t))
    }

    /// The time recorded, in UTC (the epoch when none is).
    pub fn time(&self) -> Timestamp {
        udf_date::decode(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_recorded_bytes_and_reads_their_time() {
        let t = Timestamp {
            secs: 1_700_000_000,
            nanos: 123_456_000,
        };
        let u = UdfTime::of(t);
        assert_eq!(u.time(), t);
        assert_eq!(u.0, udf_date::encode(t));
    }
}
