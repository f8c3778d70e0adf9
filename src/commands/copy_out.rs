//! `copy-out`: copies files and trees out of the session into a host directory, as
//! [`super::extract`] plans and makes them, the regular files on two threads. Everything that
//! can be copied is: each failure is said on stderr as it happens, and the command fails at the
//! end (as GNU tar does).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::bail;
use indicatif::ProgressBar;

use super::extract::{copy_file, FailedDirs, Maker, Plan, Planned, Writer};
use super::format::escape_controls;
use super::sink::progress;
use super::{arg, many, ArgKind, Command, Ctx, XDEV};
use crate::vfs::walk;

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

/// Files one thread takes at a time: at most this many, all in one host directory.
const BATCH: usize = 256;

/// The plan's files cut into batches of consecutive files that share a host directory, so the
/// two copying threads create files in different directories and do not queue on one
/// directory's lock in the kernel.
fn batches(files: &[Planned]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=files.len() {
        let cut = i == files.len()
            || i - start == BATCH
            || files[i].dest.parent() != files[start].dest.parent();
        if cut {
            out.push(start..i);
            start = i;
        }
    }
    out
}

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

/// Copies the regular files of the plan on two threads, all that can be.
fn copy_files(files: &[Planned], failed: &FailedDirs, maker: &Maker, failures: &Failures) {
    let batches = batches(files);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let mut buf = vec![0u8; 1 << 20];
                let mut writer = Writer::default();
                while let Some(batch) = batches.get(next.fetch_add(1, Ordering::Relaxed)) {
                    for p in &files[batch.clone()] {
                        if crate::cancel::requested() {
                            return;
                        }
                        if failures.left_out(failed, &p.dest) {
                            continue;
                        }
                        let done = |n| failures.bar.inc(n);
                        if let Err(e) = copy_file(p, maker, &mut writer, &mut buf, &done) {
                            failures.say(&e);
                        }
                    }
                }
            });
        }
    });
}

/// Adds the copy of the session's `path` into `hostdir` to `plan`.
fn plan_path(
    ctx: &Ctx,
    plan: &mut Plan,
    maker: &mut Maker,
    path: &str,
    hostdir: &Path,
    xdev: bool,
) -> anyhow::Result<()> {
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
    // A tree's top already there is made things in without being planned.
    maker.look_at(&base);
    plan.add(&ctx.session.vfs, &node, &base, xdev)
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
    let mut failures = Failures {
        bar: ProgressBar::hidden(),
        said: AtomicUsize::new(0),
        inside: AtomicUsize::new(0),
    };
    let mut plan = Plan::default();
    for path in paths {
        if let Err(e) = plan_path(ctx, &mut plan, &mut maker, path, hostdir, xdev) {
            failures.say(&e);
        }
        for w in plan.warnings.drain(..) {
            eprintln!("isofish: warning: {}", escape_controls(w.as_bytes()));
        }
    }
    crate::cancel::check()?;
    let mut failed = FailedDirs::default();
    // Which directories were made here (not already there).
    let mut made = vec![false; plan.dirs.len()];
    for (d, made) in plan.dirs.iter().zip(&mut made) {
        if failures.left_out(&failed, &d.dest) {
            continue;
        }
        match maker.make_dir(d) {
            Ok(m) => *made = m,
            Err(e) => {
                failures.say(&e);
                failed.add(&d.dest);
            }
        }
    }
    failures.bar = progress(Some(plan.bytes()));
    copy_files(&plan.files, &failed, &maker, &failures);
    failures.bar.finish_and_clear();
    // Ctrl-C: what was copied stays (as with cp), the file being written is gone.
    crate::cancel::check()?;
    for p in &plan.others {
        if failures.left_out(&failed, &p.dest) {
            continue;
        }
        match maker.make_other(p) {
            Ok(Some(warning)) => {
                eprintln!("isofish: warning: {}", escape_controls(warning.as_bytes()))
            }
            Ok(None) => {}
            Err(e) => failures.say(&e),
        }
    }
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

#[cfg(test)]
mod tests {
    use crate::commands::{run, Ctx};
    use crate::session::Session;

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
