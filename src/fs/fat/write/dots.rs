//! The `.` and `..` entries of a directory fatfs made. fatfs 0.3 writes a long-name entry
//! before each of them, as before any name, so the directory does not start with `.` and `..`
//! as the FAT specification (and `fsck.fat`) requires; and on FAT32 its `..` in a directory of
//! the root names the root's cluster where the specification asks for 0. [`Disk`] notes where
//! fatfs writes while it makes a directory (its `.` entry is among those places), and [`fix`]
//! rewrites the first four slots of each such directory once fatfs is done: `.`, `..`, then
//! two free slots (end-of-directory marks when nothing follows, else deleted entries).

use std::cell::RefCell;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::rc::Rc;

use super::scratch::Scratch;
use crate::error::{Error, Result};

/// Bytes of a directory entry.
const ENTRY: u64 = 32;

/// The long-name attribute value.
const LFN: u8 = 0x0f;

/// fatfs's disk: the scratch copy, with where the writes since the log was last taken
/// began and their lengths.
pub(super) struct Disk<'a> {
    pub(super) scratch: &'a mut Scratch,
    pub(super) writes: Rc<RefCell<Vec<(u64, u64)>>>,
}

impl Read for Disk<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.scratch.read(buf)
    }
}

impl Seek for Disk<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.scratch.seek(pos)
    }
}

impl Write for Disk<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writes
            .borrow_mut()
            .push((self.scratch.stream_position()?, buf.len() as u64));
        self.scratch.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.scratch.flush()
    }
}

/// A directory fatfs made: where fatfs wrote while it made it, and whether its parent is the
/// root.
pub(super) struct NewDir {
    writes: Vec<(u64, u64)>,
    in_root: bool,
    /// The directory's path, for errors.
    path: String,
}

impl NewDir {
    /// The directory at `path`, made with writes at `writes`.
    pub(super) fn new(writes: Vec<(u64, u64)>, path: &str) -> NewDir {
        NewDir {
            writes,
            in_root: !path.contains('/'),
            path: path.to_string(),
        }
    }
}

/// Whether `slots` (five directory entries) start as fatfs starts a new directory: a long
/// name, `.`, a long name, `..`.
fn fatfs_start(slots: &[u8]) -> bool {
    let slot = |i: usize| &slots[i * 32..(i + 1) * 32];
    slot(0)[11] == LFN
        && slot(1)[..12] == *b".          \x10"
        && slot(2)[11] == LFN
        && slot(3)[..12] == *b"..         \x10"
}

/// Rewrites the first slots of each directory in `dirs` in `disk` (named `image` in errors).
pub(super) fn fix(disk: &mut Scratch, dirs: &[NewDir], image: &str) -> Result<()> {
    let io = |e: io::Error| Error::io(image, e);
    for d in dirs {
        let mut slots = [0u8; 5 * ENTRY as usize];
        let mut at = None;
        for (w, _) in &d.writes {
            // The write of `.`, one slot after the directory's start.
            let Some(start) = (w / ENTRY * ENTRY).checked_sub(ENTRY) else {
                continue;
            };
            if read_at(disk, start, &mut slots).is_ok() && fatfs_start(&slots) {
                at = Some(start);
                break;
            }
        }
        let at = at.ok_or_else(|| {
            Error::corrupt(
                image,
                "FAT directory entry",
                0,
                format!("/{}: fatfs made the directory in a way not known", d.path),
            )
        })?;
        let slot = |i: usize| &slots[i * 32..(i + 1) * 32];
        let mut fixed = [0u8; 4 * ENTRY as usize];
        fixed[..32].copy_from_slice(slot(1));
        fixed[32..64].copy_from_slice(slot(3));
        if d.in_root {
            // The first cluster's high and low words.
            fixed[32 + 20..32 + 22].fill(0);
            fixed[32 + 26..32 + 28].fill(0);
        }
        if slot(4)[0] != 0 {
            fixed[64] = 0xe5;
            fixed[96] = 0xe5;
        }
        disk.seek(SeekFrom::Start(at)).map_err(io)?;
        disk.write_all(&fixed).map_err(io)?;
    }
    Ok(())
}

/// Fills `buf` from `disk` at `at`.
pub(super) fn read_at(disk: &mut Scratch, at: u64, buf: &mut [u8]) -> io::Result<()> {
    disk.seek(SeekFrom::Start(at))?;
    disk.read_exact(buf)
}
