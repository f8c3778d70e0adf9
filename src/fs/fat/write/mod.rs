//! The FAT writer: the new bytes of a FAT image holding the tree as it is now. The image is
//! copied (in memory, or to a temporary file when large: `scratch`) and the tree's
//! differences from the original are applied to the copy through fatfs: entries that went
//! away or changed are removed, then new and changed files and new directories are written
//! (a rename is a removal and an addition). What did not change stays where it was, byte for
//! byte, so the size, geometry, FAT type, label and serial are the original's, and a tree with
//! no change gives back the original's bytes. A size asked with `resize-fat`, or a new label,
//! formats a new volume instead (`format`) and copies the whole tree into it. An entry of the
//! original written anew keeps its read-only, hidden and system attributes (`attrs`).

mod attrs;
mod dots;
mod format;
mod scratch;
mod stamp;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::rc::Rc;

use fatfs::FsOptions;

use super::FatFs;
use crate::data::Span;
use crate::error::{Error, Result};
use crate::fs::{DirEntry, FileSystem, Ino, Metadata};
use crate::overlay::{Overlay, Provenance};
use crate::plan::Plan;
use scratch::Scratch;

/// The new content of the FAT image `original` was opened on, holding `tree`.
pub fn plan(
    original: &FatFs,
    tree: &dyn FileSystem,
    provenance: &dyn Fn(Ino) -> Provenance,
) -> Result<Plan> {
    let source = original.source();
    let size = wanted_size(tree).unwrap_or(source.len());
    if size != source.len() || tree.label() != original.label() {
        return format::plan(original, tree, size);
    }
    let mut edits = Edits::default();
    edits.diff(original, tree, provenance, original.root(), "")?;
    if edits.removed.is_empty() && edits.added.is_empty() {
        let mut plan = Plan::new();
        plan.push(Span::Source {
            source: source.clone(),
            offset: 0,
            len: source.len(),
        });
        return Ok(plan);
    }
    let mut scratch = Scratch::copy_of(source.as_ref())?;
    edits.apply(&mut scratch, tree, source.name())?;
    scratch.into_plan(rebuilt_name(source.name()))
}

/// The size `resize-fat` asked for, when `tree` is an overlay that holds one.
fn wanted_size(tree: &dyn FileSystem) -> Option<u64> {
    let any: &dyn std::any::Any = tree;
    any.downcast_ref::<Overlay>().and_then(Overlay::size)
}

/// How errors name the rebuilt bytes.
fn rebuilt_name(image: &str) -> String {
    format!("{image} (rebuilt)")
}

/// An object of the tree to write: a file (its data) or a directory (empty; its entries
/// follow it in the list).
struct Added {
    /// From the volume's root, `/`-separated, without a leading `/`.
    path: String,
    ino: Ino,
    meta: Metadata,
    /// The original entry's read-only, hidden and system bits (0 for a new object).
    attrs: u8,
}

/// What the tree changes of the original.
#[derive(Default)]
struct Edits {
    /// The original's entries to remove (whole directories with what they hold).
    removed: Vec<String>,
    /// The objects to write, parents first.
    added: Vec<Added>,
}

/// `name` as the text of a FAT long name (as fatfs writes one), or why FAT cannot hold it:
/// a long name is at most 255 bytes of UTF-8, of letters, digits, characters from U+0080 to
/// U+FFFF, spaces and the punctuation fatfs accepts.
pub fn fat_name(name: &[u8]) -> std::result::Result<&str, String> {
    let text = std::str::from_utf8(name).map_err(|_| "the name is not UTF-8".to_string())?;
    if name.len() > 255 {
        return Err(format!(
            "{} bytes, over the 255 a long name holds",
            name.len()
        ));
    }
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || ('\u{80}'..='\u{ffff}').contains(&c)
            || "$%'-_@~`!(){}. +,;=[]^#&".contains(c)
    };
    match text.chars().find(|&c| !allowed(c)) {
        Some(c) => Err(format!("{c:?} is not a character a FAT long name may hold")),
        None => Ok(text),
    }
}

/// `name` below `parent`, as fatfs takes paths (from the root, no leading `/`).
fn join(parent: &str, name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    if parent.is_empty() {
        name.into_owned()
    } else {
        format!("{parent}/{name}")
    }
}

/// A new name `name` below `parent`, or the error for a name FAT cannot hold.
fn child(parent: &str, name: &[u8]) -> Result<String> {
    match fat_name(name) {
        Ok(_) => Ok(join(parent, name)),
        Err(why) => Err(Error::CannotStoreName {
            path: format!("/{}", join(parent, name)),
            format: "FAT",
            why,
        }),
    }
}

impl Edits {
    /// Compares directory `dir` of the original with the same directory in `tree` (at
    /// `path`): an entry of the original stays when the tree has the same object under the
    /// same name, unchanged (a directory is kept and compared in turn); every other entry of
    /// the original is removed and every other entry of the tree added.
    fn diff(
        &mut self,
        original: &FatFs,
        tree: &dyn FileSystem,
        provenance: &dyn Fn(Ino) -> Provenance,
        dir: Ino,
        path: &str,
    ) -> Result<()> {
        let before = original.read_dir(dir)?;
        let now = tree.read_dir(dir)?;
        let by_name: HashMap<&[u8], &DirEntry> =
            before.iter().map(|b| (b.name.as_slice(), b)).collect();
        let kept = |n: &DirEntry| {
            by_name.get(n.name.as_slice()).is_some_and(|b| {
                b.ino == n.ino
                    && b.meta.is_dir() == n.meta.is_dir()
                    && (n.meta.is_dir() || provenance(n.ino) == Provenance::UNCHANGED)
            })
        };
        let stay: HashSet<&[u8]> = now
            .iter()
            .filter(|n| kept(n))
            .map(|n| n.name.as_slice())
            .collect();
        for b in before.iter().filter(|b| !stay.contains(b.name.as_slice())) {
            self.removed.push(join(path, &b.name));
        }
        for n in &now {
            match (kept(n), n.meta.is_dir()) {
                (true, true) => {
                    let at = join(path, &n.name);
                    self.diff(original, tree, provenance, n.ino, &at)?
                }
                (true, false) => {}
                (false, _) => {
                    let at = child(path, &n.name)?;
                    self.add(original, tree, n.ino, n.meta.clone(), at)?
                }
            }
        }
        Ok(())
    }

    /// Adds object `ino` of `tree` at `path`, and what it holds if it is a directory; an
    /// object of `original` keeps its attributes.
    fn add(
        &mut self,
        original: &FatFs,
        tree: &dyn FileSystem,
        ino: Ino,
        meta: Metadata,
        path: String,
    ) -> Result<()> {
        let is_dir = meta.is_dir();
        if !is_dir && meta.kind != crate::fs::FileKind::File {
            return Err(Error::unsupported(
                tree.source().name(),
                format!(
                    "/{path}: FAT holds files and directories only, not {}",
                    crate::fs::Attribute::of_kind(meta.kind)
                        .map_or("this kind of object", |a| a.name())
                ),
            ));
        }
        let attrs = original.attributes(ino)?.unwrap_or(0) & attrs::KEPT;
        self.added.push(Added {
            path: path.clone(),
            ino,
            meta,
            attrs,
        });
        if is_dir {
            for e in tree.read_dir(ino)? {
                let at = child(&path, &e.name)?;
                self.add(original, tree, e.ino, e.meta, at)?;
            }
        }
        Ok(())
    }

    /// Applies the edits to the FAT volume in `disk` (named `image` in errors), reading new
    /// data from `tree`: removals first, so their clusters are free for what is added.
    fn apply(&self, disk: &mut Scratch, tree: &dyn FileSystem, image: &str) -> Result<()> {
        let writes = Rc::new(RefCell::new(Vec::new()));
        let logged = dots::Disk {
            scratch: &mut *disk,
            writes: writes.clone(),
        };
        let mut dirs = Vec::new();
        let mut marked = Vec::new();
        self.write(logged, tree, image, &mut |a: Option<&Added>| {
            let log = std::mem::take(&mut *writes.borrow_mut());
            let Some(a) = a else { return };
            if a.attrs != 0 {
                marked.push(attrs::Marked {
                    writes: log.clone(),
                    path: a.path.clone(),
                    is_dir: a.meta.is_dir(),
                    attrs: a.attrs,
                });
            }
            if a.meta.is_dir() {
                dirs.push(dots::NewDir::new(log, &a.path));
            }
        })?;
        dots::fix(disk, &dirs, image)?;
        attrs::restore(disk, &marked, image)
    }

    /// Applies the edits through fatfs on `disk`; `made` is called before each object is
    /// made (with `None`) and as soon as its entry is (with the object).
    fn write(
        &self,
        disk: dots::Disk<'_>,
        tree: &dyn FileSystem,
        image: &str,
        made: &mut dyn FnMut(Option<&Added>),
    ) -> Result<()> {
        let fat_err = |what: &str, path: &str, e: io::Error| {
            Error::unsupported(
                image,
                format!("writing the FAT volume: {what} /{path}: {e}"),
            )
        };
        let options = FsOptions::new().time_provider(&stamp::STAGED);
        let fs = fatfs::FileSystem::new(disk, options)
            .map_err(|e| Error::corrupt(image, "FAT boot sector", 0, e.to_string()))?;
        let root = fs.root_dir();
        for path in &self.removed {
            remove_tree(&root, path).map_err(|e| fat_err("removing", path, e))?;
        }
        let stats = fs
            .stats()
            .map_err(|e| fat_err("counting free clusters in", "", e))?;
        let cluster = u64::from(stats.cluster_size());
        let free = u64::from(stats.free_clusters()) * cluster;
        for a in &self.added {
            if root.open_dir(&a.path).is_ok() || root.open_file(&a.path).is_ok() {
                return Err(Error::CannotStoreName {
                    path: format!("/{}", a.path),
                    format: "FAT",
                    why: "another name in its directory differs from it only in case".into(),
                });
            }
            stamp::set(a.meta.mtime);
            made(None);
            let written = if a.meta.is_dir() {
                root.create_dir(&a.path).map(|dir| {
                    made(Some(a));
                    drop(dir)
                })
            } else {
                root.create_file(&a.path).and_then(|mut file| {
                    made(Some(a));
                    copy_data(tree, a.ino, &mut file)?;
                    file.flush()
                })
            };
            written.map_err(|e| match no_space(&e) {
                true => self.no_space(image, cluster, free, disk_len(tree)),
                false => fat_err("writing", &a.path, e),
            })?;
        }
        drop(root);
        fs.unmount().map_err(|e| fat_err("closing", "", e))
    }

    /// The error for changes that do not fit: what they need against what is free (after the
    /// removals), and how to make room.
    fn no_space(&self, image: &str, cluster: u64, free: u64, len: u64) -> Error {
        let needed: u64 = self
            .added
            .iter()
            .map(|a| match a.meta.is_dir() {
                true => cluster,
                false => a.meta.size.div_ceil(cluster) * cluster,
            })
            .sum();
        // The shortfall, plus room for the larger tables, rounded up to a MiB.
        let short = needed.saturating_sub(free);
        let suggest = (len + short + short / 16 + (1 << 20)).div_ceil(1 << 20);
        Error::NoSpace {
            target: image.to_string(),
            detail: format!(
                "the changes need {needed} bytes of clusters and {free} bytes are free in \
                 the {len}-byte FAT image; grow it with `resize-fat MOUNTPOINT {suggest}M` \
                 (or larger) before the commit"
            ),
        }
    }
}

/// The length of the image `tree` was read from.
fn disk_len(tree: &dyn FileSystem) -> u64 {
    tree.source().len()
}

/// Whether fatfs gave up for lack of clusters or directory entries.
fn no_space(e: &io::Error) -> bool {
    e.to_string().contains("No space left")
}

/// Removes `path` from the volume, with everything in it if it is a directory.
fn remove_tree<T: fatfs::ReadWriteSeek>(root: &fatfs::Dir<'_, T>, path: &str) -> io::Result<()> {
    if let Ok(dir) = root.open_dir(path) {
        let names: Vec<String> = dir
            .iter()
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()?;
        for name in names.iter().filter(|n| *n != "." && *n != "..") {
            remove_tree(root, &format!("{path}/{name}"))?;
        }
    }
    root.remove(path)
}

/// Bytes read from the tree at a time.
const CHUNK: usize = 1 << 20;

/// Writes the data of file `ino` of `tree` to `file`.
fn copy_data(tree: &dyn FileSystem, ino: Ino, file: &mut impl Write) -> io::Result<()> {
    let mut buf = vec![0; CHUNK];
    let mut at = 0u64;
    loop {
        let n = tree.read_at(ino, at, &mut buf).map_err(io::Error::other)?;
        if n == 0 {
            return Ok(());
        }
        file.write_all(&buf[..n])?;
        at += n as u64;
    }
}
