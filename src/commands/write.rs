//! Commands that stage new file content: `write`, `write-append`, `upload`, `touch`,
//! `truncate`, `truncate-size`; and [`put_file`], which every command that stages a whole
//! file's data goes through.

use std::io::Read;
use std::path::Path;

use super::{arg, ArgKind, Command, Ctx};
use crate::error::Error;
use crate::fs::{FileKind, Timestamp};
use crate::overlay::{fresh, Content, HostFile};
use crate::session::Staging;

pub const COMMANDS: &[Command] = &[
    Command {
        name: "write",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path), arg("CONTENT", ArgKind::Word)],
        options: &[],
        run: write,
    },
    Command {
        name: "write-append",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path), arg("CONTENT", ArgKind::Word)],
        options: &[],
        run: write_append,
    },
    Command {
        name: "upload",
        aliases: &[],
        args: &[arg("HOSTFILE", ArgKind::Output), arg("PATH", ArgKind::Path)],
        options: &[],
        run: upload,
    },
    Command {
        name: "touch",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: touch,
    },
    Command {
        name: "truncate",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: |ctx, args| resize(ctx, &args[0], 0),
    },
    Command {
        name: "truncate-size",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path), arg("SIZE", ArgKind::Word)],
        options: &[],
        run: truncate_size,
    },
];

/// Mode of the files commands make, as guestfish's appliance makes them (0666 under umask 022).
pub const FILE_MODE: u32 = 0o644;

/// Stages `content` as the file at `path`: the existing file's new data (its metadata kept),
/// or a new file. Returns where it was staged.
pub fn put_file(ctx: &mut Ctx, path: &str, content: Content) -> anyhow::Result<Staging> {
    let st = match ctx.session.stage_existing(path, true) {
        Ok(st) => {
            st.overlay.set_content(&st.path, content)?;
            st
        }
        Err(Error::NotFound(_)) => {
            let dangling = ctx.session.resolve_nofollow(path);
            if dangling.is_ok_and(|n| n.kind() == FileKind::Symlink) {
                return Err(Error::Usage(format!(
                    "{path}: a symlink whose target does not exist; `rm` it first to make a \
                     file in its place"
                ))
                .into());
            }
            let st = ctx.session.stage_new(path)?;
            st.overlay
                .create(&st.path, fresh(FileKind::File, FILE_MODE), Some(content))?;
            st
        }
        Err(e) => return Err(e.into()),
    };
    ctx.session.staged(&st)?;
    Ok(st)
}

fn write(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    put_file(ctx, &args[0], Content::bytes(args[1].as_bytes().to_vec())).map(drop)
}

fn write_append(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let more = Content::bytes(args[1].as_bytes().to_vec());
    let content = match ctx.session.stage_existing(&args[0], true) {
        Ok(st) => st.overlay.content(&st.path)?.appended(more),
        Err(Error::NotFound(_)) => more,
        Err(e) => return Err(e.into()),
    };
    put_file(ctx, &args[0], content).map(drop)
}

/// `upload HOSTFILE|- PATH`: a host file staged where it lies (its bytes are taken at commit,
/// after a check that it did not change), or standard input read into memory.
fn upload(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    // Refused under --ro before standard input is read.
    ctx.session.refuse_readonly(&args[1])?;
    if args[0] == "-" {
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(|e| Error::io("standard input", e))?;
        return put_file(ctx, &args[1], Content::bytes(data)).map(drop);
    }
    let (host, content) = HostFile::open(Path::new(&args[0]))?;
    let st = put_file(ctx, &args[1], content)?;
    st.overlay.note_host(host);
    Ok(())
}

/// `touch PATH`: a new empty file, or the access and modification times of an existing
/// regular file set to now.
fn touch(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let st = match ctx.session.stage_existing(&args[0], false) {
        Ok(st) => st,
        Err(Error::NotFound(_)) => {
            return put_file(ctx, &args[0], Content::bytes(Vec::new())).map(drop)
        }
        Err(e) => return Err(e.into()),
    };
    st.overlay.change_meta(&st.path, |m| {
        if m.kind != FileKind::File {
            return Err(Error::Usage(format!(
                "{}: touch can only be used on regular files",
                st.shown
            )));
        }
        let t = Timestamp::now();
        (m.atime, m.mtime) = (t, t);
        Ok(())
    })?;
    ctx.session.staged(&st)?;
    Ok(())
}

fn truncate_size(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let size: u64 = args[1].parse().map_err(|_| {
        Error::Usage(format!(
            "truncate-size: {}: not a size in bytes (a whole number, 0 or more)",
            args[1]
        ))
    })?;
    resize(ctx, &args[0], size)
}

/// `truncate-size PATH SIZE`: the existing file cut to `size` bytes, or made longer with a
/// hole (zeros that take no space).
fn resize(ctx: &mut Ctx, path: &str, size: u64) -> anyhow::Result<()> {
    let st = ctx.session.stage_existing(path, true)?;
    let content = st.overlay.content(&st.path)?;
    st.overlay.set_content(&st.path, content.resized(size))?;
    ctx.session.staged(&st)?;
    Ok(())
}
