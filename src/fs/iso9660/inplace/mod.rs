//! In-place commits of ISO 9660 images: whether the changes staged over an image fit it without
//! a rewrite ([`fit`]), and the [`Patch`] that makes them. What fits: new content of a file
//! (in the sectors it owns, or, when larger, after the last block of the volume, which grows),
//! its mode, owner and times (Rock Ridge PX and TF, the record's date), and the volume label.
//! Every tree that points at the file is patched: the records of the primary tree, Joliet and
//! ISO 9660:1999 found by a walk of each tree on disc (the `records` module), both byte orders of their
//! sizes and locations; the UDF file entry of a bridge image that shares the data; the volume
//! descriptors' sizes when the image grows. Anything else (new names, removals, renames,
//! links, boot changes, boot images, zisofs, multi-extent and shared data, data after the
//! volume) says why it needs a rewrite.

mod gaps;
mod records;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use super::checksums::Array;
use super::record::Record;
use super::rockridge::{Px, Stamp, Tf};
use super::volume::{self, Body, Descriptor, Text};
use super::{IsoFs, SECTOR};
use crate::boot;
use crate::boot::replay::{relocate, Relocation, Tail};
use crate::data::Span;
use crate::error::Result;
use crate::fs::udf::in_place::NewEntry;
use crate::fs::udf::UdfFs;
use crate::fs::{FileSystem, Ino, Metadata, MountOptions, Timestamp};
use crate::ondisk::{endian, iso_date};
use crate::overlay::changes::{Change, Kind};
use crate::overlay::{Overlay, NEW};
use crate::plan::Patch;
use gaps::Gaps;

/// How a commit of the staged changes goes.
#[derive(Debug)]
pub enum Fit {
    /// In place, with this patch.
    InPlace(Patch),
    /// As a rewrite, for this reason.
    Rewrite(String),
}

/// One changed file.
struct Changed {
    path: String,
    ino: Ino,
    extent: u32,
    old_size: u64,
    old: Metadata,
    new: Metadata,
    content: Option<crate::overlay::Content>,
}

/// Early return of [`Fit::Rewrite`] with a formatted reason.
macro_rules! rewrite {
    ($($arg:tt)*) => {
        return Ok(Fit::Rewrite(format!($($arg)*)))
    };
}

/// Why the staged change `c` is never written in place, whatever the format (a file added,
/// removed or renamed, a directory's metadata, extended attributes), if it is not.
pub(crate) fn never_in_place(c: &Change) -> Option<&'static str> {
    match (&c.kind, c.dir) {
        (Kind::Added, _) => Some("added"),
        (Kind::Removed, _) => Some("removed"),
        (Kind::Renamed { .. }, _) => Some("renamed"),
        (_, true) => Some("a directory's metadata changes"),
        (_, _) if c.meta.iter().any(|m| m == "xattrs") => Some("extended attributes change"),
        _ => None,
    }
}

/// Whether the changes staged in `overlay` fit the image in place, and how. `iso` is the
/// image's ISO 9660 filesystem: the one below the overlay, or, over a bridge image's UDF tree
/// (`udf`), the ISO 9660 side of the same image.
pub fn fit(iso: &IsoFs, udf: Option<&UdfFs>, overlay: &Overlay) -> Result<Fit> {
    let below: &dyn std::any::Any = overlay.base().as_ref();
    let mounted_iso = below.is::<IsoFs>();
    let changes = overlay.changes()?;
    if !changes.boot.is_empty() {
        rewrite!("the boot setup changes");
    }
    let src = iso.source.as_ref();
    let mut files = Vec::new();
    for c in &changes.items {
        if let Some(what) = never_in_place(c) {
            rewrite!("{}: {what}", c.path);
        }
        let e = overlay.find(&c.path)?;
        if e.ino & NEW != 0 {
            rewrite!("{}: a new file in place of the old one", c.path);
        }
        let old = overlay.base().metadata(e.ino)?;
        let content = match overlay.provenance(e.ino).data_kept() {
            true => None,
            false => Some(overlay.content(&c.path)?),
        };
        let extent = match mounted_iso {
            true => {
                let bytes = iso.record_bytes(e.ino)?;
                Record::decode(&bytes, e.ino, iso.image())?.extent
            }
            false => match data_block(overlay.base().as_ref(), e.ino, old.size)? {
                Some(block) => block,
                None => rewrite!("{}: its data is not one run of whole blocks", c.path),
            },
        };
        // The names of a file with several share new data staged through one of them (the
        // overlay goes by its inode number). Where that number is the file's first block (no
        // RRIP 1.12 serial number), those names are the records pointing at the block, which
        // the census below finds: a Rock Ridge link count alone, the host's when the image
        // was made (names outside the tree counted), keeps nothing from place.
        let names_found = mounted_iso && old.ino == u64::from(extent);
        if content.is_some() && old.nlink > 1 && !names_found {
            rewrite!("{}: its data has {} names (hard links)", c.path, old.nlink);
        }
        files.push(Changed {
            path: c.path.clone(),
            ino: e.ino,
            extent,
            old_size: old.size,
            old,
            new: e.meta,
            content,
        });
    }
    let opened;
    let udf = match udf {
        Some(u) => Some(u),
        None if !files.is_empty() && crate::fs::probe::has_udf_vrs(src)? => {
            // By path, entries marked hidden included: each must follow its file's data.
            opened = UdfFs::open(iso.source.clone(), &MountOptions(vec!["unhide".into()]))?;
            Some(&opened)
        }
        None => None,
    };
    let layout = boot::Layout::read(src, None)?;
    if layout.system.partition_offset.is_some() {
        rewrite!("the image has a second set of trees at a partition offset");
    }
    let wanted: HashSet<u32> = files.iter().map(|f| f.extent).collect();
    let census = records::census(iso, &wanted)?;
    let mut descriptors: BTreeMap<u64, Descriptor> = BTreeMap::new();
    let mut p = Patch {
        old_len: src.len(),
        ..Patch::default()
    };
    let volume_end = super::volume::primary_volume(&iso.descriptors)
        .map_or(0, |v| u64::from(v.volume_space_size) * SECTOR);
    let data_end = data_end(&census, &layout);
    // xorriso's per-file MD5s, each file's made anew from its new data (written below).
    let array = match files.iter().any(|f| f.content.is_some()) {
        true => match Array::of(iso) {
            Ok(array) => array,
            Err(e) => rewrite!("xorriso's MD5 checksum array is damaged ({e})"),
        },
        false => None,
    };
    let primary = iso
        .descriptors
        .iter()
        .find(|d| d.kind == volume::Kind::Primary)
        .map(|d| d.offset);
    let mut sums = Vec::new();
    // Zeros inside the volume that nothing claims take new data first (not beside UDF, which
    // records its own allocation); mapped when a file first needs them.
    let mut gaps: Option<Gaps> = None;
    let mut end = data_end;
    let image_id = host_identity(iso);
    for f in &files {
        let ptrs = census
            .pointers
            .get(&f.extent)
            .map_or(&[][..], Vec::as_slice);
        let mut trees = HashSet::new();
        for ptr in ptrs {
            if !trees.insert(ptr.tree) || u64::from(ptr.size) != f.old_size {
                rewrite!("{}: its data is shared with another file", f.path);
            }
            if let Some(what) = ptr.unusual {
                rewrite!("{}: {what}", f.path);
            }
            if ptr.zf {
                rewrite!("{}: stored compressed (zisofs)", f.path);
            }
        }
        if mounted_iso && !ptrs.iter().any(|ptr| ptr.record == f.ino) {
            rewrite!("{}: its record was not found in a walk of the tree", f.path);
        }
        let boot = match boot_role(&layout, f.extent) {
            BootRole::None => None,
            BootRole::Fixed(what) => rewrite!("{}: {what}", f.path),
            BootRole::Image(i) => Some(&layout.images[i]),
        };
        let mut at = u64::from(f.extent) * SECTOR;
        if let Some(content) = &f.content {
            let len = content.len();
            if len > u64::from(u32::MAX) {
                rewrite!("{}: over 4 GiB, a multi-extent file", f.path);
            }
            let owned = f.old_size.div_ceil(SECTOR) * SECTOR;
            let fits =
                f.old_size > 0 && len <= owned && !census.others_in(f.extent, at, at + owned);
            if !fits && boot.is_some() {
                rewrite!("{}: a boot image that must move to grow", f.path);
            }
            let mut in_gap = false;
            if !fits {
                let gap = match udf {
                    None => gaps
                        .get_or_insert_with(|| Gaps::of(&census, &layout, volume_end))
                        .take(src, len)?,
                    Some(_) => None,
                };
                at = gap.unwrap_or(end);
                in_gap = gap.is_some();
                if !in_gap {
                    end += len.div_ceil(SECTOR) * SECTOR;
                }
            }
            let padded = len.div_ceil(SECTOR) * SECTOR;
            let mut spans = match boot {
                Some(image) => match repatched(image, content, f, &mut p)? {
                    Ok(spans) => spans,
                    Err(why) => return Ok(Fit::Rewrite(why)),
                },
                None => content.spans(),
            };
            if array.is_some() {
                if let Some(ptr) = ptrs.iter().find(|ptr| Some(ptr.tree) == primary) {
                    sums.push((ptr.record, md5_of(&spans, len, &f.path)?));
                }
            }
            spans.push(Span::Zeros(padded - len));
            let mut pos = at;
            for span in spans {
                let n = span.len();
                p.writes.push((pos, span));
                pos += n;
            }
            let place = if at == u64::from(f.extent) * SECTOR {
                "in its own sectors"
            } else if in_gap {
                "in free space inside the volume,"
            } else {
                "after the volume,"
            };
            p.summary.push(format!(
                "{}: {len} bytes {place} at block {}",
                f.path,
                at / SECTOR
            ));
        }
        for ptr in ptrs {
            record_patches(iso, f, ptr, at, &mut p)?;
        }
        if let Some(udf) = udf {
            let entry = NewEntry {
                old_at: u64::from(f.extent) * SECTOR,
                new_at: at,
                size: f.content.as_ref().map(|c| c.len()),
                old: &f.old,
                meta: &f.new,
            };
            match udf.patch_entry(&f.path, &entry)? {
                Some(Ok((offset, bytes))) => p.writes.push((offset, Span::Bytes(Arc::from(bytes)))),
                Some(Err(why)) => return Ok(Fit::Rewrite(why)),
                None => {}
            }
        }
        if f.content.is_none() {
            p.summary.push(format!("{}: metadata", f.path));
        }
    }
    if let Some(reason) = reads_overwritten(&p, image_id) {
        return Ok(Fit::Rewrite(reason));
    }
    let mut new_len = p.old_len;
    if end > data_end {
        let grown = match grow(&layout, src, data_end, end, &mut p)? {
            Ok(g) => g,
            Err(why) => return Ok(Fit::Rewrite(why)),
        };
        new_len = grown.new_len;
        for d in volumes(iso) {
            let entry = descriptors.entry(d.offset).or_insert_with(|| d.clone());
            if let Body::Volume(v) = &mut entry.body {
                v.volume_space_size = (grown.new_volume_end / SECTOR) as u32;
            }
        }
        p.summary.push(format!(
            "the volume grows from {} to {} blocks",
            volume_end / SECTOR,
            grown.new_volume_end / SECTOR
        ));
    }
    if let Some((_, label)) = &changes.label {
        for d in volumes(iso) {
            let entry = descriptors.entry(d.offset).or_insert_with(|| d.clone());
            if let Body::Volume(v) = &mut entry.body {
                v.volume_id = Text::new(label, v.ucs2());
            }
        }
        p.summary.push(format!("volume label: {label}"));
    }
    for (offset, d) in descriptors {
        p.writes.push((offset, Span::Bytes(Arc::from(d.encode()))));
    }
    if let Some(array) = array {
        let (offset, items) = match array.updated(iso, &sums) {
            Ok(updated) => updated,
            Err(e) => rewrite!("xorriso's MD5 checksum array is damaged ({e})"),
        };
        p.writes.push((offset, Span::Bytes(Arc::from(items))));
    }
    let tags = boot::md5tags::read(src)?;
    if !tags.is_empty() {
        for t in &tags {
            p.writes.push((t.block * SECTOR, Span::Zeros(SECTOR)));
        }
        p.warnings.push(format!(
            "the image's {} xorriso MD5 tags no longer match its blocks: dropped",
            tags.len()
        ));
    }
    p.new_len = new_len;
    Ok(Fit::InPlace(p))
}

/// The MD5 of the `len` bytes of `spans`, new data of the file at `path`.
fn md5_of(spans: &[Span], len: u64, path: &str) -> Result<[u8; 16]> {
    use md5::Digest;
    let data = crate::data::Layout::covering(spans.to_vec(), len).ok_or_else(|| {
        crate::error::Error::Usage(format!(
            "{path}: its new data does not add up to {len} bytes"
        ))
    })?;
    let mut md5 = md5::Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0;
    while at < len {
        let n = data.read_at(at, &mut buf[..(len - at).min(1 << 20) as usize])?;
        if n == 0 {
            return Err(crate::error::Error::Usage(format!(
                "{path}: its new data ends at {at} of {len} bytes"
            )));
        }
        md5.update(&buf[..n]);
        at += n as u64;
    }
    Ok(md5.finalize().into())
}

/// The block where the data of `ino` (of `size` bytes) starts in its image, when it is one
/// run of the image starting on a block.
fn data_block(fs: &dyn FileSystem, ino: Ino, size: u64) -> Result<Option<u32>> {
    let spans = fs.spans(ino)?.unwrap_or_default();
    Ok(match spans.as_slice() {
        [Span::Source { offset, len, .. }] if *len == size && offset % SECTOR == 0 => {
            u32::try_from(offset / SECTOR).ok()
        }
        _ => None,
    })
}

/// The descriptors that describe a volume (primary, Joliet, enhanced, supplementary).
fn volumes(iso: &IsoFs) -> impl Iterator<Item = &Descriptor> {
    iso.descriptors.iter().filter(|d| d.volume().is_some())
}

/// What a file at block `extent` is to the boot setup.
enum BootRole {
    None,
    /// A boot image (index in the layout's images), which new content fits as long as it
    /// stays where it is: patched as the original was, the catalog's count following.
    Image(usize),
    /// Something that does not change in place (why).
    Fixed(&'static str),
}

fn boot_role(layout: &boot::Layout, extent: u32) -> BootRole {
    let block = u64::from(extent) * SECTOR;
    if layout.boot_record.as_ref().map(|b| b.catalog) == Some(extent) {
        BootRole::Fixed("the boot catalog")
    } else if layout.system.partitions.iter().any(|p| p.start == block) {
        BootRole::Fixed("a partition of the system area (an EFI image)")
    } else if let Some(i) = layout
        .images
        .iter()
        .position(|i| i.entry.load_rba == extent)
    {
        BootRole::Image(i)
    } else {
        BootRole::None
    }
}

/// The largest boot image patched in place (read into memory to be patched).
const MAX_PATCHED: u64 = 64 << 20;

/// The new content of boot image `image` (the file `f`), patched as the original was (its
/// boot-info table, GRUB2's boot info) for its block; and when its catalog entry loaded the
/// whole file, the entry's sector count for the new size (written into `p`).
fn repatched(
    image: &boot::Image,
    content: &crate::overlay::Content,
    f: &Changed,
    p: &mut Patch,
) -> Result<std::result::Result<Vec<Span>, String>> {
    let len = content.len();
    if len > MAX_PATCHED {
        return Ok(Err(format!(
            "{}: a boot image over {MAX_PATCHED} bytes",
            f.path
        )));
    }
    let mut bytes = vec![0u8; len as usize];
    let mut done = 0;
    while done < bytes.len() {
        match content.read_at(done as u64, &mut bytes[done..])? {
            0 => break,
            n => done += n,
        }
    }
    if let Err(e) = image.patches.apply(&mut bytes, 16, f.extent) {
        return Ok(Err(format!("{}: {e}", f.path)));
    }
    let entry = &image.entry;
    let whole = entry.emulation == boot::eltorito::Emulation::None
        && u64::from(entry.sector_count) == f.old_size.div_ceil(512);
    if whole {
        let Ok(count) = u16::try_from(len.div_ceil(512)) else {
            return Ok(Err(format!("{}: too large for its catalog entry", f.path)));
        };
        p.writes.push((
            entry.offset + 6,
            Span::Bytes(Arc::from(count.to_le_bytes().to_vec())),
        ));
    }
    Ok(Ok(vec![Span::Bytes(Arc::from(bytes))]))
}

/// The byte just past the original's data: its files and directories, the boot catalog and
/// the boot images (what follows, up to the image's end, is its tail: padding, appended
/// partitions, the backup GPT).
fn data_end(census: &records::Census, layout: &boot::Layout) -> u64 {
    let files = census.used.iter().map(|&(_, e, _)| e).max().unwrap_or(0);
    let catalog = layout
        .boot_record
        .as_ref()
        .map_or(0, |b| (u64::from(b.catalog) + 1) * SECTOR);
    let images = layout
        .images
        .iter()
        .filter(|i| !matches!(i.location, boot::Location::Partition(_)))
        .map(|i| i.start() + i.entry.load_bytes())
        .max()
        .unwrap_or(0);
    files.max(catalog).max(images).div_ceil(SECTOR) * SECTOR
}

/// The most bytes after the original's data that an in-place commit moves to make room
/// (held in memory while it does); a longer tail makes the commit a rewrite.
const MAX_TAIL: u64 = 64 << 20;

/// Makes room for new data from `data_end` to `end` (past the original's data): the tail
/// (padding, appended partitions) moves after it, at the original's alignment, the backup GPT
/// is written at the new end, and the system area's partition tables follow (the boot
/// replay's [`relocate`](boot::replay::relocate), with no file moved). The writes go into `p`;
/// `Err(why)` when the tail cannot move in place.
fn grow(
    layout: &boot::Layout,
    src: &dyn crate::source::Source,
    data_end: u64,
    end: u64,
    p: &mut Patch,
) -> Result<std::result::Result<Tail, String>> {
    let tail = Tail::of(&layout.system, data_end, end);
    let kept = tail.copy_end - tail.old_data_end;
    if kept > MAX_TAIL {
        return Ok(Err(format!(
            "{kept} bytes after the image's data (appended partitions) would have to move"
        )));
    }
    let old_tail = src.read_vec(tail.old_data_end, kept as usize, "the image's tail")?;
    p.writes.push((end, Span::Zeros(tail.gap())));
    p.writes.push((
        tail.moved(tail.old_data_end),
        Span::Bytes(Arc::from(old_tail)),
    ));
    let s = &layout.system;
    let tables = s.mbr.as_ref().is_some_and(|m| m.entries().next().is_some())
        || s.gpt.is_some()
        || s.apm.is_some();
    let mut backup = None;
    if tables {
        let chained = layout.mbr_code.chain().and_then(|(chain, i)| {
            let image = layout.images.get(i)?;
            Some((chain, image.entry.load_rba))
        });
        // Nothing inside the data moves: every place a partition begins or ends there is
        // where it was.
        let files = boot::replay::boundaries(s)
            .into_iter()
            .filter(|&b| b < data_end)
            .map(|b| {
                let same = boot::replay::Moved {
                    start: b,
                    old_size: 0,
                    new_size: 0,
                };
                (b, same)
            })
            .collect();
        let reloc = Relocation {
            files,
            tail: tail.clone(),
            appended: true,
        };
        let r = match relocate(s, &reloc, chained, &[], src.name(), false) {
            Ok(r) => r,
            Err(e) => return Ok(Err(format!("the partition tables cannot follow: {e}"))),
        };
        p.warnings.extend(r.warnings);
        if r.area.get(..s.bytes.len()) != Some(&s.bytes[..]) {
            p.writes.push((0, Span::Bytes(Arc::from(r.area))));
        }
        backup = r.backup;
    }
    let copied_to = tail.moved(tail.copy_end);
    let last = backup.as_ref().map_or(tail.new_len, |(at, _)| *at);
    p.writes
        .push((copied_to, Span::Zeros(last.saturating_sub(copied_to))));
    if let Some((at, bytes)) = backup {
        p.writes.push((at, Span::Bytes(Arc::from(bytes))));
    }
    Ok(Ok(tail))
}

/// The patches of one record pointing at `f`'s data, whose data now starts at byte `at`: its
/// location, size and date in both byte orders, its PX and TF.
fn record_patches(
    iso: &IsoFs,
    f: &Changed,
    ptr: &records::Pointer,
    at: u64,
    p: &mut Patch,
) -> Result<()> {
    let src = iso.source.as_ref();
    // Location (2), size (10) and date (18) of the record, 23 bytes from its byte 2.
    let old = src.read_vec(ptr.record + 2, 23, "directory record")?;
    let mut fixed = old.clone();
    endian::put_both32(&mut fixed, 0, (at / SECTOR) as u32);
    if let Some(c) = &f.content {
        endian::put_both32(&mut fixed, 8, c.len() as u32);
    }
    if f.new.mtime != f.old.mtime {
        fixed[16..23].copy_from_slice(&iso_date::encode_short(f.new.mtime));
    }
    if fixed != old {
        p.writes
            .push((ptr.record + 2, Span::Bytes(Arc::from(fixed))));
    }
    // What changed in the mounted tree's view changes here; the rest stays as recorded (a
    // UDF tree's owners and times need not be this tree's).
    let (new, old) = (&f.new, &f.old);
    if let Some((offset, px)) = ptr.px {
        let pick = |n: u32, o: u32, kept: u32| if n != o { n } else { kept };
        let new = Px {
            mode: pick(new.st_mode(), old.st_mode(), px.mode),
            uid: pick(new.uid, old.uid, px.uid),
            gid: pick(new.gid, old.gid, px.gid),
            ..px
        };
        if new != px {
            p.writes
                .push((offset, Span::Bytes(Arc::from(new.encode()))));
        }
    }
    if let Some((offset, tf)) = ptr.tf {
        let new = retimed(&tf, old, new);
        if new != tf {
            p.writes
                .push((offset, Span::Bytes(Arc::from(new.encode()?))));
        }
    }
    Ok(())
}

/// `tf` with the modification, access and change times that differ between `old` and `meta`
/// set to `meta`'s, in the form it records.
fn retimed(tf: &Tf, old: &Metadata, meta: &Metadata) -> Tf {
    let mut new = *tf;
    let times: [(usize, Timestamp, Timestamp); 3] = [
        (1, meta.mtime, old.mtime),
        (2, meta.atime, old.atime),
        (3, meta.ctime, old.ctime),
    ];
    for (bit, t, was) in times {
        if t == was {
            continue;
        }
        if let Some(slot) = new.times[bit].as_mut() {
            *slot = match slot {
                Stamp::Short(_) => Stamp::Short(iso_date::encode_short(t)),
                Stamp::Long(_) => Stamp::Long(iso_date::encode_long(Some(t))),
            };
        }
    }
    new
}

/// The device and inode of the image file, when it is one.
fn host_identity(iso: &IsoFs) -> Option<(u64, u64)> {
    let (fd, _) = iso.source.host_file()?;
    let st = rustix::fs::fstat(&fd).ok()?;
    Some((st.st_dev, st.st_ino))
}

/// Why the patch cannot go in place when a piece of new data is read from a part of the image
/// that the patch writes over elsewhere (a file copied from another whose sectors are reused).
fn reads_overwritten(p: &Patch, image: Option<(u64, u64)>) -> Option<String> {
    let image = image?;
    for (dest, span) in &p.writes {
        let Some((fd, from)) = span.host_file() else {
            continue;
        };
        let same = rustix::fs::fstat(&fd).is_ok_and(|st| (st.st_dev, st.st_ino) == image);
        if !same || from == *dest {
            continue;
        }
        let to = from + span.len();
        let clash = p
            .writes
            .iter()
            .any(|(at, s)| *at < to && from < at + s.len());
        if clash {
            return Some(format!(
                "new data is read from bytes {from} to {to} of the image, which the commit writes over"
            ));
        }
    }
    None
}
