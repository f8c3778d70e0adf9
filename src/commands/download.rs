//! `download`: one file of the session to a host file (or to the output with `-`), its data
//! moved by [`crate::data`] (without passing through user space where the host allows it); an
//! interrupted download leaves no partial file.

use super::sink::{progress, Created};
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
    // Interrupted, the partial file is removed when `out` is dropped.
    let out = Created::new(&args[1])?;
    let bar = progress(Some(meta.size));
    let file = out.try_clone()?;
    FileCopy::new(FileData::open(&fs, ino, meta.size)?, file).run(&mut buf, &|n| bar.inc(n))?;
    bar.finish_and_clear();
    Ok(())
}
