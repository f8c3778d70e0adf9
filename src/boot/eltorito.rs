//! El Torito: the boot record volume descriptor and the boot catalog it points to (validation
//! entry, default entry, section headers, section entries and their extension entries), decoded
//! into plain types that keep every byte, and encoded back ([`BootRecord::encode`],
//! [`Catalog::encode`], the validation checksum computed). Counts and entries are checked
//! against the catalog's bytes: a catalog that lies is reported in [`Catalog::problems`], never
//! trusted past its end.

use crate::error::{Error, Result};
use crate::fs::iso9660::volume::{self, Body, Descriptor, Kind};
use crate::ondisk::endian::{put_le16, put_le32};
use crate::ondisk::Fields;
use crate::source::Source;

/// ISO 9660 logical block size.
pub const BLOCK: u64 = 2048;
/// Virtual sector size of El Torito sector counts.
pub const VIRTUAL_SECTOR: u64 = 512;
/// How many volume descriptors are scanned for the boot record before giving up.
const MAX_DESCRIPTORS: u64 = 64;
/// The largest catalog read: 16 blocks (1024 entries), far more than any tool writes.
pub const MAX_CATALOG_BLOCKS: u64 = 16;
const ENTRY: usize = 32;

/// El Torito's boot record volume descriptor: the ECMA-119 boot record (decoded and encoded by
/// [`crate::fs::iso9660::volume`], the one decoder of volume descriptors) whose boot system id
/// is `EL TORITO SPECIFICATION`, where it lies, and the catalog block it points to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootRecord {
    /// The block that holds the descriptor.
    pub block: u64,
    /// The descriptor as recorded.
    pub record: volume::BootRecord,
    /// The block where the boot catalog starts.
    pub catalog: u32,
}

/// The bytes of the descriptor's fields: a sector shorter than this ends the scan.
const BOOT_RECORD_FIELDS: usize = 0x4b;

impl BootRecord {
    /// The El Torito boot record in `sector` (volume descriptor `block`) of `image`, if it is
    /// one.
    pub fn decode(sector: &[u8], block: u64, image: &str) -> Result<Option<BootRecord>> {
        Ok(match Descriptor::decode(sector, block * BLOCK, image)? {
            Some(Descriptor {
                body: Body::Boot(record),
                ..
            }) => record.el_torito_catalog().map(|catalog| BootRecord {
                block,
                record,
                catalog,
            }),
            _ => None,
        })
    }

    /// The descriptor's block.
    pub fn encode(&self) -> Vec<u8> {
        Descriptor {
            offset: self.block * BLOCK,
            kind: Kind::Boot,
            body: Body::Boot(self.record.clone()),
        }
        .encode()
    }
}

/// Finds the El Torito boot record among the volume descriptors (from block 16 up to the
/// terminator), if there is one.
pub fn find_boot_record(src: &dyn Source) -> Result<Option<BootRecord>> {
    let mut sector = vec![0u8; BLOCK as usize];
    for block in 16..16 + MAX_DESCRIPTORS {
        sector.fill(0);
        let n = src.read_at(block * BLOCK, &mut sector)?;
        if n < BOOT_RECORD_FIELDS || &sector[1..6] != b"CD001" {
            return Ok(None);
        }
        match sector[0] {
            0 => {
                if let Some(br) = BootRecord::decode(&sector, block, src.name())? {
                    return Ok(Some(br));
                }
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
    /// The unused byte after the system type.
    pub reserved: u8,
    /// In 512-byte virtual sectors.
    pub sector_count: u16,
    /// The block where the image starts.
    pub load_rba: u32,
    /// Selection criteria type (byte 12; unused in the default entry).
    pub criteria_type: u8,
    /// Vendor selection criteria: the entry's 19 bytes and its extension entries' 30 each
    /// (unused bytes in the default entry).
    pub criteria: Vec<u8>,
    /// The flag byte of each extension entry that followed the entry.
    pub extension_flags: Vec<u8>,
}

/// The criteria bytes in an entry, after the criteria type.
const ENTRY_CRITERIA: usize = 19;
/// The criteria bytes in an extension entry.
const EXTENSION_CRITERIA: usize = 30;
/// The media type and extension flag bit that says an extension entry follows.
const MORE: u8 = 0x20;

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

    /// True when a section entry's selection criteria hold any non-zero byte (the default
    /// entry has none).
    pub fn has_criteria(&self) -> bool {
        self.section != 0 && (self.criteria_type != 0 || self.criteria.iter().any(|&b| b != 0))
    }

    /// How many extension entries followed the entry.
    pub fn extensions(&self) -> usize {
        self.extension_flags.len()
    }

    fn decode(e: &Fields, section: usize, platform: u8) -> Result<BootEntry> {
        let media = e.u8(1)?;
        Ok(BootEntry {
            offset: e.offset,
            section,
            platform,
            indicator: e.u8(0)?,
            media,
            emulation: Emulation::from_byte(media),
            load_segment: e.le16(2)?,
            system_type: e.u8(4)?,
            reserved: e.u8(5)?,
            sector_count: e.le16(6)?,
            load_rba: e.le32(8)?,
            criteria_type: e.u8(12)?,
            criteria: e.slice(13, ENTRY_CRITERIA)?.to_vec(),
            extension_flags: Vec::new(),
        })
    }

    /// The entry and its extension entries, 32 bytes each (criteria past what the entries hold
    /// are left out, missing ones are zeros).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0u8; ENTRY * (1 + self.extensions())];
        out[0] = self.indicator;
        out[1] = self.media;
        put_le16(&mut out, 2, self.load_segment);
        out[4] = self.system_type;
        out[5] = self.reserved;
        put_le16(&mut out, 6, self.sector_count);
        put_le32(&mut out, 8, self.load_rba);
        out[12] = self.criteria_type;
        let mut criteria = self.criteria.iter();
        let mut fill = |dest: &mut [u8]| {
            dest.iter_mut()
                .zip(criteria.by_ref())
                .for_each(|(d, &c)| *d = c)
        };
        fill(&mut out[13..ENTRY]);
        for (x, &flags) in out[ENTRY..]
            .chunks_exact_mut(ENTRY)
            .zip(&self.extension_flags)
        {
            x[0] = EXTENSION;
            x[1] = flags;
            fill(&mut x[2..]);
        }
        out
    }
}

/// The header byte of an extension entry.
const EXTENSION: u8 = 0x44;

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
    /// The id string as stored.
    pub id_bytes: [u8; 28],
}

impl Section {
    /// The id string, trailing NULs and spaces removed.
    pub fn id(&self) -> Vec<u8> {
        trim_id(&self.id_bytes)
    }

    fn encode(&self) -> [u8; ENTRY] {
        let mut h = [0u8; ENTRY];
        h[0] = self.indicator;
        h[1] = self.platform;
        put_le16(&mut h, 2, self.declared);
        h[4..].copy_from_slice(&self.id_bytes);
        h
    }
}

/// The whole boot catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalog {
    /// The block it starts at.
    pub block: u32,
    /// The validation entry's platform.
    pub platform: u8,
    /// The two reserved bytes of the validation entry.
    pub reserved: u16,
    /// The validation entry's id string (manufacturer) as stored.
    pub id_bytes: [u8; 24],
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

/// The sum of the little-endian 16-bit words of a validation entry (zero when it is right).
fn validation_sum(v: &[u8; ENTRY]) -> u16 {
    v.chunks_exact(2).fold(0u16, |s, w| {
        s.wrapping_add(u16::from_le_bytes([w[0], w[1]]))
    })
}

impl Catalog {
    /// The validation entry's id string, trailing NULs and spaces removed.
    pub fn id(&self) -> Vec<u8> {
        trim_id(&self.id_bytes)
    }

    /// The catalog's entries: the validation entry with its checksum computed, the default
    /// entry, then each section header followed by its entries. The caller pads it to a block.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = [0u8; ENTRY];
        v[0] = 1;
        v[1] = self.platform;
        put_le16(&mut v, 2, self.reserved);
        v[4..28].copy_from_slice(&self.id_bytes);
        v[30..].copy_from_slice(&KEY);
        let sum = validation_sum(&v);
        put_le16(&mut v, 28, sum.wrapping_neg());
        let mut out = v.to_vec();
        let in_section = |n: usize| self.entries.iter().filter(move |e| e.section == n);
        for e in in_section(0).take(1) {
            out.extend(e.encode());
        }
        for (i, s) in self.sections.iter().enumerate() {
            out.extend(s.encode());
            for e in in_section(i + 1) {
                out.extend(e.encode());
            }
        }
        out
    }
}

/// The key bytes that end the validation entry.
const KEY: [u8; 2] = [0x55, 0xaa];

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
    decode_catalog(&bytes, src.name(), block)
}

/// Decodes the catalog in `bytes` (a whole number of entries), which starts at `block` of
/// `image`.
pub fn decode_catalog(bytes: &[u8], image: &str, block: u32) -> Result<Catalog> {
    let start = u64::from(block) * BLOCK;
    let slots: Vec<&[u8; ENTRY]> = bytes
        .chunks_exact(ENTRY)
        .filter_map(|c| c.try_into().ok())
        .collect();
    let (Some(&v), Some(&default)) = (slots.first(), slots.get(1)) else {
        return Err(Error::corrupt(
            image,
            "El Torito boot catalog",
            start,
            "the image ends inside the catalog",
        ));
    };
    if v[0] != 1 || v[30..] != KEY {
        return Err(Error::corrupt(
            image,
            "El Torito validation entry",
            start,
            format!(
                "header 0x{:02x} and key bytes {:02x} {:02x} (want 0x01 and 55 aa)",
                v[0], v[30], v[31]
            ),
        ));
    }
    let offset_of = |i: usize| start + (i * ENTRY) as u64;
    let fields = |i: usize, structure| Fields::new(slots[i], image, structure, offset_of(i));
    let sum = validation_sum(v);
    let validation = fields(0, "El Torito validation entry");
    let mut id_bytes = [0u8; 24];
    id_bytes.copy_from_slice(validation.slice(4, 24)?);
    let mut cat = Catalog {
        block,
        platform: v[1],
        reserved: validation.le16(2)?,
        id_bytes,
        checksum_ok: sum == 0,
        sections: Vec::new(),
        entries: Vec::new(),
        problems: Vec::new(),
    };
    if !cat.checksum_ok {
        cat.problems
            .push(format!("validation entry checksum is off by 0x{sum:04x}"));
    }
    cat.entries.push(BootEntry::decode(
        &Fields::new(default, image, "El Torito default entry", offset_of(1)),
        0,
        cat.platform,
    )?);
    let count = slots.len();
    let mut i = 2;
    let mut finished = false;
    while i < count && !finished {
        let h = slots[i];
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
        let mut id_bytes = [0u8; 28];
        id_bytes.copy_from_slice(&h[4..]);
        let mut section = Section {
            offset: offset_of(i),
            indicator: h[0],
            platform: h[1],
            declared: fields(i, "El Torito section header").le16(2)?,
            entries: 0,
            id_bytes,
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
            let e = slots[i];
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
            let mut entry = BootEntry::decode(
                &fields(i, "El Torito section entry"),
                number,
                section.platform,
            )?;
            i += 1;
            let mut more = entry.media & MORE != 0;
            while more && i < count && slots[i][0] == EXTENSION {
                let x = slots[i];
                entry
                    .criteria
                    .extend_from_slice(&x[2..2 + EXTENSION_CRITERIA]);
                entry.extension_flags.push(x[1]);
                more = x[1] & MORE != 0;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalog with a default entry, a BIOS section of one entry and a final UEFI section
    /// whose entry has selection criteria continued in two extension entries.
    fn handmade() -> Vec<u8> {
        let mut b = vec![0u8; 8 * ENTRY];
        b[0] = 1;
        b[4..10].copy_from_slice(b"vendor");
        b[30..32].copy_from_slice(&KEY);
        b[32..44].copy_from_slice(&[0x88, 0, 0, 0x7c, 0, 0, 4, 0, 35, 0, 0, 0]);
        b[64..70].copy_from_slice(&[0x90, 0, 1, 0, b'x', b'y']);
        b[96..108].copy_from_slice(&[0x88, 2, 0, 0, 0, 0, 1, 0, 40, 0, 0, 0]);
        b[128..132].copy_from_slice(&[0x91, 0xef, 1, 0]);
        b[160..176].copy_from_slice(&[0x88, 0x20, 0, 0, 0, 0, 9, 0, 50, 0, 0, 0, 1, 0xaa, 0, 7]);
        b[192..196].copy_from_slice(&[EXTENSION, MORE, 0xbb, 0]);
        b[224..228].copy_from_slice(&[EXTENSION, 0, 0, 0xcc]);
        b
    }

    #[test]
    fn catalog_round_trips() {
        let first = decode_catalog(&handmade(), "t", 20).unwrap();
        assert!(!first.checksum_ok);
        assert_eq!(first.entries.len(), 3);
        assert_eq!(first.entries[2].extensions(), 2);
        assert!(first.entries[2].has_criteria() && !first.entries[0].has_criteria());
        let bytes = first.encode();
        assert_eq!(bytes[32..], handmade()[32..]);
        let cat = decode_catalog(&bytes, "t", 20).unwrap();
        assert!(
            cat.checksum_ok && cat.problems.is_empty(),
            "{:?}",
            cat.problems
        );
        assert_eq!(cat.id(), b"vendor");
        assert_eq!(cat.sections[0].id(), b"xy");
        assert_eq!(
            Catalog {
                checksum_ok: false,
                problems: first.problems.clone(),
                ..cat.clone()
            },
            first
        );
        assert_eq!(decode_catalog(&cat.encode(), "t", 20).unwrap(), cat);
    }

    #[test]
    fn boot_record_round_trips() {
        let mut vd = [0u8; BLOCK as usize];
        vd[1..7].copy_from_slice(b"CD001\x01");
        vd[7..30].copy_from_slice(volume::BootRecord::EL_TORITO);
        vd[0x47] = 19;
        let br = BootRecord::decode(&vd, 17, "t").unwrap().unwrap();
        assert_eq!((br.block, br.catalog), (17, 19));
        assert_eq!(br.encode(), vd);
        // Another boot system's record is not El Torito's.
        vd[7] = b'X';
        assert_eq!(BootRecord::decode(&vd, 17, "t").unwrap(), None);
    }
}
