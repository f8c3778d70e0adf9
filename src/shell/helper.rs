//! The rustyline helper of the interactive shell: it owns the shell (so completion sees the
//! session's mounts), completes with [`super::complete`], hints the synopsis of the command
//! being typed, and colours the prompt and the hint (rustyline only asks for colour when it is
//! enabled: a terminal, and no NO_COLOR).

use std::borrow::Cow;

use nu_ansi_term::{Color, Style};
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::{Hint, Hinter};
use rustyline::validate::Validator;
use rustyline::Context;

use super::complete::{self, Place};
use super::exec::Shell;
use crate::commands::ArgKind;

/// The interactive shell's helper.
pub struct ReplHelper {
    pub shell: Shell,
    files: FilenameCompleter,
}

impl ReplHelper {
    pub fn new(shell: Shell) -> Self {
        ReplHelper {
            shell,
            files: FilenameCompleter::new(),
        }
    }
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let word = match complete::locate(line, pos) {
            Place::Host => return self.files.complete_path(line, pos),
            Place::Comment => return Ok((pos, Vec::new())),
            Place::Word(w) => w,
        };
        let kind = word.kind().unwrap_or(ArgKind::Word);
        let options = word.options().into_iter().map(|c| Pair {
            display: c.display,
            replacement: c.replacement,
        });
        if matches!(kind, ArgKind::HostPath | ArgKind::Output) {
            let (start, mut pairs) = self.files.complete_path(line, pos)?;
            if start == word.start {
                pairs.extend(options);
            }
            return Ok((start, pairs));
        }
        let pairs = complete::candidates(&self.shell.session, kind, &word.partial)
            .into_iter()
            .map(|c| Pair {
                display: c.display,
                replacement: c.replacement,
            })
            .chain(options)
            .collect();
        Ok((word.start, pairs))
    }
}

/// A hint that is only shown, never inserted by the right arrow.
pub struct Synopsis(String);

impl Hint for Synopsis {
    fn display(&self) -> &str {
        &self.0
    }
    fn completion(&self) -> Option<&str> {
        None
    }
}

impl Hinter for ReplHelper {
    type Hint = Synopsis;

    fn hint(&self, line: &str, pos: usize, _: &Context<'_>) -> Option<Synopsis> {
        complete::hint(line, pos).map(Synopsis)
    }
}

impl Highlighter for ReplHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Owned(
            Style::new()
                .bold()
                .fg(Color::Green)
                .paint(prompt)
                .to_string(),
        )
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        Cow::Owned(Style::new().dimmed().paint(hint).to_string())
    }
}

impl Validator for ReplHelper {}

impl rustyline::Helper for ReplHelper {}
