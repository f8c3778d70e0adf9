//! The command-line flags, in one clap table from which help, the man page and the shell
//! completions are all generated.

use std::io::Write;

use clap::{CommandFactory, Parser};

use crate::commands;

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

    /// Echo each command to standard error before running it.
    #[arg(short = 'x')]
    pub echo: bool,

    /// Commands and their arguments, separated by ':'. Put '--' before a first command that
    /// starts with '-' (ignore its error).
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub commands: Vec<String>,
}

/// Writes the completion script for `shell`. It is generated from a copy of the flag table in
/// which every shell command is a subcommand (with its summary, and its arguments as free
/// words): that is the form every shell's generator completes, so the first command word
/// completes to a command name.
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    let subcommands = commands::all().iter().map(|c| {
        clap::Command::new(c.name)
            .about(c.summary())
            .aliases(c.aliases.iter().copied())
            .disable_help_flag(true)
            .arg(
                clap::Arg::new("args")
                    .value_name("ARG")
                    .num_args(0..)
                    .trailing_var_arg(true)
                    .allow_hyphen_values(true),
            )
    });
    let mut cmd = Cli::command()
        .mut_arg("commands", |a| a.hide(true))
        .subcommands(subcommands);
    clap_complete::generate(shell, &mut cmd, "isofish", out);
}
