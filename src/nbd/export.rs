//! [`Export`]: what the server serves: any [`Source`] of known length, its zero extents (the
//! `Zeros` spans of a [`Plan`], for block status and for holes in structured reads), its
//! export name, and, when writable, the copy-on-write [`Overlay`] the writes go to.

use std::io;
use std::sync::{Arc, RwLock};

use super::overlay::Overlay;
use super::BLOCK;
use crate::data::Span;
use crate::plan::Plan;
use crate::source::Source;

/// An image served over NBD.
pub struct Export {
    name: String,
    source: Arc<dyn Source>,
    /// Ranges (start, end) that read as zeros: sorted, apart, whole blocks.
    zeros: Vec<(u64, u64)>,
    overlay: Option<RwLock<Overlay>>,
}

impl Export {
    /// `source` served read-only under the default (empty) export name; `zeros` are the
    /// (offset, length) ranges known to read as zeros (only their whole [`BLOCK`]s count).
    pub fn new(source: Arc<dyn Source>, zeros: impl IntoIterator<Item = (u64, u64)>) -> Export {
        let block = u64::from(BLOCK);
        let len = source.len();
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for (offset, n) in zeros {
            let start = offset.next_multiple_of(block);
            let end = offset.saturating_add(n).min(len);
            let end = if end == len { end } else { end / block * block };
            if start >= end {
                continue;
            }
            match runs.last_mut() {
                Some(last) if last.1 >= start => last.1 = last.1.max(end),
                _ => runs.push((start, end)),
            }
        }
        Export {
            name: String::new(),
            source,
            zeros: runs,
            overlay: None,
        }
    }

    /// The image `plan` describes, named `name` in messages, with its `Zeros` spans as zero
    /// extents.
    pub fn from_plan(plan: Plan, name: String) -> Export {
        let mut at = 0u64;
        let mut zeros = Vec::new();
        for span in plan.spans() {
            if let Span::Zeros(n) = span {
                zeros.push((at, *n));
            }
            at += span.len();
        }
        Export::new(plan.into_source(name), zeros)
    }

    /// The export under name `name` (clients ask for it, or for the default, empty, name).
    pub fn named(self, name: String) -> Export {
        Export { name, ..self }
    }

    /// The export, writable: writes go to a copy-on-write overlay in a temporary file.
    pub fn writable(self) -> io::Result<Export> {
        let overlay = Overlay::new(self.len())?;
        Ok(Export {
            overlay: Some(RwLock::new(overlay)),
            ..self
        })
    }

    /// The export name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True when a client asking for export `name` gets this one.
    pub fn answers_to(&self, name: &[u8]) -> bool {
        name.is_empty() || name == self.name.as_bytes()
    }

    /// What the image is, for clients that ask (the source's name).
    pub fn description(&self) -> &str {
        self.source.name()
    }

    /// The size in bytes.
    pub fn len(&self) -> u64 {
        self.source.len()
    }

    /// True for an empty image.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when clients may write (to the overlay).
    pub fn is_writable(&self) -> bool {
        self.overlay.is_some()
    }

    fn overlay(&self) -> Option<io::Result<std::sync::RwLockReadGuard<'_, Overlay>>> {
        let lock = self.overlay.as_ref()?;
        Some(lock.read().map_err(|_| poisoned()))
    }

    /// Fills `buf` from `offset` (inside the image): the written blocks from the overlay,
    /// the rest from the source.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let Some(overlay) = self.overlay() else {
            return self.read_base(offset, buf);
        };
        let overlay = overlay?;
        let end = offset + buf.len() as u64;
        let mut at = offset;
        while at < end {
            let (written, stop) = overlay.run(at, end);
            let part = &mut buf[(at - offset) as usize..(stop - offset) as usize];
            match written {
                true => overlay.read(at, part)?,
                false => self.read_base(at, part)?,
            }
            at = stop;
        }
        Ok(())
    }

    /// Fills `buf` from the source at `offset`.
    fn read_base(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            match self.source.read_at(at, &mut buf[done..]) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("{}: the image ends at byte {at}", self.source.name()),
                    ))
                }
                Ok(n) => done += n,
                Err(e) => return Err(io::Error::other(e.to_string())),
            }
        }
        Ok(())
    }

    /// Writes `data` at `offset` (inside the image) to the overlay; `PermissionDenied` when
    /// the export is read-only.
    pub fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let Some(lock) = &self.overlay else {
            return Err(io::ErrorKind::PermissionDenied.into());
        };
        if data.is_empty() {
            return Ok(());
        }
        let mut overlay = lock.write().map_err(|_| poisoned())?;
        overlay.write(offset, data, &|at, buf| self.read_base(at, buf))
    }

    /// Writes `len` zero bytes at `offset`, a bounded buffer at a time.
    pub fn write_zeroes(&self, offset: u64, len: u64) -> io::Result<()> {
        let zeros = vec![0u8; len.min(1 << 20) as usize];
        let mut at = offset;
        while at < offset + len {
            let n = (offset + len - at).min(zeros.len() as u64);
            self.write(at, &zeros[..n as usize])?;
            at += n;
        }
        Ok(())
    }

    /// Whether byte `at` reads as zeros from the base (no data), and where the run of bytes
    /// in that state ends (at most `end`); written blocks are data.
    fn run(&self, at: u64, end: u64) -> io::Result<(bool, u64)> {
        let mut end = end;
        if let Some(overlay) = self.overlay() {
            let (written, stop) = overlay?.run(at, end);
            if written {
                return Ok((false, stop));
            }
            end = stop;
        }
        let i = self.zeros.partition_point(|z| z.1 <= at);
        Ok(match self.zeros.get(i) {
            Some(&(start, stop)) if start <= at => (true, stop.min(end)),
            Some(&(start, _)) => (false, start.min(end)),
            None => (false, end),
        })
    }

    /// The extents of bytes `offset..end` (inside the image) from `offset` on, as
    /// (length, zero) pairs, at most `max` of them (the rest, if any, left for another ask).
    pub fn extents(&self, offset: u64, end: u64, max: usize) -> io::Result<Vec<(u64, bool)>> {
        let mut out: Vec<(u64, bool)> = Vec::new();
        let mut at = offset;
        while at < end {
            let (zero, stop) = self.run(at, end)?;
            let full = out.len() == max;
            match out.last_mut() {
                Some(last) if last.1 == zero => last.0 += stop - at,
                _ if full => break,
                _ => out.push((stop - at, zero)),
            }
            at = stop;
        }
        Ok(out)
    }
}

fn poisoned() -> io::Error {
    io::Error::other("the write overlay was poisoned by an earlier panic")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    fn export() -> Export {
        let block = BLOCK as u64;
        let mut plan = Plan::new();
        plan.push_bytes(vec![1; 100]);
        plan.push(Span::Zeros(3 * block - 100)); // blocks 1 and 2 are whole zeros
        plan.push_bytes(vec![2; BLOCK as usize]);
        plan.push(Span::Zeros(block + 7)); // the last one reaches the end
        Export::from_plan(plan, "test.iso".into())
    }

    #[test]
    fn zero_extents_are_the_plans_whole_zero_blocks() {
        let block = BLOCK as u64;
        let e = export();
        assert_eq!(e.zeros, [(block, 3 * block), (4 * block, 5 * block + 7)]);
        let all = e.extents(0, e.len(), 100).unwrap();
        assert_eq!(
            all,
            [
                (block, false),
                (2 * block, true),
                (block, false),
                (block + 7, true)
            ]
        );
        assert_eq!(
            e.extents(10, 2 * block, 100).unwrap(),
            [(block - 10, false), (block, true)]
        );
        assert_eq!(e.extents(0, e.len(), 1).unwrap(), [(block, false)]);
    }

    #[test]
    fn writes_land_in_the_overlay_and_turn_zeros_into_data() {
        let block = BLOCK as u64;
        let ro = export();
        assert_eq!(
            ro.write(0, b"x").unwrap_err().kind(),
            io::ErrorKind::PermissionDenied
        );
        let e = export().writable().unwrap();
        e.write(block + 1, b"hello").unwrap();
        let mut buf = vec![9u8; 8];
        e.read(block - 1, &mut buf).unwrap();
        assert_eq!(buf, [0, 0, b'h', b'e', b'l', b'l', b'o', 0]);
        assert_eq!(
            e.extents(0, 3 * block, 100).unwrap(),
            [(2 * block, false), (block, true)]
        );
        e.write_zeroes(50, 10).unwrap();
        let mut head = [0u8; 3];
        e.read(49, &mut head).unwrap();
        assert_eq!(head, [1, 0, 0]);
        let mem = Export::new(Arc::new(MemSource::new(vec![5; 10], "m")), [(0, 10)]);
        assert_eq!(mem.zeros, [(0, 10)]);
    }
}
