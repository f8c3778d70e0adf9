//! [`FileInFs`]: the bytes of a file inside a mounted filesystem as a [`Source`], so an image
//! held in another image can be mounted in turn. When the filesystem stores the file plainly
//! (its `extents()`), reads go straight to the parent's source at the right offsets (and so, down
//! the chain, to the outermost host file); otherwise through the filesystem's `read_at`.

use std::fs::File;
use std::sync::Arc;

use super::Source;
use crate::error::Result;
use crate::fs::{Extent, FileSystem, Ino};

/// One piece of the file: where it starts in the file, and where it lies in the fs's source.
#[derive(Clone, Copy, Debug)]
struct Piece {
    file_offset: u64,
    extent: Extent,
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
        let pieces = fs.extents(ino)?.and_then(|extents| {
            let mut pieces = Vec::with_capacity(extents.len());
            let mut at = 0u64;
            for extent in extents.into_iter().filter(|e| e.len > 0) {
                pieces.push(Piece {
                    file_offset: at,
                    extent,
                });
                at = at.checked_add(extent.len)?;
            }
            // A layout that does not cover the file is not trusted: read through the fs.
            (at >= len).then_some(pieces)
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
        let mut idx = pieces.partition_point(|p| p.file_offset + p.extent.len <= offset);
        while done < buf.len() {
            let Some(piece) = pieces.get(idx) else { break };
            let pos = offset + done as u64;
            let within = pos - piece.file_offset;
            let want = (buf.len() - done).min((piece.extent.len - within) as usize);
            let out = &mut buf[done..done + want];
            let n = match piece.extent.offset {
                None => {
                    out.fill(0);
                    want
                }
                Some(at) => self.fs.source().read_at(at + within, out)?,
            };
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
            Some(
                [Piece {
                    extent:
                        Extent {
                            offset: Some(at), ..
                        },
                    ..
                }],
            ) => self
                .fs
                .source()
                .host_file()
                .map(|(file, base)| (file, base + at)),
            _ => None,
        }
    }
}
