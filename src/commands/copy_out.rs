//! `copy-out`: copies files and trees out of the session into a host directory, as
//! [`super::extract`] plans and makes them, the regular files and links on two threads (which share
//! out the last batches). Everything that can be copied is: each failure is said on stderr
//! as it happens, and the command fails at the end (as GNU tar does).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::Mutex;

use anyhow::bail;
use indicatif::ProgressBar;

use super::extract::{copy_file, FailedDirs, Maker, Plan, Planned, Writer};
use super::format::escape_controls;
use super::sink::progress;
use super::{arg, many, ArgKind, Command, Ctx, XDEV};
use crate::error::lock_cache;
use crate::fs::FileKind;
use crate::vfs::{walk, Node};

pub const COMMANDS: &[Command] = &[Command {
    name: "copy-out",
    aliases: &[],
    args: &[
        many("PATH", ArgKind::Path),
        arg("HOSTDIR", ArgKind::HostPath),
    ],
    options: &[XDEV],
    run: copy_out,
}];

/// Files one thread takes at a time: at most this many, all in one host directory, so the
/// two copying threads create files in different directories and do not queue on one
/// directory's lock in the kernel.
const BATCH: usize = 256;

/// The failures of one `copy-out`: each said on stderr as it happens (above the progress bar),
/// counted for the error at the end.
struct Failures {
    bar: ProgressBar,
    /// Things that could not be made, each said.
    said: AtomicUsize,
    /// Entries left out because they lie inside a directory that could not be made.
    inside: AtomicUsize,
}

impl Failures {
    fn say(&self, e: &anyhow::Error) {
        if crate::cancel::requested() {
            // Ctrl-C: the run ends with `interrupted`, not with what it did to each file.
            return;
        }
        let text = format!("{e:#}");
        self.bar
            .suspend(|| eprintln!("isofish: error: {}", escape_controls(text.as_bytes())));
        self.said.fetch_add(1, Ordering::Relaxed);
    }

    /// True (and counted) when `dest` lies inside a directory that could not be made.
    fn left_out(&self, failed: &FailedDirs, dest: &Path) -> bool {
        let out = failed.hold(dest);
        if out {
            self.inside.fetch_add(1, Ordering::Relaxed);
        }
        out
    }

    /// The run's answer: an error, and exit status 1, when anything failed (as GNU tar).
    fn answer(self) -> anyhow::Result<()> {
        let (said, inside) = (self.said.into_inner(), self.inside.into_inner());
        if said == 0 {
            return Ok(());
        }
        let mut msg = format!(
            "not everything was copied: {}, said above",
            counted(said, "failure", "failures")
        );
        if inside > 0 {
            msg.push_str(&format!(
                "; {} inside the directories that could not be made left out",
                counted(inside, "entry", "entries")
            ));
        }
        bail!(msg)
    }
}

/// `1 entry`, `2 entries`.
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The copying threads.
const THREADS: usize = 2;

/// What each copying thread has not started yet of the batch it took: once no batch is
/// waiting, a thread out of work takes half of another's, so that both end together rather
/// than one copying the last directory alone.
type Slots = [Mutex<VecDeque<Planned>>; THREADS];

/// Copies the regular files (and makes the symlinks, devices and FIFOs) of the batches
/// `batches` gives (and of those taken from the other threads' `slots`), all that can be,
/// until none is left (copying thread `me`).
fn copy_batches(
    batches: &Mutex<Receiver<Vec<Planned>>>,
    slots: &Slots,
    me: usize,
    maker: Maker,
    failures: &Failures,
) {
    let mut buf = vec![0u8; 1 << 20];
    let mut writer = Writer::default();
    loop {
        let next = lock_cache(&slots[me]).pop_front();
        let Some(p) = next else {
            match next_batch(batches, slots, me) {
                Some(batch) => *lock_cache(&slots[me]) = batch,
                None => return,
            }
            continue;
        };
        if crate::cancel::requested() {
            return;
        }
        if p.meta.kind != FileKind::File {
            said(writer.make_other(&p, &maker), failures);
            continue;
        }
        let done = |n| failures.bar.inc(n);
        if let Err(e) = copy_file(&p, &maker, &mut writer, &mut buf, &done) {
            failures.say(&e);
        }
    }
}

/// The next files for copying thread `me`: a batch the walk handed out, else half of what
/// another thread has not started of its own (waiting for the walk when there is neither);
/// `None` once the walk has ended and nothing is left to take.
fn next_batch(
    batches: &Mutex<Receiver<Vec<Planned>>>,
    slots: &Slots,
    me: usize,
) -> Option<VecDeque<Planned>> {
    let waiting = lock_cache(batches).try_recv();
    match waiting {
        Ok(batch) => return Some(batch.into()),
        Err(TryRecvError::Disconnected) => return take_half(slots, me),
        Err(TryRecvError::Empty) => {}
    }
    if let Some(taken) = take_half(slots, me) {
        return Some(taken);
    }
    let waited = lock_cache(batches).recv();
    match waited {
        Ok(batch) => Some(batch.into()),
        Err(_) => take_half(slots, me),
    }
}

/// The later half of the files another thread than `me` has not started (none when it has
/// fewer than two left).
fn take_half(slots: &Slots, me: usize) -> Option<VecDeque<Planned>> {
    slots.iter().enumerate().find_map(|(i, slot)| {
        if i == me {
            return None;
        }
        let mut other = lock_cache(slot);
        let (left, half) = (other.len(), other.len() / 2);
        (half > 0).then(|| other.split_off(left - half))
    })
}

/// Says what the making of a hard link, symlink, device node or FIFO skipped or failed at.
fn said(made: anyhow::Result<Option<String>>, failures: &Failures) {
    match made {
        Ok(Some(warning)) => eprintln!("isofish: warning: {}", escape_controls(warning.as_bytes())),
        Ok(None) => {}
        Err(e) => failures.say(&e),
    }
}

/// Where the copy of the session's `path` into `hostdir` goes: the node and the host path.
fn target(ctx: &Ctx, path: &str, hostdir: &Path) -> anyhow::Result<(Node, PathBuf)> {
    let node = ctx.session.resolve(path)?;
    // Named as the user named it (a symlink's name, not its target's), unless that name
    // is `.` or `..`: then as the directory it resolved to.
    let typed = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let name = if walk::is_safe_name(typed.as_bytes()) {
        typed
    } else {
        node.path.rsplit('/').next().unwrap_or_default()
    };
    let base = if name.is_empty() {
        hostdir.to_path_buf()
    } else if walk::is_safe_name(name.as_bytes()) {
        hostdir.join(name)
    } else {
        bail!("{path}: cannot be copied out under the name {name:?}");
    };
    Ok((node, base))
}

/// What the walk of a `copy-out` keeps while it makes the directories and hands out files.
struct Walking {
    maker: Maker,
    failed: FailedDirs,
    /// For each planned directory, whether it was made here (not already there).
    made: Vec<bool>,
    /// Files of one host directory not yet handed out.
    batch: Vec<Planned>,
}

/// Copies everything that can be: what cannot be made is said and the rest goes on; the
/// answer is an error when anything failed.
fn copy_out(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    // Trailing `key:value` words are options; the host directory comes before them.
    let opts = super::parse("copy-out", args)?;
    let positional = opts.args.len();
    let xdev = opts.flag("xdev");
    let (paths, hostdir) = args[..positional].split_at(positional - 1);
    let hostdir = Path::new(&hostdir[0]);
    if !hostdir.is_dir() {
        bail!("{}: not a directory on the host", hostdir.display());
    }
    let mut maker = Maker::now();
    maker.look_at(hostdir);
    let failures = Failures {
        bar: progress(Some(0)),
        said: AtomicUsize::new(0),
        inside: AtomicUsize::new(0),
    };
    // From one PATH every name is made once, in any order: the symlinks, devices and FIFOs
    // are made with the files, on the copying threads.
    let mut plan = Plan {
        eager: paths.len() == 1,
        ..Plan::default()
    };
    let walking = RefCell::new(Walking {
        maker,
        failed: FailedDirs::default(),
        made: Vec::new(),
        batch: Vec::new(),
    });
    // The walk makes each directory as it finds it and hands the files out in batches to
    // two copying threads, which start at once.
    let (tx, rx) = mpsc::channel::<Vec<Planned>>();
    let rx = Mutex::new(rx);
    let slots: Slots = Default::default();
    std::thread::scope(|scope| {
        for me in 0..THREADS {
            let (rx, slots, failures) = (&rx, &slots, &failures);
            scope.spawn(move || copy_batches(rx, slots, me, maker, failures));
        }
        let dir = &mut |d: &Planned| {
            let w = &mut *walking.borrow_mut();
            let made = if failures.left_out(&w.failed, &d.dest) {
                false
            } else {
                w.maker.make_dir(d).unwrap_or_else(|e| {
                    failures.say(&e);
                    w.failed.add(&d.dest);
                    false
                })
            };
            w.made.push(made);
        };
        let file = &mut |p: Planned| {
            let w = &mut *walking.borrow_mut();
            if failures.left_out(&w.failed, &p.dest) {
                return;
            }
            if p.meta.kind == FileKind::File {
                failures.bar.inc_length(p.meta.size);
            }
            let cut = w.batch.len() == BATCH
                || w.batch
                    .last()
                    .is_some_and(|q| q.dest.parent() != p.dest.parent());
            if cut {
                // The threads end only once this sender is dropped.
                let _ = tx.send(std::mem::take(&mut w.batch));
            }
            w.batch.push(p);
        };
        for path in paths {
            let planned = target(ctx, path, hostdir).and_then(|(node, base)| {
                // A tree's top already there is made things in without being planned.
                walking.borrow_mut().maker.look_at(&base);
                plan.add_with(&ctx.session.vfs, &node, &base, xdev, dir, file)
            });
            if let Err(e) = planned {
                failures.say(&e);
            }
            for w in plan.warnings.drain(..) {
                eprintln!("isofish: warning: {}", escape_controls(w.as_bytes()));
            }
        }
        let last = std::mem::take(&mut walking.borrow_mut().batch);
        let _ = tx.send(last);
        drop(tx);
    });
    failures.bar.finish_and_clear();
    let Walking {
        maker,
        failed,
        made,
        ..
    } = walking.into_inner();
    // Ctrl-C: what was copied stays (as with cp), the file being written is gone.
    crate::cancel::check()?;
    let others: Vec<&Planned> = (plan.others.iter())
        .filter(|p| !failures.left_out(&failed, &p.dest))
        .collect();
    // The hard links (and from several PATHs, the symlinks, devices and FIFOs) once every
    // file is there. From one PATH on the copying threads' number of threads, each a run of
    // them (mostly in one directory); from several, in the planned order: a later PATH's
    // entry replaces an earlier one of the same name.
    let runs = if paths.len() == 1 { THREADS } else { 1 };
    in_runs(&others, runs, |p| said(maker.make_other(p), &failures));
    // Directories last, deepest first, so their times survive the writes inside them and
    // read-only ones were writable while they were filled.
    for (d, made) in plan.dirs.iter().zip(made).rev() {
        if failed.hold(&d.dest) {
            continue;
        }
        if let Err(e) = maker.finish_dir(d, made) {
            failures.say(&e);
        }
    }
    failures.answer()
}

/// Does `each` of `items` in order, split in `runs` runs of consecutive items, each on a
/// thread of its own.
fn in_runs<T: Sync>(items: &[T], runs: usize, each: impl Fn(&T) + Sync) {
    let run = items.len().div_ceil(runs).max(1);
    std::thread::scope(|scope| {
        for part in items.chunks(run) {
            let each = &each;
            scope.spawn(move || part.iter().for_each(each));
        }
    });
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::path::PathBuf;
    use std::sync::{mpsc, Mutex};

    use super::{next_batch, Slots};
    use crate::commands::extract::Planned;
    use crate::commands::{run, Ctx};
    use crate::fs::FileKind;
    use crate::session::Session;

    /// Files planned as `names`.
    fn planned(names: &[&str]) -> VecDeque<Planned> {
        let file = |n: &&str| Planned {
            dest: PathBuf::from(n),
            meta: crate::overlay::fresh(FileKind::File, 0o644),
            file: None,
            link_to: None,
        };
        names.iter().map(file).collect()
    }

    fn names(files: Option<VecDeque<Planned>>) -> Vec<String> {
        let files = files.unwrap_or_default();
        files.iter().map(|p| p.dest.display().to_string()).collect()
    }

    /// A thread out of work takes a batch the walk handed out first, then (the walk over) the
    /// later half of what the other has not started, until one file is left to it.
    #[test]
    fn a_thread_out_of_work_takes_half_of_the_others_batch_once_none_waits() {
        let (tx, rx) = mpsc::channel();
        let rx = Mutex::new(rx);
        let slots: Slots = Default::default();
        *slots[1].lock().unwrap() = planned(&["a", "b", "c", "d", "e"]);
        tx.send(planned(&["x"]).into()).unwrap();
        assert_eq!(names(next_batch(&rx, &slots, 0)), ["x"]);
        drop(tx);
        assert_eq!(names(next_batch(&rx, &slots, 0)), ["d", "e"]);
        assert_eq!(names(next_batch(&rx, &slots, 0)), ["c"]);
        assert_eq!(names(next_batch(&rx, &slots, 0)), ["b"]);
        assert_eq!(names(next_batch(&rx, &slots, 0)), Vec::<String>::new());
        assert_eq!(
            names(Some(std::mem::take(&mut *slots[1].lock().unwrap()))),
            ["a"]
        );
        // The other way round, from an empty slot: nothing.
        assert_eq!(names(next_batch(&rx, &slots, 1)), Vec::<String>::new());
    }

    /// `copy-out` of a tree with `..`, `a/b` and empty names, a repeated name and a directory
    /// that contains itself writes only below the target, and only the plain names.
    #[test]
    fn copy_out_stays_inside_the_target() {
        let mut session = Session::new(true);
        session.vfs = crate::vfs::walk::tests::hostile_vfs();
        let outer = tempfile::tempdir().unwrap();
        let target = outer.path().join("target");
        std::fs::create_dir(&target).unwrap();
        let mut out = Vec::new();
        let mut ctx = Ctx {
            session: &mut session,
            out: &mut out,
            out_fd: None,
            tty: false,
        };
        let args = ["/".to_string(), target.to_str().unwrap().to_string()];
        run(&mut ctx, "copy-out", &args).unwrap();
        let names = |d: &std::path::Path| {
            let mut v: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(outer.path()), ["target"]);
        assert_eq!(names(&target), ["loop", "ok"]);
        assert_eq!(names(&target.join("loop")), ["again", "f"]);
        assert_eq!(std::fs::read(target.join("ok")).unwrap(), b"abc");
    }
}
