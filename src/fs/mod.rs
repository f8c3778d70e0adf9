//! The filesystem layer: the [`FileSystem`] trait every format implements, the plain types it
//! speaks ([`Metadata`], [`DirEntry`], and file data as [`Span`]s), and [`open`], which probes a source and
//! opens the filesystem it holds. One folder per format below this module.

pub mod cpio;
pub mod deb;
pub mod decoded;
pub mod erofs;
pub mod ext;
pub mod fat;
pub mod inotable;
pub mod iso9660;
pub mod left_out;
pub mod probe;
pub mod rebuild;
pub mod rpm;
pub mod squashfs;
pub mod tar;
pub mod udf;
pub mod walk;

use std::sync::Arc;

pub use crate::data::Span;
use crate::error::{Error, Result};
use crate::source::decoded::{Codec, DecodedSource};
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

impl Timestamp {
    /// Now, by the host's clock (the epoch if the clock is before it).
    pub fn now() -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp {
            secs: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
        }
    }
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
    /// A directory that no structure on the disc describes (the virtual directories above
    /// mountpoints, the parents a cpio archive implies without a member): mode 0755, owned by
    /// root, two links, no times.
    pub fn synthetic_dir(ino: Ino) -> Metadata {
        Metadata {
            kind: FileKind::Dir,
            mode: 0o755,
            uid: 0,
            gid: 0,
            size: 0,
            nlink: 2,
            ino,
            mtime: Timestamp::default(),
            atime: Timestamp::default(),
            ctime: Timestamp::default(),
            rdev: None,
            symlink: None,
            allocated: 0,
        }
    }

    /// The same metadata for an object of another kind.
    pub fn with_kind(self, kind: FileKind) -> Metadata {
        Metadata { kind, ..self }
    }

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

/// One name in a directory as a names listing gives it ([`FileSystem::names`]): the name,
/// its [`Ino`], and whether it is a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameKind {
    pub name: Vec<u8>,
    pub ino: Ino,
    pub is_dir: bool,
}

/// One extended attribute: the full name with its namespace (`user.mime`, `security.selinux`,
/// `trusted.overlay.opaque`) and the value as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Xattr {
    pub name: Vec<u8>,
    pub value: Vec<u8>,
}

/// What a change may ask a filesystem to record beyond names, data and modification times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attribute {
    Mode,
    Owner,
    Symlink,
    /// Device nodes, FIFOs and sockets.
    Special,
    HardLink,
    Xattrs,
}

impl Attribute {
    /// How messages name it.
    pub fn name(self) -> &'static str {
        match self {
            Attribute::Mode => "permissions",
            Attribute::Owner => "owners",
            Attribute::Symlink => "symbolic links",
            Attribute::Special => "device nodes, FIFOs or sockets",
            Attribute::HardLink => "hard links",
            Attribute::Xattrs => "extended attributes",
        }
    }

    /// What making an object of `kind` asks to record, if anything beyond a plain file or
    /// directory.
    pub fn of_kind(kind: FileKind) -> Option<Attribute> {
        match kind {
            FileKind::File | FileKind::Dir => None,
            FileKind::Symlink => Some(Attribute::Symlink),
            _ => Some(Attribute::Special),
        }
    }
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

    /// The `level=N` option (the last one given): the compression level of what a commit
    /// compresses again for the mount of `image`.
    pub fn level(&self, image: &str) -> Result<Option<u32>> {
        let Some(value) = self.0.iter().rev().find_map(|o| o.strip_prefix("level=")) else {
            return Ok(None);
        };
        value.parse().map(Some).map_err(|_| {
            Error::Usage(format!(
                "{image}: option level={value}: not a compression level (e.g. 9)"
            ))
        })
    }
}

/// A mounted-able filesystem. Implementations are read-only views of their source; staged
/// changes live above them, in the session.
pub trait FileSystem: std::any::Any + Send + Sync {
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
    /// The entries of `dir` as [`read_dir`](FileSystem::read_dir) lists them (the same
    /// entries, in the same order), without their metadata: what a listing of names (`find`)
    /// needs. A format may decode less for it; by default it is `read_dir`'s.
    fn names(&self, dir: Ino) -> Result<Vec<NameKind>> {
        Ok(self
            .read_dir(dir)?
            .into_iter()
            .map(|e| NameKind {
                is_dir: e.meta.is_dir(),
                name: e.name,
                ino: e.ino,
            })
            .collect())
    }
    /// One entry of a directory by name.
    fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Option<DirEntry>> {
        Ok(self.read_dir(dir)?.into_iter().find(|e| e.name == name))
    }
    /// Reads file data (decompressed where the format compresses it); returns fewer bytes than
    /// asked only at the end of the file.
    fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize>;
    /// The file's data as spans (ranges of a source, zeros for holes), when it is stored
    /// plainly (not compressed); `None` otherwise. Nested file sources, copies and the writer
    /// use this to move data without decoding it.
    fn spans(&self, _ino: Ino) -> Result<Option<Vec<Span>>> {
        Ok(None)
    }
    /// The holes of a file the format stores compressed (no [`FileSystem::spans`]): the byte
    /// ranges `(offset, length)` that read as zeros because nothing is stored for them
    /// (squashfs sparse blocks, EROFS holes), in order. Empty when there are none or the
    /// format does not record them. `tar-out`, `copy-out` and `download` keep them as holes.
    fn holes(&self, _ino: Ino) -> Result<Vec<(u64, u64)>> {
        Ok(Vec::new())
    }
    /// The extended attributes of one file or directory, in the order the format stores them
    /// (`getxattrs`, `tar-out xattrs:true`). Formats that record none return an empty list.
    fn xattrs(&self, _ino: Ino) -> Result<Vec<Xattr>> {
        Ok(Vec::new())
    }
    /// Whether a new entry called `name` can be stored, for the commands that stage one:
    /// refused ([`Error::CannotStoreName`]) when the format cannot hold it, else a note when
    /// it will be stored otherwise than given (a Joliet name cut short), `None` when as given.
    /// Formats isofish does not write accept every name.
    fn name_fit(&self, _name: &[u8], _is_dir: bool) -> Result<Option<String>> {
        Ok(None)
    }
    /// What the listings read so far left out of the tree that the volume holds (a rewrite
    /// from the tree would lose it), if anything.
    fn left_out(&self) -> Option<String> {
        None
    }
    /// Why the format, as this volume has it, cannot record `what` (`None`: it can), so a
    /// change that needs it is refused when it is staged rather than lost when written.
    fn refuses(&self, _what: Attribute) -> Option<String> {
        None
    }
    /// What `mounts` and `file` add after the type: the compression, where decoded data is
    /// kept (`xz`; `gzip, decoded in memory`).
    fn detail(&self) -> Option<String> {
        None
    }
    /// Label/value lines describing the volume, for `info DEV` (like `isoinfo -d`).
    fn info(&self) -> Vec<(String, String)>;
}

/// Opens the filesystem that `source` holds, as the probe identifies it. A compressed stream
/// is opened as the cpio archive it holds (an initrd), or else as the image it decodes to.
pub fn open(source: Arc<dyn Source>, options: &MountOptions) -> Result<Arc<dyn FileSystem>> {
    // `mount-options udf|iso9660` picks one side of a bridge disc explicitly.
    if let Some(t) = ["udf", "iso9660"].into_iter().find(|t| options.has(t)) {
        return open_as(source, t, options);
    }
    match probe::identify(source.as_ref())? {
        probe::Content::Filesystem(t) => open_as(source, t, options),
        probe::Content::Cpio(_) => open_as(source, "cpio", options),
        probe::Content::Compressed(_) => {
            if probe::compressed_cpio(&source)? {
                return open_as(source, "cpio", options);
            }
            if let Some(t) = probe::compressed_archive(&source)? {
                return open_as(source, t, options);
            }
            let decoded = decoded_image(&source, options)?;
            let note = decoded.note();
            let inner = open(decoded, options)?;
            Ok(Arc::new(decoded::DecodedFs { inner, note }))
        }
        probe::Content::PartitionTable(t) => Err(Error::Usage(format!(
            "{}: a partitioned disk ({t}): mount one of its partitions",
            source.name()
        ))),
        probe::Content::Unknown => Err(Error::Usage(format!(
            "{}: no filesystem found (the probe recognised nothing)",
            source.name()
        ))),
    }
}

/// The decoded bytes of the compressed image in `source`.
fn decoded_image(source: &Arc<dyn Source>, options: &MountOptions) -> Result<Arc<DecodedSource>> {
    let head = source.read_vec(0, 6.min(source.len() as usize), "compressed stream")?;
    let codec = Codec::sniff(&head)
        .ok_or_else(|| Error::corrupt(source.name(), "compressed stream", 0, "no known magic"))?;
    let limits = cpio::limits(source.name(), options)?;
    let name = format!("{} ({} decoded)", source.name(), codec.name());
    Ok(Arc::new(DecodedSource::decode(
        source, 0, codec, limits, name,
    )?))
}

/// Opens `source` as a filesystem of type `fstype` (`mount-loop-type`, `mount -t`), whatever the
/// probe says.
pub fn open_as(
    source: Arc<dyn Source>,
    fstype: &str,
    options: &MountOptions,
) -> Result<Arc<dyn FileSystem>> {
    // The type words are for the dispatch only; the format sees the rest.
    let options = &MountOptions(
        options
            .0
            .iter()
            .filter(|o| !matches!(o.as_str(), "udf" | "iso9660"))
            .cloned()
            .collect(),
    );
    match fstype {
        "iso9660" => Ok(Arc::new(iso9660::IsoFs::open(source, options)?)),
        "udf" => Ok(Arc::new(udf::UdfFs::open(source, options)?)),
        "squashfs" => Ok(Arc::new(squashfs::SquashFs::open(source)?)),
        "ext2" | "ext3" | "ext4" => Ok(Arc::new(ext::ExtFs::open(source)?)),
        "vfat" | "fat" | "msdos" => Ok(Arc::new(fat::FatFs::open(source)?)),
        "cpio" => Ok(Arc::new(cpio::CpioFs::open(source, options)?)),
        "erofs" => Ok(Arc::new(erofs::ErofsFs::open(source)?)),
        "tar" => Ok(Arc::new(tar::TarFs::open(source, options)?)),
        "deb" => Ok(Arc::new(deb::open(source, options)?)),
        "rpm" => Ok(Arc::new(rpm::RpmFs::open(source, options)?)),
        other => Err(Error::unsupported(
            source.name(),
            format!("filesystem type {other} (not readable)"),
        )),
    }
}
