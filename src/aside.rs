//! Large structures set aside ([`drop`]) and freed once the command that made them has ended
//! ([`sweep`]): a tree of tens of thousands of objects takes tens of milliseconds of CPU to
//! free, which the command's next step (the copy of a new image's data) needs for itself, and
//! which a process about to exit need not spend at all (its memory goes back whole). The
//! freeing runs on a thread of the lowest priority (nice 19), so that it takes what the user
//! leaves of the host's cores, not a share of them.

use std::sync::{Mutex, PoisonError};

/// What [`drop`] set aside since the last [`sweep`].
static SET_ASIDE: Mutex<Vec<Box<dyn Send>>> = Mutex::new(Vec::new());

/// Sets `value` aside, to be freed at the next [`sweep`] (or with the process).
pub fn drop<T: Send + 'static>(value: T) {
    let mut set = SET_ASIDE.lock().unwrap_or_else(PoisonError::into_inner);
    set.push(Box::new(value));
}

/// Frees what was set aside, on a new thread of the lowest priority, or here when the host
/// refuses a thread: when a command has ended, or settles into waiting (`serve`).
pub fn sweep() {
    let values = std::mem::take(&mut *SET_ASIDE.lock().unwrap_or_else(PoisonError::into_inner));
    if values.is_empty() {
        return;
    }
    // A refused thread drops the closure, and the values with it, before `spawn` returns.
    let _ = std::thread::Builder::new()
        .name("drop".into())
        .spawn(move || {
            // On Linux a nice value belongs to the thread that sets it. A host that refuses
            // leaves the thread at the process's priority: the values are freed all the same.
            let _ = rustix::process::setpriority_process(None, LOWEST);
            std::mem::drop(values)
        });
}

/// The nice value of the dropping thread: the lowest priority any user may take.
const LOWEST: i32 = 19;

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    /// Tells, when dropped, the nice value of the thread that drops it.
    struct Told(mpsc::Sender<i32>);

    impl Drop for Told {
        fn drop(&mut self) {
            let nice = rustix::process::getpriority_process(None).unwrap();
            self.0.send(nice).unwrap();
        }
    }

    #[test]
    fn a_value_set_aside_is_dropped_at_the_sweep_on_a_thread_of_the_lowest_priority() {
        let own = rustix::process::getpriority_process(None).unwrap();
        let (tx, rx) = mpsc::channel();
        super::drop(Told(tx));
        // Kept until the sweep.
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        super::sweep();
        let nice = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(nice, super::LOWEST);
        // The caller's own priority is not changed.
        assert_eq!(rustix::process::getpriority_process(None).unwrap(), own);
    }
}
