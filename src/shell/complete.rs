//! What the word under the cursor is (a command name, an argument of a known kind, an option,
//! a host command) and its candidates: command names, devices, paths inside the session's
//! mounts, and the command's options (`--flag`, `name:` and their values) from its table. Host
//! paths are left to rustyline's filename completer. Also the synopsis hint.

use super::line::{escape, scan, unquote_partial};
use crate::commands::{self, Arg, ArgKind, Command, Opt, Value};
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
    /// 0 for the command name, 1 for the word after it...
    pub index: usize,
    /// The command's words before this one, unquoted.
    pub before: Vec<String>,
    /// True when the cursor touches the end of a word; false at the start of a new one.
    pub in_word: bool,
    /// The command, when the first word names one.
    pub command: Option<&'static Command>,
}

impl WordAt {
    /// What the word should be, when it is the command or one of its arguments.
    pub fn kind(&self) -> Option<ArgKind> {
        if self.index == 0 {
            return Some(ArgKind::Command);
        }
        let command = self.command?;
        let typed = Typed::of(command, &self.before);
        match typed.pending {
            Some(_) => None,
            None => command.arg_kind(typed.args),
        }
    }

    /// The options that complete the word: the command's flags before its first argument,
    /// a flag's values after it, and its `name:value` options once its required arguments
    /// are there.
    pub fn options(&self) -> Vec<Candidate> {
        let Some(command) = self.command.filter(|_| self.index > 0) else {
            return Vec::new();
        };
        let typed = Typed::of(command, &self.before);
        let partial = self.partial.as_str();
        let mut found: Vec<Candidate> = match typed.pending {
            Some(flag) => values(flag, partial),
            None if typed.args == 0 => command
                .options
                .iter()
                .filter(|o| o.is_flag() && o.name.starts_with(partial) && !typed.gave(o))
                .map(|o| Candidate::word(o.name))
                .collect(),
            None => Vec::new(),
        };
        if typed.pending.is_none() && typed.args >= command.min_args() {
            found.extend(keyed(command, &typed, partial));
        }
        found.sort_by(|a, b| a.display.cmp(&b.display));
        found
    }
}

/// How far the words typed after a command go through its table.
struct Typed {
    /// The options given.
    given: Vec<&'static Opt>,
    /// How many arguments are given.
    args: usize,
    /// A flag whose value is the next word.
    pending: Option<&'static Opt>,
}

impl Typed {
    fn of(command: &Command, words: &[String]) -> Typed {
        let mut typed = Typed {
            given: Vec::new(),
            args: 0,
            pending: None,
        };
        let mut flags = true;
        for word in words {
            if let Some(flag) = typed.pending.take() {
                typed.given.push(flag);
                continue;
            }
            let flag = command.flag_named(word).filter(|_| flags);
            if let Some(flag) = flag {
                match flag.value {
                    Value::Flag => typed.given.push(flag),
                    _ => typed.pending = Some(flag),
                }
            } else if let Some((opt, _)) = command.keyed(word) {
                typed.given.push(opt);
            } else {
                flags = false;
                typed.args += 1;
            }
        }
        typed
    }

    /// Whether option `opt` is given.
    fn gave(&self, opt: &Opt) -> bool {
        self.given.iter().any(|g| g.name == opt.name)
    }
}

/// The values of flag `flag` that start with `partial`.
fn values(flag: &Opt, partial: &str) -> Vec<Candidate> {
    flag.value
        .choices()
        .unwrap_or_default()
        .iter()
        .filter(|v| v.starts_with(partial))
        .map(|v| Candidate::word(v))
        .collect()
}

/// The `name:value` options not given yet whose words start with `partial`: a word with its
/// value is finished, `name:` (a free value) is not.
fn keyed(command: &Command, typed: &Typed, partial: &str) -> Vec<Candidate> {
    command
        .options
        .iter()
        .filter(|o| !o.is_flag() && !typed.gave(o))
        .flat_map(|o| o.words().into_iter().map(move |w| (o, w)))
        .filter(|(_, w)| w.starts_with(partial))
        .map(|(o, w)| match o.value.choices() {
            Some(_) => Candidate::word(&w),
            None => Candidate {
                replacement: escape(&w),
                display: w,
            },
        })
        .collect()
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
    let before = s
        .words
        .get(1..index)
        .unwrap_or_default()
        .iter()
        .map(|w| unquote_partial(&body[w.clone()]))
        .collect();
    Place::Word(WordAt {
        start: offset + range.start,
        partial: unquote_partial(&body[range]),
        index,
        before,
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

/// The rest of the command's synopsis after the cursor: `tar-out` shows ` DIRECTORY TARFILE|-
/// [compress:...]...`, `tar-out /` shows ` TARFILE|- [compress:...]...`; flags and options
/// already given are left out. Only at the end of the line.
pub fn hint(line: &str, pos: usize) -> Option<String> {
    if pos < line.len() {
        return None;
    }
    let Place::Word(w) = locate(line, pos) else {
        return None;
    };
    let (command, mut words) = match (w.index, w.in_word) {
        (0, true) => (commands::find(&w.partial)?, Vec::new()),
        _ => (w.command?, w.before),
    };
    if w.in_word && w.index > 0 {
        words.push(w.partial);
    }
    let typed = Typed::of(command, &words);
    let typed = &typed;
    let to_come = |flags: bool| {
        let options = command.options.iter();
        options.filter(move |o| o.is_flag() == flags && !typed.gave(o))
    };
    let mut rest: Vec<String> = Vec::new();
    if let Some(flag) = typed.pending {
        rest.push(flag.value.shown());
    } else if typed.args == 0 {
        rest.extend(to_come(true).map(Opt::synopsis));
    }
    rest.extend(command.args.iter().skip(typed.args).map(Arg::synopsis));
    rest.extend(to_come(false).map(Opt::synopsis));
    if rest.is_empty() {
        return None;
    }
    let rest = rest.join(" ");
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
    fn hints_show_the_flags_and_options_to_come() {
        assert_eq!(
            hint("boot-info", 9).as_deref(),
            Some(" [--as mkisofs] DEVICE")
        );
        assert_eq!(
            hint("boot-info --as", 14).as_deref(),
            Some(" mkisofs DEVICE")
        );
        assert_eq!(
            hint("boot-info --as mkisofs ", 23).as_deref(),
            Some("DEVICE")
        );
        assert_eq!(
            hint("copy-out /a", 11).as_deref(),
            Some(" HOSTDIR [xdev:true|false]")
        );
        let line = "tar-out / x.tar compress:xz xattrs:true ";
        assert_eq!(
            hint(line, line.len()).as_deref(),
            Some("[excludes:PATTERN,...] [numericowner:true|false] [root:true|false] [xdev:true|false]")
        );
    }

    /// The replacements offered for the word at the end of `line`.
    fn offered(line: &str) -> Vec<String> {
        word(line)
            .options()
            .into_iter()
            .map(|c| c.replacement)
            .collect()
    }

    #[test]
    fn completes_flags_and_their_values_before_the_arguments() {
        assert_eq!(offered("boot-info "), ["--as "]);
        assert_eq!(offered("boot-info --as "), ["mkisofs "]);
        assert_eq!(word("boot-info --as ").kind(), None);
        assert_eq!(
            word("boot-info --as mkisofs ").kind(),
            Some(ArgKind::Device)
        );
        assert!(offered("boot-info --as mkisofs ").is_empty());
        assert!(offered("boot-info /dev/sda ").is_empty());
        assert_eq!(offered("list-partitions --"), Vec::<String>::new());
        assert_eq!(offered("list-partitions -"), ["-l "]);
    }

    #[test]
    fn completes_options_after_the_required_arguments() {
        assert!(offered("copy-out /a ").is_empty());
        assert_eq!(offered("copy-out /a /b "), ["xdev:false ", "xdev:true "]);
        assert_eq!(
            offered("tar-out / x.tar co"),
            [
                "compress:bzip2 ",
                "compress:gzip ",
                "compress:xz ",
                "compress:zstd "
            ]
        );
        // A free value: the word is not finished.
        assert_eq!(offered("tar-out / x.tar ex"), ["excludes:"]);
        assert_eq!(word("tar-out / x.tar ").kind(), None);
        let given = offered("tar-out / x.tar xdev:true compress:xz ");
        assert!(given
            .iter()
            .all(|w| !w.starts_with("xdev:") && !w.starts_with("compress:")));
        assert!(given.contains(&"xattrs:true ".to_string()));
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
