//! Mounting images held in files of mounted filesystems: `mount-loop` and `mount-loop-type`.
//! The image is read through the file (straight from the outermost host file where the parent
//! stores it plainly), never copied out; `umount` takes it down like any mount. A partitioned
//! disk image becomes a drive whose partitions are mounted below the mountpoint.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};

use super::{arg, opt, ArgKind, Command, Ctx};
use crate::fs::probe::{self, Content};
use crate::fs::MountOptions;
use crate::source::Source;

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
    let device = ctx.session.absolute(file);
    let source = ctx.session.file_source(file)?;
    if fstype.is_none() {
        if let Content::PartitionTable(_) = probe::identify(source.as_ref())? {
            return mount_disk(ctx, source, &device, mountpoint, options);
        }
    }
    ctx.session
        .mount_source(source, &device, mountpoint, fstype, options)
        .with_context(|| format!("mount-loop {file} {mountpoint}"))
}

/// A partitioned disk image: it becomes the next drive (its partitions devices, as
/// `losetup -P` makes them), and each partition holding a readable filesystem is mounted at
/// `MOUNTPOINT/N`.
fn mount_disk(
    ctx: &mut Ctx,
    source: Arc<dyn Source>,
    file: &str,
    mountpoint: &str,
    options: MountOptions,
) -> anyhow::Result<()> {
    let drive = ctx
        .session
        .add_source_drive(source, Path::new(file))
        .with_context(|| format!("mount-loop {file} {mountpoint}"))?;
    let base = ctx.session.absolute(mountpoint);
    let mut mounted = 0;
    let mut skipped = Vec::new();
    for device in ctx.session.devices() {
        let Some(number) = device.strip_prefix(&drive).filter(|n| !n.is_empty()) else {
            continue;
        };
        let at = format!("{}/{number}", base.trim_end_matches('/'));
        match ctx.session.mount(&device, &at, options.clone()) {
            Ok(()) => mounted += 1,
            Err(e) => skipped.push(format!("{device}: {e}")),
        }
    }
    if mounted == 0 {
        bail!(
            "mount-loop {file} {mountpoint}: a partitioned disk ({drive}) with no readable \
             partition{}{}",
            if skipped.is_empty() { "" } else { ": " },
            skipped.join("; ")
        );
    }
    Ok(())
}

fn mount_loop(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    mount(ctx, None, args)
}

fn mount_loop_type(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    mount(ctx, Some(&args[0]), &args[1..])
}
