//! `download`: one file of the session to a host file (or to the output with `-`), its data
//! moved by [`crate::data`] (without passing through user space where the host allows it).

use std::fs::File;

use anyhow::Context;

use super::sink::progress;
use super::{arg, ArgKind, Command, Ctx};
use crate::data::to_stream::write_file;
use crate::data::{FileCopy, FileData};

pub const COMMANDS: &[Command] = &[Command {
    name: "download",
    aliases: &[],
    args: &[arg("PATH", ArgKind::Path), arg("HOSTFILE", ArgKind::Output)],
    options: &[],
    run: download,
}];

fn download(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let (fs, ino, meta) = super::read::open_file(ctx, &args[0])?;
    let mut buf = vec![0u8; (1 << 20).min(meta.size as usize).max(1)];
    if args[1] == "-" {
        let data = FileData::open(&fs, ino, meta.size)?;
        return write_file(&data, ctx.out, ctx.out_fd, &mut buf);
    }
    let out = File::create(&args[1]).with_context(|| format!("{}: cannot create", args[1]))?;
    let bar = progress(Some(meta.size));
    FileCopy::new(FileData::open(&fs, ino, meta.size)?, out).run(&mut buf, &|n| bar.inc(n))?;
    bar.finish_and_clear();
    Ok(())
}
