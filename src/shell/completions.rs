//! Shell completion for bash, zsh and fish: the scripts `isofish completions SHELL` prints,
//! and `isofish --complete`, which those scripts call for the words of a command.
//!
//! A script is clap's, generated from the flag table with every shell command as a subcommand
//! (its name and summary): that completes the options and the first command's name. Past the
//! command name, and after each `:`, the script's own function hands the command's words to
//! `isofish [-a IMAGE]... [-m MOUNT]... --complete -- WORDS... PARTIAL` (as git's completion
//! calls git), which answers with the same engine as the interactive shell's Tab: command
//! names, a command's flags and `name:value` options, and paths inside the images on the
//! command line, read only and within a time limit (0.3 s).

use std::io::{self, Write};
use std::sync::mpsc;
use std::time::Duration;

use clap::{Arg, CommandFactory};

use super::cli::Cli;
use super::complete::{self, Candidate, WordAt};
use super::line::unquote_partial;
use crate::commands::{self, ArgKind};

/// How long `--complete` may spend opening the images and reading a directory: past it, it
/// answers without the paths (a shell waits for its completion function).
const TIME_LIMIT: Duration = Duration::from_millis(300);

/// The exit status of `--complete` when host file names complete the word too (an argument
/// that is a host path, or a command isofish does not know).
const HOST_FILES: i32 = 1;

/// Writes the completion script for `shell`.
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn Write) -> io::Result<()> {
    let subcommands = commands::all().iter().map(|c| {
        clap::Command::new(c.name)
            .about(c.summary())
            .aliases(c.aliases.iter().copied())
            .disable_help_flag(true)
    });
    let mut cmd = Cli::command()
        .mut_arg("commands", |a| a.hide(true))
        .subcommands(subcommands);
    let mut generated = Vec::new();
    clap_complete::generate(shell, &mut cmd, "isofish", &mut generated);
    let generated = String::from_utf8_lossy(&generated);
    let options = TopOptions::of(&Cli::command());
    let text = match shell {
        clap_complete::Shell::Bash => bash(&generated, &options),
        clap_complete::Shell::Zsh => zsh(&generated, &options),
        clap_complete::Shell::Fish => format!("{generated}{}", fish(&options)),
        _ => generated.into_owned(),
    };
    out.write_all(text.as_bytes())
}

/// The spellings of isofish's own options the scripts need, as shell patterns: those the
/// scripts pass on to `--complete` (`-a`, `-m`), and the others that take a value.
struct TopOptions {
    /// `-a|--add|-m|--mount`
    passed: String,
    /// `--add=*|--mount=*`
    passed_joined: String,
    /// `-f|--file` (none: a pattern that matches no word).
    valued: String,
}

impl TopOptions {
    fn of(cmd: &clap::Command) -> Self {
        let spellings = |a: &Arg| {
            let short = a.get_short().map(|s| format!("-{s}"));
            let long = a.get_long().map(|l| format!("--{l}"));
            short.into_iter().chain(long).collect::<Vec<_>>()
        };
        // An option whose value must follow `=` is one word, as the flags are.
        let takes_value = |a: &&Arg| {
            !a.is_positional() && a.get_action().takes_values() && !a.is_require_equals_set()
        };
        let (passed, valued): (Vec<&Arg>, Vec<&Arg>) = cmd
            .get_arguments()
            .filter(takes_value)
            .partition(|a| ["add", "mount"].contains(&a.get_id().as_str()));
        let joined = |list: Vec<String>| match list.is_empty() {
            true => "--no-such-option".to_string(),
            false => list.join("|"),
        };
        TopOptions {
            passed: joined(passed.iter().flat_map(|a| spellings(a)).collect()),
            passed_joined: joined(
                passed
                    .iter()
                    .filter_map(|a| a.get_long().map(|l| format!("--{l}=*")))
                    .collect(),
            ),
            valued: joined(valued.iter().flat_map(|a| spellings(a)).collect()),
        }
    }
}

/// The part of each script that calls `isofish --complete`, with `@PASSED@` (the options
/// passed on), `@PASSED_JOINED@` (their `--name=value` forms) and `@VALUED@` (the other
/// options that take a value) for the patterns of [`TopOptions`].
const BASH_PART: &str = include_str!("scripts/bash.sh");
const ZSH_PART: &str = include_str!("scripts/zsh.zsh");
const FISH_PART: &str = include_str!("scripts/fish.fish");

/// `part` with the option patterns filled in, each alternative quoted by `quote`, joined by
/// `or`.
fn fill(part: &str, o: &TopOptions, quote: fn(&str) -> String, or: &str) -> String {
    let patterns = |p: &str| p.split('|').map(quote).collect::<Vec<_>>().join(or);
    part.replace("@PASSED_JOINED@", &patterns(&o.passed_joined))
        .replace("@PASSED@", &patterns(&o.passed))
        .replace("@VALUED@", &patterns(&o.valued))
}

/// Bash: clap's script, with a function in front of clap's that hands the words of a command
/// to `isofish --complete`. The words are split from the line itself, not taken from
/// `COMP_WORDS`, where bash cuts `xattrs:true` at the colon.
fn bash(generated: &str, o: &TopOptions) -> String {
    splice(
        generated,
        "if [[ \"${BASH_VERSINFO",
        &fill(BASH_PART, o, str::to_string, "|"),
        &[("complete -F _isofish ", "complete -F _isofish_line ")],
    )
}

/// Zsh: clap's script, with a function that hands the words of a command to `isofish
/// --complete` registered in front of clap's.
fn zsh(generated: &str, o: &TopOptions) -> String {
    splice(
        generated,
        "if [ \"$funcstack[1]\" = \"_isofish\" ]",
        &fill(ZSH_PART, o, str::to_string, "|"),
        &[
            ("    _isofish \"$@\"", "    _isofish_line \"$@\""),
            ("compdef _isofish isofish", "compdef _isofish_line isofish"),
        ],
    )
}

/// `generated` with `part` put in front of its last line starting with `marker` (clap's
/// registration of its function), and the `replacements` made in what follows.
fn splice(generated: &str, marker: &str, part: &str, replacements: &[(&str, &str)]) -> String {
    let at = generated
        .rfind(&format!("\n{marker}"))
        .map_or(generated.len(), |i| i + 1);
    let (head, tail) = generated.split_at(at);
    let tail = replacements
        .iter()
        .fold(tail.to_string(), |t, (from, to)| t.replace(from, to));
    format!("{head}{part}{tail}")
}

/// Fish: after clap's rules (the options and the first command's name), one rule for the
/// words of a command, from `isofish --complete`.
fn fish(o: &TopOptions) -> String {
    fill(FISH_PART, o, |p| format!("'{p}'"), " ")
}

/// `isofish --complete -- WORDS... PARTIAL`: prints the words that complete PARTIAL, the last
/// word of a command whose first words are WORDS, one a line, as plain text (the shell quotes
/// them). Returns the exit status: 0, or 1 when host file names complete the word
/// too.
pub fn complete(cli: &Cli, out: &mut dyn Write) -> io::Result<i32> {
    let Some((partial, before)) = cli.commands.split_last() else {
        return Ok(0);
    };
    let Some((name, args)) = before.split_first() else {
        // The command's name: `-` in front (ignore its error) stays in front.
        let (dash, partial) = match partial.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", partial.as_str()),
        };
        for word in words(complete::candidates(&empty(), ArgKind::Command, partial)) {
            writeln!(out, "{dash}{word}")?;
        }
        return Ok(0);
    };
    let command = commands::find(name.strip_prefix('-').unwrap_or(name));
    let at = WordAt {
        start: 0,
        partial: partial.clone(),
        index: before.len(),
        before: args.to_vec(),
        in_word: true,
        command,
    };
    let mut found = words(at.options());
    let status = match (command, at.kind()) {
        (None, _) | (_, Some(ArgKind::HostPath | ArgKind::Output)) => HOST_FILES,
        (_, Some(ArgKind::Command)) => {
            found.extend(words(complete::candidates(
                &empty(),
                ArgKind::Command,
                partial,
            )));
            0
        }
        (_, Some(kind @ (ArgKind::Path | ArgKind::Device))) => {
            found.extend(in_images(cli, kind, partial));
            0
        }
        _ => 0,
    };
    for word in found {
        writeln!(out, "{word}")?;
    }
    Ok(status)
}

/// A session with nothing in it, for the candidates that need none.
fn empty() -> crate::session::Session {
    crate::session::Session::new(true)
}

/// The candidates as the words a shell inserts: unescaped, without the space after a
/// finished word.
fn words(candidates: Vec<Candidate>) -> Vec<String> {
    candidates
        .into_iter()
        .map(|c| unquote_partial(c.replacement.trim_end_matches(' ')))
        .collect()
}

/// The paths or devices of the images on the command line (opened read-only, mounted as the
/// run would mount them) that complete `partial`, or none when that takes longer than
/// [`TIME_LIMIT`].
fn in_images(cli: &Cli, kind: ArgKind, partial: &str) -> Vec<String> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let add = cli
        .add
        .iter()
        .map(|p| match (p.strip_prefix("~"), &home) {
            (Ok(rest), Some(home)) => home.join(rest),
            _ => p.clone(),
        })
        .collect();
    let opened = Cli {
        add,
        mount: cli.mount.clone(),
        ro: true,
        ..Cli::default()
    };
    let partial = partial.to_string();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let found = super::setup(&opened)
            .map(|session| words(complete::candidates(&session, kind, &partial)))
            .unwrap_or_default();
        let _ = send.send(found);
    });
    receive.recv_timeout(TIME_LIMIT).unwrap_or_default()
}
