//! The GUID partition table: the header (primary at sector 1, backup where the primary says,
//! else in the last sector), its CRC32s, and the entry array with type GUIDs and UTF-16 names.
//! A header or array whose CRC does not match is decoded and reported, never trusted.

use crate::error::Result;
use crate::source::Source;

use super::{le32, le64};

const SECTOR: u64 = 512;
/// The largest entry array read (the usual one is 16 KiB).
const MAX_ARRAY_BYTES: u64 = 1 << 20;

/// A GUID as stored (mixed-endian); displays as `C12A7328-F81F-11D2-BA4B-00A0C93EC93B`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Guid(pub [u8; 16]);

impl std::fmt::Display for Guid {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-",
            le32(b, 0),
            u16::from_le_bytes([b[4], b[5]]),
            u16::from_le_bytes([b[6], b[7]]),
            b[8],
            b[9]
        )?;
        b[10..].iter().try_for_each(|x| write!(f, "{x:02X}"))
    }
}

impl Guid {
    /// The common name of a partition type GUID.
    pub fn type_name(&self) -> Option<&'static str> {
        Some(match self.to_string().as_str() {
            "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" => "EFI System",
            "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" => "Microsoft basic data",
            "48465300-0000-11AA-AA11-00306543ECAC" => "Apple HFS/HFS+",
            "0FC63DAF-8483-4772-8E79-3D69D8477DE4" => "Linux filesystem",
            "21686148-6449-6E6F-744E-656564454649" => "BIOS boot",
            "9E1A2D38-C612-4316-AA26-8B49521E5A8B" => "PowerPC PReP boot",
            _ => return None,
        })
    }
}

/// One used entry of the array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GptEntry {
    /// 1-based index in the array.
    pub number: usize,
    pub type_guid: Guid,
    pub guid: Guid,
    /// In 512-byte sectors, inclusive.
    pub first: u64,
    pub last: u64,
    pub attributes: u64,
    pub name: String,
}

impl GptEntry {
    /// The number of sectors the entry covers (0 when it is backwards).
    pub fn sectors(&self) -> u64 {
        (self.last + 1).saturating_sub(self.first)
    }
}

/// One GPT header and its entry array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gpt {
    /// The sector the header was read from.
    pub header_sector: u64,
    pub revision: u32,
    pub header_size: u32,
    pub header_crc_ok: bool,
    pub backup: u64,
    pub first_usable: u64,
    pub last_usable: u64,
    pub disk_guid: Guid,
    pub array_sector: u64,
    pub array_entries: u32,
    pub entry_size: u32,
    /// `None` when the array could not be read (past the end, absurd sizes).
    pub array_crc_ok: Option<bool>,
    pub entries: Vec<GptEntry>,
    /// What is wrong with it.
    pub problems: Vec<String>,
}

impl Gpt {
    /// True when both CRCs match.
    pub fn valid(&self) -> bool {
        self.header_crc_ok && self.array_crc_ok == Some(true)
    }
}

/// Reads the GPT header at `sector`, if it has the `EFI PART` signature.
pub fn read_at(src: &dyn Source, sector: u64) -> Result<Option<Gpt>> {
    let mut h = [0u8; 512];
    let Some(offset) = sector.checked_mul(SECTOR) else {
        return Ok(None);
    };
    if src.read_at(offset, &mut h)? < h.len() || &h[..8] != b"EFI PART" {
        return Ok(None);
    }
    let mut problems = Vec::new();
    let header_size = le32(&h, 12);
    let header_crc_ok = if (92..=512).contains(&header_size) {
        let mut copy = h;
        copy[16..20].fill(0);
        crate::ondisk::crc::gpt32(&copy[..header_size as usize]) == le32(&h, 16)
    } else {
        problems.push(format!("header size {header_size} is not within 92..512"));
        false
    };
    if !header_crc_ok {
        problems.push("header CRC32 does not match".into());
    }
    if le64(&h, 24) != sector {
        problems.push(format!("the header says it is at sector {}", le64(&h, 24)));
    }
    let mut gpt = Gpt {
        header_sector: sector,
        revision: le32(&h, 8),
        header_size,
        header_crc_ok,
        backup: le64(&h, 32),
        first_usable: le64(&h, 40),
        last_usable: le64(&h, 48),
        disk_guid: Guid(h[56..72].try_into().expect("16 bytes")),
        array_sector: le64(&h, 72),
        array_entries: le32(&h, 80),
        entry_size: le32(&h, 84),
        array_crc_ok: None,
        entries: Vec::new(),
        problems,
    };
    let size = u64::from(gpt.array_entries) * u64::from(gpt.entry_size);
    let start = gpt.array_sector.checked_mul(SECTOR);
    if gpt.entry_size < 128 || !gpt.entry_size.is_multiple_of(8) || gpt.entry_size > 4096 {
        gpt.problems
            .push(format!("entry size {} is not usable", gpt.entry_size));
    } else if size > MAX_ARRAY_BYTES {
        gpt.problems
            .push(format!("entry array of {size} bytes is too large"));
    } else if start.is_none_or(|s| s.saturating_add(size) > src.len()) {
        gpt.problems.push(format!(
            "entry array at sector {} passes the end of the image",
            gpt.array_sector
        ));
    } else if let Some(start) = start {
        let array = src.read_vec(start, size as usize, "GPT entry array")?;
        let ok = crate::ondisk::crc::gpt32(&array) == le32(&h, 88);
        if !ok {
            gpt.problems.push("entry array CRC32 does not match".into());
        }
        gpt.array_crc_ok = Some(ok);
        gpt.entries = array
            .chunks(gpt.entry_size as usize)
            .enumerate()
            .filter(|(_, e)| e[..16].iter().any(|&b| b != 0))
            .map(|(i, e)| decode_entry(i + 1, e))
            .collect();
    }
    Ok(Some(gpt))
}

fn decode_entry(number: usize, e: &[u8]) -> GptEntry {
    let units: Vec<u16> = e[56..128]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    GptEntry {
        number,
        type_guid: Guid(e[..16].try_into().expect("16 bytes")),
        guid: Guid(e[16..32].try_into().expect("16 bytes")),
        first: le64(e, 32),
        last: le64(e, 40),
        attributes: le64(e, 48),
        name: String::from_utf16_lossy(&units),
    }
}

/// The primary GPT (sector 1) and the backup (where the primary points, else the last sector).
pub fn read(src: &dyn Source) -> Result<(Option<Gpt>, Option<Gpt>)> {
    let primary = read_at(src, 1)?;
    let last = (src.len() / SECTOR).saturating_sub(1);
    let backup_sector = primary
        .as_ref()
        .map(|p| p.backup)
        .filter(|&b| b > 1 && b <= last)
        .unwrap_or(last);
    let backup = if backup_sector > 1 {
        read_at(src, backup_sector)?
    } else {
        None
    };
    Ok((primary, backup))
}
