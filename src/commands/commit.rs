//! `commit`: the session's staged changes written as a new image (the opened one replaced
//! atomically, a new file, or standard output), from the one [`Plan`] the
//! session builds; or, back into the opened image when the changes fit it, patched in place
//! ([`Patch`]), crash-safe.

use std::path::PathBuf;

use super::sink::{progress, warn};
use super::{opt, option, parse, ArgKind, Command, Ctx, Opt, Value};
use crate::fs::iso9660::write::Options;
use std::sync::Arc;

use crate::boot::isomd5;
use crate::data::Span;
use crate::fs::iso9660::inplace::Fit;
use crate::plan::{atomic::Target, in_place, to_stream, Patch, Plan};
use crate::session::Session;
use crate::source::{FileSource, Source};

pub const COMMANDS: &[Command] = &[Command {
    name: "commit",
    aliases: &[],
    args: &[opt("OUTPUT", ArgKind::Output)],
    options: &[DROP_BOOT, IMPLANT_MD5, IN_PLACE, REWRITE],
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

const IN_PLACE: Opt = option(
    "--in-place",
    Value::Flag,
    "patch the opened image in place, or fail saying why the changes do not fit",
);

const REWRITE: Opt = option(
    "--rewrite",
    Value::Flag,
    "write the whole image anew even when the changes would fit in place",
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
    let (in_place, rewrite) = (parsed.flag("--in-place"), parsed.flag("--rewrite"));
    if in_place && rewrite {
        anyhow::bail!("commit: --in-place and --rewrite exclude each other");
    }
    let opened = session.drives()[drive].path.clone();
    let back = match output {
        None => true,
        Some("-") => false,
        Some(path) => is_opened_image(&Target::new(PathBuf::from(path)), &opened),
    };
    if in_place && !back {
        anyhow::bail!("commit --in-place writes back into the opened image: give no OUTPUT");
    }
    if back {
        session.check_unchanged(drive)?;
    }
    if output.is_none() && session.pending() == 0 && !implant && !rewrite {
        // Nothing staged: the opened image already is what a commit would write.
        return session.committed(drive, false).map_err(Into::into);
    }
    session.with_rebuilt(drive, |session| {
        if back && !rewrite {
            match session.commit_fit(drive)? {
                Fit::InPlace(patch) => {
                    patch_in_place(session, drive, &patch, implant)?;
                    return session.committed(drive, true).map_err(Into::into);
                }
                Fit::Rewrite(why) if in_place => {
                    anyhow::bail!("commit --in-place: {why}; nothing written (commit rewrites it)")
                }
                Fit::Rewrite(_) => {}
            }
        }
        // A rewrite back into the opened image holds its lock too.
        let _lock = match back {
            true => Some(lock_image(&opened)?),
            false => None,
        };
        let mut plan = match back {
            true => session.commit_plan(drive, &opts)?,
            false => session.new_image(drive, &opts, rewrite)?,
        };
        session.implant_md5(drive, &mut plan, implant)?;
        warn("commit", plan.warnings());
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
    })
}

/// Applies `patch` to drive `drive`'s image; re-implants its MD5 when it had one (or when
/// `implant`), after the patch, reading the whole image.
fn patch_in_place(
    session: &Session,
    drive: usize,
    patch: &Patch,
    implant: bool,
) -> anyhow::Result<()> {
    let d = &session.drives()[drive];
    let like = isomd5::read(d.source.as_ref())?;
    let md5 = like.is_some() || implant;
    let mut patch = patch.clone();
    if md5 {
        patch.late.push((
            isomd5::PVD_OFFSET + isomd5::APPDATA_OFFSET,
            isomd5::APPDATA_LEN as u64,
        ));
    }
    warn("commit", &patch.warnings);
    // The bar counts the bytes written, then the read of the whole image for its MD5.
    let md5_len = if md5 { patch.new_len } else { 0 };
    let bar = Arc::new(progress(Some(patch.bytes() + md5_len)));
    let tick = |n| bar.inc(n);
    let path = d.path.clone();
    let mut finish = |_: &std::fs::File| -> crate::error::Result<in_place::Writes> {
        if !md5 {
            return Ok(Vec::new());
        }
        bar.set_message("implanting the MD5");
        let source: Arc<dyn Source> = Arc::new(Counted {
            inner: FileSource::open(&path)?,
            bar: bar.clone(),
        });
        let mut plan = Plan::new();
        plan.push(Span::source(&source, 0, source.len()));
        let fields = isomd5::implant(&mut plan, source.name(), like.as_ref())?;
        Ok(vec![(
            isomd5::PVD_OFFSET + isomd5::APPDATA_OFFSET,
            fields.encode(),
        )])
    };
    in_place::apply(&d.path, &patch, &mut finish, &tick)?;
    bar.finish_and_clear();
    Ok(())
}

/// A source whose reads advance a progress bar (the whole image read for its MD5).
struct Counted {
    inner: FileSource,
    bar: Arc<indicatif::ProgressBar>,
}

impl Source for Counted {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> crate::error::Result<usize> {
        let n = self.inner.read_at(offset, buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
}

/// The commit lock on the image at `path`, held while the rewrite replaces it.
fn lock_image(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let file = std::fs::File::open(path)?;
    in_place::lock(&file, path)?;
    Ok(file)
}

/// True when `target` names the image the drive was opened from (`commit OUTPUT` given the
/// opened image's own path, under any spelling).
fn is_opened_image(target: &Target, opened: &std::path::Path) -> bool {
    match (target.path().canonicalize(), opened.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
