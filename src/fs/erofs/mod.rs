//! EROFS (the read-only filesystem of Fedora 42+ live media, Android and container images):
//! metadata (inodes, directories, xattrs, symlinks) through erofs-rs's async reader, driven
//! by `executor::block_on` over an `image::SourceImage`, and file data in-house (`data`): flat
//! files as spans of the image, compressed ones mapped (`zmap`, `lcluster`, `mapheader`) and
//! decoded (lz4, plain pclusters) an extent at a time, on whichever thread reads them; what
//! the in-house path does not take (chunked files, fragments, lzma, deflate, zstd, 48-bit
//! images) goes through the crate as before. The image is read through its source wherever
//! it sits (an ISO file, a file in a squashfs...), never mapped or loaded whole. Compact and
//! extended inodes; extended attributes with their full names (sorted by name, as the crate
//! gives them). Images spread over extra devices are refused by name.
//!
//! The crate decodes a compressed extent again for every block it reads of a directory or of
//! metadata. Two bounds keep a hostile image from turning that into hours of work: compressed
//! directories are read up to `MAX_COMPRESSED_DIR`, and images keeping their metadata in a
//! metabox (a compressed inode holding all inodes, `-E metabox`, opt-in in erofs-utils 1.9)
//! are refused as unsupported, since every inode read would decode a metabox extent.
//!
//! Inode numbers are the EROFS nids. The crate lists directories by path only, so the path of
//! every directory seen is kept by nid; listings are read ahead and kept (`listings`: a walk
//! resolves each directory's path about once, not once per level below it), and the last
//! stretch of file data the crate decoded is kept for the next sequential read.
//!
//! An entry whose name is not a file name, or that names its own directory or the root (a
//! loop), is left out with a warning ([`crate::fs::left_out`]). The crate refuses a whole
//! directory block for one bad name, so such a directory is read again in-house (`dirents`).

mod chunks;
mod data;
mod dirents;
mod executor;
mod image;
mod inode;
mod lcluster;
mod listings;
mod lz4;
mod mapheader;
pub mod superblock;
mod window;
mod zmap;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};

use erofs_rs::r#async::EroFS;
use erofs_rs::types::{Inode, Layout};
use rustix::fs::FileType;

use crate::error::{lock_cache, Error, Result};
use crate::fs::inotable::join;
use crate::fs::left_out::{At, Dots, LeftOut};
use crate::fs::{DirEntry, FileKind, FileSystem, Ino, Metadata, Span, Timestamp, Xattr};
use crate::source::Source;
use image::{run, SourceImage};
use superblock::Features;

/// The largest directory listed (as the ISO reader's bound): it bounds the entries, and so
/// the memory, of one listing.
const MAX_DIR_SIZE: u64 = 64 << 20;
/// The largest compressed directory listed: each of its blocks costs the decoding of its
/// whole extent (up to 12 MiB), so 256 blocks of 12 MiB bound the work of one listing.
/// mkfs.erofs writes directories uncompressed.
const MAX_COMPRESSED_DIR: u64 = 1 << 20;
/// The longest symlink target read (`PATH_MAX`; the kernel refuses longer ones too).
const MAX_SYMLINK: u64 = 4096;
/// The most file data decoded in one go: more than the crate's largest decoded extent
/// (12 MiB), so a sequential read decodes each extent once.
const CHUNK_MAX: u64 = 16 << 20;
/// Bytes of one on-disk inode slot (nids count these from the metadata start).
const INODE_SLOT: u64 = 32;
/// The `feature_incompat` bit of images with 48-bit block addresses (read through the crate).
const INCOMPAT_48BIT: u32 = 0x80;

/// The file data last decoded: the file's inode and `len` bytes from `start` in `buf`.
struct Chunk {
    inode: Inode,
    start: u64,
    len: usize,
    buf: Vec<u8>,
}

/// An opened EROFS image.
pub struct ErofsFs {
    source: Arc<dyn Source>,
    fs: EroFS<SourceImage>,
    features: Features,
    root: Ino,
    /// Paths of the directories seen, by nid.
    dirs: Mutex<HashMap<Ino, Vec<u8>>>,
    /// The listings kept.
    listings: Mutex<listings::Kept>,
    chunk: Mutex<Option<Chunk>>,
    /// Whether file data is read in-house ([`data`]): not for images with 48-bit addresses.
    in_house: bool,
    /// The superblock fields the in-house mapping of compressed files reads.
    geometry: zmap::Geometry,
    /// Extents the in-house path decoded and keeps for the reads that follow.
    decoded: Mutex<Vec<data::Decoded>>,
    /// The bytes last read with the inodes of files that are not flat: nid, where they lie,
    /// the bytes (the map header and index usually among them).
    inode_bytes: Mutex<Vec<(Ino, u64, Vec<u8>)>>,
    /// The entries listings left out (bad names, loops).
    left_out: LeftOut,
}

fn kind(t: FileType) -> Option<FileKind> {
    Some(match t {
        FileType::RegularFile => FileKind::File,
        FileType::Directory => FileKind::Dir,
        FileType::Symlink => FileKind::Symlink,
        FileType::CharacterDevice => FileKind::CharDevice,
        FileType::BlockDevice => FileKind::BlockDevice,
        FileType::Fifo => FileKind::Fifo,
        FileType::Socket => FileKind::Socket,
        _ => return None,
    })
}

/// Whether the data of `inode` is compressed (each block read decodes its whole extent).
fn compressed(inode: &Inode) -> bool {
    matches!(
        inode.layout(),
        Some(Layout::CompressedFull | Layout::CompressedCompact)
    )
}

impl ErofsFs {
    /// Reads and checks the superblock and the root directory's inode.
    pub fn open(source: Arc<dyn Source>) -> Result<Self> {
        let name = source.name().to_string();
        let raw = source.read_vec(superblock::OFFSET, superblock::SIZE, "erofs superblock")?;
        let features = Features::decode(&raw).ok_or_else(|| {
            Error::corrupt(
                &name,
                "erofs superblock",
                superblock::OFFSET,
                "no EROFS magic",
            )
        })?;
        if features.extra_devices() != 0 {
            return Err(Error::unsupported(
                &name,
                format!(
                    "EROFS image spread over {} extra devices",
                    features.extra_devices()
                ),
            ));
        }
        if features.metabox() {
            return Err(Error::unsupported(
                &name,
                "EROFS metabox (inodes kept in a compressed inode: each inode read would \
                 decode it again)",
            ));
        }
        let fs = run(
            &name,
            "erofs superblock",
            superblock::OFFSET,
            EroFS::new(SourceImage::new(source.clone())),
        )?;
        let root = fs.super_block().root_inode_id();
        let geometry = zmap::Geometry {
            blkbits: fs.super_block().blk_size_bits,
            incompat: fs.super_block().feature_incompat,
        };
        let erofs = ErofsFs {
            source,
            fs,
            features,
            root,
            dirs: Mutex::new(HashMap::from([(root, b"/".to_vec())])),
            listings: Mutex::new(listings::Kept::default()),
            chunk: Mutex::new(None),
            in_house: geometry.incompat & INCOMPAT_48BIT == 0,
            geometry,
            decoded: Mutex::new(Vec::new()),
            inode_bytes: Mutex::new(Vec::new()),
            left_out: LeftOut::default(),
        };
        if !erofs.inode(root)?.is_dir() {
            return Err(Error::corrupt(
                &name,
                "erofs root inode",
                erofs.inode_offset(root),
                format!("nid {root} is not a directory"),
            ));
        }
        Ok(erofs)
    }

    fn image(&self) -> &str {
        self.source.name()
    }

    fn block_size(&self) -> u64 {
        1 << self.fs.super_block().blk_size_bits
    }

    /// Where the inode `nid` lies in the image, for error messages (saturating: a hostile nid
    /// may point past any image).
    fn inode_offset(&self, nid: Ino) -> u64 {
        u64::from(self.fs.super_block().meta_blk_addr)
            .saturating_mul(self.block_size())
            .saturating_add(nid.saturating_mul(INODE_SLOT))
    }

    fn inode(&self, nid: Ino) -> Result<Inode> {
        run(
            self.image(),
            "erofs inode",
            self.inode_offset(nid),
            self.fs.get_inode(nid),
        )
    }

    fn meta(&self, inode: &Inode) -> Result<Metadata> {
        let nid = inode.id();
        let kind = kind(inode.file_type()).ok_or_else(|| {
            Error::corrupt(
                self.image(),
                "erofs inode",
                self.inode_offset(nid),
                "no file type",
            )
        })?;
        let size = inode.data_size();
        let symlink = if kind == FileKind::Symlink {
            if size > MAX_SYMLINK {
                return Err(Error::corrupt(
                    self.image(),
                    "erofs symlink",
                    self.inode_offset(nid),
                    format!("target of {size} bytes (at most {MAX_SYMLINK})"),
                ));
            }
            let target = run(
                self.image(),
                "erofs symlink",
                self.inode_offset(nid),
                self.fs.read_link_inode(*inode),
            )?;
            Some(target.into_vec())
        } else {
            None
        };
        let (secs, nanos) = inode.modified_unix();
        let time = Timestamp { secs, nanos };
        let has_data = matches!(kind, FileKind::File | FileKind::Dir | FileKind::Symlink);
        let bs = self.block_size();
        Ok(Metadata {
            kind,
            mode: inode.permissions().mode() & 0o7777,
            uid: inode.uid(),
            gid: inode.gid(),
            size: if has_data { size } else { 0 },
            nlink: inode.nlink(),
            ino: nid,
            mtime: time,
            atime: time,
            ctime: time,
            rdev: inode.device(),
            symlink,
            allocated: if has_data {
                size.div_ceil(bs).saturating_mul(bs)
            } else {
                0
            },
        })
    }

    /// The path of directory `dir`, as its listing was reached.
    fn dir_path(&self, dir: Ino) -> Result<Vec<u8>> {
        lock_cache(&self.dirs)
            .get(&dir)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("{}: directory nid {dir}", self.image())))
    }

    /// Reads the listing of directory `dir` through the crate.
    fn list(&self, dir: Ino) -> Result<Vec<DirEntry>> {
        let path = self.dir_path(dir)?;
        let image = self.image();
        let at = self.inode_offset(dir);
        let inode = self.inode(dir)?;
        if !inode.is_dir() {
            return Err(Error::NotADirectory(String::from_utf8_lossy(&path).into()));
        }
        if inode.data_size() > MAX_DIR_SIZE {
            return Err(Error::corrupt(
                image,
                "erofs directory",
                at,
                format!(
                    "size {} is over the {MAX_DIR_SIZE}-byte limit",
                    inode.data_size()
                ),
            ));
        }
        if compressed(&inode) && inode.data_size() > MAX_COMPRESSED_DIR {
            return Err(Error::unsupported(
                image,
                format!(
                    "compressed EROFS directory {} of {} bytes (at most {MAX_COMPRESSED_DIR})",
                    String::from_utf8_lossy(&path),
                    inode.data_size()
                ),
            ));
        }
        // Errors name the directory: the entry at fault is not known.
        let named = |e: Error| match e {
            Error::Corrupt {
                image,
                structure,
                offset,
                detail,
            } => Error::Corrupt {
                image,
                structure,
                offset,
                detail: format!("{}: {detail}", String::from_utf8_lossy(&path)),
            },
            other => other,
        };
        // The crate refuses a whole block for one bad name: such a directory is read again
        // in-house, where the bad entry alone is left out.
        let entries = match self.listed_by_crate(&path, at) {
            Ok(entries) => entries,
            Err(e) => match self.dirents(&inode).map_err(named)? {
                Some(raw) => raw
                    .into_iter()
                    .map(|r| (r.name, r.nid, None, ("erofs dirent", r.at)))
                    .collect(),
                None => return Err(named(e)),
            },
        };
        let mut dots = Dots::default();
        let mut out = Vec::new();
        for (name, nid, inode, (structure, offset)) in entries {
            let place = At {
                image,
                structure,
                offset,
            };
            if dots.own(&name) || !self.left_out.admit(&place, &name, dir, nid, self.root) {
                continue;
            }
            let inode = match inode {
                Some(inode) => inode,
                None => self.inode(nid)?,
            };
            let meta = self.meta(&inode)?;
            if meta.is_dir() {
                lock_cache(&self.dirs)
                    .entry(meta.ino)
                    .or_insert_with(|| join(&path, &name));
            }
            out.push(DirEntry {
                name,
                ino: meta.ino,
                meta,
            });
        }
        Ok(out)
    }

    /// The entries of the directory at `path` (its inode at `at`) as the crate lists them:
    /// name, nid, inode, and where the entry is said to be (the directory's inode).
    fn listed_by_crate(&self, path: &[u8], at: u64) -> Result<Vec<Listed>> {
        let image = self.image();
        let mut walk = run(image, "erofs directory", at, self.fs.read_dir(path))?;
        let mut out = Vec::new();
        loop {
            let next = executor::block_on(walk.next_entry()).ok_or_else(|| {
                Error::corrupt(image, "erofs directory", at, "the reader never completed")
            })?;
            let Some(entry) = next else { break };
            let entry = entry.map_err(|e| image::map_err(image, "erofs directory", at, e))?;
            let name = entry.dir_entry.file_name().to_vec();
            let nid = entry.inode.id();
            out.push((name, nid, Some(entry.inode), ("erofs directory", at)));
        }
        Ok(out)
    }
}

/// One entry of a listing being read: name, nid, inode (when read already), and the
/// structure and offset it is recorded at.
type Listed = (Vec<u8>, Ino, Option<Inode>, (&'static str, u64));

impl FileSystem for ErofsFs {
    fn type_name(&self) -> &'static str {
        "erofs"
    }
    fn left_out(&self) -> Option<String> {
        self.left_out.said()
    }
    fn source(&self) -> &Arc<dyn Source> {
        &self.source
    }
    fn label(&self) -> Option<String> {
        superblock::volume_name(&self.fs.super_block().volume_name)
    }
    fn root(&self) -> Ino {
        self.root
    }
    fn metadata(&self, ino: Ino) -> Result<Metadata> {
        self.meta(&self.inode(ino)?)
    }
    fn read_dir(&self, dir: Ino) -> Result<Vec<DirEntry>> {
        Ok(self.listing(dir)?.as_ref().clone())
    }
    fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Option<DirEntry>> {
        Ok(self.listing(dir)?.iter().find(|e| e.name == name).cloned())
    }
    fn spans(&self, ino: Ino) -> Result<Option<Vec<Span>>> {
        Ok(self.flat_spans(ino))
    }
    fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if let Some(n) = self.read_in_house(ino, offset, buf) {
            return Ok(n);
        }
        let image = self.image();
        let mut kept = lock_cache(&self.chunk);
        let chunk = match kept.take() {
            Some(c) if c.inode.id() == ino => c,
            old => Chunk {
                inode: self.inode(ino)?,
                start: 0,
                len: 0,
                buf: old.map(|c| c.buf).unwrap_or_default(),
            },
        };
        let chunk = kept.insert(chunk);
        if !chunk.inode.is_file() {
            return Err(Error::IsADirectory(format!("{image}: nid {ino}")));
        }
        let size = chunk.inode.data_size();
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            if at >= size {
                break;
            }
            let end = chunk.start + chunk.len as u64;
            if at < chunk.start || at >= end {
                // The buffer is about to be overwritten: until the read succeeds it holds
                // nothing, so a failed (or panicking) read leaves no stale range behind.
                chunk.len = 0;
                let want = (size - at).min(CHUNK_MAX) as usize;
                if chunk.buf.len() < want {
                    chunk.buf.resize(want, 0);
                }
                let file = self
                    .fs
                    .open_inode_file(chunk.inode)
                    .map_err(|e| image::map_err(image, "erofs file", self.inode_offset(ino), e))?;
                let n = run(
                    image,
                    "erofs file data",
                    self.inode_offset(ino),
                    file.read_at(&mut chunk.buf[..want], at),
                )?;
                if n == 0 {
                    return Err(Error::corrupt(
                        image,
                        "erofs file data",
                        self.inode_offset(ino),
                        format!("nid {ino}: no data at {at} of {size} bytes"),
                    ));
                }
                chunk.start = at;
                chunk.len = n;
            }
            let from = (at - chunk.start) as usize;
            let n = (chunk.len - from).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&chunk.buf[from..from + n]);
            done += n;
        }
        Ok(done)
    }
    fn xattrs(&self, ino: Ino) -> Result<Vec<Xattr>> {
        let inode = self.inode(ino)?;
        let attrs = run(
            self.image(),
            "erofs xattrs",
            self.inode_offset(ino),
            self.fs.xattrs_inode(inode),
        )?;
        Ok(attrs
            .into_iter()
            .map(|(name, value)| Xattr { name, value })
            .collect())
    }
    fn detail(&self) -> Option<String> {
        let algs = self.features.compressions();
        (!algs.is_empty()).then(|| algs.join(", "))
    }
    fn info(&self) -> Vec<(String, String)> {
        let sb = self.fs.super_block();
        let algs = self.features.compressions();
        let mut lines = vec![
            ("Filesystem".to_string(), "erofs".to_string()),
            (
                "Volume name".into(),
                superblock::volume_name(&sb.volume_name).unwrap_or_default(),
            ),
            ("UUID".into(), superblock::uuid(&sb.uuid)),
            ("Block size".into(), self.block_size().to_string()),
            ("Blocks".into(), sb.block_count().to_string()),
            ("Inodes".into(), sb.inos.to_string()),
            ("Root nid".into(), self.root.to_string()),
        ];
        if let Some((secs, nanos)) = sb.created_unix() {
            lines.push(("Created".into(), format!("{secs}.{nanos:09}")));
        }
        lines.push((
            "Compression".into(),
            if algs.is_empty() {
                "none".into()
            } else {
                algs.join(", ")
            },
        ));
        lines.push(("Features".into(), self.features.names().join(" ")));
        lines
    }
}
