//! What the writer learns from the original's other trees: how its Joliet tree was made
//! (names over 64 characters, symlinks and special files included or not) and, when the tree
//! given is the Joliet one (an image without Rock Ridge), the identifiers the primary tree
//! records for the same files.
//!
//! Choices where the standards leave room: Joliet cannot say what a symlink or a device is;
//! genisoimage lists them as empty files, xorriso leaves them out. A rewrite does what the
//! original did (the Joliet tree has fewer entries than the Rock Ridge one), and leaves them
//! out when the original had none to tell.

use std::collections::HashMap;
use std::sync::Arc;

use super::super::IsoFs;
use super::names::{IsoStyle, JOLIET_MAX};
use crate::error::Result;
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

/// How `original`'s Joliet tree was made, if it has one.
/// `specials` says whether to find out if symlinks and special files are in it (a walk of the
/// original's own tree).
pub(super) fn joliet_info(
    original: &IsoFs,
    has_joliet: bool,
    specials: bool,
) -> Result<Option<JolietInfo>> {
    if !has_joliet {
        return Ok(None);
    }
    let joliet = reopen(original, "joliet")?;
    let (mut long, mut entries) = (false, 0usize);
    let mut by_data = HashMap::new();
    let mut failed = None;
    walk(&joliet, &mut |e| {
        entries += 1;
        long |= String::from_utf8_lossy(&e.name).encode_utf16().count() > JOLIET_PLAIN_MAX;
        if let Err(err) = data_name(&joliet, e.ino, &mut by_data) {
            failed = Some(err);
            return true;
        }
        false
    })?;
    if let Some(err) = failed {
        return Err(err);
    }
    let (mut all, mut count) = (0usize, 0usize);
    if specials && !original.shows_joliet() {
        walk(original, &mut |e| {
            all += 1;
            count += usize::from(!matches!(e.meta.kind, FileKind::File | FileKind::Dir));
            false
        })?;
    }
    Ok(Some(JolietInfo {
        long,
        specials: count > 0 && entries >= all,
        by_data,
    }))
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
    let mut by_data = HashMap::new();
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
