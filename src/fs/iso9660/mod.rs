//! ISO 9660 (ECMA-119 levels 1-3, ISO 9660:1999) with Rock Ridge, Joliet and zisofs: the
//! [`IsoFs`] filesystem. Each on-disc structure is decoded (and encoded, for the writer) in
//! its own module (`volume`, `record`, `pathtable`, `susp`, `rockridge`, `zisofs`, `aaip`);
//! the filesystem is built from `view` (which tree is shown), `registry` (where each
//! directory seen is), `node` and `listing` (records to [`Metadata`] and directory entries),
//! `data` (file data reads and spans) and `info`.
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
//! - What mastering tools write beyond the letter is read as Linux and xorriso read it: a
//!   primary root record whose length says more than its 34-byte field, SL root components
//!   inside a path (each a `/`). What cannot be is read as the other readers read it, with a
//!   warning on stderr (`warnings`): an impossible date as unset (libarchive), a ZF entry zisofs
//!   cannot have as no compression (Linux).
//! - An entry whose name cannot be a file name (empty, `.`, `..`, containing `/` or NUL, from
//!   any tree), or a directory whose extent loops back to an ancestor's (or is another
//!   directory's), is left out of its listing with a warning rather than rewritten: the rest
//!   of the image reads ([`crate::fs::left_out`]), and `commit` refuses to lose it.
//! - An [`Ino`] is the byte offset of the file's (first) directory record in the source; the
//!   root's is its `.` record. So the vfs can ask by `Ino` alone, the location (extent, parent)
//!   of every directory seen is kept; a file's node is found in the listing of the directory
//!   whose extent holds its record. Listings are kept in a cache bounded by their total number
//!   of entries (evicted ones are read again; the ancestors of the directory just read are
//!   kept), so memory does not grow with the number of files.

mod aaip;
mod cache;
pub mod checksums;
mod data;
mod info;
pub mod inplace;
pub mod joliet;
mod listing;
mod names;
mod node;
pub mod pathtable;
pub mod record;
mod recorded;
mod registry;
pub mod rockridge;
pub mod susp;
mod view;
pub mod volume;
mod warnings;
pub mod write;
pub mod zisofs;
pub mod zisofs2;

pub use recorded::Recorded;

use std::sync::{Arc, Mutex, OnceLock};

use crate::fs::left_out::LeftOut;
use cache::Lru;
use data::Data;
use listing::{Entry, Listing, LISTING_BUDGET};
use node::Node;
use record::Record;
use registry::Dirs;
use view::View;
use volume::Descriptor;
use warnings::Warnings;

use crate::error::{Error, Result};
use crate::fs::{Attribute, DirEntry, FileSystem, Ino, Metadata, MountOptions, Span, Xattr};
use crate::source::Source;

/// The logical block (sector) size: the only one read.
pub const SECTOR: u64 = 2048;

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
    /// The buffer the last directory was read into, kept for the next (see `listing`).
    dir_buf: Mutex<Vec<u8>>,
    zisofs: Mutex<zisofs::Cache>,
    warnings: Warnings,
    /// The writer's look at the image, found once (staging checks every name against it):
    /// its Joliet tree (`Some(long names)` when there is one), and the style of its ISO 9660
    /// identifiers (level 1, versions).
    joliet_long: OnceLock<Option<bool>>,
    iso_style: OnceLock<(bool, bool)>,
    /// The sector the last record read as recorded lies in (its offset and bytes).
    last_sector: Mutex<Option<(u64, Vec<u8>)>>,
    /// Set when a listing left out an associated file.
    associated_seen: std::sync::atomic::AtomicBool,
    /// The entries listings left out (bad names, loops).
    left_out: LeftOut,
}

use crate::error::lock_cache as lock;

impl IsoFs {
    /// Reads the volume descriptors of `source` and picks the tree to show.
    pub fn open(source: Arc<dyn Source>, options: &MountOptions) -> Result<Self> {
        let image = source.name().to_string();
        let descriptors = volume::read_set(source.as_ref())?;
        let choice = view::choose(source.as_ref(), &descriptors, options)?;
        let (buf, root) = view::root_directory(source.as_ref(), choice.tree)?;
        let dot = Record::decode(&buf, root, &image)?;
        if !dot.is_dir() || dot.name != record::SELF {
            return Err(Error::corrupt(
                &image,
                "root directory",
                root,
                "the first record of the root directory is not its `.`",
            ));
        }
        let mut fs = IsoFs {
            label: choice.label,
            view: choice.view,
            susp_skip: choice.susp_skip,
            rock_ridge: choice.rock_ridge,
            source,
            root,
            descriptors,
            root_node: OnceLock::new(),
            dirs: Mutex::new(Dirs::new(root, u64::from(dot.size))),
            listings: Mutex::new(Lru::new(LISTING_BUDGET)),
            dir_buf: Mutex::default(),
            zisofs: Mutex::default(),
            warnings: Warnings::default(),
            joliet_long: OnceLock::new(),
            iso_style: OnceLock::new(),
            last_sector: Mutex::default(),
            associated_seen: Default::default(),
            left_out: LeftOut::default(),
        };
        let rr = match fs.view {
            View::RockRidge => Some(fs.rock_ridge(&dot, 0)?),
            _ => None,
        };
        let (meta, data) = fs.decode_node(std::slice::from_ref(&dot), rr.as_ref(), true)?;
        fs.root_node = OnceLock::from(Node { meta, data });
        Ok(fs)
    }

    fn image(&self) -> &str {
        self.source.name()
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
    fn names(&self, dir: Ino) -> Result<Vec<crate::fs::NameKind>> {
        self.names_of(dir)
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
        self.read_data(ino, &node.data, offset, &mut buf[..want])
    }
    fn spans(&self, ino: Ino) -> Result<Option<Vec<Span>>> {
        match &self.node(ino)?.data {
            Data::Plain(pieces) => self.spans_of(pieces).map(Some),
            _ => Ok(None),
        }
    }
    fn xattrs(&self, ino: Ino) -> Result<Vec<Xattr>> {
        self.node(ino)?;
        if self.view != View::RockRidge {
            return Ok(Vec::new());
        }
        self.aaip_xattrs(ino)
    }
    fn name_fit(&self, name: &[u8], is_dir: bool) -> Result<Option<String>> {
        let fit = write::check_name(self, name, is_dir)?;
        Ok(match fit.joliet {
            Some((joliet, true)) => Some(format!(
                "Joliet cannot hold the whole name: its tree records {joliet:?}"
            )),
            _ if !fit.kept(name) => Some(format!(
                "ISO 9660 cannot hold the name: it records {:?}",
                fit.iso
            )),
            _ => None,
        })
    }
    fn left_out(&self) -> Option<String> {
        let associated = self
            .associated_seen
            .load(std::sync::atomic::Ordering::Relaxed)
            .then(|| "associated files (resource forks), which listings leave out".to_string());
        let said: Vec<String> = associated.into_iter().chain(self.left_out.said()).collect();
        (!said.is_empty()).then(|| said.join(", and "))
    }
    fn refuses(&self, what: Attribute) -> Option<String> {
        (!self.has_rock_ridge()).then(|| {
            format!(
                "{} in an image without Rock Ridge: plain ISO 9660 cannot record them",
                what.name()
            )
        })
    }
    fn info(&self) -> Vec<(String, String)> {
        self.details()
    }
}
