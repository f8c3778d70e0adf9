//! File data copied into a new image's file before its plan is finished ([`while_planning`]).
//! A writer that knows where its files' data goes before it has encoded the rest (the ISO
//! 9660 writer, once its layout is made: the directories, path tables and the rest are encoded
//! after) tells of each range of a host file and its place in the image, and a thread copies
//! it there meanwhile, on the core the planning leaves idle. The copy stops when the plan is
//! made (a piece under way ends first); what it did is [`Ahead`], which
//! [`super::to_file::write_over`] takes: it skips the pieces of the plan copied ahead exactly
//! as the plan has them (the same bytes of the same source at the same place), and clears
//! first any piece copied ahead that the plan does not have: the file then holds the plan's
//! bytes, whatever was copied ahead.
//!
//! A piece that cannot be copied ahead (a file unreadable, changed, gone) is left to the
//! write, which meets the same condition and reports it, in the image's order.

use std::collections::HashMap;
use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use super::to_file::{pieces, reopen, BUF};
use crate::data::layout::Slice;
use crate::data::to_file::{copy_slice, Route};
use crate::data::Span;
use crate::source::Source;

/// A piece of a host file's range in the new file: where it starts there, its source (by
/// address), where it starts in the source, its length.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(super) struct Piece {
    pub(super) pos: u64,
    pub(super) source: usize,
    pub(super) offset: u64,
    pub(super) len: u64,
}

impl Piece {
    /// The piece of `span` (a range of a source) from `within` bytes into it, `len` bytes,
    /// at `pos` in the new file.
    pub(super) fn of(span: &Span, within: u64, len: u64, pos: u64) -> Option<Piece> {
        match span {
            Span::Source { source, offset, .. } => Some(Piece {
                pos,
                source: Arc::as_ptr(source) as *const () as usize,
                offset: offset + within,
                len,
            }),
            _ => None,
        }
    }
}

/// The pieces copied ahead, each with its source (held, so that no other source takes its
/// address while the pieces are compared).
#[derive(Default)]
pub struct Ahead {
    pub(super) pieces: HashMap<Piece, Arc<dyn Source>>,
}

impl Ahead {
    /// Nothing copied ahead.
    pub fn none() -> Ahead {
        Ahead::default()
    }

    /// The bytes copied ahead.
    pub fn bytes(&self) -> u64 {
        self.pieces.keys().map(|p| p.len).sum()
    }
}

/// Runs `planning`, which calls its argument with each range of a host file it has placed
/// (the byte of the image it starts at, and the range), while a thread copies these into
/// `out`, the new file. Returns what `planning` returns and what was copied once the copy has
/// stopped (`-v` says how much).
pub fn while_planning<T>(
    out: &File,
    planning: impl FnOnce(&(dyn Fn(u64, Span) + Sync)) -> T,
) -> (T, Ahead) {
    let (tx, rx) = mpsc::channel();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let copier = s.spawn(|| copy(out, rx, &stop));
        let place = |pos: u64, span: Span| {
            // A copier that stopped early (no second description of `out`) leaves it all to
            // the write.
            let _ = tx.send((pos, span));
        };
        let planned = planning(&place);
        stop.store(true, Ordering::Relaxed);
        drop(tx);
        let ahead = copier
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        crate::verbose::say(|| {
            format!(
                "{} bytes of data copied into the new image while it was planned",
                ahead.bytes()
            )
        });
        (planned, ahead)
    })
}

/// The copying thread: each range told of, piece by piece, through a description of `out` of
/// its own (its own offset, for `sendfile`), until `stop`.
fn copy(out: &File, ranges: mpsc::Receiver<(u64, Span)>, stop: &AtomicBool) -> Ahead {
    let mut ahead = Ahead::none();
    let Some(file) = reopen(out) else {
        return ahead;
    };
    let (mut route, mut cursor) = (Route::CopyRange, 0u64);
    let mut buf = vec![0u8; BUF];
    for (pos, span) in ranges {
        let Span::Source { source, .. } = &span else {
            continue;
        };
        for (within, len) in pieces(span.len()) {
            if stop.load(Ordering::Relaxed) {
                return ahead;
            }
            let slice = Slice {
                span: &span,
                within,
                len,
            };
            let how = (&mut route, Some(&mut cursor));
            if copy_slice(&slice, pos + within, &file, how, &mut buf, &|_| {}).is_err() {
                break;
            }
            if let Some(piece) = Piece::of(&span, within, len, pos + within) {
                ahead.pieces.insert(piece, source.clone());
            }
        }
    }
    ahead
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileExt;

    use super::*;
    use crate::data::tests::host_source;
    use crate::plan::to_file::write_over;
    use crate::plan::Plan;

    /// The bytes of `file`, `len` of them from its start.
    fn head(file: &File, len: usize) -> Vec<u8> {
        let mut got = vec![0u8; len];
        let n = file.read_at(&mut got, 0).unwrap();
        got.truncate(n);
        got
    }

    /// Waits until `file` holds `want` at `pos` (the copier has done it).
    fn copied(file: &File, pos: usize, want: &[u8]) {
        while head(file, pos + want.len()).get(pos..) != Some(want) {
            std::thread::yield_now();
        }
    }

    /// A range copied ahead where the plan has it is not copied again (a byte changed in it
    /// after the copy stays changed), one the plan does not have is cleared, and the rest of
    /// the plan is written: the file holds the plan's bytes.
    #[test]
    fn the_write_skips_what_was_copied_ahead_and_clears_what_the_plan_does_not_have() {
        let (_keep, host) = host_source(10_000);
        let mut plan = Plan::new();
        plan.push_bytes(vec![7; 4096]);
        let kept = Span::source(&host, 100, 5000);
        plan.push(kept.clone());
        plan.push(Span::Zeros(20_000));
        plan.push(Span::source(&host, 0, 3000));
        let want: Vec<u8> = [
            vec![7; 4096],
            (100..5100).map(|i| i as u8).collect(),
            vec![0; 20_000],
            (0..3000).map(|i| i as u8).collect(),
        ]
        .concat();
        let dir = tempfile::tempdir_in("/dev/shm").unwrap();
        let out = File::create_new(dir.path().join("new.iso")).unwrap();
        let stale = Span::source(&host, 0, 8000);
        let (_, ahead) = while_planning(&out, |place| {
            place(4096, kept.clone());
            place(12_000, stale.clone());
            copied(&out, 4096, &want[4096..9096]);
            let stale_bytes: Vec<u8> = (0..8000).map(|i| i as u8).collect();
            copied(&out, 12_000, &stale_bytes);
        });
        assert_eq!(ahead.bytes(), 13_000);
        out.write_all_at(b"changed", 5000).unwrap();
        let mut edited = want.clone();
        edited[5000..5007].copy_from_slice(b"changed");
        write_over(&plan, &out, &ahead, &|_| {}).unwrap();
        assert!(head(&out, want.len() + 1) == edited);
    }

    /// A file changed since it was staged is not copied ahead: the write meets the change
    /// and says it, naming the file.
    #[test]
    fn a_file_that_cannot_be_copied_ahead_is_left_to_the_write_which_fails() {
        use crate::source::host_path::HostPathSource;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        std::fs::write(&path, vec![3u8; 5000]).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let name = "tree/data.bin".to_string();
        let host: Arc<dyn Source> =
            Arc::new(HostPathSource::walked(path.clone(), name, &meta).unwrap());
        std::fs::write(&path, vec![4u8; 6000]).unwrap();
        let mut plan = Plan::new();
        let span = Span::source(&host, 0, 5000);
        plan.push(span.clone());
        let out = File::create_new(dir.path().join("new.iso")).unwrap();
        let (_, ahead) = while_planning(&out, |place| place(0, span.clone()));
        assert_eq!(ahead.bytes(), 0);
        let msg = format!(
            "{:#}",
            write_over(&plan, &out, &ahead, &|_| {}).unwrap_err()
        );
        assert!(
            msg.contains("tree/data.bin") && msg.contains("changed"),
            "{msg}"
        );
    }

    /// Nothing placed, nothing copied: the write writes the whole plan.
    #[test]
    fn a_planning_that_places_nothing_copies_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = File::create_new(dir.path().join("new.iso")).unwrap();
        let (planned, ahead) = while_planning(&out, |_| "planned");
        assert_eq!((planned, ahead.bytes()), ("planned", 0));
        assert_eq!(out.metadata().unwrap().len(), 0);
    }
}
