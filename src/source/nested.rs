//! [`FileInFs`]: the bytes of a file inside a mounted filesystem as a [`Source`], so an image
//! held in another image can be mounted in turn. When the filesystem stores the file plainly
//! (its `spans()`), reads go straight to the parent's source at the right offsets (and so, down
//! the chain, to the outermost host file); otherwise through the filesystem's `read_at`.

use std::sync::Arc;

use super::{HostFd, Source};
use crate::data::Layout;
use crate::error::Result;
use crate::fs::{FileSystem, Ino};

/// A file of a mounted filesystem, read as an image.
pub struct FileInFs {
    fs: Arc<dyn FileSystem>,
    ino: Ino,
    len: u64,
    name: String,
    /// The file's layout, when the filesystem gives one that covers the whole file.
    layout: Option<Layout>,
}

impl FileInFs {
    /// The file `ino` of `fs`, `len` bytes long; `name` is used in error messages
    /// (`outer.iso:/LiveOS/squashfs.img`).
    pub fn new(fs: Arc<dyn FileSystem>, ino: Ino, len: u64, name: String) -> Result<Self> {
        // A layout that does not cover the file is not trusted: read through the fs.
        let layout = fs
            .spans(ino)?
            .and_then(|spans| Layout::covering(spans, len));
        Ok(FileInFs {
            fs,
            ino,
            len,
            name,
            layout,
        })
    }

    /// True when reads go straight to the parent's bytes (no decoding in between).
    pub fn is_direct(&self) -> bool {
        self.layout.is_some()
    }
}

impl Source for FileInFs {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let want = buf.len().min((self.len - offset) as usize);
        let buf = &mut buf[..want];
        match &self.layout {
            Some(layout) => layout.read_at(offset, buf),
            None => {
                let mut done = 0;
                while done < want {
                    let n = self
                        .fs
                        .read_at(self.ino, offset + done as u64, &mut buf[done..])?;
                    if n == 0 {
                        break;
                    }
                    done += n;
                }
                Ok(done)
            }
        }
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn host_file(&self) -> Option<(HostFd<'_>, u64)> {
        self.layout.as_ref().and_then(Layout::host_file)
    }
    fn in_host_file(&self) -> bool {
        self.layout.as_ref().is_some_and(Layout::in_host_file)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::FileInFs;
    use crate::data::tests::{host_source, SpansFs};
    use crate::data::Span;
    use crate::source::Source;

    fn file(fs: SpansFs, len: u64) -> FileInFs {
        FileInFs::new(Arc::new(fs), 0, len, "t".into()).unwrap()
    }

    #[test]
    fn reads_go_through_the_spans_with_holes() {
        let (_keep, src) = host_source(1000);
        let spans = vec![
            Span::source(&src, 100, 50),
            Span::Zeros(20),
            Span::source(&src, 10, 30),
        ];
        let f = file(SpansFs::new(spans), 100);
        assert!(f.is_direct());
        let mut buf = vec![0xaa; 120];
        assert_eq!(f.read_at(0, &mut buf).unwrap(), 100);
        let expected: Vec<u8> = (100..150)
            .map(|i| i as u8)
            .chain(std::iter::repeat_n(0, 20))
            .chain((10..40).map(|i| i as u8))
            .collect();
        assert_eq!(&buf[..100], &expected[..]);
        let mut mid = [0u8; 10];
        assert_eq!(f.read_at(45, &mut mid).unwrap(), 10);
        assert_eq!(&mid[..], &expected[45..55]);
        assert!(f.host_file().is_none(), "three pieces are not one range");
    }

    #[test]
    fn one_span_keeps_the_host_file_and_offset() {
        let (_keep, src) = host_source(1000);
        let f = file(SpansFs::new(vec![Span::source(&src, 300, 200)]), 200);
        let (_, base) = f.host_file().expect("a plain range of the host file");
        assert_eq!(base, 300);
    }

    #[test]
    fn spans_short_of_the_file_fall_back_to_the_filesystem() {
        let (_keep, src) = host_source(1000);
        let fs = SpansFs {
            bytes: (0..50u8).map(|b| b ^ 0xff).collect(),
            size: 50,
            ..SpansFs::new(vec![Span::source(&src, 0, 10)])
        };
        let f = file(fs, 50);
        assert!(!f.is_direct());
        let mut buf = [0u8; 4];
        f.read_at(20, &mut buf).unwrap();
        assert_eq!(buf, [20 ^ 0xff, 21 ^ 0xff, 22 ^ 0xff, 23 ^ 0xff]);
    }
}
