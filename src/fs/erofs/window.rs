//! A window of image bytes read once and served to the small reads that follow it: an inode,
//! its xattr body, its map header and its lcluster index are read with one positioned read
//! where they lie together, which they usually do.

use crate::source::Source;

/// The bytes of `source` at `at`.
pub struct Window<'a> {
    source: &'a dyn Source,
    at: u64,
    bytes: Vec<u8>,
}

impl<'a> Window<'a> {
    pub fn new(source: &'a dyn Source) -> Window<'a> {
        Window {
            source,
            at: 0,
            bytes: Vec::new(),
        }
    }

    /// A window holding `bytes`, read at `at` of `source` before.
    pub fn holding(source: &'a dyn Source, at: u64, bytes: Vec<u8>) -> Window<'a> {
        Window { source, at, bytes }
    }

    /// Where the bytes held were read, and the bytes.
    pub fn into_held(self) -> (u64, Vec<u8>) {
        (self.at, self.bytes)
    }

    /// The `len` bytes at `at`, read (with up to `ahead` bytes after them) unless held
    /// already; `None` when the image ends first or cannot be read.
    pub fn get(&mut self, at: u64, len: usize, ahead: usize) -> Option<&[u8]> {
        let end = at.checked_add(len as u64)?;
        let held = self.at + self.bytes.len() as u64;
        if at < self.at || end > held {
            let room = self.source.len().checked_sub(at)?;
            let want = (len.max(ahead) as u64).min(room) as usize;
            if want < len {
                return None;
            }
            self.bytes.resize(want, 0);
            let n = self.source.read_at(at, &mut self.bytes).ok()?;
            self.bytes.truncate(n);
            self.at = at;
            if n < len {
                return None;
            }
        }
        let from = (at - self.at) as usize;
        self.bytes.get(from..from + len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    #[test]
    fn one_read_serves_what_lies_within() {
        let src = MemSource::new((0..=255).collect(), "w");
        let mut w = Window::new(&src);
        assert_eq!(w.get(10, 2, 64), Some(&[10u8, 11][..]));
        assert_eq!(w.at, 10);
        assert_eq!(w.get(70, 1, 0), Some(&[70u8][..]));
        assert_eq!(w.at, 10);
        assert_eq!(w.get(5, 1, 0), Some(&[5u8][..]));
        assert_eq!(
            w.get(250, 6, 100),
            Some(&[250u8, 251, 252, 253, 254, 255][..])
        );
        assert_eq!(w.get(250, 7, 0), None);
        assert_eq!(w.get(u64::MAX, 2, 0), None);
    }
}
