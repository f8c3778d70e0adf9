//! erofs-rs's [`AsyncImage`] over one of our sources, so an EROFS image is read through its
//! parent's extents wherever it sits (an ISO file, a squashfs file, a partition), and the way
//! back from the crate's errors to ours: a read error of the source travels through the crate
//! inside its `Io` variant and comes out as the error the source gave; the crate's own
//! complaints become corrupt-structure or unsupported-feature errors naming the image.
//!
//! The crate reads metadata in small pieces (an inode, a dirent block, an xattr), one
//! positioned read each: small reads are served from the last few 4 KiB blocks read, so the
//! inodes of one directory, which lie together, cost a read or two rather than one each.

use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};

use erofs_rs::backend::AsyncImage;

use crate::error::{lock_cache, Error, Result};
use crate::fs::erofs::executor::block_on;
use crate::source::Source;

/// Bytes of a block kept for small reads.
const BLOCK: u64 = 4096;
/// Blocks kept (the most recently read last).
const KEPT: usize = 16;

/// An EROFS image held by a [`Source`], with the blocks small reads came from.
pub struct SourceImage {
    source: Arc<dyn Source>,
    kept: Mutex<Vec<(u64, Arc<[u8]>)>>,
}

impl SourceImage {
    pub fn new(source: Arc<dyn Source>) -> SourceImage {
        SourceImage {
            source,
            kept: Mutex::new(Vec::new()),
        }
    }

    /// The whole block `n`, kept or read (and kept); `None` when the image ends within it.
    fn block(&self, n: u64) -> Result<Option<Arc<[u8]>>> {
        if let Some((_, b)) = lock_cache(&self.kept).iter().find(|(at, _)| *at == n) {
            return Ok(Some(b.clone()));
        }
        let at = n * BLOCK;
        if self.source.len().saturating_sub(at) < BLOCK {
            return Ok(None);
        }
        let b: Arc<[u8]> = self
            .source
            .read_vec(at, BLOCK as usize, "erofs block")?
            .into();
        let mut kept = lock_cache(&self.kept);
        if kept.len() == KEPT {
            kept.remove(0);
        }
        kept.push((n, b.clone()));
        Ok(Some(b))
    }

    fn read(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        let n = offset / BLOCK;
        let within = (offset % BLOCK) as usize;
        if within + buf.len() <= BLOCK as usize {
            if let Some(b) = self.block(n)? {
                buf.copy_from_slice(&b[within..within + buf.len()]);
                return Ok(());
            }
        }
        self.source.read_exact_at(offset, buf, "erofs block")
    }
}

impl AsyncImage for SourceImage {
    async fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> erofs_rs::Result<()> {
        self.read(buf, offset)
            .map_err(|e| erofs_rs::Error::Io(io::Error::other(e)))
    }
}

/// Our error for one of the crate's, met while reading `structure` at `offset` of `image`.
pub fn map_err(image: &str, structure: &'static str, offset: u64, e: erofs_rs::Error) -> Error {
    use erofs_rs::Error as E;
    match e {
        E::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<Error>()) => {
            match io.into_inner().map(|inner| inner.downcast::<Error>()) {
                Some(Ok(ours)) => *ours,
                _ => Error::corrupt(image, structure, offset, "read failed"),
            }
        }
        E::Io(io) => Error::io(image, io),
        E::NotSupported(what) => Error::unsupported(image, format!("EROFS {what}")),
        other => Error::corrupt(image, structure, offset, other.to_string()),
    }
}

/// Runs one of the crate's operations to its end; its errors as [`map_err`] makes them.
pub fn run<T>(
    image: &str,
    structure: &'static str,
    offset: u64,
    fut: impl Future<Output = erofs_rs::Result<T>>,
) -> Result<T> {
    block_on(fut)
        .ok_or_else(|| {
            Error::corrupt(
                image,
                structure,
                offset,
                "the EROFS reader waited for a read that never completes",
            )
        })?
        .map_err(|e| map_err(image, structure, offset, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    #[test]
    fn a_short_source_says_so_through_the_crate() {
        let image = SourceImage::new(Arc::new(MemSource::new(vec![0; 100], "tiny.erofs")));
        let mut buf = [0u8; 16];
        let err = run(
            "tiny.erofs",
            "erofs superblock",
            1024,
            image.read_exact_at(&mut buf, 1024),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("tiny.erofs: corrupt erofs block"), "{msg}");
    }

    #[test]
    fn small_reads_come_from_kept_blocks_and_the_rest_from_the_source() {
        let bytes: Vec<u8> = (0..3 * BLOCK + 100).map(|i| (i % 251) as u8).collect();
        let image = SourceImage::new(Arc::new(MemSource::new(bytes.clone(), "x.erofs")));
        for (at, len) in [
            (10, 20),
            (4090, 6),
            (4090, 12),
            (3 * BLOCK + 50, 50),
            (0, 9000),
        ] {
            let mut buf = vec![0u8; len];
            image.read(&mut buf, at).unwrap();
            assert_eq!(buf, bytes[at as usize..at as usize + len], "{at}+{len}");
        }
        assert_eq!(lock_cache(&image.kept).len(), 1);
        let mut buf = [0u8; 51];
        assert!(image.read(&mut buf, 3 * BLOCK + 50).is_err());
    }

    #[test]
    fn crate_errors_name_image_structure_and_offset() {
        let e = map_err(
            "x.erofs",
            "erofs inode",
            4096,
            erofs_rs::Error::CorruptedData("bad".into()),
        );
        assert_eq!(
            e.to_string(),
            "x.erofs: corrupt erofs inode at offset 4096: corrupted data: bad"
        );
        let e = map_err(
            "x.erofs",
            "erofs inode",
            0,
            erofs_rs::Error::NotSupported("lzo".into()),
        );
        assert_eq!(e.to_string(), "x.erofs: unsupported EROFS lzo");
    }
}
