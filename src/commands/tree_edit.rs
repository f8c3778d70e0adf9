//! Commands that stage changes to the tree: `mkdir`, `mkdir-p`.

use super::{arg, ArgKind, Command, Ctx};
use crate::fs::FileKind;
use crate::overlay::fresh;

pub const COMMANDS: &[Command] = &[
    Command {
        name: "mkdir",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: mkdir,
    },
    Command {
        name: "mkdir-p",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: mkdir_p,
    },
];

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
    let abs = ctx.session.absolute(&args[0]);
    let mut at = String::new();
    for comp in abs.split('/').filter(|c| !c.is_empty()) {
        at.push('/');
        at.push_str(comp);
        match ctx.session.resolve(&at) {
            Ok(node) if node.is_dir() => continue,
            Ok(_) => return Err(crate::error::Error::NotADirectory(at).into()),
            Err(crate::error::Error::NotFound(_)) => mkdir(ctx, std::slice::from_ref(&at))?,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
