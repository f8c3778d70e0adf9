//! The filesystem layer: the [`FileSystem`] trait every format implements, the plain types it
//! speaks ([`Metadata`], [`DirEntry`], [`Extent`]), and [`open`], which probes a source and
//! opens the filesystem it holds. One folder per format below this module.

pub mod iso9660;
pub mod probe;
pub mod walk;

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::source::Source;

/// A filesystem-specific handle for one file or directory. Opaque to everything above the
/// format: only the filesystem that returned it may interpret it.
pub type Ino = u64;

/// What kind of object a directory entry names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
}

impl FileKind {
    /// The type bits of `st_mode` (S_IFREG, S_IFDIR...).
    pub fn mode_bits(self) -> u32 {
        match self {
            FileKind::File => 0o100000,
            FileKind::Dir => 0o040000,
            FileKind::Symlink => 0o120000,
            FileKind::CharDevice => 0o020000,
            FileKind::BlockDevice => 0o060000,
            FileKind::Fifo => 0o010000,
            FileKind::Socket => 0o140000,
        }
    }

    /// The kind named by the type bits of an `st_mode`, if they name one.
    pub fn from_mode(mode: u32) -> Option<FileKind> {
        Some(match mode & 0o170000 {
            0o100000 => FileKind::File,
            0o040000 => FileKind::Dir,
            0o120000 => FileKind::Symlink,
            0o020000 => FileKind::CharDevice,
            0o060000 => FileKind::BlockDevice,
            0o010000 => FileKind::Fifo,
            0o140000 => FileKind::Socket,
            _ => return None,
        })
    }
}

/// A point in time: seconds since the Unix epoch (negative before 1970) and nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

/// What `stat` says about a file, in Unix terms whatever the format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    pub kind: FileKind,
    /// Permission bits, set-id and sticky bits (`0o7777`); the type is in `kind`.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Size in bytes (of the decompressed data for transparently compressed files; the target's
    /// length for symlinks).
    pub size: u64,
    pub nlink: u32,
    /// The inode number as the format records it (Rock Ridge PX serial, or the data location).
    /// Files with the same `ino` and `nlink > 1` are hard links of each other.
    pub ino: u64,
    pub mtime: Timestamp,
    pub atime: Timestamp,
    pub ctime: Timestamp,
    /// Major and minor device numbers of device nodes.
    pub rdev: Option<(u32, u32)>,
    /// The target of a symlink, as recorded.
    pub symlink: Option<Vec<u8>>,
    /// Bytes the file occupies on its medium (for `du`); equals `size` rounded up where the
    /// format knows no better.
    pub allocated: u64,
}

impl Metadata {
    /// The full `st_mode`: type bits and permission bits.
    pub fn st_mode(&self) -> u32 {
        self.kind.mode_bits() | (self.mode & 0o7777)
    }
    /// True for directories.
    pub fn is_dir(&self) -> bool {
        self.kind == FileKind::Dir
    }
}

/// One name in a directory (never `.` or `..`).
#[derive(Clone, Debug)]
pub struct DirEntry {
    /// The name as the format records it, decoded to bytes (UTF-8 for Joliet and most Rock Ridge).
    pub name: Vec<u8>,
    pub ino: Ino,
    pub meta: Metadata,
}

/// A piece of a file's data as it lies in the filesystem's source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    /// Byte offset in the source, or `None` for a hole that reads as zeros.
    pub offset: Option<u64>,
    pub len: u64,
}

/// Options given to `mount-options` (`norock`, `nojoliet`, `joliet`, `plain`...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MountOptions(pub Vec<String>);

impl MountOptions {
    /// Parses a comma-separated option string; empty words are ignored.
    pub fn parse(s: &str) -> Self {
        MountOptions(
            s.split(',')
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect(),
        )
    }
    /// True when `opt` was given.
    pub fn has(&self, opt: &str) -> bool {
        self.0.iter().any(|o| o == opt)
    }
}

/// A mounted-able filesystem. Implementations are read-only views of their source; staged
/// changes live above them, in the session.
pub trait FileSystem: Send + Sync {
    /// The type as `vfs-type` prints it: `iso9660`, `udf`, `squashfs`, `ext4`, `vfat`...
    fn type_name(&self) -> &'static str;
    /// The bytes this filesystem is read from.
    fn source(&self) -> &Arc<dyn Source>;
    /// The volume label (`vfs-label`), if the format has one.
    fn label(&self) -> Option<String>;
    /// The root directory.
    fn root(&self) -> Ino;
    /// Metadata of one file or directory.
    fn metadata(&self, ino: Ino) -> Result<Metadata>;
    /// The entries of a directory, without `.` and `..`, in the order the format stores them.
    fn read_dir(&self, dir: Ino) -> Result<Vec<DirEntry>>;
    /// One entry of a directory by name.
    fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Option<DirEntry>> {
        Ok(self.read_dir(dir)?.into_iter().find(|e| e.name == name))
    }
    /// Reads file data (decompressed where the format compresses it); returns fewer bytes than
    /// asked only at the end of the file.
    fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize>;
    /// The file's data as byte ranges of [`FileSystem::source`], when it is stored plainly
    /// (not compressed); `None` otherwise. Copies and the writer use this to move data without
    /// decoding it.
    fn extents(&self, _ino: Ino) -> Result<Option<Vec<Extent>>> {
        Ok(None)
    }
    /// Label/value lines describing the volume, for `info DEV` (like `isoinfo -d`).
    fn info(&self) -> Vec<(String, String)>;
}

/// Opens the filesystem that `source` holds, as the probe identifies it.
pub fn open(source: Arc<dyn Source>, options: &MountOptions) -> Result<Arc<dyn FileSystem>> {
    match probe::filesystem_type(source.as_ref())? {
        Some("iso9660") => Ok(Arc::new(iso9660::IsoFs::open(source, options)?)),
        Some(other) => Err(Error::unsupported(
            source.name(),
            format!("filesystem type {other} (not readable yet)"),
        )),
        None => Err(Error::Usage(format!(
            "{}: no filesystem found (the probe recognised nothing)",
            source.name()
        ))),
    }
}
