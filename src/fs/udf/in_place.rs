//! In-place patches of a UDF tree's file entries ([`UdfFs::patch_entry`]): on a bridge image
//! whose UDF and ISO 9660 trees share a file's data, a commit that changes the file in place
//! gives its (extended) file entry the new size, blocks, allocation descriptor, times, owner
//! and permissions, with the descriptor tag's CRC and checksum computed again, in the bytes
//! the entry already takes. On a pure UDF volume ([`UdfFs::fit`]) a file whose new data fits
//! the blocks its one extent has is written there, its entry patched the same way.

use super::ad::ExtentType;
use super::file_entry::Data;
use super::partition::Map;
use super::timestamp::UdfTime;
use super::UdfFs;
use crate::data::Span;
use crate::error::Result;
use crate::fs::iso9660::inplace::{never_in_place, Fit};
use crate::fs::{FileSystem, Metadata};
use crate::overlay::{Overlay, NEW};
use crate::plan::Patch;
use std::sync::Arc;

/// What the file entry is given.
pub struct NewEntry<'a> {
    /// Byte offset in the image where the file's data was, and where it now is.
    pub old_at: u64,
    pub new_at: u64,
    /// The new data's size, when the data changed.
    pub size: Option<u64>,
    /// The file's metadata in the other tree before and after: what changed between them
    /// (mode, owner, each time) changes in the entry too.
    pub old: &'a Metadata,
    pub meta: &'a Metadata,
}

/// A file entry patched: its byte offset in the image and its new bytes; or why it cannot be.
pub type EntryPatch = std::result::Result<(u64, Vec<u8>), String>;

impl UdfFs {
    /// The patch of the file entry of the file at `path` (from the root): its byte offset in
    /// the image and new bytes; `Ok(None)` when the UDF tree has no such file; `Err(why)`
    /// (inner) when it cannot be patched in place: data not shared with the ISO tree at
    /// `old_at`, embedded or in several extents, a partition it does not fit, a set-id bit
    /// change.
    pub fn patch_entry(&self, file: &str, new: &NewEntry) -> Result<Option<EntryPatch>> {
        let Some(ino) = self.ino_at(file)? else {
            return Ok(None);
        };
        let node = self.node(ino)?;
        let mut fe = node.fe.clone();
        let refuse = |why: &str| Ok(Some(Err(format!("{file}: its UDF file entry {why}"))));
        let (ads, _) = match &mut fe.data {
            Data::Extents(ads, form) if ads.len() <= 1 => (ads, *form),
            _ => return refuse("has its data embedded or in several extents"),
        };
        let bs = u64::from(self.block_size);
        if let Some(ad) = ads.first_mut() {
            if ad.kind != ExtentType::Recorded {
                return refuse("describes no recorded data");
            }
            let Some(Map::Physical { start, length, .. }) =
                self.vol.maps.get(usize::from(ad.loc.part))
            else {
                return refuse("lies in a partition other than a physical one");
            };
            let base = u64::from(*start) * bs;
            if base + u64::from(ad.loc.block) * bs != new.old_at {
                return refuse("has data apart from the ISO 9660 tree's");
            }
            let size = new.size.unwrap_or(fe.size);
            let block = (new.new_at - base) / bs;
            if block + size.div_ceil(bs) > u64::from(*length) || size >= 1 << 30 {
                return refuse("would point past the end of its partition");
            }
            ad.loc.block = block as u32;
            ad.len = size as u32;
        } else if new.size.is_some_and(|s| s > 0) {
            return refuse("has no data to give new data in place");
        }
        if let Some(size) = new.size {
            fe.size = size;
            fe.blocks_recorded = size.div_ceil(bs);
            if let Some(x) = fe.extended.as_mut() {
                x.object_size = size;
            }
        }
        let (m, was) = (new.meta, new.old);
        if m.mode & 0o7000 != was.mode & 0o7000 {
            return refuse("would need its set-id and sticky flags changed");
        }
        if m.mode != was.mode {
            fe.set_mode(m.mode);
        }
        if (m.uid, m.gid) != (was.uid, was.gid) {
            (fe.uid, fe.gid) = (m.uid, m.gid);
        }
        for (now, before, field) in [
            (m.atime, was.atime, &mut fe.access_time),
            (m.mtime, was.mtime, &mut fe.modification_time),
            (m.ctime, was.ctime, &mut fe.attribute_time),
        ] {
            if now != before {
                *field = UdfTime::of(now);
            }
        }
        let (old, at) = self.vol.read_block(super::loc_of(ino), "UDF file entry")?;
        let bytes = fe.encode();
        if bytes.len() > old.len() {
            return refuse("would grow past its block");
        }
        Ok(Some(Ok((at, bytes))))
    }
}

impl UdfFs {
    /// Whether the changes staged in `overlay` (over this pure UDF volume) fit it in place:
    /// files of the original whose new data, if any, fits the blocks of their one recorded
    /// extent, and whose metadata changes an entry records (mode, owner, times). Anything
    /// else (a file added, removed or renamed, a directory changed, data that grows or is
    /// embedded in its entry, a hard link, the boot setup) is a rewrite, with why.
    pub fn fit(&self, overlay: &Overlay) -> Result<Fit> {
        let rewrite = |why: String| Ok(Fit::Rewrite(why));
        let changes = overlay.changes()?;
        if !changes.boot.is_empty() || changes.label.is_some() {
            return rewrite("the boot setup or the label changes".into());
        }
        let len = self.source().len();
        let mut p = Patch {
            old_len: len,
            new_len: len,
            ..Patch::default()
        };
        let bs = u64::from(self.block_size);
        for c in &changes.items {
            if let Some(what) = never_in_place(c) {
                return rewrite(format!("{}: {what}", c.path));
            }
            let e = overlay.find(&c.path)?;
            if e.ino & NEW != 0 {
                return rewrite(format!("{}: a new file in place of the old one", c.path));
            }
            let old = self.metadata(e.ino)?;
            let content = match overlay.provenance(e.ino).data_kept() {
                true => None,
                false => Some(overlay.content(&c.path)?),
            };
            if content.is_some() && old.nlink > 1 {
                return rewrite(format!("{}: its data has {} names", c.path, old.nlink));
            }
            // Where its data is: the one extent of a physical partition the entry records.
            let node = self.node(e.ino)?;
            let at = match &node.fe.data {
                Data::Extents(ads, _) if ads.len() == 1 => {
                    match self.vol.maps.get(usize::from(ads[0].loc.part)) {
                        Some(Map::Physical { start, .. }) => {
                            (u64::from(*start) + u64::from(ads[0].loc.block)) * bs
                        }
                        _ => {
                            return rewrite(format!(
                                "{}: its data is not in a physical partition",
                                c.path
                            ))
                        }
                    }
                }
                _ => {
                    return rewrite(format!(
                        "{}: its data is embedded or in several extents",
                        c.path
                    ))
                }
            };
            if let Some(content) = &content {
                let owned = old.size.div_ceil(bs) * bs;
                let n = content.len();
                if n > owned {
                    return rewrite(format!("{}: its new data passes the blocks it has", c.path));
                }
                let mut pos = at;
                let mut spans = content.spans();
                spans.push(Span::Zeros(n.div_ceil(bs) * bs - n));
                for span in spans {
                    let l = span.len();
                    p.writes.push((pos, span));
                    pos += l;
                }
                p.summary
                    .push(format!("{}: {n} bytes in its own blocks", c.path));
            } else {
                p.summary.push(format!("{}: metadata", c.path));
            }
            let entry = NewEntry {
                old_at: at,
                new_at: at,
                size: content.as_ref().map(|c| c.len()),
                old: &old,
                meta: &e.meta,
            };
            match self.patch_entry(&c.path, &entry)? {
                Some(Ok((offset, bytes))) => p.writes.push((offset, Span::Bytes(Arc::from(bytes)))),
                Some(Err(why)) => return rewrite(why),
                None => return rewrite(format!("{}: not found in the UDF tree", c.path)),
            }
        }
        Ok(Fit::InPlace(p))
    }
}
