//! ext2, ext3 and ext4, read in-house: the superblock and group descriptors, inodes, extent
//! trees and ext2/3 block maps (holes and uninitialised extents read as zeros), linear and
//! htree directories (large_dir too), inline data (files, symlinks and directories), fast and
//! slow symlinks, device nodes, extended attributes and ACLs. A filesystem that needs recovery
//! is read with its journal replayed in memory, as the kernel would mount it (the image is
//! never written).
//! Every on-disk field is checked before it is used; encrypted file contents and compression
//! are refused by name. xattr values kept in inodes of their own (ea_inode) are read. bigalloc is read: its
//! clusters size only the allocation bitmaps, which the reader does not use; extents and block
//! numbers stay in blocks. An entry whose
//! name is not a file name (a `.` or `..` besides the directory's own), or that lists its own
//! directory or the root (a loop), is left out with a warning ([`crate::fs::left_out`]).

mod acl;
mod blockmap;
mod data;
mod dir;
mod extent;
mod group;
mod inline;
mod inode;
mod journal;
mod superblock;
mod xattr;

use std::sync::{Arc, Mutex};

use crate::error::{lock_cache, Error, Result};
use crate::fs::left_out::{At, Dots, LeftOut};
use crate::fs::{probe, DirEntry, FileKind, FileSystem, Ino, Metadata, Span, Xattr};
use crate::source::Source;
use data::{Content, Disk, FileData};
use group::Groups;
use inode::{Inode, FLAG_EA_INODE, FLAG_ENCRYPT, FLAG_EXTENTS, FLAG_INLINE_DATA, I_BLOCK_LEN};
use superblock::{Superblock, INCOMPAT_EA_INODE, INCOMPAT_FILETYPE, RO_COMPAT_HUGE_FILE};

/// The root directory's inode.
const ROOT: u32 = 2;
/// The longest symlink target the kernel accepts (PATH_MAX).
const MAX_SYMLINK: u64 = 4096;
/// How many files' block maps are kept for the reads that follow.
const CACHED_MAPS: usize = 16;

/// An opened ext2/3/4 filesystem.
pub struct ExtFs {
    /// The image the filesystem was opened on.
    source: Arc<dyn Source>,
    /// Its blocks as the filesystem reads them: the image, or the image with the journal
    /// replayed over it.
    blocks: Arc<dyn Source>,
    kind: &'static str,
    sb: Superblock,
    groups: Groups,
    /// What replaying the journal did, when the filesystem needed recovery.
    journal: Journal,
    /// The mappings of the regular files read last, most recent first.
    maps: Mutex<Vec<(u32, Arc<FileData>)>>,
    /// The entries listings left out (bad names, loops).
    left_out: LeftOut,
}

/// The journal's state as `info` tells it.
enum Journal {
    /// Nothing to replay.
    Clean,
    /// Needs recovery, from a journal on another device: read as the image's blocks say.
    External,
    /// Needs recovery, but the log is empty.
    Empty,
    Replayed(journal::Summary),
}

impl ExtFs {
    /// Reads the superblock and group descriptors of the filesystem in `source`, replaying
    /// its journal in memory when it needs recovery.
    pub fn open(source: Arc<dyn Source>) -> Result<Self> {
        let mut fs = Self::open_blocks(source.clone(), source.clone())?;
        if fs.sb.needs_recovery() {
            let number = fs.sb.journal_inum;
            if number == 0 || !fs.sb.has_journal() {
                fs.journal = Journal::External;
            } else {
                let inode = fs.inode(u64::from(number))?;
                let data = fs.file_data(&inode)?;
                match journal::replay(&fs.disk(), &data)? {
                    None => fs.journal = Journal::Empty,
                    Some(replay) => {
                        let blocks: Arc<dyn Source> = Arc::new(journal::Replayed::new(
                            source.clone(),
                            fs.sb.block_size,
                            replay.copies,
                        ));
                        fs = Self::open_blocks(source, blocks)?;
                        fs.journal = Journal::Replayed(replay.summary);
                    }
                }
            }
        }
        let root = fs.inode(u64::from(ROOT))?;
        if root.kind != Some(FileKind::Dir) {
            return Err(fs.disk().corrupt(
                "ext inode",
                root.offset,
                format!("the root inode has mode {:o}, not a directory", root.mode),
            ));
        }
        Ok(fs)
    }

    /// Reads the superblock and group descriptors from `blocks`, the blocks of `source`.
    fn open_blocks(source: Arc<dyn Source>, blocks: Arc<dyn Source>) -> Result<Self> {
        let sb = Superblock::read(blocks.as_ref())?;
        // After the superblock is known to be whole: the probe reads its feature words.
        let kind = probe::filesystem_type(blocks.as_ref())?
            .filter(|t| t.starts_with("ext"))
            .unwrap_or("ext4");
        let bytes = sb.blocks_count.checked_mul(sb.block_size);
        if bytes.is_none_or(|b| b > source.len()) {
            return Err(Error::corrupt(
                source.name(),
                "ext superblock",
                superblock::OFFSET + 4,
                format!(
                    "the filesystem has {} blocks of {} bytes but the image holds {} bytes \
                     (truncated?)",
                    sb.blocks_count,
                    sb.block_size,
                    source.len()
                ),
            ));
        }
        let groups = Groups::read(blocks.as_ref(), &sb)?;
        Ok(ExtFs {
            source,
            blocks,
            kind,
            sb,
            groups,
            journal: Journal::Clean,
            maps: Mutex::new(Vec::new()),
            left_out: LeftOut::default(),
        })
    }

    fn disk(&self) -> Disk<'_> {
        Disk {
            source: self.blocks.as_ref(),
            block_size: self.sb.block_size,
            blocks_count: self.sb.blocks_count,
        }
    }

    /// Reads inode `ino`.
    fn inode(&self, ino: Ino) -> Result<Inode> {
        let sb = &self.sb;
        let number = u32::try_from(ino)
            .ok()
            .filter(|&n| n >= 1 && n <= sb.inodes_count)
            .ok_or_else(|| {
                self.disk().corrupt(
                    "ext inode",
                    0,
                    format!("inode {ino} is past the inode count {}", sb.inodes_count),
                )
            })?;
        let index = u64::from(number - 1);
        let group = index / u64::from(sb.inodes_per_group);
        let table = self.groups.inode_table(group).unwrap_or(u64::MAX);
        let size = u64::from(sb.inode_size);
        let within = (index % u64::from(sb.inodes_per_group)) * size;
        let offset = table
            .checked_mul(sb.block_size)
            .and_then(|o| o.checked_add(within))
            .filter(|_| table < sb.blocks_count)
            .ok_or_else(|| {
                self.disk().corrupt(
                    "ext group descriptors",
                    0,
                    format!("group {group}: inode table at block {table}, past the filesystem"),
                )
            })?;
        let raw = self.blocks.read_vec(offset, size as usize, "ext inode")?;
        let huge = sb.has_ro_compat(RO_COMPAT_HUGE_FILE);
        Inode::parse(number, offset, raw, huge, sb.block_size).map_err(|e| {
            self.disk()
                .corrupt("ext inode", offset, format!("inode {number}: {e}"))
        })
    }

    /// Builds the mapping of `inode`'s data (its block runs, or its inline bytes).
    fn file_data(&self, inode: &Inode) -> Result<FileData> {
        let disk = self.disk();
        let size = inode.size;
        if inode.has(FLAG_INLINE_DATA) {
            return Ok(FileData {
                size,
                content: Content::Inline(inline::data(&disk, inode)?),
            });
        }
        let bs = self.sb.block_size;
        let per = bs / 4;
        let max_blocks = if inode.has(FLAG_EXTENTS) {
            1 << 32
        } else {
            12 + per + per * per + per * per * per
        };
        if size.div_ceil(bs) > max_blocks {
            return Err(disk.corrupt(
                "ext inode",
                inode.offset,
                format!(
                    "inode {}: size {size} is past the largest file the format maps",
                    inode.number
                ),
            ));
        }
        let runs = if inode.has(FLAG_EXTENTS) {
            extent::map(&disk, inode.number, inode.i_block())?
        } else {
            blockmap::map(&disk, inode.number, inode.i_block(), size.div_ceil(bs))?
        };
        Ok(FileData {
            size,
            content: Content::Blocks(runs),
        })
    }

    /// The mapping of the regular file `ino`, from the cache or built and cached; `None`
    /// when `ino` is not a regular file.
    fn cached_data(&self, ino: Ino) -> Result<Option<Arc<FileData>>> {
        let lock = || lock_cache(&self.maps);
        {
            let mut maps = lock();
            if let Some(i) = maps.iter().position(|(n, _)| u64::from(*n) == ino) {
                let hit = maps.remove(i);
                let data = hit.1.clone();
                maps.insert(0, hit);
                return Ok(Some(data));
            }
        }
        let inode = self.inode(ino)?;
        if inode.kind != Some(FileKind::File) {
            return Ok(None);
        }
        if inode.has(FLAG_ENCRYPT) {
            return Err(Error::unsupported(
                self.source.name(),
                format!("ext feature encrypt: the data of inode {ino} is encrypted"),
            ));
        }
        let data = Arc::new(self.file_data(&inode)?);
        let mut maps = lock();
        maps.insert(0, (inode.number, data.clone()));
        maps.truncate(CACHED_MAPS);
        Ok(Some(data))
    }

    /// The target of the symlink `inode`: in `i_block`, inline, or in a data block.
    fn symlink_target(&self, inode: &Inode) -> Result<Vec<u8>> {
        let disk = self.disk();
        if inode.size > MAX_SYMLINK.min(self.sb.block_size) {
            return Err(disk.corrupt(
                "ext inode",
                inode.offset,
                format!("inode {}: symlink of {} bytes", inode.number, inode.size),
            ));
        }
        let cluster = self.sb.block_size * u64::from(self.sb.cluster_ratio);
        if inode.is_fast_symlink(cluster, self.sb.has_incompat(INCOMPAT_EA_INODE)) {
            // The kernel refuses the same (`invalid fast symlink length`).
            if inode.size >= I_BLOCK_LEN as u64 {
                return Err(disk.corrupt(
                    "ext inode",
                    inode.offset,
                    format!(
                        "inode {}: fast symlink of {} bytes, more than i_block holds",
                        inode.number, inode.size
                    ),
                ));
            }
            return Ok(inode.i_block()[..inode.size as usize].to_vec());
        }
        let data = self.file_data(inode)?;
        let mut target = vec![0; inode.size as usize];
        let n = data.read_at(&disk, 0, &mut target)?;
        target.truncate(n);
        Ok(target)
    }

    /// The xattr value of `size` bytes inode `owner` keeps in inode `value_ino` (ea_inode),
    /// which must be an xattr inode (`EXT4_EA_INODE_FL`) of that size, as the kernel checks.
    fn ea_inode_value(&self, owner: Ino, value_ino: u32, size: usize) -> Result<Vec<u8>> {
        let inode = self.inode(u64::from(value_ino))?;
        if !inode.has(FLAG_EA_INODE)
            || inode.kind != Some(FileKind::File)
            || inode.size != size as u64
        {
            return Err(self.disk().corrupt(
                "ext inode",
                inode.offset,
                format!(
                    "inode {owner} keeps an xattr value of {size} bytes in inode {value_ino}, \
                     which is no xattr inode of that size"
                ),
            ));
        }
        let data = self.file_data(&inode)?;
        let mut value = vec![0; size];
        let n = data.read_at(&self.disk(), 0, &mut value)?;
        value.truncate(n);
        Ok(value)
    }

    fn meta(&self, inode: &Inode) -> Result<Metadata> {
        let kind = inode.kind.ok_or_else(|| {
            self.disk().corrupt(
                "ext inode",
                inode.offset,
                format!(
                    "inode {}: mode {:o} names no file type",
                    inode.number, inode.mode
                ),
            )
        })?;
        let symlink = match kind {
            FileKind::Symlink => Some(self.symlink_target(inode)?),
            _ => None,
        };
        let rdev =
            matches!(kind, FileKind::CharDevice | FileKind::BlockDevice).then(|| inode.rdev());
        Ok(Metadata {
            kind,
            mode: u32::from(inode.mode) & 0o7777,
            uid: inode.uid,
            gid: inode.gid,
            size: inode.size,
            nlink: u32::from(inode.nlink),
            ino: u64::from(inode.number),
            mtime: inode.mtime(),
            atime: inode.atime(),
            ctime: inode.ctime(),
            rdev,
            symlink,
            allocated: inode.sectors.saturating_mul(512),
        })
    }

    /// Calls `f(name, inode, offset)` for each entry of directory `dir` (`.` and `..`
    /// included; `offset` is where the entry lies in the image) until it returns false.
    fn each_entry(
        &self,
        dir: &Inode,
        mut f: impl FnMut(&[u8], u32, u64) -> Result<bool>,
    ) -> Result<()> {
        let disk = self.disk();
        let filetype = self.sb.has_incompat(INCOMPAT_FILETYPE);
        let mut failure = None;
        let mut more = true;
        // Runs `f` over one area of entries; `offset` is where it lies in the image.
        let mut area = |bytes: &[u8], offset: u64, more: &mut bool| -> Result<()> {
            let mut entry = |raw: dir::Raw| f(raw.name, raw.inode, offset + raw.at as u64);
            dir::each(bytes, filetype, |raw| match entry(raw) {
                Ok(go) => {
                    *more = go;
                    go
                }
                Err(e) => {
                    failure = Some(e);
                    *more = false;
                    false
                }
            })
            .map_err(|(at, detail)| {
                disk.corrupt(
                    "ext directory entry",
                    offset + at as u64,
                    format!("directory inode {}: {detail}", dir.number),
                )
            })
        };
        if dir.has(FLAG_INLINE_DATA) {
            for (bytes, offset) in inline::dir_areas(&disk, dir)? {
                if more {
                    area(&bytes, offset, &mut more)?;
                }
            }
        } else {
            let data = self.file_data(dir)?;
            let Content::Blocks(runs) = &data.content else {
                return Ok(());
            };
            let bs = self.sb.block_size;
            let blocks = dir.size.div_ceil(bs);
            let mut block = vec![0; bs as usize];
            'runs: for run in runs.iter().filter(|r| r.init) {
                for i in 0..run.len {
                    if run.logical + i >= blocks || !more {
                        break 'runs;
                    }
                    let at = (run.physical + i) * bs;
                    self.blocks
                        .read_exact_at(at, &mut block, "ext directory block")?;
                    area(&block, at, &mut more)?;
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The entries of directory `dir` except `.` and `..`, stopping after the first one
    /// named `only` when given.
    fn entries(&self, dir: Ino, only: Option<&[u8]>) -> Result<Vec<DirEntry>> {
        let inode = self.inode(dir)?;
        if inode.kind != Some(FileKind::Dir) {
            return Err(Error::NotADirectory(format!(
                "{}: inode {dir}",
                self.source.name()
            )));
        }
        if inode.has(FLAG_ENCRYPT) {
            return Err(Error::unsupported(
                self.source.name(),
                format!("ext feature encrypt: directory inode {dir} has encrypted names"),
            ));
        }
        let mut out = Vec::new();
        let mut dots = Dots::default();
        let image = self.source.name();
        let structure = "ext directory entry";
        self.each_entry(&inode, |name, child, at| {
            if dots.own(name) {
                return Ok(true);
            }
            if only.is_some_and(|o| o != name) {
                return Ok(true);
            }
            if child > self.sb.inodes_count {
                return Err(self.disk().corrupt(
                    structure,
                    at,
                    format!(
                        "directory inode {dir} names inode {child}, past the inode count {}",
                        self.sb.inodes_count
                    ),
                ));
            }
            let place = At {
                image,
                structure,
                offset: at,
            };
            let child = u64::from(child);
            if !self
                .left_out
                .admit(&place, name, dir, child, u64::from(ROOT))
            {
                return Ok(true);
            }
            let meta = self.meta(&self.inode(child)?)?;
            out.push(DirEntry {
                name: name.to_vec(),
                ino: child,
                meta,
            });
            Ok(only.is_none())
        })?;
        Ok(out)
    }
}

impl FileSystem for ExtFs {
    fn type_name(&self) -> &'static str {
        self.kind
    }
    fn left_out(&self) -> Option<String> {
        self.left_out.said()
    }
    fn source(&self) -> &Arc<dyn Source> {
        &self.source
    }
    fn label(&self) -> Option<String> {
        (!self.sb.label.is_empty()).then(|| self.sb.label.clone())
    }
    fn root(&self) -> Ino {
        u64::from(ROOT)
    }
    fn metadata(&self, ino: Ino) -> Result<Metadata> {
        self.meta(&self.inode(ino)?)
    }
    fn read_dir(&self, dir: Ino) -> Result<Vec<DirEntry>> {
        self.entries(dir, None)
    }
    fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Option<DirEntry>> {
        Ok(self.entries(dir, Some(name))?.pop())
    }
    fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        match self.cached_data(ino)? {
            Some(data) => data.read_at(&self.disk(), offset, buf),
            None if self.inode(ino)?.kind == Some(FileKind::Dir) => Err(Error::IsADirectory(
                format!("{}: inode {ino}", self.source.name()),
            )),
            // Symlinks, devices, FIFOs and sockets have no data to read.
            None => Ok(0),
        }
    }
    fn spans(&self, ino: Ino) -> Result<Option<Vec<Span>>> {
        Ok(self
            .cached_data(ino)?
            .and_then(|data| data.spans(&self.blocks, self.sb.block_size)))
    }
    fn xattrs(&self, ino: Ino) -> Result<Vec<Xattr>> {
        let inode = self.inode(ino)?;
        let mut out = Vec::new();
        for mut x in xattr::read(&self.disk(), &inode)? {
            let Some(name) = x.full_name().filter(|_| !x.is_inline_data()) else {
                continue;
            };
            if let Some((value_ino, size)) = x.value_inode {
                x.value = self.ea_inode_value(ino, value_ino, size)?;
            }
            out.push(Xattr {
                name,
                value: x.user_value(),
            });
        }
        Ok(out)
    }
    fn info(&self) -> Vec<(String, String)> {
        let sb = &self.sb;
        let mut lines = vec![
            ("Filesystem".into(), self.kind.into()),
            ("Label".into(), sb.label.clone()),
            ("UUID".into(), sb.uuid_text()),
            ("Block size".into(), sb.block_size.to_string()),
            (
                "Cluster size".into(),
                (sb.block_size * u64::from(sb.cluster_ratio)).to_string(),
            ),
            ("Blocks".into(), sb.blocks_count.to_string()),
            ("Free blocks".into(), sb.free_blocks.to_string()),
            ("Inodes".into(), sb.inodes_count.to_string()),
            ("Free inodes".into(), sb.free_inodes.to_string()),
            ("Inode size".into(), sb.inode_size.to_string()),
            ("Block groups".into(), sb.groups().to_string()),
            ("Features".into(), sb.feature_names().join(" ")),
            ("Created".into(), sb.mkfs_time.to_string()),
            ("Last written".into(), sb.write_time.to_string()),
        ];
        if !sb.last_mounted.is_empty() {
            lines.push(("Last mounted on".into(), sb.last_mounted.clone()));
        }
        let journal = match &self.journal {
            Journal::Clean => None,
            Journal::External => {
                Some("needs recovery from an external journal (not replayed)".into())
            }
            Journal::Empty => Some("needs recovery, but the log is empty".into()),
            Journal::Replayed(s) => Some(format!(
                "replayed: {} transactions, {} blocks",
                s.transactions, s.blocks
            )),
        };
        if let Some(journal) = journal {
            lines.push(("Journal".into(), journal));
        }
        lines
    }
}
