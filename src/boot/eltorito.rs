//! El Torito: the boot record volume descriptor and the boot catalog it points to (validation
//! entry, default entry, section headers, section entries and their extension entries), decoded
//! into plain types. Counts and entries are checked against the catalog's bytes: a catalog that
//! lies is reported in [`Catalog::problems`], never trusted past its end.

use crate::error::{Error, Result};
use crate::source::Source;

use super::{le16, le32};

/// ISO 9660 logical block size.
pub const BLOCK: u64 = 2048;
/// Virtual sector size of El Torito sector counts.
pub const VIRTUAL_SECTOR: u64 = 512;
/// How many volume descriptors are scanned for the boot record before giving up.
const MAX_DESCRIPTORS: u64 = 64;
/// The largest catalog read: 16 blocks (1024 entries), far more than any tool writes.
pub const MAX_CATALOG_BLOCKS: u64 = 16;
const ENTRY: usize = 32;

/// The boot record volume descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootRecord {
    /// The block that holds the descriptor.
    pub block: u64,
    /// The block where the boot catalog starts.
    pub catalog: u32,
}

/// Finds the El Torito boot record among the volume descriptors (from block 16 up to the
/// terminator), if there is one.
pub fn find_boot_record(src: &dyn Source) -> Result<Option<BootRecord>> {
    let mut vd = [0u8; 0x4b];
    for block in 16..16 + MAX_DESCRIPTORS {
        let n = src.read_at(block * BLOCK, &mut vd)?;
        if n < vd.len() || &vd[1..6] != b"CD001" {
            return Ok(None);
        }
        match vd[0] {
            0 if vd[7..30] == *b"EL TORITO SPECIFICATION" => {
                return Ok(Some(BootRecord {
                    block,
                    catalog: le32(&vd, 0x47),
                }))
            }
            255 => return Ok(None),
            _ => {}
        }
    }
    Ok(None)
}

/// The name of a platform id, as xorriso spells it.
pub fn platform_name(id: u8) -> String {
    match id {
        0x00 => "BIOS".into(),
        0x01 => "PPC".into(),
        0x02 => "Mac".into(),
        0xef => "UEFI".into(),
        other => format!("0x{other:02x}"),
    }
}

/// The emulation an entry asks for (the low nibble of its media type byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emulation {
    None,
    Floppy1200,
    Floppy1440,
    Floppy2880,
    HardDisk,
    Unknown(u8),
}

impl Emulation {
    fn from_byte(b: u8) -> Self {
        match b & 0x0f {
            0 => Emulation::None,
            1 => Emulation::Floppy1200,
            2 => Emulation::Floppy1440,
            3 => Emulation::Floppy2880,
            4 => Emulation::HardDisk,
            other => Emulation::Unknown(other),
        }
    }

    /// A short name, as xorriso spells it: `none`, `fd1.2`, `fd1.4`, `fd2.8`, `hd`.
    pub fn name(self) -> String {
        match self {
            Emulation::None => "none".into(),
            Emulation::Floppy1200 => "fd1.2".into(),
            Emulation::Floppy1440 => "fd1.4".into(),
            Emulation::Floppy2880 => "fd2.8".into(),
            Emulation::HardDisk => "hd".into(),
            Emulation::Unknown(b) => format!("0x{b:x}"),
        }
    }

    /// The bytes the firmware reads for an emulated floppy (the whole floppy).
    pub fn floppy_bytes(self) -> Option<u64> {
        match self {
            Emulation::Floppy1200 => Some(1_228_800),
            Emulation::Floppy1440 => Some(1_474_560),
            Emulation::Floppy2880 => Some(2_949_120),
            _ => None,
        }
    }
}

/// One bootable (or not) image: the default entry or a section entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootEntry {
    /// The byte offset of the entry in the source.
    pub offset: u64,
    /// 0 for the default entry, else the section's number (1-based).
    pub section: usize,
    /// The platform: the validation entry's for the default entry, else its section's.
    pub platform: u8,
    /// The boot indicator byte (0x88 bootable, 0x00 not).
    pub indicator: u8,
    /// The media type byte, flags included.
    pub media: u8,
    pub emulation: Emulation,
    pub load_segment: u16,
    pub system_type: u8,
    /// In 512-byte virtual sectors.
    pub sector_count: u16,
    /// The block where the image starts.
    pub load_rba: u32,
    /// Selection criteria type (section entries only).
    pub criteria_type: u8,
    /// Vendor selection criteria: the entry's 19 bytes and its extension entries' 30 each.
    pub criteria: Vec<u8>,
    /// Extension entries that followed the entry.
    pub extensions: usize,
}

impl BootEntry {
    /// True when the boot indicator says bootable.
    pub fn bootable(&self) -> bool {
        self.indicator == 0x88
    }

    /// The bytes the firmware loads: the sector count in 512-byte sectors for no emulation and
    /// hard disk emulation (a count of 0 or 1 means one sector, as BIOSes read it), the whole
    /// floppy for floppy emulation.
    pub fn load_bytes(&self) -> u64 {
        self.emulation
            .floppy_bytes()
            .unwrap_or(u64::from(self.sector_count.max(1)) * VIRTUAL_SECTOR)
    }

    /// True when the selection criteria hold any non-zero byte.
    pub fn has_criteria(&self) -> bool {
        self.criteria_type != 0 || self.criteria.iter().any(|&b| b != 0)
    }
}

/// A section header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub offset: u64,
    /// 0x91 for the final header, 0x90 otherwise.
    pub indicator: u8,
    pub platform: u8,
    /// The number of entries the header declares.
    pub declared: u16,
    /// The entries really read.
    pub entries: usize,
    /// The id string, trailing NULs and spaces removed.
    pub id: Vec<u8>,
}

/// The whole boot catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalog {
    /// The block it starts at.
    pub block: u32,
    /// The validation entry's platform.
    pub platform: u8,
    /// The validation entry's id string (manufacturer), trailing NULs removed.
    pub id: Vec<u8>,
    pub checksum_ok: bool,
    pub sections: Vec<Section>,
    /// The default entry first, then each section's entries in order.
    pub entries: Vec<BootEntry>,
    /// What is wrong with the catalog (counts past its end, unknown headers...).
    pub problems: Vec<String>,
}

/// Trims trailing NULs and spaces.
pub fn trim_id(bytes: &[u8]) -> Vec<u8> {
    let end = bytes
        .iter()
        .rposition(|&b| b != 0 && b != b' ')
        .map_or(0, |p| p + 1);
    bytes[..end].to_vec()
}

fn decode_entry(e: &[u8], offset: u64, section: usize, platform: u8) -> BootEntry {
    BootEntry {
        offset,
        section,
        platform,
        indicator: e[0],
        media: e[1],
        emulation: Emulation::from_byte(e[1]),
        load_segment: le16(e, 2),
        system_type: e[4],
        sector_count: le16(e, 6),
        load_rba: le32(e, 8),
        criteria_type: if section == 0 { 0 } else { e[12] },
        criteria: if section == 0 {
            Vec::new()
        } else {
            e[13..32].to_vec()
        },
        extensions: 0,
    }
}

/// Reads and decodes the catalog at `block`. Fails only when the validation entry is not
/// there; everything else that is wrong lands in `problems`.
pub fn read_catalog(src: &dyn Source, block: u32) -> Result<Catalog> {
    let start = u64::from(block) * BLOCK;
    if start >= src.len() {
        return Err(Error::corrupt(
            src.name(),
            "El Torito boot catalog",
            start,
            format!("block {block} is past the end of the image"),
        ));
    }
    let avail = (src.len() - start).min(MAX_CATALOG_BLOCKS * BLOCK) as usize;
    let bytes = src.read_vec(start, avail - avail % ENTRY, "El Torito boot catalog")?;
    if bytes.len() < 2 * ENTRY {
        return Err(Error::corrupt(
            src.name(),
            "El Torito boot catalog",
            start,
            "the image ends inside the catalog",
        ));
    }
    let v = &bytes[..ENTRY];
    if v[0] != 1 || v[30] != 0x55 || v[31] != 0xaa {
        return Err(Error::corrupt(
            src.name(),
            "El Torito validation entry",
            start,
            format!(
                "header 0x{:02x} and key bytes {:02x} {:02x} (want 0x01 and 55 aa)",
                v[0], v[30], v[31]
            ),
        ));
    }
    let sum = v.chunks(2).fold(0u16, |s, w| {
        s.wrapping_add(u16::from_le_bytes([w[0], w[1]]))
    });
    let mut cat = Catalog {
        block,
        platform: v[1],
        id: trim_id(&v[4..28]),
        checksum_ok: sum == 0,
        sections: Vec::new(),
        entries: Vec::new(),
        problems: Vec::new(),
    };
    if !cat.checksum_ok {
        cat.problems
            .push(format!("validation entry checksum is off by 0x{sum:04x}"));
    }
    let entry_at = |i: usize| &bytes[i * ENTRY..(i + 1) * ENTRY];
    let offset_of = |i: usize| start + (i * ENTRY) as u64;
    cat.entries
        .push(decode_entry(entry_at(1), offset_of(1), 0, cat.platform));
    let count = bytes.len() / ENTRY;
    let mut i = 2;
    let mut finished = false;
    while i < count && !finished {
        let h = entry_at(i);
        match h[0] {
            0x90 | 0x91 => {}
            0 => break,
            other => {
                cat.problems.push(format!(
                    "entry at offset {} has header 0x{other:02x} where a section header or \
                     the end was expected",
                    offset_of(i)
                ));
                break;
            }
        }
        finished = h[0] == 0x91;
        let number = cat.sections.len() + 1;
        let mut section = Section {
            offset: offset_of(i),
            indicator: h[0],
            platform: h[1],
            declared: le16(h, 2),
            entries: 0,
            id: trim_id(&h[4..32]),
        };
        i += 1;
        while section.entries < usize::from(section.declared) {
            if i >= count {
                cat.problems.push(format!(
                    "section {number} declares {} entries but the catalog ends after {}",
                    section.declared, section.entries
                ));
                finished = true;
                break;
            }
            let e = entry_at(i);
            if !matches!(e[0], 0x88 | 0x00) || e.iter().all(|&b| b == 0) {
                cat.problems.push(format!(
                    "section {number} declares {} entries but entry {} at offset {} is {}",
                    section.declared,
                    section.entries + 1,
                    offset_of(i),
                    if e[0] == 0 {
                        "empty".to_string()
                    } else {
                        format!("no boot entry (indicator 0x{:02x})", e[0])
                    }
                ));
                finished = true;
                break;
            }
            let mut entry = decode_entry(e, offset_of(i), number, section.platform);
            i += 1;
            let mut more = entry.media & 0x20 != 0;
            while more && i < count && entry_at(i)[0] == 0x44 {
                let x = entry_at(i);
                entry.criteria.extend_from_slice(&x[2..32]);
                entry.extensions += 1;
                more = x[1] & 0x20 != 0;
                i += 1;
            }
            if more {
                cat.problems.push(format!(
                    "entry at offset {} announces an extension entry that is not there",
                    entry.offset
                ));
            }
            cat.entries.push(entry);
            section.entries += 1;
        }
        cat.sections.push(section);
    }
    if !finished && !cat.sections.is_empty() {
        cat.problems
            .push("the last section header is not marked final (0x91)".into());
    }
    Ok(cat)
}
