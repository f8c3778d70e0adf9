//! The GUID partition table: the header (primary at sector 1, backup where the primary says,
//! else in the last sector), its CRC32s, and the entry array with type GUIDs and UTF-16 names.
//! A header or array whose CRC does not match is decoded and reported, never trusted.
//! [`Gpt::encode_header`] and [`Gpt::encode_array`] write them back with both CRCs computed;
//! [`Gpt::backup`] is the backup header of a primary one.

use crate::error::{Error, Result};
use crate::ondisk::crc::gpt32;
use crate::ondisk::endian::{le16, le32, put_le32, put_le64};
use crate::ondisk::Fields;
use crate::source::Source;

const SECTOR: u64 = 512;
/// The largest entry array read (the usual one is 16 KiB).
const MAX_ARRAY_BYTES: u64 = 1 << 20;
const SIGNATURE: &[u8; 8] = b"EFI PART";
/// The header fields' size; the rest of the header (up to its size) is [`Gpt::header_rest`],
/// the rest of the sector zeros.
const HEADER_FIELDS: usize = 92;
/// The fields of an entry; a larger entry size leaves the rest to [`GptEntry::rest`].
const ENTRY_FIELDS: usize = 128;
/// UTF-16 code units of an entry name.
pub const NAME_UNITS: usize = 36;

/// A GUID as stored (mixed-endian); displays as `C12A7328-F81F-11D2-BA4B-00A0C93EC93B`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Guid(pub [u8; 16]);

impl std::fmt::Display for Guid {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-",
            le32(b, 0).unwrap_or_default(),
            le16(b, 4).unwrap_or_default(),
            le16(b, 6).unwrap_or_default(),
            b[8],
            b[9]
        )?;
        b[10..].iter().try_for_each(|x| write!(f, "{x:02X}"))
    }
}

impl Guid {
    fn decode(f: &Fields, at: usize) -> Result<Guid> {
        let mut g = [0u8; 16];
        g.copy_from_slice(f.slice(at, 16)?);
        Ok(Guid(g))
    }

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

/// One used entry of the array (its type GUID is not zero).
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
    /// The name's UTF-16 code units as stored, NUL padding included.
    pub name_units: [u16; NAME_UNITS],
    /// The bytes past the 128 the specification defines, when the entry size is larger.
    pub rest: Vec<u8>,
}

impl GptEntry {
    /// The number of sectors the entry covers (0 when it is backwards).
    pub fn sectors(&self) -> u64 {
        (self.last + 1).saturating_sub(self.first)
    }

    /// The name, up to its first NUL.
    pub fn name(&self) -> String {
        let end = self
            .name_units
            .iter()
            .position(|&u| u == 0)
            .unwrap_or(NAME_UNITS);
        String::from_utf16_lossy(&self.name_units[..end])
    }

    fn decode(number: usize, f: &Fields) -> Result<GptEntry> {
        let mut name_units = [0u16; NAME_UNITS];
        for (i, u) in name_units.iter_mut().enumerate() {
            *u = f.le16(56 + 2 * i)?;
        }
        Ok(GptEntry {
            number,
            type_guid: Guid::decode(f, 0)?,
            guid: Guid::decode(f, 16)?,
            first: f.le64(32)?,
            last: f.le64(40)?,
            attributes: f.le64(48)?,
            name_units,
            rest: f.bytes.get(ENTRY_FIELDS..).unwrap_or_default().to_vec(),
        })
    }

    /// The entry's bytes, `size` of them (the fields, then [`GptEntry::rest`], then zeros).
    fn encode(&self, size: usize) -> Vec<u8> {
        let mut e = vec![0u8; size.max(ENTRY_FIELDS)];
        e[..16].copy_from_slice(&self.type_guid.0);
        e[16..32].copy_from_slice(&self.guid.0);
        put_le64(&mut e, 32, self.first);
        put_le64(&mut e, 40, self.last);
        put_le64(&mut e, 48, self.attributes);
        for (i, &u) in self.name_units.iter().enumerate() {
            e[56 + 2 * i..58 + 2 * i].copy_from_slice(&u.to_le_bytes());
        }
        let rest = self.rest.len().min(e.len() - ENTRY_FIELDS);
        e[ENTRY_FIELDS..ENTRY_FIELDS + rest].copy_from_slice(&self.rest[..rest]);
        e.truncate(size);
        e
    }
}

/// One GPT header and its entry array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gpt {
    /// The sector the header was read from.
    pub header_sector: u64,
    pub revision: u32,
    pub header_size: u32,
    /// The header CRC32 as stored.
    pub header_crc: u32,
    pub header_crc_ok: bool,
    /// The four bytes after the header CRC (zero).
    pub reserved: u32,
    /// The sector the header says it is at (`header_sector` unless it lies).
    pub current: u64,
    /// The sector of the other header.
    pub backup: u64,
    pub first_usable: u64,
    pub last_usable: u64,
    pub disk_guid: Guid,
    pub array_sector: u64,
    pub array_entries: u32,
    pub entry_size: u32,
    /// The entry array CRC32 as stored.
    pub array_crc: u32,
    /// The header's bytes past its 92 bytes of fields, when its size says more (zeros).
    pub header_rest: Vec<u8>,
    /// `None` when the array could not be read (past the end, absurd sizes).
    pub array_crc_ok: Option<bool>,
    /// The used entries; the others are written back as zeros.
    pub entries: Vec<GptEntry>,
    /// What is wrong with it.
    pub problems: Vec<String>,
}

impl Gpt {
    /// True when both CRCs match.
    pub fn valid(&self) -> bool {
        self.header_crc_ok && self.array_crc_ok == Some(true)
    }

    /// Decodes the header sector in `f`, read from `sector`, if it has the `EFI PART`
    /// signature. The entries are left to [`Gpt::decode_array`].
    pub fn decode_header(f: &Fields, sector: u64) -> Result<Option<Gpt>> {
        if f.slice(0, SIGNATURE.len())? != SIGNATURE {
            return Ok(None);
        }
        let mut problems = Vec::new();
        let header_size = f.le32(12)?;
        let header_crc = f.le32(16)?;
        let size = usize::try_from(header_size)
            .ok()
            .filter(|s| (HEADER_FIELDS..=SECTOR as usize).contains(s));
        let header_crc_ok = match size {
            Some(size) => {
                let mut copy = f.slice(0, size)?.to_vec();
                copy[16..20].fill(0);
                gpt32(&copy) == header_crc
            }
            None => {
                problems.push(format!("header size {header_size} is not within 92..512"));
                false
            }
        };
        let header_rest = match size {
            Some(size) => f.slice(HEADER_FIELDS, size - HEADER_FIELDS)?.to_vec(),
            None => Vec::new(),
        };
        if !header_crc_ok {
            problems.push("header CRC32 does not match".into());
        }
        let current = f.le64(24)?;
        if current != sector {
            problems.push(format!("the header says it is at sector {current}"));
        }
        Ok(Some(Gpt {
            header_sector: sector,
            revision: f.le32(8)?,
            header_size,
            header_crc,
            header_crc_ok,
            reserved: f.le32(20)?,
            current,
            backup: f.le64(32)?,
            first_usable: f.le64(40)?,
            last_usable: f.le64(48)?,
            disk_guid: Guid::decode(f, 56)?,
            array_sector: f.le64(72)?,
            array_entries: f.le32(80)?,
            entry_size: f.le32(84)?,
            array_crc: f.le32(88)?,
            header_rest,
            array_crc_ok: None,
            entries: Vec::new(),
            problems,
        }))
    }

    /// The entry array's size in bytes, or why it is not usable (an entry size that is no
    /// multiple of 8 within 128..=4096, more than 1 MiB).
    pub fn array_len(&self) -> std::result::Result<usize, String> {
        let size = u64::from(self.array_entries) * u64::from(self.entry_size);
        if self.entry_size < 128 || !self.entry_size.is_multiple_of(8) || self.entry_size > 4096 {
            Err(format!("entry size {} is not usable", self.entry_size))
        } else if size > MAX_ARRAY_BYTES {
            Err(format!("entry array of {size} bytes is too large"))
        } else {
            Ok(size as usize)
        }
    }

    /// Decodes the entry array in `f` (`array_entries` × `entry_size` bytes) and checks its
    /// CRC.
    pub fn decode_array(&mut self, f: &Fields) -> Result<()> {
        self.array_len().map_err(|problem| f.corrupt(problem))?;
        let ok = gpt32(f.bytes) == self.array_crc;
        if !ok {
            self.problems
                .push("entry array CRC32 does not match".into());
        }
        self.array_crc_ok = Some(ok);
        let size = self.entry_size as usize;
        for (i, e) in f.bytes.chunks_exact(size).enumerate() {
            let offset = f.offset + (i * size) as u64;
            let e = Fields::new(e, f.image, "GPT entry", offset);
            if e.slice(0, 16)?.iter().any(|&b| b != 0) {
                self.entries.push(GptEntry::decode(i + 1, &e)?);
            }
        }
        Ok(())
    }

    /// The entry array: `array_entries` × `entry_size` bytes, each used entry at its number.
    /// Fails when [`Gpt::array_len`] does.
    pub fn encode_array(&self) -> Result<Vec<u8>> {
        let len = self.array_len().map_err(|e| Error::unsupported("GPT", e))?;
        let size = self.entry_size as usize;
        let mut array = vec![0u8; len];
        for e in &self.entries {
            let at = (e.number - 1) * size;
            if let Some(slot) = array.get_mut(at..at + size) {
                slot.copy_from_slice(&e.encode(size));
            }
        }
        Ok(array)
    }

    /// The header sector, both CRCs computed (the array's over [`Gpt::encode_array`]).
    pub fn encode_header(&self) -> Result<[u8; SECTOR as usize]> {
        let mut h = [0u8; SECTOR as usize];
        h[..8].copy_from_slice(SIGNATURE);
        put_le32(&mut h, 8, self.revision);
        put_le32(&mut h, 12, self.header_size);
        put_le32(&mut h, 20, self.reserved);
        put_le64(&mut h, 24, self.current);
        put_le64(&mut h, 32, self.backup);
        put_le64(&mut h, 40, self.first_usable);
        put_le64(&mut h, 48, self.last_usable);
        h[56..72].copy_from_slice(&self.disk_guid.0);
        put_le64(&mut h, 72, self.array_sector);
        put_le32(&mut h, 80, self.array_entries);
        put_le32(&mut h, 84, self.entry_size);
        put_le32(&mut h, 88, gpt32(&self.encode_array()?));
        let size = (self.header_size as usize).clamp(HEADER_FIELDS, h.len());
        let rest = self.header_rest.len().min(size - HEADER_FIELDS);
        h[HEADER_FIELDS..HEADER_FIELDS + rest].copy_from_slice(&self.header_rest[..rest]);
        let crc = gpt32(&h[..size]);
        put_le32(&mut h, 16, crc);
        Ok(h)
    }

    /// A primary GPT with no entries, as xorriso and fdisk lay it out: header at sector 1, an
    /// array of 128 entries of 128 bytes at sector 2, usable from sector 64 (the ISO's system
    /// area) to before the backup array, the backup header at `last`, the disk's last sector.
    pub fn empty(disk_guid: Guid, last: u64) -> Gpt {
        Gpt {
            header_sector: 1,
            revision: 0x0001_0000,
            header_size: HEADER_FIELDS as u32,
            header_crc: 0,
            header_crc_ok: true,
            reserved: 0,
            current: 1,
            backup: last,
            first_usable: 64,
            last_usable: last.saturating_sub(33),
            disk_guid,
            array_sector: 2,
            array_entries: 128,
            entry_size: ENTRY_FIELDS as u32,
            array_crc: 0,
            header_rest: Vec::new(),
            array_crc_ok: Some(true),
            entries: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// The backup of this primary header: at the sector the primary names, pointing back at
    /// it, with its copy of the entry array just before it (as UEFI places it).
    pub fn backup(&self) -> Gpt {
        let array_bytes = u64::from(self.array_entries) * u64::from(self.entry_size);
        let mut backup = self.clone();
        backup.header_sector = self.backup;
        backup.current = self.backup;
        backup.backup = self.current;
        backup.array_sector = self.backup.saturating_sub(array_bytes.div_ceil(SECTOR));
        backup.problems.clear();
        backup
    }
}

/// Reads the GPT header at `sector`, if it has the `EFI PART` signature.
pub fn read_at(src: &dyn Source, sector: u64) -> Result<Option<Gpt>> {
    let mut h = [0u8; SECTOR as usize];
    let Some(offset) = sector.checked_mul(SECTOR) else {
        return Ok(None);
    };
    if src.read_at(offset, &mut h)? < h.len() {
        return Ok(None);
    }
    let header = Fields::new(&h, src.name(), "GPT header", offset);
    let Some(mut gpt) = Gpt::decode_header(&header, sector)? else {
        return Ok(None);
    };
    match gpt.array_len() {
        Err(problem) => gpt.problems.push(problem),
        Ok(size) => match gpt.array_sector.checked_mul(SECTOR) {
            Some(start) if start.saturating_add(size as u64) <= src.len() => {
                let array = src.read_vec(start, size, "GPT entry array")?;
                gpt.decode_array(&Fields::new(&array, src.name(), "GPT entry array", start))?;
            }
            _ => gpt.problems.push(format!(
                "entry array at sector {} passes the end of the image",
                gpt.array_sector
            )),
        },
    }
    Ok(Some(gpt))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Gpt {
        let mut name_units = [0u16; NAME_UNITS];
        for (u, c) in name_units.iter_mut().zip("EFI boot".encode_utf16()) {
            *u = c;
        }
        let entry = |number, first, last| GptEntry {
            number,
            type_guid: Guid([0x28; 16]),
            guid: Guid([number as u8; 16]),
            first,
            last,
            attributes: 1 << 60,
            name_units,
            rest: Vec::new(),
        };
        Gpt {
            header_sector: 1,
            revision: 0x0001_0000,
            header_size: 92,
            header_crc: 0,
            header_crc_ok: true,
            reserved: 0,
            current: 1,
            backup: 1023,
            first_usable: 34,
            last_usable: 990,
            disk_guid: Guid([7; 16]),
            array_sector: 2,
            array_entries: 128,
            entry_size: 128,
            array_crc: 0,
            header_rest: Vec::new(),
            array_crc_ok: Some(true),
            entries: vec![entry(1, 64, 127), entry(3, 128, 990)],
            problems: Vec::new(),
        }
    }

    /// Encodes `gpt` and decodes it back as read from `sector`.
    fn round_trip(gpt: &Gpt, sector: u64) -> Gpt {
        let h = gpt.encode_header().unwrap();
        let mut back = Gpt::decode_header(&Fields::new(&h, "t", "GPT header", 0), sector)
            .unwrap()
            .unwrap();
        let array = gpt.encode_array().unwrap();
        back.decode_array(&Fields::new(&array, "t", "GPT entry array", 0))
            .unwrap();
        back
    }

    #[test]
    fn encode_round_trips_with_crcs() {
        let gpt = sample();
        let back = round_trip(&gpt, 1);
        assert!(back.valid(), "{:?}", back.problems);
        assert_eq!(back.entries[0].name(), "EFI boot");
        assert_eq!(
            Gpt {
                header_crc: gpt.header_crc,
                array_crc: gpt.array_crc,
                ..back.clone()
            },
            gpt
        );
        // The stored CRCs are what the encoder computed: a second round is the identity.
        assert_eq!(round_trip(&back, 1), back);
    }

    #[test]
    fn a_larger_header_keeps_its_bytes() {
        let gpt = Gpt {
            header_size: 100,
            header_rest: vec![1, 2, 3, 4, 5, 6, 7, 8],
            ..sample()
        };
        let back = round_trip(&gpt, 1);
        assert!(back.valid(), "{:?}", back.problems);
        assert_eq!(back.header_rest, gpt.header_rest);
    }

    #[test]
    fn backup_points_back() {
        let gpt = sample();
        let backup = gpt.backup();
        assert_eq!((backup.current, backup.backup), (1023, 1));
        assert_eq!(backup.array_sector, 1023 - 32);
        assert!(round_trip(&backup, 1023).valid());
    }
}
