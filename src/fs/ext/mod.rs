//! ext2, ext3 and ext4 through ext4-view: extents, htree directories, fast and slow symlinks,
//! large files, journals replayed in memory. The crate speaks in paths, so inode numbers come
//! from a [`PathTable`]; it gives no link counts or device numbers (shown as 1 and none). It
//! refuses some features (inline_data, largedir, encryption): those are reported as unsupported.

use std::sync::{Arc, Mutex};

use ext4_view::{Ext4, Ext4Error, Ext4Read};

use crate::error::{Error, Result};
use crate::fs::pathtable::{join, PathTable};
use crate::fs::{probe, DirEntry, FileKind, FileSystem, Ino, Metadata, Timestamp};
use crate::source::Source;

/// ext4-view's reader over one of our sources.
struct Reader(Arc<dyn Source>);

impl Ext4Read for Reader {
    fn read(
        &mut self,
        start_byte: u64,
        dst: &mut [u8],
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
        Ok(self.0.read_exact_at(start_byte, dst, "ext block")?)
    }
}

/// The crate's handle and the file last read (sequential reads reuse it).
struct Inner {
    ext: Ext4,
    open: Option<(Ino, ext4_view::File)>,
}

/// The crate's state, only ever touched with the lock held.
struct Locked(Mutex<Inner>);

// SAFETY: `Ext4` is an `Rc` (so neither `Send` nor `Sync`). Every clone of that `Rc` (the
// `Ext4` itself, `File`s, `ReadDir`s and `DirEntry`s made from it) lives inside `Inner` or on
// the stack of a function that holds the lock, and is dropped before the lock is released, so
// the reference count is never touched by two threads at once.
unsafe impl Send for Locked {}
// SAFETY: as above: all access goes through the mutex.
unsafe impl Sync for Locked {}

/// An opened ext2/3/4 filesystem.
pub struct ExtFs {
    source: Arc<dyn Source>,
    kind: &'static str,
    label: String,
    locked: Locked,
    paths: PathTable,
}

fn map_err(image: &str, path: &[u8], e: Ext4Error) -> Error {
    let path = String::from_utf8_lossy(path).into_owned();
    match e {
        Ext4Error::NotFound => Error::NotFound(path),
        Ext4Error::NotADirectory => Error::NotADirectory(path),
        Ext4Error::IsADirectory => Error::IsADirectory(path),
        Ext4Error::TooManySymlinks => Error::SymlinkLoop(path),
        Ext4Error::Incompatible(i) => Error::unsupported(image, format!("ext feature: {i}")),
        Ext4Error::Encrypted => Error::unsupported(image, format!("encrypted file {path}")),
        Ext4Error::Io(e) => Error::corrupt(image, "ext block", 0, e.to_string()),
        other => Error::corrupt(image, "ext structure", 0, format!("{path}: {other}")),
    }
}

fn stamp(t: ext4_view::Timestamp) -> Timestamp {
    Timestamp {
        secs: t.seconds(),
        nanos: t.nanoseconds(),
    }
}

fn kind(t: ext4_view::FileType) -> FileKind {
    if t.is_dir() {
        FileKind::Dir
    } else if t.is_symlink() {
        FileKind::Symlink
    } else if t.is_char_dev() {
        FileKind::CharDevice
    } else if t.is_block_dev() {
        FileKind::BlockDevice
    } else if t.is_fifo() {
        FileKind::Fifo
    } else if t.is_socket() {
        FileKind::Socket
    } else {
        FileKind::File
    }
}

impl ExtFs {
    /// Loads the superblock, group descriptors and journal of the filesystem in `source`.
    pub fn open(source: Arc<dyn Source>) -> Result<Self> {
        let name = source.name().to_string();
        let kind = probe::filesystem_type(source.as_ref())?
            .filter(|t| t.starts_with("ext"))
            .unwrap_or("ext4");
        let ext =
            Ext4::load(Box::new(Reader(source.clone()))).map_err(|e| map_err(&name, b"/", e))?;
        let label = ext.label().to_str().unwrap_or_default().to_string();
        let root = ext
            .symlink_metadata(b"/")
            .map_err(|e| map_err(&name, b"/", e))?;
        let root_meta = Self::meta_of(&ext, &name, b"/", &root)?;
        Ok(ExtFs {
            source,
            kind,
            label,
            locked: Locked(Mutex::new(Inner { ext, open: None })),
            paths: PathTable::new(root_meta),
        })
    }

    fn meta_of(ext: &Ext4, image: &str, path: &[u8], m: &ext4_view::Metadata) -> Result<Metadata> {
        let kind = kind(m.file_type());
        let symlink = if kind == FileKind::Symlink {
            let target = ext.read_link(path).map_err(|e| map_err(image, path, e))?;
            Some(AsRef::<[u8]>::as_ref(&target).to_vec())
        } else {
            None
        };
        let time = stamp(m.modified());
        Ok(Metadata {
            kind,
            mode: u32::from(m.mode()) & 0o7777,
            uid: m.uid(),
            gid: m.gid(),
            size: m.len(),
            nlink: if kind == FileKind::Dir { 2 } else { 1 },
            ino: 0,
            mtime: time,
            atime: stamp(m.accessed()),
            ctime: time,
            rdev: None,
            symlink,
            allocated: m.len().div_ceil(4096) * 4096,
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>> {
        self.locked
            .0
            .lock()
            .map_err(|_| Error::Usage("ext reader poisoned by an earlier panic".into()))
    }
}

impl FileSystem for ExtFs {
    fn type_name(&self) -> &'static str {
        self.kind
    }
    fn source(&self) -> &Arc<dyn Source> {
        &self.source
    }
    fn label(&self) -> Option<String> {
        (!self.label.is_empty()).then(|| self.label.clone())
    }
    fn root(&self) -> Ino {
        0
    }
    fn metadata(&self, ino: Ino) -> Result<Metadata> {
        Ok(self.paths.get(ino)?.1)
    }
    fn read_dir(&self, dir: Ino) -> Result<Vec<DirEntry>> {
        let (path, _) = self.paths.get(dir)?;
        let image = self.source.name();
        let inner = self.lock()?;
        let mut out = Vec::new();
        for entry in inner
            .ext
            .read_dir(path.as_slice())
            .map_err(|e| map_err(image, &path, e))?
        {
            let entry = entry.map_err(|e| map_err(image, &path, e))?;
            let name = entry.file_name().as_ref().to_vec();
            if name == b"." || name == b".." {
                continue;
            }
            let child = join(&path, &name);
            let m = entry.metadata().map_err(|e| map_err(image, &child, e))?;
            let meta = Self::meta_of(&inner.ext, image, &child, &m)?;
            let meta = self.paths.intern(child, meta)?;
            out.push(DirEntry {
                name,
                ino: meta.ino,
                meta,
            });
        }
        Ok(out)
    }
    fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let (path, meta) = self.paths.get(ino)?;
        if offset >= meta.size {
            return Ok(0);
        }
        let image = self.source.name();
        let mut inner = self.lock()?;
        let Inner { ext, open } = &mut *inner;
        if open.as_ref().is_none_or(|(i, _)| *i != ino) {
            let file = ext
                .open(path.as_slice())
                .map_err(|e| map_err(image, &path, e))?;
            *open = Some((ino, file));
        }
        let Some((_, file)) = open.as_mut() else {
            return Ok(0);
        };
        if file.position() != offset {
            file.seek_to(offset).map_err(|e| map_err(image, &path, e))?;
        }
        let mut done = 0;
        while done < buf.len() {
            let n = file
                .read_bytes(&mut buf[done..])
                .map_err(|e| map_err(image, &path, e))?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }
    fn info(&self) -> Vec<(String, String)> {
        vec![
            ("Filesystem".into(), self.kind.into()),
            ("Label".into(), self.label.clone()),
        ]
    }
}
