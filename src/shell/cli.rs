//! The command-line flags, in one clap table from which help, the man page and the shell
//! completions are all generated.

use std::io::Write;

use clap::{CommandFactory, FromArgMatches, Parser};

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

    /// Read-write, the default (accepted for guestfish): changes may be staged and committed.
    #[arg(short = 'w', long = "rw", conflicts_with = "ro")]
    pub rw: bool,

    /// The format of the images added after it (accepted for guestfish: images are read as
    /// they are); '--format' alone goes back to detecting it.
    #[arg(
        long = "format",
        value_name = "raw|iso",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "auto",
        value_parser = ["raw", "iso", "auto"]
    )]
    pub format: Vec<String>,

    /// The `--format` in force for each `-a`, in order (the last one before it; `None` for
    /// none, or for `--format` alone).
    #[arg(skip)]
    pub add_formats: Vec<Option<String>>,

    /// Verbose: say on standard error what is opened and mounted, and what a commit writes.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,

    /// Mount DEV at MOUNTPOINT (default /) with OPTIONS; repeatable. Without -m the first
    /// image's filesystem is mounted at /.
    #[arg(short = 'm', long = "mount", value_name = "DEV[:MOUNTPOINT[:OPTIONS]]")]
    pub mount: Vec<String>,

    /// Inspect the first image: mount it at / and its live root image (casper, LiveOS, arch,
    /// live) at /live, when it has one ('inspect' tells what the disc is and how it boots).
    #[arg(short = 'i', long = "inspector")]
    pub inspector: bool,

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

    /// For the completion scripts: print the words that complete the last of COMMAND...
    /// (the words of one command), reading paths from the -a images (see
    /// src/shell/completions.rs).
    #[arg(long = "complete", hide = true)]
    pub complete: bool,

    /// Print the man page (roff): `isofish --man-page > completions/isofish.1`.
    #[arg(long = "man-page", hide = true)]
    pub man_page: bool,

    /// Commands and their arguments, separated by ':'. Put '--' before a first command that
    /// starts with '-' (ignore its error).
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub commands: Vec<String>,
}

impl Cli {
    /// The `serve` command `--serve` runs: `--serve=10809` listens on that port, `--serve=ADDR:PORT`
    /// on that address, `--serve=PATH` on a Unix socket.
    pub fn serve_command(&self) -> Option<Vec<String>> {
        self.serve.as_deref().map(serve_words)
    }
}

/// The `serve` command that serves at `place`: a port (`10809`), an address (`ADDR:PORT`), a
/// Unix socket's path, or nothing (the default port).
pub fn serve_words(place: &str) -> Vec<String> {
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
    words
}

/// The flags of the process's command line. Their help ends with the command groups (`-h`: the
/// names; `--help`: with the summaries `help` lists) and a pointer to `help`.
pub fn parse() -> Result<Cli, clap::Error> {
    let pointer =
        "'isofish help' lists the commands, 'isofish help COMMAND' shows a command's page \
                   (or type them at the prompt).";
    let short = format!("Commands:\n{}\n{pointer}", commands::help::short_listing());
    let long = format!("Commands:\n{}\n{pointer}", commands::listing());
    let matches = Cli::command()
        .after_help(short)
        .after_long_help(long)
        .try_get_matches()?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    cli.add_formats = formats_of_adds(&matches);
    Ok(cli)
}

/// For each `-a`, the value of the last `--format` before it, as guestfish applies it.
fn formats_of_adds(matches: &clap::ArgMatches) -> Vec<Option<String>> {
    let formats: Vec<(usize, &String)> = match (
        matches.indices_of("format"),
        matches.get_many::<String>("format"),
    ) {
        (Some(at), Some(values)) => at.zip(values).collect(),
        _ => Vec::new(),
    };
    let adds = matches.indices_of("add").into_iter().flatten();
    adds.map(|add| {
        formats
            .iter()
            .rev()
            .find(|(at, _)| *at < add)
            .map(|(_, f)| f.to_string())
            .filter(|f| f != "auto")
    })
    .collect()
}

/// Runs `--man-page` or `--complete`, which only print: their exit status, or `None` for a
/// run of the shell.
pub fn print_only(cli: &Cli) -> Option<i32> {
    let mut out = std::io::stdout().lock();
    let status = if cli.man_page {
        super::manpage::write_man_page(&mut out).map(|()| 0)
    } else if cli.complete {
        super::completions::complete(cli, &mut out)
    } else {
        return None;
    };
    Some(match status.and_then(|s| out.flush().map(|()| s)) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "isofish: error: {e}");
            1
        }
    })
}
