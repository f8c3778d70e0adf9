//! Commands that stage new file content: `write`, `write-append`.

use super::{arg, ArgKind, Command, Ctx};
use crate::fs::FileKind;
use crate::overlay::{fresh, Content};

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
];

/// Mode of the files commands make, as guestfish's appliance makes them (0666 under umask 022).
pub const FILE_MODE: u32 = 0o644;

/// Stages `content` as the file at `path`: the existing file's new data (its metadata kept),
/// or a new file.
pub fn put_file(ctx: &mut Ctx, path: &str, content: Content) -> anyhow::Result<()> {
    let st = match ctx.session.stage_existing(path, true) {
        Ok(st) => {
            st.overlay.set_content(&st.path, content)?;
            st
        }
        Err(crate::error::Error::NotFound(_)) => {
            let st = ctx.session.stage_new(path)?;
            st.overlay
                .create(&st.path, fresh(FileKind::File, FILE_MODE), Some(content))?;
            st
        }
        Err(e) => return Err(e.into()),
    };
    ctx.session.staged(&st)?;
    Ok(())
}

fn write(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    put_file(ctx, &args[0], Content::bytes(args[1].as_bytes().to_vec()))
}

fn write_append(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let more = Content::bytes(args[1].as_bytes().to_vec());
    let content = match ctx.session.stage_existing(&args[0], true) {
        Ok(st) => st.overlay.content(&st.path)?.appended(more),
        Err(crate::error::Error::NotFound(_)) => more,
        Err(e) => return Err(e.into()),
    };
    put_file(ctx, &args[0], content)
}
