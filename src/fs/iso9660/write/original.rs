//! What the writer learns from the original's other trees: how its Joliet tree was made
//! (names over 64 characters, symlinks and special files included or not) and, when the tree
//! given is the Joliet one (an image without Rock Ridge), the identifiers the primary tree
//! records for the same files.
//!
//! Choices where the standards leave room: Joliet cannot say what a symlink or a device is;
//! genisoimage lists them as empty files, xorriso leaves them out. A rewrite does what the
//! original did (the Joliet tree has fewer entries than the Rock Ridge one), and leaves them
//! out when the original had none to tell.

use std::collections::VecDeque;

use super::{HashMap, HashSet};
use std::sync::Arc;

use super::super::listing::MAX_DIR_SIZE;
use super::super::record::{self, Record};
use super::super::volume::Kind;
use super::super::{joliet, IsoFs, SECTOR};
use super::names::{IsoStyle, JOLIET_MAX};
use crate::error::{Error, Result};
use crate::fs::{FileKind, FileSystem, Ino, MountOptions, Span};

/// Entries looked at, at most, in each walk.
const WALK_MAX: usize = 1_000_000;

/// Joliet names of up to this many characters are written without `-joliet-long` (xorriso
/// writes 65 where genisoimage writes 64).
const JOLIET_PLAIN_MAX: usize = JOLIET_MAX + 1;

/// How the original's Joliet tree was made.
#[derive(Clone, Debug, Default)]
pub(super) struct JolietInfo {
    /// A name in it is over 65 characters (`-joliet-long`).
    pub(super) long: bool,
    /// Symlinks and special files are listed in it.
    pub(super) specials: bool,
    /// The recorded Joliet name of files with data, by the byte offset of their data, so
    /// unchanged files keep theirs (the mastering tools cut long names differently).
    pub(super) by_data: HashMap<u64, Vec<u8>>,
}

/// Calls `visit` for every entry of `fs` (breadth first, at most [`WALK_MAX`]); stops when
/// it returns true.
fn walk(fs: &dyn FileSystem, visit: &mut dyn FnMut(&crate::fs::DirEntry) -> bool) -> Result<()> {
    let mut queue = std::collections::VecDeque::from([fs.root()]);
    let mut seen = 0usize;
    while let Some(dir) = queue.pop_front() {
        for e in fs.read_dir(dir)? {
            seen += 1;
            if visit(&e) || seen > WALK_MAX {
                return Ok(());
            }
            if e.meta.is_dir() {
                queue.push_back(e.ino);
            }
        }
    }
    Ok(())
}

/// The original opened with mount `options`.
fn reopen(original: &IsoFs, option: &str) -> Result<IsoFs> {
    IsoFs::open(
        Arc::clone(original.source()),
        &MountOptions(vec![option.into()]),
    )
}

/// How `original`'s Joliet tree was made, if it has one. `specials`, when asked for, tells
/// whether symlinks and special files are in it: `original_kinds` gives the kinds of the
/// original's objects (from the primary tree) to compare with.
pub(super) fn joliet_info(
    original: &IsoFs,
    has_joliet: bool,
    original_kinds: Option<&mut dyn Iterator<Item = FileKind>>,
) -> Result<Option<JolietInfo>> {
    if !has_joliet {
        return Ok(None);
    }
    let (mut long, mut entries) = (false, 0usize);
    let mut by_data = HashMap::default();
    joliet_records(original, &mut |r| {
        entries += 1;
        let name = joliet::decode(joliet::strip_version(r.name));
        long |= name.encode_utf16().count() > JOLIET_PLAIN_MAX;
        if !r.is_dir() && r.size > 0 {
            by_data
                .entry(r.data_offset())
                .or_insert_with(|| r.name.to_vec());
        }
    })?;
    let (mut all, mut count) = (0usize, 0usize);
    if let Some(kinds) = original_kinds.filter(|_| !original.shows_joliet()) {
        for kind in kinds {
            all += 1;
            count += usize::from(!matches!(kind, FileKind::File | FileKind::Dir));
        }
    }
    Ok(Some(JolietInfo {
        long,
        specials: count > 0 && entries >= all,
        by_data,
    }))
}

/// Calls `visit` with every record of `original`'s Joliet tree (`.` and `..`, associated files
/// and the later extents of a multi-extent file left out), read straight from its directory
/// extents: no file is decoded. A directory met twice is read once; at most [`WALK_MAX`]
/// records.
fn joliet_records(original: &IsoFs, visit: &mut dyn FnMut(&Record)) -> Result<()> {
    let image = original.source().name();
    let Some(d) = original
        .descriptors()
        .iter()
        .find(|d| matches!(d.kind, Kind::Joliet(_)))
    else {
        return Ok(());
    };
    let Some(volume) = d.volume() else {
        return Ok(());
    };
    let root = volume.root(d.offset, image)?;
    let mut queue = VecDeque::from([(root.extent, root.size)]);
    let mut read = HashSet::default();
    let mut seen = 0usize;
    while let Some((extent, size)) = queue.pop_front() {
        if !read.insert(extent) {
            continue;
        }
        let offset = u64::from(extent) * SECTOR;
        if u64::from(size) > MAX_DIR_SIZE {
            return Err(Error::corrupt(
                image,
                "Joliet directory",
                offset,
                format!("{size} bytes, over the {MAX_DIR_SIZE} a directory may have"),
            ));
        }
        let buf = original
            .source()
            .read_vec(offset, size as usize, "Joliet directory")?;
        let mut continued = false;
        for r in record::records(&buf, offset, image) {
            let r = r?;
            let part = continued;
            continued = r.flags & record::MULTI_EXTENT != 0;
            if r.is_self_or_parent() || r.flags & record::ASSOCIATED != 0 || part {
                continue;
            }
            seen += 1;
            if seen > WALK_MAX {
                return Ok(());
            }
            if r.is_dir() {
                queue.push_back((r.extent, r.size));
            }
            visit(&r);
        }
    }
    Ok(())
}

/// Adds the recorded name of `ino` of `fs` to `by_data` under the offset of its data (if it
/// has data), and returns it.
fn data_name(fs: &IsoFs, ino: Ino, by_data: &mut HashMap<u64, Vec<u8>>) -> Result<Vec<u8>> {
    let name = fs.original_record(ino)?.name;
    if let Some(spans) = fs.spans(ino)? {
        if let Some(Span::Source { offset, .. }) = spans.first() {
            by_data.entry(*offset).or_insert_with(|| name.clone());
        }
    }
    Ok(name)
}

/// For an original shown as its Joliet tree: the primary tree's identifiers of files with
/// data, by the byte offset of their data, and the style of the primary tree's identifiers.
pub(super) fn primary_names(original: &IsoFs) -> Result<(HashMap<u64, Vec<u8>>, IsoStyle)> {
    let plain = reopen(original, "plain")?;
    let mut by_data = HashMap::default();
    let mut ids: Vec<(bool, Vec<u8>)> = Vec::new();
    let mut failed = None;
    walk(
        &plain,
        &mut |e| match data_name(&plain, e.ino, &mut by_data) {
            Ok(name) => {
                ids.push((e.meta.is_dir(), name));
                false
            }
            Err(err) => {
                failed = Some(err);
                true
            }
        },
    )?;
    if let Some(err) = failed {
        return Err(err);
    }
    let style = IsoStyle::of(ids.iter().map(|(d, id)| (*d, id.as_slice())));
    Ok((by_data, style))
}
