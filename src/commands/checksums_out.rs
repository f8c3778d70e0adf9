//! `checksums-out`: the checksum of every regular file below a directory, written to a host
//! file (or the output) in the format of `md5sum` and friends (`cksum`'s for `crc`).

use std::io::{self, Write};

use super::inspect::file_checksum;
use super::sink::Sink;
use super::{arg, ArgKind, Command, Ctx};
use crate::error::Error;
use crate::fs::FileKind;
use crate::vfs::{walk, Target};

pub const COMMANDS: &[Command] = &[Command {
    name: "checksums-out",
    aliases: &[],
    args: &[
        arg("ALGORITHM", ArgKind::Word),
        arg("DIRECTORY", ArgKind::Path),
        arg("SUMSFILE", ArgKind::Output),
    ],
    options: &[],
    run: checksums_out,
}];

fn checksums_out(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    super::checksum::Hasher::new(&args[0])?;
    let start = ctx.session.resolve(&args[1])?;
    if !start.is_dir() {
        return Err(Error::NotADirectory(args[1].clone()).into());
    }
    let session = &*ctx.session;
    // Names from the image are escaped on a terminal only; a sums file gets them as they are.
    let terminal = ctx.tty && args[2] == "-";
    let sink = Sink::open(&mut *ctx.out, &args[2])?;
    let mut out = io::BufWriter::new(sink);
    walk::walk(&session.vfs, &start, |item| {
        if let Target::Fs { fs, ino, meta } = item.target {
            if meta.kind == FileKind::File {
                let sum = file_checksum(fs.as_ref(), *ino, meta.size, &args[0])?;
                if args[0] == "crc" {
                    write!(out, "{sum} {} ./", meta.size)?;
                } else {
                    write!(out, "{sum}  ./")?;
                }
                super::format::write_name(&mut out, item.rel, terminal)?;
                out.write_all(b"\n")?;
            }
        }
        Ok(true)
    })?;
    out.flush()?;
    Ok(())
}
