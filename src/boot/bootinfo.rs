//! The patches mastering tools write into a boot image, detected from its bytes: the
//! boot-info table (`-boot-info-table`, at byte 8: PVD block, image block, image length,
//! checksum of the image from byte 64) and GRUB2 boot info (`--grub2-boot-info`, at byte 2548:
//! the image's block × 4 + 5 as a 64-bit little-endian number).

use crate::error::Result;
use crate::source::Source;

use super::eltorito::BLOCK;
use super::{le32, le64};

/// Where GRUB2 boot info sits in a boot image.
pub const GRUB2_OFFSET: u64 = 2548;
/// The largest image whose boot-info checksum is verified (it means reading all of it).
const MAX_CHECKSUM_BYTES: u64 = 64 << 20;

/// A boot-info table found in an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootInfoTable {
    pub pvd_block: u32,
    pub image_len: u32,
    pub checksum: u32,
    /// Whether the checksum matches the image's bytes (`None` when the image was too large or
    /// ran past the end of the source).
    pub checksum_ok: Option<bool>,
}

/// The patches found in one boot image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Patches {
    pub table: Option<BootInfoTable>,
    /// True when the GRUB2 boot info matches the image's block.
    pub grub2: bool,
}

/// Sum of the little-endian 32-bit words of `len` bytes from `offset`, as mkisofs computes the
/// boot-info checksum.
fn checksum(src: &dyn Source, offset: u64, len: u64) -> Result<Option<u32>> {
    if offset.checked_add(len).is_none_or(|end| end > src.len()) {
        return Ok(None);
    }
    let mut sum = 0u32;
    let mut buf = vec![0u8; 1 << 16];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(buf.len() as u64) as usize;
        src.read_exact_at(offset + done, &mut buf[..n], "boot image")?;
        for w in buf[..n].chunks(4) {
            let mut word = [0u8; 4];
            word[..w.len()].copy_from_slice(w);
            sum = sum.wrapping_add(u32::from_le_bytes(word));
        }
        done += n as u64;
    }
    Ok(Some(sum))
}

/// Looks for a boot-info table and GRUB2 boot info in the image that starts at `block`.
pub fn detect(src: &dyn Source, block: u32) -> Result<Patches> {
    let start = u64::from(block) * BLOCK;
    let mut head = [0u8; 24];
    let mut patches = Patches::default();
    if src.read_at(start, &mut head)? == head.len() && le32(&head, 12) == block {
        let image_len = le32(&head, 16);
        if image_len > 64 {
            let len = u64::from(image_len) - 64;
            let checksum_ok = if len <= MAX_CHECKSUM_BYTES {
                checksum(src, start + 64, len)?.map(|sum| sum == le32(&head, 20))
            } else {
                None
            };
            patches.table = Some(BootInfoTable {
                pvd_block: le32(&head, 8),
                image_len,
                checksum: le32(&head, 20),
                checksum_ok,
            });
        }
    }
    let mut grub = [0u8; 8];
    if src.read_at(start + GRUB2_OFFSET, &mut grub)? == grub.len() {
        patches.grub2 = le64(&grub, 0) == u64::from(block) * 4 + 5;
    }
    Ok(patches)
}
