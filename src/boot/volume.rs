//! The few fields of the primary volume descriptor (block 16) the boot layout needs: the
//! volume space size (where the ISO ends), the volume id and the modification date (which
//! `boot-info --as mkisofs` repeats, as xorriso's report does).

use crate::error::Result;
use crate::source::Source;

use super::eltorito::BLOCK;
use super::le32;

/// The primary volume descriptor, as far as the boot layout cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    /// The volume space size, in blocks.
    pub blocks: u32,
    /// The volume id, trailing spaces removed.
    pub id: String,
    /// The modification date as UTC digits `YYYYMMDDhhmmsscc`, when it is set and valid.
    pub modified_utc: Option<String>,
}

/// Reads the primary volume descriptor at block 16, if there is one.
pub fn read(src: &dyn Source) -> Result<Option<Volume>> {
    let mut pvd = [0u8; 848];
    if src.read_at(16 * BLOCK, &mut pvd)? < pvd.len() || &pvd[..6] != b"\x01CD001" {
        return Ok(None);
    }
    let id = String::from_utf8_lossy(&pvd[40..72]).trim_end().to_string();
    Ok(Some(Volume {
        blocks: le32(&pvd, 80),
        id,
        modified_utc: utc_digits(&pvd[830..847]),
    }))
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count from 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// A 17-byte ECMA-119 date (16 digits and an offset from UTC in 15-minute units) as UTC
/// digits; `None` when unset (all zeros) or not digits.
fn utc_digits(date: &[u8]) -> Option<String> {
    let digits = std::str::from_utf8(&date[..16]).ok()?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.bytes().all(|b| b == b'0') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits[r].parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s, cs) = (num(8..10)?, num(10..12)?, num(12..14)?, num(14..16)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let offset = i64::from(date[16] as i8) * 15 * 60;
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    Some(format!(
        "{y:04}{mo:02}{d:02}{:02}{:02}{:02}{cs:02}",
        t / 3600,
        t / 60 % 60,
        t % 60
    ))
}

#[cfg(test)]
mod tests {
    use super::utc_digits;

    #[test]
    fn dates_are_moved_to_utc() {
        let mut d = *b"2023111500132000\0";
        d[16] = 8; // +02:00
        assert_eq!(utc_digits(&d).as_deref(), Some("2023111422132000"));
        assert_eq!(utc_digits(&[b'0'; 17]), None);
    }
}
