//! The copy of a FAT image the writer edits through fatfs: held in memory up to
//! [`IN_MEMORY`] bytes, in an anonymous temporary file above, and handed on as the new
//! image's bytes (one span of a [`Plan`]) once fatfs is done with it.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use crate::data::Span;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::source::{FileSource, Source};

/// The largest image copied into memory.
pub(super) const IN_MEMORY: u64 = 256 << 20;

/// Bytes copied at a time into a temporary file.
const CHUNK: usize = 1 << 20;

/// The bytes fatfs reads and writes.
pub(super) enum Scratch {
    Memory(Cursor<Vec<u8>>),
    File(File),
}

impl Scratch {
    /// `len` zero bytes (a volume to format), named `name` in errors.
    pub(super) fn zeros(len: u64, name: &str) -> Result<Scratch> {
        if len <= IN_MEMORY {
            return Ok(Scratch::Memory(Cursor::new(vec![0; len as usize])));
        }
        let file = tempfile::tempfile().map_err(|e| Error::io(name, e))?;
        file.set_len(len).map_err(|e| Error::io(name, e))?;
        Ok(Scratch::File(file))
    }

    /// A copy of every byte of `source`.
    pub(super) fn copy_of(source: &dyn Source) -> Result<Scratch> {
        let len = source.len();
        let mut scratch = Scratch::zeros(len, source.name())?;
        match &mut scratch {
            Scratch::Memory(c) => source.read_exact_at(0, c.get_mut(), "FAT image")?,
            Scratch::File(file) => {
                let mut buf = vec![0; CHUNK];
                let mut at = 0;
                while at < len {
                    let n = CHUNK.min((len - at) as usize);
                    source.read_exact_at(at, &mut buf[..n], "FAT image")?;
                    file.write_all(&buf[..n])
                        .map_err(|e| Error::io(source.name(), e))?;
                    at += n as u64;
                }
                file.rewind().map_err(|e| Error::io(source.name(), e))?;
            }
        }
        Ok(scratch)
    }

    /// The bytes as the whole of a plan; `name` names them in errors.
    pub(super) fn into_plan(self, name: String) -> Result<Plan> {
        let mut plan = Plan::new();
        match self {
            Scratch::Memory(c) => {
                plan.push_bytes(c.into_inner());
            }
            Scratch::File(file) => {
                let source = FileSource::from_file(file, name)?;
                let len = source.len();
                plan.push(Span::Source {
                    source: Arc::new(source),
                    offset: 0,
                    len,
                });
            }
        }
        Ok(plan)
    }
}

impl Read for Scratch {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Scratch::Memory(c) => c.read(buf),
            Scratch::File(f) => f.read(buf),
        }
    }
}

impl Write for Scratch {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Scratch::Memory(c) => c.write(buf),
            Scratch::File(f) => f.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Scratch::Memory(_) => Ok(()),
            Scratch::File(f) => f.flush(),
        }
    }
}

impl Seek for Scratch {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Scratch::Memory(c) => c.seek(pos),
            Scratch::File(f) => f.seek(pos),
        }
    }
}
