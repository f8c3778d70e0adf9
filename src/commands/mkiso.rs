//! `mkiso`: a new image from a host directory ([`crate::mkiso`]), written to a file
//! atomically or to standard output, or served over NBD without being written (`nbd:WHERE`);
//! the boot options in plain words or as mkisofs options.

use std::path::{Path, PathBuf};

use super::serve::{serve_export, Settings};
use super::sink::{commit_plan, stream_plan, warn_plan};
use super::{arg, option, parse, ArgKind, Command, Ctx, Value};
use crate::boot::edits::BiosBoot;
use crate::mkiso::{self, mkisofs, tree_path, BiosKind, HybridOptions, MkisoOptions};
use crate::nbd::Export;
use crate::plan::atomic::Target;
use crate::plan::{ahead, reserve};

pub const COMMANDS: &[Command] = &[Command {
    name: "mkiso",
    aliases: &[],
    args: &[
        arg("HOSTDIR", ArgKind::HostPath),
        arg("OUTPUT", ArgKind::Output),
    ],
    options: &[
        option("label", Value::Word("VOLID"), "the volume id"),
        option(
            "bios",
            Value::Word("PATH"),
            "boot this file of the tree from BIOS (El Torito, no emulation)",
        ),
        option(
            "bios-hidden",
            Value::Word("HOSTFILE"),
            "boot this host file from BIOS, from an extent no file of the tree holds",
        ),
        option(
            "efi",
            Value::Word("PATH"),
            "boot this EFI FAT image of the tree from UEFI (may be repeated)",
        ),
        option(
            "hybrid",
            Value::OneOf(&["mbr", "gpt"]),
            "also boot from a USB stick: an isohybrid MBR, and a GPT",
        ),
        option(
            "udf",
            Value::OneOf(&["1.02"]),
            "a UDF bridge: a UDF 1.02 tree beside the ISO 9660 trees (as Windows media)",
        ),
        option(
            "mkisofs",
            Value::Word("OPTIONS"),
            "xorriso -as mkisofs boot options, as boot-info --as mkisofs prints them",
        ),
    ],
    run: mkiso,
}];

/// The options of the command line, plain words over `mkisofs:`.
fn options(dir: &Path, parsed: &super::Parsed) -> anyhow::Result<MkisoOptions> {
    let mut opts = MkisoOptions::default();
    if let Some(m) = parsed.value("mkisofs") {
        mkisofs::apply(m, &mut opts)?;
    }
    if parsed.value("udf").is_some() {
        opts.udf = true;
    }
    if let Some(label) = parsed.value("label") {
        opts.label = Some(label.to_string());
    }
    if let Some(bios) = parsed.value("bios") {
        let path = tree_path(bios);
        let kind = BiosKind::of(&dir.join(&path[1..]))?;
        opts.bios = Some(kind.entry(&path));
        opts.hide_bios = false;
    }
    if let Some(host) = parsed.value("bios-hidden") {
        if parsed.value("bios").is_some() {
            anyhow::bail!("mkiso: bios: and bios-hidden: both name the BIOS boot image: give one");
        }
        let host = PathBuf::from(host);
        let kind = BiosKind::of(&host)?;
        // An image isofish does not know is loaded whole (Windows media load all 8 sectors
        // of etfsboot.com).
        let load_sectors = match kind {
            BiosKind::Other => None,
            _ => Some(4),
        };
        opts.bios = Some(BiosBoot {
            hidden: Some(host.clone()),
            load_sectors,
            ..kind.entry(&host.display().to_string())
        });
        opts.hide_bios = false;
    }
    opts.efi
        .extend(parsed.values("efi").into_iter().map(tree_path));
    if let Some(h) = parsed.value("hybrid") {
        let from_mkisofs = opts.hybrid.take().unwrap_or_default();
        opts.hybrid = Some(HybridOptions {
            gpt: h == "gpt",
            ..from_mkisofs
        });
    }
    Ok(opts)
}

fn mkiso(ctx: &mut Ctx, words: &[String]) -> anyhow::Result<()> {
    let parsed = parse("mkiso", words)?;
    let dir = PathBuf::from(&parsed.args[0]);
    let output = parsed.args[1].as_str();
    if output == "-" && ctx.tty {
        anyhow::bail!("mkiso -: standard output is a terminal; redirect it to a file or a pipe");
    }
    let opts = options(&dir, &parsed)?;
    if output == "-" || output.starts_with("nbd:") {
        let plan = mkiso::plan(&dir, &opts, &|_| {}, None)?;
        warn_plan("mkiso", &plan);
        let Some(place) = output.strip_prefix("nbd:") else {
            return stream_plan(ctx, &plan);
        };
        // Served as it is planned, nothing written: nbdkit's iso plugin's job.
        let words = crate::shell::cli::serve_words(place);
        let settings = Settings::parse(&parse("serve", &words[1..])?)?;
        let name = format!("{} (mkiso)", dir.display());
        return serve_export(ctx, Export::from_plan(plan, name), &settings);
    }
    // A file: its temporary file made first, the space for the tree's data reserved in it
    // while the tree is walked and planned when the data comes from another filesystem, and
    // the files' data copied into it once the image is laid out, while the rest is encoded.
    let pending = Target::new(output).begin()?;
    let file = pending.file();
    let reserving = reserve::worth_it(&dir, file);
    let (plan, ahead) = ahead::while_planning(file, |placed| match reserving {
        true => reserve::while_planning(file, |space| {
            // The walk tells of the files' data; the layout, of where the image's data ends
            // (its directories and the files' padding added).
            let placed = |pos: u64, span: crate::fs::Span| {
                space.reach(pos + span.len());
                placed(pos, span)
            };
            mkiso::plan(&dir, &opts, &|n| space.add(n), Some(&placed))
        }),
        false => mkiso::plan(&dir, &opts, &|_| {}, Some(placed)),
    });
    let plan = plan?;
    warn_plan("mkiso", &plan);
    commit_plan(pending, &plan, &ahead)?;
    crate::aside::drop(plan);
    Ok(())
}
