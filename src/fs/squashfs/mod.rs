//! Squashfs 4.0 through backhand: backhand reads the superblock, the inode table, the directory
//! table, the id and fragment tables; this wrapper decodes directory listings on demand, reads
//! file data block by block (with its own bounded decoders and a small block cache), and maps
//! inodes to the [`FileSystem`] trait. Compressors: gzip, lzma, xz, lz4, zstd (not lzo).
//! Extended attributes come from the xattr table, read in-house (`xattr`) since backhand
//! does not. An entry whose name is not a file name, or that lists its own directory or the
//! root (a loop), is left out with a warning ([`crate::fs::left_out`]).

pub(crate) mod compression;
mod data;
mod directory;
mod superblock;
pub mod write;
mod xattr;

use std::io::BufReader;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use backhand::compression::Compressor;
use backhand::kind::Kind;
use backhand::v4::inode::InodeInner;
use backhand::{Fragment, Id, Inode, Squashfs};

use crate::error::{Error, Result};
use crate::fs::left_out::{At, LeftOut};
use crate::fs::{DirEntry, FileKind, FileSystem, Ino, Metadata, Timestamp, Xattr};
use crate::ondisk::Fields;
use crate::source::io::SourceReader;
use crate::source::Source;
use data::{BlockCache, BlockKey, DataReader, FileData};
use xattr::{XattrTable, NO_XATTRS};

/// A file's tail lives in no fragment.
const NO_FRAGMENT: u32 = 0xffff_ffff;

/// The maps backhand reads the tables into, kept as they are (rebuilding them costs more than
/// a tenth of opening an image): keyed by inode number or table offset, hashed as themselves.
type Map<K, V> = solana_nohash_hasher::IntMap<K, V>;

/// An opened squashfs image.
pub struct SquashFs {
    source: Arc<dyn Source>,
    compressor: Compressor,
    block_size: u32,
    bytes_used: u64,
    mod_time: u32,
    inode_count: u32,
    root: Inode,
    inodes: Map<u32, Inode>,
    /// The decompressed directory table and where each of its metadata blocks starts in it.
    dir_offsets: Map<u64, u64>,
    dir_table: Vec<u8>,
    fragments: Vec<Fragment>,
    ids: Vec<Id>,
    cache: Mutex<BlockCache<BlockKey>>,
    /// None when the image records no extended attributes.
    xattrs: Option<XattrTable>,
    /// The entries listings left out (bad names, loops).
    left_out: LeftOut,
}

fn corrupt(source: &dyn Source, structure: &'static str, offset: u64, e: impl ToString) -> Error {
    Error::corrupt(source.name(), structure, offset, e.to_string())
}

impl SquashFs {
    /// Reads the superblock and tables of the squashfs image in `source`.
    pub fn open(source: Arc<dyn Source>) -> Result<Self> {
        let sb = source.read_vec(0, 96, "squashfs superblock")?;
        let f = Fields::new(&sb, source.name(), "squashfs superblock", 0);
        if f.slice(0, 4)? != b"hsqs" {
            return Err(corrupt(&*source, "squashfs superblock", 0, "no hsqs magic"));
        }
        let (major, minor) = (f.le16(28)?, f.le16(30)?);
        if (major, minor) != (4, 0) {
            return Err(Error::unsupported(
                source.name(),
                format!("squashfs version {major}.{minor} (only 4.0 is read)"),
            ));
        }
        if f.le16(20)? == 3 {
            return Err(Error::unsupported(
                source.name(),
                "compression: lzo-compressed squashfs is not supported",
            ));
        }
        let reader = BufReader::new(SourceReader::new(source.clone(), 0));
        let parsed = catch_unwind(AssertUnwindSafe(|| {
            Squashfs::from_reader_with_offset_and_kind(
                reader,
                0,
                Kind::new_v4(&compression::DECODER),
            )
        }))
        .map_err(|_| {
            corrupt(
                &*source,
                "squashfs tables",
                0,
                "the tables are inconsistent",
            )
        })?
        .map_err(|e| corrupt(&*source, "squashfs tables", 0, e))?;
        let Squashfs {
            superblock,
            inodes,
            root_inode,
            dir_blocks,
            fragments,
            id,
            ..
        } = parsed;
        let xattrs = (superblock.xattr_table != backhand::v4::squashfs::NOT_SET).then(|| {
            XattrTable::new(
                source.clone(),
                superblock.compressor,
                superblock.xattr_table,
            )
        });
        Ok(SquashFs {
            xattrs,
            left_out: LeftOut::default(),
            compressor: superblock.compressor,
            block_size: superblock.block_size,
            bytes_used: superblock.bytes_used,
            mod_time: superblock.mod_time,
            inode_count: superblock.inode_count,
            root: root_inode,
            inodes,
            dir_offsets: dir_blocks.0,
            dir_table: dir_blocks.1,
            fragments: fragments.unwrap_or_default(),
            ids: id,
            cache: Mutex::new(BlockCache::default()),
            source,
        })
    }

    fn inode(&self, ino: Ino) -> Result<&Inode> {
        if ino == u64::from(self.root.header.inode_number) {
            return Ok(&self.root);
        }
        u32::try_from(ino)
            .ok()
            .and_then(|n| self.inodes.get(&n))
            .ok_or_else(|| {
                corrupt(
                    &*self.source,
                    "squashfs directory entry",
                    0,
                    format!("names inode {ino}, which the inode table does not hold"),
                )
            })
    }

    fn id(&self, index: u16) -> Result<u32> {
        self.ids
            .get(usize::from(index))
            .map(|i| i.num)
            .ok_or_else(|| {
                corrupt(
                    &*self.source,
                    "squashfs inode",
                    0,
                    format!("id index {index} is past the id table"),
                )
            })
    }

    fn meta(&self, inode: &Inode) -> Result<Metadata> {
        use InodeInner as I;
        let (kind, nlink, size, rdev, symlink) = match &inode.inner {
            I::BasicDirectory(d) => (
                FileKind::Dir,
                d.link_count,
                u64::from(d.file_size),
                None,
                None,
            ),
            I::ExtendedDirectory(d) => (
                FileKind::Dir,
                d.link_count,
                u64::from(d.file_size),
                None,
                None,
            ),
            I::BasicFile(f) => (FileKind::File, 1, u64::from(f.file_size), None, None),
            I::ExtendedFile(f) => (FileKind::File, f.link_count, f.file_size, None, None),
            I::BasicSymlink(s) => (
                FileKind::Symlink,
                s.link_count,
                s.target_path.len() as u64,
                None,
                Some(s.target_path.clone()),
            ),
            I::ExtendedSymlink(s) => (
                FileKind::Symlink,
                s.link_count,
                s.target_path.len() as u64,
                None,
                Some(s.target_path.clone()),
            ),
            I::BasicBlockDevice(d) => (
                FileKind::BlockDevice,
                d.link_count,
                0,
                Some(d.device_number),
                None,
            ),
            I::BasicCharacterDevice(d) => (
                FileKind::CharDevice,
                d.link_count,
                0,
                Some(d.device_number),
                None,
            ),
            I::ExtendedBlockDevice(d) => (
                FileKind::BlockDevice,
                d.link_count,
                0,
                Some(d.device_number),
                None,
            ),
            I::ExtendedCharacterDevice(d) => (
                FileKind::CharDevice,
                d.link_count,
                0,
                Some(d.device_number),
                None,
            ),
            I::BasicNamedPipe(n) => (FileKind::Fifo, n.link_count, 0, None, None),
            I::ExtendedNamedPipe(n) => (FileKind::Fifo, n.link_count, 0, None, None),
            I::BasicSocket(n) => (FileKind::Socket, n.link_count, 0, None, None),
            I::ExtendedSocket(n) => (FileKind::Socket, n.link_count, 0, None, None),
        };
        // Directories record their listing's size plus 3; show the listing's size.
        let size = if kind == FileKind::Dir {
            size.saturating_sub(3)
        } else {
            size
        };
        let h = &inode.header;
        let mtime = Timestamp {
            secs: i64::from(h.mtime),
            nanos: 0,
        };
        Ok(Metadata {
            kind,
            mode: u32::from(h.permissions) & 0o7777,
            uid: self.id(h.uid)?,
            gid: self.id(h.gid)?,
            size,
            nlink,
            ino: u64::from(h.inode_number),
            mtime,
            atime: mtime,
            ctime: mtime,
            // The kernel's new_encode_dev layout.
            rdev: rdev.map(|d| ((d & 0xfff00) >> 8, (d & 0xff) | ((d >> 12) & 0xfff00))),
            symlink,
            allocated: size.div_ceil(u64::from(self.block_size)) * u64::from(self.block_size),
        })
    }

    /// A directory's listing, and where it starts in the (decompressed) directory table.
    fn listing(&self, inode: &Inode) -> Result<(usize, &[u8])> {
        let (block, offset, size) = match &inode.inner {
            InodeInner::BasicDirectory(d) => {
                (d.block_index, d.block_offset, u32::from(d.file_size))
            }
            InodeInner::ExtendedDirectory(d) => (d.block_index, d.block_offset, d.file_size),
            _ => {
                return Err(Error::NotADirectory(format!(
                    "{}: inode {}",
                    self.source.name(),
                    inode.header.inode_number
                )))
            }
        };
        if size < 4 {
            return Ok((0, &[]));
        }
        let bad = |detail: &str| {
            corrupt(
                &*self.source,
                "squashfs directory inode",
                u64::from(block),
                detail,
            )
        };
        let start = self
            .dir_offsets
            .get(&u64::from(block))
            .ok_or_else(|| bad("points to no directory table block"))?;
        let start =
            usize::try_from(*start).map_err(|_| bad("offset too large"))? + usize::from(offset);
        let listing = self.dir_table.get(start..start + size as usize - 3);
        listing
            .map(|l| (start, l))
            .ok_or_else(|| bad("listing runs past the directory table"))
    }

    fn file_data<'a>(&self, inode: &'a Inode) -> Result<FileData<'a>> {
        let (size, start, sizes, frag, tail, sparse) = match &inode.inner {
            InodeInner::BasicFile(f) => (
                u64::from(f.file_size),
                u64::from(f.blocks_start),
                &f.block_sizes,
                f.frag_index,
                f.block_offset,
                0,
            ),
            InodeInner::ExtendedFile(f) => (
                f.file_size,
                f.blocks_start,
                &f.block_sizes,
                f.frag_index,
                f.block_offset,
                f.sparse,
            ),
            _ => {
                return Err(Error::IsADirectory(format!(
                    "{}: not a regular file",
                    self.source.name()
                )))
            }
        };
        let fragment = if frag == NO_FRAGMENT {
            None
        } else {
            let f = self.fragments.get(frag as usize).ok_or_else(|| {
                corrupt(
                    &*self.source,
                    "squashfs file inode",
                    start,
                    format!("fragment {frag} is past the fragment table"),
                )
            })?;
            Some((*f, tail))
        };
        Ok(FileData {
            size,
            blocks_start: start,
            block_sizes: sizes,
            fragment,
            sparse,
        })
    }
}

impl FileSystem for SquashFs {
    fn type_name(&self) -> &'static str {
        "squashfs"
    }
    fn left_out(&self) -> Option<String> {
        self.left_out.said()
    }
    fn source(&self) -> &Arc<dyn Source> {
        &self.source
    }
    fn label(&self) -> Option<String> {
        None
    }
    fn root(&self) -> Ino {
        u64::from(self.root.header.inode_number)
    }
    fn metadata(&self, ino: Ino) -> Result<Metadata> {
        self.meta(self.inode(ino)?)
    }
    fn read_dir(&self, dir: Ino) -> Result<Vec<DirEntry>> {
        let (start, listing) = self.listing(self.inode(dir)?)?;
        let raw = directory::parse(listing).map_err(|(at, detail)| {
            corrupt(
                &*self.source,
                "squashfs directory listing",
                at as u64,
                detail,
            )
        })?;
        let mut out = Vec::with_capacity(raw.len());
        for e in raw {
            let target = u64::from(e.inode_number);
            let at = At {
                image: self.source.name(),
                structure: "squashfs directory table (decompressed)",
                offset: (start + e.at) as u64,
            };
            if !self.left_out.admit(&at, &e.name, dir, target, self.root()) {
                continue;
            }
            out.push(DirEntry {
                name: e.name,
                ino: target,
                meta: self.meta(self.inode(target)?)?,
            });
        }
        Ok(out)
    }
    fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let data = self.file_data(self.inode(ino)?)?;
        DataReader {
            source: &self.source,
            compressor: self.compressor,
            block_size: self.block_size,
            cache: &self.cache,
        }
        .read_at(&data, offset, buf)
    }
    fn holes(&self, ino: Ino) -> Result<Vec<(u64, u64)>> {
        let inode = self.inode(ino)?;
        if !matches!(
            inode.inner,
            InodeInner::BasicFile(_) | InodeInner::ExtendedFile(_)
        ) {
            return Ok(Vec::new());
        }
        let data = self.file_data(inode)?;
        let bs = u64::from(self.block_size);
        let mut holes: Vec<(u64, u64)> = Vec::new();
        // A block recorded with size 0 is sparse: a whole block of zeros (the last, the rest
        // of the file).
        for (i, b) in data.block_sizes.iter().enumerate() {
            let at = i as u64 * bs;
            if b.size() != 0 || at >= data.size {
                continue;
            }
            let len = bs.min(data.size - at);
            match holes.last_mut() {
                Some((start, n)) if *start + *n == at => *n += len,
                _ => holes.push((at, len)),
            }
        }
        Ok(holes)
    }
    fn xattrs(&self, ino: Ino) -> Result<Vec<Xattr>> {
        use InodeInner as I;
        let inode = self.inode(ino)?;
        let index = match &inode.inner {
            I::ExtendedDirectory(d) => d.xattr_index,
            I::ExtendedFile(f) => f.xattr_index,
            I::ExtendedSymlink(s) => s.xattr_index,
            I::ExtendedBlockDevice(d) | I::ExtendedCharacterDevice(d) => d.xattr_index,
            I::ExtendedNamedPipe(n) | I::ExtendedSocket(n) => n.xattr_index,
            // Only extended inodes carry an xattr index.
            _ => NO_XATTRS,
        };
        match &self.xattrs {
            _ if index == NO_XATTRS => Ok(Vec::new()),
            Some(table) => table.get(index),
            // The superblock's xattr_id_table_start (at byte 56) says there is no table.
            None => Err(corrupt(
                &*self.source,
                "squashfs superblock",
                56,
                format!("inode {ino} names xattr id {index}, but the image has no xattr table"),
            )),
        }
    }
    fn detail(&self) -> Option<String> {
        Some(compression::name(self.compressor).to_string())
    }
    fn info(&self) -> Vec<(String, String)> {
        vec![
            ("Filesystem".into(), "squashfs 4.0".into()),
            (
                "Compression".into(),
                compression::name(self.compressor).into(),
            ),
            ("Block size".into(), self.block_size.to_string()),
            ("Inodes".into(), self.inode_count.to_string()),
            ("Bytes used".into(), self.bytes_used.to_string()),
            ("Created".into(), self.mod_time.to_string()),
        ]
    }
}
