//! [`HostPathSource`]: a host file staged by its path (an upload) as a [`Source`] that keeps no
//! descriptor open. Each read and each copy opens the file, checks that it is still the file
//! that was staged (same device and inode, same size and modification time) and closes it
//! after, so a session can stage more files than it may hold open; a file removed, replaced or
//! changed since it was staged is an error naming it, never other bytes. A file found by a
//! directory walk ([`HostPathSource::walked`]) is staged from the walk's metadata, not opened
//! until its data is needed: one open of each file in all.

use std::fs::{File, Metadata, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::{pread, FileSource, HostFd, Source};
use crate::error::{Error, Result};

/// What a host file was when it was staged.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
}

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
        }
    }
}

/// A regular host file read by its path, opened only while its data is read or copied.
pub struct HostPathSource {
    path: PathBuf,
    name: String,
    stamp: Stamp,
}

impl HostPathSource {
    /// Stages the regular file at `path` (symlinks followed) as it is now: refused, naming it,
    /// when it cannot be opened or is not a regular file. No descriptor stays open.
    pub fn open(path: &Path) -> Result<Self> {
        let opened = FileSource::open(path)?;
        let meta = opened
            .file
            .metadata()
            .map_err(|e| Error::io(&opened.name, e))?;
        if !meta.is_file() {
            return Err(Error::Usage(format!("{}: not a regular file", opened.name)));
        }
        Ok(HostPathSource {
            // Absolute, so `lcd` later does not change which file a commit takes.
            path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            name: opened.name,
            stamp: Stamp::of(&meta),
        })
    }

    /// Stages the regular file at `path` (absolute) as `meta`, what a directory walk just read
    /// of it, says it is, without opening it: `name` names it in errors. A file that cannot be
    /// opened, or that is not what `meta` says when its data is read, is an error then.
    pub fn walked(path: PathBuf, name: String, meta: &Metadata) -> Result<Self> {
        if !meta.is_file() {
            return Err(Error::Usage(format!("{name}: not a regular file")));
        }
        Ok(HostPathSource {
            path,
            name,
            stamp: Stamp::of(meta),
        })
    }

    /// Fails, naming the file, when it was removed, replaced or changed since it was staged:
    /// the bytes a commit would take are no longer the ones the user staged.
    pub fn check(&self) -> Result<()> {
        let meta = std::fs::metadata(&self.path).map_err(|e| self.unreachable(e))?;
        self.same(&meta)
    }

    /// Opens the file again, when it is still the one staged.
    fn reopen(&self) -> Result<File> {
        // Without waiting: a FIFO put in the file's place is refused below, not waited on.
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(&self.path)
            .map_err(|e| self.unreachable(e))?;
        let meta = file.metadata().map_err(|e| Error::io(&self.name, e))?;
        self.same(&meta)?;
        Ok(file)
    }

    /// Fails, naming the file, when `meta` is not what it was when staged.
    fn same(&self, meta: &Metadata) -> Result<()> {
        if Stamp::of(meta) != self.stamp {
            return Err(Error::Usage(format!(
                "{}: uploaded file changed since it was staged; upload it again or revert",
                self.name
            )));
        }
        Ok(())
    }

    /// The error for a file that cannot be reached by its path any more.
    fn unreachable(&self, e: std::io::Error) -> Error {
        let what = match e.kind() {
            ErrorKind::NotFound => "is gone",
            _ => "cannot be opened",
        };
        Error::Usage(format!(
            "{}: uploaded file {what} since it was staged ({e}); upload it again or revert",
            self.name
        ))
    }
}

impl Source for HostPathSource {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.stamp.size || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min((self.stamp.size - offset) as usize);
        pread(&self.reopen()?, offset, &mut buf[..want], &self.name)
    }
    fn len(&self) -> u64 {
        self.stamp.size
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn host_file(&self) -> Option<(HostFd<'_>, u64)> {
        self.reopen().ok().map(|file| (HostFd::Owned(file), 0))
    }
    fn in_host_file(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn staged(data: &[u8]) -> (tempfile::TempDir, PathBuf, HostPathSource) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("up.bin");
        std::fs::write(&path, data).unwrap();
        let src = HostPathSource::open(&path).unwrap();
        (dir, path, src)
    }

    #[test]
    fn reads_and_lends_a_descriptor_opened_for_the_occasion() {
        let (_dir, _path, src) = staged(b"0123456789");
        let mut buf = [0u8; 4];
        assert_eq!(src.read_at(8, &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"89");
        assert!(src.in_host_file());
        let (fd, base) = src.host_file().expect("the file opens");
        assert!(matches!(fd, HostFd::Owned(_)));
        assert_eq!((base, fd.metadata().unwrap().len()), (0, 10));
        src.check().unwrap();
    }

    #[test]
    fn a_removed_file_is_an_error_naming_it() {
        let (_dir, path, src) = staged(b"data");
        std::fs::remove_file(&path).unwrap();
        let msg = src.read_at(0, &mut [0; 4]).unwrap_err().to_string();
        assert!(msg.starts_with(&path.display().to_string()), "{msg}");
        assert!(msg.contains("is gone since it was staged"), "{msg}");
        assert!(src.host_file().is_none());
        assert!(src.check().is_err());
    }

    #[test]
    fn a_changed_or_replaced_file_is_an_error_naming_it() {
        let (_dir, path, src) = staged(b"data");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"more").unwrap();
        let msg = src.check().unwrap_err().to_string();
        assert!(msg.contains("up.bin: uploaded file changed"), "{msg}");
        // Same size, another file in its place.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"DATA").unwrap();
        assert!(src.read_at(0, &mut [0; 4]).is_err());
    }

    #[test]
    fn a_file_staged_through_a_symlink_is_checked_as_the_file() {
        let (dir, path, _) = staged(b"data");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let src = HostPathSource::open(&link).unwrap();
        src.check().unwrap();
        assert_eq!(src.read_at(0, &mut [0; 8]).unwrap(), 4);
    }

    #[test]
    fn a_walked_file_is_opened_only_to_read_and_checked_then() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("walked.bin");
        std::fs::write(&path, b"as found").unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let src = HostPathSource::walked(path.clone(), "tree/walked.bin".into(), &meta).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(src.read_at(0, &mut buf).unwrap(), 8);
        assert_eq!(&buf, b"as found");
        assert!(src.host_file().is_some());
        std::fs::write(&path, b"changed since").unwrap();
        let msg = src.read_at(0, &mut buf).unwrap_err().to_string();
        assert!(
            msg.contains("tree/walked.bin: uploaded file changed"),
            "{msg}"
        );
        assert!(src.host_file().is_none());
        let meta = std::fs::symlink_metadata(dir.path()).unwrap();
        assert!(HostPathSource::walked(dir.path().to_path_buf(), "d".into(), &meta).is_err());
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(HostPathSource::open(dir.path()).is_err());
    }
}
