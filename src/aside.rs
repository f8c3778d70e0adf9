//! Large structures dropped on a thread of their own ([`drop`]): a tree of tens of thousands
//! of objects takes tens of milliseconds to free, which the command's next step (the copy of a
//! new image's data) need not wait for. The thread runs at the lowest priority (nice 19), so
//! that the freeing takes what the command leaves of the host's cores, not a share of them.

/// Drops `value` on a new thread of the lowest priority, or here when the host refuses a
/// thread.
pub fn drop<T: Send + 'static>(value: T) {
    // A refused thread drops the closure, and `value` with it, before `spawn` returns.
    let _ = std::thread::Builder::new()
        .name("drop".into())
        .spawn(move || {
            // On Linux a nice value belongs to the thread that sets it. A host that refuses
            // leaves the thread at the process's priority: the value is freed all the same.
            let _ = rustix::process::setpriority_process(None, LOWEST);
            std::mem::drop(value)
        });
}

/// The nice value of the dropping thread: the lowest priority any user may take.
const LOWEST: i32 = 19;

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    /// Tells, when dropped, the nice value of the thread that drops it.
    struct Told(mpsc::Sender<i32>);

    impl Drop for Told {
        fn drop(&mut self) {
            let nice = rustix::process::getpriority_process(None).unwrap();
            self.0.send(nice).unwrap();
        }
    }

    #[test]
    fn a_value_set_aside_is_dropped_on_a_thread_of_the_lowest_priority() {
        let own = rustix::process::getpriority_process(None).unwrap();
        let (tx, rx) = mpsc::channel();
        super::drop(Told(tx));
        let nice = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
        assert_eq!(nice, super::LOWEST);
        // The caller's own priority is not changed.
        assert_eq!(rustix::process::getpriority_process(None).unwrap(), own);
    }
}
