//! Boot replay: the original's system area and the bytes after its ISO data, re-addressed for
//! a new image that a writer laid out anew. The writer says where things went (a
//! [`Relocation`]: the exact old → new byte offsets of what it kept and moved, the original's
//! data end and the new one); [`Tail`] says where the bytes after the ISO data (padding,
//! appended partitions, the backup GPT) go, and [`relocate`] moves every partition entry (MBR,
//! GPT, APM) and the hybrid MBR's pointer with them, sizes the tables to the new image and
//! encodes the backup GPT at the new end.
//!
//! Choices where the tools leave room:
//! - Everything from the original's data end on (its padding, appended partitions, the backup
//!   GPT) moves as one piece, by a shift that keeps its alignment: the MBR's cylinder when the
//!   original was cylinder-aligned (isohybrid and xorriso's `cyl-align-on`), else a block.
//! - The volume space size counts the whole image when the original's did (xorriso), else
//!   the ISO's own blocks (isohybrid pads after the volume).
//! - A partition boundary must land on something the new image keeps: the system area, the
//!   start or end of a file that stays (an EFI image in the tree), the volume's end, the tail.
//!   HFS+ partitions that begin inside the ISO (grub-mkrescue's `-hfsplus` tree for Macs) are
//!   not rebuilt: they are dropped with a warning, with the gap fillers that no longer fit,
//!   and an APM left with nothing else is dropped with them.

use std::collections::BTreeMap;

use super::{apm, gpt, mbr, SystemArea, SYSTEM_AREA};
use crate::error::{Error, Result};

const SECTOR: u64 = 512;
const BLOCK: u64 = 2048;
/// GPT's type GUID of HFS+ (`48465300-0000-11AA-AA11-00306543ECAC`), as stored.
const HFS_PLUS: [u8; 16] = [
    0x00, 0x53, 0x46, 0x48, 0x00, 0x00, 0xaa, 0x11, 0xaa, 0x11, 0x00, 0x30, 0x65, 0x43, 0xec, 0xac,
];

/// Where the original's bytes after its data end go, and the new image's size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tail {
    /// The original's data end (bytes, a multiple of a block) and the new one.
    pub old_data_end: u64,
    pub new_data_end: u64,
    /// How far the tail moves (a multiple of the alignment; negative when the data shrank).
    pub shift: i64,
    /// The new image's size in bytes, and its volume space's (and the original's).
    pub new_len: u64,
    pub new_volume_end: u64,
    pub old_volume_end: u64,
    /// The original's bytes to copy after the new data: from its data end to here (the
    /// backup GPT, written anew, starts here when it ends the image).
    pub copy_end: u64,
}

impl Tail {
    /// Where the original's byte `old` (at or past its data end) is in the new image.
    pub fn moved(&self, old: u64) -> u64 {
        old.saturating_add_signed(self.shift)
    }

    /// The zeros between the new data end and the moved tail.
    pub fn gap(&self) -> u64 {
        self.moved(self.old_data_end) - self.new_data_end
    }
}

/// The geometry an MBR's entries were written with (heads per cylinder, sectors per head):
/// the first of 64/32 (isohybrid, xorriso), 255/63 (fdisk) and the one its largest values
/// suggest under which every entry's CHS values are those of its LBAs, entries clipped at
/// cylinder 1023 aside; `None` when none fits (the CHS values are then left as they are).
pub fn geometry(m: &mbr::Mbr) -> Option<(u64, u64)> {
    let cylinder = |chs: [u8; 3]| u16::from(chs[2]) | (u16::from(chs[1] & 0xc0) << 2);
    let pairs: Vec<([u8; 3], u64)> = m
        .entries()
        .flat_map(|e| {
            let last = u64::from(e.start) + u64::from(e.sectors).max(1) - 1;
            [(e.start_chs, u64::from(e.start)), (e.end_chs, last)]
        })
        .filter(|&(c, _)| cylinder(c) < 1023)
        .collect();
    let heads = pairs.iter().map(|(c, _)| u64::from(c[0]) + 1).max()?;
    let secs = pairs.iter().map(|(c, _)| u64::from(c[1] & 0x3f)).max()?;
    [(64, 32), (255, 63), (heads, secs)]
        .into_iter()
        .filter(|&(h, s)| h > 0 && s > 0)
        .find(|&g| pairs.iter().all(|&(c, lba)| chs(lba, g) == c))
}

/// The CHS address of sector `lba` in geometry `(heads, secs)`, as fdisk and xorriso encode it
/// (cylinders past 1023 clipped to 1023, the last head and sector).
pub fn chs(lba: u64, (heads, secs): (u64, u64)) -> [u8; 3] {
    let cyl = lba / (heads * secs);
    let (c, h, s) = if cyl > 1023 {
        (1023, heads - 1, secs)
    } else {
        (cyl, (lba / secs) % heads, lba % secs + 1)
    };
    [h as u8, (s as u8 & 0x3f) | (((c >> 8) as u8) << 6), c as u8]
}

/// The sectors of a GPT's backup (its entry array and header), which a replay writes anew in
/// the image's last sectors.
fn backup_sectors(g: &gpt::Gpt) -> u64 {
    (u64::from(g.array_entries) * u64::from(g.entry_size)).div_ceil(SECTOR) + 1
}

impl Tail {
    /// The tail of the image `sys` was read from, whose data ended at `old_data_end`, behind
    /// new data ending at `new_data_end` (both multiples of a block).
    pub fn of(sys: &SystemArea, old_data_end: u64, new_data_end: u64) -> Tail {
        let old_len = sys.image_len.max(old_data_end);
        // Cylinder-aligned: the image's end, or its appended partitions' starts when it has
        // some, fall on the MBR's cylinders.
        let appended: Vec<u64> = sys
            .partitions
            .iter()
            .filter(|p| p.appended)
            .map(|p| p.start)
            .collect();
        let aligned = |cyl: u64| match appended.is_empty() {
            true => old_len.is_multiple_of(cyl) && old_len > old_data_end,
            false => appended.iter().all(|s| s.is_multiple_of(cyl)),
        };
        let align = sys
            .mbr
            .as_ref()
            .filter(|m| !m.protective())
            .map(|m| {
                let (h, s) = geometry(m).unwrap_or((64, 32));
                h * s * SECTOR
            })
            .filter(|&cyl| aligned(cyl))
            .unwrap_or(BLOCK);
        let grow = new_data_end as i128 - old_data_end as i128;
        let shift = (grow.div_euclid(align as i128)
            + i128::from(grow.rem_euclid(align as i128) != 0))
            * align as i128;
        let shift = shift as i64;
        let new_len = old_len.saturating_add_signed(shift);
        let old_volume_end = sys
            .volume
            .as_ref()
            .map_or(old_len, |v| u64::from(v.volume_space_size) * BLOCK);
        // The volume counts the whole image (xorriso), or ends on a cylinder before the
        // appended partitions (xorriso's cylinder-aligned images: it moves with them), or ends
        // where the ISO's padding does (isohybrid pads after it: it grows with the data).
        let new_volume_end = if old_volume_end >= old_len {
            new_len
        } else if align > BLOCK
            && old_volume_end.is_multiple_of(align)
            && old_volume_end >= old_data_end
        {
            old_volume_end.saturating_add_signed(shift)
        } else {
            old_volume_end
                .max(old_data_end)
                .saturating_add_signed(grow as i64)
        };
        let copy_end = sys.gpt.as_ref().map_or(old_len, |g| {
            old_len.saturating_sub(backup_sectors(g) * SECTOR)
        });
        Tail {
            old_data_end,
            new_data_end,
            shift,
            new_len,
            new_volume_end,
            old_volume_end,
            copy_end: copy_end.clamp(old_data_end, old_len),
        }
    }
}

/// A file the writer kept and moved: where its data starts now, and its size before and now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moved {
    pub start: u64,
    pub old_size: u64,
    pub new_size: u64,
}

/// Where the original's byte offsets are in the new image.
#[derive(Clone, Debug)]
pub struct Relocation {
    /// The files inside the ISO the writer moved, by the offset their data started at.
    pub files: BTreeMap<u64, Moved>,
    pub tail: Tail,
    /// Where the data was only added to (an in-place commit), not rewritten: a range that
    /// ends at the original's data end ends there still, the new data going after it.
    pub appended: bool,
}

impl Relocation {
    /// The new offset of the original's byte `old`, when something the new image keeps
    /// begins or ends there: where a partition ends at the volume's end (`end`), the new
    /// volume's end; where one begins there, what followed the volume (an appended
    /// partition), moved with the tail.
    pub fn map(&self, old: u64, end: bool) -> Option<u64> {
        if let Some(f) = self.files.get(&old) {
            Some(f.start)
        } else if old <= SYSTEM_AREA {
            Some(old)
        } else if end && old == self.tail.old_volume_end {
            Some(self.tail.new_volume_end)
        } else if end && self.appended && old == self.tail.old_data_end {
            Some(old)
        } else if old >= self.tail.old_data_end {
            Some(self.tail.moved(old))
        } else {
            None
        }
    }

    /// The new start and length of a range in `unit`s: a file's data (its size rounded to a
    /// sector or a block), or a range whose ends [`Relocation::map`] moves.
    fn range(&self, start: u64, len: u64, unit: u64) -> Option<(u64, u64)> {
        let old = start.checked_mul(unit)?;
        let old_end = start.checked_add(len)?.checked_mul(unit)?;
        if let Some(f) = self.files.get(&old) {
            for round in [512, 2048] {
                if old_end - old == f.old_size.div_ceil(round) * round {
                    let end = f.start + f.new_size.div_ceil(round) * round;
                    return Some((f.start / unit, end.div_ceil(unit) - f.start / unit));
                }
            }
        }
        let s = self.map(old, false)?;
        let e = self.map(old_end, true)?;
        (s.is_multiple_of(unit) && e.is_multiple_of(unit) && e >= s)
            .then(|| (s / unit, (e - s) / unit))
    }
}

/// Every byte offset where a partition of `sys` begins or ends: the places a writer must say
/// the new offset of, when it keeps what lies there.
pub fn boundaries(sys: &SystemArea) -> Vec<u64> {
    let mut out = Vec::new();
    for e in sys.mbr.iter().flat_map(|m| m.entries()) {
        out.push(u64::from(e.start) * SECTOR);
        out.push((u64::from(e.start) + u64::from(e.sectors)) * SECTOR);
    }
    for e in sys.gpt.iter().flat_map(|g| &g.entries) {
        out.push(e.first.saturating_mul(SECTOR));
        out.push(e.last.saturating_add(1).saturating_mul(SECTOR));
    }
    if let Some(a) = &sys.apm {
        let bs = u64::from(a.block_size());
        for e in &a.entries {
            out.push(u64::from(e.start) * bs);
            out.push((u64::from(e.start) + u64::from(e.blocks)) * bs);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// GPT's type GUID of an EFI system partition (`C12A7328-F81F-11D2-BA4B-00A0C93EC93B`), as
/// stored.
const EFI_SYSTEM: [u8; 16] = [
    0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b,
];

/// Adds an MBR entry of type 0xef for the EFI image at byte `start` (`len` bytes) in the
/// first free slot, its CHS values the "beyond CHS" ones xorriso writes for it.
fn add_mbr_efi(m: &mut mbr::Mbr, start: u64, len: u64, warnings: &mut Vec<String>) {
    let (Ok(first), Ok(sectors)) = (
        u32::try_from(start / SECTOR),
        u32::try_from(len.div_ceil(SECTOR)),
    ) else {
        warnings.push("the MBR cannot point at an EFI image past 2 TiB: no entry added".into());
        return;
    };
    match m.slots.iter_mut().find(|e| !e.used()) {
        Some(e) => {
            *e = mbr::MbrEntry {
                number: e.number,
                status: 0,
                kind: 0xef,
                start_chs: [0xfe, 0xff, 0xff],
                end_chs: [0xfe, 0xff, 0xff],
                start: first,
                sectors,
            }
        }
        None => warnings.push("the MBR has no free entry for the EFI image: none added".into()),
    }
}

/// Adds a GPT entry (EFI system partition type) for the EFI image at byte `start` (`len`
/// bytes) in the first free slot of `g`'s array.
fn add_gpt_efi(g: &mut gpt::Gpt, start: u64, len: u64, warnings: &mut Vec<String>) {
    let used: Vec<usize> = g.entries.iter().map(|e| e.number).collect();
    let Some(number) = (1..=g.array_entries as usize).find(|n| !used.contains(n)) else {
        warnings.push("the GPT has no free entry for the EFI image: none added".into());
        return;
    };
    let mut guid = g.disk_guid.0;
    guid[15] ^= number as u8;
    guid[14] ^= 0xe1;
    let mut name_units = [0u16; gpt::NAME_UNITS];
    for (u, c) in name_units.iter_mut().zip("EFI boot image".encode_utf16()) {
        *u = c;
    }
    let first = start / SECTOR;
    g.entries.push(gpt::GptEntry {
        number,
        type_guid: gpt::Guid(EFI_SYSTEM),
        guid: gpt::Guid(guid),
        first,
        last: first + len.div_ceil(SECTOR).max(1) - 1,
        attributes: 0,
        name_units,
        rest: Vec::new(),
    });
    g.entries.sort_by_key(|e| e.number);
}

/// The warning for an HFS+ partition left out.
fn hfs(table: &str, number: usize, name: &str) -> String {
    format!("{table} partition {number} ({name}, an HFS+ tree for Macs) is not rebuilt: dropped")
}

/// The new system area and the backup GPT at the new end.
#[derive(Clone, Debug)]
pub struct Relocated {
    /// The 32 KiB system area.
    pub area: Vec<u8>,
    /// The backup GPT's entry array and header, to be written at this offset (the image's
    /// last sectors, where [`Tail::copy_end`] ends the copied tail).
    pub backup: Option<(u64, Vec<u8>)>,
    /// What was dropped, for the user.
    pub warnings: Vec<String>,
}

/// The system area of `sys` moved by `r`, its hybrid MBR pointing at the boot image now at
/// `boot_block` (when its code chains to one), with a partition for each EFI image of
/// `efi` (byte start and length) added. `image` names the original in errors. A partition
/// that cannot move stops the replay, or with `drop` is left out with a warning.
pub fn relocate(
    sys: &SystemArea,
    r: &Relocation,
    boot_block: Option<(mbr::Chain, u32)>,
    efi: &[(u64, u64)],
    image: &str,
    drop: bool,
) -> Result<Relocated> {
    let mut sys = sys.clone();
    let mut warnings = Vec::new();
    let new_len = r.tail.new_len;
    // A partition that cannot move: an error, or the warning when it is dropped.
    let unmoved = |table: &str, number: usize, start: u64, len: u64, unit: u64| {
        let what = format!(
            "{table} partition {number} (bytes {} to {}): nothing the new image keeps begins or \
             ends there",
            start.saturating_mul(unit),
            start.saturating_add(len).saturating_mul(unit)
        );
        if drop {
            Ok(format!("{what}: dropped"))
        } else {
            Err(Error::unsupported(
                image,
                format!(
                    "replaying {what} (a boot file removed?); `commit --drop-boot` writes the \
                     image without it; nothing written"
                ),
            ))
        }
    };
    if let Some(m) = &mut sys.mbr {
        let geo = geometry(m);
        for e in m.slots.iter_mut().filter(|e| e.used()) {
            let (start, sectors) = if e.kind == 0xee {
                let whole = (new_len / SECTOR)
                    .saturating_sub(1)
                    .min(u64::from(u32::MAX));
                (u64::from(e.start), whole)
            } else {
                match r.range(u64::from(e.start), u64::from(e.sectors), SECTOR) {
                    Some(moved) => moved,
                    None => {
                        let (start, sectors) = (u64::from(e.start), u64::from(e.sectors));
                        warnings.push(unmoved("MBR", e.number, start, sectors, SECTOR)?);
                        *e = mbr::MbrEntry {
                            number: e.number,
                            ..mbr::MbrEntry::default()
                        };
                        continue;
                    }
                }
            };
            let fits = |v: u64| u32::try_from(v).ok();
            let (Some(new_start), Some(new_sectors)) = (fits(start), fits(sectors)) else {
                return Err(Error::unsupported(
                    image,
                    format!("MBR partition {} past 2 TiB", e.number),
                ));
            };
            if let Some(geo) = geo {
                let last = |start: u64, sectors: u64| start + sectors.max(1) - 1;
                if e.end_chs == chs(last(u64::from(e.start), u64::from(e.sectors)), geo) {
                    e.end_chs = chs(last(start, sectors), geo);
                }
                if e.start_chs == chs(u64::from(e.start), geo) {
                    e.start_chs = chs(start, geo);
                }
            }
            e.start = new_start;
            e.sectors = new_sectors;
        }
        if let Some((chain, block)) = boot_block {
            m.set_boot_image(chain, block);
        }
        if !m.protective() {
            for &(start, len) in efi {
                add_mbr_efi(m, start, len, &mut warnings);
            }
        }
    }
    let mut backup = None;
    // A GPT whose CRCs fail is garbage to re-encode: refused, or with `drop` left out (its
    // header blanked, so nothing reads it).
    if let Some(g) = sys.gpt.as_ref().filter(|g| !g.valid()) {
        let what = format!(
            "the GPT at sector {} ({})",
            g.header_sector,
            g.problems.join("; ")
        );
        if !drop {
            return Err(Error::corrupt(
                image,
                "GPT header",
                g.header_sector.saturating_mul(SECTOR),
                format!(
                    "{what}: not replayed; `commit --drop-boot` writes the image without it; \
                     nothing written"
                ),
            ));
        }
        warnings.push(format!("{what}: dropped"));
        let at = g.header_sector.saturating_mul(SECTOR) as usize;
        if let Some(h) = sys.bytes.get_mut(at..at.saturating_add(SECTOR as usize)) {
            h.fill(0);
        }
        sys.gpt = None;
        sys.gpt_backup = None;
    }
    if let Some(g) = &mut sys.gpt {
        let last = new_len / SECTOR - 1;
        let array_sectors = backup_sectors(g) - 1;
        let backup_array = last.saturating_sub(array_sectors);
        let old_backup_array = g.backup.saturating_sub(array_sectors);
        let mut kept = Vec::new();
        for e in std::mem::take(&mut g.entries) {
            match r.range(e.first, e.sectors(), SECTOR) {
                Some((first, sectors)) => kept.push(gpt::GptEntry {
                    first,
                    last: first + sectors.max(1) - 1,
                    ..e
                }),
                None if super::is_gap_filler_name(&e.name()) => {}
                None if e.type_guid.0 == HFS_PLUS => warnings.push(hfs("GPT", e.number, &e.name())),
                None => warnings.push(unmoved("GPT", e.number, e.first, e.sectors(), SECTOR)?),
            }
        }
        g.entries = kept;
        for &(start, len) in efi {
            add_gpt_efi(g, start, len, &mut warnings);
        }
        let usable_end = g.last_usable.saturating_add(1);
        g.last_usable = match usable_end.checked_mul(SECTOR) {
            Some(end) if usable_end < old_backup_array => r
                .map(end, true)
                .map_or(backup_array - 1, |e| (e / SECTOR).max(1) - 1),
            _ => backup_array - 1,
        };
        g.backup = last;
        let b = g.backup();
        let mut bytes = b.encode_array()?;
        bytes.resize((array_sectors * SECTOR) as usize, 0);
        bytes.extend_from_slice(&b.encode_header()?);
        backup = Some((b.array_sector * SECTOR, bytes));
        if let Some(old) = &mut sys.gpt_backup {
            *old = b;
        }
    }
    if let Some(a) = &mut sys.apm {
        let bs = u64::from(a.block_size());
        let old_count = a.entries.len();
        let mut kept = Vec::new();
        let mut dropped_hfs = false;
        for e in std::mem::take(&mut a.entries) {
            if e.kind() == "Apple_partition_map" {
                kept.push(e);
                continue;
            }
            match r.range(u64::from(e.start), u64::from(e.blocks), bs) {
                Some((start, blocks)) => {
                    let fits = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
                    let data_count = if e.data_count == e.blocks {
                        fits(blocks)
                    } else {
                        e.data_count
                    };
                    kept.push(apm::ApmEntry {
                        start: fits(start),
                        blocks: fits(blocks),
                        data_count,
                        ..e
                    });
                }
                None if e.kind() == "Apple_HFS" => {
                    dropped_hfs = true;
                    warnings.push(hfs("APM", e.number, &e.name()));
                }
                None if dropped_hfs || super::is_gap_filler_name(&e.name()) => {}
                None => warnings.push(unmoved(
                    "APM",
                    e.number,
                    u64::from(e.start),
                    u64::from(e.blocks),
                    bs,
                )?),
            }
        }
        let count = kept.len() as u32;
        for (i, e) in kept.iter_mut().enumerate() {
            e.number = i + 1;
            e.map_entries = count;
        }
        // Blank the entries no longer there, then write those that are.
        let first = bs as usize;
        let old_end = first + (old_count + 1) * bs as usize;
        let end = old_end.min(sys.bytes.len());
        if let Some(area) = sys.bytes.get_mut(first..end) {
            area.fill(0);
        }
        // Block 0 is the MBR's too: the driver map is read again from the MBR as it now is
        // (its code holds whatever the map's driver fields span), its block count set.
        if let Some(m) = &sys.mbr {
            let block0 = m.encode();
            let f = crate::ondisk::Fields::new(&block0, image, "APM driver map", 0);
            a.driver_map = apm::DriverMap::decode(&f)?;
        }
        a.driver_map.block_count = u32::try_from(new_len / bs).unwrap_or(u32::MAX);
        a.entries = kept;
        if a.entries
            .iter()
            .all(|e| e.kind() == "Apple_partition_map" || super::is_gap_filler_name(&e.name()))
        {
            warnings.push("the APM held nothing else: dropped".into());
            sys.apm = None;
        }
    }
    Ok(Relocated {
        area: sys.encode()?,
        backup,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chs_as_fdisk_encodes_it() {
        assert_eq!(chs(0, (64, 32)), [0, 1, 0]);
        assert_eq!(chs(2047, (64, 32)), [63, 32, 0]);
        assert_eq!(chs(64 * 32 * 1024, (64, 32)), [63, 32 | 0xc0, 0xff]);
    }
}
