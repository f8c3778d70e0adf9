//! Commands that stage copies inside the session: `cp`, `cp-r`, `cp-a` ([`copy`], which
//! `mv` uses across filesystems too). The source may lie in any mount and the copy in any
//! other: file data is taken as spans of the source's filesystem ([`Content::of_file`]), never
//! read until something needs the bytes.

use std::collections::HashMap;

use super::tree_edit::{destination, into_itself, is_within, one, SRC_DEST};
use super::{Command, Ctx};
use crate::error::{Error, Result};
use crate::fs::{FileKind, Metadata};
use crate::overlay::{fresh, Content};
use crate::vfs::walk::{identity, walk};
use crate::vfs::{path, MountId, Node, Target};

pub const COMMANDS: &[Command] = &[
    one("cp", SRC_DEST, cp),
    one("cp-r", SRC_DEST, cp_r),
    one("cp-a", SRC_DEST, cp_a),
];

/// The umask the modes of plain copies are taken through, as in guestfish's appliance.
pub const UMASK: u32 = 0o022;

/// How much a copy takes along.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    /// One file, its data only (`cp`): the source's symlinks are followed.
    File,
    /// A tree (`cp -r`): symlinks, device nodes and FIFOs copied as such; new objects are
    /// root's, with the source's permissions through the umask and times now.
    Tree,
    /// A tree with all its metadata (`cp -a`): mode, owner, times, extended attributes and the
    /// hard links inside it.
    Archive,
}

fn cp(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    copy(ctx, &args[0], &args[1], Copy::File)
}

fn cp_r(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    copy(ctx, &args[0], &args[1], Copy::Tree)
}

fn cp_a(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    copy(ctx, &args[0], &args[1], Copy::Archive)
}

/// Copies session path `src` to `dest` (into it, when it is a directory) as `how` says.
pub fn copy(ctx: &mut Ctx, src: &str, dest: &str, how: Copy) -> anyhow::Result<()> {
    ctx.session.refuse_readonly(dest)?;
    let start = match how {
        Copy::File => ctx.session.resolve(src)?,
        _ => ctx.session.resolve_nofollow(src)?,
    };
    // Named as given (a symlink `cp` follows keeps its own name).
    let named = path::normalize(&ctx.session.absolute(src));
    let target = destination(ctx.session, &named, dest);
    if how == Copy::File && start.kind() != FileKind::File {
        return Err(Error::Usage(match start.kind() {
            FileKind::Dir => format!("{src}: is a directory (cp-r and cp-a copy directories)"),
            _ => format!("{src}: not a regular file"),
        })
        .into());
    }
    let follow = how == Copy::File;
    let there = match follow {
        true => ctx.session.resolve(&target),
        false => ctx.session.resolve_nofollow(&target),
    };
    if there.is_ok_and(|t| same_object(&t, &start)) {
        return Err(Error::Usage(format!("{src} and {target} are the same file")).into());
    }
    if start.is_dir() && is_within(&target, &start.path) {
        return Err(into_itself("copy", &start.path, &target).into());
    }
    // The tree as it is now, before the copy adds to it.
    let mut items: Vec<(String, Node)> = Vec::new();
    walk(&ctx.session.vfs, &start, |item| {
        let rel = String::from_utf8(item.rel.to_vec()).map_err(|_| {
            Error::Usage(format!(
                "{}: {:?} is not a UTF-8 name, which the session cannot address",
                start.path,
                String::from_utf8_lossy(item.rel)
            ))
        })?;
        let node = Node {
            path: path::child(&start.path, rel.as_bytes()),
            target: item.target.clone(),
        };
        let to = match rel.is_empty() {
            true => target.clone(),
            false => path::child(&target, rel.as_bytes()),
        };
        items.push((to, node));
        Ok(how != Copy::File)
    })?;
    let mut links = HashMap::new();
    for (to, node) in &items {
        copy_one(ctx, node, to, how, &mut links)?;
    }
    if how == Copy::Archive {
        // Children first, so a directory's times are the last thing set in it.
        for (to, node) in items.iter().rev() {
            keep_meta(ctx, node, to)?;
        }
    }
    Ok(())
}

/// True when two nodes are one object of one filesystem.
fn same_object(a: &Node, b: &Node) -> bool {
    match (&a.target, &b.target) {
        (Target::Fs { fs: f, ino: i, .. }, Target::Fs { fs: g, ino: j, .. }) => {
            identity(f, *i) == identity(g, *j)
        }
        _ => false,
    }
}

/// The first copy of each source object with more than one link (`cp -a` links the others
/// to it): its mount and path there.
type Links = HashMap<(usize, u64), (MountId, String)>;

/// Copies the one object `node` to session path `to` (its directory exists by now): a
/// directory is made, or merged into when one is there; anything else replaces what is there.
fn copy_one(ctx: &mut Ctx, node: &Node, to: &str, how: Copy, links: &mut Links) -> Result<()> {
    let meta = node.meta();
    let (fs, ino) = match &node.target {
        Target::Fs { fs, ino, .. } => (Some(fs), *ino),
        Target::Virtual => (None, 0),
    };
    match ctx.session.stage_existing(to, how == Copy::File) {
        Ok(st) => {
            let there = st.overlay.find(&st.path)?;
            match (meta.is_dir(), there.meta.is_dir()) {
                (true, true) => return Ok(()),
                (true, false) => {
                    return Err(Error::Usage(format!(
                        "{}: cannot overwrite a non-directory with a directory",
                        st.shown
                    )))
                }
                (false, true) => {
                    return Err(Error::Usage(format!(
                        "{}: cannot overwrite a directory with a non-directory",
                        st.shown
                    )))
                }
                (false, false) => {}
            }
            if let (Some(fs), FileKind::File, FileKind::File) = (fs, meta.kind, there.meta.kind) {
                // A file over a file: new data in the file that is there, as cp(1) writes it.
                let data = Content::of_file(fs, ino, meta.size, source_name(node))?;
                st.overlay.set_content(&st.path, data)?;
                return ctx.session.staged(&st);
            }
            st.overlay.remove(&st.path)?;
        }
        Err(Error::NotFound(_)) => {}
        Err(e) => return Err(e),
    }
    let st = ctx.session.stage_new(to)?;
    let key = fs.map(|fs| identity(fs, meta.ino));
    if how == Copy::Archive && !meta.is_dir() && meta.nlink > 1 {
        if let Some((mount, first)) = key.and_then(|k| links.get(&k)) {
            if *mount == st.mount {
                st.overlay.link(first, &st.path)?;
                return ctx.session.staged(&st);
            }
        }
    }
    let new_meta = match how {
        Copy::Archive => meta.clone(),
        _ => Metadata {
            symlink: meta.symlink.clone(),
            rdev: meta.rdev,
            ..fresh(meta.kind, plain_mode(&meta))
        },
    };
    let data = match (fs, meta.kind) {
        (Some(fs), FileKind::File) => {
            Some(Content::of_file(fs, ino, meta.size, source_name(node))?)
        }
        _ => None,
    };
    st.overlay.create(&st.path, new_meta, data)?;
    if let (Copy::Archive, Some(fs)) = (how, fs) {
        let xattrs = fs.xattrs(ino)?;
        if !xattrs.is_empty() {
            st.overlay.set_xattrs(&st.path, xattrs)?;
        }
    }
    if let Some(k) = key.filter(|_| meta.nlink > 1 && !meta.is_dir()) {
        links.entry(k).or_insert((st.mount, st.path.clone()));
    }
    ctx.session.staged(&st)
}

/// The permission bits of a plain copy: the source's through the umask (symlinks 0777).
fn plain_mode(meta: &Metadata) -> u32 {
    match meta.kind {
        FileKind::Symlink => 0o777,
        _ => meta.mode & 0o777 & !UMASK,
    }
}

/// The name a copied file's data is read under in errors: `image:path`.
fn source_name(node: &Node) -> String {
    match node.fs() {
        Some(fs) => format!("{}:{}", fs.source().name(), node.path),
        None => node.path.clone(),
    }
}

/// Gives the copy at `to` the source's mode, owner and times (`cp -a`).
fn keep_meta(ctx: &mut Ctx, node: &Node, to: &str) -> Result<()> {
    let src = node.meta();
    let st = ctx.session.stage_existing(to, false)?;
    st.overlay.change_meta(&st.path, |m| {
        m.mode = src.mode;
        (m.uid, m.gid) = (src.uid, src.gid);
        (m.atime, m.mtime) = (src.atime, src.mtime);
        Ok(())
    })?;
    Ok(())
}
