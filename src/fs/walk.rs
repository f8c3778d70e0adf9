//! Walking a whole filesystem with bounds: every directory listed, every entry looked up
//! again by name and its extended attributes read, every file read to its end (and its
//! extents asked for). The fuzz target and
//! the mutation tests use it to drive a reader through all its paths; tests use it to compare a
//! tree with what other tools extract.

use crate::error::Result;
use crate::fs::{DirEntry, FileKind, FileSystem};

/// How far a walk may go before it stops (without error).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Entries visited in all.
    pub entries: usize,
    /// File bytes read in all.
    pub bytes: u64,
    /// Directory depth.
    pub depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            entries: 100_000,
            bytes: 1 << 30,
            depth: 256,
        }
    }
}

/// One visited entry: its path from the root (`a/b/c`, no leading `/`), the entry, and the
/// file's bytes (for regular files, when the caller asked for data).
pub struct Visit<'a> {
    pub path: &'a [u8],
    pub entry: &'a DirEntry,
    pub data: Option<&'a [u8]>,
}

/// Walks `fs` depth-first from its root, calling `visit` for every entry (directories before
/// their contents, in the order the format stores them). Files are read in full (in 64 KiB
/// reads) and their bytes handed to `visit` when `keep_data` is set. Returns whether the walk
/// was complete (false when a limit stopped it); the first error ends the walk.
pub fn walk(
    fs: &dyn FileSystem,
    limits: Limits,
    keep_data: bool,
    visit: &mut dyn FnMut(Visit) -> Result<()>,
) -> Result<bool> {
    let mut state = State {
        fs,
        limits,
        keep_data,
        entries: 0,
        bytes: 0,
        buf: vec![0; 64 << 10],
        data: Vec::new(),
    };
    let root = fs.root();
    fs.metadata(root)?;
    state.dir(root, &mut Vec::new(), 0, visit)
}

struct State<'f> {
    fs: &'f dyn FileSystem,
    limits: Limits,
    keep_data: bool,
    entries: usize,
    bytes: u64,
    buf: Vec<u8>,
    data: Vec<u8>,
}

impl State<'_> {
    fn dir(
        &mut self,
        dir: u64,
        path: &mut Vec<u8>,
        depth: usize,
        visit: &mut dyn FnMut(Visit) -> Result<()>,
    ) -> Result<bool> {
        if depth >= self.limits.depth {
            return Ok(false);
        }
        for entry in self.fs.read_dir(dir)? {
            crate::cancel::check()?;
            self.entries += 1;
            if self.entries > self.limits.entries {
                return Ok(false);
            }
            self.fs.lookup(dir, &entry.name)?;
            self.fs.xattrs(entry.ino)?;
            let len = path.len();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(&entry.name);
            let complete = self.entry(&entry, path, depth, visit)?;
            path.truncate(len);
            if !complete {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn entry(
        &mut self,
        entry: &DirEntry,
        path: &mut Vec<u8>,
        depth: usize,
        visit: &mut dyn FnMut(Visit) -> Result<()>,
    ) -> Result<bool> {
        match entry.meta.kind {
            FileKind::Dir => {
                visit(Visit {
                    path,
                    entry,
                    data: None,
                })?;
                self.dir(entry.ino, path, depth + 1, visit)
            }
            FileKind::File => {
                self.fs.spans(entry.ino)?;
                self.data.clear();
                let mut offset = 0u64;
                loop {
                    crate::cancel::check()?;
                    if self.bytes >= self.limits.bytes {
                        return Ok(false);
                    }
                    let n = self.fs.read_at(entry.ino, offset, &mut self.buf)?;
                    if n == 0 {
                        break;
                    }
                    self.bytes += n as u64;
                    offset += n as u64;
                    if self.keep_data {
                        self.data.extend_from_slice(&self.buf[..n]);
                    }
                }
                let data = std::mem::take(&mut self.data);
                let r = visit(Visit {
                    path,
                    entry,
                    data: self.keep_data.then_some(data.as_slice()),
                });
                self.data = data;
                r.map(|()| true)
            }
            _ => visit(Visit {
                path,
                entry,
                data: None,
            })
            .map(|()| true),
        }
    }
}
