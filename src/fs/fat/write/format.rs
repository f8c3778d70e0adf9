//! A new FAT volume for the tree: when `resize-fat` asked for another size, or the label
//! changed (fatfs cannot rewrite it in place), the writer formats a volume of the size
//! wanted with what the original's boot sector can pass on (sector size, number of FATs,
//! media byte, root directory entries, the serial, the FAT type where it suits the new size)
//! and the label, and copies the whole tree into it.

use fatfs::{FatType, FormatVolumeOptions};

use super::scratch::Scratch;
use super::{rebuilt_name, Edits};
use crate::error::{Error, Result};
use crate::fs::fat::FatFs;
use crate::fs::FileSystem;
use crate::ondisk::Fields;
use crate::plan::Plan;

const STRUCTURE: &str = "FAT boot sector";

/// A volume of `size` bytes holding `tree`, made after `original`.
pub(super) fn plan(original: &FatFs, tree: &dyn FileSystem, size: u64) -> Result<Plan> {
    let source = original.source();
    let image = source.name();
    let sector = source.read_vec(0, 90, STRUCTURE)?;
    let f = Fields::new(&sector, image, STRUCTURE, 0);
    let bytes_per_sector = f.le16(11)?;
    let fat32 = original.fat_type == "FAT32";
    let serial = f.le32(if fat32 { 67 } else { 39 })?;
    let sector = u64::from(bytes_per_sector.max(1));
    let sectors = size / sector;
    if !size.is_multiple_of(sector) || sectors > u64::from(u32::MAX) {
        return Err(Error::Usage(format!(
            "{image}: a FAT volume of {size} bytes: the size must be a multiple of the \
             {bytes_per_sector}-byte sector, at most {} sectors",
            u32::MAX
        )));
    }
    let mut options = FormatVolumeOptions::new()
        .bytes_per_sector(bytes_per_sector)
        .total_sectors(sectors as u32)
        .fats(f.u8(16)?.max(1))
        .media(f.u8(21)?)
        .volume_id(serial);
    if let Some(wanted) = tree.label() {
        let mut label = [b' '; 11];
        for (to, from) in label.iter_mut().zip(wanted.bytes()) {
            *to = from;
        }
        options = options.volume_label(label);
    }
    if !fat32 {
        options = options.max_root_dir_entries(f.le16(17)?);
    }
    let same_type = match original.fat_type {
        "FAT12" => FatType::Fat12,
        "FAT16" => FatType::Fat16,
        _ => FatType::Fat32,
    };
    let mut disk = Scratch::zeros(size, image)?;
    // The original's type where the new size allows it, else the one that suits the size.
    if fatfs::format_volume(&mut disk, options.clone().fat_type(same_type)).is_err() {
        disk = Scratch::zeros(size, image)?;
        fatfs::format_volume(&mut disk, options).map_err(|e| {
            Error::Usage(format!(
                "{image}: cannot format a FAT volume of {size} bytes: {e}"
            ))
        })?;
    }
    let mut edits = Edits::default();
    for e in tree.read_dir(tree.root())? {
        let at = super::child("", &e.name)?;
        edits.add(original, tree, e.ino, e.meta, at)?;
    }
    edits.apply(&mut disk, tree, image)?;
    disk.into_plan(rebuilt_name(image))
}
