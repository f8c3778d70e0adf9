//! Reading files and directories: `ls`, `ll`, `find`, `find0`, `cat`, `head`, `head-n`,
//! `tail`, `tail-n`, `readlink`, `hexdump`, and `glob`, which runs another command once
//! per path a wildcard matches. Names from the image go to a terminal escaped, to a pipe as
//! they are ([`format::write_name`]).

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::sync::Arc;

use anyhow::bail;

use super::format::{self, write_name, Hexdump, LsRow, Names};
use super::sink::Sink;
use super::{any, arg, opt, ArgKind, Command, Ctx};
use crate::data::to_stream::write_file;
use crate::data::FileData;
use crate::error::Error;
use crate::fs::{FileKind, FileSystem, Ino, Metadata};
use crate::vfs::{path, walk, Node, Target};

pub const COMMANDS: &[Command] = &[
    Command {
        name: "ls",
        aliases: &[],
        args: &[opt("DIRECTORY", ArgKind::Path)],
        options: &[],
        run: ls,
    },
    Command {
        name: "ll",
        aliases: &[],
        args: &[opt("DIRECTORY", ArgKind::Path)],
        options: &[],
        run: ll,
    },
    Command {
        name: "find",
        aliases: &[],
        args: &[arg("DIRECTORY", ArgKind::Path)],
        options: &[],
        run: find,
    },
    Command {
        name: "find0",
        aliases: &[],
        args: &[
            arg("DIRECTORY", ArgKind::Path),
            arg("FILES", ArgKind::Output),
        ],
        options: &[],
        run: find0,
    },
    Command {
        name: "cat",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: cat,
    },
    Command {
        name: "head",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: |ctx, args| head_lines(ctx, &args[0], 10),
    },
    Command {
        name: "head-n",
        aliases: &[],
        args: &[arg("NRLINES", ArgKind::Word), arg("PATH", ArgKind::Path)],
        options: &[],
        run: |ctx, args| head_lines(ctx, &args[1], parse_count(&args[0])?),
    },
    Command {
        name: "tail",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: |ctx, args| tail_lines(ctx, &args[0], 10),
    },
    Command {
        name: "tail-n",
        aliases: &[],
        args: &[arg("NRLINES", ArgKind::Word), arg("PATH", ArgKind::Path)],
        options: &[],
        run: |ctx, args| tail_lines(ctx, &args[1], parse_count(&args[0])?),
    },
    Command {
        name: "readlink",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: readlink,
    },
    Command {
        name: "hexdump",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: hexdump,
    },
    Command {
        name: "glob",
        aliases: &[],
        args: &[arg("COMMAND", ArgKind::Command), any("ARG", ArgKind::Word)],
        options: &[],
        run: glob,
    },
];

/// The regular file at `path` (symlinks followed): its filesystem, handle and metadata.
pub fn open_file(ctx: &Ctx, path: &str) -> anyhow::Result<(Arc<dyn FileSystem>, Ino, Metadata)> {
    let node = ctx.session.resolve(path)?;
    match node.target {
        Target::Fs { fs, ino, meta } if !meta.is_dir() => Ok((fs, ino, meta)),
        _ => Err(Error::IsADirectory(path.to_string()).into()),
    }
}

/// A file's data as an [`io::Read`], from `offset` on.
pub struct FileReader {
    pub fs: Arc<dyn FileSystem>,
    pub ino: Ino,
    pub offset: u64,
}

impl Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self
            .fs
            .read_at(self.ino, self.offset, buf)
            .map_err(io::Error::other)?;
        self.offset += n as u64;
        Ok(n)
    }
}

fn ls(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let dir = ctx
        .session
        .resolve(args.first().map(String::as_str).unwrap_or("."))?;
    let mut names: Vec<Vec<u8>> = ctx
        .session
        .vfs
        .read_dir(&dir)?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    names.sort();
    let mut out = BufWriter::new(&mut *ctx.out);
    for n in names {
        write_name(&mut out, &n, ctx.tty)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// How `ll` writes names: painted on a terminal unless `NO_COLOR` is set, escaped on a
/// terminal, raw elsewhere.
fn names(ctx: &Ctx) -> Names {
    if !ctx.tty {
        Names::Raw
    } else if std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) {
        Names::Painted
    } else {
        Names::Escaped
    }
}

fn ll(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let path = args.first().map(String::as_str).unwrap_or(".");
    let node = ctx.session.resolve_nofollow(path)?;
    let names = names(ctx);
    let mut out = BufWriter::new(&mut *ctx.out);
    if !node.is_dir() {
        // `ls -la FILE` prints the one line, naming the file as given, without a total.
        let rows = [LsRow {
            name: path.as_bytes().to_vec(),
            meta: node.meta(),
        }];
        let mut text = Vec::new();
        format::write_ll(&mut text, &rows, format::now(), names)?;
        let body = text.splitn(2, |&b| b == b'\n').nth(1).unwrap_or_default();
        out.write_all(body)?;
        out.flush()?;
        return Ok(());
    }
    let vfs = &ctx.session.vfs;
    let parent = vfs.resolve(&format!("{}/..", node.path), true)?;
    let mut rows = vec![
        LsRow {
            name: b".".to_vec(),
            meta: node.meta(),
        },
        LsRow {
            name: b"..".to_vec(),
            meta: parent.meta(),
        },
    ];
    for (name, child) in vfs.read_dir(&node)? {
        rows.push(LsRow {
            name,
            meta: child.meta(),
        });
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    format::write_ll(&mut out, &rows, format::now(), names)?;
    out.flush()?;
    Ok(())
}

/// The directory `dir`, whose paths `find` and `find0` write.
fn find_start(ctx: &Ctx, dir: &str) -> anyhow::Result<Node> {
    let start = ctx.session.resolve(dir)?;
    if !start.is_dir() {
        return Err(Error::NotADirectory(dir.to_string()).into());
    }
    Ok(start)
}

/// Writes the paths below `start`, relative to it, in bytewise order, each followed by `end`
/// and escaped when `escaped` ([`write_name`]), as the walk reaches them (mounts below
/// entered, symlinks not followed). `output`, when given, names `out` in write errors.
fn write_paths(
    vfs: &crate::vfs::Vfs,
    start: &Node,
    out: &mut dyn Write,
    (end, escaped): (&[u8], bool),
    output: Option<&str>,
) -> anyhow::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let cannot_write = |e: io::Error| match output {
        Some(output) => anyhow::Error::new(e).context(format!("{output}: cannot write")),
        None => e.into(),
    };
    walk::walk_paths(vfs, start, |rel, _| {
        write_name(&mut out, rel, escaped)
            .and_then(|()| out.write_all(end))
            .map_err(cannot_write)?;
        Ok(())
    })?;
    out.flush().map_err(cannot_write)
}

fn find(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let start = find_start(ctx, &args[0])?;
    let end = (&b"\n"[..], ctx.tty);
    write_paths(&ctx.session.vfs, &start, ctx.out, end, None)
}

/// `find DIRECTORY` as `find -print0` writes it, into a host file or `-`: each path as its
/// bytes are, ended by NUL.
fn find0(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let start = find_start(ctx, &args[0])?;
    let mut sink = Sink::open(ctx.out, &args[1])?;
    let end = (&b"\0"[..], false);
    write_paths(&ctx.session.vfs, &start, &mut sink, end, Some(&args[1]))
}

fn cat(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let (fs, ino, meta) = open_file(ctx, &args[0])?;
    let mut buf = vec![0u8; (1 << 20).min(meta.size as usize).max(1)];
    let data = FileData::open(&fs, ino, meta.size)?;
    write_file(&data, ctx.out, ctx.out_fd, &mut buf)
}

/// Parses a line count (negative counts are allowed).
fn parse_count(s: &str) -> anyhow::Result<i64> {
    s.parse()
        .map_err(|_| Error::Usage(format!("{s}: not a number of lines")).into())
}

/// Writes the lines of `reader` from line `first` (counting from 0) up to `limit` lines in all,
/// ending the last with a newline. Streams: a line is never held whole in memory.
fn write_lines(
    reader: impl Read,
    out: &mut dyn Write,
    first: u64,
    limit: Option<u64>,
) -> anyhow::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let mut out = BufWriter::new(out);
    let mut index = 0u64;
    // Whether the bytes written so far end inside a line.
    let mut open = false;
    while limit.is_none_or(|l| index < l) {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        let (take, ends_line) = match memchr_newline(chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if index >= first {
            out.write_all(&chunk[..take])?;
            open = !ends_line;
        }
        reader.consume(take);
        if ends_line {
            index += 1;
        }
    }
    if open {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// The offset where the last `n` lines of the file begin (0 when it has fewer).
fn start_of_last_lines(fs: &dyn FileSystem, ino: Ino, size: u64, n: u64) -> anyhow::Result<u64> {
    let mut buf = vec![0u8; 1 << 16];
    let mut end = size;
    let mut seen = 0;
    let mut last_byte = true;
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        let mut filled = 0;
        while filled < chunk.len() {
            let got = fs.read_at(ino, start + filled as u64, &mut chunk[filled..])?;
            if got == 0 {
                bail!("{}: the file is shorter than its size", fs.source().name());
            }
            filled += got;
        }
        for (i, &b) in chunk.iter().enumerate().rev() {
            // A newline that ends the file ends the last line; it does not start one.
            if b == b'\n' && !last_byte {
                seen += 1;
                if seen == n {
                    return Ok(start + i as u64 + 1);
                }
            }
            last_byte = false;
        }
        end = start;
    }
    Ok(0)
}

fn head_lines(ctx: &mut Ctx, path: &str, n: i64) -> anyhow::Result<()> {
    let (fs, ino, meta) = open_file(ctx, path)?;
    let reader = |fs: Arc<dyn FileSystem>| FileReader { fs, ino, offset: 0 };
    match n {
        0 => Ok(()),
        n if n > 0 => write_lines(reader(fs), ctx.out, 0, Some(n as u64)),
        n => {
            let end = start_of_last_lines(fs.as_ref(), ino, meta.size, n.unsigned_abs())?;
            write_lines(reader(fs).take(end), ctx.out, 0, None)
        }
    }
}

fn tail_lines(ctx: &mut Ctx, path: &str, n: i64) -> anyhow::Result<()> {
    let (fs, ino, meta) = open_file(ctx, path)?;
    match n {
        0 => Ok(()),
        n if n > 0 => {
            let start = start_of_last_lines(fs.as_ref(), ino, meta.size, n as u64)?;
            let reader = FileReader {
                fs,
                ino,
                offset: start,
            };
            write_lines(reader, ctx.out, 0, None)
        }
        n => {
            // From the |n|th line on, as `tail -n +|n|`.
            let first = n.unsigned_abs() - 1;
            let reader = FileReader { fs, ino, offset: 0 };
            write_lines(reader, ctx.out, first, None)
        }
    }
}

fn readlink(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let node = ctx.session.resolve_nofollow(&args[0])?;
    let meta = node.meta();
    match meta.symlink {
        Some(target) if meta.kind == FileKind::Symlink => {
            write_name(ctx.out, &target, ctx.tty)?;
            ctx.out.write_all(b"\n")?;
            Ok(())
        }
        _ => bail!("{}: not a symbolic link", args[0]),
    }
}

fn hexdump(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let (fs, ino, meta) = open_file(ctx, &args[0])?;
    let mut out = BufWriter::with_capacity(1 << 16, &mut *ctx.out);
    let mut dump = Hexdump::default();
    let mut buf = vec![0u8; 1 << 16];
    let mut offset = 0;
    while offset < meta.size {
        crate::cancel::check()?;
        let want = buf.len().min((meta.size - offset) as usize);
        let mut filled = 0;
        while filled < want {
            let n = fs.read_at(ino, offset + filled as u64, &mut buf[filled..want])?;
            if n == 0 {
                bail!("{}: the file is shorter than its size", args[0]);
            }
            filled += n;
        }
        dump.write(&mut out, &buf[..want])?;
        offset += want as u64;
    }
    dump.finish(&mut out)?;
    out.flush()?;
    Ok(())
}

/// True when `s` holds a wildcard character.
fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The session paths `pattern` matches, sorted; relative patterns give paths relative to the
/// current directory. `*` and `?` do not match a leading `.`, as in the shell.
fn expand(ctx: &Ctx, pattern: &str) -> anyhow::Result<Vec<String>> {
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let absolute = pattern.starts_with('/');
    let start = if absolute { "/" } else { "." };
    // (path as it will be printed, node)
    let mut found = vec![(String::new(), ctx.session.resolve(start)?)];
    let vfs = &ctx.session.vfs;
    let components: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    for (i, comp) in components.iter().enumerate() {
        let last = i + 1 == components.len();
        let mut next = Vec::new();
        for (shown, node) in found {
            let join = |name: &str| {
                if shown.is_empty() && !absolute {
                    name.to_string()
                } else {
                    format!("{}/{name}", shown.trim_end_matches('/'))
                }
            };
            if !has_wildcard(comp) {
                if let Ok(child) = vfs.resolve(&path::child(&node.path, comp.as_bytes()), last) {
                    next.push((join(comp), child));
                }
                continue;
            }
            let Ok(pat) = glob::Pattern::new(comp) else {
                continue;
            };
            if !node.is_dir() {
                continue;
            }
            let mut matches: Vec<(Vec<u8>, Node)> = vfs
                .read_dir(&node)?
                .into_iter()
                .filter(|(name, _)| {
                    std::str::from_utf8(name).is_ok_and(|n| pat.matches_with(n, options))
                })
                .collect();
            matches.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, child) in matches {
                let name = String::from_utf8_lossy(&name).into_owned();
                let child = if last {
                    child
                } else {
                    vfs.resolve(&child.path, true)?
                };
                next.push((join(&name), child));
            }
        }
        found = next;
    }
    // A trailing `/` matches directories only, and stays on the matches.
    let dirs_only = pattern.ends_with('/');
    Ok(found
        .into_iter()
        .filter(|(_, node)| !dirs_only || node.is_dir())
        .map(|(p, _)| match p.as_str() {
            "" => "/".into(),
            _ if dirs_only && !p.ends_with('/') => format!("{p}/"),
            _ => p,
        })
        .collect())
}

fn glob(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let Some(cmd) = super::find(&args[0]) else {
        bail!("{}: unknown command (try 'help')", args[0]);
    };
    // Each argument in a path position expands to its matches, or stays as it is when nothing
    // matches; the command runs once for every combination, as guestfish's glob does.
    let mut choices: Vec<Vec<String>> = Vec::new();
    for (i, a) in args[1..].iter().enumerate() {
        let expanded = if cmd.arg_kind(i) == Some(ArgKind::Path) && has_wildcard(a) {
            expand(ctx, a)?
        } else {
            Vec::new()
        };
        choices.push(if expanded.is_empty() {
            vec![a.clone()]
        } else {
            expanded
        });
    }
    let mut index = vec![0usize; choices.len()];
    loop {
        let line: Vec<String> = index
            .iter()
            .zip(&choices)
            .map(|(&i, c)| c[i].clone())
            .collect();
        super::run(ctx, cmd.name, &line)?;
        // The next combination, the last argument varying fastest.
        let mut pos = index.len();
        loop {
            if pos == 0 {
                return Ok(());
            }
            pos -= 1;
            index[pos] += 1;
            if index[pos] < choices[pos].len() {
                break;
            }
            index[pos] = 0;
        }
    }
}
