//! Commands that stage changes to the shape of the tree: `mkdir`, `mkdir-p`, `rm`, `rm-f`,
//! `rm-rf`, `rmdir`, `mv`, `ln`, `ln-s`; and what the tree commands share: where a
//! destination lands ([`destination`]), the mountpoint guard ([`refuse_mounts_below`]).

use super::tree_copy::{copy, Copy};
use super::{arg, ArgKind, Command, Ctx};
use crate::error::{Error, Result};
use crate::fs::{DirEntry, FileKind, FileSystem};
use crate::overlay::fresh;
use crate::session::Session;
use crate::session::Staging;
use crate::vfs::path;

pub const COMMANDS: &[Command] = &[
    one("mkdir", &[arg("PATH", ArgKind::Path)], mkdir),
    one("mkdir-p", &[arg("PATH", ArgKind::Path)], mkdir_p),
    one("rm", &[arg("PATH", ArgKind::Path)], rm),
    one("rm-f", &[arg("PATH", ArgKind::Path)], rm_f),
    one("rm-rf", &[arg("PATH", ArgKind::Path)], rm_rf),
    one("rmdir", &[arg("PATH", ArgKind::Path)], rmdir),
    one("mv", SRC_DEST, mv),
    one("ln", &[arg("TARGET", ArgKind::Path), LINK], ln),
    one("ln-s", &[arg("TARGET", ArgKind::Word), LINK], ln_s),
];

/// The arguments of `mv` and the `cp` family.
pub const SRC_DEST: &[super::Arg] = &[arg("SRC", ArgKind::Path), arg("DEST", ArgKind::Path)];
const LINK: super::Arg = arg("LINK", ArgKind::Path);

/// A command of these files: no aliases, no options.
pub const fn one(name: &'static str, args: &'static [super::Arg], run: super::RunFn) -> Command {
    Command {
        name,
        aliases: &[],
        args,
        options: &[],
        run,
    }
}

/// Mode of the directories commands make (0777 under umask 022).
pub const DIR_MODE: u32 = 0o755;

fn mkdir(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let st = ctx.session.stage_new(&args[0])?;
    st.overlay
        .create(&st.path, fresh(FileKind::Dir, DIR_MODE), None)?;
    ctx.session.staged(&st)?;
    Ok(())
}

fn mkdir_p(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    ctx.session.refuse_readonly(&args[0])?;
    let abs = ctx.session.absolute(&args[0]);
    let mut at = String::new();
    for comp in abs.split('/').filter(|c| !c.is_empty()) {
        at.push('/');
        at.push_str(comp);
        match ctx.session.resolve(&at) {
            Ok(node) if node.is_dir() => continue,
            Ok(_) => return Err(Error::NotADirectory(at).into()),
            Err(Error::NotFound(_)) => mkdir(ctx, std::slice::from_ref(&at))?,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// What a removal accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Remove {
    /// A file, symlink or other non-directory (`rm`).
    NonDir,
    /// An empty directory (`rmdir`).
    EmptyDir,
    /// Anything, a directory with all it holds (`rm-rf`).
    Tree,
}

/// Removes `path` as `what` allows; a missing path is no error when `missing_ok`.
fn remove(ctx: &mut Ctx, path: &str, what: Remove, missing_ok: bool) -> anyhow::Result<()> {
    let st = match ctx.session.stage_existing(path, false) {
        Err(Error::NotFound(_)) if missing_ok => return Ok(()),
        st => st?,
    };
    let e = st.overlay.find(&st.path)?;
    match what {
        Remove::NonDir if e.meta.is_dir() => return Err(Error::IsADirectory(st.shown).into()),
        Remove::EmptyDir if !e.meta.is_dir() => return Err(Error::NotADirectory(st.shown).into()),
        Remove::EmptyDir => refuse_nonempty(&st, &e)?,
        _ => {}
    }
    refuse_mounts_below(ctx.session, &st.shown)?;
    st.overlay.remove(&st.path)?;
    ctx.session.staged(&st)?;
    Ok(())
}

fn rm(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    remove(ctx, &args[0], Remove::NonDir, false)
}

fn rm_f(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    remove(ctx, &args[0], Remove::NonDir, true)
}

fn rm_rf(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    remove(ctx, &args[0], Remove::Tree, true)
}

fn rmdir(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    remove(ctx, &args[0], Remove::EmptyDir, false)
}

/// Fails unless the directory `e` at `st` holds nothing.
fn refuse_nonempty(st: &Staging, e: &DirEntry) -> Result<()> {
    if st.overlay.read_dir(e.ino)?.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!("{}: directory not empty", st.shown)))
}

/// Refuses to remove or move the session path `shown` while a filesystem is mounted below it
/// (Linux says EBUSY): the mount would be left hanging over nothing.
pub fn refuse_mounts_below(session: &Session, shown: &str) -> Result<()> {
    match session
        .vfs
        .mounts()
        .iter()
        .find(|m| m.mountpoint != shown && path::relative_to(&m.mountpoint, shown).is_some())
    {
        Some(m) => Err(Error::Busy {
            path: shown.to_string(),
            reason: format!("{} is mounted below it", m.mountpoint),
        }),
        None => Ok(()),
    }
}

/// Where `DEST` puts the object at session path `src`: inside `DEST` when it is a directory
/// (symlinks followed), as coreutils' `mv`, `cp` and `ln` do; else `DEST` itself.
pub fn destination(session: &Session, src: &str, dest: &str) -> String {
    let abs = session.absolute(dest);
    match session.resolve(dest) {
        Ok(node) if node.is_dir() => {
            let name = src.rsplit('/').next().unwrap_or_default();
            path::child(&node.path, name.as_bytes())
        }
        _ => abs,
    }
}

/// The error for a directory moved or copied below itself.
pub fn into_itself(verb: &str, src: &str, dest: &str) -> Error {
    Error::Usage(format!(
        "cannot {verb} {src} to a subdirectory of itself, {dest}"
    ))
}

/// True when `path` is `dir` or lies below it (both session paths).
pub fn is_within(path: &str, dir: &str) -> bool {
    path::relative_to(path, dir).is_some()
}

fn mv(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let src = ctx.session.stage_existing(&args[0], false)?;
    let to = destination(ctx.session, &src.shown, &args[1]);
    let dst = ctx.session.stage_new(&to)?;
    let moving = src.overlay.find(&src.path)?;
    if moving.meta.is_dir() && dst.shown != src.shown && is_within(&dst.shown, &src.shown) {
        return Err(into_itself("move", &src.shown, &dst.shown).into());
    }
    refuse_mounts_below(ctx.session, &src.shown)?;
    let same_mount = dst.mount == src.mount;
    if let Ok(there) = dst.overlay.find(&dst.path) {
        if same_mount && there.ino == moving.ino {
            return Err(
                Error::Usage(format!("{} and {} are the same file", src.shown, dst.shown)).into(),
            );
        }
        check_replace(&dst, &moving, &there)?;
        dst.overlay.remove(&dst.path)?;
    }
    if same_mount {
        src.overlay.rename(&src.path, &dst.path)?;
    } else {
        // Across filesystems, as mv(1): a copy that keeps everything, then the removal.
        copy(ctx, &src.shown, &dst.shown, Copy::Archive)?;
        src.overlay.remove(&src.path)?;
    }
    // The copy counted its own changes in the other mount.
    ctx.session.staged(&src)?;
    Ok(())
}

/// Fails unless `moving` may replace `there` at `dst`: a non-directory replaces a
/// non-directory, a directory an empty directory.
fn check_replace(dst: &Staging, moving: &DirEntry, there: &DirEntry) -> Result<()> {
    match (moving.meta.is_dir(), there.meta.is_dir()) {
        (true, false) => Err(Error::Usage(format!(
            "{}: cannot overwrite a non-directory with a directory",
            dst.shown
        ))),
        (false, true) => Err(Error::Usage(format!(
            "{}: cannot overwrite a directory with a non-directory",
            dst.shown
        ))),
        (true, true) => refuse_nonempty(dst, there),
        (false, false) => Ok(()),
    }
}

fn ln(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let src = ctx.session.stage_existing(&args[0], false)?;
    let to = destination(ctx.session, &src.shown, &args[1]);
    let dst = ctx.session.stage_new(&to)?;
    if dst.mount != src.mount {
        return Err(Error::Usage(format!(
            "{}: cannot link to {}: it is on another filesystem",
            dst.shown, src.shown
        ))
        .into());
    }
    src.overlay
        .link(&src.path, &dst.path)
        .map_err(|e| match e {
            Error::IsADirectory(_) => Error::Usage(format!(
                "{}: hard link not allowed for a directory",
                src.shown
            )),
            e => e,
        })?;
    ctx.session.staged(&dst)?;
    Ok(())
}

fn ln_s(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let target = &args[0];
    let to = destination(ctx.session, target.trim_end_matches('/'), &args[1]);
    let st = ctx.session.stage_new(&to)?;
    let meta = crate::fs::Metadata {
        symlink: Some(target.as_bytes().to_vec()),
        ..fresh(FileKind::Symlink, 0o777)
    };
    st.overlay.create(&st.path, meta, None)?;
    ctx.session.staged(&st)?;
    Ok(())
}
