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
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use rustix::fs::OFlags;

use crate::data::to_file::Route;
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
    /// Whether [`Plan::add_with`] hands symlinks, devices, FIFOs and sockets to its `file`
    /// with the regular files, rather than keeping them in `others`: they need nothing made
    /// before them but their directory (the second names of hard links wait in `others`).
    pub eager: bool,
    /// What the walk skipped, and why (hostile names, loops), one line each.
    pub warnings: Vec<String>,
}

impl Plan {
    /// Plans the copy of `node` to `base`; `base` itself is left alone when it already
    /// exists (the host directory `/` is copied into keeps its own owner, mode and times).
    /// With `xdev`, mounts below `node` are left out.
    pub fn add(&mut self, vfs: &Vfs, node: &Node, base: &Path, xdev: bool) -> anyhow::Result<()> {
        let mut files = std::mem::take(&mut self.files);
        let r = self.add_with(vfs, node, base, xdev, &mut |_| {}, &mut |p| files.push(p));
        self.files = files;
        r
    }

    /// Plans as [`Plan::add`] does, telling `dir` of each directory before anything inside it,
    /// and handing the regular files (first names) to `file` rather than keeping them; with
    /// [`Plan::eager`], the symlinks, devices, FIFOs and sockets too.
    pub fn add_with(
        &mut self,
        vfs: &Vfs,
        node: &Node,
        base: &Path,
        xdev: bool,
        dir: &mut dyn FnMut(&Planned),
        file: &mut dyn FnMut(Planned),
    ) -> anyhow::Result<()> {
        let mut links: HashMap<(usize, u64), PathBuf> = HashMap::new();
        let keep_base = base.is_dir();
        let warnings = &mut self.warnings;
        let (dirs, others, eager) = (&mut self.dirs, &mut self.others, self.eager);
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
            let target = match item.target {
                Target::Fs { fs, ino, .. } => Some((fs.clone(), *ino)),
                Target::Virtual => None,
            };
            let mut p = Planned {
                dest,
                meta,
                file: target,
                link_to: None,
            };
            match p.meta.kind {
                FileKind::Dir => {
                    dir(&p);
                    dirs.push(p)
                }
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
                    file(p);
                }
                _ if eager => file(p),
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
    make(d).map(drop)
}

/// Makes a planned directory as [`make_dir`] does; the metadata of one already there.
fn make(d: &Planned) -> anyhow::Result<Option<host::Metadata>> {
    match host::create_dir(&d.dest) {
        Ok(()) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let m = host::symlink_metadata(&d.dest)
                .with_context(|| format!("{}: cannot create", d.dest.display()))?;
            if !m.is_dir() {
                remove_non_dir(&d.dest)?;
                host::create_dir(&d.dest)
                    .with_context(|| format!("{}: cannot create", d.dest.display()))?;
                return Ok(None);
            }
            Ok(Some(m))
        }
        Err(e) => {
            Err(anyhow::Error::new(e).context(format!("{}: cannot create", d.dest.display())))
        }
    }
}

/// Gives a directory its owner (as root), mode and times, once everything inside it is made
/// (so its times survive the writes inside it and a read-only one was writable meanwhile).
pub fn finish_dir(d: &Planned, root: bool) -> anyhow::Result<()> {
    settle_dir(d, root.then_some(&d.meta), Some(mode_bits(&d.meta, root)))
}

/// Gives a directory the owner (`owner`'s ids, when given), the mode bits (when given) and
/// the times (always) of its plan.
fn settle_dir(d: &Planned, owner: Option<&Metadata>, mode: Option<u32>) -> anyhow::Result<()> {
    let at = At::path(&d.dest);
    if let Some(o) = owner {
        set_owner(at, o, true)?;
    }
    if let Some(mode) = mode {
        host::set_permissions(&d.dest, host::Permissions::from_mode(mode))
            .with_context(|| format!("{}: cannot set mode", d.dest.display()))?;
    }
    set_path_times(at, &d.meta)
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
    settle(
        out,
        dest,
        meta,
        root.then_some(meta),
        Some(mode_bits(meta, root)),
    )
}

/// Gives a host file the owner (`owner`'s ids, when given), the mode bits (when given) and
/// the times (always) of `meta`; chown first, since it clears the set-id bits.
fn settle(
    out: &File,
    dest: &Path,
    meta: &Metadata,
    owner: Option<&Metadata>,
    mode: Option<u32>,
) -> anyhow::Result<()> {
    let set = || -> io::Result<()> {
        if let Some(o) = owner {
            std::os::unix::fs::fchown(out, Some(o.uid), Some(o.gid))?;
        }
        if let Some(mode) = mode {
            out.set_permissions(host::Permissions::from_mode(mode))?;
        }
        out.set_times(times(meta))
    };
    set().with_context(|| format!("{}: cannot set owner, mode or times", dest.display()))
}

/// Who makes the files of an extraction, found out once before it starts: root or not, the
/// ids and the umask a new file gets.
#[derive(Clone, Copy)]
pub struct Maker {
    pub root: bool,
    uid: u32,
    gid: u32,
    /// None when it could not be read (then every mode is set).
    umask: Option<u32>,
    /// True while no directory the extraction makes things in is set-group-id (so what it
    /// makes gets our group, and a directory it makes the mode `mkdir` gives).
    setgid_free: bool,
}

impl Maker {
    /// The process as it is now.
    pub fn now() -> Maker {
        Maker {
            root: rustix::process::geteuid().is_root(),
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
            umask: umask(),
            setgid_free: true,
        }
    }

    /// A maker that takes nothing for granted (every owner and mode is set).
    fn strict(root: bool) -> Maker {
        Maker {
            root,
            uid: 0,
            gid: 0,
            umask: None,
            setgid_free: false,
        }
    }

    /// Notes a host directory that things are made in without being planned (the target,
    /// a tree's top already there): when it is set-group-id, nothing is taken for granted.
    pub fn look_at(&mut self, dir: &Path) {
        if let Ok(m) = host::metadata(dir) {
            if m.mode() & 0o2000 != 0 {
                self.setgid_free = false;
            }
        }
    }

    /// Makes a planned directory as [`make_dir`] does; true when it was made here (not
    /// already there).
    pub fn make_dir(&mut self, d: &Planned) -> anyhow::Result<bool> {
        let there = make(d)?;
        if let Some(m) = &there {
            if m.mode() & 0o2000 != 0 {
                self.setgid_free = false;
            }
        }
        Ok(there.is_none())
    }

    /// Finishes a directory as [`finish_dir`] does, leaving out the owner and mode where one
    /// `made` here already has them.
    pub fn finish_dir(&self, d: &Planned, made: bool) -> anyhow::Result<()> {
        let owner = self.root && !(made && self.owns(&d.meta));
        let mode = mode_bits(&d.meta, self.root);
        let as_made = made && self.setgid_free && self.umask.is_some_and(|u| mode == 0o777 & !u);
        settle_dir(
            d,
            owner.then_some(&d.meta),
            (owner || !as_made).then_some(mode),
        )
    }

    /// True when what is made here gets `meta`'s owner without a chown.
    fn owns(&self, meta: &Metadata) -> bool {
        self.setgid_free && meta.uid == self.uid && meta.gid == self.gid
    }

    /// The mode to create `meta`'s file with, when creating it so gives exactly its own (the
    /// umask takes nothing away, no set-id or sticky bit, which chown would clear); else
    /// `None`: it is created 0600 and given its mode once the data is in.
    fn create_mode(&self, meta: &Metadata) -> Option<u32> {
        let mode = mode_bits(meta, self.root);
        self.umask
            .is_some_and(|u| mode & 0o7000 == 0 && mode & u == 0)
            .then_some(mode)
    }
}

/// The process's umask, read from `/proc/self/status` (setting it to read it would race with
/// other threads making files).
fn umask() -> Option<u32> {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find_map(|l| l.strip_prefix("Umask:"))?;
            u32::from_str_radix(line.trim(), 8).ok()
        })
}

/// What one copying thread of an extraction keeps from one file to the next: the directory
/// it creates files in, opened, and the way the host takes ranges of host files.
#[derive(Default)]
pub struct Writer {
    dir: Option<OpenDir>,
    route: Option<Route>,
}

/// A host directory files are created in.
struct OpenDir {
    path: PathBuf,
    fd: OwnedFd,
    /// The group a new file in it gets (its own when set-group-id, else ours); known as root.
    new_gid: Option<u32>,
}

impl OpenDir {
    fn open(path: &Path, maker: &Maker) -> io::Result<OpenDir> {
        let fd = rustix::fs::open(
            path,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )?;
        let new_gid = match maker.root {
            true => {
                let st = rustix::fs::fstat(&fd)?;
                Some(if st.st_mode & 0o2000 != 0 {
                    st.st_gid
                } else {
                    maker.gid
                })
            }
            false => None,
        };
        Ok(OpenDir {
            path: path.to_path_buf(),
            fd,
            new_gid,
        })
    }
}

impl Writer {
    /// The directory `dest` is created in, opened (kept from the last file when the same).
    fn dir(&mut self, dest: &Path, maker: &Maker) -> io::Result<&OpenDir> {
        let parent = dest.parent().unwrap_or(Path::new("."));
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        let dir = match self.dir.take() {
            Some(d) if d.path == parent => d,
            _ => OpenDir::open(parent, maker)?,
        };
        Ok(self.dir.insert(dir))
    }

    /// Creates `dest` afresh with `mode` (a file or link in the way is replaced, never
    /// followed); the group it gets, when known.
    fn create(
        &mut self,
        dest: &Path,
        mode: u32,
        maker: &Maker,
    ) -> anyhow::Result<(File, Option<u32>)> {
        let name = dest.file_name().unwrap_or_default();
        let open = |dir: &OpenDir| {
            rustix::fs::openat(
                &dir.fd,
                name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
                rustix::fs::Mode::from_raw_mode(mode),
            )
        };
        let cannot = || format!("{}: cannot create", dest.display());
        let dir = self.dir(dest, maker).with_context(cannot)?;
        let fd = match open(dir) {
            Err(rustix::io::Errno::EXIST) => {
                remove_non_dir(dest)?;
                open(dir)
            }
            r => r,
        }
        .map_err(io::Error::from)
        .with_context(cannot)?;
        Ok((File::from(fd), dir.new_gid))
    }

    /// Makes `p`'s symlink, device node or FIFO (or hard link) as [`Maker::make_other`]
    /// does, named in its directory opened (kept from the last file when the same).
    pub fn make_other(&mut self, p: &Planned, maker: &Maker) -> anyhow::Result<Option<String>> {
        let dir = (self.dir(&p.dest, maker))
            .with_context(|| format!("{}: cannot create", p.dest.display()))?;
        let at = At {
            dir: dir.fd.as_fd(),
            name: Path::new(p.dest.file_name().unwrap_or_default()),
            dest: &p.dest,
        };
        maker.make_other_at(p, at)
    }
}

/// Creates one regular file and its data, then gives it its owner (as root), mode and times,
/// making no call that would change nothing (the mode is given at creation where the umask
/// lets it, the owner is left where the file got it). `done` is told of every byte moved. A
/// file whose data fails part way is removed.
pub fn copy_file(
    p: &Planned,
    maker: &Maker,
    writer: &mut Writer,
    buf: &mut [u8],
    done: &dyn Fn(u64),
) -> anyhow::Result<()> {
    let Some((fs, ino)) = &p.file else {
        bail!("{}: not a file of a filesystem", p.dest.display());
    };
    let data =
        FileData::open(fs, *ino, p.meta.size).with_context(|| format!("{}", p.dest.display()))?;
    let created = maker.create_mode(&p.meta);
    let (out, gid) = writer.create(&p.dest, created.unwrap_or(0o600), maker)?;
    let mut copy = FileCopy::new(data, out);
    if let Some(route) = writer.route {
        copy = copy.with_route(route);
    }
    let mut run = || -> anyhow::Result<()> {
        while !copy.finished() {
            copy.step(u64::MAX, buf, done)?;
        }
        Ok(())
    };
    let moved = run();
    writer.route = Some(copy.route());
    moved.map_err(|e| discard(p, e))?;
    let chown = maker.root && !(p.meta.uid == maker.uid && Some(p.meta.gid) == gid);
    let mode = mode_bits(&p.meta, maker.root);
    settle(
        copy.file(),
        &p.dest,
        &p.meta,
        chown.then_some(&p.meta),
        (created != Some(mode)).then_some(mode),
    )
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

/// Where something is made without being opened: `name` in the directory `dir` (an open
/// one, or the working directory with `name` the whole path), and the whole path `dest` for
/// messages and for replacing what is in the way.
#[derive(Clone, Copy)]
struct At<'a> {
    dir: BorrowedFd<'a>,
    name: &'a Path,
    dest: &'a Path,
}

impl<'a> At<'a> {
    /// `dest`, walked from the working directory.
    fn path(dest: &'a Path) -> Self {
        At {
            dir: rustix::fs::CWD,
            name: dest,
            dest,
        }
    }

    /// The error of a call at `at` that failed: `DEST: cannot WHAT`.
    fn cannot(self, what: &'static str) -> impl FnOnce(rustix::io::Errno) -> anyhow::Error + 'a {
        let dest = self.dest;
        move |e| {
            anyhow::Error::new(io::Error::from(e)).context(format!("{}: {what}", dest.display()))
        }
    }
}

fn set_owner(at: At, meta: &Metadata, root: bool) -> anyhow::Result<()> {
    if root {
        // An id of -1 leaves the owner as it is, as chown(2) takes it.
        let id = |n: u32| (n != u32::MAX).then_some(n);
        rustix::fs::chownat(
            at.dir,
            at.name,
            id(meta.uid).map(rustix::process::Uid::from_raw),
            id(meta.gid).map(rustix::process::Gid::from_raw),
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(at.cannot("cannot change owner"))?;
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
    Maker::strict(root).make_other(p)
}

impl Maker {
    /// Makes a hard link, symlink, device node or FIFO as [`make_other`] does, leaving out
    /// the owner of a symlink made here with ours already.
    pub fn make_other(&self, p: &Planned) -> anyhow::Result<Option<String>> {
        self.make_other_at(p, At::path(&p.dest))
    }

    /// Makes `p`'s hard link, symlink, device node or FIFO at `at`.
    fn make_other_at(&self, p: &Planned, at: At) -> anyhow::Result<Option<String>> {
        let root = self.root;
        let dest = at.dest;
        // Made at once; what is in the way is removed when the making finds it.
        let replacing = |make: &dyn Fn() -> rustix::io::Result<()>| match make() {
            Err(rustix::io::Errno::EXIST) => {
                remove_non_dir(dest)?;
                make().map_err(at.cannot("cannot create"))
            }
            r => r.map_err(at.cannot("cannot create")),
        };
        if let Some(first) = &p.link_to {
            replacing(&|| {
                rustix::fs::linkat(
                    rustix::fs::CWD,
                    first,
                    at.dir,
                    at.name,
                    rustix::fs::AtFlags::empty(),
                )
            })?;
            return Ok(None);
        }
        if p.meta.kind == FileKind::Symlink {
            let target = OsStr::from_bytes(p.meta.symlink.as_deref().unwrap_or_default());
            replacing(&|| rustix::fs::symlinkat(target, at.dir, at.name))?;
            set_owner(at, &p.meta, root && !self.owns(&p.meta))?;
            set_path_times(at, &p.meta)?;
            return Ok(None);
        }
        if host::symlink_metadata(dest).is_ok() {
            remove_non_dir(dest)?;
        }
        let perm = rustix::fs::Mode::from_raw_mode(mode_bits(&p.meta, root));
        let (file_type, needs_root) = match p.meta.kind {
            FileKind::CharDevice => (rustix::fs::FileType::CharacterDevice, true),
            FileKind::BlockDevice => (rustix::fs::FileType::BlockDevice, true),
            FileKind::Fifo => (rustix::fs::FileType::Fifo, false),
            FileKind::Socket | FileKind::File | FileKind::Dir | FileKind::Symlink => {
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
            at.dir,
            at.name,
            file_type,
            perm,
            rustix::fs::makedev(major, minor),
        )
        .map_err(at.cannot("cannot create"))?;
        set_owner(at, &p.meta, root)?;
        rustix::fs::chmodat(at.dir, at.name, perm, rustix::fs::AtFlags::empty())
            .map_err(at.cannot("cannot create"))?;
        set_path_times(at, &p.meta)?;
        Ok(None)
    }
}

/// Sets the times of whatever is at `at` without opening it (a device node, a symlink).
fn set_path_times(at: At, meta: &Metadata) -> anyhow::Result<()> {
    let t = |ts: Timestamp| rustix::fs::Timespec {
        tv_sec: ts.secs,
        tv_nsec: i64::from(ts.nanos.min(999_999_999)),
    };
    let stamps = rustix::fs::Timestamps {
        last_access: t(access_time(meta)),
        last_modification: t(meta.mtime),
    };
    rustix::fs::utimensat(
        at.dir,
        at.name,
        &stamps,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(at.cannot("cannot set times"))
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
        let maker = Maker::now();
        let err = copy_file(&p, &maker, &mut Writer::default(), &mut [0; 4], &|n| {
            written.set(written.get() + n)
        });
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
