//! Volume descriptors (ECMA-119 §8): the set from sector 16 to the terminator. Decodes the
//! primary descriptor, supplementary descriptors (Joliet by their UCS-2 escape sequences), the
//! enhanced descriptor of ISO 9660:1999 (a supplementary descriptor of version 2), boot records
//! and the terminator, with their identifiers and 17-byte dates.

use super::{joliet, record::both_endian_u16, record::both_endian_u32, SECTOR};
use crate::error::{Error, Result};
use crate::fs::Timestamp;
use crate::source::Source;

/// Sectors read at most looking for the terminator (as Linux).
const MAX_DESCRIPTORS: u64 = 100;

/// What a volume descriptor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Type 0: a boot record (El Torito's `EL TORITO SPECIFICATION`).
    Boot,
    /// Type 1: the primary volume descriptor.
    Primary,
    /// Type 2, version 1, with a UCS-2 escape sequence: Joliet of the given level (1-3).
    Joliet(u8),
    /// Type 2, version 2: the enhanced volume descriptor of ISO 9660:1999.
    Enhanced,
    /// Type 2 with no escape sequence isofish knows.
    Supplementary,
    /// Type 3: a volume partition descriptor.
    Partition,
}

/// One decoded volume descriptor. Fields a kind does not have are empty.
#[derive(Clone, Debug)]
pub struct Descriptor {
    /// Byte offset of the descriptor in the source.
    pub offset: u64,
    pub kind: Kind,
    pub system_id: String,
    pub volume_id: String,
    pub volume_space_size: u32,
    pub volume_set_size: u16,
    pub volume_sequence_number: u16,
    pub logical_block_size: u16,
    /// The 34-byte directory record of the root directory.
    pub root_record: Vec<u8>,
    pub volume_set_id: String,
    pub publisher_id: String,
    pub preparer_id: String,
    pub application_id: String,
    pub copyright_file_id: String,
    pub abstract_file_id: String,
    pub bibliographic_file_id: String,
    pub created: Option<LongDate>,
    pub modified: Option<LongDate>,
    pub expires: Option<LongDate>,
    pub effective: Option<LongDate>,
    /// For a boot record: its boot system identifier.
    pub boot_system_id: String,
}

/// A field of d-characters or a1-characters (or UCS-2 for Joliet), with its padding trimmed.
fn text(raw: &[u8], ucs2: bool) -> String {
    let s = if ucs2 {
        joliet::decode(raw)
    } else {
        String::from_utf8_lossy(raw).into_owned()
    };
    s.trim_end_matches([' ', '\0']).to_string()
}

/// A 17-byte date and time (ECMA-119 §8.4.26.1): `YYYYMMDDHHMMSScc` in digits and the offset
/// from GMT in 15-minute units. All zeros (or digits of zero) means "not specified".
pub fn decode_long_date(raw: &[u8]) -> Option<Timestamp> {
    let digits = raw.get(..16)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        digits[r]
            .iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'))
    };
    let year = num(0..4);
    if year == 0 {
        return None;
    }
    let offset = i64::from(*raw.get(16)? as i8);
    let secs = super::record::civil_to_unix(
        year,
        num(4..6),
        num(6..8),
        num(8..10),
        num(10..12),
        num(12..14),
    ) - offset * 15 * 60;
    Some(Timestamp {
        secs,
        nanos: (num(14..16) * 10_000_000) as u32,
    })
}

/// A volume date as recorded: its 16 digits and its offset from GMT, shown as they are (as
/// `isoinfo -d` and `xorriso -pvd_info` show them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LongDate {
    digits: String,
    gmt_offset: i8,
}

impl LongDate {
    /// A 17-byte date; `None` when not specified (zeros) or not digits.
    fn decode(raw: &[u8]) -> Option<LongDate> {
        decode_long_date(raw)?;
        Some(LongDate {
            digits: String::from_utf8_lossy(&raw[..16]).into_owned(),
            gmt_offset: raw[16] as i8,
        })
    }
}

impl std::fmt::Display for LongDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = &self.digits;
        let minutes = i32::from(self.gmt_offset) * 15;
        write!(
            f,
            "{}-{}-{} {}:{}:{}.{} GMT{}{:02}:{:02}",
            &d[0..4],
            &d[4..6],
            &d[6..8],
            &d[8..10],
            &d[10..12],
            &d[12..14],
            &d[14..16],
            if minutes < 0 { '-' } else { '+' },
            minutes.abs() / 60,
            minutes.abs() % 60
        )
    }
}

fn decode(sector: &[u8], offset: u64) -> Option<Descriptor> {
    let kind = match sector[0] {
        0 => Kind::Boot,
        1 => Kind::Primary,
        2 if sector[6] == 2 => Kind::Enhanced,
        2 => match joliet::level(&sector[88..120]) {
            Some(level) => Kind::Joliet(level),
            None => Kind::Supplementary,
        },
        3 => Kind::Partition,
        _ => return None,
    };
    let ucs2 = matches!(kind, Kind::Joliet(_));
    let with_fields = matches!(
        kind,
        Kind::Primary | Kind::Joliet(_) | Kind::Enhanced | Kind::Supplementary
    );
    let mut d = Descriptor {
        offset,
        kind,
        system_id: text(&sector[8..40], ucs2),
        volume_id: String::new(),
        volume_space_size: 0,
        volume_set_size: 0,
        volume_sequence_number: 0,
        logical_block_size: 0,
        root_record: Vec::new(),
        volume_set_id: String::new(),
        publisher_id: String::new(),
        preparer_id: String::new(),
        application_id: String::new(),
        copyright_file_id: String::new(),
        abstract_file_id: String::new(),
        bibliographic_file_id: String::new(),
        created: None,
        modified: None,
        expires: None,
        effective: None,
        boot_system_id: String::new(),
    };
    if kind == Kind::Boot {
        d.boot_system_id = text(&sector[7..39], false);
    }
    if with_fields {
        d.volume_id = text(&sector[40..72], ucs2);
        d.volume_space_size = both_endian_u32(&sector[80..88]);
        d.volume_set_size = both_endian_u16(&sector[120..124]);
        d.volume_sequence_number = both_endian_u16(&sector[124..128]);
        d.logical_block_size = both_endian_u16(&sector[128..132]);
        d.root_record = sector[156..190].to_vec();
        d.volume_set_id = text(&sector[190..318], ucs2);
        d.publisher_id = text(&sector[318..446], ucs2);
        d.preparer_id = text(&sector[446..574], ucs2);
        d.application_id = text(&sector[574..702], ucs2);
        d.copyright_file_id = text(&sector[702..739], ucs2);
        d.abstract_file_id = text(&sector[739..776], ucs2);
        d.bibliographic_file_id = text(&sector[776..813], ucs2);
        d.created = LongDate::decode(&sector[813..830]);
        d.modified = LongDate::decode(&sector[830..847]);
        d.expires = LongDate::decode(&sector[847..864]);
        d.effective = LongDate::decode(&sector[864..881]);
    }
    Some(d)
}

/// Reads the volume descriptor set from sector 16 of `src` to its terminator. Like Linux, it
/// skips sectors that are not descriptors and gives up after 100 sectors (or at the end of
/// the image) when there is no terminator. Fails when there is no primary descriptor.
pub fn read_set(src: &dyn Source) -> Result<Vec<Descriptor>> {
    let mut out = Vec::new();
    for index in 16..16 + MAX_DESCRIPTORS {
        let offset = index * SECTOR;
        if offset + SECTOR > src.len() && !out.is_empty() {
            break;
        }
        let sector = src.read_vec(offset, SECTOR as usize, "volume descriptor")?;
        if &sector[1..6] != b"CD001" {
            continue;
        }
        if sector[0] == 255 {
            break;
        }
        if let Some(d) = decode(&sector, offset) {
            out.push(d);
        }
    }
    let Some(primary) = out.iter().find(|d| d.kind == Kind::Primary) else {
        return Err(Error::corrupt(
            src.name(),
            "volume descriptor",
            16 * SECTOR,
            "no primary volume descriptor",
        ));
    };
    if u64::from(primary.logical_block_size) != SECTOR {
        return Err(Error::unsupported(
            src.name(),
            format!(
                "logical block size {} (only 2048 is read)",
                primary.logical_block_size
            ),
        ));
    }
    Ok(out)
}
