//! An in-place commit: a [`Patch`] (ranges of the opened image overwritten, its new length)
//! applied to the image file itself, crash-safe through the [`journal`]: the
//! old bytes of every range are journaled and fsynced first, then the ranges are written, a
//! finishing step (an implanted MD5 over the patched image) writes its own ranges, the image
//! is flushed (fdatasync), and the journal removed. Killed at any point, the image is either the old one
//! (the next open rolls it back) or the new one. An advisory lock (`flock`) on the image keeps
//! two commits from patching it at once; an image changed on disk since it was opened (its
//! [`Stamp`]) is refused.
//!
//! For tests, debug builds only: with `ISOFISH_DEBUG_INPLACE_KILL=N` in the environment, the
//! process kills itself (SIGKILL) after the Nth step: 1 is the journal written, then each
//! range written in turn, each finishing range, the flush, the journal's removal.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use std::sync::Arc;

use super::{journal, Plan};
use crate::data::layout::Slice;
use crate::data::to_file::{copy_slice, Route};
use crate::data::Span;
use crate::error::{Error, Result};
use crate::source::Source;

/// What an in-place commit writes into the opened image.
#[derive(Clone, Debug, Default)]
pub struct Patch {
    /// The image's length before and after.
    pub old_len: u64,
    pub new_len: u64,
    /// Data written at an offset, in order.
    pub writes: Vec<(u64, Span)>,
    /// Ranges the finishing step writes (journaled with the others).
    pub late: Vec<(u64, u64)>,
    /// What the patch changes, one line each, for `changes` and `-v`.
    pub summary: Vec<String>,
    /// What the commit leaves out or changes on its own, for the user.
    pub warnings: Vec<String>,
}

impl Patch {
    /// Bytes the patch writes (data and structures, the finishing step left out).
    pub fn bytes(&self) -> u64 {
        self.writes.iter().map(|(_, s)| s.len()).sum()
    }

    /// The patched image as a [`Plan`]: the bytes of `image` (the one the patch was made
    /// for) with the writes over them, in their order, and zeros where it grows. A commit to
    /// a new file or a stream copies the image this way instead of rewriting it, when the
    /// changes fit in place: the same bytes an in-place commit leaves, read from the
    /// original (a write that moves data reads it from where it was).
    pub fn onto(&self, image: &Arc<dyn Source>) -> Plan {
        let mut plan = Plan::new();
        plan.push(Span::source(image, 0, self.old_len.min(self.new_len)));
        plan.push(Span::Zeros(self.new_len.saturating_sub(self.old_len)));
        for (at, span) in &self.writes {
            plan.overwrite(*at, span.clone());
        }
        for warning in &self.warnings {
            plan.warn(warning.clone());
        }
        plan
    }
}

/// What identifies the image file as it was opened: a commit back to it is refused when it
/// changed since (another program wrote it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
}

impl Stamp {
    /// The stamp of the file at `path` now.
    pub fn of(path: &Path) -> Result<Stamp> {
        let m = std::fs::metadata(path).map_err(|e| Error::io(path.display().to_string(), e))?;
        Ok(Stamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
        })
    }

    /// Fails when the file at `path` is no longer the one stamped, as it was.
    pub fn check(&self, path: &Path) -> Result<()> {
        if Stamp::of(path)? == *self {
            return Ok(());
        }
        Err(Error::Usage(format!(
            "{}: the image changed on disk since it was opened (another program wrote it); \
             nothing written: open it again to commit",
            path.display()
        )))
    }
}

/// Takes the advisory lock a commit holds on `file` (the image at `path`) for its duration;
/// fails at once when another process holds it.
pub fn lock(file: &File, path: &Path) -> Result<()> {
    rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(|_| {
        Error::Usage(format!(
            "{}: another process is committing to this image; nothing written",
            path.display()
        ))
    })
}

/// Bytes to write at offsets of the image.
pub type Writes = Vec<(u64, Vec<u8>)>;

/// The finishing step of an apply: given the patched image, the bytes of the late ranges.
pub type Finish<'a> = dyn FnMut(&File) -> Result<Writes> + 'a;

/// Applies `patch` to the image at `path`. `finish` runs after the writes, on the patched
/// image, and returns the bytes to write into the `late` ranges. `progress` is told of bytes
/// written.
pub fn apply(
    path: &Path,
    patch: &Patch,
    finish: &mut Finish,
    progress: &dyn Fn(u64),
) -> Result<()> {
    let shown = path.display().to_string();
    let io = |e: std::io::Error| Error::io(&shown, e);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io)?;
    lock(&file, path)?;
    // A Ctrl-C waits for the patch: the session goes on with an image wholly old or new.
    let _shield = crate::cancel::Shield::new();
    let now = file.metadata().map_err(io)?.len();
    if now != patch.old_len {
        return Err(Error::Usage(format!(
            "{shown}: the image is {now} bytes, not the {} it was opened with; nothing written",
            patch.old_len
        )));
    }
    let journal = journal::path_of(path);
    let ranges: Vec<(u64, u64)> = patch
        .writes
        .iter()
        .map(|(at, s)| (*at, s.len()))
        .chain(patch.late.iter().copied())
        .collect();
    journal::write(&journal, &file, patch.old_len, patch.new_len, &ranges)?;
    let mut steps = Steps::new();
    steps.done();
    let patched = (|| -> Result<()> {
        let mut buf = vec![0u8; super::to_file::BUF];
        let mut route = Route::CopyRange;
        for (at, span) in &patch.writes {
            write_span(span, *at, &file, &mut route, &mut buf, progress)
                .map_err(|e| Error::Usage(format!("{shown}: writing in place: {e:#}")))?;
            steps.done();
        }
        if patch.new_len > patch.old_len {
            file.set_len(patch.new_len).map_err(io)?;
        }
        // The finishing step reads the patched image through the page cache; one flush
        // covers both (until it, the journal stands).
        for (at, bytes) in finish(&file)? {
            file.write_all_at(&bytes, at).map_err(io)?;
            steps.done();
        }
        file.sync_data().map_err(io)
    })();
    if let Err(e) = patched {
        // Put the image back now; failing that, the next open does.
        return Err(match journal::roll_back(path) {
            Ok(_) => e,
            Err(again) => Error::Usage(format!(
                "{e}; and rolling back failed too ({again}): the next `isofish -a {shown}` \
                 rolls it back"
            )),
        });
    }
    steps.done();
    journal::remove(&journal)?;
    steps.done();
    Ok(())
}

/// Writes `span` at `at` of `out`, zeros included (old bytes are overwritten, not punched).
fn write_span(
    span: &Span,
    at: u64,
    out: &File,
    route: &mut Route,
    buf: &mut [u8],
    progress: &dyn Fn(u64),
) -> anyhow::Result<()> {
    if let Span::Zeros(n) = span {
        let mut done = 0;
        buf.fill(0);
        while done < *n {
            let k = (*n - done).min(buf.len() as u64) as usize;
            out.write_all_at(&buf[..k], at + done)?;
            progress(k as u64);
            done += k as u64;
        }
        return Ok(());
    }
    let slice = Slice {
        span,
        within: 0,
        len: span.len(),
    };
    copy_slice(&slice, at, out, (route, None), buf, progress)
}

/// The steps of an apply, counted for the kill hook of debug builds.
struct Steps {
    count: u64,
    kill_at: Option<u64>,
}

impl Steps {
    fn new() -> Steps {
        let kill_at = if cfg!(debug_assertions) {
            std::env::var("ISOFISH_DEBUG_INPLACE_KILL")
                .ok()
                .and_then(|v| v.parse().ok())
        } else {
            None
        };
        Steps { count: 0, kill_at }
    }

    fn done(&mut self) {
        self.count += 1;
        if self.kill_at == Some(self.count) {
            let _ = rustix::process::kill_process(
                rustix::process::getpid(),
                rustix::process::Signal::KILL,
            );
        }
    }
}
