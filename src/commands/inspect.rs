//! Looking at things without reading them out: `info`, `stat`, `lstat`, `is-file`, `is-dir`,
//! `is-symlink`, `exists`, `file`, `checksum` and `du`.

use std::collections::HashSet;
use std::sync::Arc;

use super::checksum::Hasher;
use super::format::blocks512;
use super::read::open_file;
use super::{arg, option, ArgKind, Command, Ctx, Opt, Value};
use crate::error::Error;
use crate::fs::{self, FileKind, FileSystem, Ino, MountOptions};
use crate::vfs::{walk, Node};

/// `followsymlinks:` of `is-file` and `is-dir`.
const FOLLOW_SYMLINKS: &[Opt] = &[option(
    "followsymlinks",
    Value::Bool,
    "look at what a symlink at PATH points to",
)];

pub const COMMANDS: &[Command] = &[
    Command {
        name: "info",
        aliases: &[],
        args: &[arg("DEVICE", ArgKind::Device)],
        options: &[],
        run: info,
    },
    Command {
        name: "stat",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: |ctx, args| stat(ctx, &args[0], true),
    },
    Command {
        name: "lstat",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: |ctx, args| stat(ctx, &args[0], false),
    },
    Command {
        name: "is-file",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: FOLLOW_SYMLINKS,
        run: |ctx, args| is_kind(ctx, "is-file", args, FileKind::File),
    },
    Command {
        name: "is-dir",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: FOLLOW_SYMLINKS,
        run: |ctx, args| is_kind(ctx, "is-dir", args, FileKind::Dir),
    },
    Command {
        name: "is-symlink",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: |ctx, args| is_kind(ctx, "is-symlink", args, FileKind::Symlink),
    },
    Command {
        name: "exists",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: exists,
    },
    Command {
        name: "file",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: file,
    },
    Command {
        name: "checksum",
        aliases: &[],
        args: &[arg("ALGORITHM", ArgKind::Word), arg("PATH", ArgKind::Path)],
        options: &[],
        run: checksum,
    },
    Command {
        name: "du",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: du,
    },
];

fn info(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    // A mountpoint: the filesystem as mounted (its options, what reads have decoded so far).
    let here = ctx.session.absolute(&args[0]);
    let mounted = ctx
        .session
        .vfs
        .mounts()
        .iter()
        .find(|m| m.mountpoint == here);
    let fs = match mounted {
        Some(m) => m.fs.clone(),
        None => {
            let source = super::mount::device_or_file_source(ctx, &args[0])?;
            fs::open(source, &MountOptions::default())?
        }
    };
    let mut pairs = vec![("Type".to_string(), fs.type_name().to_string())];
    pairs.extend(fs.info());
    if matches!(fs.type_name(), "iso9660" | "udf") {
        pairs.extend(super::boot::report::summary_lines(fs.source().as_ref())?);
        // Checking it reads the whole image: `verify` does that.
        let implanted = match crate::boot::isomd5::read(fs.source().as_ref()) {
            Ok(None) => None,
            Ok(Some(i)) => Some(format!("{} (verify checks it)", i.md5)),
            Err(e) => Some(format!("unreadable: {e}")),
        };
        if let Some(md5) = implanted {
            pairs.push(("Implanted MD5".into(), md5));
        }
    }
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    for (key, value) in pairs {
        let line = format!("{:<width$} {value}", format!("{key}:"));
        writeln!(ctx.out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// glibc's `makedev`.
fn makedev(major: u32, minor: u32) -> u64 {
    let (major, minor) = (u64::from(major), u64::from(minor));
    ((major & 0xffff_f000) << 32)
        | ((major & 0xfff) << 8)
        | ((minor & 0xffff_ff00) << 12)
        | (minor & 0xff)
}

/// The number `stat` gives a node's filesystem: its mount's place in `mounts`, from 1
/// (0 for the virtual directories above mountpoints).
fn dev_number(ctx: &Ctx, node: &Node) -> usize {
    let Some(fs) = node.fs() else { return 0 };
    ctx.session
        .vfs
        .mounts()
        .iter()
        .position(|m| Arc::ptr_eq(&m.fs, fs))
        .map_or(0, |i| i + 1)
}

fn stat(ctx: &mut Ctx, path: &str, follow: bool) -> anyhow::Result<()> {
    let node = if follow {
        ctx.session.resolve(path)?
    } else {
        ctx.session.resolve_nofollow(path)?
    };
    let m = node.meta();
    let rdev = m.rdev.map_or(0, |(major, minor)| makedev(major, minor));
    let fields: [(&str, String); 13] = [
        ("dev", dev_number(ctx, &node).to_string()),
        ("ino", m.ino.to_string()),
        ("mode", m.st_mode().to_string()),
        ("nlink", m.nlink.to_string()),
        ("uid", m.uid.to_string()),
        ("gid", m.gid.to_string()),
        ("rdev", rdev.to_string()),
        ("size", m.size.to_string()),
        ("blksize", "2048".into()),
        ("blocks", blocks512(&m).to_string()),
        ("atime", m.atime.secs.to_string()),
        ("mtime", m.mtime.secs.to_string()),
        ("ctime", m.ctime.secs.to_string()),
    ];
    for (name, value) in fields {
        writeln!(ctx.out, "{name}: {value}")?;
    }
    Ok(())
}

/// Resolves `path`, mapping "it is not there" to `None` (for the true/false tests).
fn probe_path(ctx: &Ctx, path: &str, follow: bool) -> anyhow::Result<Option<Node>> {
    let r = if follow {
        ctx.session.resolve(path)
    } else {
        ctx.session.resolve_nofollow(path)
    };
    match r {
        Ok(node) => Ok(Some(node)),
        Err(Error::NotFound(_) | Error::NotADirectory(_) | Error::SymlinkLoop(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `is-file`, `is-dir` and `is-symlink` (the command `name`).
fn is_kind(ctx: &mut Ctx, name: &str, args: &[String], kind: FileKind) -> anyhow::Result<()> {
    let follow = super::parse(name, args)?.flag("followsymlinks");
    let found = probe_path(ctx, &args[0], follow)?.is_some_and(|n| n.kind() == kind);
    writeln!(ctx.out, "{found}")?;
    Ok(())
}

fn exists(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let found = probe_path(ctx, &args[0], true)?.is_some();
    writeln!(ctx.out, "{found}")?;
    Ok(())
}

fn file(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let node = ctx.session.resolve_nofollow(&args[0])?;
    let meta = node.meta();
    let text = match (super::magic::describe_kind(&meta), node.file_data()) {
        (Some(kind), _) => kind,
        (None, Some(data)) => super::magic::describe_data(&data?)?,
        // Only a regular file has no kind to name, and it has data.
        (None, None) => "directory".into(),
    };
    writeln!(ctx.out, "{text}")?;
    Ok(())
}

/// The checksum of a whole file with `alg`.
pub fn file_checksum(
    fs: &dyn FileSystem,
    ino: Ino,
    size: u64,
    alg: &str,
) -> anyhow::Result<String> {
    let mut hasher = Hasher::new(alg)?;
    let mut buf = vec![0u8; (1 << 20).min(size as usize).max(1)];
    crate::data::file::for_each_chunk(fs, ino, 0, size, &mut buf, |_, data| {
        hasher.update(data);
        Ok(())
    })?;
    Ok(hasher.finish())
}

fn checksum(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    Hasher::new(&args[0])?;
    let (fs, ino, meta) = open_file(ctx, &args[1])?;
    let sum = file_checksum(fs.as_ref(), ino, meta.size, &args[0])?;
    writeln!(ctx.out, "{sum}")?;
    Ok(())
}

fn du(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let start = ctx.session.resolve_nofollow(&args[0])?;
    let mut seen = HashSet::new();
    let mut blocks = 0u64;
    walk::walk(&ctx.session.vfs, &start, |item| {
        let meta = item.meta();
        let counted = match item.fs() {
            Some(fs) if meta.nlink > 1 && !meta.is_dir() => {
                seen.insert(walk::identity(fs, meta.ino))
            }
            _ => true,
        };
        if counted {
            blocks += blocks512(&meta);
        }
        Ok(true)
    })?;
    writeln!(ctx.out, "{}", blocks.div_ceil(2))?;
    Ok(())
}
