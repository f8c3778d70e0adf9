//! Mounting images held in files of mounted filesystems: `mount-loop` and `mount-loop-type`.
//! The image is read through the file (straight from the outermost host file where the parent
//! stores it plainly), never copied out; `umount` takes it down like any mount. A partitioned
//! disk image becomes a drive whose partitions are mounted below the mountpoint. The work is
//! `Session::mount_loop`'s, which the browser pane calls too.

use anyhow::Context;

use super::{arg, opt, ArgKind, Command, Ctx};
use crate::fs::MountOptions;

pub const COMMANDS: &[Command] = &[
    Command {
        name: "mount-loop",
        aliases: &[],
        args: &[
            arg("FILE", ArgKind::Path),
            arg("MOUNTPOINT", ArgKind::Path),
            opt("OPTIONS", ArgKind::Word),
        ],
        options: &[],
        run: mount_loop,
    },
    Command {
        name: "mount-loop-type",
        aliases: &[],
        args: &[
            arg("TYPE", ArgKind::Word),
            arg("FILE", ArgKind::Path),
            arg("MOUNTPOINT", ArgKind::Path),
            opt("OPTIONS", ArgKind::Word),
        ],
        options: &[],
        run: mount_loop_type,
    },
];

fn mount(ctx: &mut Ctx, fstype: Option<&str>, args: &[String]) -> anyhow::Result<()> {
    let (file, mountpoint) = (&args[0], &args[1]);
    let options = MountOptions::parse(args.get(2).map(String::as_str).unwrap_or_default());
    ctx.session
        .mount_loop(file, mountpoint, fstype, options)
        .with_context(|| format!("mount-loop {file} {mountpoint}"))?;
    Ok(())
}

fn mount_loop(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    mount(ctx, None, args)
}

fn mount_loop_type(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    mount(ctx, Some(&args[0]), &args[1..])
}
