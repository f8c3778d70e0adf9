//! The live root: the filesystem image a live system runs from (`casper/filesystem.squashfs`,
//! `LiveOS/squashfs.img`, `arch/x86_64/airootfs.sfs`, `live/filesystem.squashfs`...), opened
//! read-only with what it holds inside (Fedora's older images keep an ext4
//! `LiveOS/rootfs.img` in the squashfs), and its `/etc/os-release`. [`mount`] mounts it at
//! `/live` for `isofish -i`.

use std::sync::Arc;

use super::identity::os_release;
use super::tree::Tree;
use crate::error::Result;
use crate::fs::{self, FileKind, FileSystem, MountOptions};
use crate::session::Session;
use crate::vfs::Target;

/// Where distributions put the live root, most specific first.
pub const CANDIDATES: &[&str] = &[
    "/casper/filesystem.squashfs",
    "/casper/minimal.squashfs",
    "/LiveOS/squashfs.img",
    "/arch/x86_64/airootfs.sfs",
    "/arch/x86_64/airootfs.erofs",
    "/live/filesystem.squashfs",
];

/// Directories searched for another `*.squashfs` when no candidate is there.
const DIRS: &[&str] = &["/casper", "/live", "/LiveOS"];

/// Where the root filesystem lies inside a live image that wraps it (Fedora before 35).
const INNER: &[&str] = &["/LiveOS/rootfs.img", "/LiveOS/ext3fs.img"];

/// The most read of `os-release`.
const OS_RELEASE_LIMIT: usize = 64 * 1024;

/// The live root image, as far as it could be opened.
#[derive(Clone, Debug)]
pub struct LiveRoot {
    /// Its path in the ISO tree.
    pub path: String,
    pub size: u64,
    /// What it is (`squashfs (xz)`), when the probe says.
    pub kind: Option<String>,
    /// The image inside it that is the root (`/LiveOS/rootfs.img`), if it wraps one.
    pub inner: Option<String>,
    /// `/etc/os-release` of the root, field by field.
    pub os_release: Vec<(String, String)>,
    /// Why it could not be opened.
    pub problem: Option<String>,
}

impl LiveRoot {
    /// A field of its `os-release`.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.os_release
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The path of the live root image in `iso`, if the disc has one.
pub fn find(iso: &Tree) -> Option<String> {
    if let Some(c) = CANDIDATES.iter().find(|c| iso.has_file(c)) {
        return Some(c.to_string());
    }
    DIRS.iter().find_map(|dir| {
        iso.list(dir, 256)
            .into_iter()
            .find(|(n, k)| *k == FileKind::File && n.ends_with(".squashfs"))
            .map(|(n, _)| format!("{dir}/{n}"))
    })
}

/// The live root of `iso`, opened.
pub fn read(iso: &Tree) -> Option<LiveRoot> {
    let path = find(iso)?;
    let (_, meta) = iso.file(&path)?;
    let mut live = LiveRoot {
        path: path.clone(),
        size: meta.size,
        kind: None,
        inner: None,
        os_release: Vec::new(),
        problem: None,
    };
    let Some(source) = iso.source(&path) else {
        return Some(live);
    };
    live.kind = fs::probe::describe(&source).ok();
    let root = match open(source) {
        Ok((fs, inner)) => {
            live.inner = inner;
            Tree::new(fs, "")
        }
        Err(e) => {
            live.problem = Some(e.to_string());
            return Some(live);
        }
    };
    if let Some(text) = root.read("/etc/os-release", OS_RELEASE_LIMIT) {
        live.os_release = os_release(&text.text());
    } else if let Some(text) = root.read("/usr/lib/os-release", OS_RELEASE_LIMIT) {
        live.os_release = os_release(&text.text());
    }
    Some(live)
}

/// The root filesystem in the image `source`: the image's own, or the one it wraps (with its
/// path).
fn open(source: Arc<dyn crate::source::Source>) -> Result<(Arc<dyn FileSystem>, Option<String>)> {
    let outer = fs::open(source, &MountOptions::default())?;
    let tree = Tree::new(outer.clone(), "");
    for inner in INNER {
        if let Some(src) = tree.source(inner) {
            if let Ok(fs) = fs::open(src, &MountOptions::default()) {
                return Ok((fs, Some(inner.to_string())));
            }
        }
    }
    Ok((outer, None))
}

/// `isofish -i`: mounts the live root of the filesystem at `/` on `/live` (and the root it
/// wraps over it, when it wraps one). Returns the live root's path, or `None` when the disc
/// has none (or nothing is mounted at `/`).
pub fn mount(session: &mut Session) -> Result<Option<String>> {
    let fs = match session.resolve("/") {
        Ok(node) => match node.target {
            Target::Fs { fs, .. } => fs,
            Target::Virtual => return Ok(None),
        },
        Err(_) => return Ok(None),
    };
    let Some(path) = find(&Tree::new(fs, "")) else {
        return Ok(None);
    };
    session.mount_loop(&path, "/live", None, MountOptions::default())?;
    for inner in INNER {
        let inside = format!("/live{inner}");
        let is_file = session
            .resolve(&inside)
            .is_ok_and(|n| n.kind() == FileKind::File);
        if is_file
            && session
                .mount_loop(&inside, "/live", None, MountOptions::default())
                .is_ok()
        {
            break;
        }
    }
    Ok(Some(path))
}
