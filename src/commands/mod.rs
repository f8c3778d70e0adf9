//! The command registry: every shell command as a plain function with its name, aliases,
//! arguments and options. The shell's argument checking, `help`, completion (in the shell and
//! in the generated scripts) and the docs test all read this one table. Help text is
//! `commands/NAME.md`, compiled in.

pub mod attrs;
pub mod boot;
pub mod boot_edit;
pub mod browse;
pub mod changes;
pub mod checksum;
pub mod checksums_out;
pub mod commit;
pub mod copy_in;
pub mod copy_out;
pub mod download;
pub mod edit;
pub mod extract;
pub mod format;
pub mod grep;
pub mod help;
pub mod inspect;
pub mod inspect_os;
pub mod r#loop;
pub mod magic;
pub mod markdown;
pub mod mkiso;
pub mod mount;
mod options;
pub mod pattern;
pub mod read;
pub mod resize_fat;
pub mod serve;
pub mod shell_cmds;
pub mod sink;
pub mod tar;
pub mod tar_in;
pub mod tar_out;
pub mod tree_copy;
pub mod tree_edit;
pub mod verify;
pub mod write;
pub mod xattr;

use std::io::Write;
use std::os::fd::BorrowedFd;
use std::sync::OnceLock;

use anyhow::{anyhow, bail};

use crate::session::Session;

pub use help::listing;
pub use options::{option, Opt, Parsed, Value, XDEV};

mod pages {
    include!(concat!(env!("OUT_DIR"), "/pages.rs"));
}

/// What an argument is, for completion and for the synopsis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// A path inside the session.
    Path,
    /// A path on the host.
    HostPath,
    /// A host file the command writes, or `-` for the command's output (shown `NAME|-`).
    Output,
    /// A device (`/dev/sda`).
    Device,
    /// A command name.
    Command,
    /// Anything else.
    Word,
}

/// How many times an argument may appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    One,
    Optional,
    /// One or more.
    Many,
    /// Zero or more.
    Any,
}

/// One argument of a command.
#[derive(Clone, Copy, Debug)]
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgKind,
    pub count: Count,
}

/// Shorthand constructors for argument tables.
pub const fn arg(name: &'static str, kind: ArgKind) -> Arg {
    Arg {
        name,
        kind,
        count: Count::One,
    }
}
/// An optional argument.
pub const fn opt(name: &'static str, kind: ArgKind) -> Arg {
    Arg {
        name,
        kind,
        count: Count::Optional,
    }
}
/// An argument that repeats one or more times.
pub const fn many(name: &'static str, kind: ArgKind) -> Arg {
    Arg {
        name,
        kind,
        count: Count::Many,
    }
}
/// An argument that repeats zero or more times.
pub const fn any(name: &'static str, kind: ArgKind) -> Arg {
    Arg {
        name,
        kind,
        count: Count::Any,
    }
}

/// What a command runs with.
pub struct Ctx<'a> {
    pub session: &'a mut Session,
    /// Where the command's output goes (stdout, or a host command's stdin).
    pub out: &'a mut dyn Write,
    /// The descriptor `out` writes to, when `out` is only a buffer in front of one (stdout, or
    /// the pipe into a host command). Commands that stream plain file data flush `out` and
    /// move the data into it without copying ([`crate::data::Direct`]).
    pub out_fd: Option<BorrowedFd<'a>>,
    /// True when `out` is a terminal: colour and progress bars are allowed.
    pub tty: bool,
}

/// A command's function. It gets the words as typed, options included; [`parse`] sorts them.
pub type RunFn = fn(&mut Ctx, &[String]) -> anyhow::Result<()>;

/// One shell command.
#[derive(Clone, Copy)]
pub struct Command {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub args: &'static [Arg],
    pub options: &'static [Opt],
    pub run: RunFn,
}

impl Command {
    /// `NAME [--FLAG] ARG [OPT] REPEAT... [NAME:VALUE]`
    pub fn synopsis(&self) -> String {
        let flags = self.options.iter().filter(|o| o.is_flag());
        let keyed = self.options.iter().filter(|o| !o.is_flag());
        std::iter::once(self.name.to_string())
            .chain(flags.map(Opt::synopsis))
            .chain(self.args.iter().map(Arg::synopsis))
            .chain(keyed.map(Opt::synopsis))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The page `commands/NAME.md`.
    pub fn page(&self) -> Option<&'static str> {
        pages::PAGES
            .iter()
            .find(|(n, _)| *n == self.name)
            .map(|(_, text)| *text)
    }

    /// The first line of the page's description, for `help`.
    pub fn summary(&self) -> &'static str {
        self.page()
            .and_then(|p| {
                p.lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with('#'))
            })
            .unwrap_or("")
    }

    /// The flag (`-` option) spelt `word`.
    pub fn flag_named(&self, word: &str) -> Option<&'static Opt> {
        self.options
            .iter()
            .find(|o| o.is_flag() && (o.name == word || o.aliases.contains(&word)))
    }

    /// The `name:value` option `word` gives, with its value.
    pub fn keyed<'w>(&self, word: &'w str) -> Option<(&'static Opt, &'w str)> {
        let (key, value) = word.split_once(':')?;
        let opt = self
            .options
            .iter()
            .find(|o| !o.is_flag() && o.name == key)?;
        Some((opt, value))
    }

    /// The names of the options of one form, for messages: `compress, excludes`.
    fn known(&self, flags: bool) -> String {
        let names: Vec<&str> = self
            .options
            .iter()
            .filter(|o| o.is_flag() == flags)
            .map(|o| o.name)
            .collect();
        names.join(", ")
    }

    /// Sorts `words` into flags (leading `-` words, where the command has flags), arguments,
    /// and `name:value` options (the trailing words that name one of its options), and fails
    /// with a usage error on an unknown option, a value the option does not take, or a wrong
    /// number of arguments.
    pub fn parse<'a>(&self, words: &'a [String]) -> anyhow::Result<Parsed<'a>> {
        let mut given = Vec::new();
        let start = self.take_flags(words, &mut given)?;
        let mut end = words.len();
        while end > start && self.keyed(&words[end - 1]).is_some() {
            end -= 1;
        }
        for word in &words[end..] {
            if let Some((opt, value)) = self.keyed(word) {
                opt.check(word, value)?;
                given.push((opt, value));
            }
        }
        let args = &words[start..end];
        self.check_stray(args)?;
        self.check_arity(args)?;
        Ok(Parsed { args, given })
    }

    /// Takes the flags that lead `words` (with their values) into `given`; returns how many
    /// words they are.
    fn take_flags<'a>(
        &self,
        words: &'a [String],
        given: &mut Vec<(&'static Opt, &'a str)>,
    ) -> anyhow::Result<usize> {
        let mut at = 0;
        if !self.options.iter().any(Opt::is_flag) {
            return Ok(at);
        }
        while let Some(word) = words.get(at).filter(|w| w.len() > 1 && w.starts_with('-')) {
            let Some(opt) = self.flag_named(word) else {
                bail!(
                    "{}: {word}: unknown option ({})",
                    self.name,
                    self.known(true)
                );
            };
            at += 1;
            let value = match opt.value {
                Value::Flag => "",
                _ => {
                    let value = words
                        .get(at)
                        .ok_or_else(|| anyhow!("{word}: expected {}", opt.value.expected()))?;
                    at += 1;
                    opt.check(&format!("{word} {value}"), value)?;
                    value
                }
            };
            given.push((opt, value));
        }
        Ok(at)
    }

    /// Fails when a word past the last argument the command takes looks like a `name:value`
    /// option but names none of its own.
    fn check_stray(&self, args: &[String]) -> anyhow::Result<()> {
        let (Some(max), false) = (self.max_args(), self.known(false).is_empty()) else {
            return Ok(());
        };
        let past = args.get(max..).unwrap_or_default().iter();
        let mut stray = past.filter(|w| self.keyed(w).is_none());
        if let Some((key, _)) = stray.find_map(|w| w.split_once(':')) {
            bail!(
                "{}: {key}: unknown option ({})",
                self.name,
                self.known(false)
            );
        }
        Ok(())
    }

    /// The fewest arguments the command takes.
    pub fn min_args(&self) -> usize {
        self.args
            .iter()
            .filter(|a| matches!(a.count, Count::One | Count::Many))
            .count()
    }

    /// The most arguments the command takes, if there is a most.
    pub fn max_args(&self) -> Option<usize> {
        let unbounded = self
            .args
            .iter()
            .any(|a| matches!(a.count, Count::Many | Count::Any));
        (!unbounded).then_some(self.args.len())
    }

    /// Fails unless `args` (the arguments without the options) fits the argument table.
    fn check_arity(&self, args: &[String]) -> anyhow::Result<()> {
        if args.len() < self.min_args() || self.max_args().is_some_and(|max| args.len() > max) {
            bail!(
                "{}: wrong number of arguments; usage: {}",
                self.name,
                self.synopsis()
            );
        }
        Ok(())
    }

    /// The kind of the `index`th argument (for completion).
    pub fn arg_kind(&self, index: usize) -> Option<ArgKind> {
        self.args
            .get(index)
            .or_else(|| {
                self.args
                    .last()
                    .filter(|a| matches!(a.count, Count::Many | Count::Any))
            })
            .map(|a| a.kind)
    }
}

impl Arg {
    /// The argument as the synopsis shows it: `PATH`, `[DIRECTORY]`, `PATH...`, `TARFILE|-`.
    pub fn synopsis(&self) -> String {
        let name = match self.kind {
            ArgKind::Output => format!("{}|-", self.name),
            _ => self.name.to_string(),
        };
        match self.count {
            Count::One => name,
            Count::Optional => format!("[{name}]"),
            Count::Many => format!("{name}..."),
            Count::Any => format!("[{name}...]"),
        }
    }
}

/// Every command, in groups.
pub fn all() -> &'static [Command] {
    static ALL: OnceLock<Vec<Command>> = OnceLock::new();
    ALL.get_or_init(|| {
        let groups: &[&[Command]] = &[
            boot::COMMANDS,
            boot_edit::COMMANDS,
            browse::COMMANDS,
            mount::COMMANDS,
            r#loop::COMMANDS,
            read::COMMANDS,
            grep::COMMANDS,
            shell_cmds::COMMANDS,
            inspect::COMMANDS,
            inspect_os::COMMANDS,
            download::COMMANDS,
            copy_out::COMMANDS,
            tar_out::COMMANDS,
            checksums_out::COMMANDS,
            xattr::COMMANDS,
            write::COMMANDS,
            commit::COMMANDS,
            serve::COMMANDS,
            mkiso::COMMANDS,
            tree_edit::COMMANDS,
            changes::COMMANDS,
            tree_copy::COMMANDS,
            attrs::COMMANDS,
            resize_fat::COMMANDS,
            copy_in::COMMANDS,
            tar_in::COMMANDS,
            edit::COMMANDS,
            verify::COMMANDS,
            help::COMMANDS,
        ];
        let mut v: Vec<Command> = groups.iter().flat_map(|g| g.iter().copied()).collect();
        v.sort_by_key(|c| c.name);
        v
    })
}

/// The command called `name` (or with that alias).
pub fn find(name: &str) -> Option<&'static Command> {
    all()
        .iter()
        .find(|c| c.name == name || c.aliases.contains(&name))
}

/// Runs one command line (already split into words).
pub fn run(ctx: &mut Ctx, name: &str, args: &[String]) -> anyhow::Result<()> {
    let Some(cmd) = find(name) else {
        bail!("{name}: unknown command (try 'help')");
    };
    // A usage error names the command as it was typed (`add: ...`, not `open: ...`).
    let typed = cmd
        .aliases
        .iter()
        .find(|a| **a == name)
        .unwrap_or(&cmd.name);
    Command {
        name: typed,
        ..*cmd
    }
    .parse(args)?;
    (cmd.run)(ctx, args)
}

/// The words of command `name` sorted out by its table: the arguments, and the options given
/// (already checked when the command runs). Commands that take options read them here.
pub fn parse<'a>(name: &str, words: &'a [String]) -> anyhow::Result<Parsed<'a>> {
    let Some(cmd) = find(name) else {
        bail!("{name}: unknown command (try 'help')");
    };
    cmd.parse(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    fn command(name: &str) -> &'static Command {
        find(name).unwrap_or_else(|| panic!("no command {name}"))
    }

    #[test]
    fn every_option_table_is_well_formed() {
        for c in all() {
            for (i, o) in c.options.iter().enumerate() {
                let what = format!("{}: {}", c.name, o.name);
                assert!(
                    o.is_flag() || o.value != Value::Flag,
                    "{what}: needs a value"
                );
                assert!(o.is_flag() || o.aliases.is_empty(), "{what}: alias");
                assert!(!o.help.is_empty(), "{what}: no help");
                assert!(
                    c.options[..i].iter().all(|p| p.name != o.name),
                    "{what}: twice"
                );
            }
        }
    }

    #[test]
    fn synopsis_shows_flags_arguments_and_options() {
        assert_eq!(
            command("boot-extract").synopsis(),
            "boot-extract [--whole] DEVICE N HOSTFILE|-"
        );
        assert_eq!(
            command("boot-info").synopsis(),
            "boot-info [--as mkisofs] DEVICE"
        );
        assert_eq!(
            command("copy-out").synopsis(),
            "copy-out PATH... HOSTDIR [xdev:true|false]"
        );
        assert_eq!(
            command("tgz-out").synopsis(),
            "tgz-out DIRECTORY TARBALL|- [excludes:PATTERN,...] [root:true|false]"
        );
    }

    #[test]
    fn parse_sorts_flags_arguments_and_options() {
        let w = words("/ x.tar compress:xz xdev:true compress:gzip");
        let p = command("tar-out").parse(&w).unwrap();
        assert_eq!(p.args, &w[..2]);
        assert_eq!(p.value("compress"), Some("gzip"));
        assert!(p.flag("xdev"));
        assert!(!p.flag("xattrs"));
        assert_eq!(p.value("excludes"), None);

        let w = words("--as mkisofs /dev/sda");
        let p = command("boot-info").parse(&w).unwrap();
        assert_eq!((p.args, p.value("--as")), (&w[2..], Some("mkisofs")));

        let w = words("--long");
        assert!(command("list-partitions").parse(&w).unwrap().flag("-l"));

        // Only the trailing words naming an option are options.
        let w = words("/ x.tar xdev:true tar");
        assert!(command("tar-out")
            .parse(&w)
            .unwrap_err()
            .to_string()
            .contains("wrong number"));
        let w = words("/a b:c xdev:false");
        let p = command("copy-out").parse(&w).unwrap();
        assert_eq!((p.args, p.flag("xdev")), (&w[..2], false));

        // A command without flags takes `-` words as arguments.
        let w = words("-n -e");
        assert_eq!(command("echo").parse(&w).unwrap().args, &w[..]);
    }

    #[test]
    fn parse_names_what_is_wrong() {
        let err =
            |name: &str, line: &str| command(name).parse(&words(line)).unwrap_err().to_string();
        assert_eq!(
            err("tar-out", "/ x.tar compres:gzip"),
            "tar-out: compres: unknown option (compress, excludes, numericowner, xattrs, root, xdev)"
        );
        assert_eq!(
            err("tar-out", "/ x.tar compress:lz4"),
            "compress:lz4: expected gzip, xz, zstd or bzip2"
        );
        assert_eq!(
            err("is-dir", "/a followsymlinks:yes"),
            "followsymlinks:yes: expected true or false"
        );
        assert_eq!(
            err("boot-info", "--as iso /dev/sda"),
            "--as iso: expected mkisofs"
        );
        assert_eq!(err("boot-info", "--as"), "--as: expected mkisofs");
        assert_eq!(
            err("boot-extract", "--all /dev/sda 1 -"),
            "boot-extract: --all: unknown option (--whole)"
        );
        assert_eq!(
            err("copy-out", "/a xdev:true"),
            "copy-out: wrong number of arguments; usage: copy-out PATH... HOSTDIR [xdev:true|false]"
        );
        assert_eq!(
            err("tgz-out", "/ x.tgz compress:xz"),
            "tgz-out: compress: unknown option (excludes, root)"
        );
    }
}
