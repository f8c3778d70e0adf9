//! The master boot record in the first 512 bytes of the system area: the four primary
//! partition entries, the disk signature, and what the boot code is (syslinux's isohybrid
//! MBR and GRUB2's hybrid MBR both hold the address of the El Torito boot image they chain to,
//! at byte 0x1b0).

use crate::error::Result;
use crate::source::Source;

use super::{le32, le64};

/// One used primary partition entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MbrEntry {
    /// 1..=4.
    pub number: usize,
    pub status: u8,
    pub kind: u8,
    pub start_chs: [u8; 3],
    pub end_chs: [u8; 3],
    /// In 512-byte sectors.
    pub start: u32,
    pub sectors: u32,
}

/// A decoded MBR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mbr {
    pub disk_signature: u32,
    /// The used entries (type or size non-zero).
    pub entries: Vec<MbrEntry>,
    /// True when the 440 bytes of boot code are not all zeros.
    pub has_code: bool,
    /// The 32-bit number at 0x1b0 (isohybrid: boot image block × 4).
    pub isohybrid_pointer: u32,
    /// The 64-bit number at 0x1b0 (GRUB2: boot image block × 4 + 4).
    pub grub2_pointer: u64,
    /// The boot code carries syslinux's text ("isolinux").
    pub syslinux_text: bool,
    /// The boot code carries GRUB's text ("GRUB").
    pub grub_text: bool,
}

impl Mbr {
    /// The sector just past the last partition: the size of the disk the table describes.
    pub fn disk_sectors(&self) -> u64 {
        self.entries
            .iter()
            .map(|e| u64::from(e.start) + u64::from(e.sectors))
            .max()
            .unwrap_or(0)
    }

    /// True when an entry has type 0xee (a GPT protective MBR).
    pub fn protective(&self) -> bool {
        self.entries.iter().any(|e| e.kind == 0xee)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Decodes the MBR from the first sector of `src`, if it carries the 55 aa signature.
pub fn read(src: &dyn Source) -> Result<Option<Mbr>> {
    read_at(src, 0)
}

/// Decodes an MBR at `offset` (a hard-disk-emulation boot image holds one), if it carries
/// the 55 aa signature.
pub fn read_at(src: &dyn Source, offset: u64) -> Result<Option<Mbr>> {
    let mut s = [0u8; 512];
    if src.read_at(offset, &mut s)? < s.len() || s[510..512] != [0x55, 0xaa] {
        return Ok(None);
    }
    let entries = (0..4)
        .filter_map(|i| {
            let e = &s[446 + 16 * i..462 + 16 * i];
            let entry = MbrEntry {
                number: i + 1,
                status: e[0],
                kind: e[4],
                start_chs: [e[1], e[2], e[3]],
                end_chs: [e[5], e[6], e[7]],
                start: le32(e, 8),
                sectors: le32(e, 12),
            };
            (entry.kind != 0 || entry.sectors != 0).then_some(entry)
        })
        .collect();
    let code = &s[..440];
    Ok(Some(Mbr {
        disk_signature: le32(&s, 440),
        entries,
        has_code: code.iter().any(|&b| b != 0),
        isohybrid_pointer: le32(&s, 0x1b0),
        grub2_pointer: le64(&s, 0x1b0),
        syslinux_text: find(code, b"isolinux"),
        grub_text: find(code, b"GRUB"),
    }))
}
