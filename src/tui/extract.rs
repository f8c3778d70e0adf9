//! The `x` key: extracting the selection to a host directory as a job that runs in small steps,
//! so the pane keeps drawing its progress and Esc can stop it. The work is copy-out's
//! ([`crate::commands::extract`]): the same plan (the session walk, which skips names that
//! would leave the target and refuses loops), the same files, links and devices with their
//! owner, mode and times; the job only cuts it into steps and collects what went wrong, going
//! on past it as copy-out does (nothing inside a directory that could not be made is tried, a
//! file whose data fails is removed, and so is the file being copied when the job is stopped).
//! The selection's own name must not exist yet in the target: nothing there is overwritten.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::commands::extract::{
    finish_dir, finish_file, make_dir, make_other, start_file, FailedDirs, Plan, Planned,
};
use crate::data::FileCopy;
use crate::vfs::{walk, Node, Vfs};

use super::preview::human;

/// Scratch space for the bytes that are read and written.
const CHUNK: usize = 1 << 20;

/// A file being copied: its index in the plan, the copy and where it goes. Dropped before the
/// copy is finished (its data failed, or the job was stopped), it removes the part written.
struct Copying {
    index: usize,
    copy: FileCopy,
    dest: PathBuf,
}

impl Drop for Copying {
    fn drop(&mut self) {
        if !self.copy.finished() {
            // Nothing to tell if it fails: the job has said what stopped the copy.
            let _ = std::fs::remove_file(&self.dest);
        }
    }
}

/// An extraction in progress.
pub struct Job {
    /// `SOURCE → DEST`, for the status line.
    pub title: String,
    /// Where the selection lands on the host.
    pub target: PathBuf,
    plan: Plan,
    /// True when running as root: owners are given too.
    root: bool,
    /// The next step: directories made, files started, others made, directories finished.
    next: usize,
    copying: Option<Copying>,
    failed: FailedDirs,
    buf: Vec<u8>,
    pub files_done: u64,
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// What could not be extracted, one line each.
    pub problems: Vec<String>,
}

/// The `i`th step of `plan`, in the order copy-out takes them: directories made, files
/// started, others made, directories finished (deepest first).
fn nth_step(plan: &Plan, mut i: usize) -> Option<Step<'_>> {
    if i < plan.dirs.len() {
        return Some(Step::MakeDir(&plan.dirs[i]));
    }
    i -= plan.dirs.len();
    if i < plan.files.len() {
        return Some(Step::StartFile(i, &plan.files[i]));
    }
    i -= plan.files.len();
    if i < plan.others.len() {
        return Some(Step::MakeOther(&plan.others[i]));
    }
    i -= plan.others.len();
    plan.dirs.iter().rev().nth(i).map(Step::FinishDir)
}

/// One step of the plan.
enum Step<'a> {
    MakeDir(&'a Planned),
    StartFile(usize, &'a Planned),
    MakeOther(&'a Planned),
    FinishDir(&'a Planned),
}

impl Job {
    /// Plans the extraction of `node` (named `name` in its directory) into the host directory
    /// `dest`, which must exist.
    pub fn plan(vfs: &Vfs, node: &Node, name: &[u8], dest: &Path) -> anyhow::Result<Job> {
        if !dest.is_dir() {
            bail!("{}: not a directory on the host", dest.display());
        }
        if !walk::is_safe_name(name) {
            bail!(
                "{}: unsafe name, not extracted",
                String::from_utf8_lossy(name)
            );
        }
        let target = dest.join(std::ffi::OsStr::from_bytes(name));
        if target.symlink_metadata().is_ok() {
            bail!("{}: already exists", target.display());
        }
        let mut plan = Plan::default();
        plan.add(vfs, node, &target, false)?;
        let problems = std::mem::take(&mut plan.warnings);
        Ok(Job {
            title: format!("{} → {}", node.path, target.display()),
            target,
            files_total: plan.files.len() as u64,
            bytes_total: plan.bytes(),
            plan,
            root: rustix::process::geteuid().is_root(),
            next: 0,
            copying: None,
            failed: FailedDirs::default(),
            buf: vec![0; CHUNK],
            files_done: 0,
            bytes_done: 0,
            problems,
        })
    }

    /// True when everything has been done.
    pub fn finished(&self) -> bool {
        self.copying.is_none() && nth_step(&self.plan, self.next).is_none()
    }

    /// Works until about `budget` bytes were copied or the job is finished.
    pub fn step(&mut self, budget: u64) {
        let start = self.bytes_done;
        while self.bytes_done - start < budget {
            if self.copying.is_some() {
                self.copy_chunk(budget - (self.bytes_done - start));
                continue;
            }
            let Some(step) = nth_step(&self.plan, self.next) else {
                break;
            };
            self.next += 1;
            let (Step::MakeDir(planned)
            | Step::StartFile(_, planned)
            | Step::MakeOther(planned)
            | Step::FinishDir(planned)) = step;
            if self.failed.hold(&planned.dest) {
                continue;
            }
            let result = match step {
                Step::MakeDir(d) => make_dir(d).inspect_err(|_| self.failed.add(&d.dest)),
                Step::StartFile(index, p) => start_file(p).map(|copy| {
                    self.copying = Some(Copying {
                        index,
                        copy,
                        dest: p.dest.clone(),
                    })
                }),
                Step::MakeOther(p) => make_other(p, self.root).map(|skipped| {
                    self.problems.extend(skipped);
                }),
                Step::FinishDir(d) => finish_dir(d, self.root),
            };
            if let Err(e) = result {
                self.problems.push(format!("{e:#}"));
            }
        }
    }

    /// Copies up to `budget` bytes of the current file; finishes it at its end.
    fn copy_chunk(&mut self, budget: u64) {
        let Some(c) = self.copying.as_mut() else {
            return;
        };
        let planned = &self.plan.files[c.index];
        let result = match c.copy.step(budget, &mut self.buf, &|_| {}) {
            Ok(n) => {
                self.bytes_done += n;
                if !c.copy.finished() {
                    return;
                }
                self.files_done += 1;
                finish_file(c.copy.file(), &planned.dest, &planned.meta, self.root)
            }
            Err(e) => Err(e.context(planned.dest.display().to_string())),
        };
        if let Err(e) = result {
            self.problems.push(format!("{e:#}"));
        }
        self.copying = None;
    }

    /// `3/12 files, 4.0 MiB of 10.0 MiB (40%)`.
    pub fn progress(&self) -> String {
        let percent = (self.bytes_done * 100)
            .checked_div(self.bytes_total)
            .unwrap_or(100);
        format!(
            "{}/{} files, {} of {} ({percent}%)",
            self.files_done,
            self.files_total,
            human(self.bytes_done),
            human(self.bytes_total)
        )
    }

    /// `extracted 12 files (10.0 MiB) to DEST`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "extracted {} ({}) to {}",
            count(self.files_done, "file", "files"),
            human(self.bytes_done),
            self.target.display()
        );
        if !self.problems.is_empty() {
            s.push_str(&format!(
                ", {}",
                count(self.problems.len() as u64, "problem", "problems")
            ));
        }
        s
    }
}

/// `1 file`, `2 files`: `n` and the noun that agrees with it.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::{count, Job};

    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(count(0, "file", "files"), "0 files");
        assert_eq!(count(1, "file", "files"), "1 file");
        assert_eq!(count(2, "entry", "entries"), "2 entries");
    }
    use crate::vfs::walk::tests::hostile_vfs;

    /// The job makes what copy-out makes (only plain names, a loop entered once), a byte at a
    /// time when asked to, lists what it skipped among its problems (the pane owns the
    /// terminal: nothing goes to stderr), and refuses to extract over what exists.
    #[test]
    fn extracts_in_steps_what_copy_out_makes() {
        let vfs = hostile_vfs();
        let root = vfs.root().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let mut job = Job::plan(&vfs, &root, b"x", dest.path()).unwrap();
        assert_eq!((job.files_total, job.bytes_total), (2, 6));
        let mut steps = 0;
        while !job.finished() {
            let before = job.bytes_done;
            job.step(1);
            assert!(job.bytes_done - before <= 1);
            steps += 1;
        }
        assert!(steps >= 6, "{steps} steps");
        let skipped = |what: &str| job.problems.iter().filter(|p| p.contains(what)).count();
        assert_eq!(skipped("is not a plain file name"), 3, "{:?}", job.problems);
        assert_eq!(skipped("appears twice"), 1, "{:?}", job.problems);
        assert_eq!(skipped("contains itself"), 1, "{:?}", job.problems);
        assert_eq!(job.problems.len(), 5, "{:?}", job.problems);
        assert_eq!((job.files_done, job.bytes_done), (2, 6));
        let x = dest.path().join("x");
        assert_eq!(std::fs::read(x.join("ok")).unwrap(), b"abc");
        assert_eq!(std::fs::read(x.join("loop/f")).unwrap(), b"abc");
        let mut names: Vec<_> = std::fs::read_dir(&x)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["loop", "ok"]);
        let again = Job::plan(&vfs, &root, b"x", dest.path()).err().unwrap();
        assert!(again.to_string().contains("already exists"), "{again}");
        assert!(Job::plan(&vfs, &root, b"..", dest.path()).is_err());
    }

    /// A job stopped in the middle of a file (Esc drops it) removes the part written.
    #[test]
    fn a_stopped_job_leaves_no_part_of_a_file() {
        let vfs = hostile_vfs();
        let root = vfs.root().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let mut job = Job::plan(&vfs, &root, b"x", dest.path()).unwrap();
        job.step(1);
        let partial = job.copying.as_ref().map(|c| c.dest.clone());
        let partial = partial.expect("a file being copied");
        assert_eq!(std::fs::read(&partial).unwrap(), b"a");
        drop(job);
        assert!(!partial.exists());
        assert!(dest.path().join("x").is_dir());
    }
}
