//! The command-line flags, in one clap table from which help, the man page and the shell
//! completions are all generated.

use std::io::{self, Write};
use std::sync::OnceLock;

use clap::{CommandFactory, FromArgMatches, Parser};

use crate::commands::{self, ArgKind, Count, Opt, Value};

/// A guestfish-style shell for ISO 9660 and UDF disc images: no root, no VM, no kernel driver.
///
/// Commands follow the options, separated by ':' (isofish -a cd.iso ll / : cat /README).
/// With no commands, isofish reads a script (-f), or standard input when it is not a terminal,
/// or starts the interactive shell.
#[derive(Parser, Debug, Default)]
#[command(name = "isofish", version, disable_help_subcommand = true)]
pub struct Cli {
    /// Add an image as the next drive (/dev/sda, /dev/sdb...); repeatable.
    #[arg(short = 'a', long = "add", value_name = "IMAGE", value_hint = clap::ValueHint::FilePath)]
    pub add: Vec<std::path::PathBuf>,

    /// Read-only: no staged changes, no commit.
    #[arg(long = "ro")]
    pub ro: bool,

    /// Mount DEV at MOUNTPOINT (default /) with OPTIONS; repeatable. Without -m the first
    /// image's filesystem is mounted at /.
    #[arg(short = 'm', long = "mount", value_name = "DEV[:MOUNTPOINT[:OPTIONS]]")]
    pub mount: Vec<String>,

    /// Run the commands in SCRIPT ('-' for standard input).
    #[arg(short = 'f', long = "file", value_name = "SCRIPT", value_hint = clap::ValueHint::FilePath)]
    pub file: Option<String>,

    /// Start in the browser pane (after running the commands given, if any).
    #[arg(long)]
    pub tui: bool,

    /// After the commands (or the script), serve the image as a commit would write it over
    /// NBD until Ctrl-C, as the `serve` command does. WHERE is a Unix socket path, a port of
    /// 127.0.0.1, or ADDR:PORT; without it, port 10809 of 127.0.0.1.
    #[arg(long, value_name = "WHERE", num_args = 0..=1, require_equals = true,
          default_missing_value = "", conflicts_with = "tui")]
    pub serve: Option<String>,

    /// Echo each command to standard error before running it.
    #[arg(short = 'x')]
    pub echo: bool,

    /// Commands and their arguments, separated by ':'. Put '--' before a first command that
    /// starts with '-' (ignore its error).
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub commands: Vec<String>,
}

impl Cli {
    /// The `serve` command `--serve` runs: `--serve=10809` listens on that port, `--serve=ADDR:PORT`
    /// on that address, `--serve=PATH` on a Unix socket.
    pub fn serve_command(&self) -> Option<Vec<String>> {
        let place = self.serve.as_deref()?;
        let flag = if place.is_empty() {
            None
        } else if place.parse::<u16>().is_ok() {
            Some("--port")
        } else if place.parse::<std::net::SocketAddr>().is_ok() {
            Some("--listen")
        } else {
            Some("--socket")
        };
        let mut words = vec!["serve".to_string()];
        words.extend(
            flag.map(|f| [f.to_string(), place.to_string()])
                .into_iter()
                .flatten(),
        );
        Some(words)
    }
}

/// The flags of the process's command line. Their help ends with a pointer to `help` (`-h`),
/// or with the commands `help` lists and the pointer (`--help`).
pub fn parse() -> Result<Cli, clap::Error> {
    let pointer =
        "'isofish help' lists the commands, 'isofish help COMMAND' shows a command's page \
                   (or type them at the prompt).";
    let long = format!("Commands:\n{}\n{pointer}", commands::listing());
    let matches = Cli::command()
        .after_help(pointer)
        .after_long_help(long)
        .try_get_matches()?;
    Cli::from_arg_matches(&matches)
}

/// Writes the completion script for `shell`. It is generated from a copy of the flag table in
/// which every shell command is a subcommand (with its summary, its flags, and its arguments
/// as free words): that is the form every shell's generator completes, so the first command
/// word completes to a command name. A command's `name:value` options are the values of a
/// last positional argument: bash offers them among the command's words, zsh after the
/// arguments where their number is fixed (it then lists them one by one). Fish's generator
/// leaves positional arguments out, so for fish they are lines of their own.
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn Write) -> io::Result<()> {
    let subcommands = commands::all().iter().map(subcommand);
    let mut cmd = Cli::command()
        .mut_arg("commands", |a| a.hide(true))
        .subcommands(subcommands);
    clap_complete::generate(shell, &mut cmd, "isofish", out);
    if shell == clap_complete::Shell::Fish {
        for c in commands::all() {
            for (word, help) in option_words(c) {
                writeln!(
                    out,
                    "complete -c isofish -n \"__fish_isofish_using_subcommand {}\" -a \"{word}\" -d '{}'",
                    c.name,
                    help.replace('\\', "\\\\").replace('\'', "\\'")
                )?;
            }
        }
    }
    Ok(())
}

/// Command `c` as a subcommand of the flag table.
fn subcommand(c: &'static commands::Command) -> clap::Command {
    let mut sub = clap::Command::new(c.name)
        .about(c.summary())
        .aliases(c.aliases.iter().copied())
        .disable_help_flag(true);
    for flag in c.options.iter().filter(|o| o.is_flag()) {
        sub = sub.arg(flag_arg(flag));
    }
    let free = clap::Arg::new("args")
        .value_name("ARG")
        .num_args(0..)
        .trailing_var_arg(true)
        .allow_hyphen_values(true);
    let words = option_words(c);
    if words.is_empty() {
        return sub.arg(free);
    }
    let options = clap::Arg::new("options")
        .value_name("OPTION")
        .num_args(0..)
        .value_parser(clap::builder::PossibleValuesParser::new(words.iter().map(
            |(word, help)| clap::builder::PossibleValue::new(*word).help(*help),
        )));
    if c.max_args().is_none() {
        // Free words before the options (copy-out's PATH... HOSTDIR): clap allows that only
        // with the options last (after `--`); bash still offers them, zsh only the free words.
        return sub
            .arg(free.trailing_var_arg(false))
            .arg(options.last(true));
    }
    for a in c.args {
        let hint = match a.kind {
            ArgKind::HostPath | ArgKind::Output => clap::ValueHint::FilePath,
            _ => clap::ValueHint::Unknown,
        };
        sub = sub.arg(
            clap::Arg::new(a.name)
                .value_name(a.name)
                .required(a.count == Count::One)
                .value_hint(hint),
        );
    }
    sub.arg(options)
}

/// A command's flag (`--whole`, `--as mkisofs`, `-l` or `--long`) as a flag of its subcommand.
fn flag_arg(flag: &'static Opt) -> clap::Arg {
    let mut arg = clap::Arg::new(flag.name).help(flag.help);
    for spelling in std::iter::once(&flag.name).chain(flag.aliases) {
        arg = match spelling.strip_prefix("--") {
            Some(long) if arg.get_long().is_none() => arg.long(long),
            Some(long) => arg.visible_alias(long),
            None => match spelling.strip_prefix('-').and_then(|s| s.chars().next()) {
                Some(short) => arg.short(short),
                None => arg,
            },
        };
    }
    match (flag.value, flag.value.choices()) {
        (_, Some(list)) => arg.value_parser(list.to_vec()),
        (Value::Word(placeholder), _) => arg.value_name(placeholder),
        _ => arg.action(clap::ArgAction::SetTrue),
    }
}

/// The completion words of `c`'s `name:value` options, with their help. Clap's tables hold
/// `&'static str`, so the words of every command are made once and kept.
fn option_words(c: &commands::Command) -> Vec<(&'static str, &'static str)> {
    type Words = Vec<(&'static str, Vec<(String, &'static str)>)>;
    static WORDS: OnceLock<Words> = OnceLock::new();
    let all = WORDS.get_or_init(|| {
        commands::all()
            .iter()
            .map(|c| {
                let words = c.options.iter().filter(|o| !o.is_flag());
                let words = words.flat_map(|o| o.words().into_iter().map(|w| (w, o.help)));
                (c.name, words.collect())
            })
            .collect()
    });
    all.iter()
        .filter(|(name, _)| *name == c.name)
        .flat_map(|(_, words)| words.iter().map(|(w, help)| (w.as_str(), *help)))
        .collect()
}
