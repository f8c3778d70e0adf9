//! `copy-in`: host files and directories copied into a directory of the session,
//! recursively, as `tar -c` on the host and `tar -x` as root would: modes, owners, times,
//! symlinks (never followed), device nodes, FIFOs and hard links among the copied files kept.
//! File data is staged where it lies on the host and taken at commit, after a check that the
//! file did not change.

use std::collections::HashMap;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::anyhow;

use super::tar_in::{placed_meta, Object, Unpack};
use super::{arg, many, ArgKind, Command, Ctx};
use crate::error::Error;
use crate::fs::{FileKind, Timestamp};
use crate::overlay::{Content, HostFile};

pub const COMMANDS: &[Command] = &[Command {
    name: "copy-in",
    aliases: &[],
    args: &[
        many("HOSTPATH", ArgKind::HostPath),
        arg("DIR", ArgKind::Path),
    ],
    options: &[],
    run: copy_in,
}];

/// The host files with more than one name seen so far, by device and inode: where the first
/// name was placed.
type Links = HashMap<(u64, u64), Vec<String>>;

fn copy_in(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let (dir, hosts) = args
        .split_last()
        .expect("the registry asks for two or more");
    let mut unpack = Unpack::new(ctx, dir)?;
    let mut links = Links::new();
    for host in hosts {
        let path = Path::new(host);
        let name = path
            .file_name()
            .ok_or_else(|| anyhow!("{host}: names no file to copy"))
            .and_then(|n| name(n.to_os_string()));
        match name {
            Ok(name) => copy(ctx, &mut unpack, &mut links, path, vec![name]),
            Err(e) => unpack.fail(host, &e),
        }
    }
    unpack.finish(ctx, "copy-in")
}

/// A host name as the session holds names (UTF-8).
fn name(n: std::ffi::OsString) -> anyhow::Result<String> {
    n.into_string()
        .map_err(|n| anyhow!("{}: not UTF-8: not copied", n.to_string_lossy()))
}

/// Copies the host object at `host` to `names` below the directory, and, for a directory,
/// what it holds, in name order.
fn copy(ctx: &mut Ctx, unpack: &mut Unpack, links: &mut Links, host: &Path, names: Vec<String>) {
    let meta = match std::fs::symlink_metadata(host) {
        Ok(m) => m,
        Err(e) => return unpack.fail(&host.display().to_string(), &e.into()),
    };
    // A second name of a file copied already is made a hard link to the first.
    let key = (!meta.is_dir() && meta.nlink() > 1).then_some((meta.dev(), meta.ino()));
    if let Some(first) = key.and_then(|k| links.get(&k)) {
        let placed = placed_meta(FileKind::File, 0, (0, 0), Default::default());
        unpack.place(
            ctx,
            &names,
            (placed, Object::Link(first.clone())),
            Vec::new(),
        );
        return;
    }
    let obj = match object(host, &meta) {
        Ok(Some(obj)) => obj,
        Ok(None) => return,
        Err(e) => return unpack.fail(&host.display().to_string(), &e),
    };
    // Extended attributes are not copied, as guestfish's copy-in does not copy them.
    let placed = unpack.place(ctx, &names, obj, Vec::new());
    if let (true, Some(k)) = (placed, key) {
        links.insert(k, names.clone());
    }
    if placed && meta.is_dir() {
        children(ctx, unpack, links, host, &names);
    }
}

/// Copies what the host directory `host` holds below `names`.
fn children(ctx: &mut Ctx, unpack: &mut Unpack, links: &mut Links, host: &Path, names: &[String]) {
    let listing = std::fs::read_dir(host).and_then(|d| {
        let mut all: Vec<_> = d
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        all.sort();
        Ok(all)
    });
    let listing = match listing {
        Ok(l) => l,
        Err(e) => return unpack.fail(&host.display().to_string(), &e.into()),
    };
    for child in listing {
        let path = host.join(&child);
        match name(child) {
            Ok(n) => {
                let mut below = names.to_vec();
                below.push(n);
                copy(ctx, unpack, links, &path, below);
            }
            Err(e) => unpack.fail(&path.display().to_string(), &e),
        }
    }
}

/// What the host object at `host` becomes; `None` for a socket, which, as with tar, is left
/// out with a warning.
fn object(
    host: &Path,
    meta: &std::fs::Metadata,
) -> anyhow::Result<Option<(crate::fs::Metadata, Object)>> {
    object_with(host, meta, || {
        HostFile::open(host).map(|(file, content)| (content, Some(file)))
    })
}

/// [`object`], a regular file's data (and the host file to check before a commit, if any)
/// staged by `file` (`mkiso` stages its trees with it, from its directory walk).
pub(crate) fn object_with(
    host: &Path,
    meta: &std::fs::Metadata,
    file: impl FnOnce() -> crate::error::Result<(Content, Option<HostFile>)>,
) -> anyhow::Result<Option<(crate::fs::Metadata, Object)>> {
    let kind = FileKind::from_mode(meta.mode())
        .ok_or_else(|| anyhow!("an object of unknown type {:o}", meta.mode()))?;
    let time = |secs, nanos| Timestamp {
        secs,
        nanos: nanos as u32,
    };
    let mut placed = placed_meta(
        kind,
        meta.mode(),
        (meta.uid(), meta.gid()),
        (
            time(meta.mtime(), meta.mtime_nsec()),
            time(meta.atime(), meta.atime_nsec()),
        ),
    );
    let obj = match kind {
        FileKind::File => {
            let (content, file) = file()?;
            Object::File(content, file)
        }
        FileKind::Dir => Object::Dir,
        FileKind::Symlink => {
            let target =
                std::fs::read_link(host).map_err(|e| Error::io(host.display().to_string(), e))?;
            placed.symlink = Some(target.into_os_string().into_vec());
            Object::Special
        }
        FileKind::CharDevice | FileKind::BlockDevice => {
            let rdev = meta.rdev();
            placed.rdev = Some((rustix::fs::major(rdev), rustix::fs::minor(rdev)));
            Object::Special
        }
        FileKind::Fifo => Object::Special,
        FileKind::Socket => {
            eprintln!("isofish: warning: {}: socket ignored", host.display());
            return Ok(None);
        }
    };
    Ok(Some((placed, obj)))
}
