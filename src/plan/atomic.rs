//! The atomic file target of a commit ([`Target`]): a [`Plan`] replaces a host file (or
//! becomes a new one) all at once or not at all. The new image is written into a temporary
//! file beside the target, `.NAME.isofish-PID.tmp`, which is fsynced, given the replaced
//! file's permission bits (and owner, where the host allows), renamed over the target, and the
//! directory fsynced. Until the rename the target is untouched, so the original may also be
//! the source the plan reads from. On any failure the temporary file is removed and the error
//! names the target and what failed: no space (`ENOSPC`, `EDQUOT`, `EFBIG` from a file-size
//! limit) is [`Error::NoSpace`], a read-only or forbidden directory (`EROFS`, `EACCES`,
//! `EPERM`) [`Error::ReadOnly`], a missing directory [`Error::NotFound`] naming it. A process
//! that died mid-commit leaves its temporary file behind; the next commit to the same target
//! removes it when the process whose id it carries is gone (never a live process's).
//!
//! A symbolic link as the target is followed: the file it points to is replaced. A target
//! that is not a regular file (a device) is refused: a rename cannot replace it. As with any
//! rename-based save, other hard links to the replaced file keep the old image.
//!
//! [`catch_file_size_signal`] (called once by the binary) turns a file-size limit (`ulimit
//! -f`) into an ordinary `EFBIG` error instead of death by `SIGXFSZ`.
//!
//! For tests, debug builds only: with `ISOFISH_DEBUG_COMMIT_STALL=N` in the environment, a
//! commit stops once at least `N` bytes of the new image are done in the temporary file (holes
//! included; each copying thread at the end of the piece it is writing), before any fsync or
//! rename, and sleeps for ever, so that a test can kill it mid-commit at a known point.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rustix::io::Errno;
use rustix::process::Pid;

use super::ahead::Ahead;
use super::Plan;
use crate::data::Span;
use crate::error::{lock_cache, Error};

/// The temporary files this process is writing now: a stale-looking one with this process's
/// id is still kept when it is one of these (another thread's commit).
static IN_USE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The most bytes of the target's name kept in the temporary file's name (which must stay
/// under the host's 255-byte limit on a name).
const NAME_KEPT: usize = 200;

/// Makes a file-size limit (`RLIMIT_FSIZE`, `ulimit -f`) an `EFBIG` error of the write that
/// passes it, instead of the default death by `SIGXFSZ`. A handler is installed rather than
/// the signal ignored, so host commands started from the shell get the default back.
pub fn catch_file_size_signal() {
    let flag = Arc::new(AtomicBool::new(false));
    // Registration refuses only signals that may not be caught; SIGXFSZ is not one of them.
    let _ = signal_hook::flag::register(signal_hook::consts::SIGXFSZ, flag);
}

/// A host file that commits replace atomically.
#[derive(Clone, Debug)]
pub struct Target {
    path: PathBuf,
}

impl Target {
    /// The target at `path`: an existing file to replace, or a new file to create.
    pub fn new(path: impl Into<PathBuf>) -> Target {
        Target { path: path.into() }
    }

    /// The path the target was named by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `plan` as the target's new content, all or nothing (see the module's doc).
    /// `progress` is told of the bytes done.
    pub fn commit(&self, plan: &Plan, progress: &(dyn Fn(u64) + Sync)) -> anyhow::Result<()> {
        self.begin()?.commit(plan, &Ahead::none(), progress)
    }

    /// A commit begun before its plan is made: the target checked and the temporary file
    /// created (removed again when the [`Pending`] is dropped uncommitted), for a writer that
    /// copies data into it while it plans ([`super::ahead`]).
    pub fn begin(&self) -> anyhow::Result<Pending> {
        let shown = self.path.display().to_string();
        let path = self.resolve(&shown)?;
        let (dir, name) = split(&path);
        match fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(anyhow::Error::new(Error::NotADirectory(dir_name(&dir)))
                    .context(format!("{shown}: cannot write the new image")))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(anyhow::Error::new(Error::NotFound(dir_name(&dir)))
                    .context(format!("{shown}: cannot write the new image")))
            }
            Err(e) => return Err(failed(&shown, "cannot look at its directory", e)),
        }
        let replaced = match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Some(meta),
            Ok(_) => {
                return Err(Error::Usage(format!(
                    "{shown}: not a regular file: a commit replaces a file by renaming the new \
                     image over it (commit to - to write the image to standard output)"
                ))
                .into())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(failed(&shown, "cannot look at the target", e)),
        };
        remove_stale(&dir, &name);
        let temp = Temp::create(&dir, &name).map_err(|e| {
            failed(
                &shown,
                &format!("cannot create a temporary file in {}", dir.display()),
                e,
            )
        })?;
        Ok(Pending {
            shown,
            path,
            dir,
            replaced,
            temp,
        })
    }

    /// The path of the file a commit writes: the target, or the file it links to.
    fn resolve(&self, shown: &str) -> anyhow::Result<PathBuf> {
        match fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(&self.path)
                .map_err(|e| failed(shown, "cannot follow the symbolic link", e)),
            _ => Ok(self.path.clone()),
        }
    }
}

/// A commit whose temporary file is made ([`Target::begin`]), waiting for its plan.
pub struct Pending {
    /// The target as the user named it.
    shown: String,
    /// The file replaced or made.
    path: PathBuf,
    dir: PathBuf,
    /// The metadata of the file replaced, when there is one.
    replaced: Option<fs::Metadata>,
    temp: Temp,
}

impl Pending {
    /// The temporary file, empty until [`Pending::commit`] writes it.
    pub fn file(&self) -> &File {
        &self.temp.file
    }

    /// Writes `plan` into the temporary file, where `ahead` was copied while it was planned,
    /// and renames it over the target, as [`Target::commit`] does.
    pub fn commit(
        self,
        plan: &Plan,
        ahead: &Ahead,
        progress: &(dyn Fn(u64) + Sync),
    ) -> anyhow::Result<()> {
        let Pending {
            shown,
            path,
            dir,
            replaced,
            temp,
        } = self;
        crate::verbose::say(|| describe(plan, &temp.path, &path));
        let what = |doing: &str| format!("{doing} {}", temp.path.display());
        let done = AtomicU64::new(0);
        let stall = stall_after();
        let told = |n: u64| {
            let now = done.fetch_add(n, Ordering::Relaxed) + n;
            progress(n);
            if stall.is_some_and(|at| now >= at) {
                stall_for_ever();
            }
        };
        if let Err(e) = super::to_file::write_over(plan, &temp.file, ahead, &told) {
            return Err(match e.downcast::<io::Error>() {
                Ok(e) => failed(&shown, &what("writing the new image into"), e),
                Err(e) => e.context(format!("{shown}: cannot write the new image")),
            });
        }
        if let Some(meta) = &replaced {
            // Root replacing another user's image gives it back to that user; anyone else
            // cannot, and keeps the new file as theirs (as an editor's save does). Before the
            // mode: a change of owner clears the set-user-id and set-group-id bits.
            let _ = rustix::fs::fchown(
                &temp.file,
                Some(rustix::process::Uid::from_raw(meta.uid())),
                Some(rustix::process::Gid::from_raw(meta.gid())),
            );
            temp.file
                .set_permissions(meta.permissions())
                .map_err(|e| failed(&shown, &what("cannot set the permissions of"), e))?;
        }
        temp.file
            .sync_all()
            .map_err(|e| failed(&shown, &what("cannot flush"), e))?;
        fs::rename(&temp.path, &path)
            .map_err(|e| failed(&shown, &what("cannot rename the new image over it from"), e))?;
        temp.renamed();
        File::open(&dir).and_then(|d| d.sync_all()).map_err(|e| {
            failed(
                &shown,
                "the new image is in place, but flushing its directory failed",
                e,
            )
        })
    }
}

/// What a commit writes, for `-v`: the plan's size and spans, by kind, and where it goes.
fn describe(plan: &Plan, temp: &Path, target: &Path) -> String {
    let (mut copied, mut memory, mut zeros) = (0u64, 0u64, 0u64);
    for span in plan.spans() {
        match span {
            Span::Source { len, .. } => copied += len,
            Span::Bytes(b) => memory += b.len() as u64,
            Span::Zeros(n) => zeros += n,
        }
    }
    format!(
        "commit: a plan of {} bytes in {} spans ({copied} copied from sources, {memory} \
         from memory, {zeros} zeros) into {}, then renamed over {}",
        plan.len(),
        plan.spans().len(),
        temp.display(),
        target.display()
    )
}

/// The directory of `path` (`.` for a bare name) and its file name.
fn split(path: &Path) -> (PathBuf, OsString) {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().unwrap_or(OsStr::new("image")).to_owned();
    (dir, name)
}

/// `dir` as the errors show it.
fn dir_name(dir: &Path) -> String {
    dir.display().to_string()
}

/// The start of the names of the temporary files for target `name`: `.NAME.isofish-`.
fn temp_prefix(name: &OsStr) -> Vec<u8> {
    let bytes = name.as_bytes();
    let mut prefix = b".".to_vec();
    prefix.extend_from_slice(&bytes[..bytes.len().min(NAME_KEPT)]);
    prefix.extend_from_slice(b".isofish-");
    prefix
}

/// The process id a temporary file's name `.NAME.isofish-PID.tmp` carries, when the name is
/// one of the temporary files for target `name`.
fn temp_pid(file: &OsStr, name: &OsStr) -> Option<Pid> {
    let rest = file.as_bytes().strip_prefix(temp_prefix(name).as_slice())?;
    let digits = rest.strip_suffix(b".tmp")?;
    let pid = std::str::from_utf8(digits).ok()?.parse::<i32>().ok()?;
    Pid::from_raw(pid)
}

/// True when the process `pid` exists (a signal 0 reaches it, or it belongs to someone we may
/// not signal).
fn alive(pid: Pid) -> bool {
    !matches!(rustix::process::test_kill_process(pid), Err(Errno::SRCH))
}

/// Removes the temporary files for target `name` in `dir` that processes which are gone left
/// behind (a crash, a kill); a process id the host has since given to this process counts as
/// gone unless this process is writing that file now. What cannot be removed is left (the
/// commit then fails on its own if the directory refuses writes).
fn remove_stale(dir: &Path, name: &OsStr) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let me = rustix::process::getpid();
    for entry in entries.flatten() {
        let Some(pid) = temp_pid(&entry.file_name(), name) else {
            continue;
        };
        let path = entry.path();
        let stale = if pid == me {
            !lock_cache(&IN_USE).contains(&path)
        } else {
            !alive(pid)
        };
        if stale {
            let _ = fs::remove_file(&path);
        }
    }
}

/// The temporary file a commit writes: removed when dropped, unless it was renamed over the
/// target.
struct Temp {
    path: PathBuf,
    file: File,
    renamed: bool,
}

impl Temp {
    /// Creates `.NAME.isofish-PID.tmp` in `dir` (with the permissions a new file gets).
    fn create(dir: &Path, name: &OsStr) -> io::Result<Temp> {
        let mut file_name = temp_prefix(name);
        file_name.extend_from_slice(format!("{}.tmp", std::process::id()).as_bytes());
        let path = dir.join(OsString::from_vec(file_name));
        let mut in_use = lock_cache(&IN_USE);
        if in_use.contains(&path) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "another commit to the same target is under way",
            ));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        in_use.push(path.clone());
        Ok(Temp {
            path,
            file,
            renamed: false,
        })
    }

    /// The file is the target now: nothing to remove.
    fn renamed(mut self) {
        self.renamed = true;
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = fs::remove_file(&self.path);
        }
        lock_cache(&IN_USE).retain(|p| p != &self.path);
    }
}

/// The error for the host's `e` while doing `what` for target `shown`: no space, read-only,
/// or an I/O error, each naming the target and what failed.
fn failed(shown: &str, what: &str, e: io::Error) -> anyhow::Error {
    let detail = format!("{what}: {e}");
    let err = match e.raw_os_error().map(Errno::from_raw_os_error) {
        Some(Errno::NOSPC | Errno::DQUOT | Errno::FBIG) => Error::NoSpace {
            target: shown.to_string(),
            detail,
        },
        Some(Errno::ROFS | Errno::ACCESS | Errno::PERM) => Error::ReadOnly {
            target: shown.to_string(),
            reason: detail,
        },
        _ => Error::io(shown, io::Error::new(e.kind(), detail)),
    };
    err.into()
}

/// In debug builds, the byte count after which a commit stalls (`ISOFISH_DEBUG_COMMIT_STALL`).
#[cfg(debug_assertions)]
fn stall_after() -> Option<u64> {
    std::env::var("ISOFISH_DEBUG_COMMIT_STALL")
        .ok()?
        .parse()
        .ok()
}

/// Release builds never stall.
#[cfg(not(debug_assertions))]
fn stall_after() -> Option<u64> {
    None
}

/// Sleeps until the process is killed.
fn stall_for_ever() -> ! {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::fd::AsFd;
    use std::os::unix::fs::PermissionsExt;
    use std::process::{Command, Stdio};

    use super::*;
    use crate::data::Span;
    use crate::plan::to_file::tests::mixed_plan;
    use crate::source::{FileSource, Source};

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A directory holding `out.iso` with `old` in it, mode 0640.
    fn existing(old: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.iso");
        fs::write(&path, old).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        (dir, path)
    }

    /// The `Error` of the library a commit failed with, and the whole message.
    fn failure(result: anyhow::Result<()>) -> (String, String) {
        let err = result.unwrap_err();
        let kind = match err.downcast_ref::<Error>() {
            Some(Error::NoSpace { .. }) => "NoSpace",
            Some(Error::ReadOnly { .. }) => "ReadOnly",
            Some(Error::NotFound(_)) => "NotFound",
            Some(Error::NotADirectory(_)) => "NotADirectory",
            Some(Error::Usage(_)) => "Usage",
            Some(Error::Io { .. }) => "Io",
            _ => "other",
        };
        (kind.to_string(), format!("{err:#}"))
    }

    #[test]
    fn a_new_file_holds_the_plan_and_no_temporary_file_is_left() {
        let (_keep, plan, want) = mixed_plan(1 << 20);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.iso");
        let told = AtomicU64::new(0);
        let target = Target::new(&path);
        target
            .commit(&plan, &|n| {
                told.fetch_add(n, Ordering::Relaxed);
            })
            .unwrap();
        assert!(fs::read(&path).unwrap() == want);
        assert_eq!(told.into_inner(), plan.len());
        assert_eq!(names(dir.path()), ["new.iso"]);
        assert_eq!(target.path(), path);
    }

    #[test]
    fn a_replaced_file_holds_exactly_the_new_bytes_and_keeps_its_mode() {
        let (_keep, plan, want) = mixed_plan(100_000);
        let (dir, path) = existing(&vec![0x55; 3 << 20]);
        // A bare name is a file of the current directory; here, a path relative to it.
        Target::new(&path).commit(&plan, &|_| {}).unwrap();
        assert!(fs::read(&path).unwrap() == want);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
        assert_eq!(names(dir.path()), ["out.iso"]);
    }

    #[test]
    fn root_gives_a_replaced_image_back_to_its_owner() {
        if !rustix::process::geteuid().is_root() {
            return;
        }
        let (_keep, plan, _) = mixed_plan(1000);
        let (_dir, path) = existing(b"old");
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        Target::new(&path).commit(&plan, &|_| {}).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o7777),
            (65534, 65534, 0o640)
        );
    }

    #[test]
    fn the_image_replaced_may_be_the_source_read() {
        let old: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let (dir, path) = existing(&old);
        let src: Arc<dyn Source> = Arc::new(FileSource::open(&path).unwrap());
        // The second half, then a new header, then the first half.
        let mut plan = Plan::new();
        plan.push(Span::source(&src, 150_000, 150_000));
        plan.push_bytes(b"new".to_vec());
        plan.push(Span::source(&src, 0, 150_000));
        Target::new(&path).commit(&plan, &|_| {}).unwrap();
        let mut want = old[150_000..].to_vec();
        want.extend(b"new");
        want.extend(&old[..150_000]);
        assert!(fs::read(&path).unwrap() == want);
        assert_eq!(names(dir.path()), ["out.iso"]);
    }

    #[test]
    fn a_symbolic_link_is_followed_and_kept() {
        let (_keep, plan, want) = mixed_plan(10_000);
        let (dir, path) = existing(b"old");
        let link = dir.path().join("link.iso");
        std::os::unix::fs::symlink("out.iso", &link).unwrap();
        Target::new(&link).commit(&plan, &|_| {}).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::read(&path).unwrap() == want);
        assert_eq!(names(dir.path()), ["link.iso", "out.iso"]);
    }

    #[test]
    fn a_directory_that_is_missing_or_a_file_is_named() {
        let (_keep, plan, _) = mixed_plan(1000);
        let (dir, file) = existing(b"a file");
        let missing = dir.path().join("no/such");
        for (parent, kind, why) in [
            (&missing, "NotFound", "no such file or directory"),
            (&file, "NotADirectory", "not a directory"),
        ] {
            let target = parent.join("out.iso");
            let (got, msg) = failure(Target::new(&target).commit(&plan, &|_| {}));
            assert_eq!(got, kind);
            let (target, parent) = (target.display(), parent.display());
            assert_eq!(
                msg,
                format!("{target}: cannot write the new image: {parent}: {why}")
            );
        }
        assert_eq!(fs::read(&file).unwrap(), b"a file");
        assert_eq!(names(dir.path()), ["out.iso"]);
    }

    #[test]
    fn the_hosts_refusals_are_no_space_or_read_only() {
        let cases = [
            (
                Errno::NOSPC,
                "NoSpace",
                "out.iso: no space left: writing: No space left",
            ),
            (
                Errno::DQUOT,
                "NoSpace",
                "out.iso: no space left: writing: Disk quota",
            ),
            (
                Errno::FBIG,
                "NoSpace",
                "out.iso: no space left: writing: File too large",
            ),
            (
                Errno::ROFS,
                "ReadOnly",
                "out.iso: read-only: writing: Read-only file",
            ),
            (
                Errno::ACCESS,
                "ReadOnly",
                "out.iso: read-only: writing: Permission denied",
            ),
            (
                Errno::PERM,
                "ReadOnly",
                "out.iso: read-only: writing: Operation not permitted",
            ),
            (Errno::IO, "Io", "out.iso: writing: Input/output error"),
        ];
        for (errno, kind, start) in cases {
            let e = io::Error::from_raw_os_error(errno.raw_os_error());
            let (got, msg) = failure(Err(failed("out.iso", "writing", e)));
            assert_eq!(got, kind);
            assert!(msg.starts_with(start), "{msg}");
        }
    }

    #[test]
    fn a_bare_name_is_a_file_of_the_current_directory() {
        let (dir, name) = split(Path::new("out.iso"));
        assert_eq!(
            (dir.as_path(), name.as_os_str()),
            (Path::new("."), OsStr::new("out.iso"))
        );
        let (dir, _) = split(Path::new("/out.iso"));
        assert_eq!(dir, Path::new("/"));
    }

    #[test]
    fn a_name_near_the_hosts_limit_still_gets_a_temporary_file() {
        let (_keep, plan, want) = mixed_plan(1000);
        let dir = tempfile::tempdir().unwrap();
        let long = format!("{}.iso", "n".repeat(250));
        Target::new(dir.path().join(&long))
            .commit(&plan, &|_| {})
            .unwrap();
        assert!(fs::read(dir.path().join(&long)).unwrap() == want);
        assert_eq!(names(dir.path()), [long.as_str()]);
        let temp = format!(".{}.isofish-1.tmp", &long[..NAME_KEPT]);
        assert_eq!(
            temp_pid(OsStr::new(&temp), OsStr::new(&long)),
            Pid::from_raw(1)
        );
        assert_eq!(temp_pid(OsStr::new(&temp), OsStr::new("other.iso")), None);
    }

    #[test]
    fn a_target_that_is_not_a_regular_file_is_refused() {
        let (_keep, plan, _) = mixed_plan(1000);
        let dir = tempfile::tempdir().unwrap();
        let (kind, msg) = failure(Target::new(dir.path()).commit(&plan, &|_| {}));
        assert_eq!(kind, "Usage");
        assert!(msg.contains("not a regular file"), "{msg}");
    }

    /// While alive, `dir` refuses new files, even to root: it is immutable (`chattr +i`) where
    /// the host lets us set that (root on ext4, xfs, btrfs, tmpfs), else, for a user other
    /// than root, without write permission.
    struct Unwritable(PathBuf);

    impl Unwritable {
        fn new(dir: &Path) -> Unwritable {
            let fd = File::open(dir).unwrap();
            let flags =
                rustix::fs::ioctl_getflags(fd.as_fd()).unwrap_or(rustix::fs::IFlags::empty());
            if rustix::fs::ioctl_setflags(fd.as_fd(), flags | rustix::fs::IFlags::IMMUTABLE)
                .is_err()
            {
                assert!(
                    !rustix::process::geteuid().is_root(),
                    "root cannot make {} immutable: no way to make it refuse writes",
                    dir.display()
                );
                fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).unwrap();
            }
            assert!(
                File::create(dir.join("probe")).is_err(),
                "{} still takes new files",
                dir.display()
            );
            Unwritable(dir.to_path_buf())
        }
    }

    impl Drop for Unwritable {
        fn drop(&mut self) {
            if let Ok(fd) = File::open(&self.0) {
                if let Ok(flags) = rustix::fs::ioctl_getflags(fd.as_fd()) {
                    let _ = rustix::fs::ioctl_setflags(
                        fd.as_fd(),
                        flags - rustix::fs::IFlags::IMMUTABLE,
                    );
                }
            }
            let _ = fs::set_permissions(&self.0, fs::Permissions::from_mode(0o755));
        }
    }

    #[test]
    fn a_directory_that_refuses_writes_leaves_the_target_alone() {
        let (_keep, plan, _) = mixed_plan(1000);
        let old = b"the original image".to_vec();
        let (dir, path) = existing(&old);
        let guard = Unwritable::new(dir.path());
        let (kind, msg) = failure(Target::new(&path).commit(&plan, &|_| {}));
        drop(guard);
        assert_eq!(kind, "ReadOnly");
        let start = format!(
            "{}: read-only: cannot create a temporary file in {}: ",
            path.display(),
            dir.path().display()
        );
        assert!(msg.starts_with(&start), "{msg}");
        assert_eq!(fs::read(&path).unwrap(), old);
        assert_eq!(names(dir.path()), ["out.iso"]);
    }

    #[test]
    fn stale_temporary_files_of_dead_processes_go_and_live_ones_stay() {
        let (_keep, plan, want) = mixed_plan(1000);
        let (dir, path) = existing(b"old");
        let mut dead = Command::new("true").spawn().unwrap();
        let dead_pid = dead.id();
        dead.wait().unwrap();
        let mut live = Command::new("sleep").arg("60").spawn().unwrap();
        let me = std::process::id();
        let temp = |name: &str, pid: u32| {
            let p = dir.path().join(format!(".{name}.isofish-{pid}.tmp"));
            fs::write(&p, b"half an image").unwrap();
            p
        };
        let of_dead = temp("out.iso", dead_pid);
        let of_live = temp("out.iso", live.id());
        // An earlier process that had this process's id, and died: not a temp in use here.
        let of_mine = temp("out.iso", me);
        let of_other = temp("other.iso", dead_pid);
        Target::new(&path).commit(&plan, &|_| {}).unwrap();
        let _ = live.kill();
        let _ = live.wait();
        assert!(fs::read(&path).unwrap() == want);
        assert!(!of_dead.exists() && !of_mine.exists());
        assert!(
            of_live.exists(),
            "a live process's temporary file was removed"
        );
        assert!(
            of_other.exists(),
            "another target's temporary file was removed"
        );
    }

    /// The test binary running [`child_commits_from_the_environment`] with `env`, under
    /// `ulimit -f BLOCKS` when `blocks` is given; returns the child.
    fn child(env: &[(&str, String)], blocks: Option<u32>) -> std::process::Child {
        let exe = std::env::current_exe().unwrap();
        let mut cmd = match blocks {
            Some(n) => {
                let mut sh = Command::new("sh");
                sh.arg("-c")
                    .arg(format!("ulimit -f {n} && exec \"$0\" \"$@\""))
                    .arg(exe);
                sh
            }
            None => Command::new(exe),
        };
        cmd.args([
            "--exact",
            "plan::atomic::tests::child_commits_from_the_environment",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
    }

    /// Run by other tests as a child process: commits to `ISOFISH_TEST_TARGET` a plan of
    /// `ISOFISH_TEST_BYTES` bytes in memory then `ISOFISH_TEST_ZEROS` zeros, and prints
    /// `RESULT ok` or `RESULT <kind> <message>`.
    #[test]
    #[ignore = "run as a child process by the file-size limit and kill tests"]
    fn child_commits_from_the_environment() {
        catch_file_size_signal();
        let var = |k: &str| std::env::var(k).unwrap();
        let mut plan = Plan::new();
        let bytes: usize = var("ISOFISH_TEST_BYTES").parse().unwrap();
        for _ in 0..bytes / (1 << 20) {
            plan.push_bytes(vec![0xab; 1 << 20]);
        }
        plan.push_bytes(vec![0xab; bytes % (1 << 20)]);
        plan.push(Span::Zeros(var("ISOFISH_TEST_ZEROS").parse().unwrap()));
        let result = Target::new(var("ISOFISH_TEST_TARGET")).commit(&plan, &|_| {});
        let line = match result {
            Ok(()) => "RESULT ok".to_string(),
            Err(e) => {
                let (kind, msg) = failure(Err(e));
                format!("RESULT {kind} {msg}")
            }
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").unwrap();
    }

    /// What the child printed after `RESULT ` (on the harness's line for the test).
    fn result_of(child: std::process::Child) -> String {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find_map(|l| l.split_once("RESULT ").map(|(_, r)| r))
            .unwrap_or_else(|| panic!("the child said no RESULT ({}): {text}", out.status))
            .to_string()
    }

    #[test]
    fn a_file_size_limit_is_no_space_and_leaves_the_target_alone() {
        // 100 blocks of 512 bytes (dash) or 1 KiB (bash): well under 1 MiB.
        // Past the limit by writing bytes, then by the length that makes a hole at the end.
        for (bytes, zeros) in [(1 << 20, 0), (1000, 4 << 20)] {
            let old = b"the original image".to_vec();
            let (dir, path) = existing(&old);
            let env = [
                ("ISOFISH_TEST_TARGET", path.display().to_string()),
                ("ISOFISH_TEST_BYTES", bytes.to_string()),
                ("ISOFISH_TEST_ZEROS", zeros.to_string()),
            ];
            let result = result_of(child(&env, Some(100)));
            let start = format!(
                "NoSpace {}: no space left: writing the new image into {}/.out.iso.isofish-",
                path.display(),
                dir.path().display()
            );
            assert!(result.starts_with(&start), "{result}");
            assert!(result.ends_with("File too large (os error 27)"), "{result}");
            assert_eq!(fs::read(&path).unwrap(), old);
            assert_eq!(names(dir.path()), ["out.iso"]);
        }
    }

    #[test]
    fn the_same_child_commits_without_a_limit() {
        let (dir, path) = existing(b"old");
        let env = [
            ("ISOFISH_TEST_TARGET", path.display().to_string()),
            ("ISOFISH_TEST_BYTES", (3 << 20).to_string()),
            ("ISOFISH_TEST_ZEROS", "10".to_string()),
        ];
        assert_eq!(result_of(child(&env, None)), "ok");
        let got = fs::read(&path).unwrap();
        assert!(got.len() == (3 << 20) + 10 && got[..3 << 20].iter().all(|&b| b == 0xab));
        assert_eq!(names(dir.path()), ["out.iso"]);
    }

    #[cfg(debug_assertions)]
    #[test]
    fn a_commit_killed_midway_leaves_the_target_and_the_next_one_cleans_up() {
        use std::time::{Duration, Instant};
        let old = b"the original image".to_vec();
        let (dir, path) = existing(&old);
        let env = [
            ("ISOFISH_TEST_TARGET", path.display().to_string()),
            ("ISOFISH_TEST_BYTES", (8 << 20).to_string()),
            ("ISOFISH_TEST_ZEROS", "0".to_string()),
            ("ISOFISH_DEBUG_COMMIT_STALL", (2 << 20).to_string()),
        ];
        let mut child = child(&env, None);
        let temp = dir
            .path()
            .join(format!(".out.iso.isofish-{}.tmp", child.id()));
        let start = Instant::now();
        while fs::metadata(&temp).map_or(true, |m| m.len() < 2 << 20) {
            if start.elapsed() > Duration::from_secs(60) || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                panic!("the child never stalled with 2 MiB written");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(fs::read(&path).unwrap(), old);
        // The thread that passed 2 MiB stopped there; the other one at the end of the MiB it
        // was writing, at most.
        let len = fs::metadata(&temp).unwrap().len();
        assert!(
            (2 << 20..=3 << 20).contains(&len),
            "it went on after the stall: {len} bytes"
        );
        let (_keep, plan, want) = mixed_plan(1000);
        Target::new(&path).commit(&plan, &|_| {}).unwrap();
        assert!(fs::read(&path).unwrap() == want);
        assert_eq!(names(dir.path()), ["out.iso"]);
    }
}
