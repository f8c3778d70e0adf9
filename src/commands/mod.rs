//! The command registry: every shell command as a plain function with its name, aliases and
//! argument specification. The shell, `help`, completion and the docs test all read this one
//! table. Help text is `commands/NAME.md`, compiled in.

pub mod boot;
pub mod browse;
pub mod checksum;
pub mod checksums_out;
pub mod copy_out;
pub mod download;
pub mod extract;
pub mod format;
pub mod inspect;
pub mod keyvalue;
pub mod r#loop;
pub mod magic;
pub mod mount;
pub mod pattern;
pub mod read;
pub mod shell_cmds;
pub mod sink;
pub mod tar;
pub mod tar_out;
pub mod xattr;

use std::io::Write;
use std::os::fd::BorrowedFd;
use std::sync::OnceLock;

use anyhow::bail;

use crate::session::Session;

mod pages {
    include!(concat!(env!("OUT_DIR"), "/pages.rs"));
}

/// What an argument is, for completion and for the synopsis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// A path inside the session.
    Path,
    /// A path on the host (`-` for stdout/stdin where the command says so).
    HostPath,
    /// A device (`/dev/sda`).
    Device,
    /// A command name.
    Command,
    /// Anything else.
    Word,
}

/// How many times an argument may appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    One,
    Optional,
    /// One or more.
    Many,
    /// Zero or more.
    Any,
}

/// One argument of a command.
#[derive(Clone, Copy, Debug)]
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgKind,
    pub count: Count,
}

/// Shorthand constructors for argument tables.
pub const fn arg(name: &'static str, kind: ArgKind) -> Arg {
    Arg {
        name,
        kind,
        count: Count::One,
    }
}
/// An optional argument.
pub const fn opt(name: &'static str, kind: ArgKind) -> Arg {
    Arg {
        name,
        kind,
        count: Count::Optional,
    }
}
/// An argument that repeats one or more times.
pub const fn many(name: &'static str, kind: ArgKind) -> Arg {
    Arg {
        name,
        kind,
        count: Count::Many,
    }
}
/// An argument that repeats zero or more times.
pub const fn any(name: &'static str, kind: ArgKind) -> Arg {
    Arg {
        name,
        kind,
        count: Count::Any,
    }
}

/// What a command runs with.
pub struct Ctx<'a> {
    pub session: &'a mut Session,
    /// Where the command's output goes (stdout, or a host command's stdin).
    pub out: &'a mut dyn Write,
    /// The descriptor `out` writes to, when `out` is only a buffer in front of one (stdout, or
    /// the pipe into a host command). Commands that stream plain file data flush `out` and
    /// move the data into it without copying ([`crate::data::Direct`]).
    pub out_fd: Option<BorrowedFd<'a>>,
    /// True when `out` is a terminal: colour and progress bars are allowed.
    pub tty: bool,
}

/// A command's function.
pub type RunFn = fn(&mut Ctx, &[String]) -> anyhow::Result<()>;

/// One shell command.
#[derive(Clone, Copy)]
pub struct Command {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub args: &'static [Arg],
    pub run: RunFn,
}

impl Command {
    /// `NAME ARG [OPT] REPEAT...`
    pub fn synopsis(&self) -> String {
        let mut s = self.name.to_string();
        for a in self.args {
            s.push(' ');
            s.push_str(&match a.count {
                Count::One => a.name.to_string(),
                Count::Optional => format!("[{}]", a.name),
                Count::Many => format!("{}...", a.name),
                Count::Any => format!("[{}...]", a.name),
            });
        }
        s
    }

    /// The page `commands/NAME.md`.
    pub fn page(&self) -> Option<&'static str> {
        pages::PAGES
            .iter()
            .find(|(n, _)| *n == self.name)
            .map(|(_, text)| *text)
    }

    /// The first line of the page's description, for `help`.
    pub fn summary(&self) -> &'static str {
        self.page()
            .and_then(|p| {
                p.lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with('#'))
            })
            .unwrap_or("")
    }

    /// Fails unless `args` fits the argument table.
    pub fn check_arity(&self, args: &[String]) -> anyhow::Result<()> {
        let min: usize = self
            .args
            .iter()
            .filter(|a| matches!(a.count, Count::One | Count::Many))
            .count();
        let unbounded = self
            .args
            .iter()
            .any(|a| matches!(a.count, Count::Many | Count::Any));
        let max = self.args.len();
        if args.len() < min || (!unbounded && args.len() > max) {
            bail!(
                "{}: wrong number of arguments; usage: {}",
                self.name,
                self.synopsis()
            );
        }
        Ok(())
    }

    /// The kind of the `index`th argument (for completion).
    pub fn arg_kind(&self, index: usize) -> Option<ArgKind> {
        self.args
            .get(index)
            .or_else(|| {
                self.args
                    .last()
                    .filter(|a| matches!(a.count, Count::Many | Count::Any))
            })
            .map(|a| a.kind)
    }
}

/// Every command, in groups.
pub fn all() -> &'static [Command] {
    static ALL: OnceLock<Vec<Command>> = OnceLock::new();
    ALL.get_or_init(|| {
        let groups: &[&[Command]] = &[
            boot::COMMANDS,
            browse::COMMANDS,
            mount::COMMANDS,
            r#loop::COMMANDS,
            read::COMMANDS,
            shell_cmds::COMMANDS,
            inspect::COMMANDS,
            download::COMMANDS,
            copy_out::COMMANDS,
            tar_out::COMMANDS,
            checksums_out::COMMANDS,
            xattr::COMMANDS,
            &[HELP],
        ];
        let mut v: Vec<Command> = groups.iter().flat_map(|g| g.iter().copied()).collect();
        v.sort_by_key(|c| c.name);
        v
    })
}

/// The command called `name` (or with that alias).
pub fn find(name: &str) -> Option<&'static Command> {
    all()
        .iter()
        .find(|c| c.name == name || c.aliases.contains(&name))
}

/// Runs one command line (already split into words).
pub fn run(ctx: &mut Ctx, name: &str, args: &[String]) -> anyhow::Result<()> {
    let Some(cmd) = find(name) else {
        bail!("{name}: unknown command (try 'help')");
    };
    cmd.check_arity(args)?;
    (cmd.run)(ctx, args)
}

const HELP: Command = Command {
    name: "help",
    aliases: &["man"],
    args: &[opt("COMMAND", ArgKind::Command)],
    run: help,
};

fn help(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    match args.first() {
        Some(name) => {
            let Some(cmd) = find(name) else {
                bail!("{name}: unknown command");
            };
            match cmd.page() {
                Some(page) => write!(ctx.out, "{page}")?,
                None => writeln!(ctx.out, "{}", cmd.synopsis())?,
            }
        }
        None => {
            for c in all() {
                writeln!(ctx.out, "{:<20} {}", c.name, c.summary())?;
            }
            writeln!(ctx.out, "\nhelp COMMAND shows a command's page.")?;
        }
    }
    Ok(())
}
