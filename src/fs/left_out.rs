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

/// Marks the run as one that left an entry out: for the session's walk, which skips what a
/// listing holds but a walk cannot take (a name twice, a directory met again below itself).
pub fn mark() {
    ANY.store(true, Ordering::Relaxed);
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

/// The `.` and `..` entries of one directory listing as a format records them: the first of
/// each is the directory's own (not listed); any other is a bad name.
#[derive(Default)]
pub struct Dots([bool; 2]);

impl Dots {
    /// True when `name` is the directory's own `.` or `..` (the first of each seen).
    pub fn own(&mut self, name: &[u8]) -> bool {
        let seen = match name {
            b"." => &mut self.0[0],
            b".." => &mut self.0[1],
            _ => return false,
        };
        !std::mem::replace(seen, true)
    }
}

/// The entries one filesystem left out so far: the offsets of their structures (each said
/// once, on stderr).
#[derive(Default)]
pub struct LeftOut(Mutex<HashSet<u64>>);

/// Where an entry is recorded: the image, the structure and its offset.
pub struct At<'a> {
    pub image: &'a str,
    pub structure: &'a str,
    pub offset: u64,
}

impl LeftOut {
    /// Leaves out the entry `name` recorded `at`, because `why`: says so on stderr (once per
    /// offset, at most 64 times) and marks the run.
    pub fn entry(&self, at: &At, name: &[u8], why: &str) {
        mark();
        let mut seen = lock(&self.0);
        if seen.len() > MAX || !seen.insert(at.offset) {
            return;
        }
        let image = at.image;
        if seen.len() > MAX {
            eprintln!("isofish: warning: {image}: more entries left out are not shown");
        } else {
            let (structure, offset) = (at.structure, at.offset);
            let name = String::from_utf8_lossy(name);
            eprintln!(
                "isofish: warning: {image}: {structure} at offset {offset}: entry {name:?} left out: {why}"
            );
        }
    }

    /// Whether the entry `name` recorded `at`, which names inode `target` in directory `dir`
    /// of a tree whose root is `root`, is listed: not when its name is not a file name, nor
    /// when it names `dir` or the root (a loop). Those are left out ([`LeftOut::entry`]).
    pub fn admit(&self, at: &At, name: &[u8], dir: u64, target: u64, root: u64) -> bool {
        if let Some(why) = bad_name(name) {
            self.entry(at, name, why);
            return false;
        }
        if target == dir || target == root {
            let why = format!("directory {dir} lists {target}, a directory loop");
            self.entry(at, name, &why);
            return false;
        }
        true
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
    fn bad_names_and_loops_are_left_out_once_and_mark_the_run() {
        let left = LeftOut::default();
        assert!(left.said().is_none());
        let at = At {
            image: "x.img",
            structure: "record",
            offset: 10,
        };
        assert!(left.admit(&at, b"ok", 1, 2, 0));
        for name in [&b""[..], b".", b"..", b"a/b", b"a\0b"] {
            assert!(bad_name(name).is_some(), "{name:?}");
        }
        assert!(!left.admit(&at, b"..", 1, 2, 0));
        assert!(!left.admit(&at, b"loop", 1, 0, 0));
        assert!(any());
        assert!(left.said().is_some_and(|s| s.contains("(1: ")));
        let mut dots = Dots::default();
        assert!(dots.own(b".") && dots.own(b"..") && !dots.own(b"..") && !dots.own(b"a"));
    }
}
