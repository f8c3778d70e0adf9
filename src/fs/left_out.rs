//! Entries left out of a listing: the one policy every reader follows when one entry of a
//! directory cannot be part of the tree (a name that is not a file name: empty, `.`, `..`, a
//! `/` or a NUL inside; a directory that loops back to an ancestor). The entry is left out,
//! the rest of the directory reads, a warning names the image, the structure, its offset and
//! the entry, and the run is marked so the shell exits 1 at its end ([`any`]). Each reader
//! keeps a [`LeftOut`] so `commit` can refuse to write a tree that lost entries
//! ([`super::FileSystem::left_out`]).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::error::lock_cache as lock;

/// Warnings said at most, per filesystem.
const MAX: usize = 64;

/// Set once any reader left an entry out.
static ANY: AtomicBool = AtomicBool::new(false);

/// Whether any reader of this process left an entry out of a listing: the shell's exit status
/// is then 1.
pub fn any() -> bool {
    ANY.load(Ordering::Relaxed)
}

/// Why a name cannot be a file name (`None`: it can): the test every reader applies.
pub fn bad_name(name: &[u8]) -> Option<&'static str> {
    match name {
        b"" => Some("an empty name"),
        b"." | b".." => Some("`.` or `..` is not a file name"),
        _ if name.contains(&b'/') => Some("a name with `/` is not a file name"),
        _ if name.contains(&0) => Some("a name with NUL is not a file name"),
        _ => None,
    }
}

/// The entries one filesystem left out so far: the offsets of their structures (each said
/// once, on stderr).
#[derive(Default)]
pub struct LeftOut(Mutex<HashSet<u64>>);

impl LeftOut {
    /// Leaves out the entry `name` of `image`, recorded by the `structure` at `offset`, because
    /// `why`: says so on stderr (once per offset, at most [`MAX`] times) and marks the run.
    pub fn entry(&self, image: &str, structure: &str, offset: u64, name: &[u8], why: &str) {
        ANY.store(true, Ordering::Relaxed);
        let mut seen = lock(&self.0);
        if seen.len() > MAX || !seen.insert(offset) {
            return;
        }
        if seen.len() > MAX {
            eprintln!("isofish: warning: {image}: more entries left out are not shown");
        } else {
            let name = String::from_utf8_lossy(name);
            eprintln!(
                "isofish: warning: {image}: {structure} at offset {offset}: entry {name:?} left out: {why}"
            );
        }
    }

    /// Leaves out the entry `name` when it is not a file name (see [`LeftOut::entry`]); true
    /// when it was.
    pub fn bad_name(&self, image: &str, structure: &str, offset: u64, name: &[u8]) -> bool {
        match bad_name(name) {
            Some(why) => {
                self.entry(image, structure, offset, name, why);
                true
            }
            None => false,
        }
    }

    /// What was left out, for [`super::FileSystem::left_out`]: `None` when nothing was.
    pub fn said(&self) -> Option<String> {
        let n = lock(&self.0).len();
        (n > 0).then(|| {
            format!(
                "entries that cannot be read ({n}: bad names or directory loops), which listings leave out"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_names_are_left_out_once_and_mark_the_run() {
        let left = LeftOut::default();
        assert!(left.said().is_none());
        assert!(!left.bad_name("x.img", "record", 10, b"ok"));
        for name in [&b""[..], b".", b"..", b"a/b", b"a\0b"] {
            assert!(bad_name(name).is_some(), "{name:?}");
        }
        assert!(left.bad_name("x.img", "record", 10, b".."));
        assert!(left.bad_name("x.img", "record", 10, b".."));
        assert!(any());
        assert!(left.said().is_some_and(|s| s.contains("(1: ")));
    }
}
