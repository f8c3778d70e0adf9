//! The FAT's cluster chains, checked before fatfs follows them: fatfs takes every value the
//! table holds that is not free, bad or an end mark for the next cluster, and its cluster
//! arithmetic overflows on 1 (a reserved value) or on one past the volume's last cluster. A
//! chain is read here first, from the boot sector's layout, and a link it cannot have is an
//! error naming the table entry; a directory's chain that comes back to a cluster it has
//! passed is a loop.

use std::collections::HashSet;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::ondisk::Fields;
use crate::source::Source;

/// Where the FAT fatfs reads lies, and how its entries are read.
pub(super) struct Table {
    /// Byte offset of the table fatfs reads (the first, or FAT32's active one).
    at: u64,
    /// Bits per entry: 12, 16 or 32.
    bits: u8,
    /// The volume's highest cluster number.
    max: u64,
}

const STRUCTURE: &str = "FAT table";

/// Sectors per FAT, from the boot sector's fields.
fn fat_sectors(boot: &Fields) -> Result<u64> {
    Ok(match boot.le16(22)? {
        0 => u64::from(boot.le32(36)?),
        n => u64::from(n),
    })
}

/// Byte offset of the first directory entry a volume can hold, from its boot sector's
/// fields: FAT12's and FAT16's root directory region, or FAT32's data region (everything
/// before is boot sector and tables).
pub(super) fn entries_from(boot: &Fields) -> Result<u64> {
    let bps = u64::from(boot.le16(11)?);
    let reserved = u64::from(boot.le16(14)?);
    let fats = u64::from(boot.u8(16)?);
    Ok((reserved + fats * fat_sectors(boot)?) * bps)
}

/// Bytes of the table read at a time while a chain is followed.
const PAGE: u64 = 4096;

impl Table {
    /// The layout the boot sector of `source` gives (fatfs has already accepted it).
    pub(super) fn read(source: &Arc<dyn Source>, fat_type: fatfs::FatType) -> Result<Table> {
        let image = source.name();
        let sector = source.read_vec(0, 48, "FAT boot sector")?;
        let f = Fields::new(&sector, image, "FAT boot sector", 0);
        let bps = u64::from(f.le16(11)?);
        let spc = u64::from(f.u8(13)?).max(1);
        let reserved = u64::from(f.le16(14)?);
        let fats = u64::from(f.u8(16)?);
        let root_sectors = (u64::from(f.le16(17)?) * 32).div_ceil(bps.max(1));
        let total = match f.le16(19)? {
            0 => u64::from(f.le32(32)?),
            n => u64::from(n),
        };
        let fat_sectors = fat_sectors(&f)?;
        let (bits, active) = match fat_type {
            fatfs::FatType::Fat12 => (12, 0),
            fatfs::FatType::Fat16 => (16, 0),
            fatfs::FatType::Fat32 => {
                // Extended flags: bit 7 set means only the FAT numbered in bits 0-3 is used.
                let flags = f.le16(40)?;
                (32, if flags & 0x80 != 0 { flags & 0x0f } else { 0 })
            }
        };
        let data = reserved + fats * fat_sectors + root_sectors;
        Ok(Table {
            at: (reserved + u64::from(active) * fat_sectors) * bps,
            bits,
            max: total.saturating_sub(data) / spc + 1,
        })
    }

    /// Byte offset of cluster `c`'s entry.
    fn entry(&self, c: u64) -> u64 {
        self.at
            + match self.bits {
                12 => c + c / 2,
                16 => c * 2,
                _ => c * 4,
            }
    }

    /// The value of cluster `c`'s entry, as fatfs reads it: `None` when it ends the chain
    /// (free, bad or an end mark). The table is read through `page`, the last [`PAGE`] bytes
    /// read of it (from the offset it holds), so a long chain costs few reads.
    fn next(&self, source: &dyn Source, page: &mut (u64, Vec<u8>), c: u64) -> Result<Option<u64>> {
        let width = if self.bits == 32 { 4 } else { 2 };
        let at = self.entry(c);
        let within = at.checked_sub(page.0).map(|d| d as usize);
        let raw = match within.and_then(|d| page.1.get(d..d + width)) {
            Some(raw) => raw,
            None => {
                let len = PAGE.min(source.len().saturating_sub(at)).max(width as u64);
                *page = (at, source.read_vec(at, len as usize, STRUCTURE)?);
                &page.1[..width]
            }
        };
        let (value, bad) = match self.bits {
            12 => {
                let v = u16::from_le_bytes([raw[0], raw[1]]);
                (
                    u64::from(if c & 1 == 0 { v & 0xfff } else { v >> 4 }),
                    0xff7,
                )
            }
            16 => (u64::from(u16::from_le_bytes([raw[0], raw[1]])), 0xfff7),
            _ => (
                u64::from(u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) & 0x0fff_ffff),
                0x0fff_fff7,
            ),
        };
        Ok((value != 0 && value < bad).then_some(value))
    }

    /// Follows the chain of `path` (whose directory entry is at byte `entry`) from its first
    /// cluster `first` (0: none) through `clusters` clusters (the whole chain when `None`, as
    /// for a directory, which must not loop), checking every link before fatfs would use it.
    /// A file whose chain ends before `clusters` is an error too: its data is not all there.
    pub(super) fn check(
        &self,
        source: &dyn Source,
        (first, entry): (u64, u64),
        clusters: Option<u64>,
        path: &[u8],
    ) -> Result<()> {
        let image = source.name();
        let path = String::from_utf8_lossy(path);
        let mut seen = HashSet::new();
        let mut page = (0, Vec::new());
        let mut current = (first != 0).then_some(first);
        let (mut count, mut last) = (0u64, None);
        while let Some(c) = current {
            count += 1;
            last = Some(c);
            if clusters.is_some_and(|n| count >= n) {
                return Ok(());
            }
            if clusters.is_none() && !seen.insert(c) {
                return Err(Error::corrupt(
                    image,
                    STRUCTURE,
                    self.entry(c),
                    format!("{path}: the directory's cluster chain comes back to cluster {c} (a cluster loop)"),
                ));
            }
            current = self.next(source, &mut page, c)?;
            if let Some(n) = current.filter(|&n| n == 1 || n > self.max) {
                return Err(Error::corrupt(
                    image,
                    STRUCTURE,
                    self.entry(c),
                    format!(
                        "{path}: cluster {c} is followed by cluster {n}, outside the volume (2 to {})",
                        self.max
                    ),
                ));
            }
        }
        match clusters {
            Some(n) if count < n => Err(Error::corrupt(
                image,
                if last.is_some() { STRUCTURE } else { "FAT directory entry" },
                last.map_or(entry, |c| self.entry(c)),
                format!("{path}: the cluster chain ends after {count} clusters; the file's size needs {n}"),
            )),
            _ => Ok(()),
        }
    }
}
