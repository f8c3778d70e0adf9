//! The host tree staged in the overlay over the blank image, as `copy-in` stages it (its
//! [`object_with`] says what each host object becomes): modes, owners, times, symlinks (never
//! followed), device nodes, FIFOs, and hard links among the files kept; file data left where it
//! lies on the host, checked again when the writer copies it. Each entry is looked at once
//! (its metadata read through its open directory) and a file is not opened before its data is
//! copied, unless its permission bits leave in doubt that it can be read. Unlike `copy-in`, change times
//! are the host's too (as genisoimage and xorriso record them: the same tree makes the same
//! image). Directories get their host metadata last (each entry staged in one makes its times
//! now), the root included. Walks without recursion, in name order (the order the writer lays
//! the data out in); the first object that cannot be staged stops it, named.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::commands::copy_in::object_with;
use crate::commands::tar_in::Object;
use crate::error::{Error, Result};
use crate::fs::iso9660::SECTOR;
use crate::fs::{Ino, Metadata, Timestamp};
use crate::overlay::{Content, Overlay};
use crate::vfs::path;
use hashbrown::HashMap;

/// The error for host object `host`.
fn failed(host: &Path, e: anyhow::Error) -> Error {
    match e.downcast::<Error>() {
        Ok(e @ Error::Io { .. }) => e,
        Ok(e) => Error::Usage(format!("{}: {e}", host.display())),
        Err(e) => Error::Usage(format!("{}: {e:#}", host.display())),
    }
}

/// The change time of host metadata `m`.
fn ctime(m: &std::fs::Metadata) -> Timestamp {
    Timestamp {
        secs: m.ctime(),
        nanos: m.ctime_nsec() as u32,
    }
}

/// A host object found by the walk: the path the user's directory names it by (for errors),
/// and the same path made absolute (which the file's data is read from).
struct Found<'a> {
    host: &'a Path,
    absolute: &'a Path,
    meta: &'a std::fs::Metadata,
}

/// What the host object `found` becomes; a regular file is not opened (its data is read when
/// the image is written, checked then against `meta`), unless its permission bits do not say
/// this process (effective user `euid`) may read it: it is opened then, so that a file that
/// cannot be read stops the walk, named, before anything is written.
fn object(found: Found, euid: u32) -> Result<Option<(Metadata, Object)>> {
    let Found {
        host,
        absolute,
        meta,
    } = found;
    let file = || {
        if !surely_readable(meta, euid) {
            std::fs::File::open(host).map_err(io(host))?;
        }
        // As `display` shows it, without its formatting machinery.
        let name = host.to_string_lossy().into_owned();
        Ok((Content::walked(absolute.to_path_buf(), name, meta)?, None))
    };
    object_with(host, meta, file).map_err(|e| failed(host, e))
}

/// True when `meta`'s permission bits let effective user `euid` read the file: root reads
/// anything, the owner by the owner's bit, anyone else by the group and other bits both. No
/// answer for access control lists: a file they keep from this user fails when it is read.
fn surely_readable(meta: &std::fs::Metadata, euid: u32) -> bool {
    let mode = meta.mode();
    euid == 0
        || match meta.uid() == euid {
            true => mode & 0o400 != 0,
            false => mode & 0o044 == 0o044,
        }
}

/// The error for host object `p` (its name made only for an error).
fn io(p: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::io(p.display().to_string(), e)
}

/// Stages what host directory `root` holds at the overlay's root, telling `data` of each
/// file's data (see [`super::plan`]); returns the warnings for what was left out (sockets).
pub(super) fn stage(overlay: &Overlay, root: &Path, data: &dyn Fn(u64)) -> Result<Vec<String>> {
    let euid = rustix::process::geteuid().as_raw();
    let mut warnings = Vec::new();
    // The files of more than one link, by host device and inode: the first one staged.
    let mut links: HashMap<(u64, u64), Ino> = HashMap::new();
    // Directories staged, with their host metadata, set once all is in.
    let mut dirs: Vec<(String, Metadata)> = Vec::new();
    // Made absolute once, so each file's own path is (without asking the host each time).
    let absolute = std::path::absolute(root).map_err(io(root))?;
    let mut todo: Vec<(PathBuf, PathBuf, String)> =
        vec![(root.to_path_buf(), absolute.clone(), "/".to_string())];
    while let Some((host_dir, absolute_dir, at)) = todo.pop() {
        let parent = overlay.parent(&at)?;
        // Each entry's metadata is read through the open directory (no path walk), while the
        // entries are held.
        let mut entries: Vec<_> = std::fs::read_dir(&host_dir)
            .map_err(io(&host_dir))?
            .map(|e| e.map(|e| (e.file_name(), e)))
            .collect::<std::io::Result<_>>()
            .map_err(io(&host_dir))?;
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        // Staged in name order (the order the writer lays new files' data out in); the
        // directories walked after, in name order too.
        let mut below = Vec::new();
        for (n, entry) in entries {
            let host = host_dir.join(&n);
            let meta = entry.metadata().map_err(io(&host))?;
            let absolute = absolute_dir.join(&n);
            let name = n.into_string().map_err(|n| {
                Error::Usage(format!(
                    "{}: the name {:?} is not UTF-8",
                    host_dir.display(),
                    n
                ))
            })?;
            // Its path in the image: only for a directory, a hard link and an error.
            let inside = || path::child(&at, name.as_bytes());
            let key = (!meta.is_dir() && meta.nlink() > 1).then_some((meta.dev(), meta.ino()));
            if let Some(&first) = key.and_then(|k| links.get(&k)) {
                overlay.link_in(first, &parent, name.as_bytes())?;
                continue;
            }
            let found = Found {
                host: &host,
                absolute: &absolute,
                meta: &meta,
            };
            let Some((mut placed, obj)) = object(found, euid)? else {
                warnings.push(format!("{}: socket left out", host.display()));
                continue;
            };
            // The host's change time, as genisoimage and xorriso record it.
            placed.ctime = ctime(&meta);
            let ino = match obj {
                Object::File(content, _) => {
                    // Whole blocks of the image, as the file's data takes them there.
                    data(meta.len().min(meta.blocks() * 512).next_multiple_of(SECTOR));
                    overlay.create_in(&parent, name.as_bytes(), placed, Some(content))?
                }
                Object::Dir => {
                    let ino = overlay.create_in(&parent, name.as_bytes(), placed.clone(), None)?;
                    let inside = inside();
                    dirs.push((inside.clone(), placed));
                    below.push((host, absolute, inside));
                    ino
                }
                Object::Special | Object::Link(_) => {
                    overlay.create_in(&parent, name.as_bytes(), placed, None)?
                }
            };
            if let Some(k) = key {
                links.insert(k, ino);
            }
        }
        todo.extend(below.into_iter().rev());
    }
    let host = std::fs::metadata(root).map_err(io(root))?;
    let found = Found {
        host: root,
        absolute: &absolute,
        meta: &host,
    };
    let (mut root_meta, _) =
        object(found, euid)?.ok_or_else(|| Error::NotADirectory(root.display().to_string()))?;
    root_meta.ctime = ctime(&host);
    dirs.push(("/".to_string(), root_meta));
    for (at, host) in dirs.into_iter().rev() {
        overlay.restore_meta(&at, &host)?;
    }
    Ok(warnings)
}
