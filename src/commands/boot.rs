//! Boot equipment: `boot-info` (the El Torito catalog and the system area, or the
//! `xorriso -as mkisofs` options that rebuild them), `boot-extract` (a boot image as the
//! firmware loads it, or whole) and `list-partitions`. What they print about a boot layout
//! is in [`report`] and [`mkisofs`]; the layout itself is [`crate::boot`]'s.

pub mod mkisofs;
pub mod report;

use std::io::Write;
use std::sync::Arc;

use anyhow::{bail, Context};

use super::{arg, option, ArgKind, Command, Ctx, Value};
use crate::boot::Layout;
use crate::fs::iso9660::write::Options;
use crate::fs::{self, MountOptions};
use crate::source::Source;

pub const COMMANDS: &[Command] = &[
    Command {
        name: "boot-info",
        aliases: &["info-boot"],
        args: &[arg("DEVICE", ArgKind::Device)],
        options: &[option(
            "--as",
            Value::OneOf(&["mkisofs"]),
            "print the xorriso -as mkisofs options that rebuild the boot setup",
        )],
        run: boot_info,
    },
    Command {
        name: "boot-extract",
        aliases: &[],
        args: &[
            arg("DEVICE", ArgKind::Device),
            arg("N", ArgKind::Word),
            arg("HOSTFILE", ArgKind::Output),
        ],
        options: &[option(
            "--whole",
            Value::Flag,
            "the whole image, not only the part the firmware loads",
        )],
        run: boot_extract,
    },
    Command {
        name: "list-partitions",
        aliases: &[],
        args: &[],
        options: &[option(
            "-l",
            Value::Flag,
            "each partition's table, extent, type and name",
        )
        .aliases(&["--long"])],
        run: list_partitions,
    },
];

/// The layout of `device`, with boot images named by the ISO tree when it opens.
fn layout(ctx: &Ctx, device: &str) -> anyhow::Result<(Arc<dyn Source>, Layout)> {
    let source = ctx.session.device_source(device)?;
    let fs = fs::open(source.clone(), &MountOptions::default()).ok();
    let layout = Layout::read(source.as_ref(), fs.as_deref())?;
    Ok((source, layout))
}

/// The layout `boot-info` shows of `device`: for a drive with staged changes, the one its
/// commit will write (read from the planned image), else the image's own.
fn shown_layout(ctx: &mut Ctx, device: &str) -> anyhow::Result<(Arc<dyn Source>, Layout)> {
    let (source, layout) = layout(ctx, device)?;
    let session = &mut *ctx.session;
    let staged = session.pending() > 0;
    let drive = session
        .commit_drive()
        .ok()
        .filter(|&d| staged && Arc::ptr_eq(&session.drives()[d].source, &source));
    let Some(drive) = drive else {
        return Ok((source, layout));
    };
    let plan = session.planned(drive, &Options::default())?;
    let planned = plan.into_source(format!("{} (as it will be committed)", source.name()));
    let fs = fs::open(planned.clone(), &MountOptions::default()).ok();
    let layout = Layout::read(planned.as_ref(), fs.as_deref())?;
    Ok((source, layout))
}

fn boot_info(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let parsed = super::parse("boot-info", args)?;
    let as_mkisofs = parsed.value("--as").is_some();
    let device = &parsed.args[0];
    let (source, layout) = shown_layout(ctx, device)?;
    let lines = if as_mkisofs {
        if layout.boot_record.is_none() && layout.system.mbr.is_none() {
            bail!("{device}: no El Torito boot record and no system area to rebuild");
        }
        // The options read the system area back from the image file: only a drive is one.
        let Some(drive) = ctx
            .session
            .drives()
            .iter()
            .find(|d| Arc::ptr_eq(&d.source, &source))
        else {
            bail!("boot-info --as mkisofs: {device} is a partition; give the drive it is on");
        };
        let path = drive.path.display().to_string();
        mkisofs::options(&layout, &path)
    } else {
        // The partitions of a drive are its devices (`/dev/sda1`); those found inside a
        // partition are named the way Linux names nested ones (`/dev/sda1p1`).
        let is_drive = ctx
            .session
            .drives()
            .iter()
            .any(|d| Arc::ptr_eq(&d.source, &source));
        let prefix = if is_drive {
            device.clone()
        } else {
            format!("{device}p")
        };
        report::plain(&layout, &prefix)
    };
    for l in lines {
        writeln!(ctx.out, "{l}")?;
    }
    Ok(())
}

fn boot_extract(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let parsed = super::parse("boot-extract", args)?;
    let whole = parsed.flag("--whole");
    let (device, n, host) = (&parsed.args[0], &parsed.args[1], &parsed.args[2]);
    let (source, layout) = layout(ctx, device)?;
    match &layout.catalog {
        None => bail!("{device}: no El Torito boot record"),
        Some(Err(e)) => bail!("{device}: the boot catalog is unreadable: {e}"),
        Some(Ok(_)) if layout.images.is_empty() => bail!("{device}: no El Torito boot images"),
        Some(Ok(_)) => {}
    }
    let index: usize = n
        .parse()
        .ok()
        .filter(|&i| (1..=layout.images.len()).contains(&i))
        .with_context(|| {
            format!(
                "boot-extract: N must be a boot image number from 1 to {}",
                layout.images.len()
            )
        })?;
    let img = &layout.images[index - 1];
    let len = if whole {
        img.whole_len()
    } else {
        img.load_bytes()
    };
    let start = img.start();
    if start.checked_add(len).is_none_or(|end| end > source.len()) {
        bail!(
            "{}: boot image {index} ({len} bytes at block {}) passes the end of the image ({} bytes)",
            source.name(),
            img.entry.load_rba,
            source.len()
        );
    }
    if host == "-" {
        copy(source.as_ref(), start, len, ctx.out)
    } else {
        let mut file = std::fs::File::create(host).with_context(|| format!("{host}: create"))?;
        copy(source.as_ref(), start, len, &mut file).with_context(|| format!("{host}: write"))?;
        file.sync_all().with_context(|| format!("{host}: sync"))?;
        Ok(())
    }
}

/// Copies `len` bytes from `start` in large reads.
fn copy(src: &dyn Source, start: u64, len: u64, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut buf = vec![0u8; (1 << 20).min(len as usize)];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(buf.len() as u64) as usize;
        src.read_exact_at(start + done, &mut buf[..n], "boot image")?;
        out.write_all(&buf[..n])?;
        done += n as u64;
    }
    Ok(())
}

fn list_partitions(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let long = super::parse("list-partitions", args)?.flag("-l");
    for d in ctx.session.drives() {
        for p in &d.partitions {
            if long {
                writeln!(
                    ctx.out,
                    "{}{}: {} {} bytes at {}, type {}{}{}",
                    d.device,
                    p.number,
                    p.table.name(),
                    p.len,
                    p.start,
                    p.kind,
                    p.kind_name.map(|n| format!(" ({n})")).unwrap_or_default(),
                    if p.name.is_empty() {
                        String::new()
                    } else {
                        format!(", name {:?}", p.name)
                    }
                )?;
            } else {
                writeln!(ctx.out, "{}{}", d.device, p.number)?;
            }
        }
    }
    Ok(())
}
