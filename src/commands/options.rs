//! A command's options, as its table declares them: `name:value` words after the arguments
//! (guestfish's optional arguments) and `-` flags before them, each with the kind of its value
//! and a line of help; how the synopsis shows them, the check of a value, and the options a
//! command line gave ([`Parsed`]).

use anyhow::bail;

/// What an option's value may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// No value: the flag alone is the setting (`--whole`).
    Flag,
    /// `true` or `false`.
    Bool,
    /// One word of a fixed list.
    OneOf(&'static [&'static str]),
    /// Any word, shown as its placeholder (`PATTERN,...`).
    Word(&'static str),
}

impl Value {
    /// The words the value may be, when they are a fixed list.
    pub fn choices(&self) -> Option<&'static [&'static str]> {
        match self {
            Value::Bool => Some(&["true", "false"]),
            Value::OneOf(list) => Some(list),
            Value::Flag | Value::Word(_) => None,
        }
    }

    /// What a value must be, for messages: `true or false`, `gzip, xz or zstd`.
    pub(super) fn expected(&self) -> String {
        match (self, self.choices()) {
            (_, Some(list)) => or_list(list),
            _ => self.shown(),
        }
    }

    /// The value as the synopsis shows it: `true|false`, `gzip|xz`, `PATTERN,...`.
    pub fn shown(&self) -> String {
        match (self, self.choices()) {
            (_, Some(list)) => list.join("|"),
            (Value::Word(placeholder), None) => placeholder.to_string(),
            _ => String::new(),
        }
    }
}

/// One option of a command: a word `name:value` after the arguments (guestfish's optional
/// arguments, `compress:gzip`), or a flag before them whose name starts with `-` (`--whole`,
/// `--as mkisofs`, its value the next word).
#[derive(Clone, Copy, Debug)]
pub struct Opt {
    pub name: &'static str,
    /// Other spellings of a flag (`--long` for `-l`).
    pub aliases: &'static [&'static str],
    pub value: Value,
    /// One line saying what the option does (completion lists show it).
    pub help: &'static str,
}

/// `xdev:` of `copy-out` and `tar-out`.
pub const XDEV: Opt = option(
    "xdev",
    Value::Bool,
    "stay on the filesystem the walk starts on: leave out the mounts below it",
);

/// An option of a command's table.
pub const fn option(name: &'static str, value: Value, help: &'static str) -> Opt {
    Opt {
        name,
        aliases: &[],
        value,
        help,
    }
}

impl Opt {
    /// The same option, also spelt `aliases`.
    pub const fn aliases(self, aliases: &'static [&'static str]) -> Opt {
        Opt { aliases, ..self }
    }

    /// True for a flag before the arguments, false for a `name:value` word after them.
    pub fn is_flag(&self) -> bool {
        self.name.starts_with('-')
    }

    /// The option as the synopsis shows it: `[--as mkisofs]`, `[xdev:true|false]`.
    pub fn synopsis(&self) -> String {
        match (self.is_flag(), self.value) {
            (true, Value::Flag) => format!("[{}]", self.name),
            (true, value) => format!("[{} {}]", self.name, value.shown()),
            (false, value) => format!("[{}:{}]", self.name, value.shown()),
        }
    }

    /// The words that complete to this `name:value` option: `name:VALUE` for each value of a
    /// fixed list, else `name:`.
    pub fn words(&self) -> Vec<String> {
        match self.value.choices() {
            Some(list) => list.iter().map(|v| format!("{}:{v}", self.name)).collect(),
            None => vec![format!("{}:", self.name)],
        }
    }

    /// Fails unless `value` is one this option takes; `given` is the option as typed.
    pub(super) fn check(&self, given: &str, value: &str) -> anyhow::Result<()> {
        match self.value.choices() {
            Some(list) if !list.contains(&value) => {
                bail!("{given}: expected {}", self.value.expected())
            }
            _ => Ok(()),
        }
    }
}

/// `a, b or c`.
fn or_list(words: &[&str]) -> String {
    match words.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// A command's words sorted out by its table: the arguments, and the options given.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// The arguments, without the options.
    pub args: &'a [String],
    /// Each option given, with its value (`""` for a flag), in the order given.
    pub(super) given: Vec<(&'static Opt, &'a str)>,
}

impl<'a> Parsed<'a> {
    /// The value of option `name` (the last one when it is given twice), `""` for a flag.
    pub fn value(&self, name: &str) -> Option<&'a str> {
        self.given
            .iter()
            .rev()
            .find(|(o, _)| o.name == name)
            .map(|(_, v)| *v)
    }

    /// Every value of option `name`, in the order given (an option that may be repeated).
    pub fn values(&self, name: &str) -> Vec<&'a str> {
        self.given
            .iter()
            .filter(|(o, _)| o.name == name)
            .map(|(_, v)| *v)
            .collect()
    }

    /// Whether flag `name` is given, or option `name:true|false` is given as `true`.
    pub fn flag(&self, name: &str) -> bool {
        self.value(name)
            .is_some_and(|v| v.is_empty() || v == "true")
    }
}
