//! UDF (ECMA-167 with the OSTA UDF profile, revisions 1.02 to 2.60): the [`UdfFs`] reader.
//! The anchor gives the volume descriptor sequence, that the partition maps and the file set
//! descriptor, that the root directory's ICB; directories are lists of file identifier
//! descriptors naming the ICBs of their files. Inode numbers are ICB addresses (partition
//! reference << 32 | block), so hard links share one. An entry whose name is not a file name,
//! or that names its own directory or the root (a loop), is left out with a warning
//! ([`crate::fs::left_out`]).

pub mod ad;
pub mod anchor;
pub mod cs0;
pub mod fid;
mod field;
pub mod file_entry;
pub mod file_set;
pub mod icb;
pub mod icb_tag;
pub mod implementation_use;
pub mod in_place;
pub mod integrity;
pub mod logical_volume;
pub mod partition;
pub mod partition_descriptor;
pub mod partition_map;
pub mod path;
pub mod primary;
pub mod space_bitmap;
pub mod tag;
pub mod terminating;
pub mod timestamp;
pub mod unallocated;
pub mod volume;
pub mod vrs;
pub mod write;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{lock_cache, Error, Result};
use crate::fs::left_out::{At, LeftOut};
use crate::fs::{Attribute, DirEntry, FileKind, FileSystem, Ino, Metadata, MountOptions, Span};
use crate::source::Source;
use partition::Extent;

use ad::LbAddr;
use file_entry::{Data, FileEntry};
use file_set::FileSet;
use partition::{Map, Volume};
use volume::Descriptors;

/// Directory data read at most (a directory of a million entries is about 60 MiB).
const MAX_DIRECTORY: u64 = 256 << 20;
/// Symlink data read at most.
const MAX_SYMLINK: u64 = 64 << 10;
/// Mount options the reader knows: `unhide` shows entries marked hidden.
const KNOWN_OPTIONS: [&str; 2] = ["unhide", "ro"];
/// Entries kept in the file entry cache before it is emptied.
const CACHE_LIMIT: usize = 1 << 16;
/// Directories kept decoded before that cache is emptied.
const DIR_CACHE_LIMIT: usize = 1 << 10;

/// A file as the reader keeps it: its entry, its metadata, and its data's place.
struct Node {
    fe: FileEntry,
    meta: Metadata,
    /// Where the data is, computed on first read.
    layout: Mutex<Option<Arc<Layout>>>,
}

/// A file's data: embedded in its entry, or in extents of the image.
enum Layout {
    /// Data embedded in the entry, and its offset in the image.
    Embedded(Vec<u8>, Option<u64>),
    /// The data's extents in the image and the file offset each starts at.
    Extents {
        extents: Vec<Extent>,
        starts: Vec<u64>,
    },
}

/// Where each extent of a directory's data starts: (offset in the data, first block).
type ExtentStarts = Vec<(u64, LbAddr)>;

/// An opened UDF volume.
pub struct UdfFs {
    vol: Volume,
    desc: Descriptors,
    block_size: u32,
    root: LbAddr,
    file_set_id: String,
    /// What went wrong on the way (a damaged main sequence, a metadata mirror used...).
    notes: Vec<String>,
    integrity: Option<integrity::Integrity>,
    bridge: bool,
    /// Show entries marked hidden (mount option `unhide`).
    unhide: bool,
    /// A listing read so far left out an entry marked hidden (a rewrite would lose it).
    saw_hidden: std::sync::atomic::AtomicBool,
    cache: Mutex<HashMap<Ino, Arc<Node>>>,
    /// Decoded directories.
    dirs: Mutex<HashMap<Ino, Arc<Names>>>,
    /// The entries listings left out (bad names, loops).
    left_out: LeftOut,
}

/// A directory's listed names and the inodes they name, in recorded order.
type Names = Vec<(Vec<u8>, Ino)>;

fn ino_of(loc: LbAddr) -> Ino {
    (u64::from(loc.part) << 32) | u64::from(loc.block)
}

fn loc_of(ino: Ino) -> LbAddr {
    LbAddr {
        block: ino as u32,
        part: (ino >> 32) as u16,
    }
}

/// The revision as it is written (0x0201 → "2.01").
fn revision(r: u16) -> String {
    format!("{:x}.{:02x}", r >> 8, r & 0xff)
}

impl UdfFs {
    /// Reads the anchor, the volume descriptors, the partition maps and the file set.
    pub fn open(source: Arc<dyn Source>, options: &MountOptions) -> Result<Self> {
        let src = source.as_ref();
        if let Some(o) = options
            .0
            .iter()
            .find(|o| !KNOWN_OPTIONS.contains(&o.as_str()))
        {
            return Err(Error::Usage(format!(
                "unknown udf mount option {o:?} (known: {})",
                KNOWN_OPTIONS.join(", ")
            )));
        }
        let anchor = anchor::find(src)?;
        let bs = anchor.block_size;
        let mut notes = Vec::new();
        let desc = match volume::read_sequence(src, bs, anchor.main) {
            Ok(d) => d,
            Err(main_err) => match volume::read_sequence(src, bs, anchor.reserve) {
                Ok(d) => {
                    notes.push(format!(
                        "main sequence unreadable ({main_err}); reserve used"
                    ));
                    d
                }
                Err(_) => return Err(main_err),
            },
        };
        if desc.logical.block_size != bs {
            return Err(Error::unsupported(
                src.name(),
                format!(
                    "UDF logical block size {} on {bs}-byte sectors",
                    desc.logical.block_size
                ),
            ));
        }
        let vol = Volume::new(source.clone(), bs, &desc)?;
        for (i, m) in vol.maps.iter().enumerate() {
            if let Map::Metadata {
                mirror_used: true, ..
            } = m
            {
                notes.push(format!("metadata file of map {i} unreadable; mirror used"));
            }
        }
        let fsd_loc = desc.logical.file_set.loc;
        let (buf, offset) = vol.read_block(fsd_loc, "UDF file set descriptor")?;
        let file_set = FileSet::decode(&buf, fsd_loc.block, src.name(), offset)?;
        let root = file_set.root.loc;
        let file_set_id = file_set.file_set_id();
        let bridge = crate::fs::probe::has_iso_descriptor(src)?;
        let mut integrity = integrity::read(src, bs, desc.logical.integrity);
        // On write-once media the integrity descriptor stays open; the VAT recorded last is
        // what closes a session (UDF 2.2.6.1), as udfinfo reports it.
        if vol.maps.iter().any(|m| matches!(m, Map::Virtual { .. })) {
            if let Some(i) = integrity.as_mut() {
                i.closed = true;
            }
        }
        Ok(UdfFs {
            vol,
            desc,
            block_size: bs,
            root,
            file_set_id,
            notes,
            integrity,
            bridge,
            unhide: options.has("unhide"),
            cache: Mutex::new(HashMap::new()),
            dirs: Mutex::new(HashMap::new()),
            left_out: LeftOut::default(),
            saw_hidden: Default::default(),
        })
    }

    fn image(&self) -> &str {
        self.vol.image()
    }

    /// Fails when a listing read so far left out entries marked hidden (mounted without
    /// `unhide`): a rewrite from the tree would drop them.
    pub fn check_nothing_hidden(&self) -> Result<()> {
        if self.saw_hidden.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(Error::unsupported(
                self.image(),
                "rewriting a UDF tree with entries marked hidden, which the mount leaves out: \
                 mount it with the `unhide` option to keep them (they are written unhidden); \
                 nothing written",
            ));
        }
        Ok(())
    }

    /// The inode of the file at `path` (from the root), if there is one.
    pub(crate) fn ino_at(&self, path: &str) -> Result<Option<Ino>> {
        let mut ino = self.root();
        for name in crate::vfs::path::components(path.as_bytes()) {
            match self.lookup(ino, name)? {
                Some(e) => ino = e.ino,
                None => return Ok(None),
            }
        }
        Ok(Some(ino))
    }

    /// The file set descriptor, read again.
    fn file_set(&self) -> Result<FileSet> {
        let loc = self.desc.logical.file_set.loc;
        let (buf, offset) = self.vol.read_block(loc, "UDF file set descriptor")?;
        FileSet::decode(&buf, loc.block, self.image(), offset)
    }

    fn node(&self, ino: Ino) -> Result<Arc<Node>> {
        if let Some(n) = lock_cache(&self.cache).get(&ino).cloned() {
            return Ok(n);
        }
        let fe = icb::read_entry(&self.vol, loc_of(ino))?;
        let kind = fe.kind();
        let symlink = if kind == FileKind::Symlink {
            let data = self.vol.file_data(&fe, MAX_SYMLINK, "UDF symlink")?;
            Some(path::decode(&data).ok_or_else(|| {
                Error::corrupt(
                    self.image(),
                    "UDF symlink path components",
                    self.vol.offset_hint(loc_of(ino)),
                    "malformed path component",
                )
            })?)
        } else {
            None
        };
        let meta = Metadata {
            kind,
            mode: fe.mode(),
            uid: fe.uid,
            gid: fe.gid,
            size: symlink.as_ref().map_or(fe.size, |s| s.len() as u64),
            nlink: u32::from(fe.link_count).max(1),
            ino,
            mtime: fe.mtime(),
            atime: fe.atime(),
            ctime: fe.ctime(),
            rdev: fe
                .rdev()
                .filter(|_| matches!(kind, FileKind::CharDevice | FileKind::BlockDevice)),
            symlink,
            allocated: fe
                .blocks_recorded
                .saturating_mul(u64::from(self.block_size)),
        };
        let node = Arc::new(Node {
            fe,
            meta,
            layout: Mutex::new(None),
        });
        let mut c = lock_cache(&self.cache);
        if c.len() >= CACHE_LIMIT {
            c.clear();
        }
        c.insert(ino, node.clone());
        drop(c);
        Ok(node)
    }

    fn layout(&self, node: &Node) -> Result<Arc<Layout>> {
        let mut slot = lock_cache(&node.layout);
        if let Some(l) = slot.as_ref() {
            return Ok(l.clone());
        }
        let layout = match icb::allocation(&self.vol, &node.fe)? {
            None => match &node.fe.data {
                Data::Embedded { bytes, at } => {
                    let mut runs = Vec::new();
                    self.vol
                        .runs(loc_of(node.meta.ino), u64::from(self.block_size), &mut runs)?;
                    let offset = match runs.as_slice() {
                        [Extent {
                            offset: Some(o), ..
                        }] => Some(o + *at as u64),
                        _ => None,
                    };
                    Layout::Embedded(bytes.clone(), offset)
                }
                Data::Extents(..) => Layout::Embedded(Vec::new(), None),
            },
            Some(ads) => {
                let extents = self.vol.data_extents(&ads, node.fe.size)?;
                let mut starts = Vec::with_capacity(extents.len());
                let mut pos = 0;
                for e in &extents {
                    starts.push(pos);
                    pos += e.len;
                }
                Layout::Extents { extents, starts }
            }
        };
        let layout = Arc::new(layout);
        *slot = Some(layout.clone());
        Ok(layout)
    }

    /// The directory's data, and where each of its extents starts (data offset, first block).
    fn directory(&self, node: &Node) -> Result<(Vec<u8>, ExtentStarts)> {
        let max = MAX_DIRECTORY.min(self.vol.src.len());
        let data = self.vol.file_data(&node.fe, max, "UDF directory")?;
        let mut blocks = Vec::new();
        match icb::allocation(&self.vol, &node.fe)? {
            None => blocks.push((0, loc_of(node.meta.ino))),
            Some(ads) => {
                let mut pos = 0u64;
                for a in ads {
                    blocks.push((pos, a.loc));
                    pos += u64::from(a.len);
                }
            }
        }
        Ok((data, blocks))
    }
    /// The names a directory lists and the inodes they name, decoded once and cached.
    fn names(&self, dir: Ino) -> Result<Arc<Names>> {
        if let Some(n) = lock_cache(&self.dirs).get(&dir).cloned() {
            return Ok(n);
        }
        let node = self.node(dir)?;
        if !node.meta.is_dir() {
            return Err(Error::NotADirectory(format!(
                "{}: inode {dir}",
                self.image()
            )));
        }
        let (data, blocks) = self.directory(&node)?;
        let bs = u64::from(self.block_size);
        let embedded = matches!(node.fe.data, Data::Embedded { .. });
        // The block holding byte `pos` of the directory's data, and the byte's place in it.
        let block_of = |pos: usize| {
            let pos = pos as u64;
            let i = blocks.partition_point(|b| b.0 <= pos).saturating_sub(1);
            let (start, loc) = blocks
                .get(i)
                .copied()
                .unwrap_or((0, LbAddr { block: 0, part: 0 }));
            if embedded {
                return (loc, 0);
            }
            let block = loc.block.wrapping_add(((pos - start) / bs) as u32);
            let part = loc.part;
            (LbAddr { block, part }, (pos - start) % bs)
        };
        let fids = fid::parse_all(
            &data,
            self.image(),
            |pos| block_of(pos).0.block,
            |pos| {
                let (loc, within) = block_of(pos);
                self.vol.offset_hint(loc) + within
            },
        )?;
        let mut names = Vec::with_capacity(fids.len());
        let mut pos = 0;
        for f in &fids {
            let at = pos;
            pos += f.recorded_len();
            if !f.listed(self.unhide) {
                // UDF's own hidden files (`*UDF Virtual Allocation Table`, 1.50's
                // `Non-Allocatable Space`) are the volume's structures, which a rewrite
                // makes anew, not the user's.
                let own = cs0::decode(f.name)
                    .is_some_and(|n| n.starts_with("*UDF") || n == "Non-Allocatable Space");
                if f.listed(true) && !own {
                    self.saw_hidden
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                continue;
            }
            let name = cs0::decode(f.name).ok_or_else(|| {
                Error::corrupt(
                    self.image(),
                    "UDF file identifier",
                    self.vol.offset_hint(loc_of(dir)),
                    format!("name with compression id {:?}", f.name.first()),
                )
            })?;
            let (loc, within) = block_of(at);
            let place = At {
                image: self.image(),
                structure: "UDF file identifier",
                offset: self.vol.offset_hint(loc) + within,
            };
            let target = ino_of(f.icb.loc);
            let root = ino_of(self.root);
            if !self
                .left_out
                .admit(&place, name.as_bytes(), dir, target, root)
            {
                continue;
            }
            names.push((name.into_bytes(), target));
        }
        let names = Arc::new(names);
        let mut c = lock_cache(&self.dirs);
        if c.len() >= DIR_CACHE_LIMIT {
            c.clear();
        }
        c.insert(dir, names.clone());
        drop(c);
        Ok(names)
    }
}

impl FileSystem for UdfFs {
    fn type_name(&self) -> &'static str {
        "udf"
    }
    fn left_out(&self) -> Option<String> {
        self.left_out.said()
    }
    fn name_fit(&self, name: &[u8], _is_dir: bool) -> Result<Option<String>> {
        match write::cs0_name(name) {
            Ok(_) => Ok(None),
            Err(why) => Err(Error::CannotStoreName {
                path: String::from_utf8_lossy(name).into_owned(),
                format: "UDF",
                why,
            }),
        }
    }
    fn refuses(&self, what: Attribute) -> Option<String> {
        let udf = revision(self.desc.logical.udf_revision());
        match what {
            Attribute::Xattrs => Some(format!(
                "extended attributes in UDF {udf}: its file entries hold them in named streams \
                 (2.00 and later) or implementation attributes, which isofish does not write"
            )),
            Attribute::Special => Some(format!(
                "device nodes, FIFOs or sockets made in UDF {udf}: isofish does not write new ones"
            )),
            _ => None,
        }
    }
    fn source(&self) -> &Arc<dyn Source> {
        &self.vol.src
    }
    fn label(&self) -> Option<String> {
        let l = self.desc.logical.volume_id();
        Some(if l.is_empty() {
            self.desc.primary.volume_id()
        } else {
            l
        })
    }
    fn root(&self) -> Ino {
        ino_of(self.root)
    }
    fn metadata(&self, ino: Ino) -> Result<Metadata> {
        Ok(self.node(ino)?.meta.clone())
    }
    fn read_dir(&self, dir: Ino) -> Result<Vec<DirEntry>> {
        let names = self.names(dir)?;
        let mut out = Vec::with_capacity(names.len());
        for (name, ino) in names.iter() {
            out.push(DirEntry {
                name: name.clone(),
                ino: *ino,
                meta: self.node(*ino)?.meta.clone(),
            });
        }
        Ok(out)
    }
    fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Option<DirEntry>> {
        let names = self.names(dir)?;
        let Some((name, ino)) = names.iter().find(|(n, _)| n == name) else {
            return Ok(None);
        };
        Ok(Some(DirEntry {
            name: name.clone(),
            ino: *ino,
            meta: self.node(*ino)?.meta.clone(),
        }))
    }
    fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let node = self.node(ino)?;
        if node.meta.is_dir() {
            return Err(Error::IsADirectory(format!(
                "{}: inode {ino}",
                self.image()
            )));
        }
        let layout = self.layout(&node)?;
        match layout.as_ref() {
            Layout::Embedded(d, _) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(d.len());
                let n = buf.len().min(d.len() - start);
                buf[..n].copy_from_slice(&d[start..start + n]);
                Ok(n)
            }
            Layout::Extents { extents, starts } => {
                let mut done = 0;
                let mut pos = offset;
                let mut i = starts.partition_point(|&s| s <= pos).saturating_sub(1);
                while done < buf.len() && i < extents.len() {
                    let e = extents[i];
                    let within = pos.saturating_sub(starts[i]);
                    if within >= e.len {
                        i += 1;
                        continue;
                    }
                    let n = (e.len - within).min((buf.len() - done) as u64) as usize;
                    let out = &mut buf[done..done + n];
                    match e.offset {
                        Some(o) => self
                            .vol
                            .src
                            .read_exact_at(o + within, out, "UDF file data")?,
                        None => out.fill(0),
                    }
                    done += n;
                    pos += n as u64;
                    i += 1;
                }
                Ok(done)
            }
        }
    }
    fn spans(&self, ino: Ino) -> Result<Option<Vec<Span>>> {
        let node = self.node(ino)?;
        if node.meta.kind != FileKind::File {
            return Ok(None);
        }
        Ok(match self.layout(&node)?.as_ref() {
            // Embedded data lies in the entry's block: a plain range too.
            Layout::Embedded(d, Some(offset)) => Some(if d.is_empty() {
                Vec::new()
            } else {
                vec![Span::source(self.source(), *offset, d.len() as u64)]
            }),
            Layout::Embedded(_, None) => None,
            Layout::Extents { extents, .. } => Some(
                extents
                    .iter()
                    .map(|e| match e.offset {
                        Some(offset) => Span::source(self.source(), offset, e.len),
                        None => Span::Zeros(e.len),
                    })
                    .collect(),
            ),
        })
    }
    fn info(&self) -> Vec<(String, String)> {
        let d = &self.desc;
        let mut out = vec![
            (
                "Filesystem".into(),
                if self.bridge {
                    "UDF (bridge: ISO 9660 descriptors too)".into()
                } else {
                    "UDF".into()
                },
            ),
            ("UDF revision".into(), revision(d.logical.udf_revision())),
            ("Volume identifier".into(), d.primary.volume_id()),
            ("Volume set identifier".into(), d.primary.volume_set_id()),
            ("Logical volume identifier".into(), d.logical.volume_id()),
            ("File set identifier".into(), self.file_set_id.clone()),
            ("Block size".into(), self.block_size.to_string()),
            ("Domain".into(), d.logical.domain()),
            (
                "Implementation (primary)".into(),
                d.primary.implementation(),
            ),
            (
                "Implementation (logical volume)".into(),
                d.logical.implementation(),
            ),
            ("Application".into(), d.primary.application()),
        ];
        if let Some(i) = &self.integrity {
            out.extend([
                (
                    "Integrity".into(),
                    if i.closed { "closed" } else { "open" }.into(),
                ),
                ("Files".into(), i.files.to_string()),
                ("Directories".into(), i.dirs.to_string()),
                ("Minimum UDF read revision".into(), revision(i.min_read)),
                ("Minimum UDF write revision".into(), revision(i.min_write)),
                ("Maximum UDF write revision".into(), revision(i.max_write)),
            ]);
        }
        out.extend(d.implementation_use.iter().flat_map(|iu| iu.lv_info()));
        for p in &d.partitions {
            out.push((
                format!("Partition {}", p.number),
                format!(
                    "{}, blocks {}+{}, access type {}",
                    p.contents(),
                    p.start,
                    p.length,
                    p.access
                ),
            ));
        }
        for (i, m) in self.vol.map_names.iter().enumerate() {
            out.push((format!("Partition map {i}"), m.clone()));
        }
        for n in &self.notes {
            out.push(("Note".into(), n.clone()));
        }
        out
    }
}
