//! Ctrl-C: a process-wide request to stop the command that is running. SIGINT sets a flag
//! ([`install`]); the long loops (data copies, tree walks, dumps) call [`check`], which fails
//! with [`Error::Interrupted`] once the flag is set, so the command unwinds through its
//! ordinary error path (a partial host file it was writing is removed, a commit's temporary
//! file too). The shell then says `interrupted`: the interactive shell clears the flag
//! ([`reset`]) and prompts again, with its mounts and staged changes as they were; a script
//! or one-liner stops with exit status 130 ([`EXIT_STATUS`]).
//!
//! In a script or one-liner, a second Ctrl-C before the run has stopped ends the process at
//! once (status 130), for a command stuck where no loop checks; the interactive shell has no
//! such escape, so that Ctrl-C pressed twice in a pager or a host command never ends it.
//!
//! Work that must not stop half-way (a file patched in place) holds a [`Shield`]: [`check`]
//! passes while one is held, and the request waits for the next check after it is dropped.
//!
//! For tests, debug builds only: with `ISOFISH_DEBUG_STALL_CHECK=N` in the environment, the
//! Nth [`check`] of the process says `isofish: debug: stalled` on standard error and waits
//! for Ctrl-C, so that a test interrupts a command at a known point (its output file
//! created, part of its work done).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::error::{Error, Result};

/// The exit status of a run stopped by Ctrl-C, as a shell reports a death by SIGINT.
pub const EXIT_STATUS: i32 = 130;

/// Set by SIGINT, cleared by [`reset`].
static REQUESTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The [`Shield`]s held now.
static SHIELDS: AtomicUsize = AtomicUsize::new(0);

fn flag() -> &'static Arc<AtomicBool> {
    REQUESTED.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Makes SIGINT a request to stop the running command instead of the end of the process.
/// With `second_exits`, a SIGINT that comes while a request is still pending ends the process
/// with status 130. Called once, by the shell, before any command runs.
pub fn install(second_exits: bool) -> std::io::Result<()> {
    use signal_hook::consts::SIGINT;
    let flag = flag();
    if second_exits {
        // Registered first: it looks at the flag before the next handler sets it.
        signal_hook::flag::register_conditional_shutdown(SIGINT, EXIT_STATUS, Arc::clone(flag))?;
    }
    signal_hook::flag::register(SIGINT, Arc::clone(flag))?;
    Ok(())
}

/// True when Ctrl-C was pressed since the last [`reset`].
pub fn requested() -> bool {
    flag().load(Ordering::SeqCst)
}

/// Forgets a request: the interactive shell calls it before each line it runs.
pub fn reset() {
    flag().store(false, Ordering::SeqCst);
}

/// Asks the running command to stop, as Ctrl-C does (for tests and for callers that stop a
/// command themselves).
pub fn request() {
    flag().store(true, Ordering::SeqCst);
}

/// Fails with [`Error::Interrupted`] when Ctrl-C was pressed and no [`Shield`] is held.
pub fn check() -> Result<()> {
    stall_here();
    if requested() && SHIELDS.load(Ordering::SeqCst) == 0 {
        return Err(Error::Interrupted);
    }
    Ok(())
}

/// While alive, [`check`] passes: the work it guards runs to its end.
#[must_use = "the shield guards only while it is held"]
pub struct Shield(());

impl Shield {
    pub fn new() -> Shield {
        SHIELDS.fetch_add(1, Ordering::SeqCst);
        Shield(())
    }
}

impl Default for Shield {
    fn default() -> Self {
        Shield::new()
    }
}

impl Drop for Shield {
    fn drop(&mut self) {
        SHIELDS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// In debug builds, waits for Ctrl-C at the check `ISOFISH_DEBUG_STALL_CHECK` names.
#[cfg(debug_assertions)]
fn stall_here() {
    static AT: OnceLock<Option<usize>> = OnceLock::new();
    static CHECKS: AtomicUsize = AtomicUsize::new(0);
    let at = AT.get_or_init(|| {
        std::env::var("ISOFISH_DEBUG_STALL_CHECK")
            .ok()?
            .parse()
            .ok()
    });
    if at.is_some_and(|at| CHECKS.fetch_add(1, Ordering::SeqCst) + 1 == at) {
        eprintln!("isofish: debug: stalled");
        while !requested() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// Release builds never stall.
#[cfg(not(debug_assertions))]
fn stall_here() {}
