//! Directory records (ECMA-119 §9.1): decoding one record from a directory extent, walking the
//! records of an extent (zero padding to the next sector), the 7-byte recording date, the
//! both-endian numbers, and the mapping of plain ISO 9660 names (`FOO.TXT;1` → `FOO.TXT`).

use super::SECTOR;
use crate::error::{Error, Result};
use crate::fs::Timestamp;

/// (Bit 0, "existence", hides a file: such files are listed anyway, as Linux and xorriso do.)
/// The record describes a directory.
pub const DIRECTORY: u8 = 0x02;
/// An associated file (Macintosh resource fork and the like): not listed.
pub const ASSOCIATED: u8 = 0x04;
/// The file continues in the next record (multi-extent files, over 4 GiB).
pub const MULTI_EXTENT: u8 = 0x80;

/// Smallest possible record: 33 fixed bytes and a one-byte name.
const MIN_RECORD: usize = 34;

/// The little-endian half of a both-endian 32-bit number (ECMA-119 §7.3.3).
pub fn both_endian_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The little-endian half of a both-endian 16-bit number (ECMA-119 §7.2.3).
pub fn both_endian_u16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

/// Seconds since the Unix epoch of a civil date and time in UTC (any values: no panics,
/// out-of-range months and days just count on).
pub fn civil_to_unix(year: i64, month: i64, day: i64, hour: i64, min: i64, sec: i64) -> i64 {
    // Howard Hinnant's days_from_civil.
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hour * 3600 + min * 60 + sec
}

/// A 7-byte recording date (ECMA-119 §9.1.5): years since 1900, month, day, hour, minute,
/// second, offset from GMT in 15-minute units. All zeros means "not specified" (the epoch).
pub fn decode_short_date(b: &[u8]) -> Timestamp {
    if b.len() < 7 || b[..6].iter().all(|&x| x == 0) {
        return Timestamp::default();
    }
    let v = |i: usize| i64::from(b[i]);
    let offset = i64::from(b[6] as i8);
    Timestamp {
        secs: civil_to_unix(1900 + v(0), v(1), v(2), v(3), v(4), v(5)) - offset * 15 * 60,
        nanos: 0,
    }
}

/// One directory record, borrowed from the extent it was read from.
#[derive(Clone, Debug)]
pub struct Record<'a> {
    /// Byte offset of the record in the source.
    pub offset: u64,
    /// Sectors of extended attribute record before the data.
    pub ext_attr_len: u8,
    /// First logical block of the extent.
    pub extent: u32,
    /// Data length in bytes.
    pub size: u32,
    /// The 7-byte recording date.
    pub date: &'a [u8],
    pub flags: u8,
    /// Interleaving: file unit size and gap size, in blocks (0 and 0 when not interleaved).
    pub unit_size: u8,
    pub gap_size: u8,
    /// The file identifier as recorded (`\0` is `.`, `\x01` is `..`).
    pub name: &'a [u8],
    /// The system use area (SUSP entries), after the name and its padding byte.
    pub system_use: &'a [u8],
    /// Byte offset of the system use area in the source.
    pub system_use_offset: u64,
}

impl<'a> Record<'a> {
    /// Decodes the record at the start of `buf`, which lies at `offset` in the source named
    /// `image`. The record's own length must fit in `buf`.
    pub fn decode(buf: &'a [u8], offset: u64, image: &str) -> Result<Record<'a>> {
        let corrupt = |detail: String| Error::corrupt(image, "directory record", offset, detail);
        let len = usize::from(*buf.first().unwrap_or(&0));
        if len < MIN_RECORD {
            return Err(corrupt(format!(
                "record length {len} is below {MIN_RECORD}"
            )));
        }
        if len > buf.len() {
            return Err(corrupt(format!(
                "record length {len} passes the end of its directory ({} bytes left)",
                buf.len()
            )));
        }
        let rec = &buf[..len];
        let name_len = usize::from(rec[32]);
        if name_len == 0 || 33 + name_len > len {
            return Err(corrupt(format!(
                "name length {name_len} does not fit the record length {len}"
            )));
        }
        let su_start = (33 + name_len + 1) & !1;
        let su_start = su_start.min(len);
        Ok(Record {
            offset,
            ext_attr_len: rec[1],
            extent: both_endian_u32(&rec[2..10]),
            size: both_endian_u32(&rec[10..18]),
            date: &rec[18..25],
            flags: rec[25],
            unit_size: rec[26],
            gap_size: rec[27],
            name: &rec[33..33 + name_len],
            system_use: &rec[su_start..],
            system_use_offset: offset + su_start as u64,
        })
    }

    /// True for the `.` and `..` records.
    pub fn is_self_or_parent(&self) -> bool {
        self.name == [0] || self.name == [1]
    }

    /// True for directories.
    pub fn is_dir(&self) -> bool {
        self.flags & DIRECTORY != 0
    }

    /// Byte offset of the file's data (after its extended attribute record).
    pub fn data_offset(&self) -> u64 {
        (u64::from(self.extent) + u64::from(self.ext_attr_len)) * SECTOR
    }
}

/// The records of a directory extent held in `buf` (read from `offset`), in order, `.` and
/// `..` included. A zero length byte pads to the next sector.
pub fn records<'a>(
    buf: &'a [u8],
    offset: u64,
    image: &'a str,
) -> impl Iterator<Item = Result<Record<'a>>> + 'a {
    let mut pos = 0usize;
    let mut failed = false;
    std::iter::from_fn(move || loop {
        if failed || pos >= buf.len() {
            return None;
        }
        if buf[pos] == 0 {
            pos = (pos / SECTOR as usize + 1) * SECTOR as usize;
            continue;
        }
        let sector_end = ((pos / SECTOR as usize + 1) * SECTOR as usize).min(buf.len());
        let r = Record::decode(&buf[pos..sector_end], offset + pos as u64, image);
        match &r {
            Ok(_) => pos += usize::from(buf[pos]),
            Err(_) => failed = true,
        }
        return Some(r);
    })
}

/// A plain ISO 9660 name as shown: the `;1` version suffix removed, and the `.` that ends a
/// name without extension (`NOEXT.` → `NOEXT`). Case is kept as recorded (as isoinfo, xorriso
/// and bsdtar show it; the Linux kernel's default `map=normal` would lower-case it).
pub fn plain_name(raw: &[u8]) -> &[u8] {
    let mut name = raw;
    if let Some(semi) = name.iter().rposition(|&b| b == b';') {
        if name[semi + 1..].iter().all(u8::is_ascii_digit) {
            name = &name[..semi];
        }
    }
    if name.len() > 1 && name.ends_with(b".") {
        name = &name[..name.len() - 1];
    }
    name
}
