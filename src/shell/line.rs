//! One command line of a script or of the interactive shell, parsed into what to run: the words
//! of an isofish command (split with shell quoting by `shlex`), an optional host command to pipe
//! its output into (`cmd ARGS | host-cmd`), a host command to run (`!cmd`), or one whose output
//! is run as isofish commands (`<! cmd`, guestfish's); a leading `-` asks to go on after an
//! error. `#` at the start of a word, outside quotes, starts a comment.

use std::ops::Range;

use anyhow::bail;

/// What a line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `!cmd`: run `cmd` with the host shell.
    Host(String),
    /// `<! cmd`: run `cmd` with the host shell, then each line of its output as a command.
    HostCommands(String),
    /// An isofish command and its arguments, its output piped into `pipe` when there is one.
    Command {
        words: Vec<String>,
        pipe: Option<String>,
    },
}

/// A parsed, non-empty line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The line as the user wrote it (for `-x`).
    pub text: String,
    /// A leading `-`: the error is reported but the run goes on.
    pub ignore_errors: bool,
    pub action: Action,
}

impl Line {
    /// A one-liner command from argv, already split into words: no pipes or comments, but a
    /// first word `!cmd` runs the words as a host command line.
    pub fn from_words(words: &[String]) -> Option<Line> {
        let (first, rest) = words.split_first()?;
        let (ignore_errors, name) = strip_ignore(first);
        let host = |first: &str| {
            std::iter::once(first)
                .chain(rest.iter().map(String::as_str))
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let action = match (name.strip_prefix("<!"), name.strip_prefix('!')) {
            (Some(cmd), _) => Action::HostCommands(host(cmd)),
            (None, Some(cmd)) => Action::Host(host(cmd)),
            (None, None) => Action::Command {
                words: std::iter::once(name.to_string())
                    .chain(rest.iter().cloned())
                    .collect(),
                pipe: None,
            },
        };
        Some(Line {
            text: shlex::try_join(words.iter().map(String::as_str))
                .unwrap_or_else(|_| words.join(" ")),
            ignore_errors,
            action,
        })
    }

    /// Parses a line of a script or of the prompt; `None` for a blank or comment line.
    pub fn parse(line: &str) -> anyhow::Result<Option<Line>> {
        let text = line.trim();
        let (ignore_errors, body) = strip_ignore(text);
        let host: Option<(&str, &str, MakeAction)> =
            match (body.strip_prefix("<!"), body.strip_prefix('!')) {
                (Some(cmd), _) => Some(("<!", cmd.trim(), Action::HostCommands)),
                (None, Some(cmd)) => Some(("!", cmd, Action::Host)),
                (None, None) => None,
            };
        if let Some((escape, cmd, action)) = host {
            if cmd.trim().is_empty() {
                bail!("'{escape}' needs a host command");
            }
            return Ok(Some(Line {
                text: text.to_string(),
                ignore_errors,
                action: action(cmd.to_string()),
            }));
        }
        let scan = scan(body);
        if let Some(q) = scan.open_quote {
            bail!("unterminated {q} quote");
        }
        let command = &body[..scan.end];
        let words = shlex::split(command).unwrap_or_default();
        let pipe = match scan.pipe {
            Some(bar) => {
                let host = body[bar + 1..].trim();
                if host.is_empty() {
                    bail!("'|' needs a host command after it");
                }
                if words.is_empty() {
                    bail!("'|' needs an isofish command before it");
                }
                Some(host.to_string())
            }
            None => None,
        };
        if words.is_empty() {
            if ignore_errors {
                bail!("'-' needs a command after it");
            }
            return Ok(None);
        }
        Ok(Some(Line {
            text: text.to_string(),
            ignore_errors,
            action: Action::Command { words, pipe },
        }))
    }
}

/// Makes a host escape's action of its command.
type MakeAction = fn(String) -> Action;

/// Splits a leading `-` (ignore errors) off a command word; a lone `-` is kept as it is.
fn strip_ignore(s: &str) -> (bool, &str) {
    match s.strip_prefix('-') {
        Some(rest) if !rest.is_empty() && !rest.starts_with(char::is_whitespace) => (true, rest),
        _ => (false, s),
    }
}

/// Where the words of a line lie, as the shell lexer sees them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Byte ranges of the words (quotes included), up to the end of the isofish command.
    pub words: Vec<Range<usize>>,
    /// Where the isofish command ends: at a `|`, a comment or the end of the line.
    pub end: usize,
    /// The byte offset of the first unquoted `|`.
    pub pipe: Option<usize>,
    /// The quote still open at the end of the scanned text (`'` or `"`).
    pub open_quote: Option<char>,
}

/// Finds the words, the pipe and the comment of `line` with shlex's rules: `'...'` is literal,
/// `"..."` and a bare `\` escape, blanks separate words, `#` at the start of a word starts a
/// comment, and (isofish's addition) an unquoted `|` ends the command.
pub fn scan(line: &str) -> Scan {
    let mut scan = Scan {
        end: line.len(),
        ..Scan::default()
    };
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some('\''), '\'') | (Some('"'), '"') => quote = None,
            (Some('"'), '\\') => escaped = true,
            (Some(_), _) => {}
            (None, ' ' | '\t' | '\n') => {
                if let Some(s) = start.take() {
                    scan.words.push(s..i);
                }
            }
            (None, '#') if start.is_none() => {
                scan.end = i;
                return scan;
            }
            (None, '|') => {
                if let Some(s) = start.take() {
                    scan.words.push(s..i);
                }
                scan.end = i;
                scan.pipe = Some(i);
                return scan;
            }
            (None, _) => {
                start.get_or_insert(i);
                match c {
                    '\'' | '"' => quote = Some(c),
                    '\\' => escaped = true,
                    _ => {}
                }
            }
        }
    }
    if let Some(s) = start {
        scan.words.push(s..line.len());
    }
    scan.open_quote = quote;
    scan
}

/// The text of a word as the lexer would give it, for a word that may still be open (being
/// typed): an open quote is closed and a trailing lone `\` dropped.
pub fn unquote_partial(word: &str) -> String {
    let scan = scan(word);
    let mut text = word.to_string();
    if let Some(q) = scan.open_quote {
        text.push(q);
    }
    shlex::split(&text)
        .or_else(|| shlex::split(text.strip_suffix('\\').unwrap_or(&text)))
        .and_then(|w| w.into_iter().next())
        .unwrap_or_default()
}

/// `s` with the characters the lexer treats specially escaped by `\`, for completions.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, ' ' | '\t' | '\n' | '\'' | '"' | '\\' | '|' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(line: &str) -> (Vec<String>, Option<String>, bool) {
        let l = Line::parse(line).unwrap().unwrap();
        match l.action {
            Action::Command { words, pipe } => (words, pipe, l.ignore_errors),
            Action::Host(h) | Action::HostCommands(h) => panic!("host {h}"),
        }
    }

    #[test]
    fn quoting_comments_and_pipes() {
        let (w, p, i) = command(r#"  cat "/a b" 'c|d' e\ f # comment | not a pipe"#);
        assert_eq!(w, ["cat", "/a b", "c|d", "e f"]);
        assert_eq!((p, i), (None, false));
        let (w, p, _) = command("ls /x#y | wc -l # counted");
        assert_eq!(w, ["ls", "/x#y"]);
        assert_eq!(p.as_deref(), Some("wc -l # counted"));
        let (w, _, i) = command("-cat /missing");
        assert_eq!((w, i), (vec!["cat".to_string(), "/missing".into()], true));
    }

    #[test]
    fn blank_comment_host_and_errors() {
        assert_eq!(Line::parse("   # only a comment").unwrap(), None);
        assert_eq!(Line::parse("").unwrap(), None);
        let host = Line::parse("!echo 'hi' | tr a-z A-Z").unwrap().unwrap();
        assert_eq!(host.action, Action::Host("echo 'hi' | tr a-z A-Z".into()));
        assert!(Line::parse("cat 'open").is_err());
        assert!(Line::parse("ls |").is_err());
        assert!(Line::parse("| wc").is_err());
        assert!(Line::parse("!").is_err());
        let source = Line::parse("<! echo ls /").unwrap().unwrap();
        assert_eq!(source.action, Action::HostCommands("echo ls /".into()));
        assert!(Line::parse("<!  ").is_err());
        let words = ["<!".to_string(), "echo".into(), "ls".into()];
        let argv = Line::from_words(&words).unwrap();
        assert_eq!(argv.action, Action::HostCommands("echo ls".into()));
    }

    #[test]
    fn partial_words_for_completion() {
        let s = scan("ls 'a b' c\\ d");
        assert_eq!(s.words, [0..2, 3..8, 9..13]);
        assert_eq!(scan("cat 'op").open_quote, Some('\''));
        assert_eq!(unquote_partial("'/a b"), "/a b");
        assert_eq!(unquote_partial("/a\\ b"), "/a b");
        assert_eq!(unquote_partial("/a\\"), "/a");
        assert_eq!(escape("/a b|#'"), "/a\\ b\\|\\#\\'");
        assert_eq!(unquote_partial(&escape("/a b|#'\"\\")), "/a b|#'\"\\");
    }
}
