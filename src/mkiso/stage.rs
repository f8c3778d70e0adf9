//! The host tree staged in the overlay over the blank image, as `copy-in` stages it (its
//! [`object`] says what each host object becomes): modes, owners, times, symlinks (never
//! followed), device nodes, FIFOs, and hard links among the files kept; file data left where it
//! lies on the host, checked again when the writer copies it. Unlike `copy-in`, change times
//! are the host's too (as genisoimage and xorriso record them: the same tree makes the same
//! image). Directories get their host metadata last (each entry staged in one makes its times
//! now), the root included. Walks without recursion, in name order (the order the writer lays
//! the data out in); the first object that cannot be staged stops it, named.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::commands::copy_in::object;
use crate::commands::tar_in::Object;
use crate::error::{Error, Result};
use crate::fs::{Metadata, Timestamp};
use crate::overlay::Overlay;
use crate::vfs::path;

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

/// Stages what host directory `root` holds at the overlay's root; returns the warnings for
/// what was left out (sockets).
pub(super) fn stage(overlay: &Overlay, root: &Path) -> Result<Vec<String>> {
    let io = |p: &Path| {
        let name = p.display().to_string();
        move |e| Error::io(name, e)
    };
    let mut warnings = Vec::new();
    let mut links: HashMap<(u64, u64), String> = HashMap::new();
    // Directories staged, with their host metadata, set once all is in.
    let mut dirs: Vec<(String, Metadata)> = Vec::new();
    let mut todo: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), "/".to_string())];
    while let Some((host_dir, at)) = todo.pop() {
        let mut names: Vec<_> = std::fs::read_dir(&host_dir)
            .map_err(io(&host_dir))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .map_err(io(&host_dir))?;
        names.sort();
        // Staged in name order (the order the writer lays new files' data out in); the
        // directories walked after, in name order too.
        let mut below = Vec::new();
        for n in names {
            let host = host_dir.join(&n);
            let name = n.into_string().map_err(|n| {
                Error::Usage(format!(
                    "{}: the name {:?} is not UTF-8",
                    host_dir.display(),
                    n
                ))
            })?;
            let inside = path::child(&at, name.as_bytes());
            let meta = std::fs::symlink_metadata(&host).map_err(io(&host))?;
            let key = (!meta.is_dir() && meta.nlink() > 1).then_some((meta.dev(), meta.ino()));
            if let Some(first) = key.and_then(|k| links.get(&k)) {
                overlay.link(first, &inside)?;
                continue;
            }
            let Some((mut placed, obj)) = object(&host, &meta).map_err(|e| failed(&host, e))?
            else {
                warnings.push(format!("{}: socket left out", host.display()));
                continue;
            };
            // The host's change time, as genisoimage and xorriso record it.
            placed.ctime = ctime(&meta);
            match obj {
                Object::File(content, _) => {
                    overlay.create(&inside, placed, Some(content))?;
                }
                Object::Dir => {
                    overlay.create(&inside, placed.clone(), None)?;
                    dirs.push((inside.clone(), placed));
                    below.push((host, inside.clone()));
                }
                Object::Special | Object::Link(_) => {
                    overlay.create(&inside, placed, None)?;
                }
            }
            if let Some(k) = key {
                links.insert(k, inside);
            }
        }
        todo.extend(below.into_iter().rev());
    }
    let host = std::fs::metadata(root).map_err(io(root))?;
    let (mut root_meta, _) = object(root, &host)
        .map_err(|e| failed(root, e))?
        .ok_or_else(|| Error::NotADirectory(root.display().to_string()))?;
    root_meta.ctime = ctime(&host);
    dirs.push(("/".to_string(), root_meta));
    for (at, host) in dirs.into_iter().rev() {
        overlay.restore_meta(&at, &host)?;
    }
    Ok(warnings)
}
