//! [`Tree`]: one filesystem of the disc (the ISO tree, the FAT of an EFI image, a live root) as
//! inspection reads it: files found by path (symlinks followed inside the filesystem, a name
//! that misses matched again without regard to case, as an ISO 9660 name without Rock Ridge
//! is upper case), and read with a bound, so a huge or binary file costs no more than the
//! bound.

use std::sync::Arc;

use crate::error::Result;
use crate::fs::{FileKind, FileSystem, Ino, Metadata};
use crate::source::nested::FileInFs;
use crate::source::Source;

/// Symlinks followed in one lookup, as Linux does.
const MAX_SYMLINKS: usize = 40;

/// Path components looked at in one lookup (symlink targets included).
const MAX_COMPONENTS: usize = 256;

/// A file read with a bound: its first bytes, and whether there was more.
#[derive(Clone, Debug)]
pub struct Bounded {
    pub bytes: Vec<u8>,
    /// The file's whole size.
    pub size: u64,
}

impl Bounded {
    /// True when only the first bytes were read.
    pub fn truncated(&self) -> bool {
        self.size > self.bytes.len() as u64
    }

    /// The bytes as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// One filesystem, named for messages: `""` for the ISO tree, `/boot/grub/efi.img:` for a
/// FAT image inside it.
#[derive(Clone)]
pub struct Tree {
    pub fs: Arc<dyn FileSystem>,
    /// What goes before a path of this tree in what `inspect` prints.
    pub prefix: String,
}

impl Tree {
    pub fn new(fs: Arc<dyn FileSystem>, prefix: impl Into<String>) -> Tree {
        Tree {
            fs,
            prefix: prefix.into(),
        }
    }

    /// `path` as `inspect` shows it: with the tree's prefix.
    pub fn show(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    /// The file or directory at absolute `path`, symlinks followed; `None` when it is not
    /// there (or the way to it cannot be read).
    pub fn find(&self, path: &str) -> Option<(Ino, Metadata)> {
        self.walk(path).ok().flatten()
    }

    /// The regular file at `path`.
    pub fn file(&self, path: &str) -> Option<(Ino, Metadata)> {
        self.find(path).filter(|(_, m)| m.kind == FileKind::File)
    }

    /// True when a regular file is at `path`.
    pub fn has_file(&self, path: &str) -> bool {
        self.file(path).is_some()
    }

    /// The directory at `path`.
    pub fn dir(&self, path: &str) -> Option<Ino> {
        self.find(path)
            .filter(|(_, m)| m.kind == FileKind::Dir)
            .map(|(ino, _)| ino)
    }

    /// `path` as the filesystem spells it (`/EFI/boot` for `/EFI/BOOT`), when each component
    /// is there (symlinks not followed).
    pub fn spelled(&self, path: &str) -> Option<String> {
        let mut dir = self.fs.root();
        let mut out = String::new();
        for name in components(path) {
            let e = self.entry(dir, name).ok()??;
            out.push('/');
            out.push_str(&String::from_utf8_lossy(&e.name));
            dir = e.ino;
        }
        Some(if out.is_empty() { "/".into() } else { out })
    }

    /// The names of the entries of the directory at `path` with their kinds (none when it is
    /// no directory); at most `max` of them.
    pub fn list(&self, path: &str, max: usize) -> Vec<(String, FileKind)> {
        let Some(dir) = self.dir(path) else {
            return Vec::new();
        };
        let mut names: Vec<(String, FileKind)> = self
            .fs
            .read_dir(dir)
            .unwrap_or_default()
            .into_iter()
            .map(|e| (String::from_utf8_lossy(&e.name).into_owned(), e.meta.kind))
            .filter(|(n, _)| n != "." && n != "..")
            .take(max)
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        names
    }

    /// The first `limit` bytes of the regular file at `path`.
    pub fn read(&self, path: &str, limit: usize) -> Option<Bounded> {
        let (ino, meta) = self.file(path)?;
        let want = usize::try_from(meta.size).unwrap_or(usize::MAX).min(limit);
        let mut bytes = vec![0u8; want];
        let mut done = 0;
        while done < want {
            match self.fs.read_at(ino, done as u64, &mut bytes[done..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => done += n,
            }
        }
        bytes.truncate(done);
        Some(Bounded {
            bytes,
            size: meta.size,
        })
    }

    /// The regular file at `path` as a source (to open the image it holds).
    pub fn source(&self, path: &str) -> Option<Arc<dyn Source>> {
        let (ino, meta) = self.file(path)?;
        let name = format!("{}:{path}", self.fs.source().name());
        let file = FileInFs::new(self.fs.clone(), ino, meta.size, name).ok()?;
        Some(Arc::new(file))
    }

    /// Follows `path` from the root, one component at a time.
    fn walk(&self, path: &str) -> Result<Option<(Ino, Metadata)>> {
        let root = self.fs.root();
        let mut pending: Vec<String> = components(path).rev().map(str::to_string).collect();
        // The directories from the root down to where the walk is (for `..`).
        let mut trail: Vec<Ino> = vec![root];
        let mut here = (root, self.fs.metadata(root)?);
        let (mut links, mut steps) = (0, 0);
        while let Some(name) = pending.pop() {
            steps += 1;
            if steps > MAX_COMPONENTS {
                return Ok(None);
            }
            if name == ".." {
                if trail.len() > 1 {
                    trail.pop();
                }
                let dir = *trail.last().expect("the root stays");
                here = (dir, self.fs.metadata(dir)?);
                continue;
            }
            if here.1.kind != FileKind::Dir {
                return Ok(None);
            }
            let Some(entry) = self.entry(here.0, &name)? else {
                return Ok(None);
            };
            if entry.meta.kind == FileKind::Symlink {
                links += 1;
                let target = entry.meta.symlink.clone().unwrap_or_default();
                if links > MAX_SYMLINKS || target.is_empty() {
                    return Ok(None);
                }
                let target = String::from_utf8_lossy(&target).into_owned();
                if target.starts_with('/') {
                    trail.truncate(1);
                    here = (root, self.fs.metadata(root)?);
                }
                pending.extend(components(&target).rev().map(str::to_string));
                continue;
            }
            if entry.meta.kind == FileKind::Dir {
                trail.push(entry.ino);
            }
            here = (entry.ino, entry.meta);
        }
        Ok(Some(here))
    }

    /// The entry `name` of directory `dir`: exactly, else the one whose name differs only in
    /// case (and in an ISO 9660 `;1` version).
    fn entry(&self, dir: Ino, name: &str) -> Result<Option<crate::fs::DirEntry>> {
        if let Some(e) = self.fs.lookup(dir, name.as_bytes())? {
            return Ok(Some(e));
        }
        let plain = |n: &[u8]| {
            let n = String::from_utf8_lossy(n);
            let n = n.strip_suffix(";1").unwrap_or(&n).to_string();
            n.strip_suffix('.').unwrap_or(&n).to_ascii_lowercase()
        };
        let want = plain(name.as_bytes());
        Ok(self
            .fs
            .read_dir(dir)?
            .into_iter()
            .find(|e| plain(&e.name) == want))
    }
}

/// The components of `path`, without empty ones and `.`.
fn components(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".")
}

/// `path` without its last component: `/isolinux` for `/isolinux/isolinux.cfg`, `/` for `/x`.
pub fn parent(path: &str) -> &str {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((dir, _)) => dir,
    }
}

/// Text from the disc made safe to print on one line: control characters shown as `?`, at
/// most `max` characters (an ellipsis says when there were more).
pub fn clean(text: &str, max: usize) -> String {
    let text = text.trim();
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_of_a_path() {
        assert_eq!(parent("/isolinux/isolinux.cfg"), "/isolinux");
        assert_eq!(parent("/x"), "/");
    }

    #[test]
    fn clean_text_is_one_bounded_line() {
        assert_eq!(clean(" a\tb\x1b[2J \n", 10), "a?b?[2J");
        assert_eq!(clean("abcdef", 3), "abc…");
    }
}
