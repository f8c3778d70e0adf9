//! The attributes of entries the writer made again. fatfs 0.3 cannot set an entry's
//! attributes: a file or directory of the original that the writer removes and writes anew
//! (its data changed, or it was renamed) would lose its read-only, hidden and system flags.
//! [`Marked`] holds where fatfs wrote while it made such an entry, and [`restore`] finds the
//! entry's short (8.3) slot among those writes once fatfs is done and sets the flags in it.

use std::io::{self, Seek, SeekFrom, Write};

use super::super::chain::entries_from;
use super::dots::read_at;
use super::scratch::Scratch;
use crate::error::{Error, Result};
use crate::ondisk::Fields;

/// Bytes of a directory entry.
const ENTRY: u64 = 32;

/// The attribute bits kept: read-only, hidden and system (fatfs sets archive itself).
pub(super) const KEPT: u8 = 0x01 | 0x02 | 0x04;

/// The long-name attribute value, and the volume label and directory bits.
const LFN: u8 = 0x0f;
const LABEL: u8 = 0x08;
const DIRECTORY: u8 = 0x10;

/// An entry made again that had attributes to keep: fatfs's writes while it made the entry
/// (offset, length), the entry's path (for errors), whether it is a directory, and the bits.
pub(super) struct Marked {
    pub(super) writes: Vec<(u64, u64)>,
    pub(super) path: String,
    pub(super) is_dir: bool,
    pub(super) attrs: u8,
}

/// The checksum of a short name that its long-name slots carry (byte 13).
fn checksum(short: &[u8]) -> u8 {
    short
        .iter()
        .fold(0u8, |sum, &b| sum.rotate_right(1).wrapping_add(b))
}

/// Whether `slot` is the short entry of a file (or a directory, `is_dir`), not `.` or `..`.
fn is_short(slot: &[u8; ENTRY as usize], is_dir: bool) -> bool {
    let attr = slot[11];
    !matches!(slot[0], 0 | 0xe5 | b'.')
        && attr & LFN != LFN
        && attr & LABEL == 0
        && (attr & DIRECTORY != 0) == is_dir
}

/// Sets each marked entry's attributes in `disk` (named `image` in errors). The entry is the
/// last short slot fatfs wrote while it made it (past the boot sector and the tables), whose
/// long-name slot before it (if any) carries its checksum.
pub(super) fn restore(disk: &mut Scratch, marked: &[Marked], image: &str) -> Result<()> {
    if marked.is_empty() {
        return Ok(());
    }
    let io = |e: io::Error| Error::io(image, e);
    let mut boot = [0u8; 48];
    read_at(disk, 0, &mut boot).map_err(io)?;
    let entries_from = entries_from(&Fields::new(&boot, image, "FAT boot sector", 0))?;
    for m in marked {
        // fatfs writes an entry field by field: every slot a write touched, last first.
        let mut slots: Vec<u64> = Vec::new();
        for &(at, len) in m.writes.iter().rev() {
            for slot in ((at / ENTRY)..(at + len).div_ceil(ENTRY)).rev() {
                let slot = slot * ENTRY;
                if slot >= entries_from && !slots.contains(&slot) {
                    slots.push(slot);
                }
            }
        }
        let mut found = None;
        for at in slots {
            let mut slot = [0u8; ENTRY as usize];
            read_at(disk, at, &mut slot).map_err(io)?;
            if !is_short(&slot, m.is_dir) {
                continue;
            }
            let mut before = [0u8; ENTRY as usize];
            let named = at < entries_from + ENTRY
                || read_at(disk, at - ENTRY, &mut before).is_err()
                || before[11] != LFN
                || before[13] == checksum(&slot[..11]);
            if named {
                found = Some((at, slot[11]));
                break;
            }
        }
        let (at, attr) = found.ok_or_else(|| {
            Error::corrupt(
                image,
                "FAT directory entry",
                0,
                format!("/{}: the entry fatfs made was not found", m.path),
            )
        })?;
        disk.seek(SeekFrom::Start(at + 11)).map_err(io)?;
        disk.write_all(&[attr | m.attrs]).map_err(io)?;
    }
    Ok(())
}
