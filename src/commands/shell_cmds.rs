//! Commands of the shell itself: `echo`, `quit`, `quit!` (which drops staged changes) and `completions SHELL` (the completion script
//! for bash, zsh or fish, generated from the flag table).

use std::str::FromStr;

use anyhow::anyhow;

use super::{any, arg, ArgKind, Command, Ctx};

pub const COMMANDS: &[Command] = &[
    Command {
        name: "completions",
        aliases: &[],
        args: &[arg("SHELL", ArgKind::Word)],
        options: &[],
        run: completions,
    },
    Command {
        name: "echo",
        aliases: &[],
        args: &[any("WORD", ArgKind::Word)],
        options: &[],
        run: echo,
    },
    Command {
        name: "quit",
        aliases: &["exit", "q"],
        args: &[],
        options: &[],
        run: |_, _| Err(Quit.into()),
    },
    Command {
        name: "quit!",
        aliases: &["exit!", "q!"],
        args: &[],
        options: &[],
        run: |ctx, _| {
            ctx.session.discard_all()?;
            Err(Quit.into())
        },
    },
];

/// Returned by `quit`: the shell stops here, with exit status 0.
#[derive(Debug, thiserror::Error)]
#[error("quit")]
pub struct Quit;

fn echo(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    writeln!(ctx.out, "{}", args.join(" "))?;
    Ok(())
}

fn completions(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let shell = clap_complete::Shell::from_str(&args[0]).map_err(|_| {
        anyhow!(
            "{}: unknown shell (bash, zsh, fish, elvish, powershell)",
            args[0]
        )
    })?;
    crate::shell::cli::write_completions(shell, ctx.out)?;
    Ok(())
}
