//! Boot equipment: `boot-info` (the El Torito catalog and the system area, or the
//! `xorriso -as mkisofs` options that rebuild them), `boot-extract` (a boot image as the
//! firmware loads it, or whole) and `list-partitions`. What they print about a boot layout
//! is in [`report`] and [`mkisofs`]; the layout itself is [`crate::boot`]'s.

pub mod mkisofs;
pub mod report;

use std::io::Write;
use std::sync::Arc;

use anyhow::{bail, Context};

use super::{arg, opt, ArgKind, Command, Ctx};
use crate::boot::Layout;
use crate::fs::{self, MountOptions};
use crate::source::Source;

pub const COMMANDS: &[Command] = &[
    Command {
        name: "boot-info",
        aliases: &["info-boot"],
        args: &[
            opt("--as", ArgKind::Word),
            opt("mkisofs", ArgKind::Word),
            arg("DEVICE", ArgKind::Device),
        ],
        run: boot_info,
    },
    Command {
        name: "boot-extract",
        aliases: &[],
        args: &[
            opt("--whole", ArgKind::Word),
            arg("DEVICE", ArgKind::Device),
            arg("N", ArgKind::Word),
            arg("HOSTFILE", ArgKind::HostPath),
        ],
        run: boot_extract,
    },
    Command {
        name: "list-partitions",
        aliases: &[],
        args: &[opt("-l", ArgKind::Word)],
        run: list_partitions,
    },
];

/// Splits leading `--flag` words from the rest.
fn flags(args: &[String]) -> (Vec<&str>, &[String]) {
    let n = args
        .iter()
        .take_while(|a| a.starts_with('-') && a.len() > 1)
        .count();
    (args[..n].iter().map(String::as_str).collect(), &args[n..])
}

/// The layout of `device`, with boot images named by the ISO tree when it opens.
fn layout(ctx: &Ctx, device: &str) -> anyhow::Result<(Arc<dyn Source>, Layout)> {
    let source = ctx.session.device_source(device)?;
    let fs = fs::open(source.clone(), &MountOptions::default()).ok();
    let layout = Layout::read(source.as_ref(), fs.as_deref())?;
    Ok((source, layout))
}

fn boot_info(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let (mut as_mkisofs, mut rest) = (false, args);
    if rest.first().map(String::as_str) == Some("--as") {
        match rest.get(1).map(String::as_str) {
            Some("mkisofs") => as_mkisofs = true,
            other => bail!(
                "boot-info: --as takes 'mkisofs', not {:?}",
                other.unwrap_or("")
            ),
        }
        rest = &rest[2..];
    }
    let [device] = rest else {
        bail!("boot-info: usage: boot-info [--as mkisofs] DEVICE");
    };
    let (source, layout) = layout(ctx, device)?;
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
    let (flags, rest) = flags(args);
    let whole = match flags.as_slice() {
        [] => false,
        ["--whole"] => true,
        other => bail!("boot-extract: unknown option {:?}", other.join(" ")),
    };
    let [device, n, host] = rest else {
        bail!("boot-extract: usage: boot-extract [--whole] DEVICE N HOSTFILE|-");
    };
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
    let long = match args.first().map(String::as_str) {
        None => false,
        Some("-l" | "--long") => true,
        Some(other) => bail!("list-partitions: unknown option {other:?}"),
    };
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
