//! Extraction onto the host, the one implementation behind `copy-out` and the browser pane's
//! `x`: the [`Plan`] of what to create (directories, then regular files, then hard links,
//! symlinks, devices and FIFOs), and the making of each with its data, owner (as root), mode
//! and times. The plan is made by the session walk ([`crate::vfs::walk`]), which checks every
//! name and refuses loops, so no path leaves the target; a file or link already in the way is
//! replaced, never followed. What cannot be made is not the end of an extraction: the
//! callers say it and go on ([`FailedDirs`] keeps them out of a directory that could not be
//! made), and a file whose data fails part way is removed rather than left short.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::{self as host, File, FileTimes, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};

use crate::data::{FileCopy, FileData};
use crate::fs::{FileKind, FileSystem, Ino, Metadata, Timestamp};
use crate::vfs::{walk, Node, Target, Vfs};

/// One thing to create.
pub struct Planned {
    pub dest: PathBuf,
    pub meta: Metadata,
    /// The file's filesystem and handle (none for virtual directories).
    pub file: Option<(Arc<dyn FileSystem>, Ino)>,
    /// For the second and later names of a hard-linked file: the first one.
    pub link_to: Option<PathBuf>,
}

/// What an extraction will create, in creation order.
#[derive(Default)]
pub struct Plan {
    pub dirs: Vec<Planned>,
    pub files: Vec<Planned>,
    /// Hard links, symlinks, devices, FIFOs: made after all files exist.
    pub others: Vec<Planned>,
    /// What the walk skipped, and why (hostile names, loops), one line each.
    pub warnings: Vec<String>,
}

impl Plan {
    /// Plans the copy of `node` to `base`; `base` itself is left alone when it already
    /// exists (the host directory `/` is copied into keeps its own owner, mode and times).
    /// With `xdev`, mounts below `node` are left out.
    pub fn add(&mut self, vfs: &Vfs, node: &Node, base: &Path, xdev: bool) -> anyhow::Result<()> {
        let mut links: HashMap<(usize, u64), PathBuf> = HashMap::new();
        let keep_base = base.is_dir();
        let warnings = &mut self.warnings;
        let (dirs, files, others) = (&mut self.dirs, &mut self.files, &mut self.others);
        walk::walk_warning(vfs, node, &mut |w| warnings.push(w), |item| {
            if xdev && item.depth > 0 && !walk::same_fs(item.fs(), node.fs()) {
                return Ok(false);
            }
            if item.rel.is_empty() && keep_base && item.is_dir() {
                return Ok(true);
            }
            // `rel` is made of single, checked components (the walk refuses anything else),
            // so `dest` cannot leave `base`.
            let dest = if item.rel.is_empty() {
                base.to_path_buf()
            } else {
                base.join(OsStr::from_bytes(item.rel))
            };
            let meta = item.meta().into_owned();
            let file = match item.target {
                Target::Fs { fs, ino, .. } => Some((fs.clone(), *ino)),
                Target::Virtual => None,
            };
            let mut p = Planned {
                dest,
                meta,
                file,
                link_to: None,
            };
            match p.meta.kind {
                FileKind::Dir => dirs.push(p),
                FileKind::File => {
                    if let (Some((fs, _)), true) = (&p.file, p.meta.nlink > 1) {
                        let id = walk::identity(fs, p.meta.ino);
                        if let Some(first) = links.get(&id) {
                            p.link_to = Some(first.clone());
                            others.push(p);
                            return Ok(true);
                        }
                        links.insert(id, p.dest.clone());
                    }
                    files.push(p);
                }
                _ => others.push(p),
            }
            Ok(true)
        })
    }

    /// The bytes of the regular files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|p| p.meta.size).sum()
    }
}

/// Makes a planned directory, replacing a file or link in the way; one already there stays.
pub fn make_dir(d: &Planned) -> anyhow::Result<()> {
    match host::create_dir(&d.dest) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let m = host::symlink_metadata(&d.dest)
                .with_context(|| format!("{}: cannot create", d.dest.display()))?;
            if !m.is_dir() {
                remove_non_dir(&d.dest)?;
                host::create_dir(&d.dest)
                    .with_context(|| format!("{}: cannot create", d.dest.display()))?;
            }
            Ok(())
        }
        Err(e) => {
            Err(anyhow::Error::new(e).context(format!("{}: cannot create", d.dest.display())))
        }
    }
}

/// Gives a directory its owner (as root), mode and times, once everything inside it is made
/// (so its times survive the writes inside it and a read-only one was writable meanwhile).
pub fn finish_dir(d: &Planned, root: bool) -> anyhow::Result<()> {
    set_owner(&d.dest, &d.meta, root)?;
    host::set_permissions(
        &d.dest,
        host::Permissions::from_mode(mode_bits(&d.meta, root)),
    )
    .with_context(|| format!("{}: cannot set mode", d.dest.display()))?;
    File::open(&d.dest)
        .and_then(|f| f.set_times(times(&d.meta)))
        .with_context(|| format!("{}: cannot set times", d.dest.display()))
}

/// Opens a planned regular file's data, then creates its host file (so a file whose data
/// cannot be opened leaves nothing behind) and the copy of the data into it.
pub fn start_file(p: &Planned) -> anyhow::Result<FileCopy> {
    let Some((fs, ino)) = &p.file else {
        bail!("{}: not a file of a filesystem", p.dest.display());
    };
    let data =
        FileData::open(fs, *ino, p.meta.size).with_context(|| format!("{}", p.dest.display()))?;
    Ok(FileCopy::new(data, create_file(&p.dest)?))
}

/// The error of a planned file whose data could not all be copied, once the part written is
/// removed: no file is left short under its name.
pub fn discard(p: &Planned, e: anyhow::Error) -> anyhow::Error {
    let dest = p.dest.display();
    match host::remove_file(&p.dest) {
        Ok(()) => e.context(dest.to_string()),
        Err(r) => e.context(format!("{dest} (left incomplete, cannot remove it: {r})")),
    }
}

/// Gives a host file (the planned file `dest`) its owner (as root), mode and times, once its
/// data is in.
pub fn finish_file(out: &File, dest: &Path, meta: &Metadata, root: bool) -> anyhow::Result<()> {
    let set = || -> io::Result<()> {
        if root {
            std::os::unix::fs::fchown(out, Some(meta.uid), Some(meta.gid))?;
        }
        out.set_permissions(host::Permissions::from_mode(mode_bits(meta, root)))?;
        out.set_times(times(meta))
    };
    set().with_context(|| format!("{}: cannot set owner, mode or times", dest.display()))
}

/// Creates one regular file and its data, then gives it its owner, mode and times. `done` is
/// told of every byte moved. A file whose data fails part way is removed.
pub fn copy_file(
    p: &Planned,
    root: bool,
    buf: &mut [u8],
    done: &dyn Fn(u64),
) -> anyhow::Result<()> {
    let out = start_file(p)?.run(buf, done).map_err(|e| discard(p, e))?;
    finish_file(&out, &p.dest, &p.meta, root)
}

/// The directories of an extraction that could not be made. What was planned inside them is
/// left out (their own failure says why, once), and they are not finished.
#[derive(Default)]
pub struct FailedDirs(HashSet<PathBuf>);

impl FailedDirs {
    pub fn add(&mut self, dir: &Path) {
        self.0.insert(dir.to_path_buf());
    }

    /// True when `dest` is one of the directories that could not be made, or inside one.
    pub fn hold(&self, dest: &Path) -> bool {
        !self.0.is_empty() && dest.ancestors().any(|a| self.0.contains(a))
    }
}

/// Makes `dest` a fresh file, replacing a file or link already there (never following one).
fn create_file(dest: &Path) -> anyhow::Result<File> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dest)
    };
    match open() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            remove_non_dir(dest)?;
            open().with_context(|| format!("{}: cannot create", dest.display()))
        }
        r => r.with_context(|| format!("{}: cannot create", dest.display())),
    }
}

/// Removes what is at `dest` unless it is a directory.
fn remove_non_dir(dest: &Path) -> anyhow::Result<()> {
    let m = host::symlink_metadata(dest)
        .with_context(|| format!("{}: cannot replace", dest.display()))?;
    if m.is_dir() {
        bail!("{}: a directory is in the way", dest.display());
    }
    host::remove_file(dest).with_context(|| format!("{}: cannot replace", dest.display()))
}

fn mode_bits(meta: &Metadata, root: bool) -> u32 {
    if root {
        meta.mode & 0o7777
    } else {
        meta.mode & 0o777
    }
}

fn set_owner(dest: &Path, meta: &Metadata, root: bool) -> anyhow::Result<()> {
    if root {
        std::os::unix::fs::lchown(dest, Some(meta.uid), Some(meta.gid))
            .with_context(|| format!("{}: cannot change owner", dest.display()))?;
    }
    Ok(())
}

fn system_time(t: Timestamp) -> SystemTime {
    let nanos = Duration::from_nanos(u64::from(t.nanos.min(999_999_999)));
    if t.secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(t.secs as u64) + nanos
    } else {
        UNIX_EPOCH - Duration::from_secs(t.secs.unsigned_abs()) + nanos
    }
}

/// The access time given to extracted files: the recorded one, or the modification time
/// where none is recorded.
fn access_time(meta: &Metadata) -> Timestamp {
    if meta.atime.secs != 0 {
        meta.atime
    } else {
        meta.mtime
    }
}

fn times(meta: &Metadata) -> FileTimes {
    FileTimes::new()
        .set_accessed(system_time(access_time(meta)))
        .set_modified(system_time(meta.mtime))
}

/// Makes a hard link, symlink, device node or FIFO. What cannot be made here is skipped:
/// the answer is then the warning to give (`DEST: socket skipped`).
pub fn make_other(p: &Planned, root: bool) -> anyhow::Result<Option<String>> {
    let dest = &p.dest;
    if host::symlink_metadata(dest).is_ok() {
        remove_non_dir(dest)?;
    }
    let what =
        |e: io::Error| anyhow::Error::new(e).context(format!("{}: cannot create", dest.display()));
    if let Some(first) = &p.link_to {
        host::hard_link(first, dest).map_err(what)?;
        return Ok(None);
    }
    let perm = rustix::fs::Mode::from_raw_mode(mode_bits(&p.meta, root));
    let (file_type, needs_root) = match p.meta.kind {
        FileKind::Symlink => {
            let target = p.meta.symlink.as_deref().unwrap_or_default();
            std::os::unix::fs::symlink(OsStr::from_bytes(target), dest).map_err(what)?;
            set_owner(dest, &p.meta, root)?;
            set_path_times(dest, &p.meta)?;
            return Ok(None);
        }
        FileKind::CharDevice => (rustix::fs::FileType::CharacterDevice, true),
        FileKind::BlockDevice => (rustix::fs::FileType::BlockDevice, true),
        FileKind::Fifo => (rustix::fs::FileType::Fifo, false),
        FileKind::Socket | FileKind::File | FileKind::Dir => {
            return Ok(Some(format!("{}: socket skipped", dest.display())));
        }
    };
    if needs_root && !root {
        return Ok(Some(format!(
            "{}: device node skipped (only root can create one)",
            dest.display()
        )));
    }
    let (major, minor) = p.meta.rdev.unwrap_or((0, 0));
    rustix::fs::mknodat(
        rustix::fs::CWD,
        dest,
        file_type,
        perm,
        rustix::fs::makedev(major, minor),
    )
    .map_err(|e| what(e.into()))?;
    set_owner(dest, &p.meta, root)?;
    rustix::fs::chmodat(rustix::fs::CWD, dest, perm, rustix::fs::AtFlags::empty())
        .map_err(|e| what(e.into()))?;
    set_path_times(dest, &p.meta)?;
    Ok(None)
}

/// Sets the times of whatever is at `dest` without opening it (a device node, a symlink).
fn set_path_times(dest: &Path, meta: &Metadata) -> anyhow::Result<()> {
    let t = |ts: Timestamp| rustix::fs::Timespec {
        tv_sec: ts.secs,
        tv_nsec: i64::from(ts.nanos.min(999_999_999)),
    };
    let stamps = rustix::fs::Timestamps {
        last_access: t(access_time(meta)),
        last_modification: t(meta.mtime),
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        dest,
        &stamps,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .with_context(|| format!("{}: cannot set times", dest.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::tests::{one_file, SpansFs};
    use crate::vfs::walk::tests::meta;

    /// A file whose data ends before its recorded size, once 6 bytes are written, is removed,
    /// and the error names it and the image.
    #[test]
    fn a_file_whose_data_fails_part_way_is_removed() {
        let mut short = SpansFs::unlaid(b"abcdef".to_vec());
        short.size += 4;
        let (fs, size) = one_file(short);
        let dir = tempfile::tempdir().unwrap();
        let p = Planned {
            dest: dir.path().join("f"),
            meta: meta(FileKind::File, 0, size),
            file: Some((fs, 0)),
            link_to: None,
        };
        let written = std::cell::Cell::new(0);
        let err = copy_file(&p, false, &mut [0; 4], &|n| written.set(written.get() + n));
        let msg = format!("{:#}", err.unwrap_err());
        let want = format!(
            "{}: test.img: corrupt file data at offset 6",
            p.dest.display()
        );
        assert!(msg.starts_with(&want), "{msg}");
        assert_eq!(written.get(), 6);
        assert!(!p.dest.exists());
    }
}
