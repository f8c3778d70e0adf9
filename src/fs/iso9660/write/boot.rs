//! Boot replay in the ISO 9660 writer: the original's boot setup ([`boot::Layout`]) bound to
//! the tree being written, the blocks it needs, and what is written once the layout is known.
//!
//! - An El Torito entry boots the file at the path its image had (the same file, or the one
//!   the user put there), else its bytes are kept as a hidden extent (no file held them), else
//!   it points into the appended partitions, which move with the tail. An entry whose file is
//!   gone stops the commit, naming it; with `--drop-boot` the entry is left out.
//! - The catalog is written into its file when the tree still has it (its content is the
//!   catalog, whatever was staged there), else as a hidden extent.
//! - Boot images are patched again for their new blocks (boot-info table, GRUB2 boot info),
//!   also when the user replaced the file; a no-emulation entry's sector count follows a
//!   replaced file's size when it counted the whole file.
//! - A hidden image keeps the larger of what the firmware loads and what its boot-info table
//!   says it is.
//! - Entries for an image that had none (`boot-add-efi`, `mkiso`'s `bios:` and `efi:`): a new
//!   catalog (its file the one the edits name, else a hidden extent), the BIOS entry as the
//!   default entry, each EFI image in a section of its own; a hybrid MBR whose code chains to
//!   no image chains to the new BIOS entry.
//! - The system area, the tail and the partition tables follow [`boot::replay`]: the writer
//!   gives it the new place of every kept file a partition begins or ends at.

use super::HashSet;
use std::sync::Arc;

use super::layout::Layout;
use super::tree::{Content, Tree};
use super::Options;
use crate::boot::edits::BiosBoot;
use crate::boot::eltorito::{BootEntry, Catalog, Emulation, Section};
use crate::boot::replay::{self, Relocation, Tail};
use crate::boot::{self, bootinfo, Location};
use crate::error::{Error, Result};
use crate::fs::iso9660::volume::{Body, BootRecord, Descriptor, Kind};
use crate::fs::iso9660::{IsoFs, SECTOR};
use crate::fs::{FileSystem, Span};
use crate::overlay::Provenance;
use crate::source::host_path::HostPathSource;
use crate::source::Source;

/// The largest boot image read into memory to be patched.
const MAX_PATCHED: u64 = 64 << 20;

/// Where a boot image (or the catalog) goes.
#[derive(Clone, Copy, Debug)]
enum Place {
    /// The data of this object of the tree.
    File(usize),
    /// Reserved extent number k.
    Extra(usize),
    /// In the tail, at this offset of the original.
    Tail(u64),
}

/// An extent reserved before the file data.
struct Extra {
    len: u64,
    /// The bytes to copy there (the original's, a host file's); none for the catalog.
    from: Vec<Span>,
}

/// One catalog entry kept.
struct Entry {
    entry: BootEntry,
    place: Place,
    patches: bootinfo::Patches,
    /// The image's size before, when the entry's sector count counted all of it.
    whole: Option<u64>,
}

/// The boot setup bound to the tree.
pub(super) struct Bound {
    layout: boot::Layout,
    src: Arc<dyn Source>,
    image: String,
    catalog: Option<(Catalog, Place)>,
    entries: Vec<Entry>,
    /// The entry (by index in the original's images) the hybrid MBR chains to, and its new
    /// index among the kept entries.
    chained: Option<(boot::mbr::Chain, usize)>,
    /// The entries `boot-add-efi` added (indexes in `entries`).
    added_efi: Vec<usize>,
    extras: Vec<Extra>,
    old_data_end: u64,
    /// Replay the system area and the tail (the original had something there).
    system: bool,
    drop: bool,
    pub(super) warnings: Vec<String>,
}

/// A catalog for an image that had none: a validation entry for BIOS (when `bios`) or UEFI,
/// no entries yet.
fn fresh_catalog(bios: bool) -> Catalog {
    Catalog {
        block: 0,
        platform: if bios { 0 } else { EFI },
        reserved: 0,
        id_bytes: [0; 24],
        checksum_ok: true,
        sections: Vec::new(),
        entries: Vec::new(),
        problems: Vec::new(),
    }
}

/// A new bootable no-emulation entry (section 0: the default entry) for `platform`, loaded at
/// the default segment (0x7c0), `sectors` loaded (0 until the layout counts the file).
fn no_emulation(section: usize, platform: u8, sectors: u16) -> BootEntry {
    BootEntry {
        offset: 0,
        section,
        platform,
        indicator: 0x88,
        media: 0,
        emulation: Emulation::None,
        load_segment: 0,
        system_type: 0,
        reserved: 0,
        sector_count: sectors,
        load_rba: 0,
        criteria_type: 0,
        criteria: vec![0; 19],
        extension_flags: Vec::new(),
    }
}

/// The entry of a UEFI boot image of `size` bytes, the data of object `obj`, in a new final
/// section of `catalog` (as `-eltorito-alt-boot -e` makes it).
fn added_efi(catalog: &mut Catalog, obj: usize, size: u64) -> Entry {
    catalog.sections.push(Section {
        offset: 0,
        indicator: 0x91,
        platform: EFI,
        declared: 1,
        entries: 1,
        id_bytes: [0; 28],
    });
    Entry {
        entry: no_emulation(catalog.sections.len(), EFI, 0),
        place: Place::File(obj),
        patches: bootinfo::Patches::default(),
        whole: Some(size),
    }
}

/// The object of `t` at `path`, a file with data, for a new boot entry (`what` asked for it).
fn file_with_data(t: &Tree, path: &str, what: &str) -> Result<usize> {
    t.find(path)
        .filter(|&o| matches!(t.objs[o].content, Content::Spans { .. }))
        .ok_or_else(|| {
            Error::Usage(format!(
                "commit: {what} {path}: no file with data there now"
            ))
        })
}

/// The default entry of a new catalog: a BIOS no-emulation image of `size` bytes at `place`.
fn added_bios(bios: &BiosBoot, place: Place, size: u64) -> Entry {
    let table = bios.info_table.then_some(bootinfo::BootInfoTable {
        pvd_block: 16,
        image_block: 0,
        image_len: 0,
        checksum: 0,
        checksum_ok: None,
    });
    Entry {
        entry: no_emulation(0, 0, bios.load_sectors.unwrap_or(0)),
        place,
        patches: bootinfo::Patches {
            table,
            grub2: bios.grub2,
        },
        whole: bios.load_sectors.is_none().then_some(size),
    }
}

/// El Torito's platform id of UEFI.
const EFI: u8 = 0xef;

/// What [`Bound::finish`] gives the emitter.
pub(super) struct Pieces {
    /// The system area (32 KiB).
    pub(super) area: Vec<u8>,
    /// El Torito's boot record descriptor.
    pub(super) boot_record: Option<Vec<u8>>,
    /// The content of each reserved extent, padded to its blocks.
    pub(super) extras: Vec<Vec<Span>>,
    /// After the file data.
    pub(super) tail: Vec<Span>,
}

fn round(bytes: u64, unit: u64) -> u64 {
    bytes.div_ceil(unit) * unit
}

impl Bound {
    /// The boot setup of `original` bound to `t`; `None` when it has none (no El Torito, a
    /// system area of zeros).
    pub(super) fn bind(original: &IsoFs, t: &mut Tree, opts: &Options) -> Result<Option<Bound>> {
        let src = original.source().clone();
        let image = src.name().to_string();
        // Read without the tree first (no walk of it) to see whether there is anything.
        let bare = boot::Layout::read(src.as_ref(), None)?;
        let system = bare.system.bytes.iter().any(|&b| b != 0);
        let fresh = !opts.boot.add_efi.is_empty() || opts.boot.bios.is_some();
        if bare.boot_record.is_none() && !system && !fresh {
            return Ok(None);
        }
        let layout = boot::Layout::read(src.as_ref(), Some(original))?;
        let mut b = Bound {
            src,
            image,
            catalog: None,
            entries: Vec::new(),
            chained: None,
            added_efi: Vec::new(),
            extras: Vec::new(),
            old_data_end: 0,
            system,
            drop: opts.drop_boot,
            warnings: Vec::new(),
            layout,
        };
        let mut old_end = b.layout.data_end;
        let mut catalog = b.catalog_of()?;
        if let (Some(_), Some(bios)) = (&catalog, &opts.boot.bios) {
            return Err(Error::Usage(format!(
                "commit: a new BIOS boot entry for {}: the image has a boot catalog already \
                 (`set-boot-file` changes what its entries boot)",
                bios.path
            )));
        }
        if catalog.is_none() && fresh {
            catalog = Some(fresh_catalog(opts.boot.bios.is_some()));
        }
        if let Some(mut catalog) = catalog {
            let chained = b.layout.mbr_code.chain();
            for (i, img) in b.layout.images.clone().into_iter().enumerate() {
                if !matches!(img.location, Location::Partition(_)) {
                    let end = img.start().saturating_add(img.whole_len());
                    old_end = old_end.max(end.min(b.src.len()));
                }
                let chosen = opts.boot.files.get(&(i + 1));
                let Some(place) = b.place_image(t, &img, i, chosen.map(String::as_str))? else {
                    continue;
                };
                if chained.is_some_and(|(_, c)| c == i) {
                    b.chained = chained.map(|(chain, _)| (chain, b.entries.len()));
                }
                let whole = match (&img.location, img.entry.emulation) {
                    (Location::File(f), Emulation::None)
                        if u64::from(img.entry.sector_count) == f.size.div_ceil(512) =>
                    {
                        Some(f.size)
                    }
                    _ => None,
                };
                b.entries.push(Entry {
                    entry: img.entry,
                    place,
                    patches: img.patches,
                    whole,
                });
            }
            if let Some(bios) = &opts.boot.bios {
                b.add_bios(t, bios)?;
            }
            for path in &opts.boot.add_efi {
                let obj = file_with_data(t, path, "boot-add-efi")?;
                b.entries
                    .push(added_efi(&mut catalog, obj, t.objs[obj].meta.size));
                b.added_efi.push(b.entries.len() - 1);
            }
            if !b.entries.is_empty() {
                let place = b.place_catalog(t, &catalog, opts.boot.catalog.as_deref())?;
                if catalog.block != 0 {
                    old_end = old_end.max((u64::from(catalog.block) + 1) * SECTOR);
                }
                b.catalog = Some((catalog, place));
            }
        }
        b.old_data_end = round(old_end, SECTOR);
        Ok(Some(b))
    }

    /// Adds the new BIOS entry (the catalog's default entry); a hybrid MBR with boot code
    /// and no image to chain to yet chains to it (GRUB's when its code says GRUB, else
    /// isohybrid's).
    fn add_bios(&mut self, t: &Tree, bios: &BiosBoot) -> Result<()> {
        let (place, size) = match &bios.hidden {
            // A host file in an extent of its own, as the original's hidden images are kept.
            Some(host) => {
                let src: Arc<dyn Source> = Arc::new(HostPathSource::open(host)?);
                let len = src.len();
                if len == 0 {
                    return Err(Error::Usage(format!(
                        "commit: bios: {}: an empty file boots nothing",
                        bios.path
                    )));
                }
                self.extras.push(Extra {
                    len,
                    from: vec![Span::source(&src, 0, len)],
                });
                (Place::Extra(self.extras.len() - 1), len)
            }
            None => {
                let obj = file_with_data(t, &bios.path, "bios:")?;
                (Place::File(obj), t.objs[obj].meta.size)
            }
        };
        self.entries.push(added_bios(bios, place, size));
        let code = self.layout.system.mbr.as_ref().filter(|m| m.has_code());
        if let (None, Some(m)) = (self.chained, code) {
            let chain = match m.grub_text() {
                true => boot::mbr::Chain::Grub2,
                false => boot::mbr::Chain::Isohybrid,
            };
            self.chained = Some((chain, self.entries.len() - 1));
        }
        Ok(())
    }

    /// The original's catalog, when it has El Torito.
    fn catalog_of(&self) -> Result<Option<Catalog>> {
        match &self.layout.catalog {
            None => Ok(None),
            Some(Ok(c)) => Ok(Some(c.clone())),
            Some(Err(why)) => Err(Error::unsupported(
                self.image.clone(),
                format!("replaying a boot catalog that does not read ({why}); nothing written"),
            )),
        }
    }

    /// Where boot image `i` (`img`) goes, or `None` when its entry is dropped; `chosen` is
    /// the file `set-boot-file` gave it.
    fn place_image(
        &mut self,
        t: &Tree,
        img: &boot::Image,
        i: usize,
        chosen: Option<&str>,
    ) -> Result<Option<Place>> {
        let chosen = chosen.map(|path| {
            Location::File(boot::TreeFile {
                path: path.to_string(),
                size: 0,
            })
        });
        match chosen.as_ref().unwrap_or(&img.location) {
            Location::File(f) => match t.find(&f.path) {
                Some(obj) if matches!(t.objs[obj].content, Content::Spans { .. }) => {
                    Ok(Some(Place::File(obj)))
                }
                found => {
                    let what = match found {
                        Some(_) => "is no longer a file with data",
                        None => "is gone",
                    };
                    let say = format!(
                        "El Torito entry {} ({}) boots {}, which {what}",
                        i + 1,
                        boot::eltorito::platform_name(img.entry.platform),
                        f.path
                    );
                    if !self.drop {
                        return Err(Error::Usage(format!(
                            "commit: {say}; put a file there, or `commit --drop-boot` to write \
                             the image without that entry"
                        )));
                    }
                    self.warnings.push(format!("{say}: entry dropped"));
                    Ok(None)
                }
            },
            Location::Partition(_) => Ok(Some(Place::Tail(img.start()))),
            Location::Hidden => {
                let table = img
                    .patches
                    .table
                    .as_ref()
                    .map_or(0, |t| u64::from(t.image_len));
                let len = img.load_bytes().max(table);
                let place = Place::Extra(self.extras.len());
                self.extras.push(Extra {
                    len,
                    from: vec![Span::source(&self.src, img.start(), len)],
                });
                Ok(Some(place))
            }
        }
    }

    /// Where the catalog goes: its file when the tree still has it (its size grown to the
    /// catalog's if need be), else a hidden extent.
    fn place_catalog(
        &mut self,
        t: &mut Tree,
        catalog: &Catalog,
        new_file: Option<&str>,
    ) -> Result<Place> {
        let len = round(self.encode_catalog(catalog, &[]).len() as u64, SECTOR);
        let file = self
            .layout
            .catalog_file
            .as_ref()
            .map(|f| f.path.as_str())
            .or(new_file)
            .and_then(|path| t.find(path));
        if let Some(obj) = file.filter(|&o| !t.objs[o].meta.is_dir()) {
            // Until the layout gives the catalog its entries' blocks, the file holds the
            // original's catalog (grown if need be): its data keeps its place in the order.
            let o = &mut t.objs[obj];
            let size = o.meta.size.max(len);
            let start = u64::from(catalog.block) * SECTOR;
            let have = size.min(len).min(self.src.len().saturating_sub(start));
            o.meta.size = size;
            o.content = Content::Spans {
                spans: vec![
                    Span::source(&self.src, start, have),
                    Span::Zeros(size - have),
                ],
                stored: size,
            };
            return Ok(Place::File(obj));
        }
        self.extras.push(Extra {
            len,
            from: Vec::new(),
        });
        Ok(Place::Extra(self.extras.len() - 1))
    }

    /// The catalog with the kept entries at `blocks` (empty: the old blocks, for its size).
    fn encode_catalog(&self, catalog: &Catalog, blocks: &[(u32, u16)]) -> Vec<u8> {
        let mut c = catalog.clone();
        c.entries = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let mut entry = e.entry.clone();
                if let Some(&(block, count)) = blocks.get(i) {
                    entry.load_rba = block;
                    entry.sector_count = count;
                }
                entry
            })
            .collect();
        // Sections count what they still hold; an emptied one goes; the default entry, if
        // dropped, is the first one left.
        if c.entries.first().is_some_and(|e| e.section != 0) {
            let first = &mut c.entries[0];
            c.platform = first.platform;
            first.section = 0;
        }
        let mut kept_sections = Vec::new();
        for (n, s) in c.sections.iter().enumerate() {
            let count = c.entries.iter().filter(|e| e.section == n + 1).count();
            if count > 0 {
                let new_number = kept_sections.len() + 1;
                for e in c.entries.iter_mut().filter(|e| e.section == n + 1) {
                    e.section = new_number;
                }
                let mut s = s.clone();
                s.declared = count as u16;
                s.entries = count;
                kept_sections.push(s);
            }
        }
        let last = kept_sections.len();
        for (i, s) in kept_sections.iter_mut().enumerate() {
            s.indicator = if i + 1 == last { 0x91 } else { 0x90 };
        }
        c.sections = kept_sections;
        c.encode()
    }

    /// The original's offsets that partitions begin or end at, which the relocation must say
    /// the new place of.
    fn boundaries(&self) -> HashSet<u64> {
        replay::boundaries(&self.layout.system)
            .into_iter()
            .collect()
    }

    /// The blocks to reserve before the file data, in bytes.
    pub(super) fn extra_sizes(&self) -> Vec<u64> {
        self.extras.iter().map(|e| e.len).collect()
    }

    /// True when El Torito's boot record is written.
    pub(super) fn has_boot_record(&self) -> bool {
        self.catalog.is_some()
    }

    /// The partition offset to write a second copy of the metadata at.
    pub(super) fn partition_offset(&self) -> Option<u32> {
        self.layout
            .system
            .partition_offset
            .and_then(|b| u32::try_from(b).ok())
    }

    /// Everything that needs the layout: the entries' new blocks, the catalog and the patched
    /// boot images written into the tree, the tail and the relocated system area.
    pub(super) fn finish(
        mut self,
        original: &IsoFs,
        t: &mut Tree,
        layout: &mut Layout,
    ) -> Result<(Pieces, Vec<String>)> {
        let data_end = u64::from(layout.total) * SECTOR;
        let tail = Tail::of(&self.layout.system, self.old_data_end, data_end);
        layout.volume = u32::try_from(tail.new_volume_end / SECTOR)
            .map_err(|_| Error::Usage(format!("{}: the new image is over 8 TiB", self.image)))?;
        let block_of = |place: Place| -> Result<u32> {
            match place {
                Place::File(obj) => layout.extent_of(obj).ok_or_else(|| {
                    Error::Usage(format!("commit: boot file {} is empty", t.path(obj)))
                }),
                Place::Extra(k) => Ok(layout.extras[k]),
                Place::Tail(old) => Ok((tail.moved(old) / SECTOR) as u32),
            }
        };
        let mut blocks = Vec::new();
        for e in &self.entries {
            let block = block_of(e.place)?;
            let count = match (e.place, e.whole) {
                (Place::File(obj), Some(_)) => {
                    let size = t.objs[obj].meta.size.div_ceil(512);
                    u16::try_from(size).unwrap_or(u16::MAX)
                }
                // A new hidden image (`mkiso bios-hidden:`), loaded whole.
                (Place::Extra(_), Some(size)) => {
                    u16::try_from(size.div_ceil(512)).unwrap_or(u16::MAX)
                }
                _ => e.entry.sector_count,
            };
            blocks.push((block, count));
        }
        let catalog_block = match &self.catalog {
            Some((_, place)) => Some(block_of(*place)?),
            None => None,
        };
        let mut extras: Vec<Vec<Span>> = self.extras.iter().map(|x| x.from.clone()).collect();
        // Boot images patched for their new blocks.
        for (e, &(block, _)) in self.entries.iter().zip(&blocks) {
            if e.patches == bootinfo::Patches::default() {
                continue;
            }
            match e.place {
                Place::File(obj) => {
                    let Content::Spans { spans, stored } = &t.objs[obj].content else {
                        continue;
                    };
                    let bytes = self.patched(spans, *stored, &e.patches, block)?;
                    t.objs[obj].content = Content::Spans {
                        stored: bytes.len() as u64,
                        spans: vec![Span::Bytes(bytes.into())],
                    };
                }
                Place::Extra(k) => {
                    let bytes = self.patched(&extras[k], self.extras[k].len, &e.patches, block)?;
                    extras[k] = vec![Span::Bytes(bytes.into())];
                }
                Place::Tail(_) => {}
            }
        }
        let mut boot_record = None;
        if let (Some((catalog, place)), Some(block)) = (&self.catalog, catalog_block) {
            let mut bytes = self.encode_catalog(catalog, &blocks);
            match *place {
                Place::File(obj) => {
                    bytes.resize(t.objs[obj].meta.size as usize, 0);
                    t.objs[obj].content = Content::Spans {
                        stored: bytes.len() as u64,
                        spans: vec![Span::Bytes(bytes.into())],
                    };
                }
                Place::Extra(k) => extras[k] = vec![Span::Bytes(bytes.into())],
                Place::Tail(_) => {}
            }
            boot_record = Some(self.boot_record(block));
        }
        for (x, spans) in self.extras.iter().zip(&mut extras) {
            let have: u64 = spans.iter().map(Span::len).sum();
            spans.push(Span::Zeros(round(x.len, SECTOR) - have.min(x.len)));
        }
        let mut area = vec![0u8; boot::SYSTEM_AREA as usize];
        let mut backup = None;
        if self.system {
            let reloc = Relocation {
                files: self.moved_files(original, t, layout)?,
                tail: tail.clone(),
                appended: false,
            };
            let chained = self.chained.map(|(chain, i)| (chain, blocks[i].0));
            let efi: Vec<(u64, u64)> = self
                .added_efi
                .iter()
                .map(|&i| {
                    let len = match self.entries[i].place {
                        Place::File(obj) => t.objs[obj].meta.size,
                        _ => 0,
                    };
                    (u64::from(blocks[i].0) * SECTOR, len)
                })
                .collect();
            let r = replay::relocate(
                &self.layout.system,
                &reloc,
                chained,
                &efi,
                &self.image,
                self.drop,
            )?;
            self.warnings.extend(r.warnings);
            let n = r.area.len().min(area.len());
            area[..n].copy_from_slice(&r.area[..n]);
            backup = r.backup;
        }
        // The tail: the original's bytes after its data, moved; the backup GPT at the end.
        let mut tail_spans = vec![Span::Zeros(tail.gap())];
        tail_spans.push(Span::source(
            &self.src,
            tail.old_data_end,
            tail.copy_end - tail.old_data_end,
        ));
        let copied_to = tail.moved(tail.copy_end);
        let end = match &backup {
            Some((at, _)) => *at,
            None => tail.new_len,
        };
        tail_spans.push(Span::Zeros(end.saturating_sub(copied_to)));
        if let Some((_, bytes)) = backup {
            tail_spans.push(Span::Bytes(bytes.into()));
        }
        Ok((
            Pieces {
                area,
                boot_record,
                extras,
                tail: tail_spans,
            },
            self.warnings,
        ))
    }

    /// The boot image made of `spans` (`len` bytes), patched as the original was for `block`.
    fn patched(
        &self,
        spans: &[Span],
        len: u64,
        patches: &bootinfo::Patches,
        block: u32,
    ) -> Result<Vec<u8>> {
        if len > MAX_PATCHED {
            return Err(Error::unsupported(
                self.image.clone(),
                format!("patching a boot image of {len} bytes (over {MAX_PATCHED})"),
            ));
        }
        let mut bytes = vec![0u8; len as usize];
        let mut at = 0usize;
        for s in spans {
            let end = (at as u64 + s.len()).min(len) as usize;
            let mut done = at;
            while done < end {
                match s.read_at((done - at) as u64, &mut bytes[done..end])? {
                    0 => break,
                    n => done += n,
                }
            }
            at = end;
        }
        patches.apply(&mut bytes, 16, block)?;
        Ok(bytes)
    }

    /// El Torito's boot record pointing at the catalog at `block`: the original's, or a new
    /// one.
    fn boot_record(&self, block: u32) -> Vec<u8> {
        let record = match &self.layout.boot_record {
            Some(br) => {
                let mut record = br.record.clone();
                record.system_use[..4].copy_from_slice(&block.to_le_bytes());
                record
            }
            None => BootRecord::el_torito(block),
        };
        Descriptor {
            offset: 17 * SECTOR,
            kind: Kind::Boot,
            body: Body::Boot(record),
        }
        .encode()
    }

    /// The original's files that partitions begin at, where they are now.
    fn moved_files(
        &self,
        original: &IsoFs,
        t: &Tree,
        layout: &Layout,
    ) -> Result<std::collections::BTreeMap<u64, replay::Moved>> {
        let wanted = self.boundaries();
        let mut files = std::collections::BTreeMap::new();
        for (i, o) in t.objs.iter().enumerate() {
            let Content::Spans { spans, stored } = &o.content else {
                continue;
            };
            let Some(extent) = layout.extent_of(i) else {
                continue;
            };
            let old = match (o.prov, spans.first()) {
                (
                    Provenance::Base { data: true, .. },
                    Some(Span::Source { source, offset, .. }),
                ) if std::ptr::addr_eq(Arc::as_ptr(source), Arc::as_ptr(&self.src)) => {
                    Some((*offset, *stored))
                }
                (Provenance::Base { .. }, _) => original
                    .spans(o.ino)?
                    .and_then(|s| s.first().and_then(Span::source_offset))
                    .map(|offset| (offset, original.metadata(o.ino).map_or(0, |m| m.size))),
                _ => None,
            };
            if let Some((start, old_size)) = old.filter(|(start, _)| wanted.contains(start)) {
                files.entry(start).or_insert(replay::Moved {
                    start: u64::from(extent) * SECTOR,
                    old_size,
                    new_size: *stored,
                });
            }
        }
        Ok(files)
    }
}
