//! Squashfs file data: a file's blocks (compressed, stored plainly, or sparse) and its tail in a
//! fragment block, read at any offset through a small cache of decoded blocks so that an image
//! nested inside the squashfs can be read in small pieces without decoding a block per read.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use backhand::compression::Compressor;
use backhand::{DataSize, Fragment};

use super::compression;
use crate::error::{lock_cache, Error, Result};
use crate::source::Source;

/// A file's data layout, from its inode.
pub struct FileData<'a> {
    pub size: u64,
    pub blocks_start: u64,
    pub block_sizes: &'a [DataSize],
    /// The fragment holding the tail, and the tail's offset in it.
    pub fragment: Option<(Fragment, u32)>,
    /// What an extended inode records of the bytes its sparse blocks stand for (0 for a basic
    /// inode); the writer keeps it.
    pub sparse: u64,
}

/// Decoded blocks recently read (data blocks, or the xattr table's metadata blocks), keyed by
/// what their decoding depended on: a position in the image, and for data blocks the size and
/// flag the inode or fragment entry gave (two entries may disagree about one position).
pub struct BlockCache<K> {
    entries: Vec<(K, Arc<Vec<u8>>)>,
    /// Buffers of blocks dropped from the cache that no reader held any more, decoded into
    /// again: a fresh buffer per block costs page faults, more than decoding a small block.
    spare: Vec<Vec<u8>>,
}

/// A data block: where it lies and what its pointer says it is.
#[derive(PartialEq)]
pub struct BlockKey {
    at: u64,
    size: u32,
    uncompressed: bool,
}

const CACHED_BLOCKS: usize = 16;

/// The most buffers kept spare.
const SPARE_BUFFERS: usize = 4;

impl<K> Default for BlockCache<K> {
    fn default() -> Self {
        BlockCache {
            entries: Vec::new(),
            spare: Vec::new(),
        }
    }
}

impl<K: PartialEq> BlockCache<K> {
    pub fn get(&mut self, key: &K) -> Option<Arc<Vec<u8>>> {
        let i = self.entries.iter().position(|(k, _)| k == key)?;
        let e = self.entries.remove(i);
        let block = e.1.clone();
        self.entries.push(e);
        Some(block)
    }
    pub fn put(&mut self, key: K, block: Arc<Vec<u8>>) {
        if self.entries.len() >= CACHED_BLOCKS {
            let (_, old) = self.entries.remove(0);
            if let (Ok(buf), true) = (Arc::try_unwrap(old), self.spare.len() < SPARE_BUFFERS) {
                self.spare.push(buf);
            }
        }
        self.entries.push((key, block));
    }

    /// A buffer to decode a block into: one a dropped block left, else a new one.
    pub fn buffer(&mut self) -> Vec<u8> {
        self.spare.pop().unwrap_or_default()
    }
}

/// Reads data blocks of one squashfs image.
pub struct DataReader<'a> {
    pub source: &'a Arc<dyn Source>,
    pub compressor: Compressor,
    pub block_size: u32,
    pub cache: &'a Mutex<BlockCache<BlockKey>>,
}

impl DataReader<'_> {
    /// The decoded block stored at `at` (`size` on disc, with its uncompressed flag), holding
    /// at least `expect` bytes. The length is checked on every use, cached or not: a block
    /// (a fragment above all) is shared by files that need different lengths of it.
    fn block(&self, at: u64, size: DataSize, expect: usize) -> Result<Arc<Vec<u8>>> {
        let key = BlockKey {
            at,
            size: size.size(),
            uncompressed: size.uncompressed(),
        };
        let cached = lock_cache(self.cache).get(&key);
        let block = match cached {
            Some(block) => block,
            None => {
                let block = Arc::new(self.decode(at, size)?);
                lock_cache(self.cache).put(key, block.clone());
                block
            }
        };
        if block.len() < expect {
            return Err(Error::corrupt(
                self.source.name(),
                "squashfs data block",
                at,
                format!("holds {} bytes, the file needs {expect}", block.len()),
            ));
        }
        Ok(block)
    }

    /// Reads and decodes the block stored at `at`.
    fn decode(&self, at: u64, size: DataSize) -> Result<Vec<u8>> {
        if size.uncompressed() {
            return self
                .source
                .read_vec(at, size.size() as usize, "squashfs data block");
        }
        let mut out = lock_cache(self.cache).buffer();
        with_raw(self.source, at, size, |raw| {
            compression::decompress(raw, &mut out, self.compressor)
                .map_err(|e| Error::corrupt(self.source.name(), "squashfs data block", at, e))
        })?;
        Ok(out)
    }

    /// Decodes the compressed block stored at `at` straight into `out`, which the block must
    /// fill exactly, by-passing the cache (a file read whole block by block, as an extraction
    /// does, needs no block twice). False when it cannot (a block stored plainly, a
    /// compressor decoded only into a buffer of its own, a read or decoding error, another
    /// length): the caller then takes the way through the cache, which says what is wrong.
    fn decode_into(&self, at: u64, size: DataSize, out: &mut [u8]) -> bool {
        if size.uncompressed() {
            return false;
        }
        let decoded = with_raw(self.source, at, size, |raw| {
            Ok(compression::decompress_into(raw, out, self.compressor))
        });
        matches!(decoded, Ok(Some(n)) if n == out.len())
    }

    /// Reads file data at `offset`; returns fewer bytes than asked only at the end of the file.
    pub fn read_at(&self, file: &FileData, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= file.size {
            return Ok(0);
        }
        let bs = u64::from(self.block_size);
        let want = buf.len().min((file.size - offset) as usize);
        let mut done = 0;
        while done < want {
            let pos = offset + done as u64;
            let index = (pos / bs) as usize;
            let within = (pos % bs) as usize;
            // The bytes of this block the file uses.
            let used = (file.size - index as u64 * bs).min(bs) as usize;
            let n = (want - done).min(used - within);
            let out = &mut buf[done..done + n];
            if let Some(size) = file.block_sizes.get(index) {
                if size.size() == 0 {
                    out.fill(0);
                } else {
                    let at = file.blocks_start
                        + file.block_sizes[..index]
                            .iter()
                            .map(|s| u64::from(s.size()))
                            .sum::<u64>();
                    // A whole block wanted: decoded where it goes.
                    let whole = within == 0 && n == used;
                    if !(whole && self.decode_into(at, *size, out)) {
                        let block = self.block(at, *size, used)?;
                        out.copy_from_slice(&block[within..within + n]);
                    }
                }
            } else {
                let Some((fragment, tail_at)) = &file.fragment else {
                    return Err(Error::corrupt(
                        self.source.name(),
                        "squashfs file inode",
                        file.blocks_start,
                        format!("block {index} is neither stored nor in a fragment"),
                    ));
                };
                let start = *tail_at as usize;
                let block = self.block(fragment.start, fragment.size, start + used)?;
                out.copy_from_slice(&block[start + within..start + within + n]);
            }
            done += n;
        }
        Ok(done)
    }
}

/// Runs `f` on the `size.size()` stored bytes of the block at `at`, read into a buffer this
/// thread keeps from block to block (a fresh one per block costs page faults). The buffer is
/// taken out while in use: a block read while another is (a squashfs inside a squashfs) reads
/// into one of its own.
fn with_raw<T>(
    source: &Arc<dyn Source>,
    at: u64,
    size: DataSize,
    f: impl FnOnce(&[u8]) -> Result<T>,
) -> Result<T> {
    thread_local! {
        static RAW: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    let mut raw = RAW.with(|r| std::mem::take(&mut *r.borrow_mut()));
    let read = source.read_vec_into(at, size.size() as usize, "squashfs data block", &mut raw);
    let r = read.and_then(|()| f(&raw));
    RAW.with(|r| *r.borrow_mut() = raw);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    /// An image of 8 uncompressed bytes, `aaaabbbb`, and an empty block cache.
    fn eight_bytes() -> (Arc<dyn Source>, Mutex<BlockCache<BlockKey>>) {
        let source = Arc::new(MemSource::new(b"aaaabbbb".to_vec(), "t.sqfs"));
        (source, Mutex::new(BlockCache::default()))
    }

    /// A reader of `source` with 4 KiB blocks.
    fn reader<'a>(
        source: &'a Arc<dyn Source>,
        cache: &'a Mutex<BlockCache<BlockKey>>,
    ) -> DataReader<'a> {
        DataReader {
            source,
            compressor: Compressor::Gzip,
            block_size: 4096,
            cache,
        }
    }

    #[test]
    fn a_cached_fragment_is_checked_against_each_tail_that_uses_it() {
        let (source, cache) = eight_bytes();
        let reader = reader(&source, &cache);
        // An uncompressed fragment of 8 bytes; the second tail claims 8 bytes from byte 4.
        let fragment = Fragment::new(0, DataSize::new_uncompressed(8), 0);
        let tail = |offset, size| FileData {
            size,
            blocks_start: 0,
            block_sizes: &[],
            fragment: Some((fragment, offset)),
            sparse: 0,
        };
        let mut buf = [0; 16];
        assert_eq!(reader.read_at(&tail(0, 4), 0, &mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"aaaa");
        let err = reader.read_at(&tail(4, 8), 0, &mut buf).unwrap_err();
        assert!(
            err.to_string().contains(
                "t.sqfs: corrupt squashfs data block at offset 0: holds 8 bytes, the file needs 12"
            ),
            "{err}"
        );
    }

    #[test]
    fn pointers_that_disagree_about_a_block_each_get_their_own_decoding() {
        let (source, cache) = eight_bytes();
        let reader = reader(&source, &cache);
        let tail = |stored, offset| FileData {
            size: 4,
            blocks_start: 0,
            block_sizes: &[],
            fragment: Some((
                Fragment::new(0, DataSize::new_uncompressed(stored), 0),
                offset,
            )),
            sparse: 0,
        };
        let mut buf = [0; 4];
        reader.read_at(&tail(4, 0), 0, &mut buf).unwrap();
        assert_eq!(&buf, b"aaaa");
        reader.read_at(&tail(8, 4), 0, &mut buf).unwrap();
        assert_eq!(&buf, b"bbbb");
    }
}
