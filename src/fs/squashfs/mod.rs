//! Squashfs 4.0, read in-house with the least work done when an image is opened: the
//! superblock; the inode table, decoded and scanned for where each inode starts, each inode
//! parsed only when asked for (`inode`); the id and fragment tables (`id`, `fragment`, both
//! `lookup` tables). The directory table is read on the first listing and decoded block by
//! block as listings need them (a lookup decodes the few blocks its directories lie in), each
//! listing parsed when asked for (`directory`). Every table is a run of metadata blocks
//! (`metadata`). File data is read block by block, with bounded decoders and a small block
//! cache (`data`); extended attributes come from the xattr table, read when asked for
//! (`xattr`). Compressors: gzip, lzma, xz, lz4, zstd (not lzo). An entry whose name is not a
//! file name, or that lists its own directory or the root (a loop), is left out with a
//! warning ([`crate::fs::left_out`]).

pub(crate) mod compression;
mod data;
mod directory;
mod fragment;
mod id;
mod inode;
mod lookup;
mod metadata;
mod superblock;
pub mod write;
mod xattr;

use std::borrow::Cow;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{lock_cache, Error, Result};
use crate::fs::left_out::{At, LeftOut};
use crate::fs::{DirEntry, FileKind, FileSystem, Ino, Metadata, Timestamp, Xattr};
use crate::source::Source;
use compression::Compressor;
use data::{BlockCache, BlockKey, BlockSizes, BlockStarts, DataReader, FileData, STRIDE};
use fragment::Fragment;
use inode::{Body, Inode, InodeTable, NO_FRAGMENT, NO_XATTR};
use metadata::{Blocks, BLOCK};
use superblock::{Superblock, NOT_SET};
use xattr::XattrTable;

/// An opened squashfs image.
pub struct SquashFs {
    source: Arc<dyn Source>,
    superblock: Superblock,
    compressor: Compressor,
    inodes: InodeTable,
    /// The root's number, and where it starts in the inode table (found by the superblock's
    /// reference).
    root: (u32, usize),
    /// The directory table, read on the first listing, each block decoded when a listing
    /// needs it.
    dirs: OnceLock<Blocks>,
    fragments: Vec<Fragment>,
    ids: Vec<u32>,
    cache: Mutex<BlockCache<BlockKey>>,
    /// Where the blocks of the files of many blocks last read start.
    starts: Mutex<BlockCache<Ino, BlockStarts>>,
    /// None when the image records no extended attributes.
    xattrs: Option<XattrTable>,
    /// The entries listings left out (bad names, loops).
    left_out: LeftOut,
}

fn corrupt(source: &dyn Source, structure: &'static str, offset: u64, e: impl ToString) -> Error {
    Error::corrupt(source.name(), structure, offset, e.to_string())
}

impl SquashFs {
    /// Reads the superblock and the inode, id and fragment tables of the squashfs image in
    /// `source`.
    pub fn open(source: Arc<dyn Source>) -> Result<Self> {
        let sb = Superblock::read(&*source)?;
        let compressor = match Compressor::from_id(sb.compressor) {
            Some(Compressor::Lzo) => {
                return Err(Error::unsupported(
                    source.name(),
                    "compression: lzo-compressed squashfs is not supported",
                ))
            }
            Some(c) => c,
            None => {
                let id = sb.compressor;
                let detail = format!("unknown compressor id {id}");
                return Err(corrupt(&*source, "squashfs superblock", 20, detail));
            }
        };
        let inodes = InodeTable::read(&*source, compressor, &sb)?;
        let root_at = inodes.position(sb.root_inode).ok_or_else(|| {
            let detail = format!(
                "the root inode reference {:#x} names no inode table block",
                sb.root_inode
            );
            corrupt(&*source, "squashfs superblock", 32, detail)
        })?;
        let root = (inodes.inode_at(root_at)?.number, root_at);
        let fragments = fragment::read(&*source, compressor, &sb)?;
        let ids = id::read(&*source, compressor, &sb)?;
        let xattrs = (sb.xattr_table != NOT_SET)
            .then(|| XattrTable::new(source.clone(), compressor, sb.xattr_table));
        Ok(SquashFs {
            xattrs,
            left_out: LeftOut::default(),
            superblock: sb,
            compressor,
            inodes,
            root,
            dirs: OnceLock::new(),
            fragments,
            ids,
            cache: Mutex::new(BlockCache::default()),
            starts: Mutex::new(BlockCache::default()),
            source,
        })
    }

    fn inode(&self, ino: Ino) -> Result<Inode<'_>> {
        if ino == u64::from(self.root.0) {
            return self.inodes.inode_at(self.root.1);
        }
        match u32::try_from(ino) {
            Ok(number) => self.inodes.get(number),
            Err(_) => Err(corrupt(
                &*self.source,
                "squashfs directory entry",
                0,
                format!("names inode {ino}, which the inode table does not hold"),
            )),
        }
    }

    fn id(&self, index: u16) -> Result<u32> {
        self.ids.get(usize::from(index)).copied().ok_or_else(|| {
            corrupt(
                &*self.source,
                "squashfs inode",
                0,
                format!("id index {index} is past the id table"),
            )
        })
    }

    fn meta(&self, inode: &Inode) -> Result<Metadata> {
        let (kind, size, rdev, symlink) = match &inode.body {
            // Directories record their listing's size plus 3; show the listing's size.
            Body::Dir { size, .. } => (
                FileKind::Dir,
                u64::from(*size).saturating_sub(3),
                None,
                None,
            ),
            Body::File(f) => (FileKind::File, f.size, None, None),
            Body::Symlink(target) => (
                FileKind::Symlink,
                target.len() as u64,
                None,
                Some(target.to_vec()),
            ),
            Body::Device { block, rdev } => {
                let kind = if *block {
                    FileKind::BlockDevice
                } else {
                    FileKind::CharDevice
                };
                (kind, 0, Some(*rdev), None)
            }
            Body::Fifo => (FileKind::Fifo, 0, None, None),
            Body::Socket => (FileKind::Socket, 0, None, None),
        };
        let mtime = Timestamp {
            secs: i64::from(inode.mtime),
            nanos: 0,
        };
        let block_size = u64::from(self.superblock.block_size);
        Ok(Metadata {
            kind,
            mode: u32::from(inode.mode) & 0o7777,
            uid: self.id(inode.uid)?,
            gid: self.id(inode.gid)?,
            size,
            nlink: inode.nlink,
            ino: u64::from(inode.number),
            mtime,
            atime: mtime,
            ctime: mtime,
            // The kernel's new_encode_dev layout.
            rdev: rdev.map(|d| ((d & 0xfff00) >> 8, (d & 0xff) | ((d >> 12) & 0xfff00))),
            symlink,
            allocated: size.div_ceil(block_size) * block_size,
        })
    }

    /// The directory table, read on first use.
    fn dirs(&self) -> Result<&Blocks> {
        if let Some(table) = self.dirs.get() {
            return Ok(table);
        }
        let sb = &self.superblock;
        let span = (sb.dir_table, directory::table_end(&*self.source, sb));
        let structure = "squashfs directory table";
        let table = Blocks::read(&*self.source, self.compressor, span, structure)?;
        Ok(self.dirs.get_or_init(|| table))
    }

    /// A directory's listing, and where it starts in the decompressed directory table (as its
    /// blocks of 8 KiB lie end to end).
    fn listing(&self, inode: &Inode) -> Result<(usize, Cow<'_, [u8]>)> {
        let Body::Dir {
            block,
            offset,
            size,
        } = inode.body
        else {
            return Err(Error::NotADirectory(format!(
                "{}: inode {}",
                self.source.name(),
                inode.number
            )));
        };
        if size < 4 {
            return Ok((0, Cow::Borrowed(&[])));
        }
        let bad = |detail: &str| {
            corrupt(
                &*self.source,
                "squashfs directory inode",
                u64::from(block),
                detail,
            )
        };
        let runs_past = || bad("listing runs past the directory table");
        let dirs = self.dirs()?;
        let first = dirs
            .index(u64::from(block))
            .ok_or_else(|| bad("points to no directory table block"))?;
        let (start, len) = (usize::from(offset), size as usize - 3);
        let head = dirs.get(first).ok_or_else(runs_past)??;
        let head = head.get(start..).ok_or_else(runs_past)?;
        let listing = match head.get(..len) {
            Some(listing) => Cow::Borrowed(listing),
            // The listing goes on in the blocks that follow.
            None => {
                let mut listing = head.to_vec();
                for i in first + 1.. {
                    let block = dirs.get(i).ok_or_else(runs_past)??;
                    let take = (len - listing.len()).min(block.len());
                    listing.extend_from_slice(&block[..take]);
                    if listing.len() == len {
                        break;
                    }
                }
                Cow::Owned(listing)
            }
        };
        Ok((first * BLOCK + start, listing))
    }

    fn file_data<'a>(&self, inode: &Inode<'a>) -> Result<FileData<'a>> {
        let Body::File(f) = &inode.body else {
            return Err(Error::IsADirectory(format!(
                "{}: not a regular file",
                self.source.name()
            )));
        };
        let fragment = if f.fragment == NO_FRAGMENT {
            None
        } else {
            let frag = f.fragment;
            let entry = self.fragments.get(frag as usize).ok_or_else(|| {
                corrupt(
                    &*self.source,
                    "squashfs file inode",
                    f.blocks_start,
                    format!("fragment {frag} is past the fragment table"),
                )
            })?;
            Some((*entry, f.tail))
        };
        Ok(FileData {
            size: f.size,
            blocks_start: f.blocks_start,
            block_sizes: f.blocks,
            fragment,
            sparse: f.sparse,
            starts: None,
        })
    }

    /// Where the blocks of file `ino` (its size words `sizes`) start, for a file of more than
    /// [`STRIDE`] blocks: kept for the last few such files read.
    fn starts(&self, ino: Ino, sizes: BlockSizes) -> Option<Arc<BlockStarts>> {
        if sizes.len() <= STRIDE {
            return None;
        }
        let mut kept = lock_cache(&self.starts);
        Some(kept.get(&ino).unwrap_or_else(|| {
            let starts = Arc::new(BlockStarts::new(sizes));
            kept.put(ino, starts.clone());
            starts
        }))
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
        u64::from(self.root.0)
    }
    fn metadata(&self, ino: Ino) -> Result<Metadata> {
        self.meta(&self.inode(ino)?)
    }
    fn read_dir(&self, dir: Ino) -> Result<Vec<DirEntry>> {
        let (start, listing) = self.listing(&self.inode(dir)?)?;
        let raw = directory::parse(&listing).map_err(|(at, detail)| {
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
                meta: self.meta(&self.inode(target)?)?,
            });
        }
        Ok(out)
    }
    fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let mut data = self.file_data(&self.inode(ino)?)?;
        data.starts = self.starts(ino, data.block_sizes);
        DataReader {
            source: &self.source,
            compressor: self.compressor,
            block_size: self.superblock.block_size,
            cache: &self.cache,
        }
        .read_at(&data, offset, buf)
    }
    fn holes(&self, ino: Ino) -> Result<Vec<(u64, u64)>> {
        let inode = self.inode(ino)?;
        if !matches!(inode.body, Body::File(_)) {
            return Ok(Vec::new());
        }
        let data = self.file_data(&inode)?;
        let bs = u64::from(self.superblock.block_size);
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
        let index = self.inode(ino)?.xattr;
        match &self.xattrs {
            _ if index == NO_XATTR => Ok(Vec::new()),
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
        let sb = &self.superblock;
        vec![
            ("Filesystem".into(), "squashfs 4.0".into()),
            (
                "Compression".into(),
                compression::name(self.compressor).into(),
            ),
            ("Block size".into(), sb.block_size.to_string()),
            ("Inodes".into(), sb.inode_count.to_string()),
            ("Bytes used".into(), sb.bytes_used.to_string()),
            ("Created".into(), sb.mod_time.to_string()),
        ]
    }
}
