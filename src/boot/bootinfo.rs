//! The patches mastering tools write into a boot image, detected from its bytes and written
//! anew for an image that moves: the boot-info table (`-boot-info-table`, at byte 8: PVD
//! block, image block, image length, checksum of the image from byte 64, then 40 zero bytes)
//! and GRUB2 boot info (`--grub2-boot-info`, at byte 2548: the image's block × 4 + 5 as a
//! 64-bit little-endian number).

use crate::error::{Error, Result};
use crate::ondisk::endian::{put_le32, put_le64};
use crate::ondisk::Fields;
use crate::source::Source;

use super::eltorito::BLOCK;

/// Where the boot-info table sits in a boot image.
pub const TABLE_OFFSET: usize = 8;
/// The end of the table's 56 bytes (16 of fields, 40 reserved zeros), where the checksum
/// starts.
pub const TABLE_END: usize = 64;
/// Where GRUB2 boot info sits in a boot image.
pub const GRUB2_OFFSET: usize = 2548;
/// The largest image whose boot-info checksum is verified (it means reading all of it).
const MAX_CHECKSUM_BYTES: u64 = 64 << 20;

/// A boot-info table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootInfoTable {
    pub pvd_block: u32,
    /// The block of the boot image itself.
    pub image_block: u32,
    pub image_len: u32,
    pub checksum: u32,
    /// Whether the checksum matches the image's bytes (`None` when the image was too large or
    /// ran past the end of the source).
    pub checksum_ok: Option<bool>,
}

impl BootInfoTable {
    /// The table mkisofs writes into `image` (the boot image's whole bytes, before patching),
    /// now at `image_block`, with the primary volume descriptor at `pvd_block`.
    pub fn for_image(image: &[u8], pvd_block: u32, image_block: u32) -> Result<BootInfoTable> {
        let image_len = u32::try_from(image.len())
            .ok()
            .filter(|&len| len as usize >= TABLE_END)
            .ok_or_else(|| {
                Error::unsupported(
                    "boot image",
                    format!(
                        "a boot-info table in a boot image of {} bytes (it takes {TABLE_END} to 4 GiB)",
                        image.len()
                    ),
                )
            })?;
        Ok(BootInfoTable {
            pvd_block,
            image_block,
            image_len,
            checksum: checksum(image),
            checksum_ok: Some(true),
        })
    }

    /// The table's 56 bytes: the four fields, then 40 zeros.
    pub fn encode(&self) -> [u8; TABLE_END - TABLE_OFFSET] {
        let mut t = [0u8; TABLE_END - TABLE_OFFSET];
        put_le32(&mut t, 0, self.pvd_block);
        put_le32(&mut t, 4, self.image_block);
        put_le32(&mut t, 8, self.image_len);
        put_le32(&mut t, 12, self.checksum);
        t
    }
}

/// Adds the little-endian 32-bit words of `bytes` to `sum` (a last partial word padded with
/// zeros).
fn add_words(sum: u32, bytes: &[u8]) -> u32 {
    bytes.chunks(4).fold(sum, |sum, w| {
        let mut word = [0u8; 4];
        word[..w.len()].copy_from_slice(w);
        sum.wrapping_add(u32::from_le_bytes(word))
    })
}

/// The boot-info checksum of a whole boot image, as mkisofs computes it: the sum of its
/// little-endian 32-bit words from byte 64 to the end.
pub fn checksum(image: &[u8]) -> u32 {
    add_words(0, image.get(TABLE_END..).unwrap_or_default())
}

/// The patches found in one boot image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Patches {
    pub table: Option<BootInfoTable>,
    /// True when the GRUB2 boot info matches the image's block.
    pub grub2: bool,
}

impl Patches {
    /// Patches `image` (the boot image's whole bytes, now at `block`, with the primary volume
    /// descriptor at `pvd_block`) the way this image was patched: GRUB2 boot info first, then
    /// the boot-info table, whose checksum covers it (as xorriso orders them).
    pub fn apply(&self, image: &mut [u8], pvd_block: u32, block: u32) -> Result<()> {
        if self.grub2 {
            let Some(at) = image.get_mut(GRUB2_OFFSET..GRUB2_OFFSET + 8) else {
                return Err(Error::unsupported(
                    "boot image",
                    format!(
                        "GRUB2 boot info in a boot image of {} bytes (it takes {})",
                        image.len(),
                        GRUB2_OFFSET + 8
                    ),
                ));
            };
            put_le64(at, 0, u64::from(block) * 4 + 5);
        }
        if self.table.is_some() {
            let table = BootInfoTable::for_image(image, pvd_block, block)?;
            image[TABLE_OFFSET..TABLE_END].copy_from_slice(&table.encode());
        }
        Ok(())
    }
}

/// Sum of the little-endian 32-bit words of `len` bytes from `offset`, as mkisofs computes the
/// boot-info checksum.
fn checksum_at(src: &dyn Source, offset: u64, len: u64) -> Result<Option<u32>> {
    if offset.checked_add(len).is_none_or(|end| end > src.len()) {
        return Ok(None);
    }
    let mut sum = 0u32;
    let mut buf = vec![0u8; 1 << 16];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(buf.len() as u64) as usize;
        src.read_exact_at(offset + done, &mut buf[..n], "boot image")?;
        sum = add_words(sum, &buf[..n]);
        done += n as u64;
    }
    Ok(Some(sum))
}

/// Looks for a boot-info table and GRUB2 boot info in the image that starts at `block`.
pub fn detect(src: &dyn Source, block: u32) -> Result<Patches> {
    let start = u64::from(block) * BLOCK;
    let mut head = [0u8; 24];
    let mut patches = Patches::default();
    if src.read_at(start, &mut head)? == head.len() {
        let f = Fields::new(&head, src.name(), "boot-info table", start);
        if f.le32(12)? == block {
            patches.table = detect_table(src, &f, start)?;
        }
    }
    let mut grub = [0u8; 8];
    let at = start + GRUB2_OFFSET as u64;
    if src.read_at(at, &mut grub)? == grub.len() {
        let f = Fields::new(&grub, src.name(), "GRUB2 boot info", at);
        patches.grub2 = f.le64(0)? == u64::from(block) * 4 + 5;
    }
    Ok(patches)
}

/// The table in the image at `start` whose first 24 bytes are `f`, if its length says more
/// than the table.
fn detect_table(src: &dyn Source, f: &Fields, start: u64) -> Result<Option<BootInfoTable>> {
    let image_len = f.le32(16)?;
    if image_len as usize <= TABLE_END {
        return Ok(None);
    }
    let checksum = f.le32(20)?;
    let len = u64::from(image_len) - TABLE_END as u64;
    let checksum_ok = if len <= MAX_CHECKSUM_BYTES {
        checksum_at(src, start + TABLE_END as u64, len)?.map(|sum| sum == checksum)
    } else {
        None
    };
    Ok(Some(BootInfoTable {
        pvd_block: f.le32(8)?,
        image_block: f.le32(12)?,
        image_len,
        checksum,
        checksum_ok,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    #[test]
    fn patched_image_is_detected() {
        let block = 3u32;
        let mut image: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
        let patches = Patches {
            table: Some(BootInfoTable::for_image(&image, 16, block).unwrap()),
            grub2: true,
        };
        patches.apply(&mut image, 16, block).unwrap();
        let mut disc = vec![0u8; block as usize * BLOCK as usize];
        disc.extend_from_slice(&image);
        let found = detect(&MemSource::new(disc, "t"), block).unwrap();
        let table = found.table.as_ref().unwrap();
        assert_eq!(table.checksum_ok, Some(true));
        assert_eq!(
            (table.pvd_block, table.image_block, table.image_len),
            (16, 3, 3000)
        );
        assert!(found.grub2);
        assert_eq!(table.checksum, checksum(&image));
    }

    #[test]
    fn short_images_take_no_patches() {
        let mut image = [0u8; 100];
        let grub2 = Patches {
            table: None,
            grub2: true,
        };
        assert!(grub2.apply(&mut image, 16, 20).is_err());
        assert!(BootInfoTable::for_image(&image[..10], 16, 20).is_err());
    }
}
