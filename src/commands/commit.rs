//! `commit`: the session's staged changes written as a new image (the opened one replaced
//! atomically, a new file, or standard output), from the one [`Plan`](crate::plan::Plan) the
//! session builds.

use std::path::PathBuf;

use super::sink::progress;
use super::{opt, option, parse, ArgKind, Command, Ctx, Opt, Value};
use crate::fs::iso9660::write::Options;
use crate::plan::{atomic::Target, to_stream};

pub const COMMANDS: &[Command] = &[Command {
    name: "commit",
    aliases: &[],
    args: &[opt("OUTPUT", ArgKind::Output)],
    options: &[DROP_BOOT, IMPLANT_MD5],
    run: commit,
}];

const DROP_BOOT: Opt = option(
    "--drop-boot",
    Value::Flag,
    "leave out the boot entries and partitions whose boot files are gone",
);

const IMPLANT_MD5: Opt = option(
    "--implant-md5",
    Value::Flag,
    "implant the image's MD5 as implantisomd5 does (kept anyway when the original had one)",
);

fn commit(ctx: &mut Ctx, words: &[String]) -> anyhow::Result<()> {
    let parsed = parse("commit", words)?;
    let opts = Options {
        drop_boot: parsed.flag("--drop-boot"),
        ..Options::default()
    };
    let output = parsed.args.first().map(String::as_str);
    let session = &mut *ctx.session;
    session.refuse_readonly("commit")?;
    if output == Some("-") && ctx.tty {
        anyhow::bail!("commit -: standard output is a terminal; redirect it to a file or a pipe");
    }
    let drive = session.commit_drive()?;
    let implant = parsed.flag("--implant-md5");
    if output.is_none() && session.pending() == 0 && !implant {
        // Nothing staged: the opened image already is what a commit would write.
        return session.committed(drive, false).map_err(Into::into);
    }
    let mut plan = session.commit_plan(drive, &opts)?;
    session.implant_md5(drive, &mut plan, implant)?;
    for w in plan.warnings() {
        eprintln!(
            "isofish: warning: commit: {}",
            super::format::escape_controls(w.as_bytes())
        );
    }
    let bar = progress(Some(plan.len()));
    let tick = |n| bar.inc(n);
    let replaced = match output {
        Some("-") => {
            ctx.out.flush()?;
            to_stream::write(&plan, ctx.out, ctx.out_fd, &tick)?;
            false
        }
        Some(path) => {
            let target = Target::new(PathBuf::from(path));
            target.commit(&plan, &tick)?;
            is_opened_image(&target, &session.drives()[drive].path)
        }
        None => {
            Target::new(session.drives()[drive].path.clone()).commit(&plan, &tick)?;
            true
        }
    };
    bar.finish_and_clear();
    session.committed(drive, replaced)?;
    Ok(())
}

/// True when `target` names the image the drive was opened from (`commit OUTPUT` given the
/// opened image's own path, under any spelling).
fn is_opened_image(target: &Target, opened: &std::path::Path) -> bool {
    match (target.path().canonicalize(), opened.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
