//! The interactive shell: a banner, the `><iso> ` prompt (rustyline: line editing, completion,
//! hints), errors shown without ending the session, `quit`, `exit` or end of input to leave
//! (asking first what to do with staged changes),
//! and the history kept in `$XDG_STATE_HOME/isofish/history` (`~/.local/state/isofish/history`).
//!
//! Lines typed ahead while a command runs, or several sent at once, run in order as if typed
//! one by one (rustyline keeps what it read past a line for the next prompt). A bracketed
//! paste of several lines lands in the line being edited, all of it shown: Enter runs each of
//! its lines as its own command, in order, as if typed (Ctrl-C at the prompt drops the paste;
//! during one of its commands, the lines after it). Ctrl-C during a command stops it ([`crate::cancel`]): `interrupted`, and the prompt
//! again, the mounts and staged changes as they were.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use rustyline::config::{ColorMode, CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::Editor;

use super::exec::{report, Flow, Shell};
use super::helper::ReplHelper;
use super::line::Line;

/// The prompt, as guestfish's `><fs> `.
pub const PROMPT: &str = "><iso> ";

const BANNER: &str = "
Welcome to isofish, the shell for ISO 9660 and UDF disc images.

Type: 'help' for a list of commands
      'help COMMAND' for a command's page
      'quit' to quit the shell

";

/// Runs the interactive shell until `quit` or end of input.
pub fn run(shell: Shell) -> anyhow::Result<()> {
    let colour =
        io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .history_ignore_space(true)
        .auto_add_history(false)
        .color_mode(if colour {
            ColorMode::Enabled
        } else {
            ColorMode::Disabled
        })
        .build();
    let mut editor: Editor<ReplHelper, FileHistory> = Editor::with_config(config)?;
    editor.set_helper(Some(ReplHelper::new(shell)));
    let history = history_path();
    if let Some(path) = &history {
        // A missing history is the normal first run.
        let _ = editor.load_history(path);
    }
    let mut stdout = io::stdout();
    let _ = stdout
        .write_all(BANNER.as_bytes())
        .and_then(|()| stdout.flush());
    loop {
        // At the prompt: a Ctrl-C from here on is for the lines about to be read (at the
        // prompt itself it is a key, not a signal).
        crate::cancel::reset();
        let text = match editor.readline(PROMPT) {
            Ok(text) => text,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) if may_leave(&mut editor)? => break,
            Err(ReadlineError::Eof) => continue,
            Err(e) => return Err(e.into()),
        };
        if run_lines(&mut editor, &text)? {
            break;
        }
    }
    if let Some(path) = &history {
        save_history(&mut editor, path);
    }
    Ok(())
}

/// Runs each line of `text` (one typed line, or the lines of a paste) as its own command, in
/// order, each in the history, as if typed one by one: an error does not stop the next line,
/// Ctrl-C drops the rest. Returns true when the shell is to end.
fn run_lines(editor: &mut Editor<ReplHelper, FileHistory>, text: &str) -> anyhow::Result<bool> {
    for text in text.lines() {
        if !text.trim().is_empty() {
            let _ = editor.add_history_entry(text);
        }
        let line = match Line::parse(text) {
            Ok(Some(line)) => line,
            Ok(None) => continue,
            Err(e) => {
                report(None, &e);
                continue;
            }
        };
        let shell = &mut editor.helper_mut().expect("the helper is set").shell;
        match shell.run(&line, None) {
            Ok(Flow::Quit) if may_leave(editor)? => return Ok(true),
            Ok(Flow::Quit) => return Ok(false),
            _ if crate::cancel::requested() => return Ok(false),
            _ => {}
        }
    }
    Ok(false)
}

/// The question asked when leaving with staged changes.
const LEAVE_QUESTION: &str = "commit them, discard them or cancel? [c/d/a] ";

/// Whether the shell may end: yes with nothing staged; else the user is asked to commit
/// (the shell ends if the commit succeeds), discard, or cancel (stay). End of input at the
/// question discards, saying so: a second Ctrl-D means it.
fn may_leave(editor: &mut Editor<ReplHelper, FileHistory>) -> anyhow::Result<bool> {
    loop {
        let shell = &editor.helper().expect("the helper is set").shell;
        let pending = shell.session.pending();
        if pending == 0 || shell.session.readonly {
            return Ok(true);
        }
        let _ = writeln!(
            io::stdout(),
            "{pending} staged change{} not committed to the image.",
            if pending == 1 { " is" } else { "s are" }
        );
        let answer = match editor.readline(LEAVE_QUESTION) {
            Ok(answer) => answer.trim().to_ascii_lowercase(),
            Err(ReadlineError::Eof) => {
                let _ = writeln!(io::stderr(), "isofish: staged changes discarded");
                return Ok(true);
            }
            Err(ReadlineError::Interrupted) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let shell = &mut editor.helper_mut().expect("the helper is set").shell;
        match answer.as_str() {
            "c" | "commit" => {
                let line = Line::from_words(&["commit".to_string()]).expect("a command");
                return Ok(shell.run(&line, None).is_ok());
            }
            "d" | "discard" => return Ok(true),
            "a" | "cancel" | "" => return Ok(false),
            _ => continue,
        }
    }
}

/// `$XDG_STATE_HOME/isofish/history`, or `$HOME/.local/state/isofish/history`.
fn history_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            let home = PathBuf::from(std::env::var_os("HOME")?);
            Some(home.join(".local/state"))
        })?;
    Some(state.join("isofish/history"))
}

/// Writes the history; a failure is only a warning.
fn save_history(editor: &mut Editor<ReplHelper, FileHistory>, path: &std::path::Path) {
    let result = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .map_err(ReadlineError::from)
        .and_then(|()| editor.save_history(path));
    if let Err(e) = result {
        let _ = writeln!(
            io::stderr(),
            "isofish: warning: could not save the history to {}: {e}",
            path.display()
        );
    }
}
