//! The shell: turns argv, scripts, standard input and the interactive prompt into command
//! runs, with guestfish's conventions (':' between one-liner commands, '#' comments, a leading
//! '-' ignores an error, 'FILE:LINE:' in script errors, exit status 1 after an error).

pub mod cli;
mod complete;
pub mod completions;
mod exec;
mod helper;
mod line;
mod manpage;
mod repl;
mod script;

use std::fs::File;
use std::io::{self, BufReader, IsTerminal, Write};

use anyhow::{bail, Context};

use crate::cancel;
use crate::fs::probe::{self, Content};
use crate::fs::MountOptions;
use crate::session::Session;
use cli::Cli;
use exec::{report, Failed, Flow, Shell};
use line::Line;

/// Runs isofish with the process's arguments; returns the exit status: 0, or 1 after an error
/// (a bad flag included) or when a reader left an entry out of a listing
/// ([`crate::fs::left_out`]), or 130 when Ctrl-C stopped a script or one-liner.
pub fn main() -> i32 {
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return i32::from(e.use_stderr());
        }
    };
    if let Some(status) = cli::print_only(&cli) {
        return status;
    }
    match run(cli) {
        Ok(Ok(_)) => i32::from(crate::fs::left_out::any()),
        Ok(Err(Failed)) if cancel::requested() => cancel::EXIT_STATUS,
        Ok(Err(Failed)) => 1,
        Err(_) if cancel::requested() => {
            let _ = writeln!(io::stderr(), "isofish: interrupted");
            cancel::EXIT_STATUS
        }
        Err(e) => {
            report(None, &e);
            1
        }
    }
}

/// Opens the drives and mounts the `-m` list (or the first drive at `/`).
fn setup(cli: &Cli) -> anyhow::Result<Session> {
    let mut session = Session::new(cli.ro);
    for (i, image) in cli.add.iter().enumerate() {
        let device = session.add_drive(image)?;
        if let Some(Some(format)) = cli.add_formats.get(i) {
            crate::verbose::say(|| format!("{device}: --format={format} (read as it is)"));
        }
    }
    // Without -m the first drive's filesystem goes on `/`; a partitioned disk with no
    // filesystem of its own is left for `mount /dev/sdaN` (guestfish mounts nothing itself).
    if cli.mount.is_empty() {
        if let Some(first) = session.devices().first() {
            let source = session.device_source(first)?;
            if !matches!(
                probe::identify(source.as_ref())?,
                Content::PartitionTable(_)
            ) {
                session.mount(first, "/", MountOptions::default())?;
            }
        }
    }
    for spec in &cli.mount {
        let mut parts = spec.splitn(3, ':');
        let dev = parts.next().unwrap_or_default();
        let mp = parts.next().filter(|s| !s.is_empty()).unwrap_or("/");
        let opts = MountOptions::parse(parts.next().unwrap_or_default());
        session
            .mount(dev, mp, opts)
            .with_context(|| format!("-m {spec}"))?;
    }
    if cli.inspector {
        if session.drives().is_empty() {
            bail!("-i: no image to inspect; add one with -a IMAGE");
        }
        crate::inspect::live_root::mount(&mut session).context("-i: mounting the live root")?;
    }
    Ok(session)
}

/// Splits one-liner words into commands at ':' words.
pub fn split_one_liner(words: &[String]) -> Vec<Vec<String>> {
    words
        .split(|w| w == ":")
        .filter(|c| !c.is_empty())
        .map(<[String]>::to_vec)
        .collect()
}

/// Runs the one-liner, the script, standard input or the interactive shell.
fn run(cli: Cli) -> anyhow::Result<Result<Flow, Failed>> {
    if cli.file.is_some() && !cli.commands.is_empty() {
        bail!("-f SCRIPT and commands on the command line cannot be combined");
    }
    if cli.verbose {
        crate::verbose::enable();
    }
    // The interactive shell and the browser pane read Ctrl-C as a key between commands; a
    // second Ctrl-C ends only a script or a one-liner at once.
    let interactive =
        cli.file.is_none() && cli.commands.is_empty() && (cli.tui || io::stdin().is_terminal());
    cancel::install(!interactive).context("cannot catch Ctrl-C")?;
    let mut shell = Shell {
        session: setup(&cli)?,
        echo: cli.echo,
        interactive,
    };
    let ran = match cli.file.as_deref() {
        Some("-") => script::run(&mut shell, io::stdin().lock(), script::STDIN),
        Some(path) => {
            let file = File::open(path).with_context(|| format!("-f {path}"))?;
            script::run(&mut shell, BufReader::new(file), path)
        }
        None if cli.tui => {
            return Ok(match one_liner(&mut shell, &cli.commands) {
                Ok(Flow::Continue) => {
                    crate::tui::run(&mut shell.session, None, true)?;
                    Ok(Flow::Continue)
                }
                stopped => stopped,
            })
        }
        None if !cli.commands.is_empty() || cli.serve.is_some() => {
            one_liner(&mut shell, &cli.commands)
        }
        None if !io::stdin().is_terminal() => {
            script::run(&mut shell, io::stdin().lock(), script::STDIN)
        }
        None => {
            repl::run(shell)?;
            return Ok(Ok(Flow::Quit));
        }
    };
    let ran = match (ran, cli.serve_command()) {
        (Ok(Flow::Continue), Some(serve)) => one_liner(&mut shell, &serve),
        (ran, _) => ran,
    };
    Ok(ran.and_then(|flow| commit_at_end(&mut shell).map(|()| flow)))
}

/// Guestfish's end of a script or one-liner: staged changes are committed to the opened image,
/// unless the session is read-only or a `commit` already ran (a run that failed never gets
/// here).
fn commit_at_end(shell: &mut Shell) -> Result<(), Failed> {
    let s = &shell.session;
    if s.readonly || s.has_committed() || s.pending() == 0 {
        return Ok(());
    }
    let line = Line::from_words(&["commit".to_string()]).expect("a command");
    shell.run(&line, None).map(drop)
}

/// Runs the commands of argv in order; the first error stops them.
fn one_liner(shell: &mut Shell, words: &[String]) -> Result<Flow, Failed> {
    for command in split_one_liner(words) {
        if let Some(line) = Line::from_words(&command) {
            if shell.run(&line, None)? == Flow::Quit {
                return Ok(Flow::Quit);
            }
        }
    }
    Ok(Flow::Continue)
}
