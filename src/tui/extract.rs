//! The `x` key: extracting the selection to a host directory as a job that runs in small steps,
//! so the pane keeps drawing its progress and Esc can stop it. Names from the image never
//! leave the target directory: a name that is empty, `.`, `..` or holds a `/` is skipped, and
//! every file is created new (`O_EXCL`), so nothing existing is overwritten or followed.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{bail, Context};

use crate::fs::FileKind;
use crate::vfs::{Node, Target, Vfs};

use super::preview::human;

/// Directories deeper than this are not entered (a corrupt image can make a directory its own
/// descendant).
const MAX_DEPTH: usize = 256;
/// Bytes copied per read.
const CHUNK: usize = 1 << 20;

/// One thing to create on the host.
enum Step {
    Dir(PathBuf),
    File { node: Node, host: PathBuf },
    Symlink { target: Vec<u8>, host: PathBuf },
}

/// A file being copied.
struct Copying {
    node: Node,
    host: PathBuf,
    file: File,
    offset: u64,
}

/// An extraction in progress.
pub struct Job {
    /// `SOURCE → DEST`, for the status line.
    pub title: String,
    /// Where the selection lands on the host.
    pub target: PathBuf,
    steps: Vec<Step>,
    next: usize,
    copying: Option<Copying>,
    buf: Vec<u8>,
    pub files_done: u64,
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// What could not be extracted, one line each.
    pub problems: Vec<String>,
}

/// True for a name that stays inside the directory it is joined to.
fn safe_name(name: &[u8]) -> bool {
    !name.is_empty() && name != b"." && name != b".." && !name.contains(&b'/') && !name.contains(&0)
}

fn host_name(name: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(name))
}

impl Job {
    /// Plans the extraction of `node` (named `name` in its directory) into the host directory
    /// `dest`, which must exist.
    pub fn plan(vfs: &Vfs, node: &Node, name: &[u8], dest: &Path) -> anyhow::Result<Job> {
        if !dest.is_dir() {
            bail!("{}: not a directory on the host", dest.display());
        }
        if !safe_name(name) {
            bail!(
                "{}: unsafe name, not extracted",
                String::from_utf8_lossy(name)
            );
        }
        let target = dest.join(host_name(name));
        if target.symlink_metadata().is_ok() {
            bail!("{}: already exists", target.display());
        }
        let mut job = Job {
            title: format!("{} → {}", node.path, target.display()),
            target: target.clone(),
            steps: Vec::new(),
            next: 0,
            copying: None,
            buf: Vec::new(),
            files_done: 0,
            files_total: 0,
            bytes_done: 0,
            bytes_total: 0,
            problems: Vec::new(),
        };
        job.walk(vfs, node, target, 0);
        Ok(job)
    }

    fn walk(&mut self, vfs: &Vfs, node: &Node, host: PathBuf, depth: usize) {
        let meta = node.meta();
        match meta.kind {
            FileKind::Dir => {
                if depth > MAX_DEPTH {
                    self.problems
                        .push(format!("{}: nested too deep, not entered", node.path));
                    return;
                }
                self.steps.push(Step::Dir(host.clone()));
                match vfs.read_dir(node) {
                    Ok(entries) => {
                        for (name, child) in entries {
                            if safe_name(&name) {
                                self.walk(vfs, &child, host.join(host_name(&name)), depth + 1);
                            } else {
                                self.problems.push(format!(
                                    "{}: unsafe name {:?} skipped",
                                    node.path,
                                    String::from_utf8_lossy(&name)
                                ));
                            }
                        }
                    }
                    Err(e) => self.problems.push(e.to_string()),
                }
            }
            FileKind::File => {
                self.files_total += 1;
                self.bytes_total += meta.size;
                self.steps.push(Step::File {
                    node: node.clone(),
                    host,
                });
            }
            FileKind::Symlink => self.steps.push(Step::Symlink {
                target: meta.symlink.unwrap_or_default(),
                host,
            }),
            _ => self
                .problems
                .push(format!("{}: device or special file skipped", node.path)),
        }
    }

    /// True when everything has been done.
    pub fn finished(&self) -> bool {
        self.copying.is_none() && self.next >= self.steps.len()
    }

    /// Works until about `budget` bytes were copied or the job is finished.
    pub fn step(&mut self, budget: u64) {
        let start = self.bytes_done;
        while !self.finished() && self.bytes_done - start < budget {
            if self.copying.is_some() {
                self.copy_chunk();
                continue;
            }
            let step = &self.steps[self.next];
            self.next += 1;
            let result = match step {
                Step::Dir(host) => fs::create_dir(host)
                    .with_context(|| format!("{}: cannot create", host.display())),
                Step::Symlink { target, host } => {
                    std::os::unix::fs::symlink(host_name(target), host)
                        .with_context(|| format!("{}: cannot create", host.display()))
                }
                Step::File { node, host } => OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(host)
                    .with_context(|| format!("{}: cannot create", host.display()))
                    .map(|file| {
                        self.copying = Some(Copying {
                            node: node.clone(),
                            host: host.clone(),
                            file,
                            offset: 0,
                        })
                    }),
            };
            if let Err(e) = result {
                self.problems.push(format!("{e:#}"));
            }
        }
    }

    /// Copies one chunk of the current file; closes it at its end.
    fn copy_chunk(&mut self) {
        let Some(c) = self.copying.as_mut() else {
            return;
        };
        let Target::Fs { fs, ino, meta } = &c.node.target else {
            self.copying = None;
            return;
        };
        self.buf.resize(CHUNK, 0);
        let result = fs
            .read_at(*ino, c.offset, &mut self.buf)
            .map_err(anyhow::Error::from)
            .and_then(|n| {
                c.file
                    .write_all(&self.buf[..n])
                    .with_context(|| format!("{}: cannot write", c.host.display()))?;
                Ok(n)
            });
        match result {
            Ok(0) => {
                let mtime = UNIX_EPOCH + Duration::from_secs(meta.mtime.secs.max(0) as u64);
                let perms = std::os::unix::fs::PermissionsExt::from_mode(meta.mode & 0o777);
                if let Err(e) = c
                    .file
                    .set_permissions(perms)
                    .and_then(|()| c.file.set_modified(mtime))
                {
                    self.problems.push(format!("{}: {e}", c.host.display()));
                }
                self.files_done += 1;
                self.copying = None;
            }
            Ok(n) => {
                c.offset += n as u64;
                self.bytes_done += n as u64;
            }
            Err(e) => {
                self.problems.push(format!("{}: {e:#}", c.node.path));
                self.files_done += 1;
                self.copying = None;
            }
        }
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
            "extracted {} files ({}) to {}",
            self.files_done,
            human(self.bytes_done),
            self.target.display()
        );
        if !self.problems.is_empty() {
            s.push_str(&format!(", {} problems", self.problems.len()));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::safe_name;

    #[test]
    fn names_that_would_escape_are_unsafe() {
        for bad in [&b""[..], b".", b"..", b"a/b", b"/etc", b"a\0b"] {
            assert!(!safe_name(bad), "{bad:?}");
        }
        assert!(safe_name(b"..."));
        assert!(safe_name(b"a b"));
    }
}
