//! Commands about what is staged: `changes` (like `git status`), `diff` (unified diffs of the
//! changed files), `revert` (one path) and `revert-all`.

use std::io::Write;
use std::sync::Arc;

use similar::TextDiff;

use super::{any, many, option, parse, ArgKind, Command, Ctx, Opt, Value};
use crate::error::Error;
use crate::fs::iso9660::inplace::Fit;
use crate::fs::FileKind;
use crate::overlay::changes::{label_line, size_line, Change, Kind};
use crate::overlay::{Content, Overlay};
use crate::session::Session;
use crate::vfs::{path, MountId};

pub const COMMANDS: &[Command] = &[
    Command {
        name: "changes",
        aliases: &[],
        args: &[],
        options: &[VERBOSE],
        run: changes,
    },
    Command {
        name: "diff",
        aliases: &[],
        args: &[any("PATH", ArgKind::Path)],
        options: &[],
        run: diff,
    },
    Command {
        name: "revert",
        aliases: &[],
        args: &[many("PATH", ArgKind::Path)],
        options: &[],
        run: revert,
    },
    Command {
        name: "revert-all",
        aliases: &[],
        args: &[],
        options: &[],
        run: revert_all,
    },
];

const VERBOSE: Opt =
    option("-v", Value::Flag, "also show the diff of each changed file").aliases(&["--verbose"]);

/// Files larger than this are diffed as binary (by size) rather than read into memory.
pub const DIFF_LIMIT: u64 = 8 << 20;

/// How much of a file is looked at for a NUL byte, which makes it binary (as git does).
const SNIFF: usize = 8000;

/// A mount with staged changes: its id, mountpoint and overlay.
struct Staged {
    id: MountId,
    mountpoint: String,
    overlay: Arc<Overlay>,
}

/// The mounts that have an overlay, in mount order.
fn staged_mounts(session: &Session) -> Vec<Staged> {
    session
        .vfs
        .entries()
        .filter_map(|m| {
            Some(Staged {
                id: m.id,
                mountpoint: m.mount.mountpoint.clone(),
                overlay: session.vfs.staged(m.id)?.clone(),
            })
        })
        .collect()
}

/// A path of a filesystem mounted at `mountpoint` as a path of the session.
fn shown(mountpoint: &str, inside: &str) -> String {
    match (mountpoint, inside) {
        ("/", _) => inside.to_string(),
        (_, "/") => mountpoint.to_string(),
        _ => format!("{}{inside}", mountpoint.trim_end_matches('/')),
    }
}

fn changes(ctx: &mut Ctx, words: &[String]) -> anyhow::Result<()> {
    let verbose = parse("changes", words)?.flag("-v");
    list(ctx.session, verbose, ctx.out, &mut Vec::new())
}

/// Writes what `changes` prints to `out`; for each line but the diffs (`verbose`), pushes to
/// `paths` the session path of the entry it names (`None` for a header, the label, a boot
/// line, a blank line and the commit line), so the browser pane's list of changes can jump to
/// it.
pub fn list(
    session: &Session,
    verbose: bool,
    out: &mut dyn Write,
    paths: &mut Vec<Option<String>>,
) -> anyhow::Result<()> {
    let mut groups = Vec::new();
    for m in staged_mounts(session) {
        let c = m.overlay.changes()?;
        if !c.is_empty() {
            groups.push((m, c));
        }
    }
    let headers = groups.len() > 1;
    let mut line = |out: &mut dyn Write, text: &str, path: Option<String>| {
        paths.push(path);
        writeln!(out, "{text}")
    };
    for (i, (m, c)) in groups.iter().enumerate() {
        if headers {
            if i > 0 {
                line(out, "", None)?;
            }
            line(out, &format!("{}:", m.mountpoint), None)?;
        }
        if let Some((old, new)) = &c.label {
            line(out, &label_line(old.as_deref(), new), None)?;
        }
        if let Some((old, new)) = c.size {
            line(out, &size_line(old, new), None)?;
        }
        for text in c.boot.lines(|p| shown(&m.mountpoint, p)) {
            line(out, &text, None)?;
        }
        for item in &c.items {
            let path = shown(&m.mountpoint, &item.path);
            line(out, &item.line(|p| shown(&m.mountpoint, p)), Some(path))?;
        }
        if verbose {
            for item in &c.items {
                write_diff(out, m, item)?;
            }
        }
    }
    if !groups.is_empty() {
        if headers {
            line(out, "", None)?;
        }
        let (way, more) = commit_way(session, verbose);
        line(out, &way, None)?;
        for text in more {
            line(out, &format!("  {text}"), None)?;
        }
    }
    Ok(())
}

/// The session path and letter (A, M, R, m as `changes` starts its lines) of every entry with
/// a staged change that is still in the tree, for the browser pane's listing.
pub fn marks(session: &Session) -> anyhow::Result<Vec<(String, char)>> {
    let mut marks = Vec::new();
    for m in staged_mounts(session) {
        for item in m.overlay.changes()?.items {
            if item.kind != Kind::Removed {
                marks.push((shown(&m.mountpoint, &item.path), item.letter()));
            }
        }
    }
    Ok(marks)
}

/// The line that says how `commit` (back into the opened image) will go: `commit: in place`
/// (and with `verbose`, what it patches), `commit: rewrite (why)`, or why it cannot; when
/// nested images are rebuilt first, which ones and in what format, one per line after it.
pub fn commit_way(session: &Session, verbose: bool) -> (String, Vec<String>) {
    let drive = session.commit_drive();
    let rebuilds = drive
        .as_ref()
        .map(|&d| session.rebuilds(d))
        .unwrap_or_default();
    if !rebuilds.is_empty() {
        let lines = rebuilds
            .iter()
            .map(|r| match r.codec {
                Some(codec) => format!("rebuild {}: {}, compressed with {codec}", r.file, r.format),
                None => format!("rebuild {}: {}", r.file, r.format),
            })
            .collect();
        let way = "commit: the nested images rebuilt first (innermost first), then in place \
                   if they fit, else a rewrite";
        return (way.into(), lines);
    }
    match drive.and_then(|drive| session.commit_fit(drive)) {
        Ok(Fit::InPlace(patch)) if verbose => ("commit: in place".into(), patch.summary),
        Ok(Fit::InPlace(_)) => ("commit: in place".into(), Vec::new()),
        Ok(Fit::Rewrite(why)) => (format!("commit: rewrite ({why})"), Vec::new()),
        Err(e) => (format!("commit: refused ({e})"), Vec::new()),
    }
}

fn diff(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let mounts = staged_mounts(ctx.session);
    if args.is_empty() {
        for m in &mounts {
            for item in &m.overlay.changes()?.items {
                write_diff(ctx.out, m, item)?;
            }
        }
        return Ok(());
    }
    for arg in args {
        let (id, inside) = locate(ctx.session, arg)?;
        let Some(m) = mounts.iter().find(|m| m.id == id) else {
            exists(ctx.session, arg)?;
            continue;
        };
        let items = m.overlay.changes()?.items;
        let below = |p: Option<&str>| p.is_some_and(|p| path::relative_to(p, &inside).is_some());
        let mine: Vec<&Change> = items
            .iter()
            .filter(|c| below(c.new_path()) || below(c.old_path()))
            .collect();
        if mine.is_empty() {
            exists(ctx.session, arg)?;
        }
        for item in mine {
            write_diff(ctx.out, m, item)?;
        }
    }
    Ok(())
}

/// Fails when `arg` names nothing (now; with no overlay, nothing below either).
fn exists(session: &Session, arg: &str) -> anyhow::Result<()> {
    session.resolve_nofollow(arg)?;
    Ok(())
}

fn revert(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    for arg in args {
        let (id, inside) = locate(ctx.session, arg)?;
        let Some(overlay) = ctx.session.vfs.staged(id).cloned() else {
            exists(ctx.session, arg)?;
            continue;
        };
        let mountpoint = ctx.session.vfs.get(id).map(|m| m.mount.mountpoint.clone());
        overlay
            .revert(&inside)
            .map_err(|e| shown_error(e, arg, &inside, mountpoint.as_deref()))?;
        if overlay.is_clean() {
            ctx.session.vfs.discard(id)?;
        }
    }
    Ok(())
}

/// `e` from the overlay, naming `arg` where it names the path inside the mount, and the
/// mount its paths are in when that is not the session's root.
fn shown_error(e: Error, arg: &str, inside: &str, mountpoint: Option<&str>) -> Error {
    match (e, mountpoint) {
        (Error::NotFound(p), _) if p == inside => Error::NotFound(arg.to_string()),
        (e, Some(mp)) if mp != "/" => {
            Error::Usage(format!("{e} (paths of the filesystem at {mp})"))
        }
        (e, _) => e,
    }
}

fn revert_all(ctx: &mut Ctx, _: &[String]) -> anyhow::Result<()> {
    let ids: Vec<MountId> = ctx.session.vfs.entries().map(|m| m.id).collect();
    for id in ids {
        if let Some(o) = ctx.session.vfs.staged(id) {
            o.revert_all();
        }
        ctx.session.vfs.discard(id)?;
    }
    Ok(())
}

/// The mount a session path lies in and the path inside it; the path need not exist (a
/// removed file): its deepest existing directory decides.
fn locate(session: &Session, arg: &str) -> anyhow::Result<(MountId, String)> {
    let abs = path::normalize(&session.absolute(arg));
    let comps: Vec<&str> = abs.split('/').filter(|c| !c.is_empty()).collect();
    for keep in (0..=comps.len()).rev() {
        let head = format!("/{}", comps[..keep].join("/"));
        let found = match keep == comps.len() {
            true => session.resolve_nofollow(&head),
            false => session.resolve(&head),
        };
        let node = match found {
            Ok(node) if keep == comps.len() || node.is_dir() => node,
            Ok(_) | Err(Error::NotFound(_) | Error::NotADirectory(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        let Some(owner) = session.vfs.owner(&node) else {
            break;
        };
        let base = path::relative_to(&node.path, &owner.mount.mountpoint)
            .expect("a node lies below the mount it was reached through");
        let inside = comps[keep..]
            .iter()
            .fold(base.to_string(), |p, c| path::child(&p, c.as_bytes()));
        return Ok((owner.id, inside));
    }
    Err(Error::Usage(format!("{arg}: not in a mounted filesystem")).into())
}

/// A file's data for a diff: its bytes when it is small enough, else `None`.
fn small(c: &Content) -> crate::error::Result<Option<Vec<u8>>> {
    if c.len() > DIFF_LIMIT {
        return Ok(None);
    }
    let mut buf = vec![0; c.len() as usize];
    let mut at = 0;
    while at < buf.len() {
        match c.read_at(at as u64, &mut buf[at..])? {
            0 => break,
            n => at += n,
        }
    }
    buf.truncate(at);
    Ok(Some(buf))
}

/// The regular file's data at `path` of `fs`, if `path` is a regular file there.
fn file_data(
    overlay: &Overlay,
    path: Option<&str>,
    now: bool,
) -> crate::error::Result<Option<Content>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let entry = match now {
        true => Some(overlay.find(path)?),
        false => overlay.original(path)?,
    };
    match entry {
        Some(e) if e.meta.kind == FileKind::File => match now {
            true => overlay.content(path).map(Some),
            false => {
                let name = format!("{}:{path}", overlay.base().source().name());
                Content::of_file(overlay.base(), e.ino, e.meta.size, name).map(Some)
            }
        },
        _ => Ok(None),
    }
}

/// Writes the diff of one change (nothing for a directory, a symlink, a device, or a change
/// that left the data as it was).
fn write_diff(out: &mut dyn Write, m: &Staged, item: &Change) -> anyhow::Result<()> {
    if item.dir || !(item.content || matches!(item.kind, Kind::Added | Kind::Removed)) {
        return Ok(());
    }
    let old = file_data(&m.overlay, item.old_path(), false)?;
    let new = file_data(&m.overlay, item.new_path(), true)?;
    if old.is_none() && new.is_none() {
        return Ok(());
    }
    let name = |side: &str, p: Option<&str>| match p {
        Some(p) => format!("{side}/{}", shown(&m.mountpoint, p).trim_start_matches('/')),
        None => "/dev/null".to_string(),
    };
    let (a, b) = (name("a", item.old_path()), name("b", item.new_path()));
    let len = |c: &Option<Content>| c.as_ref().map_or(0, Content::len);
    let bytes = |c: &Option<Content>| c.as_ref().map_or(Ok(Some(Vec::new())), small);
    let (old_bytes, new_bytes) = (bytes(&old)?, bytes(&new)?);
    match (old_bytes, new_bytes) {
        (Some(o), Some(n)) if !is_binary(&o) && !is_binary(&n) => {
            if o != n {
                unified(&o, &n, &a, &b, out)?;
            }
        }
        _ => writeln!(
            out,
            "Binary files {a} and {b} differ ({} -> {} bytes)",
            len(&old),
            len(&new)
        )?,
    }
    Ok(())
}

/// Writes the unified diff of two texts, `a` and `b` in its header.
pub fn unified(
    old: &[u8],
    new: &[u8],
    a: &str,
    b: &str,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .header(a, b)
        .to_writer(out)
}

/// True for data git would call binary: a NUL byte near the start.
fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(SNIFF)].contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_paths_of_mount_paths() {
        assert_eq!(shown("/", "/a/b"), "/a/b");
        assert_eq!(shown("/sq", "/"), "/sq");
        assert_eq!(shown("/sq", "/etc/x"), "/sq/etc/x");
    }

    #[test]
    fn nul_bytes_make_data_binary() {
        assert!(is_binary(b"ab\0c"));
        assert!(!is_binary(b"plain text\n"));
        let mut late = vec![b'a'; SNIFF];
        late.push(0);
        assert!(
            !is_binary(&late),
            "only the start is looked at, as git does"
        );
    }
}
