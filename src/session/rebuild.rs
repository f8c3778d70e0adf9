//! Nested images rebuilt for a commit: which mounts a drive's commit rebuilds (the changed
//! nested mounts and every image between them and the drive), innermost first; each one's
//! new bytes, written by its format's writer ([`crate::fs::rebuild`]) and compressed again
//! when the file was compressed, staged as its file's content in the parent's overlay for the
//! length of the commit, then taken out again ([`Session::with_rebuilt`]); and, after a commit
//! replaced the image, the nested mounts opened again on their new files.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{file_data, Session};
use crate::error::{Error, Result};
use crate::fs::decoded::DecodedFs;
use crate::fs::{self, FileSystem};
use crate::overlay::{Content, Overlay, Snapshot};
use crate::plan::Plan;
use crate::source::decoded::Codec;
use crate::source::encode;
use crate::vfs::{MountId, Origin};

/// A nested mount a commit rebuilds.
pub struct Rebuild {
    pub id: MountId,
    /// The session path of the image file (the mount's device).
    pub file: String,
    /// The mount's format (`squashfs`, `vfat`...), and the compression it is encoded with
    /// again (`gzip`...), if its file was compressed.
    pub format: &'static str,
    pub codec: Option<&'static str>,
}

impl Session {
    /// The drive whose image holds mount `id` (through the files of the mounts it is read
    /// from), refused when the chain passes through a partition or a disk image in a file,
    /// which are not rebuilt.
    pub(super) fn drive_of(&self, id: MountId) -> Result<usize> {
        let chain = self.origin_chain(id);
        let last = chain.last().expect("a chain holds its own mount");
        for m in &chain {
            let refuse = |what: &str| {
                Error::unsupported(
                    m.mount.device.clone(),
                    format!(
                        "writing back changes staged in {} ({what}): `revert` them",
                        chain[0].mount.mountpoint
                    ),
                )
            };
            match m.origin {
                Origin::File(_) | Origin::Decoded { .. } => {}
                Origin::Drive { drive } if m.id == last.id => {
                    if self.drives[*drive].image.is_some() {
                        return Err(refuse("a disk image in a file is not rebuilt yet"));
                    }
                    return Ok(*drive);
                }
                Origin::Partition { .. } => {
                    return Err(refuse("a partition of a disk is not rebuilt yet"))
                }
                _ => return Err(refuse("read from no image a commit writes")),
            }
        }
        Err(Error::unsupported(
            last.mount.device.clone(),
            "writing back changes staged in a mount read from no drive".to_string(),
        ))
    }

    /// The nested mounts a commit of drive `drive` rebuilds, innermost first: each mount
    /// with staged changes read from a file, and the mounts its file lies in, up to the
    /// drive's own.
    pub fn rebuilds(&self, drive: usize) -> Vec<Rebuild> {
        let mut wanted = BTreeSet::new();
        for m in self.vfs.entries().filter(|m| m.has_staged_changes()) {
            if self.drive_of(m.id).ok() != Some(drive) {
                continue;
            }
            let chain = self.origin_chain(m.id);
            wanted.extend(chain[..chain.len() - 1].iter().map(|m| m.id));
        }
        // A mount is read from an older one: newest first is innermost first.
        wanted
            .into_iter()
            .rev()
            .filter_map(|id| self.vfs.get(id))
            .map(|m| Rebuild {
                id: m.id,
                file: m.mount.device.clone(),
                format: base_of(m.mount.fs.as_ref()).type_name(),
                codec: match m.origin {
                    Origin::Decoded { codec, .. } => Some(*codec),
                    _ => None,
                },
            })
            .collect()
    }

    /// Runs `f` with the nested images of drive `drive` rebuilt and staged as their files'
    /// new content in their parents; the parents' staged changes are as they were again
    /// afterwards, whether `f` (or a rebuild) failed or not.
    pub fn with_rebuilt<T, E: From<Error>>(
        &mut self,
        drive: usize,
        f: impl FnOnce(&mut Session) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut saved: Vec<Saved> = Vec::new();
        let staged = self.stage_rebuilds(drive, &mut saved);
        let result = staged.map_err(E::from).and_then(|()| f(self));
        for s in saved.into_iter().rev() {
            s.overlay.restore(s.state);
            if s.created {
                self.vfs.drop_clean_overlay(s.mount, &s.overlay);
            }
        }
        result
    }

    /// The new image of drive `drive` as a commit to a new file writes it (see
    /// [`Session::new_image`]), its nested images rebuilt into it.
    pub fn planned(
        &mut self,
        drive: usize,
        opts: &crate::fs::iso9660::write::Options,
    ) -> Result<crate::plan::Plan> {
        self.with_rebuilt(drive, |s| s.new_image(drive, opts, false))
    }

    fn stage_rebuilds(&mut self, drive: usize, saved: &mut Vec<Saved>) -> Result<()> {
        for r in self.rebuilds(drive) {
            let m = self.vfs.get(r.id).expect("a rebuilt mount is mounted");
            let file = m
                .origin
                .file()
                .expect("a nested mount is read from a file")
                .clone();
            let fs = m.mount.fs.clone();
            let level = m.mount.options.level(&r.file)?;
            let created = self.vfs.staged(file.mount).is_none();
            let parent = self.vfs.overlay(file.mount)?;
            if !saved.iter().any(|s| s.mount == file.mount) {
                saved.push(Saved {
                    mount: file.mount,
                    state: parent.snapshot(),
                    overlay: parent.clone(),
                    created,
                });
            }
            let entry = parent.find(&file.path)?;
            if !parent.provenance(entry.ino).data_kept() {
                return Err(Error::Usage(format!(
                    "commit: {} was itself written while changes are staged in the image it \
                     holds ({}); `revert` one of them",
                    r.file,
                    m_point(self, r.id)
                )));
            }
            let mut head = [0u8; 64];
            let n = parent.read_at(entry.ino, 0, &mut head)?;
            let plan = rewritten(fs.as_ref(), &r.file, &head[..n], level)?;
            for warning in plan.warnings() {
                eprintln!("isofish: warning: {}: {warning}", r.file);
            }
            let content = Content::from_spans(plan.spans().to_vec());
            parent.set_content(&file.path, content)?;
        }
        Ok(())
    }

    /// Opens the nested mounts read (through other mounts) from drive `drive` again, on
    /// their files in the filesystems the commit wrote, their staged changes now the image's.
    /// Mounts are opened in the order they were made, so each one's parent is open.
    pub(super) fn reopen_nested(&mut self, drive: usize) -> Result<()> {
        let nested: Vec<_> = self
            .vfs
            .entries()
            .filter(|m| m.origin.file().is_some() && self.drive_of(m.id).ok() == Some(drive))
            .map(|m| {
                (
                    m.id,
                    m.mount.device.clone(),
                    m.mount.options.clone(),
                    m.origin.clone(),
                )
            })
            .collect();
        for (id, device, options, origin) in nested {
            let node = self.resolve(&device)?;
            let source = file_data(&node, &device)?;
            let file = self.file_ref(&node)?;
            let origin = match origin {
                Origin::Decoded { codec, .. } => Origin::Decoded { file, codec },
                _ => Origin::File(file),
            };
            let fs = fs::open(source, &options)?;
            self.vfs.reopen(id, fs)?;
            self.vfs.set_origin(id, origin)?;
        }
        Ok(())
    }
}

/// Where mount `id` is mounted.
fn m_point(session: &Session, id: MountId) -> String {
    session
        .vfs
        .get(id)
        .map_or_else(|| id.to_string(), |m| m.mount.mountpoint.clone())
}

/// A parent's staged changes as they were before a rebuild was staged in it.
struct Saved {
    mount: MountId,
    overlay: Arc<Overlay>,
    state: Snapshot,
    /// The overlay was made for the rebuild (nothing was staged in the mount).
    created: bool,
}

/// The filesystem a mount was opened on, below its staged changes.
fn base_of(fs: &dyn FileSystem) -> &dyn FileSystem {
    match (fs as &dyn std::any::Any).downcast_ref::<Overlay>() {
        Some(overlay) => overlay.base().as_ref(),
        None => fs,
    }
}

/// The new bytes of the image read as `fs` (its staged changes, if any, included), named
/// `image` in messages: written by its format's writer, and compressed again when `fs` was
/// read through its decoded bytes (`head`: the compressed file's first bytes; at `level`, or
/// the one the stream suggests). Kept data stays as ranges of the image, so the kernel still
/// copies it. Refused when the tree's listings left something out.
pub(super) fn rewritten(
    fs: &dyn FileSystem,
    image: &str,
    head: &[u8],
    level: Option<u32>,
) -> Result<Plan> {
    let overlay = (fs as &dyn std::any::Any).downcast_ref::<Overlay>();
    if let Some(overlay) = overlay {
        overlay.check_hosts()?;
    }
    // An image read through its decoded bytes is written by its own writer, then compressed
    // (a cpio initrd reads, and writes, its compressed parts itself).
    let below = base_of(fs);
    let decoded = (below as &dyn std::any::Any).downcast_ref::<DecodedFs>();
    let original = decoded.map_or(below, |d| d.inner.as_ref());
    let plan = fs::rebuild::plan(original, fs, &Overlay::provenance_of(overlay))?;
    if let Some(what) = fs.left_out() {
        return Err(Error::unsupported(
            image,
            format!("rewriting an image with {what}: it would lose them; nothing written"),
        ));
    }
    if decoded.is_none() {
        return Ok(plan);
    }
    let codec = Codec::sniff(head).ok_or_else(|| {
        Error::corrupt(
            image,
            "compressed image",
            0,
            "its compression is no longer recognised",
        )
    })?;
    let level = level.or_else(|| encode::default_level(codec, head));
    let warnings = plan.warnings().to_vec();
    let plain = plan.into_source(format!("{image} (rebuilt)"));
    let name = format!("{image} (compressed again)");
    let packed = encode::encode_to_source(codec, plain.as_ref(), level, name)?;
    let mut plan = Plan::new();
    plan.push(crate::data::Span::source(&packed, 0, packed.len()));
    warnings.into_iter().for_each(|w| plan.warn(w));
    Ok(plan)
}
