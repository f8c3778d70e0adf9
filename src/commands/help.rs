//! `help [COMMAND]` (alias `man`): the commands listed by group, or one command's page rendered
//! for reading ([`super::markdown`]) and, on a terminal where it is longer than the screen,
//! paged through `$PAGER` (`less -R` without one). Also the listings `isofish --help` and `-h`
//! show.

use std::io::Write;
use std::process::{Command as Process, Stdio};

use anyhow::bail;

use super::markdown::{self, Look};
use super::{all, find, opt, ArgKind, Command, Ctx};

pub const COMMANDS: &[Command] = &[Command {
    name: "help",
    aliases: &["man"],
    args: &[opt("COMMAND", ArgKind::Command)],
    options: &[],
    run: help,
}];

/// The groups `help` lists the commands in, in this order. A command in none of them is
/// listed under [`OTHER`].
const GROUPS: &[(&str, &[&str])] = &[
    (
        "Images and mounts",
        &[
            "open",
            "run",
            "mount",
            "mount-ro",
            "mount-options",
            "mount-loop",
            "mount-loop-type",
            "mkmountpoint",
            "mountpoints",
            "mounts",
            "umount",
            "umount-all",
        ],
    ),
    (
        "Inspecting",
        &[
            "info",
            "inspect",
            "list-devices",
            "list-filesystems",
            "list-partitions",
            "vfs-label",
            "vfs-type",
            "verify",
        ],
    ),
    (
        "Reading",
        &[
            "cat",
            "cd",
            "checksum",
            "du",
            "exists",
            "file",
            "find",
            "find0",
            "getxattr",
            "getxattrs",
            "head",
            "head-n",
            "hexdump",
            "is-dir",
            "is-file",
            "is-symlink",
            "lgetxattr",
            "lgetxattrs",
            "ll",
            "ls",
            "lstat",
            "pwd",
            "readlink",
            "stat",
            "tail",
            "tail-n",
        ],
    ),
    (
        "Searching",
        &[
            "grep", "egrep", "fgrep", "grepi", "egrepi", "fgrepi", "zgrep", "zegrep", "zfgrep",
            "zgrepi", "zegrepi", "zfgrepi",
        ],
    ),
    (
        "Extracting",
        &[
            "download",
            "copy-out",
            "tar-out",
            "tgz-out",
            "txz-out",
            "checksums-out",
        ],
    ),
    (
        "Editing (staged)",
        &[
            "chmod",
            "chown",
            "copy-in",
            "cp",
            "cp-a",
            "cp-r",
            "edit",
            "ln",
            "ln-s",
            "mkdir",
            "mkdir-p",
            "mv",
            "resize-fat",
            "rm",
            "rm-f",
            "rm-rf",
            "rmdir",
            "set-label",
            "tar-in",
            "tgz-in",
            "touch",
            "truncate",
            "truncate-size",
            "txz-in",
            "upload",
            "utimens",
            "write",
            "write-append",
        ],
    ),
    (
        "Changes and commit",
        &["changes", "diff", "revert", "revert-all", "commit"],
    ),
    ("New images and serving", &["mkiso", "serve"]),
    (
        "Boot",
        &["boot-info", "boot-extract", "boot-add-efi", "set-boot-file"],
    ),
    (
        "The shell",
        &[
            "browse",
            "clear",
            "completions",
            "echo",
            "glob",
            "help",
            "lcd",
            "quit",
            "quit!",
            "time",
            "version",
        ],
    ),
];

/// The group of the commands no group names.
const OTHER: &str = "Other commands";

/// The groups with their commands (in name order), empty groups left out.
pub fn groups() -> Vec<(&'static str, Vec<&'static Command>)> {
    let grouped = |name: &str| GROUPS.iter().any(|(_, names)| names.contains(&name));
    let named = GROUPS.iter().map(|(title, names)| {
        let commands = all().iter().filter(|c| names.contains(&c.name)).collect();
        (*title, commands)
    });
    let other = all().iter().filter(|c| !grouped(c.name)).collect();
    named
        .chain(std::iter::once((OTHER, other)))
        .filter(|(_, commands): &(_, Vec<_>)| !commands.is_empty())
        .collect()
}

/// Every command with its one-line summary, under its group's title: what `help` lists, and
/// `isofish --help` after the flags.
pub fn listing() -> String {
    let mut text = String::new();
    for (i, (title, commands)) in groups().into_iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(title);
        text.push_str(":\n");
        for c in commands {
            let name = format!("  {:<20} ", c.name);
            text.push_str(&textwrap::fill(c.summary(), wrapping(WIDTH, &name, NAMES)));
            text.push('\n');
        }
    }
    text
}

/// How wide the listings are.
const WIDTH: usize = 100;
/// Where the summaries start in [`listing`].
const NAMES: &str = "                       ";

/// Wrapping at `width` with these indents, never inside a word.
fn wrapping<'a>(width: usize, first: &'a str, rest: &'a str) -> textwrap::Options<'a> {
    textwrap::Options::new(width)
        .initial_indent(first)
        .subsequent_indent(rest)
        .break_words(false)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
}

/// The groups with only the command names, wrapped to `width`: what `isofish -h` shows.
pub fn short_listing() -> String {
    let groups = groups();
    let title_width = groups.iter().map(|(t, _)| t.len()).max().unwrap_or(0) + 2;
    let pad = " ".repeat(title_width + 2);
    let mut text = String::new();
    for (title, commands) in groups {
        let names: Vec<&str> = commands.iter().map(|c| c.name).collect();
        let first = format!("  {:<title_width$}", format!("{title}:"));
        text.push_str(&textwrap::fill(
            &names.join(" "),
            wrapping(WIDTH, &first, &pad),
        ));
        text.push('\n');
    }
    text
}

fn help(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let Some(name) = args.first() else {
        write!(ctx.out, "{}", listing())?;
        writeln!(ctx.out, "\nhelp COMMAND shows a command's page.")?;
        return Ok(());
    };
    let Some(cmd) = find(name) else {
        bail!("{name}: unknown command");
    };
    match cmd.page() {
        Some(page) => show(ctx, page),
        None => Ok(writeln!(ctx.out, "{}", cmd.synopsis())?),
    }
}

/// Writes a page rendered for the output: styled and as wide as a terminal (and paged when
/// longer than it), plain text 80 columns wide otherwise.
fn show(ctx: &mut Ctx, page: &str) -> anyhow::Result<()> {
    let screen = ctx
        .tty
        .then(|| ratatui::crossterm::terminal::size().ok())
        .flatten()
        .filter(|(cols, rows)| *cols > 0 && *rows > 0);
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let look = match (ctx.tty, color) {
        (false, _) => Look::Plain,
        (true, false) => Look::Styled,
        (true, true) => Look::Colored,
    };
    let width = screen.map_or(80, |(cols, _)| usize::from(cols));
    let text = markdown::render(page, width, look);
    if let Some((_, rows)) = screen {
        if text.lines().count() >= usize::from(rows) && page_through(ctx, &text)? {
            return Ok(());
        }
    }
    write!(ctx.out, "{text}")?;
    Ok(())
}

/// Shows `text` through `$PAGER` (`less -R` when unset or empty), run by `sh` as git runs it,
/// with `LESS=FRX` unless `LESS` is set. False when the pager cannot be started (the caller
/// then writes the text itself).
fn page_through(ctx: &mut Ctx, text: &str) -> anyhow::Result<bool> {
    ctx.out.flush()?;
    let pager = std::env::var("PAGER")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "less -R".to_string());
    let mut process = Process::new("sh");
    process.arg("-c").arg(&pager).stdin(Stdio::piped());
    if std::env::var_os("LESS").is_none() {
        process.env("LESS", "FRX");
    }
    let Ok(mut child) = process.spawn() else {
        return Ok(false);
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A pager quit before the end closes its input: that is no error.
        let _ = stdin.write_all(text.as_bytes());
    }
    child.wait()?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grouped_name_is_a_command_or_one_to_come() {
        // `inspect` is listed ahead of its command.
        for (title, names) in GROUPS {
            for name in *names {
                assert!(
                    *name == "inspect" || find(name).is_some_and(|c| c.name == *name),
                    "{title}: {name} is no command"
                );
            }
        }
    }

    #[test]
    fn every_command_is_listed_once() {
        let listed: Vec<&str> = groups()
            .iter()
            .flat_map(|(_, cs)| cs.iter().map(|c| c.name))
            .collect();
        assert_eq!(listed.len(), all().len());
        assert!(all().iter().all(|c| listed.contains(&c.name)));
    }
}
