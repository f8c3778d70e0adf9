//! A file of a mounted filesystem seen as a [`Source`], so the probe (and `file`) can look
//! inside a nested image without copying it out.

use std::sync::Arc;

use crate::error::Result;
use crate::fs::{FileSystem, Ino};
use crate::source::Source;

/// The data of one file, read through its filesystem.
pub struct FileSource {
    fs: Arc<dyn FileSystem>,
    ino: Ino,
    len: u64,
    name: String,
}

impl FileSource {
    /// The file `ino` of `fs`, `len` bytes long; `name` is used in error messages
    /// (`outer.iso:/path/inner.img`).
    pub fn new(fs: Arc<dyn FileSystem>, ino: Ino, len: u64, name: String) -> Self {
        FileSource { fs, ino, len, name }
    }
}

impl Source for FileSource {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let want = buf.len().min((self.len - offset) as usize);
        let mut done = 0;
        while done < want {
            let n = self
                .fs
                .read_at(self.ino, offset + done as u64, &mut buf[done..want])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn name(&self) -> &str {
        &self.name
    }
}
