//! Commands of the shell itself: `echo`, `quit`, `quit!` (which drops staged changes),
//! `completions SHELL` (the completion script for bash, zsh or fish, generated from the flag
//! table), `version`, `lcd` (the host working directory), `clear` (the terminal's screen) and
//! `time CMD ARGS...` (runs a command and says how long it took).

use std::io::Write;
use std::str::FromStr;
use std::time::Instant;

use anyhow::anyhow;

use super::{any, arg, ArgKind, Command, Ctx};
use crate::error::Error;

pub const COMMANDS: &[Command] = &[
    Command {
        name: "completions",
        aliases: &[],
        args: &[arg("SHELL", ArgKind::Word)],
        options: &[],
        run: completions,
    },
    Command {
        name: "clear",
        aliases: &[],
        args: &[],
        options: &[],
        run: clear,
    },
    Command {
        name: "echo",
        aliases: &[],
        args: &[any("WORD", ArgKind::Word)],
        options: &[],
        run: echo,
    },
    Command {
        name: "lcd",
        aliases: &[],
        args: &[arg("DIRECTORY", ArgKind::HostPath)],
        options: &[],
        run: lcd,
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
    Command {
        name: "time",
        aliases: &[],
        args: &[arg("COMMAND", ArgKind::Command), any("ARG", ArgKind::Word)],
        options: &[],
        run: time,
    },
    Command {
        name: "version",
        aliases: &[],
        args: &[],
        options: &[],
        run: version,
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

/// Clears a terminal's screen (cursor home, erase the display); nothing into a pipe or file.
fn clear(ctx: &mut Ctx, _: &[String]) -> anyhow::Result<()> {
    if ctx.tty {
        write!(ctx.out, "\x1b[H\x1b[2J")?;
        ctx.out.flush()?;
    }
    Ok(())
}

/// Changes the host working directory, from which later relative host paths resolve (and host
/// commands run), as guestfish's `lcd` does. The images already added, and host files already
/// staged by `upload` and the like, stay the files they were.
fn lcd(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    // Checked first, so a failed `lcd` changes nothing.
    let dir = std::fs::canonicalize(&args[0]).map_err(|e| Error::io(&args[0], e))?;
    if !dir.is_dir() {
        return Err(Error::NotADirectory(args[0].clone()).into());
    }
    ctx.session.anchor_drive_paths();
    std::env::set_current_dir(&dir).map_err(|e| Error::io(&args[0], e))?;
    Ok(())
}

/// Runs a command, then prints the wall time it took as guestfish's `time` does
/// (`elapsed time: 1.02 seconds`, hundredths cut, not rounded), on standard error so that the
/// command's own output stays as it is in a pipe or a file. A command that fails prints no
/// time, as in guestfish.
fn time(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let start = Instant::now();
    super::run(ctx, &args[0], &args[1..])?;
    let elapsed = start.elapsed();
    ctx.out.flush()?;
    let hundredths = elapsed.subsec_millis() / 10;
    writeln!(
        std::io::stderr(),
        "elapsed time: {}.{hundredths:02} seconds",
        elapsed.as_secs()
    )?;
    Ok(())
}

/// Prints the version the way guestfish's `version` prints libguestfs's: one `field: value`
/// line per part of `MAJOR.MINOR.RELEASE[EXTRA]`.
fn version(ctx: &mut Ctx, _: &[String]) -> anyhow::Result<()> {
    let full = env!("CARGO_PKG_VERSION");
    let mut parts = full.splitn(3, '.');
    let (major, minor) = (parts.next().unwrap_or("0"), parts.next().unwrap_or("0"));
    let rest = parts.next().unwrap_or("0");
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (release, extra) = rest.split_at(digits);
    writeln!(
        ctx.out,
        "major: {major}\nminor: {minor}\nrelease: {release}\nextra: {extra}"
    )?;
    Ok(())
}

fn completions(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let shell = clap_complete::Shell::from_str(&args[0]).map_err(|_| {
        anyhow!(
            "{}: unknown shell (bash, zsh, fish, elvish, powershell)",
            args[0]
        )
    })?;
    crate::shell::completions::write_completions(shell, ctx.out)?;
    Ok(())
}
