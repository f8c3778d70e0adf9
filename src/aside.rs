//! Large structures dropped on a thread of their own ([`drop`]): a tree of tens of thousands
//! of objects takes tens of milliseconds to free, which the command's next step (the copy of a
//! new image's data) need not wait for.

/// Drops `value` on a new thread, or here when the host refuses a thread.
pub fn drop<T: Send + 'static>(value: T) {
    // A refused thread drops the closure, and `value` with it, before `spawn` returns.
    let _ = std::thread::Builder::new()
        .name("drop".into())
        .spawn(move || std::mem::drop(value));
}
