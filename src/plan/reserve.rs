//! Space reserved for a new image in its file while the image is still being planned
//! ([`while_planning`]): a writer that finds its data as it plans (`mkiso` walking a host
//! tree) tells of each file's bytes as it finds them, then of where the image's data ends
//! once it is laid out ([`Space`]), and a thread beside it allocates that much of the new
//! file (`fallocate`), in steps of [`STEP`] bytes. The copy that follows
//! then writes into blocks the filesystem already has: the allocation (on a tmpfs, the pages
//! and their accounting, half the cost of a write) is done on a core the planning leaves
//! idle. The reservation stops when the plan is made (a step under way ends first): what was
//! not reserved yet is allocated by the copy as usual.
//!
//! Only for data on another filesystem than the new file ([`worth_it`]): within one,
//! `copy_file_range` may share the blocks, and a reservation would take space the copy never
//! needs. A host that cannot reserve (`EOPNOTSUPP`, no space) ends the reservation quietly;
//! the copy then meets the same condition and reports it.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rustix::fs::FallocateFlags;

/// The bytes one `fallocate` call reserves: about a millisecond of the host's work on a
/// tmpfs, during which the file's lock is held. The copy ahead writes into the same file
/// while the layout's last steps are reserved, and waits that long at most (with 32 MiB
/// steps mkiso of the bench tree took 0.02-0.03 s longer), and the end of the plan too.
pub const STEP: u64 = 4 << 20;

/// True when data read from `source` (a host directory or file) and written into `out` would
/// be copied between two filesystems: only then does reserving pay.
pub fn worth_it(source: &Path, out: &File) -> bool {
    match (std::fs::metadata(source), out.metadata()) {
        (Ok(s), Ok(o)) => s.dev() != o.dev(),
        _ => false,
    }
}

/// What a planning tells the reservation of the new image's length so far: the reservation
/// keeps up with it, from the file's start.
pub struct Space<'a> {
    /// The bytes from the file's start the reservation is to reach.
    known: &'a AtomicU64,
    /// The reserving thread, woken when `known` passes another [`STEP`].
    reserver: &'a std::thread::Thread,
}

impl Space<'_> {
    /// `n` more bytes of data found (a file's, as a walk finds it): the image is at least
    /// that much longer.
    pub fn add(&self, n: u64) {
        let before = self.known.fetch_add(n, Ordering::Relaxed);
        self.woken(before, before + n);
    }

    /// The image holds bytes up to `end`, once it is laid out (where a file's data ends in
    /// it): the data found so far did not count its directories and the padding of its
    /// files.
    pub fn reach(&self, end: u64) {
        let before = self.known.fetch_max(end, Ordering::Relaxed);
        self.woken(before, end.max(before));
    }

    /// Wakes the reserving thread when the length went from `before` to `now` across a step.
    fn woken(&self, before: u64, now: u64) {
        if before / STEP != now / STEP {
            self.reserver.unpark();
        }
    }
}

/// Runs `planning`, which tells its argument of the image's length as it finds it ([`Space`]),
/// while a thread reserves that much of `out` from its start; returns what `planning` returns
/// once the reservation has stopped (`-v` says how much it reserved). `out` is the new file,
/// empty: nothing is reserved past the length told, which the image reaches (the writer gives
/// the file its length at the end in any case).
pub fn while_planning<T>(out: &File, planning: impl FnOnce(&Space) -> T) -> T {
    let known = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let reserver = s.spawn(|| reserve(out, &known, &done));
        let space = Space {
            known: &known,
            reserver: reserver.thread(),
        };
        let planned = planning(&space);
        done.store(true, Ordering::Relaxed);
        reserver.thread().unpark();
        if let Ok(n) = reserver.join() {
            crate::verbose::say(|| format!("{n} bytes of the new image reserved while planning"));
        }
        planned
    })
}

/// The reserving thread: allocates `out` up to `known` bytes, a [`STEP`] at a time, until
/// `done` (or until the host refuses); returns the bytes reserved.
fn reserve(out: &File, known: &AtomicU64, done: &AtomicBool) -> u64 {
    let mut reserved = 0u64;
    while !done.load(Ordering::Relaxed) {
        let ahead = known.load(Ordering::Relaxed).saturating_sub(reserved);
        if ahead < STEP {
            std::thread::park();
            continue;
        }
        if rustix::fs::fallocate(out, FallocateFlags::empty(), reserved, STEP).is_err() {
            break;
        }
        reserved += STEP;
    }
    reserved
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new file in a tmpfs (which allocates what is reserved), and the bytes it takes.
    fn tmpfs_file() -> (tempfile::NamedTempFile, File) {
        let temp = tempfile::NamedTempFile::new_in("/dev/shm").unwrap();
        let file = temp.reopen().unwrap();
        (temp, file)
    }

    fn used(file: &File) -> u64 {
        file.metadata().unwrap().blocks() * 512
    }

    #[test]
    fn what_the_planning_finds_is_reserved_in_whole_steps_and_no_more() {
        let (_keep, out) = tmpfs_file();
        let found = 5 * STEP / 2;
        let got = while_planning(&out, |space| {
            for _ in 0..found / 4096 {
                space.add(4096);
            }
            // The reservation keeps up before the planning ends.
            while used(&out) < 2 * STEP {
                std::thread::yield_now();
            }
            "planned"
        });
        assert_eq!(got, "planned");
        // Two whole steps: the half step left is the copy's to allocate.
        assert_eq!(used(&out), 2 * STEP);
        assert_eq!(out.metadata().unwrap().len(), 2 * STEP);
    }

    #[test]
    fn a_planning_that_finds_nothing_reserves_nothing() {
        let (_keep, out) = tmpfs_file();
        while_planning(&out, |space| space.add(STEP - 1));
        assert_eq!(used(&out), 0);
    }

    #[test]
    fn the_length_reached_once_laid_out_is_reserved_too() {
        let (_keep, out) = tmpfs_file();
        while_planning(&out, |space| {
            space.add(STEP);
            // Laid out: the data ends further on than the data found adds up to.
            space.reach(3 * STEP);
            space.reach(2 * STEP);
            while used(&out) < 3 * STEP {
                std::thread::yield_now();
            }
        });
        assert_eq!(used(&out), 3 * STEP);
    }

    #[test]
    fn only_data_from_another_filesystem_is_worth_reserving_for() {
        let (_keep, out) = tmpfs_file();
        let here = tempfile::tempdir().unwrap();
        let beside = tempfile::tempdir_in("/dev/shm").unwrap();
        assert!(worth_it(here.path(), &out));
        assert!(!worth_it(beside.path(), &out));
        assert!(!worth_it(Path::new("/nonexistent/dir"), &out));
    }
}
