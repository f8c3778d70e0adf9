//! The ISO 9660 writer: [`plan`] turns a tree (the overlay over an opened image, or the image
//! itself) into the [`Plan`] of a new image that keeps what the original carried: its
//! interchange level and name style, its descriptors' identifiers, dates and application use,
//! Rock Ridge of the same version with the same ER, Joliet of the same level and name length,
//! the ISO 9660:1999 descriptor, AAIP attributes, hidden flags, zisofs files as stored, and the
//! order of the original's file data on disc.
//!
//! One module per concern: `tree` gathers the tree to write (and relocates deep directories),
//! `names` gives identifiers ([`check_name`] is for the staging commands), `rrip` builds the
//! Rock Ridge system use areas, `dirs` the directories of each tree, `layout` reserves every
//! block, `emit` encodes the structures (with the encoders beside the decoders in
//! [`super`]) and lists the image's spans.
//!
//! Choices where the standards leave room (more in each module):
//! - The original's boot setup is replayed (`boot`, over [`crate::boot::replay`]): El Torito's
//!   boot record and catalog, the boot images patched for their new blocks, the system area
//!   with its partition tables moved, and the bytes after the ISO data (padding, appended
//!   partitions, the backup GPT). A `-partition_offset` image gets its second copy of the
//!   metadata again. An image with none of these gets a system area of zeros.
//! - The volume id is the tree's label when it differs from the original's (Joliet's too);
//!   every other descriptor field is copied, only sizes and locations change. Supplementary
//!   descriptors that are neither Joliet nor ISO 9660:1999 are not written.
//! - The ISO 9660:1999 descriptor, when the original has one, is written pointing at the
//!   primary tree (as genisoimage writes it; xorriso's separate tree is not rebuilt).
//! - Associated files, not listed by the tree, are not written.
//! - xorriso's MD5 tags (`-md5 on`) and the checksum attributes that index them
//!   (`isofs.ca`, `isofs.cx`) are dropped with a warning, not recomputed; an implanted MD5
//!   (implantisomd5) is computed again by the commit ([`crate::boot::isomd5`]).

mod boot;
mod dirs;
mod emit;
mod layout;
mod names;
mod original;
mod rrip;
mod tree;

pub use names::{check_name, NameFit, JOLIET_LONG_MAX, JOLIET_MAX, RR_MAX};
pub(crate) use tree::file_spans;

use super::volume::{Kind, Volume};
use super::IsoFs;
use crate::error::{Error, Result};
use crate::fs::{FileSystem, Ino, Span};
use crate::overlay::Provenance;
use crate::plan::Plan;
use names::IsoStyle;
use rrip::Rrip;

/// The writer's maps and sets, keyed by object indices, blocks and names it made itself:
/// hashbrown's foldhash, as a 74k-entry tree hashes each several times and SipHash's resistance to chosen
/// keys buys nothing here.
type HashMap<K, V> = hashbrown::HashMap<K, V>;
type HashSet<K> = hashbrown::HashSet<K>;

/// What the new image keeps of the original's format.
struct Style {
    iso: IsoStyle,
    rrip: Option<Rrip>,
    primary: Volume,
    /// Joliet's descriptor, name limit, and how the original's Joliet tree was made.
    joliet: Option<(Volume, usize, original::JolietInfo)>,
    enhanced: Option<Volume>,
}

impl Style {
    /// `Some(long)` when `original` has a Joliet tree; `long` when a name in it is over 64
    /// characters (so it was written with `-joliet-long`).
    fn joliet_of(original: &IsoFs) -> Result<Option<bool>> {
        original.joliet_long(|| {
            let has = Style::has_joliet(original);
            Ok(original::joliet_info(original, has, None)?.map(|j| j.long))
        })
    }

    /// True when `original` has a Joliet tree.
    fn has_joliet(original: &IsoFs) -> bool {
        original
            .descriptors()
            .iter()
            .any(|d| matches!(d.kind, Kind::Joliet(_)))
    }
}

/// What the user chose for a commit.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Leave out the El Torito entries and partitions whose boot files are gone, instead of
    /// stopping (`commit --drop-boot`).
    pub drop_boot: bool,
    /// Changes to the boot setup staged (`set-boot-file`, `boot-add-efi`).
    pub boot: crate::boot::edits::BootEdits,
}

/// Where the blocks reserved for a bridge's other side lie.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BridgeAt {
    /// The recognition sequence's first block (right after the terminator).
    pub(crate) vrs: u32,
    /// The first block of the gap (256).
    pub(crate) gap: u32,
    /// The first block after the file data.
    pub(crate) tail: u32,
}

/// What a bridge's other side writes in the blocks reserved for it.
pub(crate) struct BridgeSpans {
    pub(crate) vrs: Vec<u8>,
    pub(crate) gap: Vec<Span>,
    pub(crate) tail: Vec<Span>,
}

/// The other file system of a bridge image (UDF beside ISO 9660), laid out with the ISO 9660
/// tree: blocks after the terminator, from block 256 on (before the file data) and after the
/// file data, and the ISO 9660 files' data to share.
pub(crate) trait Bridge {
    /// The blocks it needs after the terminator, from block 256 on, and after the file data;
    /// `files` are the ISO 9660 tree's files with data: their paths and spans.
    fn reserve(&mut self, files: &[(String, &[Span])]) -> Result<(u32, u64, u32)>;
    /// What it writes once the layout is done: `blocks[i]` is where the data of `files[i]`
    /// (of [`Bridge::reserve`]) lies.
    fn fill(&mut self, blocks: &[u32], at: BridgeAt) -> Result<BridgeSpans>;
    /// What it left out or changed on its own.
    fn warnings(&self) -> Vec<String>;
}

/// The plan of a new image holding `tree`, in the format of `original` (see the module doc).
/// `provenance` says which objects of `tree` are the original's (same [`Ino`]) and whether
/// their data is unchanged; for a rewrite without changes, `|_| Provenance::UNCHANGED`. What
/// the replay of the boot setup dropped is in [`Plan::warnings`].
pub fn plan(
    original: &IsoFs,
    tree: &dyn FileSystem,
    provenance: &dyn Fn(Ino) -> Provenance,
    opts: &Options,
) -> Result<Plan> {
    plan_with(original, tree, provenance, opts, None, None)
}

/// [`plan`], with `bridge`'s file system laid out beside the ISO 9660 trees; `placed`, when
/// given, is told of each range of a host file the image's files' data takes (the byte of the
/// image it starts at, and the range) as soon as the layout is made, before the rest is
/// encoded: for a copy meanwhile ([`crate::plan::ahead`]).
pub(crate) fn plan_with(
    original: &IsoFs,
    tree: &dyn FileSystem,
    provenance: &dyn Fn(Ino) -> Provenance,
    opts: &Options,
    mut bridge: Option<&mut dyn Bridge>,
    placed: Option<&dyn Fn(u64, Span)>,
) -> Result<Plan> {
    let image = original.source().name().to_string();
    // xorriso's MD5 tags and the checksum attributes that go with them are not recomputed.
    let md5_tags = !crate::boot::md5tags::read(original.source().as_ref())?.is_empty();
    let mut t = tree::Tree::gather(original, tree, provenance, !md5_tags)?;
    let bound = boot::Bound::bind(original, &mut t, opts)?;
    let find = |kind: fn(&Kind) -> bool| {
        original
            .descriptors()
            .iter()
            .find(|d| kind(&d.kind))
            .and_then(|d| d.volume().cloned())
    };
    let primary = find(|k| *k == Kind::Primary).ok_or_else(|| {
        Error::corrupt(
            &image,
            "volume descriptor",
            16 * 2048,
            "no primary descriptor",
        )
    })?;
    let (primary_ids, iso) = if original.shows_joliet() {
        let (ids, style) = original::primary_names(original)?;
        (Some(ids), style)
    } else {
        let recorded: Vec<(bool, &[u8])> = t
            .objs
            .iter()
            .skip(1)
            .filter_map(|o| Some((o.meta.is_dir(), o.recorded.as_ref()?.name.as_slice())))
            .collect();
        // Nothing of the original left in the tree: its root tells the style.
        let style = match recorded.is_empty() {
            true => IsoStyle::guess(original)?,
            false => IsoStyle::of(recorded.into_iter()),
        };
        (None, style)
    };
    let joliet_volume = find(|k| matches!(k, Kind::Joliet(_)));
    // The original's objects still in the tree stand for the original's primary tree.
    let mut kinds = t
        .objs
        .iter()
        .skip(1)
        .filter(|o| o.recorded.is_some())
        .map(|o| o.meta.kind);
    let info = original::joliet_info(original, joliet_volume.is_some(), Some(&mut kinds))?;
    let joliet = joliet_volume.zip(info).map(|(v, info)| {
        let max = if info.long {
            JOLIET_LONG_MAX
        } else {
            JOLIET_MAX
        };
        (v, max, info)
    });
    let style = Style {
        iso,
        rrip: Rrip::of(original)?,
        primary,
        joliet,
        enhanced: find(|k| *k == Kind::Enhanced),
    };
    let relocates = t.objs.iter().any(|o| {
        o.recorded
            .as_ref()
            .is_some_and(|r| r.entries_of(b"CL").next().is_some())
    });
    if style.rrip.is_some() && relocates {
        let root_names: Vec<Vec<u8>> = t.objs[0]
            .children
            .iter()
            .map(|&c| t.objs[c].name.clone())
            .collect();
        t.relocate_deep(&|n| root_names.iter().any(|r| r == n));
    }
    dirs::name_iso(original, &mut t, &style.iso, primary_ids.as_ref());
    // The primary tree's directories and the Joliet names are made side by side.
    let (primary_dirs, joliet_names) = std::thread::scope(|scope| {
        let t = &t;
        let joliet = style
            .joliet
            .as_ref()
            .map(|(_, max, info)| scope.spawn(move || dirs::name_joliet(original, t, *max, info)));
        let primary = dirs::primary(original, t, &style);
        let joliet = joliet.map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        (primary, joliet)
    });
    let primary_dirs = primary_dirs?;
    let joliet_dirs = joliet_names.map(|j| {
        for (k, name) in j.names {
            t.objs[k].joliet_name = name;
        }
        dirs::joliet(&t, &j.order)
    });
    let mut trees = vec![&primary_dirs];
    trees.extend(joliet_dirs.as_ref());
    let boot_record = bound.as_ref().is_some_and(|b| b.has_boot_record());
    let extents = bound.as_ref().map(|b| b.extra_sizes()).unwrap_or_default();
    // The files a bridge shares: its paths and spans (their blocks are known after the layout).
    let files: Vec<usize> = if bridge.is_some() {
        let data = |(i, o): (usize, &tree::Obj)| {
            matches!(o.content, tree::Content::Spans { .. }).then_some(i)
        };
        t.objs.iter().enumerate().filter_map(data).collect()
    } else {
        Vec::new()
    };
    let sizes = match bridge.as_mut() {
        Some(b) => {
            let spans: Vec<(String, &[Span])> = files
                .iter()
                .map(|&i| match &t.objs[i].content {
                    tree::Content::Spans { spans, .. } => (t.path(i), spans.as_slice()),
                    _ => (t.path(i), &[][..]),
                })
                .collect();
            Some(b.reserve(&spans)?)
        }
        None => None,
    };
    let extras = layout::Extras {
        descriptors: 1
            + u32::from(boot_record)
            + u32::from(style.joliet.is_some())
            + u32::from(style.enhanced.is_some()),
        partition_offset: bound.as_ref().and_then(|b| b.partition_offset()),
        extents: &extents,
        bridge: sizes,
    };
    let mut layout = layout::reserve(&t, &trees, &extras, &image)?;
    let (pieces, mut warnings) = match bound {
        Some(b) => {
            let (pieces, warnings) = b.finish(original, &mut t, &mut layout)?;
            (Some(pieces), warnings)
        }
        None => (None, Vec::new()),
    };
    let (pieces, filled) = match (bridge, layout.bridge) {
        (Some(b), Some(at)) => {
            let blocks: Vec<u32> = files
                .iter()
                .map(|&i| layout.extent_of(i).unwrap_or(0))
                .collect();
            let filled = b.fill(&blocks, at)?;
            warnings.extend(b.warnings());
            // The bridge's anchors end the image (at N-256 and N): the original's padding
            // after the volume (zeros, its old anchors) is not written again.
            let mut pieces = pieces;
            if let Some(p) = pieces.as_mut() {
                if only_zeros(&p.tail)? {
                    p.tail.clear();
                    layout.volume = layout.total;
                }
            }
            (pieces, Some(filled))
        }
        _ => (pieces, None),
    };
    if let Some(placed) = placed {
        tell_placed(&t, &layout, placed);
    }
    let mut plan = emit::emit(
        original,
        tree,
        &t,
        &style,
        &trees,
        &layout,
        (pieces, filled),
    )?;
    for w in warnings {
        plan.warn(w);
    }
    if md5_tags {
        plan.warn(
            "xorriso's MD5 tags (-md5 on) and checksum attributes are not recomputed: dropped"
                .into(),
        );
    }
    std::mem::drop(trees);
    crate::aside::drop((t, primary_dirs, joliet_dirs, layout));
    Ok(plan)
}

/// Tells `placed` of each range of a host file that the data of `t`'s files takes in the image
/// laid out in `layout`: the byte of the image it starts at, and the range; in the image's
/// order.
fn tell_placed(t: &tree::Tree, layout: &layout::Layout, placed: &dyn Fn(u64, Span)) {
    for &i in &layout.data {
        let (tree::Content::Spans { spans, .. }, Some(extent)) =
            (&t.objs[i].content, layout.extent_of(i))
        else {
            continue;
        };
        let mut pos = u64::from(extent) * super::SECTOR;
        for span in spans {
            if span.in_host_file() {
                placed(pos, span.clone());
            }
            pos += span.len();
        }
    }
}

/// True when `spans` hold zeros and UDF anchors only, the padding after a bridge image's
/// volume (reading at most 1 MiB of sources; more is not padding).
fn only_zeros(spans: &[Span]) -> Result<bool> {
    const MAX: u64 = 1 << 20;
    if spans.iter().map(Span::len).sum::<u64>() > MAX {
        return Ok(false);
    }
    let mut bytes = Vec::new();
    for s in spans {
        match s {
            Span::Zeros(n) => bytes.resize(bytes.len() + *n as usize, 0),
            Span::Bytes(b) => bytes.extend_from_slice(b),
            Span::Source {
                source,
                offset,
                len,
            } => {
                let at = bytes.len();
                bytes.resize(at + *len as usize, 0);
                source.read_exact_at(*offset, &mut bytes[at..], "padding")?;
            }
        }
    }
    let anchor = |b: &[u8]| {
        crate::fs::udf::tag::Tag::parse(b, "", "", 0)
            .is_ok_and(|t| t.ident == crate::fs::udf::tag::id::ANCHOR)
    };
    Ok(bytes
        .chunks(super::SECTOR as usize)
        .all(|b| b.iter().all(|&x| x == 0) || anchor(b)))
}
