//! [`FileInFs`]: the bytes of a file inside a mounted filesystem as a [`Source`], so an image
//! held in another image can be mounted in turn. When the filesystem stores the file plainly
//! (its `spans()`), reads go straight to the parent's source at the right offsets (and so, down
//! the chain, to the outermost host file); otherwise through the filesystem's `read_at`.

use std::fs::File;
use std::sync::Arc;

use super::Source;
use crate::data::span::{self, Span};
use crate::error::Result;
use crate::fs::{FileSystem, Ino};

/// One piece of the file: where it starts in the file, and where its bytes are.
#[derive(Clone, Debug)]
struct Piece {
    file_offset: u64,
    span: Span,
}

/// A file of a mounted filesystem, read as an image.
pub struct FileInFs {
    fs: Arc<dyn FileSystem>,
    ino: Ino,
    len: u64,
    name: String,
    /// The file's layout, when the filesystem gives one that covers the whole file.
    pieces: Option<Vec<Piece>>,
}

impl FileInFs {
    /// The file `ino` of `fs`, `len` bytes long; `name` is used in error messages
    /// (`outer.iso:/LiveOS/squashfs.img`).
    pub fn new(fs: Arc<dyn FileSystem>, ino: Ino, len: u64, name: String) -> Result<Self> {
        // A layout that does not cover the file is not trusted: read through the fs.
        let pieces = fs.spans(ino)?.and_then(|spans| {
            let mut at = 0u64;
            let spans = span::covering(spans, len)?;
            Some(
                spans
                    .into_iter()
                    .map(|span| {
                        let file_offset = at;
                        at += span.len();
                        Piece { file_offset, span }
                    })
                    .collect(),
            )
        });
        Ok(FileInFs {
            fs,
            ino,
            len,
            name,
            pieces,
        })
    }

    /// True when reads go straight to the parent's bytes (no decoding in between).
    pub fn is_direct(&self) -> bool {
        self.pieces.is_some()
    }

    fn read_pieces(&self, pieces: &[Piece], offset: u64, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        let mut idx = pieces.partition_point(|p| p.file_offset + p.span.len() <= offset);
        while done < buf.len() {
            let Some(piece) = pieces.get(idx) else { break };
            let pos = offset + done as u64;
            let within = pos - piece.file_offset;
            let want = (buf.len() - done).min((piece.span.len() - within) as usize);
            let n = piece.span.read_at(within, &mut buf[done..done + want])?;
            if n == 0 {
                break;
            }
            done += n;
            if n == want {
                idx += 1;
            }
        }
        Ok(done)
    }
}

impl Source for FileInFs {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let want = buf.len().min((self.len - offset) as usize);
        let buf = &mut buf[..want];
        match &self.pieces {
            Some(pieces) => self.read_pieces(pieces, offset, buf),
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
    fn host_file(&self) -> Option<(&File, u64)> {
        match self.pieces.as_deref() {
            Some([piece]) => piece.span.host_file(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use super::FileInFs;
    use crate::error::Result;
    use crate::fs::{DirEntry, FileSystem, Ino, Metadata, Span};
    use crate::source::{FileSource, Source};

    /// A filesystem of one file laid out as `spans`; `read_at` is never used when the spans
    /// cover the file.
    struct OneFile {
        source: Arc<dyn Source>,
        spans: Vec<Span>,
    }

    impl FileSystem for OneFile {
        fn type_name(&self) -> &'static str {
            "test"
        }
        fn source(&self) -> &Arc<dyn Source> {
            &self.source
        }
        fn label(&self) -> Option<String> {
            None
        }
        fn root(&self) -> Ino {
            0
        }
        fn metadata(&self, _: Ino) -> Result<Metadata> {
            unreachable!("not asked")
        }
        fn read_dir(&self, _: Ino) -> Result<Vec<DirEntry>> {
            Ok(Vec::new())
        }
        fn read_at(&self, _: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
            // The fallback path: the byte value is its offset's low byte, plus 1.
            for (i, b) in buf.iter_mut().enumerate() {
                *b = (offset as usize + i) as u8 ^ 0xff;
            }
            Ok(buf.len())
        }
        fn spans(&self, _: Ino) -> Result<Option<Vec<Span>>> {
            Ok(Some(self.spans.clone()))
        }
        fn info(&self) -> Vec<(String, String)> {
            Vec::new()
        }
    }

    fn host(len: usize) -> (tempfile::NamedTempFile, Arc<dyn Source>) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
        f.write_all(&bytes).unwrap();
        let src: Arc<dyn Source> = Arc::new(FileSource::open(f.path()).unwrap());
        (f, src)
    }

    fn file(source: Arc<dyn Source>, spans: Vec<Span>, len: u64) -> FileInFs {
        FileInFs::new(Arc::new(OneFile { source, spans }), 0, len, "t".into()).unwrap()
    }

    #[test]
    fn reads_go_through_the_spans_with_holes() {
        let (_keep, src) = host(1000);
        let spans = vec![
            Span::source(&src, 100, 50),
            Span::Zeros(20),
            Span::source(&src, 10, 30),
        ];
        let f = file(src, spans, 100);
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
        let (_keep, src) = host(1000);
        let f = file(src.clone(), vec![Span::source(&src, 300, 200)], 200);
        let (_, base) = f.host_file().expect("a plain range of the host file");
        assert_eq!(base, 300);
    }

    #[test]
    fn spans_short_of_the_file_fall_back_to_the_filesystem() {
        let (_keep, src) = host(1000);
        let f = file(src.clone(), vec![Span::source(&src, 0, 10)], 50);
        assert!(!f.is_direct());
        let mut buf = [0u8; 4];
        f.read_at(20, &mut buf).unwrap();
        assert_eq!(buf, [20 ^ 0xff, 21 ^ 0xff, 22 ^ 0xff, 23 ^ 0xff]);
    }
}
