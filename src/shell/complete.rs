//! What the word under the cursor is (a command name, an argument of a known kind, a host
//! command) and its candidates: command names, devices, and paths inside the session's mounts.
//! Host paths are left to rustyline's filename completer. Also the synopsis hint.

use super::line::{escape, scan, unquote_partial};
use crate::commands::{self, ArgKind, Command};
use crate::session::Session;

/// Where the cursor is.
pub enum Place {
    /// In a `!` host command or after a `|`.
    Host,
    /// In a comment.
    Comment,
    /// In (or at the start of) an isofish command's word.
    Word(WordAt),
}

/// The word under the cursor.
pub struct WordAt {
    /// Byte offset in the line where the word starts (after a leading `-` on a command).
    pub start: usize,
    /// The word's text so far, unquoted.
    pub partial: String,
    /// 0 for the command name, 1 for its first argument...
    pub index: usize,
    /// True when the cursor touches the end of a word; false at the start of a new one.
    pub in_word: bool,
    /// The command, when the first word names one.
    pub command: Option<&'static Command>,
}

impl WordAt {
    /// What the word should be.
    pub fn kind(&self) -> Option<ArgKind> {
        match self.index {
            0 => Some(ArgKind::Command),
            n => self.command?.arg_kind(n - 1),
        }
    }
}

/// Finds the word the cursor at `pos` is in.
pub fn locate(line: &str, pos: usize) -> Place {
    let head = &line[..pos];
    let mut offset = head.len() - head.trim_start().len();
    let mut body = &head[offset..];
    if let Some(rest) = body.strip_prefix('-') {
        offset += 1;
        body = rest;
    }
    if body.starts_with('!') {
        return Place::Host;
    }
    let s = scan(body);
    if s.pipe.is_some() {
        return Place::Host;
    }
    if s.end < body.len() {
        return Place::Comment;
    }
    let command = s
        .words
        .first()
        .filter(|w| w.end < body.len())
        .and_then(|w| commands::find(&unquote_partial(&body[w.clone()])));
    let (range, index, in_word) = match s.words.last() {
        Some(w) if w.end == body.len() => (w.clone(), s.words.len() - 1, true),
        _ => (body.len()..body.len(), s.words.len(), false),
    };
    Place::Word(WordAt {
        start: offset + range.start,
        partial: unquote_partial(&body[range]),
        index,
        in_word,
        command,
    })
}

/// One completion: what to insert, and what to show in a list.
#[derive(Debug, PartialEq, Eq)]
pub struct Candidate {
    pub replacement: String,
    pub display: String,
}

impl Candidate {
    /// A finished word: it is followed by a space.
    fn word(text: &str) -> Self {
        Candidate {
            replacement: format!("{} ", escape(text)),
            display: text.to_string(),
        }
    }
}

/// The candidates for a word of `kind` (none for host paths and free words).
pub fn candidates(session: &Session, kind: ArgKind, partial: &str) -> Vec<Candidate> {
    let mut found = match kind {
        ArgKind::Command => {
            let mut names: Vec<&str> = commands::all()
                .iter()
                .flat_map(|c| std::iter::once(c.name).chain(c.aliases.iter().copied()))
                .filter(|n| n.starts_with(partial))
                .collect();
            names.sort_unstable();
            names.dedup();
            names.into_iter().map(Candidate::word).collect()
        }
        ArgKind::Device => session
            .devices()
            .iter()
            .filter(|d| d.starts_with(partial))
            .map(|d| Candidate::word(d))
            .collect(),
        ArgKind::Path => paths(session, partial),
        ArgKind::HostPath | ArgKind::Output | ArgKind::Word => Vec::new(),
    };
    found.sort_by(|a, b| a.display.cmp(&b.display));
    found
}

/// Paths inside the session that start with `partial`: the entries of its directory part,
/// directories with a `/` after them.
fn paths(session: &Session, partial: &str) -> Vec<Candidate> {
    let (dir, base) = match partial.rfind('/') {
        Some(i) => partial.split_at(i + 1),
        None => ("", partial),
    };
    let Ok(node) = session.resolve(if dir.is_empty() { "." } else { dir }) else {
        return Vec::new();
    };
    let Ok(entries) = session.vfs.read_dir(&node) else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter_map(|(name, child)| {
            let name = String::from_utf8(name).ok()?;
            if !name.starts_with(base) || name == "." || name == ".." {
                return None;
            }
            let full = format!("{dir}{name}");
            let is_dir = child.is_dir() || session.resolve(&full).is_ok_and(|n| n.is_dir());
            Some(if is_dir {
                Candidate {
                    replacement: format!("{}/", escape(&full)),
                    display: format!("{name}/"),
                }
            } else {
                Candidate::word(&full)
            })
        })
        .collect()
}

/// The rest of the command's synopsis after the cursor: `tar-out` shows ` DIR HOSTFILE`,
/// `tar-out /` shows ` HOSTFILE`. Only at the end of the line.
pub fn hint(line: &str, pos: usize) -> Option<String> {
    if pos < line.len() {
        return None;
    }
    let Place::Word(w) = locate(line, pos) else {
        return None;
    };
    let command = match (w.index, w.in_word) {
        (0, true) => commands::find(&w.partial)?,
        _ => w.command?,
    };
    let synopsis = command.synopsis();
    let args: Vec<&str> = synopsis.split(' ').skip(1).collect();
    let next = if w.in_word { w.index } else { w.index - 1 };
    let rest = args.get(next..).filter(|r| !r.is_empty())?.join(" ");
    Some(if w.in_word { format!(" {rest}") } else { rest })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(line: &str) -> WordAt {
        match locate(line, line.len()) {
            Place::Word(w) => w,
            _ => panic!("not in a word: {line}"),
        }
    }

    #[test]
    fn locates_the_word_under_the_cursor() {
        let w = word("  -he");
        assert_eq!((w.start, w.partial.as_str(), w.index), (3, "he", 0));
        assert_eq!(w.kind(), Some(ArgKind::Command));
        let w = word("cat '/a b");
        assert_eq!((w.start, w.partial.as_str(), w.index), (4, "/a b", 1));
        assert_eq!(w.kind(), Some(ArgKind::Path));
        let w = word("help ");
        assert_eq!((w.start, w.index, w.in_word), (5, 1, false));
        assert_eq!(w.kind(), Some(ArgKind::Command));
        assert_eq!(word("nosuch x").kind(), None);
        assert!(matches!(locate("ls / | wc", 9), Place::Host));
        assert!(matches!(locate("!ls", 3), Place::Host));
        assert!(matches!(locate("ls # x", 6), Place::Comment));
    }

    #[test]
    fn hints_show_the_missing_arguments() {
        assert_eq!(hint("mount", 5).as_deref(), Some(" DEVICE MOUNTPOINT"));
        assert_eq!(hint("mount ", 6).as_deref(), Some("DEVICE MOUNTPOINT"));
        assert_eq!(hint("mount /dev/sda", 14).as_deref(), Some(" MOUNTPOINT"));
        assert_eq!(hint("mount /dev/sda / ", 17), None);
        assert_eq!(hint("pwd", 3), None);
        assert_eq!(hint("mou", 3), None);
        assert_eq!(hint("mount x", 5), None);
    }

    #[test]
    fn completes_commands_and_devices() {
        let s = Session::new(true);
        let c = candidates(&s, ArgKind::Command, "mount-o");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].replacement, "mount-options ");
        assert!(candidates(&s, ArgKind::Device, "/dev/").is_empty());
    }
}
