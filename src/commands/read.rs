//! Reading files and directories: `ls`, `cat`.

use std::io::Write;

use anyhow::bail;

use super::{arg, opt, ArgKind, Command, Ctx};
use crate::vfs::Node;

pub const COMMANDS: &[Command] = &[
    Command {
        name: "ls",
        aliases: &[],
        args: &[opt("DIRECTORY", ArgKind::Path)],
        run: ls,
    },
    Command {
        name: "cat",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        run: cat,
    },
];

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
    for n in names {
        ctx.out.write_all(&n)?;
        ctx.out.write_all(b"\n")?;
    }
    Ok(())
}

/// Copies a file's data to `out`, in large reads.
pub fn copy_to(node: &Node, out: &mut dyn Write) -> anyhow::Result<()> {
    let crate::vfs::Target::Fs { fs, ino, meta } = &node.target else {
        bail!("{}: is a directory", node.path);
    };
    if meta.is_dir() {
        bail!("{}: is a directory", node.path);
    }
    let mut buf = vec![0u8; 1 << 20];
    let mut offset = 0;
    loop {
        let n = fs.read_at(*ino, offset, &mut buf)?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])?;
        offset += n as u64;
    }
    Ok(())
}

fn cat(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let node = ctx.session.resolve(&args[0])?;
    copy_to(&node, ctx.out)
}
