//! The session: the drives that were added (`/dev/sda`, `/dev/sdb`...), the mount table, the
//! current directory, and whether changes are allowed. Commands act on it; nothing in it writes
//! to an image.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::boot::{self, Partition};
use crate::error::{Error, Result};
use crate::fs::{self, MountOptions};
use crate::source::{FileSource, RangeSource, Source};
use crate::vfs::{path, Mount, Node, Vfs};

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
}

/// Everything a command acts on.
pub struct Session {
    drives: Vec<Drive>,
    /// The mount table and the resolver.
    pub vfs: Vfs,
    cwd: String,
    /// Set by `--ro`: no staged changes, no commit.
    pub readonly: bool,
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
        }
    }

    /// Opens a host image as the next drive and returns its device name.
    pub fn add_drive(&mut self, path: &Path) -> Result<String> {
        let source: Arc<dyn Source> = Arc::new(FileSource::open(path)?);
        self.add_source_drive(source, path)
    }

    /// Adds `source` (a disk image found inside a mounted filesystem, `path` being its session
    /// path) as the next drive, its partitions as devices; returns the drive's device name.
    pub fn add_source_drive(&mut self, source: Arc<dyn Source>, path: &Path) -> Result<String> {
        let device = device_name(self.drives.len());
        let partitions = boot::partitions(source.as_ref()).unwrap_or_default();
        self.drives.push(Drive {
            device: device.clone(),
            path: path.to_path_buf(),
            source,
            partitions,
        });
        Ok(device)
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

    /// The bytes of a device. `/dev/vdX` and `/dev/hdX` are accepted for `/dev/sdX`, as
    /// guestfish scripts use them.
    pub fn device_source(&self, device: &str) -> Result<Arc<dyn Source>> {
        let canonical = ["/dev/vd", "/dev/hd", "/dev/xvd"]
            .iter()
            .find_map(|p| device.strip_prefix(p))
            .map(|rest| format!("/dev/sd{rest}"))
            .unwrap_or_else(|| device.to_string());
        self.drives
            .iter()
            .find_map(|d| {
                let rest = canonical.strip_prefix(&d.device)?;
                if rest.is_empty() {
                    return Some(d.source.clone());
                }
                let p = d.partitions.iter().find(|p| p.number.to_string() == rest)?;
                let name = format!("{} ({canonical})", d.source.name());
                Some(
                    Arc::new(RangeSource::new(d.source.clone(), p.start, p.len, name))
                        as Arc<dyn Source>,
                )
            })
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{device}: no such device (devices: {})",
                    self.devices().join(" ")
                ))
            })
    }

    /// Mounts the filesystem on `device` at `mountpoint` (a session path; it need not exist).
    pub fn mount(&mut self, device: &str, mountpoint: &str, options: MountOptions) -> Result<()> {
        let source = self.device_source(device)?;
        self.mount_source(source, device, mountpoint, None, options)
    }

    /// The bytes of the regular file at session path `path` (in any mount, nested or not), as a
    /// source read through the filesystem's extents where it has them.
    pub fn file_source(&self, path: &str) -> Result<Arc<dyn Source>> {
        let node = self.resolve(path)?;
        match node.file_data() {
            Some(data) => Ok(Arc::new(data?)),
            None if matches!(node.target, crate::vfs::Target::Virtual) => {
                Err(Error::IsADirectory(path.to_string()))
            }
            None => Err(Error::Usage(format!("{path}: not a regular file"))),
        }
    }

    /// Mounts the filesystem held in `source` at `mountpoint`, of type `fstype` or as the probe
    /// finds it; `device` is what `mounts` shows (the image file's session path).
    pub fn mount_source(
        &mut self,
        source: Arc<dyn Source>,
        device: &str,
        mountpoint: &str,
        fstype: Option<&str>,
        options: MountOptions,
    ) -> Result<()> {
        let fs = match fstype {
            Some(t) => fs::open_as(source, t, &options)?,
            None => fs::open(source, &options)?,
        };
        self.vfs.mount(Mount {
            mountpoint: path::normalize(&self.absolute(mountpoint)),
            device: device.to_string(),
            fs,
            options,
        });
        Ok(())
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
