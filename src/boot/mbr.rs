//! The master boot record in the first 512 bytes of the system area: 440 bytes of boot code,
//! the disk signature, the four primary partition entries and the 55 aa signature, decoded
//! with every byte kept so [`Mbr::encode`] writes the sector back as it was. syslinux's
//! isohybrid MBR and GRUB2's hybrid MBR both hold the address of the El Torito boot image they
//! chain to at byte 0x1b0 of the code; [`Mbr::set_boot_image`] moves it.

use crate::error::Result;
use crate::ondisk::endian::{put_le16, put_le32, put_le64};
use crate::ondisk::Fields;
use crate::source::Source;

/// The size of the record.
pub const SECTOR: usize = 512;
/// The bytes of boot code before the disk signature.
pub const CODE_LEN: usize = 440;
/// Where isohybrid and GRUB2 hybrid MBRs keep the boot image's address, inside the code.
pub const BOOT_IMAGE_POINTER: usize = 0x1b0;
const TABLE: usize = 446;
const ENTRY: usize = 16;
const SIGNATURE: [u8; 2] = [0x55, 0xaa];

/// One primary partition entry, used or not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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

impl MbrEntry {
    /// True when the type or the size is non-zero.
    pub fn used(&self) -> bool {
        self.kind != 0 || self.sectors != 0
    }

    fn decode(f: &Fields, number: usize) -> Result<MbrEntry> {
        let at = TABLE + ENTRY * (number - 1);
        let chs = |at: usize| -> Result<[u8; 3]> { Ok([f.u8(at)?, f.u8(at + 1)?, f.u8(at + 2)?]) };
        Ok(MbrEntry {
            number,
            status: f.u8(at)?,
            start_chs: chs(at + 1)?,
            kind: f.u8(at + 4)?,
            end_chs: chs(at + 5)?,
            start: f.le32(at + 8)?,
            sectors: f.le32(at + 12)?,
        })
    }

    fn encode(&self) -> [u8; ENTRY] {
        let mut e = [0u8; ENTRY];
        e[0] = self.status;
        e[1..4].copy_from_slice(&self.start_chs);
        e[4] = self.kind;
        e[5..8].copy_from_slice(&self.end_chs);
        put_le32(&mut e, 8, self.start);
        put_le32(&mut e, 12, self.sectors);
        e
    }
}

/// The hybrid MBR codes that chain to an El Torito boot image by its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chain {
    /// syslinux's isohybrid MBR: the image's block × 4 (512-byte sectors), 64-bit.
    Isohybrid,
    /// GRUB2's hybrid MBR (`--grub2-mbr`): the image's block × 4 + 4, 64-bit.
    Grub2,
}

/// A decoded MBR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mbr {
    /// The boot code, the isohybrid/GRUB2 boot image address at 0x1b0 included.
    pub code: [u8; CODE_LEN],
    pub disk_signature: u32,
    /// The two bytes after the disk signature (0, or 0x5a5a when copy-protected).
    pub reserved: u16,
    /// The four entries, used or not.
    pub slots: [MbrEntry; 4],
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

impl Mbr {
    /// Decodes the 512-byte sector in `f`, if it carries the 55 aa signature.
    pub fn decode(f: &Fields) -> Result<Option<Mbr>> {
        if f.slice(SECTOR - 2, 2)? != SIGNATURE {
            return Ok(None);
        }
        let mut code = [0u8; CODE_LEN];
        code.copy_from_slice(f.slice(0, CODE_LEN)?);
        Ok(Some(Mbr {
            code,
            disk_signature: f.le32(CODE_LEN)?,
            reserved: f.le16(CODE_LEN + 4)?,
            slots: [
                MbrEntry::decode(f, 1)?,
                MbrEntry::decode(f, 2)?,
                MbrEntry::decode(f, 3)?,
                MbrEntry::decode(f, 4)?,
            ],
        }))
    }

    /// The 512-byte sector.
    pub fn encode(&self) -> [u8; SECTOR] {
        let mut s = [0u8; SECTOR];
        s[..CODE_LEN].copy_from_slice(&self.code);
        put_le32(&mut s, CODE_LEN, self.disk_signature);
        put_le16(&mut s, CODE_LEN + 4, self.reserved);
        for (i, e) in self.slots.iter().enumerate() {
            s[TABLE + ENTRY * i..TABLE + ENTRY * (i + 1)].copy_from_slice(&e.encode());
        }
        s[SECTOR - 2..].copy_from_slice(&SIGNATURE);
        s
    }

    /// The used entries (type or size non-zero).
    pub fn entries(&self) -> impl Iterator<Item = &MbrEntry> {
        self.slots.iter().filter(|e| e.used())
    }

    /// True when the 440 bytes of boot code are not all zeros.
    pub fn has_code(&self) -> bool {
        self.code.iter().any(|&b| b != 0)
    }

    /// The 64-bit number at 0x1b0 (isohybrid: boot image block × 4; GRUB2: block × 4 + 4).
    pub fn boot_image_pointer(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.code[BOOT_IMAGE_POINTER..BOOT_IMAGE_POINTER + 8]);
        u64::from_le_bytes(b)
    }

    /// Points the code at the boot image now at `block`, as the tool that wrote `chain`'s code
    /// does.
    pub fn set_boot_image(&mut self, chain: Chain, block: u32) {
        let sectors = u64::from(block) * 4;
        let pointer = match chain {
            Chain::Isohybrid => sectors,
            Chain::Grub2 => sectors + 4,
        };
        put_le64(&mut self.code, BOOT_IMAGE_POINTER, pointer);
    }

    /// The boot code carries syslinux's text ("isolinux").
    pub fn syslinux_text(&self) -> bool {
        find(&self.code, b"isolinux")
    }

    /// The boot code carries GRUB's text ("GRUB").
    pub fn grub_text(&self) -> bool {
        find(&self.code, b"GRUB")
    }

    /// The sector just past the last partition: the size of the disk the table describes.
    pub fn disk_sectors(&self) -> u64 {
        self.entries()
            .map(|e| u64::from(e.start) + u64::from(e.sectors))
            .max()
            .unwrap_or(0)
    }

    /// True when an entry has type 0xee (a GPT protective MBR).
    pub fn protective(&self) -> bool {
        self.entries().any(|e| e.kind == 0xee)
    }
}

/// Decodes the MBR from the first sector of `src`, if it carries the 55 aa signature.
pub fn read(src: &dyn Source) -> Result<Option<Mbr>> {
    read_at(src, 0)
}

/// Decodes an MBR at `offset` (a hard-disk-emulation boot image holds one), if it carries
/// the 55 aa signature.
pub fn read_at(src: &dyn Source, offset: u64) -> Result<Option<Mbr>> {
    let mut s = [0u8; SECTOR];
    if src.read_at(offset, &mut s)? < s.len() {
        return Ok(None);
    }
    Mbr::decode(&Fields::new(&s, src.name(), "MBR", offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Mbr {
        let mut s = [0u8; SECTOR];
        s[..7].copy_from_slice(b"\xfa\x33\xc0GRUB");
        s[440..446].copy_from_slice(&[1, 2, 3, 4, 0x5a, 0x5a]);
        s[446..462].copy_from_slice(&[
            0x80, 0, 1, 0, 0xcd, 0x3f, 0xe0, 0x3f, 0, 0, 0, 0, 0, 8, 0, 0,
        ]);
        s[478..494].copy_from_slice(&[
            0, 0xfe, 0xff, 0xff, 0xef, 0xfe, 0xff, 0xff, 8, 1, 0, 0, 0, 2, 0, 0,
        ]);
        s[510..].copy_from_slice(&SIGNATURE);
        Mbr::decode(&Fields::new(&s, "t", "MBR", 0))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn encode_round_trips() {
        let m = sample();
        assert_eq!(m.entries().map(|e| e.number).collect::<Vec<_>>(), [1, 3]);
        assert!(m.has_code() && m.grub_text() && !m.syslinux_text());
        let bytes = m.encode();
        assert_eq!(
            Mbr::decode(&Fields::new(&bytes, "t", "MBR", 0)).unwrap(),
            Some(m)
        );
    }

    #[test]
    fn boot_image_pointer_moves() {
        let mut m = sample();
        m.set_boot_image(Chain::Isohybrid, 35);
        assert_eq!(m.boot_image_pointer(), 140);
        m.set_boot_image(Chain::Grub2, 35);
        assert_eq!(m.boot_image_pointer(), 144);
    }

    #[test]
    fn no_signature_no_mbr() {
        let s = [0u8; SECTOR];
        assert_eq!(Mbr::decode(&Fields::new(&s, "t", "MBR", 0)).unwrap(), None);
        assert!(Mbr::decode(&Fields::new(&s[..100], "t", "MBR", 0)).is_err());
    }
}
