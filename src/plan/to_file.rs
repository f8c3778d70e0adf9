//! A [`Plan`] written into a new host file from its first byte ([`write()`]): ranges of host
//! files are moved by the kernel with `copy_file_range` (shared blocks where the filesystem can
//! reflink), or `sendfile` where the host refuses that (between two filesystems; read and
//! written here only when it refuses both), bytes held in memory and ranges
//! of other sources are gathered into large writes (an image's many small directories go out
//! in a few calls, in whole pages), zeros are not written (long runs stay holes, and the padding
//! between two ranges of host files is left to read as zeros). The work is cut into jobs, in
//! the image's order, that two threads take one after the other, each writing through its own
//! open file description (its own offset, for `sendfile`). One scratch buffer of [`BUF`] bytes
//! per thread and calls of at most 16 MiB each: memory stays bounded whatever the image's
//! size. The atomic replacement of a file around this is [`super::atomic`].

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use rustix::fs::FallocateFlags;

use super::ahead::{Ahead, Piece};
use super::Plan;
use crate::data::layout::{read_exact, Slice};
use crate::data::to_file::{copy_slice, Route};
use crate::data::Span;
use crate::error::lock_cache;

/// The scratch buffer for the bytes that are read and written, one per thread.
pub const BUF: usize = 1 << 20;
/// Zeros at least this long are left as a hole rather than written.
const HOLE: u64 = 64 << 10;
/// The threads that copy. Two: the host takes the writes into one file one at a time (its
/// lock on the file), and a second thread reads the next range while the first writes; on a
/// tmpfs a third added nothing measurable.
const COPIERS: usize = 2;
/// A range of a host file is copied in pieces of at most this many bytes, so that the threads
/// share a long one.
const PIECE: u64 = 16 << 20;

/// One step of the write, at a known offset of the new file.
enum Job {
    /// The spans `spans` gathered into one buffer (bytes in memory, ranges of other sources,
    /// short runs of zeros), written from `pos`; `len` bytes in all, at most [`BUF`].
    Gathered {
        spans: Range<usize>,
        pos: u64,
        len: usize,
    },
    /// `len` bytes of span `span` from `within` bytes into it, to `pos`: a piece of a range of
    /// a host file, a hole, or a span too long to gather.
    Piece {
        span: usize,
        within: u64,
        len: u64,
        pos: u64,
    },
}

/// A range of a host file of `len` bytes cut into the pieces the threads share: where each
/// starts in the range, and its length.
pub(super) fn pieces(len: u64) -> impl Iterator<Item = (u64, u64)> {
    cut(len, PIECE)
}

/// `len` bytes cut into pieces of `piece` bytes (the last shorter): where each starts, and
/// its length.
fn cut(len: u64, piece: u64) -> impl Iterator<Item = (u64, u64)> {
    let piece = piece.max(1);
    (0..len.div_ceil(piece)).map(move |k| (k * piece, piece.min(len - k * piece)))
}

impl Job {
    /// The bytes of the new file it writes.
    fn len(&self) -> u64 {
        match self {
            Job::Gathered { len, .. } => *len as u64,
            Job::Piece { len, .. } => *len,
        }
    }
}

/// The plan's spans cut into jobs, in the image's order.
fn jobs(spans: &[Span]) -> Vec<Job> {
    let mut jobs = Vec::new();
    let (mut pos, mut gathered) = (0u64, 0..0);
    let mut gathered_len = 0usize;
    // The spans gathered so far, ending at `at`, as a job.
    let flush = |jobs: &mut Vec<Job>, gathered: &Range<usize>, len: &mut usize, at: u64| {
        if *len > 0 {
            jobs.push(Job::Gathered {
                spans: gathered.clone(),
                pos: at - *len as u64,
                len: *len,
            });
        }
        *len = 0;
    };
    for (i, span) in spans.iter().enumerate() {
        let len = span.len();
        let hole = matches!(span, Span::Zeros(_)) && len >= HOLE;
        if !span.in_host_file() && !hole && len <= (BUF - gathered_len) as u64 {
            if gathered_len == 0 {
                gathered.start = i;
            }
            gathered.end = i + 1;
            gathered_len += len as usize;
            pos += len;
            continue;
        }
        flush(&mut jobs, &gathered, &mut gathered_len, pos);
        let piece = if span.in_host_file() { PIECE } else { len };
        for (within, n) in cut(len, piece) {
            jobs.push(Job::Piece {
                span: i,
                within,
                len: n,
                pos: pos + within,
            });
        }
        pos += len;
    }
    flush(&mut jobs, &gathered, &mut gathered_len, pos);
    jobs
}

/// Writes `plan` into `out`, a new, empty host file, and gives the file the plan's length
/// (a range of zeros at the end included). `progress` is told of the bytes done, piece by
/// piece (a hole counts as done when it is passed), from any of the copying threads. Errors:
/// a source's read error as it is (the source named), the host's write error as an
/// [`std::io::Error`]; the first in the image's order when several threads fail.
pub fn write(plan: &Plan, out: &File, progress: &(dyn Fn(u64) + Sync)) -> anyhow::Result<()> {
    write_over(plan, out, &Ahead::none(), progress)
}

/// [`write()`] into a file where `ahead` was copied while the plan was made: the pieces
/// copied as the plan has them are not copied again, the others are cleared first.
pub fn write_over(
    plan: &Plan,
    out: &File,
    ahead: &Ahead,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<()> {
    let spans = plan.spans();
    let jobs = jobs(spans);
    let done = copied_ahead(&jobs, spans, ahead, out)?;
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let failures: Mutex<Vec<(usize, anyhow::Error)>> = Mutex::new(Vec::new());
    let copier = |out: Copier| {
        let mut buf = vec![0u8; BUF];
        let (mut route, mut cursor) = (Route::CopyRange, 0u64);
        while !stop.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = jobs.get(i) else { break };
            if done[i] {
                progress(job.len());
                continue;
            }
            let own = out.own.then_some(&mut cursor);
            if let Err(e) = run(job, spans, out.file, (&mut route, own), &mut buf, progress) {
                stop.store(true, Ordering::Relaxed);
                lock_cache(&failures).push((i, e));
            }
        }
    };
    let helpers = COPIERS.min(jobs.len()).saturating_sub(1);
    let reopened: Vec<Option<File>> = (0..helpers).map(|_| reopen(out)).collect();
    std::thread::scope(|s| {
        for file in &reopened {
            s.spawn(|| copier(Copier::of(file.as_ref(), out)));
        }
        // `out` is this copy's own from offset 0: `sendfile` may move its ranges.
        copier(Copier {
            file: out,
            own: true,
        });
    });
    let mut failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    failures.sort_by_key(|(i, _)| *i);
    if let Some((_, e)) = failures.into_iter().next() {
        return Err(e);
    }
    out.set_len(plan.len())?;
    Ok(())
}

/// Which of `jobs` (of the plan whose spans are `spans`) were copied ahead, as they are; the
/// pieces copied ahead that no job is are cleared in `out` (their bytes are not the plan's).
fn copied_ahead(jobs: &[Job], spans: &[Span], ahead: &Ahead, out: &File) -> io::Result<Vec<bool>> {
    let mut stale: HashSet<Piece> = ahead.pieces.keys().copied().collect();
    let done = jobs
        .iter()
        .map(|job| match *job {
            Job::Piece {
                span,
                within,
                len,
                pos,
            } => Piece::of(&spans[span], within, len, pos).is_some_and(|p| stale.remove(&p)),
            Job::Gathered { .. } => false,
        })
        .collect();
    for p in stale {
        clear(out, p.pos, p.len)?;
    }
    Ok(done)
}

/// Makes `len` bytes of `out` from `pos` read as zeros: a hole punched, or zeros written where
/// the host punches none.
fn clear(out: &File, pos: u64, len: u64) -> io::Result<()> {
    let punch = FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE;
    if rustix::fs::fallocate(out, punch, pos, len).is_ok() {
        return Ok(());
    }
    let zeros = vec![0u8; BUF.min(len as usize)];
    let mut done = 0;
    while done < len {
        let n = zeros.len().min((len - done) as usize);
        out.write_all_at(&zeros[..n], pos + done)?;
        done += n as u64;
    }
    Ok(())
}

/// The file a copying thread writes through, and whether its offset is the thread's own (a
/// description opened for it): `sendfile` writes only through such a one.
struct Copier<'a> {
    file: &'a File,
    own: bool,
}

impl<'a> Copier<'a> {
    /// Through `reopened` when there is one, else through `shared` by positioned writes only.
    fn of(reopened: Option<&'a File>, shared: &'a File) -> Copier<'a> {
        match reopened {
            Some(file) => Copier { file, own: true },
            None => Copier {
                file: shared,
                own: false,
            },
        }
    }
}

/// Another open file description of `out` (its own offset), for a second copying thread;
/// `None` where the host has no `/proc` or refuses (the thread then writes by positioned writes).
pub(super) fn reopen(out: &File) -> Option<File> {
    let path = format!("/proc/self/fd/{}", out.as_raw_fd());
    OpenOptions::new().write(true).open(path).ok()
}

/// Does `job` of the plan whose spans are `spans`, writing into `out` (moving host ranges by
/// `how`, its route and cursor).
fn run(
    job: &Job,
    spans: &[Span],
    out: &File,
    how: (&mut Route, Option<&mut u64>),
    buf: &mut [u8],
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<()> {
    match job {
        Job::Gathered {
            spans: range,
            pos,
            len,
        } => {
            let mut g = Gathered::default();
            for span in &spans[range.clone()] {
                let n = span.len() as usize;
                let to = &mut buf[g.len..g.len + n];
                match span {
                    Span::Zeros(_) => to.fill(0),
                    _ => read_exact(span, 0, to)?,
                }
                g.add(n, !matches!(span, Span::Zeros(_)));
            }
            let data = &buf[g.data.clone()];
            if !data.is_empty() {
                out.write_all_at(data, pos + g.data.start as u64)?;
            }
            progress(*len as u64);
            Ok(())
        }
        Job::Piece {
            span,
            within,
            len,
            pos,
        } => {
            let slice = Slice {
                span: &spans[*span],
                within: *within,
                len: *len,
            };
            copy_slice(&slice, *pos, out, how, buf, progress)
        }
    }
}

/// What the scratch buffer holds: `len` bytes gathered, of which those in `data` are to be
/// written; the zeros before and after them are not (the new file reads as zeros there, and
/// gets its length at the end): the padding between the files of a new image costs no call.
#[derive(Default)]
struct Gathered {
    len: usize,
    data: Range<usize>,
}

impl Gathered {
    /// `n` more bytes gathered: data to write, or zeros.
    fn add(&mut self, n: usize, data: bool) {
        if data {
            if self.data.is_empty() {
                self.data.start = self.len;
            }
            self.data.end = self.len + n;
        }
        self.len += n;
    }
}
#[cfg(test)]
pub(crate) mod tests {
    use std::os::unix::fs::MetadataExt;
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;

    use super::*;
    use crate::data::tests::host_source;
    use crate::data::Span;
    use crate::source::{MemSource, Source};

    /// A plan of every kind of span: ranges of a host file (kept alive by the temp file
    /// returned), bytes, ranges of a source in memory, zeros inside and at the end; and the
    /// bytes it gives.
    pub fn mixed_plan(host_len: usize) -> (tempfile::NamedTempFile, Plan, Vec<u8>) {
        let (keep, host) = host_source(host_len);
        let mem: Arc<dyn Source> = Arc::new(MemSource::new((100..200).collect(), "mem"));
        let mut plan = Plan::new();
        plan.push_bytes(b"head".to_vec());
        plan.push(Span::source(&host, 3, host_len as u64 - 10));
        plan.push(Span::Zeros(70_000));
        plan.push(Span::source(&mem, 50, 14));
        plan.push(Span::source(&host, 0, 2));
        plan.pad_to(2048);
        plan.push(Span::Zeros(5000));
        let mut want = b"head".to_vec();
        want.extend((3..host_len - 7).map(|i| i as u8));
        want.extend([0; 70_000]);
        want.extend(150..164);
        want.extend([0, 1]);
        want.resize(want.len().next_multiple_of(2048) + 5000, 0);
        (keep, plan, want)
    }

    #[test]
    fn every_kind_of_span_lands_in_place_and_zeros_are_holes() {
        lands_in_place(tempfile::tempdir().unwrap());
    }

    #[test]
    fn ranges_of_a_file_on_another_filesystem_land_in_place_too() {
        // The host file is in the temporary directory, the new file in a tmpfs: the kernel
        // refuses copy_file_range between them, and sendfile moves the ranges.
        lands_in_place(tempfile::tempdir_in("/dev/shm").unwrap());
    }

    /// A mixed plan written into a new file in `dir`: the plan's bytes, holes for its zeros.
    fn lands_in_place(dir: tempfile::TempDir) {
        let (_keep, plan, want) = mixed_plan(3 << 20);
        let path = dir.path().join("new.iso");
        let told = AtomicU64::new(0);
        write(&plan, &File::create(&path).unwrap(), &|n| {
            told.fetch_add(n, Ordering::Relaxed);
        })
        .unwrap();
        let got = std::fs::read(&path).unwrap();
        assert!(got == want, "the file holds other bytes than the plan's");
        assert_eq!(told.into_inner(), plan.len());
        // The 70 000 zeros and the 5000 at the end take (most of) no blocks.
        let used = std::fs::metadata(&path).unwrap().blocks() * 512;
        assert!(used < plan.len() - 60_000, "{used} bytes used by the file");
    }

    #[test]
    fn short_runs_of_zeros_are_not_written_either() {
        let (_keep, host) = host_source(100);
        let mut plan = Plan::new();
        // 60 000 zeros in runs each too short to be a hole, then two padded ranges.
        for _ in 0..20 {
            plan.push(Span::Zeros(3000));
        }
        plan.push(Span::source(&host, 0, 10));
        plan.pad_to(2048);
        plan.push(Span::source(&host, 20, 10));
        plan.pad_to(2048);
        let mut want = vec![0u8; 60_000];
        want.extend(0..10);
        want.resize(want.len().next_multiple_of(2048), 0);
        want.extend(20..30);
        want.resize(want.len().next_multiple_of(2048), 0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zeros.iso");
        write(&plan, &File::create(&path).unwrap(), &|_| {}).unwrap();
        assert!(std::fs::read(&path).unwrap() == want);
        // The zeros before the ranges took no blocks.
        let used = std::fs::metadata(&path).unwrap().blocks() * 512;
        assert!(used <= 16 << 10, "{used} bytes used by the file");
    }

    /// A plan longer than several pieces, ranges of one host file taken out of their order
    /// between bytes in memory: the threads share it, and each piece lands where it belongs,
    /// within one filesystem (`copy_file_range`) and between two (`sendfile` through each
    /// thread's own description).
    #[test]
    fn a_plan_of_many_pieces_is_shared_by_the_threads_and_lands_in_place() {
        let host_len = 5 * PIECE as usize / 2;
        let (_keep, host) = host_source(host_len);
        let mut plan = Plan::new();
        let mut want = Vec::new();
        let half = host_len as u64 / 2;
        for (i, (from, len)) in [(half, half), (0, half)].into_iter().enumerate() {
            plan.push_bytes(vec![i as u8 + 1; 3000]);
            want.extend(vec![i as u8 + 1; 3000]);
            plan.push(Span::source(&host, from, len));
            want.extend((from as usize..(from + len) as usize).map(|i| i as u8));
        }
        plan.push(Span::Zeros(HOLE));
        want.extend(vec![0; HOLE as usize]);
        assert!(jobs(plan.spans()).len() > COPIERS + 2);
        for dir in [tempfile::tempdir(), tempfile::tempdir_in("/dev/shm")] {
            let dir = dir.unwrap();
            let path = dir.path().join("long.iso");
            write(&plan, &File::create(&path).unwrap(), &|_| {}).unwrap();
            assert!(std::fs::read(&path).unwrap() == want);
        }
    }

    /// When two jobs fail, whichever thread fails first, the error is the one of the first
    /// job in the image's order.
    #[test]
    fn of_two_failures_the_first_in_the_image_is_said() {
        let (_keep, host) = host_source(2 * PIECE as usize);
        let first: Arc<dyn Source> = Arc::new(MemSource::new(vec![1; 10], "first.img"));
        let second: Arc<dyn Source> = Arc::new(MemSource::new(vec![1; 10], "second.img"));
        let mut plan = Plan::new();
        plan.push(Span::source(&first, 0, 20));
        plan.push(Span::source(&host, 0, 2 * PIECE));
        plan.push(Span::source(&second, 0, 20));
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..20 {
            let out = File::create(dir.path().join("x")).unwrap();
            let msg = format!("{:#}", write(&plan, &out, &|_| {}).unwrap_err());
            assert!(msg.contains("first.img"), "{msg}");
        }
    }

    #[test]
    fn an_empty_plan_is_an_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.iso");
        write(&Plan::new(), &File::create(&path).unwrap(), &|_| {}).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"");
    }

    #[test]
    fn a_source_that_ends_early_names_it() {
        let mem: Arc<dyn Source> = Arc::new(MemSource::new(vec![1; 10], "small.img"));
        let mut plan = Plan::new();
        plan.push(Span::source(&mem, 4, 8));
        let dir = tempfile::tempdir().unwrap();
        let out = File::create(dir.path().join("x")).unwrap();
        let msg = format!("{:#}", write(&plan, &out, &|_| {}).unwrap_err());
        assert!(
            msg.contains("small.img: corrupt file extent at offset 10"),
            "{msg}"
        );
    }
}
