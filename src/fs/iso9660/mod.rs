//! ISO 9660 (ECMA-119 levels 1-3, ISO 9660:1999) with Rock Ridge, Joliet and zisofs: the
//! [`IsoFs`] filesystem. This module picks the tree to show, turns directory records into
//! [`Metadata`] and serves file data; each on-disc structure is decoded in its own module.
//!
//! Extended attributes and ACLs (AAIP, decoded in `aaip.rs`) are read from a file's record
//! only when asked for, in the Rock Ridge view only, so listings do not keep them.
//!
//! Choices where the standards leave room:
//! - The view is Rock Ridge, else Joliet, else plain ISO 9660 (mount options `norock`,
//!   `nojoliet`, `joliet` to prefer Joliet, `plain` for neither), as the Linux kernel does.
//!   The ISO 9660:1999 tree of an enhanced volume descriptor is shown with `iso1999` only:
//!   genisoimage points it at the primary tree anyway, and no peer tool (Linux, isoinfo,
//!   xorriso, bsdtar, 7z) shows xorriso's separate one by default.
//! - Plain names lose their `;1` version and the `.` of names without extension; their case is
//!   kept (as isoinfo, xorriso and bsdtar show them).
//! - Without Rock Ridge, directories and files are 0555 (as Linux and xorriso show them;
//!   bsdtar would say 0700 and 0400), owned by 0:0, dated by their record.
//! - Hidden entries are listed; associated files are not; relocated directories appear at
//!   their real place and the `rr_moved` directory that only stored them is hidden.
//! - A name that cannot be a file name (empty, `.`, `..`, containing `/` or NUL, from any
//!   tree) makes its directory fail with a corrupt-record error rather than being rewritten.
//! - An [`Ino`] is the byte offset of the file's (first) directory record in the source; the
//!   root's is its `.` record. So the vfs can ask by `Ino` alone, the location (extent, parent)
//!   of every directory seen is kept; a file's node is found in the listing of the directory
//!   whose extent holds its record. Listings are kept in a cache bounded by their total number
//!   of entries (evicted ones are read again; the ancestors of the directory just read are
//!   kept), so memory does not grow with the number of files.

mod aaip;
mod cache;
mod joliet;
pub mod pathtable;
pub mod record;
pub mod rockridge;
pub mod susp;
pub mod volume;
pub mod zisofs;
mod zisofs2;

use std::collections::{BTreeMap, HashMap};
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use cache::Lru;

use record::Record;
use rockridge::RockRidge;
use volume::{Descriptor, Kind};
use zisofs::{Layout, Zf};

use crate::error::{Error, Result};
use crate::fs::{DirEntry, FileKind, FileSystem, Ino, Metadata, MountOptions, Span, Xattr};
use crate::source::Source;

/// The logical block (sector) size: the only one read.
pub const SECTOR: u64 = 2048;
/// Largest directory extent read (a directory of this size holds about a million entries).
const MAX_DIR_SIZE: u64 = 64 << 20;
/// Deepest directory nesting accepted.
const MAX_DEPTH: usize = 1024;
/// How many directory entries (plus one per directory) the listing cache holds.
const LISTING_BUDGET: usize = 1 << 14;
/// The mount options this filesystem understands.
const OPTIONS: &[&str] = &["norock", "nojoliet", "joliet", "plain", "iso1999", "ro"];

/// Which names (and attributes) are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum View {
    RockRidge,
    Joliet,
    Plain,
}

/// A run of file data: `len` bytes at byte `disk` of the source, possibly interleaved
/// (`unit` bytes of data, then `gap` bytes skipped; `unit == 0` for contiguous data).
#[derive(Clone, Copy, Debug)]
struct Piece {
    disk: u64,
    len: u64,
    unit: u64,
    gap: u64,
}

impl Piece {
    /// The source offset of byte `at` of this piece and how many bytes follow it contiguously.
    fn locate(&self, at: u64) -> (u64, u64) {
        if self.unit == 0 {
            return (self.disk + at, self.len - at);
        }
        let (unit, within) = (at / self.unit, at % self.unit);
        let run = (self.unit - within).min(self.len - at);
        (self.disk + unit * (self.unit + self.gap) + within, run)
    }
}

/// Where a node's content is.
enum Data {
    /// Symlinks and device nodes: no data.
    None,
    /// Plain file data.
    Plain(Vec<Piece>),
    /// zisofs-compressed data, decompressed on read; the layout is read on first use.
    Zisofs {
        pieces: Vec<Piece>,
        zf: Zf,
        layout: Mutex<Option<Arc<Layout>>>,
    },
    /// A directory (its extent is in [`Dirs`]).
    Dir,
    /// Data in a layout isofish does not read (Rock Ridge SF sparse files): reads fail.
    Unsupported(&'static str),
}

/// One decoded file or directory.
struct Node {
    meta: Metadata,
    data: Data,
}

/// One entry of a directory: its name, its [`Ino`] and what it is.
struct Entry {
    name: Vec<u8>,
    ino: Ino,
    node: Node,
}

impl Entry {
    fn dir_entry(&self) -> DirEntry {
        DirEntry {
            name: self.name.clone(),
            ino: self.ino,
            meta: self.node.meta.clone(),
        }
    }
}

/// A decoded directory: its entries in disc order (so by ascending [`Ino`]) and their indexes
/// sorted by name (so a lookup in a directory of a million entries is not a scan).
struct Listing {
    entries: Vec<Entry>,
    by_name: Vec<u32>,
}

impl Listing {
    fn new(mut entries: Vec<Entry>) -> Self {
        entries.shrink_to_fit();
        let mut by_name: Vec<u32> = (0..entries.len() as u32).collect();
        // A stable sort: the first of two equal names wins, as a scan would find it.
        by_name.sort_by(|&a, &b| entries[a as usize].name.cmp(&entries[b as usize].name));
        Listing { entries, by_name }
    }

    fn by_name(&self, name: &[u8]) -> Option<&Entry> {
        let at = self
            .by_name
            .partition_point(|&i| self.entries[i as usize].name.as_slice() < name);
        let entry = &self.entries[*self.by_name.get(at)? as usize];
        (entry.name == name).then_some(entry)
    }

    fn by_ino(&self, ino: Ino) -> Option<usize> {
        self.entries.binary_search_by_key(&ino, |e| e.ino).ok()
    }
}

/// A node: the root's, or one entry of a cached listing.
enum NodeRef<'a> {
    Root(&'a Node),
    Listed(Arc<Listing>, usize),
}

impl Deref for NodeRef<'_> {
    type Target = Node;
    fn deref(&self) -> &Node {
        match self {
            NodeRef::Root(node) => node,
            NodeRef::Listed(listing, i) => &listing.entries[*i].node,
        }
    }
}

/// Where a directory is: its extent and the directory that lists it (`None` for the root).
struct DirLoc {
    parent: Option<Ino>,
    offset: u64,
    len: u64,
}

/// Every directory seen so far (a few dozen bytes each).
#[derive(Default)]
struct Dirs {
    by_ino: HashMap<Ino, DirLoc>,
    /// Directory extent offsets and the record that owns each.
    by_extent: BTreeMap<u64, Ino>,
}

/// An opened ISO 9660 volume.
pub struct IsoFs {
    source: Arc<dyn Source>,
    view: View,
    /// With Rock Ridge: the SUSP skip length of every system use area but the root's `.`.
    susp_skip: usize,
    root: Ino,
    label: String,
    descriptors: Vec<Descriptor>,
    /// SUSP on the primary tree (in use or not): `Some` with the ER identifiers of the root.
    rock_ridge: Option<Vec<String>>,
    /// Set once `open` has decoded it.
    root_node: OnceLock<Node>,
    dirs: Mutex<Dirs>,
    listings: Mutex<Lru<Listing>>,
    zisofs: Mutex<zisofs::Cache>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl IsoFs {
    /// Reads the volume descriptors of `source` and picks the tree to show.
    pub fn open(source: Arc<dyn Source>, options: &MountOptions) -> Result<Self> {
        if let Some(bad) = options.0.iter().find(|o| !OPTIONS.contains(&o.as_str())) {
            return Err(Error::Usage(format!(
                "unknown iso9660 mount option {bad:?} (known: {})",
                OPTIONS.join(", ")
            )));
        }
        let image = source.name().to_string();
        let descriptors = volume::read_set(source.as_ref())?;
        let find = |f: fn(&Kind) -> bool| descriptors.iter().find(|d| f(&d.kind));
        let primary = find(|k| *k == Kind::Primary).ok_or_else(|| {
            Error::corrupt(&image, "volume descriptor", 16 * SECTOR, "no primary")
        })?;
        let joliet = find(|k| matches!(k, Kind::Joliet(_)));

        // Rock Ridge is in use when the primary root's `.` record starts with SP.
        let (primary_root, primary_offset) = Self::root_of(source.as_ref(), primary)?;
        let dot_buf = Self::first_record(source.as_ref(), &primary_root)?;
        let dot = Record::decode(&dot_buf, primary_offset, &image)?;
        let sp = susp::Sp::find(dot.system_use).map(|sp| sp.skip);
        let mut rock_ridge = None;
        if sp.is_some() {
            let mut rr = RockRidge::default();
            susp::for_each(
                source.as_ref(),
                dot.system_use,
                dot.system_use_offset,
                0,
                &mut |e| rr.add(&image, e),
            )?;
            rock_ridge = Some(rr.extensions);
        }

        let enhanced = find(|k| *k == Kind::Enhanced).filter(|_| options.has("iso1999"));
        let neither = options.has("plain") || enhanced.is_some();
        let want_rock = sp.is_some() && !options.has("norock") && !neither;
        let want_joliet = joliet.is_some() && !options.has("nojoliet") && !neither;
        let view = if want_joliet && (options.has("joliet") || !want_rock) {
            View::Joliet
        } else if want_rock {
            View::RockRidge
        } else {
            View::Plain
        };
        let tree = match view {
            View::Joliet => joliet.expect("want_joliet needs it"),
            _ => enhanced.unwrap_or(primary),
        };
        let mut fs = IsoFs {
            label: primary
                .volume()
                .map_or_else(String::new, |v| v.volume_id.get(false).trim().to_string()),
            source,
            view,
            susp_skip: usize::from(sp.unwrap_or(0)),
            root: 0,
            descriptors: descriptors.clone(),
            rock_ridge,
            root_node: OnceLock::new(),
            dirs: Mutex::new(Dirs::default()),
            listings: Mutex::new(Lru::new(LISTING_BUDGET)),
            zisofs: Mutex::default(),
        };
        let (root, root_offset) = Self::root_of(fs.source.as_ref(), tree)?;
        let buf = Self::first_record(fs.source.as_ref(), &root)?;
        let dot = Record::decode(&buf, root_offset, &image)?;
        if !dot.is_dir() || dot.name != [0] {
            return Err(Error::corrupt(
                &image,
                "root directory",
                root_offset,
                "the first record of the root directory is not its `.`",
            ));
        }
        let rr = match view {
            View::RockRidge => Some(fs.rock_ridge(&dot, 0)?),
            _ => None,
        };
        let (meta, data) = fs.decode_node(std::slice::from_ref(&dot), rr.as_ref(), true)?;
        fs.root = root_offset;
        fs.root_node = OnceLock::from(Node { meta, data });
        let dirs = fs.dirs.get_mut().unwrap_or_else(|e| e.into_inner());
        dirs.by_extent.insert(root_offset, root_offset);
        dirs.by_ino.insert(
            root_offset,
            DirLoc {
                parent: None,
                offset: root_offset,
                len: u64::from(dot.size),
            },
        );
        Ok(fs)
    }

    /// The root record of a descriptor and the byte offset of the root directory's extent.
    fn root_of<'d>(src: &dyn Source, d: &'d Descriptor) -> Result<(Record<'d>, u64)> {
        let root = d.volume().map_or(&[][..], |v| &v.root_record);
        let rec = Record::decode(root, d.offset + 156, src.name())?;
        if !rec.is_dir() {
            return Err(Error::corrupt(
                src.name(),
                "root directory record",
                d.offset + 156,
                "not flagged as a directory",
            ));
        }
        let offset = rec.data_offset();
        Ok((rec, offset))
    }

    /// The first sector of a directory (its `.` record).
    fn first_record(src: &dyn Source, dir: &Record) -> Result<Vec<u8>> {
        let len = u64::from(dir.size).clamp(1, SECTOR);
        src.read_vec(dir.data_offset(), len as usize, "directory")
    }

    fn image(&self) -> &str {
        self.source.name()
    }

    /// The Rock Ridge entries of a record (`skip` bytes ignored at the start of its area).
    fn rock_ridge(&self, rec: &Record, skip: usize) -> Result<RockRidge> {
        let mut rr = RockRidge::default();
        let image = self.image();
        susp::for_each(
            self.source.as_ref(),
            rec.system_use,
            rec.system_use_offset,
            skip,
            &mut |e| rr.add(image, e),
        )?;
        Ok(rr)
    }

    /// Metadata and data location of the file described by `records` (more than one for a
    /// multi-extent file), with its Rock Ridge entries.
    fn decode_node(
        &self,
        records: &[Record],
        rr: Option<&RockRidge>,
        is_dir: bool,
    ) -> Result<(Metadata, Data)> {
        let first = &records[0];
        let date = first.recorded();
        let px = rr.and_then(|r| r.px);
        let kind = if is_dir {
            FileKind::Dir
        } else {
            px.and_then(|p| FileKind::from_mode(p.mode))
                .filter(|k| *k != FileKind::Dir)
                .unwrap_or(FileKind::File)
        };
        let mut pieces = Vec::with_capacity(records.len());
        let mut stored = 0u64;
        for r in records {
            if r.unit_size == 0 && r.gap_size != 0 {
                return Err(Error::corrupt(
                    self.image(),
                    "directory record",
                    r.offset,
                    format!("interleave gap {} with a file unit size of 0", r.gap_size),
                ));
            }
            pieces.push(Piece {
                disk: r.data_offset(),
                len: u64::from(r.size),
                unit: u64::from(r.unit_size) * SECTOR,
                gap: u64::from(r.gap_size) * SECTOR,
            });
            stored += u64::from(r.size);
        }
        let symlink = if kind == FileKind::Symlink {
            rr.and_then(|r| r.symlink.clone())
        } else {
            None
        };
        let (size, data) = match kind {
            FileKind::Dir => (stored, Data::Dir),
            FileKind::Symlink => (symlink.as_ref().map_or(0, |s| s.len() as u64), Data::None),
            FileKind::File if rr.is_some_and(|r| r.sparse) => {
                (stored, Data::Unsupported("Rock Ridge sparse file (SF)"))
            }
            FileKind::File => match rr.and_then(|r| r.zf) {
                Some(zf) => (
                    zf.size,
                    Data::Zisofs {
                        pieces,
                        zf,
                        layout: Mutex::new(None),
                    },
                ),
                None => (stored, Data::Plain(pieces)),
            },
            _ => (0, Data::None),
        };
        let ino = match px.and_then(|p| p.serial).filter(|&s| s != 0) {
            Some(serial) => u64::from(serial),
            None if stored > 0 => u64::from(first.extent),
            None => (1 << 32) + first.offset,
        };
        let meta = Metadata {
            kind,
            mode: px.map_or(0o555, |p| p.mode & 0o7777),
            uid: px.map_or(0, |p| p.uid),
            gid: px.map_or(0, |p| p.gid),
            size,
            nlink: px.map_or(if is_dir { 2 } else { 1 }, |p| p.nlink),
            ino,
            mtime: rr.and_then(|r| r.mtime).unwrap_or(date),
            atime: rr.and_then(|r| r.atime).unwrap_or(date),
            ctime: rr.and_then(|r| r.ctime).unwrap_or(date),
            rdev: match kind {
                FileKind::CharDevice | FileKind::BlockDevice => rr.and_then(|r| r.rdev),
                _ => None,
            },
            symlink,
            allocated: records
                .iter()
                .map(|r| u64::from(r.size).next_multiple_of(SECTOR))
                .sum(),
        };
        Ok((meta, data))
    }

    /// The node of `ino`: found in the listing of the directory whose extent holds its record.
    fn node(&self, ino: Ino) -> Result<NodeRef<'_>> {
        let not_found = || Error::NotFound(format!("{}: inode {ino}", self.image()));
        if ino == self.root {
            return self
                .root_node
                .get()
                .map(NodeRef::Root)
                .ok_or_else(not_found);
        }
        let dir = {
            let dirs = lock(&self.dirs);
            let (&offset, &owner) = dirs
                .by_extent
                .range(..=ino)
                .next_back()
                .ok_or_else(not_found)?;
            dirs.by_ino
                .get(&owner)
                .filter(|loc| ino - offset < loc.len)
                .map(|_| owner)
                .ok_or_else(not_found)?
        };
        let listing = self.listing(dir)?;
        let i = listing.by_ino(ino).ok_or_else(not_found)?;
        Ok(NodeRef::Listed(listing, i))
    }

    /// The name an entry is shown under, checked to be a usable file name.
    fn entry_name(&self, rec: &Record, rr: Option<&RockRidge>) -> Result<Vec<u8>> {
        let name = match (self.view, rr.and_then(|r| r.name.as_ref())) {
            (View::RockRidge, Some(nm)) => {
                if rr.is_some_and(|r| r.name_is_dot) {
                    return Err(self.bad_name(rec, "Rock Ridge NM names it `.` or `..`"));
                }
                nm.clone()
            }
            (View::Joliet, _) => joliet::decode(strip_version_ucs2(rec.name)).into_bytes(),
            _ => record::plain_name(rec.name).to_vec(),
        };
        if name.is_empty() || name == b"." || name == b".." {
            return Err(self.bad_name(rec, &format!("name {:?}", String::from_utf8_lossy(&name))));
        }
        if name.contains(&b'/') || name.contains(&0) {
            return Err(self.bad_name(
                rec,
                &format!(
                    "name {:?} contains `/` or NUL",
                    String::from_utf8_lossy(&name)
                ),
            ));
        }
        Ok(name)
    }

    fn bad_name(&self, rec: &Record, what: &str) -> Error {
        Error::corrupt(
            self.image(),
            "directory record",
            rec.offset,
            format!("{what}: not a usable file name"),
        )
    }

    /// Fails when the directory extent at `offset` is `parent` or one of its ancestors (a
    /// loop), or the extent of another directory already listed (so the tree stays a tree:
    /// shared extents could make a walk exponential); else records `rec` as its owner.
    /// `len` is the size of the extent.
    fn check_dir_extent(&self, parent: Ino, offset: u64, len: u32, rec: &Record) -> Result<()> {
        let mut dirs = lock(&self.dirs);
        self.check_not_ancestor(&dirs, parent, offset, rec)?;
        let owner = *dirs.by_extent.entry(offset).or_insert(rec.offset);
        if owner != rec.offset {
            return Err(Error::corrupt(
                self.image(),
                "directory record",
                rec.offset,
                format!("its extent at {offset} is also the directory of the record at {owner}"),
            ));
        }
        dirs.by_ino.insert(
            rec.offset,
            DirLoc {
                parent: Some(parent),
                offset,
                len: u64::from(len),
            },
        );
        Ok(())
    }

    fn check_not_ancestor(
        &self,
        dirs: &Dirs,
        parent: Ino,
        offset: u64,
        rec: &Record,
    ) -> Result<()> {
        let mut cur = Some(parent);
        let mut depth = 0;
        while let Some(ino) = cur {
            let Some(loc) = dirs.by_ino.get(&ino) else {
                break;
            };
            if loc.offset == offset {
                return Err(Error::corrupt(
                    self.image(),
                    "directory record",
                    rec.offset,
                    format!("directory loop: its extent at {offset} is an ancestor's"),
                ));
            }
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(Error::corrupt(
                    self.image(),
                    "directory record",
                    rec.offset,
                    format!("directories nested deeper than {MAX_DEPTH}"),
                ));
            }
            cur = loc.parent;
        }
        Ok(())
    }

    /// Decodes one directory entry (a record, or the records of a multi-extent file) of the
    /// directory `dir`; `None` for entries that are not listed.
    fn decode_entry(&self, dir: Ino, group: &[Record]) -> Result<Option<Entry>> {
        let first = &group[0];
        if first.is_self_or_parent() || first.flags & record::ASSOCIATED != 0 {
            return Ok(None);
        }
        let rr = match self.view {
            View::RockRidge => Some(self.rock_ridge(first, self.susp_skip)?),
            _ => None,
        };
        if rr.as_ref().is_some_and(|r| r.relocated) {
            return Ok(None);
        }
        let name = self.entry_name(first, rr.as_ref())?;
        let (meta, data) = match rr.as_ref().and_then(|r| r.child_link) {
            Some(block) => {
                // A relocated directory: its attributes are those of its own `.` record.
                let offset = u64::from(block) * SECTOR;
                let buf = self
                    .source
                    .read_vec(offset, SECTOR as usize, "relocated directory")?;
                let dot = Record::decode(&buf, offset, self.image())?;
                if dot.name != [0] || !dot.is_dir() {
                    return Err(Error::corrupt(
                        self.image(),
                        "Rock Ridge CL entry",
                        first.offset,
                        format!("block {block} does not start with a directory's `.` record"),
                    ));
                }
                let dot_rr = self.rock_ridge(&dot, self.susp_skip)?;
                self.check_dir_extent(dir, dot.data_offset(), dot.size, first)?;
                self.decode_node(std::slice::from_ref(&dot), Some(&dot_rr), true)?
            }
            None => {
                if first.is_dir() {
                    self.check_dir_extent(dir, first.data_offset(), first.size, first)?;
                }
                self.decode_node(group, rr.as_ref(), first.is_dir())?
            }
        };
        Ok(Some(Entry {
            name,
            ino: first.offset,
            node: Node { meta, data },
        }))
    }

    /// Reads and decodes a directory (not cached).
    fn load_dir(&self, dir: Ino) -> Result<Vec<Entry>> {
        let loc = lock(&self.dirs)
            .by_ino
            .get(&dir)
            .map(|loc| (loc.offset, loc.len));
        let Some((offset, len)) = loc else {
            self.node(dir)?;
            return Err(Error::NotADirectory(format!(
                "{}: inode {dir}",
                self.image()
            )));
        };
        if len > MAX_DIR_SIZE {
            return Err(Error::corrupt(
                self.image(),
                "directory",
                offset,
                format!("size {len} is over the {MAX_DIR_SIZE}-byte limit"),
            ));
        }
        let buf = self.source.read_vec(offset, len as usize, "directory")?;
        let mut out = Vec::new();
        let mut group: Vec<Record> = Vec::new();
        for rec in record::records(&buf, offset, self.image()) {
            let rec = rec?;
            if let Some(prev) = group.first() {
                if prev.name != rec.name {
                    return Err(Error::corrupt(
                        self.image(),
                        "directory record",
                        rec.offset,
                        "a multi-extent file continues under another name",
                    ));
                }
            }
            let more = rec.flags & record::MULTI_EXTENT != 0;
            group.push(rec);
            if more {
                continue;
            }
            if let Some(e) = self.decode_entry(dir, &group)? {
                out.push(e);
            }
            group.clear();
        }
        if let Some(last) = group.last() {
            return Err(Error::corrupt(
                self.image(),
                "directory record",
                last.offset,
                "multi-extent file without its final record",
            ));
        }
        if dir == self.root && self.view == View::RockRidge {
            self.hide_rr_moved(&mut out)?;
        }
        Ok(out)
    }

    /// A directory's listing, from the cache or decoded (and cached).
    fn listing(&self, dir: Ino) -> Result<Arc<Listing>> {
        if let Some(cached) = lock(&self.listings).get(dir) {
            return Ok(cached);
        }
        let listing = Arc::new(Listing::new(self.load_dir(dir)?));
        let cost = listing.entries.len() + 1;
        let ancestors = self.ancestors(dir);
        lock(&self.listings).insert(dir, listing.clone(), cost, &ancestors);
        Ok(listing)
    }

    /// The directories that hold `dir`, nearest first (as far as [`MAX_DEPTH`]).
    fn ancestors(&self, dir: Ino) -> Vec<Ino> {
        let dirs = lock(&self.dirs);
        let mut out = Vec::new();
        let mut cur = dirs.by_ino.get(&dir).and_then(|loc| loc.parent);
        while let Some(ino) = cur.filter(|_| out.len() < MAX_DEPTH) {
            out.push(ino);
            cur = dirs.by_ino.get(&ino).and_then(|loc| loc.parent);
        }
        out
    }

    /// Hides the root's `rr_moved` when all it holds are relocated directories (which are
    /// shown at their real place), as xorriso and bsdtar do.
    fn hide_rr_moved(&self, entries: &mut Vec<Entry>) -> Result<()> {
        let Some(pos) = entries.iter().position(|e| {
            e.node.meta.is_dir() && matches!(e.name.as_slice(), b"rr_moved" | b".rr_moved")
        }) else {
            return Ok(());
        };
        if self.read_dir(entries[pos].ino)?.is_empty() {
            entries.remove(pos);
        }
        Ok(())
    }

    /// Reads file data from plain pieces (`size` bytes in all).
    fn read_pieces(&self, pieces: &[Piece], mut offset: u64, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        let mut start = 0u64;
        for p in pieces {
            if done == buf.len() {
                break;
            }
            if offset >= start + p.len {
                start += p.len;
                continue;
            }
            while done < buf.len() && offset < start + p.len {
                let (disk, run) = p.locate(offset - start);
                let n = run.min((buf.len() - done) as u64) as usize;
                let got = self.source.read_at(disk, &mut buf[done..done + n])?;
                if got < n {
                    return Err(Error::corrupt(
                        self.image(),
                        "file extent",
                        disk,
                        format!(
                            "file data passes the end of the image ({})",
                            self.source.len()
                        ),
                    ));
                }
                done += n;
                offset += n as u64;
            }
            start += p.len;
        }
        Ok(done)
    }

    fn read_zisofs(
        &self,
        ino: Ino,
        pieces: &[Piece],
        zf: &Zf,
        layout: &Mutex<Option<Arc<Layout>>>,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize> {
        let stored: u64 = pieces.iter().map(|p| p.len).sum();
        let read = |at: u64, buf: &mut [u8]| {
            if self.read_pieces(pieces, at, buf)? < buf.len() {
                return Err(Error::corrupt(
                    self.image(),
                    "zisofs data",
                    pieces.first().map_or(0, |p| p.disk),
                    format!("reads past the file's {stored} stored bytes"),
                ));
            }
            Ok(())
        };
        let layout = {
            let mut slot = lock(layout);
            match &*slot {
                Some(l) => l.clone(),
                None => {
                    let disk = pieces.first().map_or(0, |p| p.disk);
                    let l = Arc::new(Layout::decode(self.image(), disk, zf, stored, &read)?);
                    *slot = Some(l.clone());
                    l
                }
            }
        };
        let mut cache = lock(&self.zisofs);
        layout.read_at(self.image(), ino, &mut cache, offset, buf, &read)
    }

    /// The AAIP attributes of the record at `ino` (read again, so listings need not keep
    /// them). AL entries always count; AA entries only where the root's ER entries announce
    /// AAIP 1.0 or 0.2, which used that signature (Apple's extensions use it too).
    fn aaip_xattrs(&self, ino: Ino) -> Result<Vec<Xattr>> {
        let image = self.image();
        let len = self.source.read_vec(ino, 1, "directory record")?[0];
        let buf = self
            .source
            .read_vec(ino, usize::from(len), "directory record")?;
        let rec = Record::decode(&buf, ino, image)?;
        let old = self.rock_ridge.as_ref().is_some_and(|ids| {
            ids.iter()
                .any(|id| matches!(id.as_str(), "AAIP_0100" | "AAIP_0002"))
        });
        let skip = if ino == self.root { 0 } else { self.susp_skip };
        let mut list = aaip::AttributeList::default();
        susp::for_each(
            self.source.as_ref(),
            rec.system_use,
            rec.system_use_offset,
            skip,
            &mut |e| match &e.signature {
                b"AL" => list.add(image, e),
                b"AA" if old => list.add(image, e),
                _ => Ok(()),
            },
        )?;
        list.finish(image)
    }

    /// Whether any file of the root directory or its subdirectories is zisofs-compressed.
    fn has_zisofs(&self) -> bool {
        let Ok(top) = self.read_dir(self.root) else {
            return false;
        };
        let below = top.iter().filter(|e| e.meta.is_dir()).take(64);
        let subdirs = below.filter_map(|d| self.read_dir(d.ino).ok());
        std::iter::once(top.clone())
            .chain(subdirs)
            .flatten()
            .any(|e| {
                self.node(e.ino)
                    .is_ok_and(|n| matches!(n.data, Data::Zisofs { .. }))
            })
    }
}

/// Strips a UCS-2 `;1` version suffix from a Joliet name.
fn strip_version_ucs2(name: &[u8]) -> &[u8] {
    let mut end = name.len() & !1;
    let mut digits = 0;
    while end >= 2 && name[end - 2] == 0 && name[end - 1].is_ascii_digit() {
        end -= 2;
        digits += 1;
    }
    if digits > 0 && end >= 2 && name[end - 2] == 0 && name[end - 1] == b';' {
        &name[..end - 2]
    } else {
        name
    }
}

impl FileSystem for IsoFs {
    fn type_name(&self) -> &'static str {
        "iso9660"
    }
    fn source(&self) -> &Arc<dyn Source> {
        &self.source
    }
    fn label(&self) -> Option<String> {
        Some(self.label.clone())
    }
    fn root(&self) -> Ino {
        self.root
    }
    fn metadata(&self, ino: Ino) -> Result<Metadata> {
        Ok(self.node(ino)?.meta.clone())
    }
    fn read_dir(&self, dir: Ino) -> Result<Vec<DirEntry>> {
        Ok(self
            .listing(dir)?
            .entries
            .iter()
            .map(Entry::dir_entry)
            .collect())
    }
    fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Option<DirEntry>> {
        Ok(self.listing(dir)?.by_name(name).map(Entry::dir_entry))
    }
    fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let node = self.node(ino)?;
        let end = node.meta.size;
        if offset >= end {
            return Ok(0);
        }
        let want = buf
            .len()
            .min((end - offset).min(usize::MAX as u64) as usize);
        let buf = &mut buf[..want];
        match &node.data {
            Data::Plain(pieces) => self.read_pieces(pieces, offset, buf),
            Data::Zisofs { pieces, zf, layout } => {
                self.read_zisofs(ino, pieces, zf, layout, offset, buf)
            }
            Data::Dir => Err(Error::IsADirectory(format!(
                "{}: inode {ino}",
                self.image()
            ))),
            Data::None => Ok(0),
            Data::Unsupported(what) => Err(Error::unsupported(self.image(), *what)),
        }
    }
    fn spans(&self, ino: Ino) -> Result<Option<Vec<Span>>> {
        let node = self.node(ino)?;
        let Data::Plain(pieces) = &node.data else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for p in pieces {
            let mut at = 0;
            while at < p.len {
                let (disk, run) = p.locate(at);
                if disk + run > self.source.len() {
                    return Err(Error::corrupt(
                        self.image(),
                        "file extent",
                        disk,
                        format!(
                            "{run} bytes pass the end of the image ({})",
                            self.source.len()
                        ),
                    ));
                }
                out.push(Span::source(&self.source, disk, run));
                at += run;
            }
        }
        Ok(Some(out))
    }
    fn xattrs(&self, ino: Ino) -> Result<Vec<Xattr>> {
        self.node(ino)?;
        if self.view != View::RockRidge {
            return Ok(Vec::new());
        }
        self.aaip_xattrs(ino)
    }
    fn info(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut put = |k: &str, v: String| out.push((k.to_string(), v));
        let primary = self.descriptors.iter().find(|d| d.kind == Kind::Primary);
        if let Some(p) = primary.and_then(Descriptor::volume) {
            put("System id", p.system_id.get(false));
            put("Volume id", p.volume_id.get(false));
            put("Volume set id", p.volume_set_id.get(false));
            put("Publisher id", p.publisher_id.get(false));
            put("Data preparer id", p.preparer_id.get(false));
            put("Application id", p.application_id.get(false));
            put("Copyright File id", p.copyright_file_id.get(false));
            put("Abstract File id", p.abstract_file_id.get(false));
            put("Bibliographic File id", p.bibliographic_file_id.get(false));
            put("Volume set size", p.volume_set_size.to_string());
            put(
                "Volume set sequence number",
                p.volume_sequence_number.to_string(),
            );
            put("Logical block size", p.logical_block_size.to_string());
            put("Volume size", p.volume_space_size.to_string());
            put("Creation date", p.created.to_string());
            put("Modification date", p.modified.to_string());
            put("Expiration date", p.expires.to_string());
            put("Effective date", p.effective.to_string());
        }
        for d in &self.descriptors {
            match d.kind {
                Kind::Joliet(level) => put("Joliet", format!("level {level}")),
                Kind::Enhanced => put("ISO 9660:1999", "enhanced volume descriptor".into()),
                Kind::Boot => {
                    if let volume::Body::Boot(b) = &d.body {
                        put("Boot system id", b.boot_system_id.get(false));
                    }
                }
                _ => {}
            }
        }
        if let Some(ids) = &self.rock_ridge {
            let version = ids.iter().find_map(|id| match id.as_str() {
                "RRIP_1991A" => Some(format!("1.09/1.10 ({id})")),
                "IEEE_P1282" | "IEEE_1282" => Some(format!("1.12 ({id})")),
                _ => None,
            });
            put(
                "Rock Ridge",
                version.unwrap_or_else(|| "SUSP without a Rock Ridge ER entry".into()),
            );
            if !ids.is_empty() {
                put("SUSP extensions", ids.join(" "));
            }
        }
        put(
            "zisofs",
            if self.has_zisofs() {
                "ZF entries in the top two directory levels"
            } else {
                "no ZF entries in the top two directory levels"
            }
            .into(),
        );
        let view = match self.view {
            View::RockRidge => "Rock Ridge",
            View::Joliet => "Joliet",
            View::Plain => "ISO 9660",
        };
        put("Names", view.into());
        out
    }
}
