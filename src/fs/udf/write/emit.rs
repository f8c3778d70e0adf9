//! The write pass: every structure encoded where [`super::layout`] put it (descriptors,
//! file entries, directories, the integrity descriptor with its counts), and the image's
//! spans listed in order, file data as the tree gives it (ranges of the original where it
//! did not change).

use std::sync::Arc;

use super::super::ad::{Ad, AdForm, ExtentType, LbAddr};
use super::super::anchor::{AnchorDescriptor, ExtentAd};
use super::super::fid::{self, Fid};
use super::super::file_entry::{file_type, Data, Extended, FileEntry};
use super::super::icb_tag::IcbTag;
use super::super::integrity::IntegrityDescriptor;
use super::super::partition_map;
use super::super::space_bitmap;
use super::super::tag::{id, Tag};
use super::super::terminating::Terminating;
use super::super::timestamp::UdfTime;
use super::super::unallocated::UnallocatedSpace;
use super::super::{vrs, UdfFs};
use super::layout::{Layout, TRAILER, VDS_BLOCKS, VRS_START};
use super::tree::{Obj, Tree};
use super::Style;
use crate::error::{Error, Result};
use crate::fs::iso9660::write::{BridgeAt, BridgeSpans};
use crate::fs::{FileKind, FileSystem, Span};
use crate::overlay::Provenance;
use crate::plan::Plan;

/// The implementation identifier of entries isofish makes.
const IMPLEMENTATION: &[u8] = b"*isofish";
/// Length of the UDF implementation use of an integrity descriptor (2.2.6.4).
const LVID_IU_LEN: usize = 46;

/// What the write pass works from.
#[derive(Clone, Copy)]
struct Writing<'a> {
    original: &'a UdfFs,
    style: &'a Style,
    tree: &'a Tree,
    layout: &'a Layout,
}

/// Bytes in memory, padded to whole blocks of `bs`.
fn blocks(mut bytes: Vec<u8>, bs: u64) -> Span {
    bytes.resize((bytes.len() as u64).next_multiple_of(bs) as usize, 0);
    Span::Bytes(Arc::from(bytes))
}

fn zero_ad() -> Ad {
    Ad {
        len: 0,
        kind: ExtentType::Recorded,
        loc: LbAddr { block: 0, part: 0 },
        impl_use: [0; 6],
    }
}

/// The regid isofish records as implementation.
pub(crate) fn implementation() -> [u8; 32] {
    let mut r = [0u8; 32];
    r[1..1 + IMPLEMENTATION.len()].copy_from_slice(IMPLEMENTATION);
    r
}

/// A file entry of the kind the style asks for, with nothing recorded yet.
fn fresh_entry(style: &Style, kind: u8, time: UdfTime) -> FileEntry {
    new_entry(style.extended, kind, time)
}

/// A file entry (an extended one with `extended`) of ICB file type `kind`, strategy 4,
/// dated `time`, with nothing recorded yet (no tag, size, data, owner or permissions).
pub(crate) fn new_entry(extended: bool, kind: u8, time: UdfTime) -> FileEntry {
    FileEntry {
        tag: Tag::new(0, 0, 0, 0, 0),
        icb_tag: IcbTag {
            prior_entries: 0,
            strategy: 4,
            strategy_parameter: 0,
            max_entries: 1,
            file_type: kind,
            parent: LbAddr { block: 0, part: 0 },
            flags: 0,
        },
        uid: 0,
        gid: 0,
        permissions: 0,
        link_count: 1,
        record_format: 0,
        record_display_attributes: 0,
        record_length: 0,
        size: 0,
        blocks_recorded: 0,
        access_time: time,
        modification_time: time,
        attribute_time: time,
        checkpoint: 1,
        extended_attribute_icb: zero_ad(),
        implementation_id: implementation(),
        unique_id: 0,
        extended_attributes: Vec::new(),
        ad_len: 0,
        data: Data::Extents(Vec::new(), AdForm::Short),
        extended: extended.then(|| Extended {
            object_size: 0,
            creation_time: time,
            stream_directory: zero_ad(),
        }),
    }
}

/// The ICB file type of a Unix kind.
fn type_of(kind: FileKind) -> u8 {
    match kind {
        FileKind::Dir => file_type::DIRECTORY,
        FileKind::File => file_type::REGULAR,
        FileKind::Symlink => file_type::SYMLINK,
        FileKind::BlockDevice => file_type::BLOCK_DEVICE,
        FileKind::CharDevice => file_type::CHAR_DEVICE,
        FileKind::Fifo => file_type::FIFO,
        FileKind::Socket => file_type::SOCKET,
    }
}

/// Allocation descriptors for `len` bytes from block `block` of partition `part`, in extents
/// under 2^30 bytes (whole blocks but the last).
fn extents(block: u32, part: u16, len: u64, bs: u64) -> Vec<Ad> {
    let max = (1u64 << 30) - bs;
    let mut out = Vec::new();
    let mut done = 0;
    while done < len {
        let n = max.min(len - done);
        out.push(Ad {
            len: n as u32,
            kind: ExtentType::Recorded,
            loc: LbAddr {
                block: block + (done / bs) as u32,
                part,
            },
            impl_use: [0; 6],
        });
        done += n;
    }
    out
}

/// Encodes `fe` recorded at `location`, re-signing its extended attribute header (whose tag
/// names the entry's block too); fails when it passes one block.
fn encode_entry(
    style: &Style,
    fe: &mut FileEntry,
    location: u32,
    image: &str,
    bs: u64,
) -> Result<Vec<u8>> {
    if let Ok(tag) = Tag::parse(&fe.extended_attributes, image, "UDF extended attributes", 0) {
        if tag.ident == id::EXTENDED_ATTRIBUTE_HEADER {
            Tag { location, ..tag }.encode(&mut fe.extended_attributes);
        }
    }
    fe.ad_len = 0;
    let mut b = fe.encode();
    if b.len() as u64 > bs {
        return Err(Error::unsupported(
            image,
            format!(
                "a file entry of {} bytes (its allocation descriptors pass the {bs}-byte block)",
                b.len()
            ),
        ));
    }
    let ident = if fe.extended.is_some() {
        id::EXTENDED_FILE_ENTRY
    } else {
        id::FILE_ENTRY
    };
    style.sign(&mut b, ident, location);
    Ok(b)
}

/// The file entry of object `i`.
fn entry(
    original: &UdfFs,
    style: &Style,
    tree: &Tree,
    layout: &Layout,
    i: usize,
) -> Result<Vec<u8>> {
    let o: &Obj = &tree.objs[i];
    let bs = u64::from(style.block_size);
    let meta = &o.meta;
    let mut fe = match &o.fe {
        Some(fe) => fe.clone(),
        None => fresh_entry(style, type_of(meta.kind), UdfTime::of(meta.mtime)),
    };
    if fe.kind() != meta.kind {
        fe.icb_tag.file_type = type_of(meta.kind);
    }
    fe.icb_tag = IcbTag {
        prior_entries: 0,
        strategy: 4,
        strategy_parameter: 0,
        max_entries: 1,
        parent: LbAddr { block: 0, part: 0 },
        ..fe.icb_tag
    };
    if !matches!(o.prov, Provenance::Base { meta: true, .. }) {
        fe.uid = meta.uid;
        fe.gid = meta.gid;
        fe.set_mode(meta.mode);
        fe.access_time = UdfTime::of(meta.atime);
        fe.modification_time = UdfTime::of(meta.mtime);
        fe.attribute_time = UdfTime::of(meta.ctime);
    }
    let (size, ads, form) = if meta.is_dir() {
        let len = layout.dir_len[i];
        let ads = extents(layout.dir[i], layout.zone_part, len, bs);
        (len, ads, AdForm::Short)
    } else {
        let form = if layout.zone_part == 0 {
            AdForm::Short
        } else {
            AdForm::Long
        };
        (o.size, extents(layout.data[i], 0, o.size, bs), form)
    };
    fe.link_count = o.links;
    fe.size = size;
    fe.blocks_recorded = size.div_ceil(bs);
    fe.unique_id = o.unique;
    fe.data = Data::Extents(ads, form);
    if let Some(bytes) = &o.embedded {
        fe.blocks_recorded = 0;
        fe.data = Data::Embedded {
            bytes: bytes.clone(),
            at: 0,
        };
    }
    fe.extended = match (style.extended, fe.extended.take()) {
        (false, _) => None,
        (true, x) => Some(Extended {
            object_size: size,
            creation_time: x.map_or(fe.modification_time, |x| x.creation_time),
            stream_directory: zero_ad(),
        }),
    };
    encode_entry(style, &mut fe, layout.fe[i], original.image(), bs)
}

/// The data of directory `i`: its parent entry, then one identifier per name.
fn directory(style: &Style, tree: &Tree, layout: &Layout, i: usize) -> Vec<u8> {
    let bs = u64::from(style.block_size);
    let o = &tree.objs[i];
    let mut out = Vec::with_capacity(layout.dir_len[i] as usize);
    let parent = std::iter::once((&[][..], o.parent, fid::DIRECTORY | fid::PARENT));
    let names = o.children.iter().map(|(name, c)| {
        let dir = if tree.objs[*c].meta.is_dir() {
            fid::DIRECTORY
        } else {
            0
        };
        (name.as_slice(), *c, dir)
    });
    for (name, target, characteristics) in parent.chain(names) {
        let mut impl_use = [0u8; 6];
        impl_use[2..].copy_from_slice(&(tree.objs[target].unique as u32).to_le_bytes());
        let location = layout.dir[i] + (out.len() as u64 / bs) as u32;
        let f = Fid {
            tag: Tag::new(0, 0, 0, 0, 0),
            version: 1,
            characteristics,
            icb: Ad {
                len: style.block_size,
                kind: ExtentType::Recorded,
                loc: LbAddr {
                    block: layout.fe[target],
                    part: layout.zone_part,
                },
                impl_use,
            },
            implementation_use: &[],
            name,
        };
        let mut b = f.encode();
        style.sign(&mut b, id::FILE_IDENTIFIER, location);
        out.extend(b);
    }
    out
}

/// The zone's spans: file set and terminating descriptors, entries, directories.
fn zone(original: &UdfFs, style: &Style, tree: &Tree, layout: &Layout) -> Result<Vec<Span>> {
    let bs = u64::from(style.block_size);
    let mut spans = Vec::new();
    let mut fsd = original.file_set()?;
    fsd.root = Ad {
        len: style.block_size,
        kind: ExtentType::Recorded,
        loc: LbAddr {
            block: layout.fe[0],
            part: layout.zone_part,
        },
        impl_use: [0; 6],
    };
    fsd.next_extent = zero_ad();
    fsd.system_stream_directory = zero_ad();
    let mut b = fsd.encode();
    style.sign(&mut b, id::FILE_SET, layout.fsd);
    spans.push(blocks(b, bs));
    let mut b = Terminating {
        tag: Tag::new(0, 0, 0, 0, 0),
    }
    .encode();
    style.sign(&mut b, id::TERMINATING, layout.fsd + 1);
    spans.push(blocks(b, bs));
    for i in 0..tree.objs.len() {
        spans.push(blocks(entry(original, style, tree, layout, i)?, bs));
    }
    for (i, o) in tree.objs.iter().enumerate() {
        if o.meta.is_dir() {
            spans.push(blocks(directory(style, tree, layout, i), bs));
        }
    }
    let used: u64 = spans.iter().map(Span::len).sum();
    spans.push(Span::Zeros(u64::from(layout.zone_blocks) * bs - used));
    Ok(spans)
}

/// The entry of the metadata file (or its mirror, by `kind`) recorded at `location`, over
/// the zone's copy at `at`; dated as the volume.
fn metadata_entry(
    original: &UdfFs,
    style: &Style,
    layout: &Layout,
    kind: u8,
    location: u32,
    at: u32,
) -> Result<Vec<u8>> {
    let bs = u64::from(style.block_size);
    let mut fe = fresh_entry(style, kind, original.desc.primary.recorded);
    // The metadata files are extended entries whatever the others are (UDF 2.2.13).
    fe.extended.get_or_insert(Extended {
        object_size: 0,
        creation_time: original.desc.primary.recorded,
        stream_directory: zero_ad(),
    });
    let len = u64::from(layout.zone_blocks) * bs;
    fe.size = len;
    fe.blocks_recorded = u64::from(layout.zone_blocks);
    fe.data = Data::Extents(extents(at, 0, len, bs), AdForm::Short);
    if let Some(x) = &mut fe.extended {
        x.object_size = len;
    }
    encode_entry(style, &mut fe, location, original.image(), bs)
}

/// The volume descriptor sequence recorded from block `at`.
fn sequence(original: &UdfFs, style: &Style, layout: &Layout, at: u32) -> Vec<u8> {
    let d = &original.desc;
    let bs = u64::from(style.block_size);
    let mut out = Vec::new();
    let mut block = at;
    let mut put = |mut b: Vec<u8>, ident: u16| {
        style.sign(&mut b, ident, block);
        b.resize(bs as usize, 0);
        out.extend(b);
        block += 1;
    };
    put(d.primary.encode(), id::PRIMARY_VOLUME);
    for iu in &d.implementation_use {
        put(iu.encode(), id::IMPLEMENTATION_USE);
    }
    let mut p = style.partition.clone();
    p.start = layout.part_start;
    p.length = layout.part_len;
    p.contents_use = [0; 128];
    if layout.bitmap_blocks > 0 {
        let len = space_bitmap::len(layout.part_len) as u32;
        p.contents_use[8..12].copy_from_slice(&len.to_le_bytes());
    }
    put(p.encode(), id::PARTITION);
    let mut l = d.logical.clone();
    l.file_set = Ad {
        len: style.block_size,
        kind: ExtentType::Recorded,
        loc: LbAddr {
            block: layout.fsd,
            part: layout.zone_part,
        },
        impl_use: [0; 6],
    };
    l.integrity = ExtentAd {
        len: 2 * style.block_size,
        block: layout.integrity,
    };
    l.maps = partition_map::type1(p.number).to_vec();
    l.map_count = 1;
    if let Some(m) = &style.metadata {
        let duplicated = true;
        l.maps
            .extend(m.encode(p.number, layout.metadata_fe, layout.mirror_fe, duplicated));
        l.map_count = 2;
    }
    put(l.encode(), id::LOGICAL_VOLUME);
    let last = d
        .implementation_use
        .iter()
        .map(|i| i.vds_number)
        .chain([d.primary.vds_number, p.vds_number, l.vds_number])
        .max()
        .unwrap_or(0);
    let usd = UnallocatedSpace {
        tag: Tag::new(0, 0, 0, 0, 0),
        vds_number: last + 1,
        extents: Vec::new(),
    };
    put(usd.encode(), id::UNALLOCATED_SPACE);
    put(
        Terminating {
            tag: Tag::new(0, 0, 0, 0, 0),
        }
        .encode(),
        id::TERMINATING,
    );
    out
}

/// The integrity descriptor, closed, with the counts and free space of the new volume.
fn integrity(original: &UdfFs, style: &Style, tree: &Tree, layout: &Layout) -> Vec<u8> {
    let dirs = tree.objs.iter().filter(|o| o.meta.is_dir()).count() as u32;
    let files = tree.objs.len() as u32 - dirs;
    let mut d = style
        .integrity
        .clone()
        .unwrap_or_else(|| IntegrityDescriptor {
            tag: Tag::new(0, 0, 0, 0, 0),
            recorded: original.desc.primary.recorded,
            integrity_type: 1,
            next: ExtentAd { len: 0, block: 0 },
            contents_use: [0; 32],
            free_space: Vec::new(),
            sizes: Vec::new(),
            implementation_use: Vec::new(),
        });
    d.integrity_type = 1;
    d.next = ExtentAd { len: 0, block: 0 };
    d.contents_use = [0; 32];
    d.contents_use[..8].copy_from_slice(&tree.next_unique.to_le_bytes());
    d.free_space = vec![layout.part_len - layout.used];
    d.sizes = vec![layout.part_len];
    if style.metadata.is_some() {
        d.free_space.push(0);
        d.sizes.push(layout.zone_blocks);
    }
    let iu = &mut d.implementation_use;
    if iu.len() < LVID_IU_LEN {
        *iu = vec![0; LVID_IU_LEN];
        iu[..32].copy_from_slice(&implementation());
        for at in [40, 42, 44] {
            iu[at..at + 2].copy_from_slice(&style.revision.to_le_bytes());
        }
    }
    iu[32..36].copy_from_slice(&files.to_le_bytes());
    iu[36..40].copy_from_slice(&dirs.to_le_bytes());
    let mut b = d.encode();
    style.sign(&mut b, id::INTEGRITY, layout.integrity);
    b
}

/// An anchor recorded at `block`.
fn anchor(style: &Style, layout: &Layout, block: u32) -> Vec<u8> {
    let extent = |block| ExtentAd {
        len: VDS_BLOCKS * style.block_size,
        block,
    };
    let mut b = AnchorDescriptor {
        tag: Tag::new(0, 0, 0, 0, 0),
        main: extent(layout.main),
        reserve: extent(layout.reserve),
    }
    .encode();
    style.sign(&mut b, id::ANCHOR, block);
    b
}

/// The head of the partition: bitmap, metadata file entries, the zone (twice with the
/// mirror); pushed onto `plan`, whose start is image block `base`.
fn partition(w: &Writing, plan: &mut Plan, base: u64) -> Result<()> {
    let (original, style, tree, layout) = (w.original, w.style, w.tree, w.layout);
    let bs = u64::from(style.block_size);
    let part = u64::from(layout.part_start);
    let to = |plan: &mut Plan, block: u64| {
        let at = (part + block - base) * bs;
        debug_assert!(plan.len() <= at, "the layout reserved too little");
        plan.push(Span::Zeros(at.saturating_sub(plan.len())));
    };
    to(plan, 0);
    if layout.bitmap_blocks > 0 {
        let b = space_bitmap::encode(
            layout.part_len,
            layout.used,
            0,
            style.tag_version,
            style.serial,
        );
        plan.push(blocks(b, bs));
    }
    let zone = zone(original, style, tree, layout)?;
    if style.metadata.is_some() {
        for (kind, location, at) in [
            (file_type::METADATA, layout.metadata_fe, layout.zone_phys),
            (
                file_type::METADATA_MIRROR,
                layout.mirror_fe,
                layout.mirror_phys,
            ),
        ] {
            to(plan, u64::from(location));
            plan.push(blocks(
                metadata_entry(original, style, layout, kind, location, at)?,
                bs,
            ));
        }
    }
    to(plan, u64::from(layout.zone_phys));
    for s in &zone {
        plan.push(s.clone());
    }
    if style.metadata.is_some() {
        for s in zone {
            plan.push(s);
        }
    }
    Ok(())
}

/// The data the UDF side places (not shared), pushed onto `plan`, whose start is image block
/// `base`.
fn own_data(w: &Writing, plan: &mut Plan, base: u64) {
    let (style, tree, layout) = (w.style, w.tree, w.layout);
    let bs = u64::from(style.block_size);
    let part = u64::from(layout.part_start);
    for (i, o) in tree.objs.iter().enumerate() {
        if o.size == 0 || o.embedded.is_some() || o.shared.is_some() {
            continue;
        }
        let at = (part + u64::from(layout.data[i]) - base) * bs;
        debug_assert!(plan.len() <= at, "the layout reserved too little");
        plan.push(Span::Zeros(at.saturating_sub(plan.len())));
        for s in &o.data {
            plan.push(s.clone());
        }
        plan.pad_continuing(bs);
    }
}

/// The anchor at the partition's end (N-256), then zeros up to the anchor at N, or with
/// `reserve` the reserve sequence first; pushed onto `plan`, whose start is image block
/// `base`.
fn trailer(w: &Writing, plan: &mut Plan, base: u64, reserve: bool) {
    let (original, style, layout) = (w.original, w.style, w.layout);
    let bs = u64::from(style.block_size);
    let end = u64::from(layout.part_start) + u64::from(layout.part_len);
    let to = |plan: &mut Plan, block: u64| {
        let at = (block - base) * bs;
        plan.push(Span::Zeros(at.saturating_sub(plan.len())));
    };
    to(plan, end);
    plan.push(blocks(anchor(style, layout, end as u32), bs));
    if reserve {
        plan.push_bytes(sequence(original, style, layout, layout.reserve));
    }
    to(plan, layout.total - 1);
    plan.push(blocks(anchor(style, layout, (layout.total - 1) as u32), bs));
    debug_assert_eq!(TRAILER as u64, layout.total - end);
}

/// The volume descriptors and integrity sequence, pushed onto `plan` (whose start is image
/// block `base`): the main sequence, with `reserve` the reserve one after it, the integrity
/// descriptor and its terminator.
fn descriptors(w: &Writing, plan: &mut Plan, base: u64, reserve: bool) {
    let (original, style, tree, layout) = (w.original, w.style, w.tree, w.layout);
    let bs = u64::from(style.block_size);
    let to = |plan: &mut Plan, block: u32| {
        let at = (u64::from(block) - base) * bs;
        plan.push(Span::Zeros(at.saturating_sub(plan.len())));
    };
    to(plan, layout.main);
    plan.push_bytes(sequence(original, style, layout, layout.main));
    if reserve {
        to(plan, layout.reserve);
        plan.push_bytes(sequence(original, style, layout, layout.reserve));
    }
    to(plan, layout.integrity);
    plan.push(blocks(integrity(original, style, tree, layout), bs));
    let mut td = Terminating {
        tag: Tag::new(0, 0, 0, 0, 0),
    }
    .encode();
    style.sign(&mut td, id::TERMINATING, layout.integrity + 1);
    plan.push(blocks(td, bs));
}

/// Lists the new pure UDF image's spans into `plan`.
pub(super) fn emit(
    original: &UdfFs,
    style: &Style,
    tree: &Tree,
    layout: &Layout,
    plan: &mut Plan,
) -> Result<()> {
    let bs = u64::from(style.block_size);
    let src = original.source();
    // The system area as the original had it, and the recognition sequence.
    let system = VRS_START.min(src.len());
    plan.push(Span::source(src, 0, system));
    plan.push(Span::Zeros(VRS_START - system));
    plan.push_bytes(vrs::sequence(style.revision, bs as usize));
    let w = Writing {
        original,
        style,
        tree,
        layout,
    };
    descriptors(&w, plan, 0, false);
    plan.push(Span::Zeros((256 * bs).saturating_sub(plan.len())));
    plan.push(blocks(anchor(style, layout, 256), bs));
    partition(&w, plan, 0)?;
    own_data(&w, plan, 0);
    trailer(&w, plan, 0, true);
    debug_assert_eq!(plan.len(), layout.total * bs);
    Ok(())
}

/// A bridge image's UDF side in the blocks the ISO 9660 layout reserved: the recognition
/// sequence; from block 256 (`gap_blocks`) the anchor, the descriptors and the partition's
/// head; after the ISO 9660 file data (`tail_blocks`) the data only UDF holds and the
/// anchors.
pub(super) fn emit_bridge(
    original: &UdfFs,
    style: &Style,
    tree: &Tree,
    layout: &Layout,
    at: BridgeAt,
    (gap_blocks, tail_blocks): (u64, u64),
) -> Result<BridgeSpans> {
    let bs = u64::from(style.block_size);
    let mut gap = Plan::new();
    let w = Writing {
        original,
        style,
        tree,
        layout,
    };
    gap.push(blocks(anchor(style, layout, at.gap), bs));
    descriptors(&w, &mut gap, u64::from(at.gap), true);
    partition(&w, &mut gap, u64::from(at.gap))?;
    gap.push(Span::Zeros((gap_blocks * bs).saturating_sub(gap.len())));
    debug_assert_eq!(gap.len(), gap_blocks * bs);
    let mut tail = Plan::new();
    own_data(&w, &mut tail, u64::from(at.tail));
    trailer(&w, &mut tail, u64::from(at.tail), false);
    debug_assert_eq!(tail.len(), tail_blocks * bs);
    Ok(BridgeSpans {
        vrs: vrs::sequence(style.revision, bs as usize),
        gap: gap.spans().to_vec(),
        tail: tail.spans().to_vec(),
    })
}
