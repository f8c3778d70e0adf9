//! Everything that makes an image bootable, read from its bytes: the El Torito catalog and the
//! patches in its boot images, and the system area (MBR, GPT, APM, partition offset, appended
//! partitions). [`Layout::read`] gathers them; [`partitions`] is what the session shows as
//! `/dev/sda1`, `/dev/sda2`.... One on-disk structure per file below this module, each with
//! its encoder beside its decoder; what the commands print about a layout is theirs
//! (`commands::boot`).

pub mod apm;
pub mod bootinfo;
pub mod ebr;
pub mod edits;
pub mod eltorito;
pub mod gpt;
pub mod isomd5;
pub mod mbr;
pub mod md5tags;
pub mod replay;

use std::collections::{HashMap, HashSet};

use crate::error::Result;
use crate::fs::{FileKind, FileSystem, Ino};
use crate::source::Source;

use eltorito::{BootEntry, BootRecord, Catalog, BLOCK};

const SECTOR: u64 = 512;

/// Which table a partition comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Mbr,
    Gpt,
    Apm,
}

impl Table {
    /// `MBR`, `GPT`, `APM`.
    pub fn name(self) -> &'static str {
        match self {
            Table::Mbr => "MBR",
            Table::Gpt => "GPT",
            Table::Apm => "APM",
        }
    }
}

/// A partition as the session shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    /// The number in the device name (`/dev/sda2` is 2): the entry's slot in its table.
    pub number: usize,
    pub table: Table,
    /// Byte offset and length in the image (the length clipped to the image).
    pub start: u64,
    pub len: u64,
    /// The type: `0xef`, a GPT type GUID, an APM type string.
    pub kind: String,
    /// A readable type name, when known.
    pub kind_name: Option<&'static str>,
    /// The GPT or APM name.
    pub name: String,
    /// True when it lies after the ISO filesystem's end (`-append_partition`).
    pub appended: bool,
}

impl Partition {
    /// The byte just past the partition.
    pub fn end(&self) -> u64 {
        self.start + self.len
    }

    /// True when `other` lies wholly inside this partition.
    pub fn contains(&self, other: &Partition) -> bool {
        self.start <= other.start && other.end() <= self.end()
    }
}

/// What the MBR's boot code is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MbrCode {
    /// No code (all zeros).
    Empty,
    /// syslinux's isohybrid MBR, pointing at the boot image with this index in
    /// [`Layout::images`].
    Isohybrid(usize),
    /// GRUB2's hybrid MBR, pointing at that image.
    Grub2(usize),
    /// Code that points at no boot image isofish recognises.
    Other,
}

impl MbrCode {
    /// The kind of hybrid code and the index of the boot image it chains to, when it chains
    /// to one: what [`mbr::Mbr::set_boot_image`] takes when that image moves.
    pub fn chain(&self) -> Option<(mbr::Chain, usize)> {
        match *self {
            MbrCode::Isohybrid(i) => Some((mbr::Chain::Isohybrid, i)),
            MbrCode::Grub2(i) => Some((mbr::Chain::Grub2, i)),
            MbrCode::Empty | MbrCode::Other => None,
        }
    }
}

/// A file found in the ISO tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeFile {
    pub path: String,
    pub size: u64,
}

/// Where a boot image's bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The data of a file in the tree.
    File(TreeFile),
    /// Inside a partition no file names (`-append_partition` for EFI, as Debian does).
    Partition(Partition),
    /// Nowhere any file or partition names.
    Hidden,
}

/// One boot image: its catalog entry, its patches and where its bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub entry: BootEntry,
    pub patches: bootinfo::Patches,
    pub location: Location,
    /// For hard disk emulation: the size of the emulated disk in bytes, from the partition
    /// table in the image's first sector.
    pub emulated_disk: Option<u64>,
}

impl Image {
    /// The bytes the firmware reads: the emulated disk for hard disk emulation, else what the
    /// entry says ([`BootEntry::load_bytes`]).
    pub fn load_bytes(&self) -> u64 {
        self.emulated_disk
            .unwrap_or_else(|| self.entry.load_bytes())
    }

    /// The byte offset of the image in the source.
    pub fn start(&self) -> u64 {
        u64::from(self.entry.load_rba) * BLOCK
    }

    /// The whole image: the file, or the partition from the image's start to its end, or what
    /// the firmware loads when nothing says more.
    pub fn whole_len(&self) -> u64 {
        match &self.location {
            Location::File(f) => f.size,
            Location::Partition(p) => p.end().saturating_sub(self.start()),
            Location::Hidden => self.load_bytes(),
        }
    }
}

/// The size of the system area: the 16 blocks before the volume descriptors.
pub const SYSTEM_AREA: u64 = 16 * BLOCK;

/// The system area and the partition tables in it.
#[derive(Clone, Debug)]
pub struct SystemArea {
    /// The system area's bytes as they are (fewer when the source is shorter): the bytes the
    /// tables below lie in, boot code and all, which [`SystemArea::encode`] writes them over.
    pub bytes: Vec<u8>,
    /// The source's size in bytes.
    pub image_len: u64,
    /// The primary volume descriptor's size, id and date.
    pub volume: Option<crate::fs::iso9660::volume::Volume>,
    pub mbr: Option<mbr::Mbr>,
    pub gpt: Option<gpt::Gpt>,
    pub gpt_backup: Option<gpt::Gpt>,
    pub apm: Option<apm::Apm>,
    /// The logical partitions of the MBR's extended partition, if it has one.
    pub logical: Option<ebr::Chain>,
    /// `-partition_offset`: the block where a second ISO superblock starts, for partitions.
    pub partition_offset: Option<u64>,
    /// The partitions the session shows as devices, from the table Linux and fdisk read.
    pub partitions: Vec<Partition>,
    /// Pairs of partitions (by number) that overlap without one holding the other (a
    /// partition inside the ISO's partition is the usual hybrid layout, not a problem).
    /// The first [`MAX_OVERLAPS`] of them.
    pub overlaps: Vec<(usize, usize)>,
    /// How many more pairs overlap.
    pub more_overlaps: usize,
}

/// How many overlapping pairs are listed one by one.
pub const MAX_OVERLAPS: usize = 16;

/// The boot equipment of one image.
#[derive(Clone, Debug)]
pub struct Layout {
    pub system: SystemArea,
    pub boot_record: Option<BootRecord>,
    /// The catalog, or why it could not be read.
    pub catalog: Option<std::result::Result<Catalog, String>>,
    /// The catalog file, when a file in the tree is it.
    pub catalog_file: Option<TreeFile>,
    pub images: Vec<Image>,
    pub mbr_code: MbrCode,
    /// The byte just past the last file data of the ISO tree (0 when no tree was given).
    pub data_end: u64,
}

fn has_pvd_at(src: &dyn Source, offset: u64) -> Result<bool> {
    let mut vd = [0u8; 6];
    Ok(offset
        .checked_add(16 * BLOCK)
        .map(|o| src.read_at(o, &mut vd))
        .transpose()?
        == Some(6)
        && &vd == b"\x01CD001")
}

/// Every partition of every table, before choosing which table the session shows.
fn table_partitions(
    src: &dyn Source,
    mbr: Option<&mbr::Mbr>,
    logical: Option<&ebr::Chain>,
    gpt: Option<&gpt::Gpt>,
    apm: Option<&apm::Apm>,
) -> (Vec<Partition>, Vec<Partition>, Vec<Partition>) {
    let clip = |start: u64, len: u64| {
        let start = start.min(src.len());
        (start, len.min(src.len() - start))
    };
    let mbr_partition = |number: usize, kind: u8, start: u64, sectors: u32| {
        let (start, len) = clip(start.saturating_mul(SECTOR), u64::from(sectors) * SECTOR);
        Partition {
            number,
            table: Table::Mbr,
            start,
            len,
            kind: format!("0x{kind:02x}"),
            kind_name: mbr_type_name(kind),
            name: String::new(),
            appended: false,
        }
    };
    let primary = mbr.into_iter().flat_map(|m| {
        m.entries()
            .filter(|e| e.sectors > 0 && e.kind != 0xee)
            .map(|e| mbr_partition(e.number, e.kind, u64::from(e.start), e.sectors))
    });
    let logical = logical.into_iter().flat_map(|c| {
        c.partitions
            .iter()
            .map(|l| mbr_partition(l.number, l.kind, l.start, l.sectors))
    });
    let from_mbr = primary.chain(logical).collect();
    let from_gpt = gpt
        .map(|g| {
            g.entries
                .iter()
                .filter(|e| e.sectors() > 0)
                .map(|e| {
                    let (start, len) = clip(
                        e.first.saturating_mul(SECTOR),
                        e.sectors().saturating_mul(SECTOR),
                    );
                    Partition {
                        number: e.number,
                        table: Table::Gpt,
                        start,
                        len,
                        kind: e.type_guid.to_string(),
                        kind_name: e.type_guid.type_name(),
                        name: e.name(),
                        appended: false,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let from_apm = apm
        .map(|a| {
            a.entries
                .iter()
                .filter(|e| e.blocks > 0 && e.kind() != "Apple_partition_map")
                .map(|e| {
                    let bs = u64::from(a.block_size());
                    let (start, len) = clip(u64::from(e.start) * bs, u64::from(e.blocks) * bs);
                    Partition {
                        number: e.number,
                        table: Table::Apm,
                        start,
                        len,
                        kind: e.kind(),
                        kind_name: None,
                        name: e.name(),
                        appended: false,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    (from_mbr, from_gpt, from_apm)
}

/// The common name of an MBR partition type.
pub fn mbr_type_name(kind: u8) -> Option<&'static str> {
    Some(match kind {
        0x00 => "Empty",
        0x01 => "FAT12",
        0x05 => "Extended",
        0x0f => "W95 Ext'd (LBA)",
        0x85 => "Linux extended",
        0x06 => "FAT16",
        0x0b => "W95 FAT32",
        0x0c => "W95 FAT32 (LBA)",
        0x0e => "W95 FAT16 (LBA)",
        0x17 => "Hidden HPFS/NTFS",
        0x83 => "Linux",
        0x96 => "ISO 9660",
        0xcd => "ISO 9660 (hybrid)",
        0xee => "GPT",
        0xef => "EFI (FAT-12/16/32)",
        _ => return None,
    })
}

/// What one walk of the ISO tree tells about the boot images.
#[derive(Clone, Debug, Default)]
pub struct TreeScan {
    /// The files whose data starts at one of the blocks asked for, by block.
    pub files: HashMap<u64, TreeFile>,
    /// The byte just past the last file data: where the ISO's own data ends.
    pub data_end: u64,
}

/// Walks the ISO tree once, finds the files whose data starts at one of `blocks` and where
/// the file data ends. Directories are visited once each, so a looping tree cannot hang the
/// walk; a directory or file that cannot be read is skipped (the boot report does not depend
/// on it: its images are then shown as hidden).
pub fn scan_tree(fs: &dyn FileSystem, blocks: &HashSet<u64>) -> TreeScan {
    let mut found = HashMap::new();
    let mut data_end = 0;
    let mut seen = HashSet::new();
    let mut stack: Vec<(Ino, String)> = vec![(fs.root(), String::new())];
    while let Some((dir, path)) = stack.pop() {
        if !seen.insert(dir) {
            continue;
        }
        let Ok(entries) = fs.read_dir(dir) else {
            continue;
        };
        for e in entries {
            let child = format!("{path}/{}", String::from_utf8_lossy(&e.name));
            match e.meta.kind {
                FileKind::Dir => stack.push((e.ino, child)),
                FileKind::File => {
                    let spans = fs.spans(e.ino).ok().flatten().unwrap_or_default();
                    for x in &spans {
                        if let Some(o) = x.source_offset() {
                            data_end = data_end.max(o.saturating_add(x.len()));
                        }
                    }
                    let first = spans.first().and_then(|x| x.source_offset());
                    if let Some(block) = first
                        .filter(|o| o.is_multiple_of(BLOCK))
                        .map(|o| o / BLOCK)
                        .filter(|b| blocks.contains(b))
                    {
                        found.entry(block).or_insert(TreeFile {
                            path: child,
                            size: e.meta.size,
                        });
                    }
                }
                _ => {}
            }
        }
    }
    TreeScan {
        files: found,
        data_end,
    }
}

/// True for the partitions xorriso writes to fill the gaps between the others (GPT or APM
/// entries named `Gap0`, `Gap1`...): padding and ISO data, never appended partitions.
pub fn is_gap_filler(p: &Partition) -> bool {
    is_gap_filler_name(&p.name)
}

/// True for the names xorriso gives its gap fillers (`Gap0`, `Gap1`...).
pub fn is_gap_filler_name(name: &str) -> bool {
    name.strip_prefix("Gap")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

impl SystemArea {
    /// Reads the MBR, the GPTs and the APM of `src` and picks the partitions to show.
    pub fn read(src: &dyn Source) -> Result<SystemArea> {
        let mbr = mbr::read(src)?;
        let logical = match mbr
            .as_ref()
            .and_then(|m| m.entries().find(|e| ebr::is_extended(e.kind)))
        {
            Some(e) => Some(ebr::read(src, u64::from(e.start))?),
            None => None,
        };
        let (gpt, gpt_backup) = gpt::read(src)?;
        let apm = apm::read(src)?;
        let volume = crate::fs::iso9660::volume::read_primary(src)?;
        // A GPT whose CRCs fail is reported, never trusted: the backup stands in for it.
        let trusted = [&gpt, &gpt_backup]
            .into_iter()
            .find_map(|g| g.as_ref().filter(|g| g.valid()));
        let (from_mbr, from_gpt, from_apm) =
            table_partitions(src, mbr.as_ref(), logical.as_ref(), trusted, apm.as_ref());
        // The table Linux and fdisk read: GPT behind a protective MBR, else the MBR, else
        // the APM.
        let protective = mbr.as_ref().is_some_and(mbr::Mbr::protective);
        let mut partitions = if protective && !from_gpt.is_empty() {
            from_gpt
        } else if !from_mbr.is_empty() {
            from_mbr
        } else {
            from_apm
        };
        let mut partition_offset = None;
        for p in &partitions {
            if p.start > 0 && has_pvd_at(src, p.start)? {
                partition_offset = Some(p.start / BLOCK);
                break;
            }
        }
        // The ISO's end: the partition that holds the ISO (it starts at 0 or at the partition
        // offset), else the volume space size.
        let iso_start = partition_offset.unwrap_or(0) * BLOCK;
        let iso_end = partitions
            .iter()
            .find(|p| p.start == iso_start && p.len > 16 * BLOCK)
            .map(Partition::end)
            .or(volume
                .as_ref()
                .map(|v| u64::from(v.volume_space_size) * BLOCK))
            .unwrap_or(src.len());
        for p in &mut partitions {
            p.appended = p.start >= iso_end && !is_gap_filler(p);
        }
        let mut overlaps = Vec::new();
        let mut more_overlaps = 0;
        for (i, a) in partitions.iter().enumerate() {
            for b in &partitions[i + 1..] {
                let overlap = a.start < b.end() && b.start < a.end();
                if overlap && !(a.contains(b) || b.contains(a)) {
                    if overlaps.len() < MAX_OVERLAPS {
                        overlaps.push((a.number, b.number));
                    } else {
                        more_overlaps += 1;
                    }
                }
            }
        }

        let mut bytes = vec![0u8; src.len().min(SYSTEM_AREA) as usize];
        src.read_exact_at(0, &mut bytes, "system area")?;
        Ok(SystemArea {
            bytes,
            image_len: src.len(),
            volume,
            mbr,
            gpt,
            gpt_backup,
            apm,
            logical,
            partition_offset,
            partitions,
            overlaps,
            more_overlaps,
        })
    }

    /// The system area replayed: [`SystemArea::bytes`] with the MBR, the APM and the primary
    /// GPT encoded over them where they lie (in that order: the APM's driver map shares block
    /// 0 with the MBR's code). A table changed in the model is written as it now is; the
    /// backup GPT lies at the image's end, outside the system area ([`gpt::Gpt::backup`]).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut area = self.bytes.clone();
        if let Some(m) = &self.mbr {
            put(&mut area, Some(0), &m.encode());
        }
        if let Some(a) = &self.apm {
            if let Some(block0) = area.get_mut(..mbr::SECTOR) {
                a.driver_map.encode_into(block0);
            }
            let bs = usize::from(a.block_size());
            for e in &a.entries {
                put(&mut area, e.number.checked_mul(bs), &e.encode());
            }
        }
        if let Some(g) = &self.gpt {
            let at = |sector: u64| {
                usize::try_from(sector)
                    .ok()
                    .and_then(|s| s.checked_mul(mbr::SECTOR))
            };
            put(&mut area, at(g.header_sector), &g.encode_header()?);
            put(&mut area, at(g.array_sector), &g.encode_array()?);
        }
        Ok(area)
    }
}

/// Copies `bytes` into `area` at `offset`, when they fit.
fn put(area: &mut [u8], offset: Option<usize>, bytes: &[u8]) {
    let dest = offset
        .and_then(|o| Some(o..o.checked_add(bytes.len())?))
        .and_then(|r| area.get_mut(r));
    if let Some(dest) = dest {
        dest.copy_from_slice(bytes);
    }
}

impl Layout {
    /// Reads the boot equipment of `src`. `fs` is the ISO filesystem on it, when it opens, to
    /// name the files boot images are.
    pub fn read(src: &dyn Source, fs: Option<&dyn FileSystem>) -> Result<Layout> {
        let mut system = SystemArea::read(src)?;
        let boot_record = eltorito::find_boot_record(src)?;
        let catalog = boot_record
            .as_ref()
            .map(|br| eltorito::read_catalog(src, br.catalog).map_err(|e| e.to_string()));
        let entries: Vec<BootEntry> = match &catalog {
            Some(Ok(c)) => c.entries.clone(),
            _ => Vec::new(),
        };
        let mut wanted: HashSet<u64> = entries.iter().map(|e| u64::from(e.load_rba)).collect();
        if let Some(br) = &boot_record {
            wanted.insert(u64::from(br.catalog));
        }
        let mut data_end = 0;
        let files = match fs {
            Some(fs) => {
                let scan = scan_tree(fs, &wanted);
                data_end = scan.data_end;
                // With the tree at hand, "appended" means after all file data (xorriso counts
                // appended partitions into the volume size, so the descriptors cannot say).
                for p in &mut system.partitions {
                    p.appended = p.start >= scan.data_end && scan.data_end > 0 && !is_gap_filler(p);
                }
                scan.files
            }
            None => HashMap::new(),
        };
        let mut images = Vec::new();
        for entry in entries {
            let block = u64::from(entry.load_rba);
            let location = if let Some(f) = files.get(&block) {
                Location::File(f.clone())
            } else if let Some(p) = system
                .partitions
                .iter()
                .find(|p| p.appended && p.start <= block * BLOCK && block * BLOCK < p.end())
            {
                Location::Partition(p.clone())
            } else {
                Location::Hidden
            };
            let emulated_disk = if entry.emulation == eltorito::Emulation::HardDisk {
                mbr::read_at(src, block * BLOCK)?
                    .map(|m| m.disk_sectors() * SECTOR)
                    .filter(|&len| len > 0)
            } else {
                None
            };
            images.push(Image {
                patches: bootinfo::detect(src, entry.load_rba)?,
                entry,
                location,
                emulated_disk,
            });
        }
        let mbr_code = match &system.mbr {
            None => MbrCode::Empty,
            Some(m) => {
                let bios = |want: u64| {
                    images.iter().position(|i| {
                        i.entry.platform == 0 && u64::from(i.entry.load_rba) * 4 == want
                    })
                };
                let pointer = m.boot_image_pointer();
                if let Some(i) =
                    bios(pointer).filter(|_| pointer >> 32 == 0 && m.has_code() && !m.grub_text())
                {
                    MbrCode::Isohybrid(i)
                } else if let Some(i) = bios(pointer.wrapping_sub(4)).filter(|_| m.has_code()) {
                    MbrCode::Grub2(i)
                } else if m.has_code() {
                    MbrCode::Other
                } else {
                    MbrCode::Empty
                }
            }
        };
        let catalog_file = boot_record
            .as_ref()
            .and_then(|br| files.get(&u64::from(br.catalog)).cloned());
        Ok(Layout {
            system,
            boot_record,
            catalog,
            catalog_file,
            images,
            mbr_code,
            data_end,
        })
    }
}

/// The partitions of `src` as the session shows them (no file names needed).
pub fn partitions(src: &dyn Source) -> Result<Vec<Partition>> {
    Ok(SystemArea::read(src)?.partitions)
}
