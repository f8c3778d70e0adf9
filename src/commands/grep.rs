//! `grep` and guestfish's variants of it: `egrep` (extended regular expressions), `fgrep`
//! (fixed strings), the `i` ones that ignore case (`grepi`, `egrepi`, `fgrepi`) and the `z` ones
//! that decompress the file first (`zgrep`, `zegrep`, `zfgrep`, `zgrepi`, `zegrepi`,
//! `zfgrepi`); `grep` itself also takes GNU grep's `-i -E -F -v -c` and guestfish's
//! `extended:`, `fixed:`, `insensitive:` and `compressed:` options. Lines are matched by
//! [`pattern`](super::pattern) and printed one per line, as guestfish does.

use std::io::{BufRead, BufWriter, Read, Write};
use std::sync::Arc;

use anyhow::bail;

use super::pattern::{Regex, Syntax};
use super::{arg, option, ArgKind, Command, Ctx, Opt, Value};
use crate::error::Error;
use crate::source::decoded::{Codec, DecodedSource, Limits};
use crate::source::io::SourceReader;
use crate::source::Source;

const ARGS: &[super::Arg] = &[arg("REGEX", ArgKind::Word), arg("PATH", ArgKind::Path)];

const OPTIONS: &[Opt] = &[
    option("-i", Value::Flag, "ignore case").aliases(&["--ignore-case"]),
    option("-E", Value::Flag, "extended regular expressions").aliases(&["--extended-regexp"]),
    option("-F", Value::Flag, "fixed strings, not regular expressions")
        .aliases(&["--fixed-strings"]),
    option("-v", Value::Flag, "print the lines that do not match").aliases(&["--invert-match"]),
    option("-c", Value::Flag, "print only how many lines are printed").aliases(&["--count"]),
    option(
        "extended",
        Value::Bool,
        "extended regular expressions (as -E)",
    ),
    option("fixed", Value::Bool, "fixed strings (as -F)"),
    option("insensitive", Value::Bool, "ignore case (as -i)"),
    option(
        "compressed",
        Value::Bool,
        "decompress the file first (as zgrep)",
    ),
];

/// How one search reads its pattern and file and what it prints.
#[derive(Clone, Copy, Debug)]
struct Mode {
    syntax: Syntax,
    ignore_case: bool,
    /// Decompress the file first (the `z` variants).
    compressed: bool,
    invert: bool,
    count: bool,
}

impl Mode {
    const fn of(syntax: Syntax, ignore_case: bool, compressed: bool) -> Mode {
        Mode {
            syntax,
            ignore_case,
            compressed,
            invert: false,
            count: false,
        }
    }
}

/// A variant: a command of its own name with a fixed [`Mode`] and no options, as guestfish
/// has them.
macro_rules! variant {
    ($name:literal, $syntax:ident, $ignore_case:literal, $compressed:literal) => {
        Command {
            name: $name,
            aliases: &[],
            args: ARGS,
            options: &[],
            run: |ctx, args| {
                let mode = Mode::of(Syntax::$syntax, $ignore_case, $compressed);
                search(ctx, &args[0], &args[1], mode)
            },
        }
    };
}

pub const COMMANDS: &[Command] = &[
    Command {
        name: "grep",
        aliases: &[],
        args: ARGS,
        options: OPTIONS,
        run: grep,
    },
    variant!("egrep", Extended, false, false),
    variant!("fgrep", Fixed, false, false),
    variant!("grepi", Basic, true, false),
    variant!("egrepi", Extended, true, false),
    variant!("fgrepi", Fixed, true, false),
    variant!("zgrep", Basic, false, true),
    variant!("zegrep", Extended, false, true),
    variant!("zfgrep", Fixed, false, true),
    variant!("zgrepi", Basic, true, true),
    variant!("zegrepi", Extended, true, true),
    variant!("zfgrepi", Fixed, true, true),
];

/// The longest line held in memory to match it.
const MAX_LINE: u64 = 64 << 20;

fn grep(ctx: &mut Ctx, words: &[String]) -> anyhow::Result<()> {
    let parsed = super::parse("grep", words)?;
    let either = |flag, option| parsed.flag(flag) || parsed.flag(option);
    let syntax = match (either("-F", "fixed"), either("-E", "extended")) {
        (true, _) => Syntax::Fixed,
        (false, true) => Syntax::Extended,
        (false, false) => Syntax::Basic,
    };
    let mode = Mode {
        invert: parsed.flag("-v"),
        count: parsed.flag("-c"),
        ..Mode::of(
            syntax,
            either("-i", "insensitive"),
            parsed.flag("compressed"),
        )
    };
    search(ctx, &parsed.args[0], &parsed.args[1], mode)
}

/// The bytes to search: the file at `path`, decoded when `compressed` and it starts with the
/// magic of a compression isofish decodes (else as it is, as zgrep does).
fn contents(ctx: &Ctx, path: &str, compressed: bool) -> anyhow::Result<Arc<dyn Source>> {
    let node = ctx.session.resolve(path)?;
    let file: Arc<dyn Source> = match node.file_data() {
        Some(file) => Arc::new(file?),
        None => return Err(Error::IsADirectory(path.to_string()).into()),
    };
    if !compressed {
        return Ok(file);
    }
    let head = file.read_vec(0, 6.min(file.len() as usize), "compressed stream")?;
    let Some(codec) = Codec::sniff(&head) else {
        return Ok(file);
    };
    let name = format!("{} ({} decoded)", file.name(), codec.name());
    Ok(Arc::new(DecodedSource::decode(
        &file,
        0,
        codec,
        Limits::default(),
        name,
    )?))
}

fn search(ctx: &mut Ctx, pattern: &str, path: &str, mode: Mode) -> anyhow::Result<()> {
    let re = Regex::new(pattern, mode.syntax, mode.ignore_case)?;
    let data = contents(ctx, path, mode.compressed)?;
    let mut reader = SourceReader::new(data, 0);
    let mut out = BufWriter::new(&mut *ctx.out);
    let mut line = Vec::new();
    let mut count = 0u64;
    loop {
        line.clear();
        // A line is matched whole, so its length is bounded (binary files may have none).
        if (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if line.len() as u64 == MAX_LINE && line.last() != Some(&b'\n') {
            bail!("{path}: a line is longer than {} MiB", MAX_LINE >> 20);
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        if re.is_match(text) != mode.invert {
            count += 1;
            if !mode.count {
                out.write_all(text)?;
                out.write_all(b"\n")?;
            }
        }
    }
    if mode.count {
        writeln!(out, "{count}")?;
    }
    out.flush()?;
    Ok(())
}
