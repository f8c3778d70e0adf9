//! The session: the drives that were added (`/dev/sda`, `/dev/sdb`...), the mount table, the
//! current directory, and whether changes are allowed. Commands act on it; nothing in it writes
//! to an image. Mounting, unmounting and where each mount comes from are in
//! `session/mounts.rs`.

mod commit;
mod mounts;
mod rebuild;
mod stage;

pub use rebuild::Rebuild;

pub use stage::Staging;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::boot::{self, Partition};
use crate::error::{Error, Result};
use crate::source::{FileSource, RangeSource, Source};
use crate::vfs::{path, FileRef, Node, Vfs};

/// An image added with `-a` or `open`.
pub struct Drive {
    /// `/dev/sda`, `/dev/sdb`...
    pub device: String,
    /// The host path it was opened from.
    pub path: PathBuf,
    pub source: Arc<dyn Source>,
    /// Its partitions (`/dev/sda1`...), from the table Linux would read; none when the
    /// tables are unreadable (`boot-info` says why).
    pub partitions: Vec<Partition>,
    /// Added with `readonly:true`: nothing may be staged in its filesystems.
    pub readonly: bool,
    /// The name given with `label:NAME`: the drive is also `/dev/disk/guestfs/NAME`.
    pub label: Option<String>,
    /// The file of a mount it was read from (a partitioned disk image `mount-loop` opened);
    /// `None` for a host image.
    pub image: Option<FileRef>,
    /// A host image's identity as it was opened: a commit back into it is refused once another
    /// program changed it.
    pub stamp: Option<crate::plan::in_place::Stamp>,
}

/// Everything a command acts on.
pub struct Session {
    drives: Vec<Drive>,
    /// The mount table and the resolver.
    pub vfs: Vfs,
    cwd: String,
    /// Set by `--ro`: no staged changes, no commit.
    pub readonly: bool,
    /// Commits made so far.
    commits: u64,
}

/// The device name of the `index`th drive: sda..sdz, sdaa...
fn device_name(index: usize) -> String {
    let mut letters = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        n -= 1;
        letters.push(b'a' + (n % 26) as u8);
        n /= 26;
    }
    letters.reverse();
    format!(
        "/dev/sd{}",
        String::from_utf8(letters).expect("ASCII letters")
    )
}

impl Session {
    /// An empty session.
    pub fn new(readonly: bool) -> Self {
        Session {
            drives: Vec::new(),
            vfs: Vfs::default(),
            cwd: "/".into(),
            readonly,
            commits: 0,
        }
    }

    /// Opens a host image as the next drive and returns its device name.
    pub fn add_drive(&mut self, path: &Path) -> Result<String> {
        self.add_drive_with(path, false, None)
    }

    /// [`Session::add_drive`], the drive read-only (`readonly:true`: nothing may be staged in
    /// its filesystems) and named `/dev/disk/guestfs/LABEL` too when a label is given.
    pub fn add_drive_with(
        &mut self,
        path: &Path,
        readonly: bool,
        label: Option<&str>,
    ) -> Result<String> {
        if let Some(label) = label {
            if label.is_empty() || !label.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(Error::Usage(format!(
                    "label:{label}: a label is one or more ASCII letters"
                )));
            }
            if self
                .drives
                .iter()
                .any(|d| d.label.as_deref() == Some(label))
            {
                return Err(Error::Usage(format!(
                    "label:{label}: another drive has this label"
                )));
            }
        }
        self.recover(path, readonly || self.readonly)?;
        let source: Arc<dyn Source> = Arc::new(FileSource::open(path)?);
        let stamp = crate::plan::in_place::Stamp::of(path)?;
        let device = self.push_drive(source, path, None);
        let drive = self.drives.last_mut().expect("the drive just added");
        drive.readonly = readonly;
        drive.stamp = Some(stamp);
        drive.label = label.map(String::from);
        crate::verbose::say(|| {
            format!(
                "added {} as {device} ({} bytes{})",
                path.display(),
                drive.source.len(),
                if readonly { ", read-only" } else { "" }
            )
        });
        Ok(device)
    }

    /// Rolls back an in-place commit to the image at `path` that was interrupted (its undo
    /// journal is there), saying so on standard error; refused in a read-only session, which
    /// writes nothing.
    fn recover(&self, path: &Path, readonly: bool) -> Result<()> {
        use crate::plan::journal::{self, RolledBack};
        let journal = journal::path_of(path);
        if readonly && journal.exists() {
            return Err(Error::Usage(format!(
                "{}: an in-place commit to it was interrupted ({} is there): open it without \
                 --ro to roll it back",
                path.display(),
                journal.display()
            )));
        }
        if let RolledBack::Restored { ranges, .. } = journal::roll_back(path)? {
            eprintln!(
                "isofish: {}: an interrupted in-place commit was rolled back ({ranges} ranges \
                 restored from {})",
                path.display(),
                journal.display()
            );
        }
        Ok(())
    }

    /// Adds `source` as the next drive, its partitions as devices; `path` is the host path, or
    /// the session path of `image`, the file it was read from. Returns its device name.
    fn push_drive(
        &mut self,
        source: Arc<dyn Source>,
        path: &Path,
        image: Option<FileRef>,
    ) -> String {
        let device = device_name(self.drives.len());
        let partitions = boot::partitions(source.as_ref()).unwrap_or_default();
        self.drives.push(Drive {
            device: device.clone(),
            path: path.to_path_buf(),
            source,
            partitions,
            image,
            stamp: None,
            readonly: false,
            label: None,
        });
        device
    }

    /// Makes the host paths of the drives absolute, against the host working directory as it
    /// is now: `lcd` calls it before changing that directory, so a commit still writes the
    /// image that was added (a path that cannot be made absolute is kept).
    pub fn anchor_drive_paths(&mut self) {
        for d in &mut self.drives {
            if d.image.is_none() && d.path.is_relative() {
                if let Ok(abs) = std::path::absolute(&d.path) {
                    d.path = abs;
                }
            }
        }
    }

    /// The drives, in the order they were added.
    pub fn drives(&self) -> &[Drive] {
        &self.drives
    }

    /// Every device name: each drive, then its partitions.
    pub fn devices(&self) -> Vec<String> {
        self.drives
            .iter()
            .flat_map(|d| {
                std::iter::once(d.device.clone()).chain(
                    d.partitions
                        .iter()
                        .map(|p| format!("{}{}", d.device, p.number)),
                )
            })
            .collect()
    }

    /// The drive (its index) and the partition (none for the whole drive) that `device` names.
    /// `/dev/vdX` and `/dev/hdX` are accepted for `/dev/sdX`, as guestfish scripts use them.
    fn find_device(&self, device: &str) -> Result<(usize, Option<&Partition>)> {
        let canonical = self
            .labelled(device)
            .unwrap_or_else(|| canonical_device(device));
        self.drives
            .iter()
            .enumerate()
            .find_map(|(i, d)| {
                let rest = canonical.strip_prefix(&d.device)?;
                if rest.is_empty() {
                    return Some((i, None));
                }
                let p = d.partitions.iter().find(|p| p.number.to_string() == rest)?;
                Some((i, Some(p)))
            })
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{device}: no such device (devices: {})",
                    self.devices().join(" ")
                ))
            })
    }

    /// `/dev/disk/guestfs/LABEL[N]` as the device of the drive labelled LABEL (partition N).
    fn labelled(&self, device: &str) -> Option<String> {
        let rest = device.strip_prefix("/dev/disk/guestfs/")?;
        self.drives.iter().find_map(|d| {
            let number = rest.strip_prefix(d.label.as_deref()?)?;
            (number.is_empty() || number.bytes().all(|b| b.is_ascii_digit()))
                .then(|| format!("{}{number}", d.device))
        })
    }

    /// True when the filesystem mounted as `id` is read from a drive added with
    /// `readonly:true` (directly, or through the files of other mounts); the drive's device.
    pub(crate) fn readonly_drive(&self, mut id: crate::vfs::MountId) -> Option<&str> {
        loop {
            let mounted = self.vfs.get(id)?;
            if let Some(drive) = mounted.origin.drive() {
                let d = self.drives.get(drive)?;
                return d.readonly.then_some(d.device.as_str());
            }
            id = mounted.origin.file()?.mount;
        }
    }

    /// The bytes of a device (see [`Session::devices`]).
    pub fn device_source(&self, device: &str) -> Result<Arc<dyn Source>> {
        let (drive, partition) = self.find_device(device)?;
        let d = &self.drives[drive];
        Ok(match partition {
            None => d.source.clone(),
            Some(p) => {
                let name = format!("{} ({})", d.source.name(), canonical_device(device));
                Arc::new(RangeSource::new(d.source.clone(), p.start, p.len, name))
            }
        })
    }

    /// The bytes of the regular file at session path `path` (in any mount, nested or not), as a
    /// source read through the filesystem's extents where it has them.
    pub fn file_source(&self, path: &str) -> Result<Arc<dyn Source>> {
        let node = self.resolve(path)?;
        file_data(&node, path)
    }

    /// The current directory.
    pub fn cwd(&self) -> &str {
        &self.cwd
    }

    /// Changes the current directory; the target must resolve to a directory.
    pub fn set_cwd(&mut self, path: &str) -> Result<()> {
        let node = self.resolve(path)?;
        if !node.is_dir() {
            return Err(Error::NotADirectory(path.to_string()));
        }
        self.cwd = node.path;
        Ok(())
    }

    /// `path` made absolute against the current directory.
    pub fn absolute(&self, path: &str) -> String {
        path::absolute(&self.cwd, path)
    }

    /// Resolves a path, following symlinks all the way.
    pub fn resolve(&self, path: &str) -> Result<Node> {
        self.vfs
            .resolve(&self.absolute(path), true)
            .map_err(|e| rename(e, path))
    }

    /// Resolves a path without following a final symlink.
    pub fn resolve_nofollow(&self, path: &str) -> Result<Node> {
        self.vfs
            .resolve(&self.absolute(path), false)
            .map_err(|e| rename(e, path))
    }
}

/// A device name with the `/dev/vdX`, `/dev/hdX` and `/dev/xvdX` spellings made `/dev/sdX`.
pub(crate) fn canonical_device(device: &str) -> String {
    ["/dev/vd", "/dev/hd", "/dev/xvd"]
        .iter()
        .find_map(|p| device.strip_prefix(p))
        .map(|rest| format!("/dev/sd{rest}"))
        .unwrap_or_else(|| device.to_string())
}

/// The data of `node` (reached by `path`, as the user typed it) as a source.
fn file_data(node: &Node, path: &str) -> Result<Arc<dyn Source>> {
    match node.file_data() {
        Some(data) => Ok(Arc::new(data?)),
        None if matches!(node.target, crate::vfs::Target::Virtual) => {
            Err(Error::IsADirectory(path.to_string()))
        }
        None => Err(Error::Usage(format!("{path}: not a regular file"))),
    }
}

/// Errors about a path name the path as the user typed it.
fn rename(e: Error, path: &str) -> Error {
    match e {
        Error::NotFound(_) => Error::NotFound(path.to_string()),
        Error::SymlinkLoop(_) => Error::SymlinkLoop(path.to_string()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::device_name;

    #[test]
    fn device_names_run_past_z() {
        assert_eq!(device_name(0), "/dev/sda");
        assert_eq!(device_name(25), "/dev/sdz");
        assert_eq!(device_name(26), "/dev/sdaa");
    }
}
