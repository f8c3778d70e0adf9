//! The shell: turns argv, scripts, standard input and the interactive prompt into command
//! runs, with guestfish's conventions (':' between one-liner commands, '#' comments, a leading
//! '-' ignores an error, 'FILE:LINE:' in script errors, exit status 1 after an error).

pub mod cli;

use std::io::{self, IsTerminal, Write};

use anyhow::Context;
use clap::Parser;

use crate::commands::{self, Ctx};
use crate::fs::MountOptions;
use crate::session::Session;
use cli::Cli;

/// Runs isofish with the process's arguments; returns the exit status.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("isofish: error: {e:#}");
            1
        }
    }
}

/// Opens the drives and mounts the `-m` list (or the first drive at `/`).
fn setup(cli: &Cli) -> anyhow::Result<Session> {
    let mut session = Session::new(cli.ro);
    for image in &cli.add {
        session.add_drive(image)?;
    }
    if cli.mount.is_empty() {
        if let Some(first) = session.devices().first() {
            session.mount(first, "/", MountOptions::default())?;
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

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut session = setup(&cli)?;
    let stdout = io::stdout();
    let tty = stdout.is_terminal();
    let mut out = stdout.lock();
    for words in split_one_liner(&cli.commands) {
        if cli.echo {
            eprintln!("{}", words.join(" "));
        }
        let mut ctx = Ctx {
            session: &mut session,
            out: &mut out,
            tty,
        };
        commands::run(&mut ctx, &words[0], &words[1..])?;
    }
    out.flush()?;
    if cli.tui {
        return crate::tui::run(&mut session, None);
    }
    Ok(())
}
