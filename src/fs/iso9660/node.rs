//! Node decoding for an [`IsoFs`]: a directory record (or the records of a multi-extent file,
//! or a relocated directory's `.` record) with its Rock Ridge entries becomes a [`Node`]:
//! [`Metadata`] and where its data is; the name it is listed under; its AAIP attributes; and
//! the lookup of a node by its [`Ino`].

use std::ops::Deref;
use std::sync::{Arc, Mutex};

use super::data::{Data, Piece, Pieces};
use super::listing::{Entry, Listing};
use super::record::{self, Record};
use super::rockridge::RockRidge;
use super::view::View;
use super::zisofs::Zf;
use super::{aaip, joliet, lock, susp, IsoFs, SECTOR};
use crate::error::{Error, Result};
use crate::fs::{FileKind, Ino, Metadata, Timestamp, Xattr};
use crate::ondisk::iso_date;

/// One decoded file or directory.
pub(super) struct Node {
    pub(super) meta: Metadata,
    pub(super) data: Data,
}

/// A node: the root's, or one entry of a cached listing.
pub(super) enum NodeRef<'a> {
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

/// A listed entry's first record, Rock Ridge entries and name ([`IsoFs::entry_head`]).
pub(super) type Head<'g, 'a> = (&'g Record<'a>, Option<RockRidge>, Vec<u8>);

/// How one SUSP entry is added to a [`RockRidge`] ([`RockRidge::add`], or a part of it).
pub(super) type AddEntry = fn(&mut RockRidge, &str, &susp::Entry) -> Result<()>;

impl IsoFs {
    /// The Rock Ridge entries of a record (`skip` bytes ignored at the start of its area).
    pub(super) fn rock_ridge(&self, rec: &Record, skip: usize) -> Result<RockRidge> {
        self.rock_ridge_by(rec, skip, RockRidge::add)
    }

    /// [`rock_ridge`](Self::rock_ridge), each entry added by `add` (which may decode only
    /// some of them).
    fn rock_ridge_by(&self, rec: &Record, skip: usize, add: AddEntry) -> Result<RockRidge> {
        let mut rr = RockRidge::default();
        let image = self.image();
        susp::for_each(
            self.source.as_ref(),
            rec.system_use,
            rec.system_use_offset,
            skip,
            &mut |e| add(&mut rr, image, e),
        )?;
        Ok(rr)
    }

    /// Metadata and data location of the file described by `records` (more than one for a
    /// multi-extent file), with its Rock Ridge entries.
    pub(super) fn decode_node(
        &self,
        records: &[Record],
        rr: Option<&RockRidge>,
        is_dir: bool,
    ) -> Result<(Metadata, Data)> {
        let Some(first) = records.first() else {
            return Err(Error::corrupt(
                self.image(),
                "directory record",
                0,
                "no record",
            ));
        };
        let date = self.recorded(first, rr);
        let px = rr.and_then(|r| r.px);
        let kind = if is_dir {
            FileKind::Dir
        } else {
            px.and_then(|p| FileKind::from_mode(p.mode))
                .filter(|k| *k != FileKind::Dir)
                .unwrap_or(FileKind::File)
        };
        let pieces = match records {
            [one] => Pieces::One(self.piece(one)?),
            _ => Pieces::Many(
                records
                    .iter()
                    .map(|r| self.piece(r))
                    .collect::<Result<_>>()?,
            ),
        };
        let stored: u64 = records.iter().map(|r| u64::from(r.size)).sum();
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
            FileKind::File => match self.zisofs(first, rr, stored) {
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

    /// Where the data of the record `r` is.
    pub(super) fn piece(&self, r: &Record) -> Result<Piece> {
        if r.unit_size == 0 && r.gap_size != 0 {
            return Err(Error::corrupt(
                self.image(),
                "directory record",
                r.offset,
                format!("interleave gap {} with a file unit size of 0", r.gap_size),
            ));
        }
        Ok(Piece {
            disk: r.data_offset(),
            len: u64::from(r.size),
            unit: u64::from(r.unit_size) * SECTOR,
            gap: u64::from(r.gap_size) * SECTOR,
        })
    }

    /// The date of a file: its record's recording date, or the times of its Rock Ridge TF
    /// entry where it has them. A date that cannot be is read as unset, and said so.
    fn recorded(&self, first: &Record, rr: Option<&RockRidge>) -> Timestamp {
        let image = self.image();
        if let Some((offset, why)) = rr.and_then(|r| r.impossible_time.as_ref()) {
            let said = format!("{why}: read as unset");
            self.warnings
                .say(image, "Rock Ridge TF entry", *offset, &said);
        }
        if rr.is_some_and(|r| r.mtime.and(r.atime).and(r.ctime).is_some()) {
            // Every time the record's date would stand in for is given.
            return Timestamp::default();
        }
        // Checked and decoded in one step.
        match iso_date::check_short(&first.date) {
            Ok(recorded) => recorded.unwrap_or_default(),
            Err(why) => {
                let said = format!("its recording date is not a date ({why}): read as unset");
                self.warnings
                    .say(image, "directory record", first.offset, &said);
                Timestamp::default()
            }
        }
    }

    /// The ZF entry of a file, if it announces zisofs. One that cannot (see [`Zf::fault`]) is
    /// not zisofs: the file is read as its `stored` bytes, and said so.
    fn zisofs(&self, first: &Record, rr: Option<&RockRidge>, stored: u64) -> Option<Zf> {
        let zf = rr?.zf?;
        let Some(why) = zf.fault() else {
            return Some(zf);
        };
        let said = format!(
            "its ZF entry does not announce zisofs ({why}): the file is read as its {stored} stored bytes"
        );
        self.warnings
            .say(self.image(), "directory record", first.offset, &said);
        None
    }

    /// The node of `ino`: found in the listing of the directory whose extent holds its record.
    pub(super) fn node(&self, ino: Ino) -> Result<NodeRef<'_>> {
        let not_found = || Error::NotFound(format!("{}: inode {ino}", self.image()));
        if ino == self.root {
            return self
                .root_node
                .get()
                .map(NodeRef::Root)
                .ok_or_else(not_found);
        }
        let dir = lock(&self.dirs).holder(ino).ok_or_else(not_found)?;
        let listing = self.listing(dir)?;
        let i = listing.by_ino(ino).ok_or_else(not_found)?;
        Ok(NodeRef::Listed(listing, i))
    }

    /// The name an entry is shown under; `None` when it is not a usable file name (the entry
    /// is left out, and said so: see [`crate::fs::left_out`]).
    /// The NM name is taken out of `rr`.
    fn entry_name(&self, rec: &Record, rr: Option<&mut RockRidge>) -> Option<Vec<u8>> {
        let is_dot = rr.as_ref().is_some_and(|r| r.name_is_dot);
        let name = match (self.view, rr.and_then(|r| r.name.take())) {
            (View::RockRidge, Some(nm)) => {
                if is_dot {
                    let why = "its Rock Ridge NM entry names it `.` or `..`";
                    self.leave_out(rec, &nm, why);
                    return None;
                }
                nm
            }
            (View::Joliet, _) => joliet::decode(joliet::strip_version(rec.name)).into_bytes(),
            _ => record::plain_name(rec.name).to_vec(),
        };
        match crate::fs::left_out::bad_name(&name) {
            Some(why) => {
                self.leave_out(rec, &name, why);
                None
            }
            None => Some(name),
        }
    }

    /// Leaves the entry of `rec`, named `name`, out of its directory's listing, because `why`.
    fn leave_out(&self, rec: &Record, name: &[u8], why: &str) {
        let at = crate::fs::left_out::At {
            image: self.image(),
            structure: "directory record",
            offset: rec.offset,
        };
        self.left_out.entry(&at, name, why);
    }

    /// Records the directory of `rec`, named `name` and listed in `parent`, as the extent of
    /// `len` bytes at `offset` (see [`super::registry::Dirs::add`]); false when it cannot be
    /// (a loop, a shared extent: the entry is left out, and said so).
    pub(super) fn register_dir(
        &self,
        parent: Ino,
        offset: u64,
        len: u32,
        rec: &Record,
        name: &[u8],
    ) -> bool {
        let added = lock(&self.dirs).add(parent, offset, len, rec.offset);
        added.map_err(|why| self.leave_out(rec, name, &why)).is_ok()
    }

    /// Decodes one directory entry (a record, or the records of a multi-extent file) of the
    /// directory `dir`; `None` for entries that are not listed.
    pub(super) fn decode_entry(&self, dir: Ino, group: &[Record]) -> Result<Option<Entry>> {
        let Some((first, rr, name)) = self.entry_head(group, RockRidge::add)? else {
            return Ok(None);
        };
        let (meta, data) = match rr.as_ref().and_then(|r| r.child_link) {
            Some(block) => {
                // A relocated directory: its attributes are those of its own `.` record.
                let node = self.relocated_dot(dir, block, first, &name, |dot, dot_rr| {
                    self.decode_node(std::slice::from_ref(dot), Some(&dot_rr), true)
                })?;
                let Some(node) = node else {
                    return Ok(None);
                };
                node
            }
            None => {
                if first.is_dir()
                    && !self.register_dir(dir, first.data_offset(), first.size, first, &name)
                {
                    return Ok(None);
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

    /// What every listing of a directory entry (`group`: a record, or the records of a
    /// multi-extent file) starts with: its first record, its Rock Ridge entries (each added
    /// by `add`) in the Rock Ridge view, and its name; `None` for entries that are not listed
    /// (`.` and `..`, associated files, relocated directories in their storage place, names
    /// left out).
    pub(super) fn entry_head<'g, 'a>(
        &self,
        group: &'g [Record<'a>],
        add: AddEntry,
    ) -> Result<Option<Head<'g, 'a>>> {
        let Some(first) = group.first() else {
            return Ok(None);
        };
        if first.is_self_or_parent() {
            return Ok(None);
        }
        if first.flags & record::ASSOCIATED != 0 {
            self.associated_seen
                .store(true, std::sync::atomic::Ordering::Relaxed);
            return Ok(None);
        }
        let mut rr = match self.view {
            View::RockRidge => Some(self.rock_ridge_by(first, self.susp_skip, add)?),
            _ => None,
        };
        if rr.as_ref().is_some_and(|r| r.relocated) {
            return Ok(None);
        }
        let Some(name) = self.entry_name(first, rr.as_mut()) else {
            return Ok(None);
        };
        Ok(Some((first, rr, name)))
    }

    /// The `.` record (and its Rock Ridge entries) of the directory relocated to `block`,
    /// which the record `first` of `dir`, named `name`, stands for (its CL entry), registered
    /// as `dir`'s, handed to `then`; `None` when it cannot be (the entry is left out).
    pub(super) fn relocated_dot<T>(
        &self,
        dir: Ino,
        block: u32,
        first: &Record,
        name: &[u8],
        then: impl FnOnce(&Record, RockRidge) -> Result<T>,
    ) -> Result<Option<T>> {
        let offset = u64::from(block) * SECTOR;
        let buf = self
            .source
            .read_vec(offset, SECTOR as usize, "relocated directory")?;
        let dot = Record::decode(&buf, offset, self.image())?;
        if dot.name != record::SELF || !dot.is_dir() {
            return Err(Error::corrupt(
                self.image(),
                "Rock Ridge CL entry",
                first.offset,
                format!("block {block} does not start with a directory's `.` record"),
            ));
        }
        let dot_rr = self.rock_ridge(&dot, self.susp_skip)?;
        if !self.register_dir(dir, dot.data_offset(), dot.size, first, name) {
            return Ok(None);
        }
        then(&dot, dot_rr).map(Some)
    }

    /// The AAIP attributes of the record at `ino` (read again, so listings need not keep
    /// them). AL entries always count; AA entries only where the root's ER entries announce
    /// AAIP 1.0 or 0.2, which used that signature (Apple's extensions use it too).
    pub(super) fn aaip_xattrs(&self, ino: Ino) -> Result<Vec<Xattr>> {
        self.attribute_list(ino)?.finish(self.image())
    }

    /// The value of libisofs's attribute `isofs.NAME` of the record at `ino` (`name` without
    /// the namespace), if recorded: its bookkeeping, such as xorriso's MD5 checksum index.
    pub(crate) fn isofs_attribute(&self, ino: Ino, name: &[u8]) -> Result<Option<Vec<u8>>> {
        self.attribute_list(ino)?.isofs(self.image(), name)
    }

    /// The attribute list of the record at `ino` (see [`IsoFs::aaip_xattrs`]).
    fn attribute_list(&self, ino: Ino) -> Result<aaip::AttributeList> {
        let image = self.image();
        let buf = self.record_bytes(ino)?;
        let rec = Record::decode(&buf, ino, image)?;
        let old = self.rock_ridge.as_ref().is_some_and(|ids| {
            ids.iter()
                .any(|id| matches!(id.as_str(), "AAIP_0100" | "AAIP_0002"))
        });
        let skip = self.skip_of(ino);
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
        Ok(list)
    }
}
