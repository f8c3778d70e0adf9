//! erofs-rs's [`AsyncImage`] over one of our sources, so an EROFS image is read through its
//! parent's extents wherever it sits (an ISO file, a squashfs file, a partition), and the way
//! back from the crate's errors to ours: a read error of the source travels through the crate
//! inside its `Io` variant and comes out as the error the source gave; the crate's own
//! complaints become corrupt-structure or unsupported-feature errors naming the image.

use std::future::Future;
use std::io;
use std::sync::Arc;

use erofs_rs::backend::AsyncImage;

use crate::error::{Error, Result};
use crate::fs::erofs::executor::block_on;
use crate::source::Source;

/// An EROFS image held by a [`Source`].
pub struct SourceImage(pub Arc<dyn Source>);

impl AsyncImage for SourceImage {
    async fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> erofs_rs::Result<()> {
        self.0
            .read_exact_at(offset, buf, "erofs block")
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
        let image = SourceImage(Arc::new(MemSource::new(vec![0; 100], "tiny.erofs")));
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
