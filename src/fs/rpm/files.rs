//! The package's file list, from the main header's parallel arrays (BASENAMES, DIRNAMES and
//! DIRINDEXES, or the OLDFILENAMES of old packages; FILEMODES, FILESIZES or LONGFILESIZES,
//! FILEMTIMES, FILELINKTOS, FILEUSERNAME, FILEGROUPNAME, FILEFLAGS, FILEINODES, FILEDEVICES,
//! FILERDEVS): every array checked to have one value per file. It is the payload's
//! [`Catalog`]: the names and sizes of a stripped payload's members, and the modes, times and
//! symlink targets the header records for every member.

use std::collections::HashMap;

use super::header::Header as RpmHeader;
use super::tags;
use crate::error::{Error, Result};
use crate::fs::cpio::header::Header as CpioHeader;
use crate::fs::cpio::Catalog;
use crate::fs::{FileKind, Metadata, Timestamp};

/// The files a package lists.
pub struct FileList {
    /// Full paths without the leading `/`.
    paths: Vec<Vec<u8>>,
    modes: Vec<u64>,
    sizes: Vec<u64>,
    mtimes: Vec<u64>,
    targets: Vec<Vec<u8>>,
    users: Vec<Vec<u8>>,
    groups: Vec<Vec<u8>>,
    flags: Vec<u64>,
    inodes: Vec<u64>,
    devices: Vec<u64>,
    rdevs: Vec<u64>,
    /// For each file, the number of files it is hard-linked with (itself included) and
    /// whether the payload carries the data with it (the last of its links, as rpm writes).
    links: Vec<(u32, bool)>,
    by_path: HashMap<Vec<u8>, usize>,
}

/// A path as a member name gives it, without `./` or `/` in front.
fn key(name: &[u8]) -> &[u8] {
    let mut k = name;
    loop {
        if let Some(rest) = k.strip_prefix(b"./") {
            k = rest;
        } else if let Some(rest) = k.strip_prefix(b"/") {
            k = rest;
        } else {
            return k;
        }
    }
}

impl FileList {
    /// Reads the list from the main header `h` (at `at` in `image`).
    pub fn read(h: &RpmHeader, image: &str, at: u64) -> Result<FileList> {
        let paths = match (h.strings(tags::BASENAMES)?, h.strings(tags::OLDFILENAMES)?) {
            (Some(base), _) => {
                let dirs = h.strings(tags::DIRNAMES)?.unwrap_or_default();
                let index = h.ints(tags::DIRINDEXES)?.unwrap_or_default();
                if index.len() != base.len() {
                    return Err(Error::corrupt(
                        image,
                        "rpm header",
                        at,
                        format!(
                            "{} directory indexes for {} file names",
                            index.len(),
                            base.len()
                        ),
                    ));
                }
                let mut paths = Vec::with_capacity(base.len());
                for (name, i) in base.iter().zip(index) {
                    let dir = dirs.get(i as usize).ok_or_else(|| {
                        Error::corrupt(
                            image,
                            "rpm header",
                            at,
                            format!(
                                "directory index {i} of {} is not among the {} directory names",
                                String::from_utf8_lossy(name),
                                dirs.len()
                            ),
                        )
                    })?;
                    let mut p = key(dir).to_vec();
                    p.extend_from_slice(name);
                    paths.push(p);
                }
                paths
            }
            (None, Some(old)) => old.iter().map(|p| key(p).to_vec()).collect(),
            (None, None) => Vec::new(),
        };
        let n = paths.len();
        // Every array has one value per file (a missing one reads as zeros or empty strings).
        let one_each = |tag: u32, name: &str, len: usize| -> Result<()> {
            if len == n {
                return Ok(());
            }
            Err(Error::corrupt(
                image,
                "rpm header",
                at,
                format!("{name} (tag {tag}) has {len} values for {n} files"),
            ))
        };
        let column = |tag: u32, name: &str, values: Option<Vec<u64>>| -> Result<Vec<u64>> {
            let v = values.unwrap_or_else(|| vec![0; n]);
            one_each(tag, name, v.len())?;
            Ok(v)
        };
        let strings = |tag: u32, name: &str| -> Result<Vec<Vec<u8>>> {
            let v = h.strings(tag)?.unwrap_or_else(|| vec![Vec::new(); n]);
            one_each(tag, name, v.len())?;
            Ok(v)
        };
        let sizes = match h.ints(tags::LONGFILESIZES)? {
            Some(v) => column(tags::LONGFILESIZES, "LONGFILESIZES", Some(v))?,
            None => column(tags::FILESIZES, "FILESIZES", h.ints(tags::FILESIZES)?)?,
        };
        let mut list = FileList {
            modes: column(tags::FILEMODES, "FILEMODES", h.ints(tags::FILEMODES)?)?,
            sizes,
            mtimes: column(tags::FILEMTIMES, "FILEMTIMES", h.ints(tags::FILEMTIMES)?)?,
            targets: strings(tags::FILELINKTOS, "FILELINKTOS")?,
            users: strings(tags::FILEUSERNAME, "FILEUSERNAME")?,
            groups: strings(tags::FILEGROUPNAME, "FILEGROUPNAME")?,
            flags: column(tags::FILEFLAGS, "FILEFLAGS", h.ints(tags::FILEFLAGS)?)?,
            inodes: column(tags::FILEINODES, "FILEINODES", h.ints(tags::FILEINODES)?)?,
            devices: column(tags::FILEDEVICES, "FILEDEVICES", h.ints(tags::FILEDEVICES)?)?,
            rdevs: column(tags::FILERDEVS, "FILERDEVS", h.ints(tags::FILERDEVS)?)?,
            links: vec![(1, true); n],
            by_path: HashMap::with_capacity(n),
            paths,
        };
        list.link();
        for (i, p) in list.paths.iter().enumerate() {
            list.by_path.insert(p.clone(), i);
        }
        Ok(list)
    }

    /// Groups hard links as rpm does: regular files, not ghosts, with the same device and
    /// inode numbers; the last of a group carries the data.
    fn link(&mut self) {
        let mut groups: HashMap<(u64, u64), Vec<usize>> = HashMap::new();
        for i in 0..self.paths.len() {
            let regular = FileKind::from_mode(self.modes[i] as u32) == Some(FileKind::File);
            if regular && self.flags[i] & tags::FILE_GHOST == 0 && self.inodes[i] != 0 {
                groups
                    .entry((self.devices[i], self.inodes[i]))
                    .or_default()
                    .push(i);
            }
        }
        for group in groups.values().filter(|g| g.len() > 1) {
            let last = group[group.len() - 1];
            for &i in group {
                self.links[i] = (group.len() as u32, i == last);
            }
        }
    }

    /// How many files the package lists.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// True when the package lists no file.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The listed files that are `%ghost`s (not in the payload).
    pub fn ghosts(&self) -> usize {
        self.flags
            .iter()
            .filter(|f| **f & tags::FILE_GHOST != 0)
            .count()
    }

    /// The owner names the header gives (users, then groups), each once, in order.
    pub fn owners(&self) -> (Vec<String>, Vec<String>) {
        let distinct = |names: &[Vec<u8>]| {
            let mut out: Vec<String> = Vec::new();
            for n in names.iter().filter(|n| !n.is_empty()) {
                let n = String::from_utf8_lossy(n).into_owned();
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            out
        };
        (distinct(&self.users), distinct(&self.groups))
    }
}

impl Catalog for FileList {
    fn stripped(&self, index: u64) -> Option<(Vec<u8>, CpioHeader)> {
        let i = usize::try_from(index).ok().filter(|i| *i < self.len())?;
        let mode = self.modes[i] as u32 & 0xffff;
        let (nlink, carrier) = self.links[i];
        // What rpm writes: a regular file's data (with the last of its hard links), a
        // symlink's target, nothing for the rest.
        let filesize = match FileKind::from_mode(mode) {
            Some(FileKind::File) if carrier => self.sizes[i],
            Some(FileKind::Symlink) => self.sizes[i],
            _ => 0,
        };
        let rdev = self.rdevs[i];
        let header = CpioHeader {
            dev: (0, self.devices[i] as u32),
            ino: self.inodes[i],
            mode,
            uid: 0,
            gid: 0,
            nlink,
            mtime: self.mtimes[i] as i64,
            filesize,
            rdev: (((rdev >> 8) & 0xff) as u32, (rdev & 0xff) as u32),
            namesize: 0,
            header_len: 0,
            align: 4,
        };
        Some((self.paths[i].clone(), header))
    }

    fn amend(&self, name: &[u8], meta: &mut Metadata) {
        let Some(&i) = self.by_path.get(key(name)) else {
            return;
        };
        let mode = self.modes[i] as u32 & 0xffff;
        if FileKind::from_mode(mode) != Some(meta.kind) {
            return;
        }
        meta.mode = mode & 0o7777;
        let time = Timestamp {
            secs: self.mtimes[i] as i64,
            nanos: 0,
        };
        (meta.mtime, meta.atime, meta.ctime) = (time, time, time);
        let target = &self.targets[i];
        if meta.kind == FileKind::Symlink
            && !target.is_empty()
            && meta.symlink.as_ref() != Some(target)
        {
            meta.size = target.len() as u64;
            meta.allocated = meta.size;
            meta.symlink = Some(target.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A list of `(path, mode, size, target, inode)`.
    fn list(files: &[(&str, u64, u64, &str, u64)]) -> FileList {
        let n = files.len();
        let mut list = FileList {
            paths: files.iter().map(|f| f.0.as_bytes().to_vec()).collect(),
            modes: files.iter().map(|f| f.1).collect(),
            sizes: files.iter().map(|f| f.2).collect(),
            mtimes: vec![1_700_000_000; n],
            targets: files.iter().map(|f| f.3.as_bytes().to_vec()).collect(),
            users: vec![b"root".to_vec(); n],
            groups: vec![b"root".to_vec(); n],
            flags: vec![0; n],
            inodes: files.iter().map(|f| f.4).collect(),
            devices: vec![1; n],
            rdevs: vec![0; n],
            links: vec![(1, true); n],
            by_path: HashMap::new(),
        };
        list.link();
        for (i, p) in list.paths.iter().enumerate() {
            list.by_path.insert(p.clone(), i);
        }
        list
    }

    #[test]
    fn the_header_corrects_modes_times_and_targets() {
        let l = list(&[("usr/link", 0o120777, 3, "new", 1)]);
        let mut meta = Metadata {
            mode: 0o644,
            size: 3,
            symlink: Some(b"old".to_vec()),
            ..Metadata::synthetic_dir(0).with_kind(FileKind::Symlink)
        };
        l.amend(b"./usr/link", &mut meta);
        assert_eq!(meta.symlink.as_deref(), Some(&b"new"[..]));
        assert_eq!((meta.mode, meta.mtime.secs), (0o777, 1_700_000_000));
        // A member of another kind than the header says keeps its own metadata.
        let mut dir = Metadata::synthetic_dir(0);
        l.amend(b"usr/link", &mut dir);
        assert_eq!(dir, Metadata::synthetic_dir(0));
    }

    #[test]
    fn stripped_members_carry_data_with_the_last_hard_link() {
        let l = list(&[
            ("a", 0o100644, 5, "", 7),
            ("d", 0o040755, 4096, "", 8),
            ("b", 0o100644, 5, "", 7),
            ("l", 0o120777, 1, "a", 9),
        ]);
        let sizes: Vec<(Vec<u8>, u64, u32)> = (0..4)
            .map(|i| {
                let (name, h) = l.stripped(i).unwrap();
                (name, h.filesize, h.nlink)
            })
            .collect();
        assert_eq!(
            sizes,
            [
                (b"a".to_vec(), 0, 2),
                (b"d".to_vec(), 0, 1),
                (b"b".to_vec(), 5, 2),
                (b"l".to_vec(), 1, 1)
            ]
        );
        assert!(l.stripped(4).is_none());
    }
}
