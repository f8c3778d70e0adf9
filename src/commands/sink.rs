//! Where the commands that write to the host put their output: a [`Sink`] (the command's
//! output stream for `-`, else a host file created for it, a [`Created`] that Ctrl-C does not
//! leave half-written), and the [`progress`] bar they show on standard error.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::ops::Deref;
use std::path::PathBuf;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar on standard error when it is a terminal, or a hidden one.
pub fn progress(total: Option<u64>) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match total {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template(
                "{wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {bytes} {binary_bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
}

/// Says the warnings of `plan` on standard error, as command `what`'s.
pub fn warn_plan(what: &str, plan: &crate::plan::Plan) {
    warn(what, plan.warnings());
}

/// Prints each of `warnings` on standard error as `isofish: warning: WHAT: …`, control
/// characters escaped.
pub fn warn(what: &str, warnings: &[String]) {
    for w in warnings {
        eprintln!(
            "isofish: warning: {what}: {}",
            super::format::escape_controls(w.as_bytes())
        );
    }
}

/// Writes `plan` to the command's output stream (`-`); a progress bar meanwhile.
pub fn stream_plan(ctx: &mut super::Ctx, plan: &crate::plan::Plan) -> anyhow::Result<()> {
    let bar = progress(Some(plan.len()));
    ctx.out.flush()?;
    crate::plan::to_stream::write(plan, ctx.out, ctx.out_fd, &|n| bar.inc(n))?;
    bar.finish_and_clear();
    Ok(())
}

/// Writes `plan` into the begun commit `pending` (where `ahead` was copied while it was
/// planned) and renames it into place; a progress bar meanwhile.
pub fn commit_plan(
    pending: crate::plan::atomic::Pending,
    plan: &crate::plan::Plan,
    ahead: &crate::plan::ahead::Ahead,
) -> anyhow::Result<()> {
    let bar = progress(Some(plan.len()));
    pending.commit(plan, ahead, &|n| bar.inc(n))?;
    bar.finish_and_clear();
    Ok(())
}

/// Where a command's output goes: `-` is the command's output stream, anything else a host file
/// created (or truncated) for it.
pub enum Sink<'a> {
    Out(&'a mut dyn Write),
    File(Created),
}

impl<'a> Sink<'a> {
    pub fn open(out: &'a mut dyn Write, hostfile: &str) -> anyhow::Result<Sink<'a>> {
        Ok(if hostfile == "-" {
            Sink::Out(out)
        } else {
            Sink::File(Created::new(hostfile)?)
        })
    }
}

/// A host file a command created (or truncated) to write into: removed when it is dropped
/// while a Ctrl-C is pending ([`crate::cancel`]), so an interrupted command leaves no partial
/// file under the name.
pub struct Created {
    file: File,
    path: PathBuf,
}

impl Created {
    pub fn new(hostfile: &str) -> anyhow::Result<Created> {
        let file = File::create(hostfile).with_context(|| format!("{hostfile}: cannot create"))?;
        Ok(Created {
            file,
            path: hostfile.into(),
        })
    }
}

impl Deref for Created {
    type Target = File;
    fn deref(&self) -> &File {
        &self.file
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        if crate::cancel::requested() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Out(w) => w.write(buf),
            Sink::File(f) => (&f.file).write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Sink::Out(w) => w.write_all(buf),
            Sink::File(f) => (&f.file).write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Out(w) => w.flush(),
            Sink::File(f) => (&f.file).flush(),
        }
    }
}
