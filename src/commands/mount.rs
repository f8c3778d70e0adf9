//! Drives and mounts: `open`, `run`, `list-devices`, `list-filesystems`, `vfs-type`,
//! `vfs-label`, `mount` and its variants, `umount`, `mounts`, `mountpoints`, `cd`, `pwd`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use super::options::{option, Opt, Value};
use super::{arg, opt, Arg, ArgKind, Command, Ctx};
use crate::fs::{self, probe, MountOptions};
use crate::source::Source;

/// `mount` and `mount-ro` take the same arguments (every mount is read-only).
const MOUNT_ARGS: &[Arg] = &[
    arg("DEVICE", ArgKind::Device),
    arg("MOUNTPOINT", ArgKind::Path),
];

/// guestfish's optional arguments of `add`.
const OPEN_OPTIONS: &[Opt] = &[
    option(
        "readonly",
        Value::Bool,
        "nothing may be staged in the drive's filesystems",
    ),
    option(
        "format",
        Value::OneOf(&["raw", "iso"]),
        "the image's format: read as it is (the only format isofish reads)",
    ),
    option(
        "label",
        Value::Word("NAME"),
        "also name the drive /dev/disk/guestfs/NAME",
    ),
];

pub const COMMANDS: &[Command] = &[
    Command {
        name: "open",
        aliases: &["add", "add-ro", "add-drive", "add-drive-ro", "add-cdrom"],
        args: &[arg("IMAGE", ArgKind::HostPath)],
        options: OPEN_OPTIONS,
        run: open,
    },
    Command {
        name: "run",
        aliases: &["launch"],
        args: &[],
        options: &[],
        run: |_, _| Ok(()),
    },
    Command {
        name: "list-devices",
        aliases: &[],
        args: &[],
        options: &[],
        run: list_devices,
    },
    Command {
        name: "list-filesystems",
        aliases: &[],
        args: &[],
        options: &[],
        run: list_filesystems,
    },
    Command {
        name: "vfs-type",
        aliases: &[],
        args: &[arg("DEVICE", ArgKind::Device)],
        options: &[],
        run: vfs_type,
    },
    Command {
        name: "vfs-label",
        aliases: &[],
        args: &[arg("DEVICE", ArgKind::Device)],
        options: &[],
        run: vfs_label,
    },
    Command {
        name: "mount",
        aliases: &[],
        args: MOUNT_ARGS,
        options: &[],
        run: mount,
    },
    Command {
        name: "mount-ro",
        aliases: &[],
        args: MOUNT_ARGS,
        options: &[],
        run: mount,
    },
    Command {
        name: "mount-options",
        aliases: &[],
        args: &[
            arg("OPTIONS", ArgKind::Word),
            arg("DEVICE", ArgKind::Device),
            arg("MOUNTPOINT", ArgKind::Path),
        ],
        options: &[],
        run: mount_options,
    },
    Command {
        name: "mkmountpoint",
        aliases: &["rmmountpoint"],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: |_, _| Ok(()),
    },
    Command {
        name: "umount",
        aliases: &["unmount"],
        args: &[arg("MOUNTPOINT", ArgKind::Path)],
        options: &[],
        run: umount,
    },
    Command {
        name: "umount-all",
        aliases: &["unmount-all"],
        args: &[],
        options: &[],
        run: |ctx, _| {
            ctx.session.umount_all()?;
            Ok(())
        },
    },
    Command {
        name: "mounts",
        aliases: &[],
        args: &[],
        options: &[],
        run: mounts,
    },
    Command {
        name: "mountpoints",
        aliases: &[],
        args: &[],
        options: &[],
        run: mountpoints,
    },
    Command {
        name: "cd",
        aliases: &[],
        args: &[opt("DIRECTORY", ArgKind::Path)],
        options: &[],
        run: cd,
    },
    Command {
        name: "pwd",
        aliases: &[],
        args: &[],
        options: &[],
        run: |ctx, _| {
            writeln!(ctx.out, "{}", ctx.session.cwd())?;
            Ok(())
        },
    },
];

fn open(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let opts = super::parse("open", args)?;
    ctx.session.add_drive_with(
        Path::new(&opts.args[0]),
        opts.flag("readonly"),
        opts.value("label"),
    )?;
    Ok(())
}

fn list_devices(ctx: &mut Ctx, _: &[String]) -> anyhow::Result<()> {
    for d in ctx.session.devices() {
        writeln!(ctx.out, "{d}")?;
    }
    Ok(())
}

/// The filesystem type the probe finds on `device`, or `unknown`.
fn device_type(ctx: &Ctx, device: &str) -> anyhow::Result<&'static str> {
    let source = ctx.session.device_source(device)?;
    Ok(probe::filesystem_type(source.as_ref())?.unwrap_or("unknown"))
}

fn list_filesystems(ctx: &mut Ctx, _: &[String]) -> anyhow::Result<()> {
    for d in ctx.session.devices() {
        let t = device_type(ctx, &d)?;
        writeln!(ctx.out, "{d}: {t}")?;
    }
    Ok(())
}

/// True when a `vfs-type`, `vfs-label` or `info` argument names a device (`/dev/sda1`) rather
/// than a file in a mounted filesystem (`/arch/x86_64/airootfs.sfs`).
fn is_device(word: &str) -> bool {
    word.starts_with("/dev/")
}

/// The bytes of the device or image file `word` names (see [`is_device`]).
pub(super) fn device_or_file_source(ctx: &Ctx, word: &str) -> anyhow::Result<Arc<dyn Source>> {
    Ok(if is_device(word) {
        ctx.session.device_source(word)?
    } else {
        ctx.session.file_source(word)?
    })
}

fn vfs_type(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    if is_device(&args[0]) {
        let t = device_type(ctx, &args[0])?;
        writeln!(ctx.out, "{t}")?;
    } else {
        // An image file inside a mount: its type and compression (`squashfs (xz)`).
        let source = ctx.session.file_source(&args[0])?;
        writeln!(ctx.out, "{}", probe::describe(&source)?)?;
    }
    Ok(())
}

fn vfs_label(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    // A mounted device's label is its mount's, staged `set-label` included.
    if let Some(m) = ctx.session.mount_of_device(&args[0]) {
        writeln!(ctx.out, "{}", m.mount.fs.label().unwrap_or_default())?;
        return Ok(());
    }
    let source = device_or_file_source(ctx, &args[0])?;
    let fs = fs::open(source, &MountOptions::default())?;
    writeln!(ctx.out, "{}", fs.label().unwrap_or_default())?;
    Ok(())
}

fn mount(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    ctx.session
        .mount(&args[0], &args[1], MountOptions::default())
        .with_context(|| format!("mount {} {}", args[0], args[1]))?;
    Ok(())
}

fn mount_options(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    ctx.session
        .mount(&args[1], &args[2], MountOptions::parse(&args[0]))
        .with_context(|| format!("mount {} {}", args[1], args[2]))?;
    Ok(())
}

fn umount(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    ctx.session.umount(&args[0])?;
    Ok(())
}

fn mounts(ctx: &mut Ctx, _: &[String]) -> anyhow::Result<()> {
    for m in ctx.session.vfs.mounts() {
        let mut what = vec![m.fs.type_name().to_string()];
        what.extend(m.fs.detail());
        // Each word once: `-m DEV:/:udf` gives the type as an option too.
        let options: Vec<&str> = m
            .options
            .0
            .iter()
            .map(String::as_str)
            .filter(|o| !what.iter().any(|w| w == o))
            .collect();
        if !options.is_empty() {
            what.push(options.join(","));
        }
        writeln!(
            ctx.out,
            "{} on {} ({})",
            m.device,
            m.mountpoint,
            what.join(", ")
        )?;
    }
    Ok(())
}

fn mountpoints(ctx: &mut Ctx, _: &[String]) -> anyhow::Result<()> {
    for m in ctx.session.vfs.mounts() {
        writeln!(ctx.out, "{}: {}", m.device, m.mountpoint)?;
    }
    Ok(())
}

fn cd(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let target = args.first().map(String::as_str).unwrap_or("/");
    ctx.session.set_cwd(target)?;
    Ok(())
}
