//! ISO 9660 (ECMA-119) with Rock Ridge, Joliet, ISO 9660:1999 and zisofs.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::fs::{DirEntry, FileSystem, Ino, Metadata, MountOptions};
use crate::source::Source;

/// An opened ISO 9660 volume.
pub struct IsoFs {
    source: Arc<dyn Source>,
}

impl IsoFs {
    /// Reads the volume descriptors of `source` and picks the tree to show.
    pub fn open(source: Arc<dyn Source>, _options: &MountOptions) -> Result<Self> {
        Err(Error::unsupported(
            source.name(),
            "iso9660 (reader not written yet)",
        ))
    }
}

impl FileSystem for IsoFs {
    fn type_name(&self) -> &'static str {
        "iso9660"
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
    fn metadata(&self, _ino: Ino) -> Result<Metadata> {
        unimplemented!()
    }
    fn read_dir(&self, _dir: Ino) -> Result<Vec<DirEntry>> {
        unimplemented!()
    }
    fn read_at(&self, _ino: Ino, _offset: u64, _buf: &mut [u8]) -> Result<usize> {
        unimplemented!()
    }
    fn info(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}
