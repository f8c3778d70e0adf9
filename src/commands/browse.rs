//! `browse`: opens the browser pane (see `crate::tui`) on the session.

use super::{opt, ArgKind, Command, Ctx};

pub const COMMANDS: &[Command] = &[Command {
    name: "browse",
    aliases: &["tui"],
    args: &[opt("PATH", ArgKind::Path)],
    options: &[],
    run: browse,
}];

fn browse(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    ctx.out.flush()?;
    crate::tui::run(ctx.session, args.first().map(String::as_str), false)
}
