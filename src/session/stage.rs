//! Where a change is staged: a session path turned into the overlay of the mount that holds
//! it and the path inside that mount's filesystem ([`Staging`]). Every edit command goes
//! through here, so `--ro` is refused in one place, before anything is staged, and every change
//! is counted in its mount.

use std::sync::Arc;

use super::Session;
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::overlay::Overlay;
use crate::vfs::{path, MountId, Node};

/// The place of one change.
pub struct Staging {
    /// The mount the change is made in.
    pub mount: MountId,
    pub overlay: Arc<Overlay>,
    /// The path inside the mount's filesystem (`/` is its root).
    pub path: String,
    /// The path in the session, as resolved (for messages).
    pub shown: String,
}

impl Session {
    /// The error every change meets in a session opened with `--ro`.
    pub fn refuse_readonly(&self, target: &str) -> Result<()> {
        if self.readonly {
            return Err(Error::ReadOnly {
                target: target.to_string(),
                reason: "the session was opened with --ro".into(),
            });
        }
        Ok(())
    }

    /// The place of the existing object at `path` (its last symlink followed when `follow`).
    pub fn stage_existing(&mut self, path: &str, follow: bool) -> Result<Staging> {
        self.refuse_readonly(path)?;
        let node = if follow {
            self.resolve(path)?
        } else {
            self.resolve_nofollow(path)?
        };
        self.staging_for(&node, None)
    }

    /// The place of a name to be made or replaced at `path`: its directory resolved
    /// (symlinks followed), the last name kept as given.
    pub fn stage_new(&mut self, path: &str) -> Result<Staging> {
        self.refuse_readonly(path)?;
        let abs = self.absolute(path);
        let (dir, name) = split_last(&abs)
            .ok_or_else(|| Error::Usage(format!("{path}: names no file to make")))?;
        let parent = self.resolve(dir)?;
        if !parent.is_dir() {
            return Err(Error::NotADirectory(dir.to_string()));
        }
        let st = self.staging_for(&parent, Some(name))?;
        check_name(&st, name)?;
        Ok(st)
    }

    /// Counts one change staged at `st` in its mount.
    pub fn staged(&mut self, st: &Staging) -> Result<()> {
        self.note_change(st.mount).map(drop)
    }

    /// The staging place of `node` (or of `name` in directory `node`).
    fn staging_for(&mut self, node: &Node, name: Option<&str>) -> Result<Staging> {
        let shown = match name {
            Some(n) => path::child(&node.path, n.as_bytes()),
            None => node.path.clone(),
        };
        let owner = self.vfs.owner(node).ok_or_else(|| {
            Error::Usage(format!(
                "{shown}: not in a mounted filesystem (nothing to change it in)"
            ))
        })?;
        let (id, mountpoint) = (owner.id, owner.mount.mountpoint.clone());
        if let Some(device) = self.readonly_drive(id) {
            return Err(Error::ReadOnly {
                target: shown,
                reason: format!("{device} was added with readonly:true"),
            });
        }
        if let Some(reason) = crate::fs::rebuild::refuses(owner.mount.fs.as_ref()) {
            return Err(Error::ReadOnly {
                target: shown,
                reason,
            });
        }
        if name.is_none() && node.path == mountpoint {
            return Err(Error::Busy {
                path: shown,
                reason: "it is a mountpoint".into(),
            });
        }
        let inside = path::relative_to(&shown, &mountpoint)
            .expect("a node lies below the mount it was reached through")
            .to_string();
        let overlay = self.vfs.overlay(id)?;
        Ok(Staging {
            mount: id,
            overlay,
            path: inside,
            shown,
        })
    }
}

/// Refuses a name the filesystem staged in cannot store, before anything is staged, naming
/// the path; says on standard error how it will be stored when not as given.
fn check_name(st: &Staging, name: &str) -> Result<()> {
    let refuse = |format, why: String| Error::CannotStoreName {
        path: st.shown.clone(),
        format,
        why,
    };
    if name.len() > NAME_MAX {
        let why = format!("{} bytes, over the {NAME_MAX} a name may have", name.len());
        return Err(refuse(st.overlay.type_name(), why));
    }
    let note = st
        .overlay
        .name_fit(name.as_bytes(), false)
        .map_err(|e| match e {
            Error::CannotStoreName { format, why, .. } => refuse(format, why),
            other => other,
        })?;
    if let Some(note) = note {
        eprintln!("isofish: warning: {}: {note}", st.shown);
    }
    Ok(())
}

/// The longest name (in bytes) isofish stages: what Linux, Rock Ridge readers and the
/// nested formats all hold.
const NAME_MAX: usize = 255;

/// `/a/b/c` as `/a/b` and `c`; `None` for the root and names `.`/`..` at the end.
fn split_last(abs: &str) -> Option<(&str, &str)> {
    let trimmed = abs.trim_end_matches('/');
    let (dir, name) = trimmed.rsplit_once('/')?;
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    Some((if dir.is_empty() { "/" } else { dir }, name))
}
