//! The tree to write, gathered once from the [`FileSystem`] given to the writer: one [`Obj`]
//! per file or directory (its metadata, provenance, the original's record for objects of the
//! original, where its data comes from), and the ISO 9660 hierarchy built over it, which
//! differs from the real one only by Rock Ridge relocation.
//!
//! Choices where the standards leave room:
//! - Directories deeper than ECMA-119's eight levels are relocated when the original relocated
//!   its own (genisoimage's `-R` does; xorriso writes deep trees as they are, and so does a
//!   rewrite of its images): into an `rr_moved` directory of the root, mode 0555 as
//!   genisoimage makes it, a file record with CL standing for the directory in its real
//!   parent, the directory with RE in `rr_moved`, PL in its `..`. Without Rock Ridge nothing
//!   could say where they really are, so they are written deep (as Linux and xorriso read).
//! - Hard links are files of the tree with the same inode number and a link count over one:
//!   they share one data extent, and Rock Ridge 1.12 gives them one serial number.

use super::HashMap;

use super::super::Recorded;
use super::super::{aaip, IsoFs};
use crate::error::{Error, Result};
use crate::fs::{FileKind, FileSystem, Ino, Metadata, Span};
use crate::overlay::Provenance;

/// ECMA-119's deepest directory level (the root is level 1).
const MAX_LEVEL: usize = 8;
/// The entries of the original's records a rewrite may copy or look at.
const KEPT: &[&[u8; 2]] = &[b"TF", b"PN", b"SL", b"NM", b"ZF", b"Z2", b"AL", b"CL"];
/// Largest file read into memory when the tree gives no spans for it.
const MAX_UNLAID: u64 = 256 << 20;

/// Where a file's data comes from.
#[derive(Clone, Debug)]
pub(super) enum Content {
    /// No data extent (directories, symlinks, devices, empty files).
    None,
    /// These spans, in order (`stored` bytes: for a kept zisofs file, its compressed size).
    Spans { spans: Vec<Span>, stored: u64 },
    /// The data of the hard link `obj`.
    LinkOf(usize),
}

/// One file or directory of the tree to write (or the `rr_moved` directory the writer adds).
#[derive(Debug)]
pub(super) struct Obj {
    pub(super) ino: Ino,
    pub(super) meta: Metadata,
    pub(super) prov: Provenance,
    /// The visible (Rock Ridge) name; empty for the root.
    pub(super) name: Vec<u8>,
    /// The real parent (the root's is itself).
    pub(super) parent: usize,
    /// The real children, directories only.
    pub(super) children: Vec<usize>,
    /// The original's record, for objects of the original.
    pub(super) recorded: Option<Recorded>,
    pub(super) content: Content,
    /// The content is the original's zisofs data as stored (its ZF entry is kept).
    pub(super) zisofs_kept: bool,
    /// The AAIP AL entries of its attributes, and whether they were encoded (not copied).
    pub(super) al: Vec<Vec<u8>>,
    pub(super) al_encoded: bool,
    /// The ISO 9660 identifier (and, once relocated, the one in `rr_moved`).
    pub(super) iso_name: Vec<u8>,
    pub(super) moved_name: Vec<u8>,
    pub(super) joliet_name: Vec<u8>,
    /// Where the directory's record is in the ISO hierarchy, when not under its real parent.
    pub(super) relocated: bool,
    /// Records in the ISO hierarchy: children (sorted), relocated ones as their CL stubs.
    pub(super) iso_children: Vec<usize>,
    /// Rock Ridge 1.12 serial number.
    pub(super) serial: u32,
    /// The link count written.
    pub(super) nlink: u32,
    /// The hidden (existence) flag of the original's record.
    pub(super) hidden: bool,
    /// What of the original's metadata it still has, so its recorded entries can be copied.
    pub(super) same: Same,
}

/// What of its metadata an object of the original still has as recorded (all false for a
/// new object), found once when the tree is gathered.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Same {
    /// Modification time (the record's date).
    pub(super) mtime: bool,
    /// All three times (the TF entry).
    pub(super) times: bool,
    /// Symlink target and device numbers (the SL and PN entries).
    pub(super) target: bool,
}

impl Same {
    /// An object whose metadata nothing changed.
    const ALL: Same = Same {
        mtime: true,
        times: true,
        target: true,
    };

    /// How `now` compares with `before`, the original's metadata.
    fn of(before: &Metadata, now: &Metadata) -> Same {
        Same {
            mtime: before.mtime == now.mtime,
            times: (before.mtime, before.atime, before.ctime) == (now.mtime, now.atime, now.ctime),
            target: before.symlink == now.symlink && before.rdev == now.rdev,
        }
    }
}

/// The tree to write.
pub(super) struct Tree {
    pub(super) objs: Vec<Obj>,
    /// Copy the original's AL entries as recorded while the attributes are unchanged (false
    /// when they hold xorriso's MD5 bookkeeping, `isofs.ca` and `isofs.cx`, which would no
    /// longer match).
    keep_raw_al: bool,
    /// The `rr_moved` directory, when relocation made one.
    pub(super) rr_moved: Option<usize>,
}

impl Tree {
    /// Walks `tree` from its root.
    pub(super) fn gather(
        original: &IsoFs,
        tree: &dyn FileSystem,
        provenance: &dyn Fn(Ino) -> Provenance,
        keep_raw_al: bool,
    ) -> Result<Tree> {
        let mut t = Tree {
            objs: Vec::new(),
            keep_raw_al,
            rr_moved: None,
        };
        let root = tree.root();
        let meta = tree.metadata(root)?;
        t.add(original, tree, provenance, root, meta, Vec::new(), 0)?;
        let mut at = 0;
        while at < t.objs.len() {
            if t.objs[at].meta.is_dir() {
                let ino = t.objs[at].ino;
                for e in tree.read_dir(ino)? {
                    let child = t.add(original, tree, provenance, e.ino, e.meta, e.name, at)?;
                    t.objs[at].children.push(child);
                }
            }
            at += 1;
        }
        // The objects are kept until the last byte is planned: give back what growing left.
        t.objs.shrink_to_fit();
        t.link_counts();
        Ok(t)
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        original: &IsoFs,
        tree: &dyn FileSystem,
        provenance: &dyn Fn(Ino) -> Provenance,
        ino: Ino,
        meta: Metadata,
        name: Vec<u8>,
        parent: usize,
    ) -> Result<usize> {
        let prov = provenance(ino);
        let recorded = match prov {
            Provenance::Base { .. } => {
                let mut r = original.original_record(ino)?;
                // Only what a rewrite may copy is kept (memory grows with the file count).
                r.entries
                    .retain(|e| KEPT.iter().any(|sig| e.starts_with(*sig)));
                r.entries.shrink_to_fit();
                Some(r)
            }
            Provenance::New => None,
        };
        let hidden = recorded.as_ref().is_some_and(|r| r.flags & 1 != 0);
        let same = match (&recorded, prov) {
            (Some(_), Provenance::Base { meta: true, .. }) => Same::ALL,
            (Some(_), _) => Same::of(&original.metadata(ino)?, &meta),
            (None, _) => Same::default(),
        };
        let mut recorded = recorded;
        let (al, al_encoded) = match original.has_rock_ridge() {
            true => attribute_list(original, tree, ino, recorded.as_mut(), self.keep_raw_al)?,
            false => (Vec::new(), false),
        };
        let kept = match (&recorded, prov) {
            (Some(r), Provenance::Base { data: true, .. }) => r.zisofs_stored.clone(),
            _ => None,
        };
        let zisofs_kept = kept.is_some();
        let content = match kept {
            Some(spans) => Content::Spans {
                stored: spans.iter().map(Span::len).sum(),
                spans,
            },
            None if meta.kind == FileKind::File && meta.size > 0 => data_spans(tree, ino, &meta)?,
            None => Content::None,
        };
        let at = self.objs.len();
        self.objs.push(Obj {
            ino,
            meta,
            prov,
            name,
            parent: if at == 0 { 0 } else { parent },
            children: Vec::new(),
            recorded,
            content,
            zisofs_kept,
            al,
            al_encoded,
            iso_name: Vec::new(),
            moved_name: Vec::new(),
            joliet_name: Vec::new(),
            relocated: false,
            iso_children: Vec::new(),
            serial: 0,
            nlink: 1,
            hidden,
            same,
        });
        Ok(at)
    }

    /// Link counts and serial numbers: a directory has two and one per subdirectory (or one
    /// when the original says one, as xorriso writes); hard links share the first one's data
    /// and serial number. Files of the original with unchanged data and the same inode number
    /// (the same extent, without Rock Ridge) share their extent again.
    fn link_counts(&mut self) {
        // By inode number, the original's objects apart from the overlay's.
        let key = |o: &Obj| (o.meta.ino, matches!(o.prov, Provenance::Base { .. }));
        let mut groups: HashMap<(u64, bool), Vec<usize>> = HashMap::default();
        for (i, o) in self.objs.iter().enumerate() {
            let same_extent = o.prov.data_kept() && matches!(o.content, Content::Spans { .. });
            if !o.meta.is_dir() && (o.meta.nlink > 1 || same_extent) {
                groups.entry(key(o)).or_default().push(i);
            }
        }
        let mut serial = 0u32;
        for i in 0..self.objs.len() {
            if self.objs[i].serial != 0 {
                continue;
            }
            serial += 1;
            let o = &self.objs[i];
            if o.meta.is_dir() {
                let subdirs = o
                    .children
                    .iter()
                    .filter(|&&c| self.objs[c].meta.is_dir())
                    .count();
                self.objs[i].nlink = if o.meta.nlink == 1 {
                    1
                } else {
                    2 + subdirs as u32
                };
                self.objs[i].serial = serial;
                continue;
            }
            let group = groups.get(&key(o)).cloned().unwrap_or_else(|| vec![i]);
            let nlink = if o.meta.nlink > 1 {
                group.len() as u32
            } else {
                o.meta.nlink.max(1)
            };
            for &g in &group {
                self.objs[g].serial = serial;
                self.objs[g].nlink = nlink;
                if g != i && matches!(self.objs[g].content, Content::Spans { .. }) {
                    self.objs[g].content = Content::LinkOf(i);
                }
            }
        }
    }

    /// The object at `path` (from the root, `/`-separated, as the tree names its files).
    pub(super) fn find(&self, path: &str) -> Option<usize> {
        path.split('/')
            .filter(|c| !c.is_empty())
            .try_fold(0usize, |dir, name| {
                self.objs[dir]
                    .children
                    .iter()
                    .copied()
                    .find(|&c| self.objs[c].name == name.as_bytes())
            })
    }

    /// The path of object `obj`, for messages.
    pub(super) fn path(&self, obj: usize) -> String {
        let mut names = Vec::new();
        let mut at = obj;
        while at != 0 && names.len() < 256 {
            names.push(String::from_utf8_lossy(&self.objs[at].name).into_owned());
            at = self.objs[at].parent;
        }
        names.reverse();
        format!("/{}", names.join("/"))
    }

    /// Relocates, into a new `rr_moved` of the root, every directory whose level in the ISO
    /// hierarchy would pass eight.
    pub(super) fn relocate_deep(&mut self, name_taken: &dyn Fn(&[u8]) -> bool) {
        let mut stack = vec![(0usize, 1usize)];
        let mut moved = Vec::new();
        while let Some((dir, level)) = stack.pop() {
            for c in self.objs[dir].children.clone() {
                if !self.objs[c].meta.is_dir() {
                    continue;
                }
                if level + 1 > MAX_LEVEL {
                    self.objs[c].relocated = true;
                    moved.push(c);
                    // In rr_moved (level 2), the directory is at level 3.
                    stack.push((c, 3));
                } else {
                    stack.push((c, level + 1));
                }
            }
        }
        if moved.is_empty() {
            return;
        }
        let name: &[u8] = if name_taken(b"rr_moved") {
            b".rr_moved"
        } else {
            b"rr_moved"
        };
        let root = &self.objs[0];
        let mut meta = root.meta.clone();
        meta.mode = 0o555;
        let at = self.objs.len();
        self.objs.push(Obj {
            ino: root.ino,
            meta,
            prov: Provenance::New,
            name: name.to_vec(),
            parent: 0,
            children: Vec::new(),
            recorded: None,
            content: Content::None,
            zisofs_kept: false,
            al: Vec::new(),
            al_encoded: false,
            iso_name: b"RR_MOVED".to_vec(),
            moved_name: Vec::new(),
            joliet_name: Vec::new(),
            relocated: false,
            serial: at as u32 + 1_000_000,
            nlink: 2 + moved.len() as u32,
            iso_children: moved,
            hidden: false,
            same: Same::default(),
        });
        self.rr_moved = Some(at);
        if self.objs[0].nlink > 1 {
            self.objs[0].nlink += 1;
        }
    }
}

/// The AL entries of `ino`'s attributes: the original's as recorded (with libisofs's own
/// `isofs.` ones) while the attributes are the original's and `keep_raw`, else the tree's
/// encoded. The original's AL entries leave `recorded`. True when encoded.
fn attribute_list(
    original: &IsoFs,
    tree: &dyn FileSystem,
    ino: Ino,
    recorded: Option<&mut Recorded>,
    keep_raw: bool,
) -> Result<(Vec<Vec<u8>>, bool)> {
    let xattrs = tree.xattrs(ino)?;
    if let Some(r) = recorded {
        let raw: Vec<Vec<u8>> = r.entries_of(b"AL").cloned().collect();
        r.entries.retain(|e| !e.starts_with(b"AL"));
        if keep_raw && !raw.is_empty() && xattrs == original.xattrs(ino)? {
            return Ok((raw, false));
        }
    }
    Ok((aaip::encode(&xattrs), !xattrs.is_empty()))
}

/// The data of a regular file of the tree: its spans, or (compressed in the tree, with no
/// spans) its bytes read into memory.
fn data_spans(tree: &dyn FileSystem, ino: Ino, meta: &Metadata) -> Result<Content> {
    let spans = file_spans(tree, ino, meta)?;
    Ok(Content::Spans {
        stored: spans.iter().map(Span::len).sum(),
        spans,
    })
}

/// The `meta.size` bytes of data of the regular file `ino` of `tree`, for a writer: its spans
/// when the tree stores it plainly, else (compressed in the tree) its bytes read into memory,
/// refused over 256 MiB.
pub(crate) fn file_spans(tree: &dyn FileSystem, ino: Ino, meta: &Metadata) -> Result<Vec<Span>> {
    if let Some(mut spans) = tree.spans(ino)? {
        let stored: u64 = spans.iter().map(Span::len).sum();
        if stored == meta.size {
            // Kept for every file until the plan is made: no spare room.
            spans.shrink_to_fit();
            return Ok(spans);
        }
    }
    if meta.size > MAX_UNLAID {
        return Err(Error::unsupported(
            tree.source().name(),
            format!(
                "writing inode {ino}: a file of {} bytes the tree gives no spans for (over {MAX_UNLAID} bytes)",
                meta.size
            ),
        ));
    }
    let mut buf = vec![0u8; meta.size as usize];
    let mut done = 0;
    while done < buf.len() {
        let n = tree.read_at(ino, done as u64, &mut buf[done..])?;
        if n == 0 {
            return Err(Error::corrupt(
                tree.source().name(),
                "file data",
                done as u64,
                format!(
                    "inode {ino} ends at {done} bytes, its size says {}",
                    meta.size
                ),
            ));
        }
        done += n;
    }
    Ok(vec![Span::Bytes(buf.into())])
}
