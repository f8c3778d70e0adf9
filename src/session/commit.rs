//! What a commit writes and what it does to the session: which drive's image (the one whose
//! mounts, or images nested in its files, hold the staged changes), the [`Plan`] of its new
//! image (the ISO 9660 writer over the drive's mount, staged changes included, its boot setup
//! replayed; nested images rebuilt first, `session/rebuild.rs`), refused where the new image
//! would lose something, and, after the opened image was replaced, the drive and its mounts
//! opened again on the new file.

use std::sync::Arc;

use super::Session;
use crate::boot;
use crate::error::{Error, Result};
use crate::fs::iso9660::inplace::Fit;
use crate::fs::iso9660::{self, IsoFs};
use crate::fs::udf::{self, UdfFs};
use crate::fs::{self, FileSystem, Ino, MountOptions};
use crate::overlay::{Overlay, Provenance};
use crate::plan::in_place::Stamp;
use crate::plan::{Patch, Plan};
use crate::source::{FileSource, Source};
use crate::vfs::{Mounted, Origin};

impl Session {
    /// Changes staged in all mounts, not yet committed to the opened images.
    pub fn pending(&self) -> u64 {
        self.vfs.entries().map(|m| m.changes).sum()
    }

    /// Drops every staged change of every mount.
    pub fn discard_all(&mut self) -> Result<()> {
        let ids: Vec<_> = self.vfs.entries().map(|m| m.id).collect();
        ids.into_iter().try_for_each(|id| self.vfs.discard(id))
    }

    /// True once a `commit` ran in this session (a script that committed somewhere is not
    /// committed again at its end).
    pub fn has_committed(&self) -> bool {
        self.commits > 0
    }

    /// The drive a commit writes: the one whose mounts (or the images nested in its files)
    /// hold staged changes, or, with nothing staged, the drive mounted at `/` (the first
    /// mounted one without). Refused when changes lie in several drives, or where no writer
    /// reaches (a partition).
    pub fn commit_drive(&self) -> Result<usize> {
        let mut drives = Vec::new();
        for m in self.vfs.entries().filter(|m| m.has_staged_changes()) {
            drives.push(self.drive_of(m.id)?);
        }
        drives.sort_unstable();
        drives.dedup();
        match drives[..] {
            [drive] => Ok(drive),
            [] => {
                let mounted = |m: &Mounted| m.origin.drive().filter(|_| m.origin.file().is_none());
                let root = self.vfs.topmost("/").and_then(|m| mounted(&m));
                root.or_else(|| self.vfs.entries().find_map(|m| mounted(&m)))
                    .ok_or_else(|| Error::Usage("commit: no drive is mounted".into()))
            }
            _ => Err(Error::Usage(format!(
                "commit: changes are staged in {} drives ({}); commit writes one: `revert` the \
                 others",
                drives.len(),
                drives
                    .iter()
                    .map(|&d| self.drives[d].device.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Runs `f` with what a commit of drive `drive` writes from: the original ISO 9660
    /// filesystem (the one mounted, below its staged changes), the tree as it is now, and the
    /// staged changes over it if any.
    fn with_original<T>(
        &self,
        drive: usize,
        f: impl FnOnce(&IsoFs, &dyn FileSystem, Option<&Overlay>) -> Result<T>,
    ) -> Result<T> {
        let d = &self.drives[drive];
        let mount = self.drive_mount(drive)?;
        if mount.mount.fs.type_name() != "iso9660" {
            return Err(Error::unsupported(
                d.source.name(),
                format!(
                    "writing a {} mount with the ISO 9660 writer",
                    mount.mount.fs.type_name()
                ),
            ));
        }
        let tree: &dyn FileSystem = mount.mount.fs.as_ref();
        let overlay = self.vfs.staged(mount.id).map(|o| o.as_ref());
        // The filesystem mounted, below its staged changes, is the original: its caches (the
        // listings read, what staging learnt of its names) serve the writer too.
        let below = match overlay {
            Some(overlay) => overlay.base().as_ref(),
            None => tree,
        };
        match (below as &dyn std::any::Any).downcast_ref::<IsoFs>() {
            Some(iso) => f(iso, tree, overlay),
            None => f(
                &IsoFs::open(d.source.clone(), &mount.mount.options)?,
                tree,
                overlay,
            ),
        }
    }

    /// The new image of drive `drive`: its ISO 9660 filesystem with the changes staged in it,
    /// its boot setup replayed, and on a bridge image the UDF tree beside it, sharing the file
    /// data; or, for a UDF mount, the UDF writer's image (a pure UDF volume, or a bridge image
    /// with the ISO 9660 trees as they were).
    pub fn commit_plan(&self, drive: usize, opts: &iso9660::write::Options) -> Result<Plan> {
        let image = self.drives[drive].source.name().to_string();
        if let Some(plan) = self.udf_plan(drive, opts)? {
            return check_left_out(plan, self.drive_mount(drive)?.mount.fs.as_ref(), image);
        }
        if let Some(plan) = self.other_plan(drive)? {
            return check_left_out(plan, self.drive_mount(drive)?.mount.fs.as_ref(), image);
        }
        let source = self.drives[drive].source.clone();
        // A bridge image mounted as ISO 9660: its UDF tree is written from the ISO tree, read
        // with the mount's `unhide` (entries marked hidden in it are kept, and listed). A UDF
        // side that cannot be read is left out, with a warning.
        let (udf, unread) = if fs::probe::has_udf_vrs(source.as_ref())? {
            let unhide = self.drive_mount(drive)?.mount.options.has("unhide");
            let options = MountOptions(unhide.then(|| "unhide".to_string()).into_iter().collect());
            match UdfFs::open(source, &options) {
                Ok(udf) => (Some(udf), None),
                Err(e) => (None, Some(e)),
            }
        } else {
            (None, None)
        };
        self.with_original(drive, |original, tree, overlay| {
            let provenance = Overlay::provenance_of(overlay);
            let provenance: &dyn Fn(Ino) -> Provenance = &provenance;
            let opts = match overlay {
                Some(overlay) => {
                    overlay.check_hosts()?;
                    iso9660::write::Options {
                        boot: overlay.boot_edits(),
                        ..opts.clone()
                    }
                }
                None => opts.clone(),
            };
            let mut side = match &udf {
                Some(udf) => Some(udf::write::side(udf, tree, provenance, true)?),
                None => None,
            };
            let bridge = side.as_mut().map(|s| s as &mut dyn iso9660::write::Bridge);
            let mut plan =
                iso9660::write::plan_with(original, tree, provenance, &opts, bridge, None)?;
            if let Some(e) = &unread {
                plan.warn(format!(
                    "{image}: its UDF tree cannot be read ({e}): the new image has the ISO \
                     9660 trees only"
                ));
            }
            check_left_out(plan, tree, image)
        })
    }

    /// The new image of drive `drive` as a commit to a new file or a stream writes it (and
    /// `serve` serves it): when the staged changes fit the opened image in place and not
    /// `rewrite`, the image copied with the in-place patch over it (its layout kept, the copy
    /// as fast as the copy of the file); else the rewrite of [`Session::commit_plan`].
    pub fn new_image(
        &self,
        drive: usize,
        opts: &iso9660::write::Options,
        rewrite: bool,
    ) -> Result<Plan> {
        if !rewrite {
            if let Fit::InPlace(patch) = self.commit_fit(drive)? {
                return Ok(patch.onto(&self.drives[drive].source));
            }
        }
        self.commit_plan(drive, opts)
    }

    /// The new image of drive `drive` when the drive's mount is neither ISO 9660 nor UDF
    /// (`None` otherwise): a FAT, cpio or squashfs image given with `-a`, written by its
    /// format's writer as a nested image would be ([`fs::rebuild`]).
    fn other_plan(&self, drive: usize) -> Result<Option<Plan>> {
        let mount = self.drive_mount(drive)?;
        let tree: &dyn FileSystem = mount.mount.fs.as_ref();
        if matches!(tree.type_name(), "iso9660" | "udf") {
            return Ok(None);
        }
        let source = &self.drives[drive].source;
        let mut head = [0u8; 64];
        let n = source.read_at(0, &mut head)?;
        let level = mount.mount.options.level(source.name())?;
        super::rebuild::rewritten(tree, source.name(), &head[..n], level).map(Some)
    }

    /// The new image of drive `drive` when the drive's mount is UDF (`None` otherwise): the
    /// UDF writer's image of a pure UDF volume; on a bridge image, the ISO 9660 trees as they
    /// were (a stub stays a stub) with the UDF tree and its changes beside them.
    fn udf_plan(&self, drive: usize, opts: &iso9660::write::Options) -> Result<Option<Plan>> {
        let d = &self.drives[drive];
        let mount = self.drive_mount(drive)?;
        if mount.mount.fs.type_name() != "udf" {
            return Ok(None);
        }
        let tree: &dyn FileSystem = mount.mount.fs.as_ref();
        let overlay = self.vfs.staged(mount.id).map(|o| o.as_ref());
        let below = overlay.map_or(tree, |o| o.base().as_ref());
        let opened;
        let original = match (below as &dyn std::any::Any).downcast_ref::<UdfFs>() {
            Some(udf) => udf,
            None => {
                opened = UdfFs::open(d.source.clone(), &mount.mount.options)?;
                &opened
            }
        };
        if let Some(overlay) = overlay {
            overlay.check_hosts()?;
        }
        let provenance = Overlay::provenance_of(overlay);
        let provenance: &dyn Fn(Ino) -> Provenance = &provenance;
        if !fs::probe::has_iso_descriptor(d.source.as_ref())? {
            return Ok(Some(udf::write::plan(original, tree, provenance)?));
        }
        let iso = Arc::new(IsoFs::open(d.source.clone(), &MountOptions::default())?);
        let opts = iso9660::write::Options {
            boot: overlay.map(|o| o.boot_edits()).unwrap_or_default(),
            ..opts.clone()
        };
        let mut side = udf::write::side(original, tree, provenance, false)?;
        // A full ISO 9660 tree takes the UDF tree's changes too; a stub stays as it was.
        let carried = match overlay {
            Some(overlay) if full_iso_tree(original, &iso)? => {
                let iso_overlay = Overlay::new(iso.clone());
                let notes = iso_overlay.replay(overlay)?;
                Some((iso_overlay, notes))
            }
            _ => None,
        };
        let (iso_tree, notes): (&dyn FileSystem, &[String]) = match &carried {
            Some((o, notes)) => (o, notes),
            None => (iso.as_ref(), &[]),
        };
        let iso_provenance = Overlay::provenance_of(carried.as_ref().map(|(o, _)| o));
        let mut plan = iso9660::write::plan_with(
            &iso,
            iso_tree,
            &iso_provenance,
            &opts,
            Some(&mut side),
            None,
        )?;
        for n in notes {
            plan.warn(format!(
                "{}: not carried to the ISO 9660 tree: {n}",
                d.source.name()
            ));
        }
        Ok(Some(plan))
    }

    /// The mount of drive `drive` itself (the last one made).
    fn drive_mount(&self, drive: usize) -> Result<Mounted<'_>> {
        self.vfs
            .entries()
            .rev()
            .find(|m| *m.origin == Origin::Drive { drive })
            .ok_or_else(|| {
                Error::Usage(format!(
                    "commit: {} is not mounted",
                    self.drives[drive].device
                ))
            })
    }

    /// How a commit of drive `drive` back into its image goes: in place (the patch), or as a
    /// rewrite (why). Nothing staged fits in place with an empty patch. The drive's mount is
    /// ISO 9660, the UDF tree of a bridge image (patched with its ISO 9660 side), or a pure
    /// UDF volume.
    pub fn commit_fit(&self, drive: usize) -> Result<Fit> {
        let d = &self.drives[drive];
        if d.stamp.is_none() {
            return Ok(Fit::Rewrite(
                "the image is a file of another image, not a host file".into(),
            ));
        }
        let unchanged = || {
            Fit::InPlace(Patch {
                old_len: d.source.len(),
                new_len: d.source.len(),
                ..Patch::default()
            })
        };
        let Some(mount) = self
            .vfs
            .entries()
            .rev()
            .find(|m| *m.origin == Origin::Drive { drive })
        else {
            return Err(Error::Usage(format!("commit: {} is not mounted", d.device)));
        };
        let Some(overlay) = self.vfs.staged(mount.id) else {
            return Ok(unchanged());
        };
        overlay.check_hosts()?;
        let below: &dyn std::any::Any = overlay.base().as_ref();
        if let Some(iso) = below.downcast_ref::<IsoFs>() {
            return iso9660::inplace::fit(iso, None, overlay);
        }
        let Some(udf) = below.downcast_ref::<UdfFs>() else {
            return Ok(Fit::Rewrite(format!(
                "{} images are not patched in place",
                mount.mount.fs.type_name()
            )));
        };
        if !fs::probe::has_iso_descriptor(d.source.as_ref())? {
            return udf.fit(overlay);
        }
        match IsoFs::open(d.source.clone(), &MountOptions::default()) {
            Ok(iso) => iso9660::inplace::fit(&iso, Some(udf), overlay),
            Err(_) => Ok(Fit::Rewrite(
                "its ISO 9660 side does not open: the image is rewritten".into(),
            )),
        }
    }

    /// Fails when drive `drive`'s image changed on disk since it was opened.
    pub fn check_unchanged(&self, drive: usize) -> Result<()> {
        let d = &self.drives[drive];
        match &d.stamp {
            Some(stamp) => stamp.check(&d.path),
            None => Ok(()),
        }
    }

    /// Implants the MD5 of the new image (implantisomd5's format, which `checkisomd5` and
    /// installers' media checks read) when the original of drive `drive` had one, or when
    /// `add` (`commit --implant-md5`): with the original's skip sectors and fragment count, or
    /// implantisomd5's defaults. Reads the whole new image once.
    pub fn implant_md5(&self, drive: usize, plan: &mut Plan, add: bool) -> Result<()> {
        let src = &self.drives[drive].source;
        let like = crate::boot::isomd5::read(src.as_ref())?;
        if like.is_some() || add {
            crate::boot::isomd5::implant(plan, src.name(), like.as_ref())?;
        }
        Ok(())
    }

    /// Records that a commit ran; when it replaced drive `drive`'s image, opens the drive
    /// again on the new file and its mounts on the new filesystems, their staged changes now
    /// being the image's.
    pub fn committed(&mut self, drive: usize, replaced: bool) -> Result<()> {
        self.commits += 1;
        if !replaced {
            return Ok(());
        }
        let path = self.drives[drive].path.clone();
        let source: Arc<dyn Source> = Arc::new(FileSource::open(&path)?);
        self.drives[drive].source = source;
        self.drives[drive].stamp = Some(Stamp::of(&path)?);
        self.drives[drive].partitions =
            boot::partitions(self.drives[drive].source.as_ref()).unwrap_or_default();
        let mounts: Vec<_> = self
            .vfs
            .entries()
            .filter(|m| m.origin.drive() == Some(drive))
            .map(|m| (m.id, m.mount.device.clone(), m.mount.options.clone()))
            .collect();
        for (id, device, options) in mounts {
            let fs = fs::open(self.device_source(&device)?, &options)?;
            self.vfs.reopen(id, fs)?;
        }
        self.reopen_nested(drive)
    }
}

/// `plan`, unless the tree it was written from left entries out of its listings (the new
/// image would lose them).
fn check_left_out(plan: Plan, tree: &dyn FileSystem, image: String) -> Result<Plan> {
    match tree.left_out() {
        Some(what) => Err(Error::unsupported(
            image,
            format!(
                "commit of an image with {what}: the new image would lose them; nothing written"
            ),
        )),
        None => Ok(plan),
    }
}

/// Whether the ISO 9660 tree of a bridge disc holds the UDF tree's files, not a stub (a
/// Windows disc's `README.TXT`): every name in the UDF root is in the ISO 9660 root.
fn full_iso_tree(udf: &UdfFs, iso: &IsoFs) -> Result<bool> {
    for e in udf.read_dir(udf.root())? {
        if iso.lookup(iso.root(), &e.name)?.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}
