//! Squashfs file data: a file's blocks (compressed, stored plainly, or sparse) and its tail in a
//! fragment block, read at any offset through a small cache of decoded blocks so that an image
//! nested inside the squashfs can be read in small pieces without decoding a block per read.
//! The size words of the blocks, as inodes and fragment entries record them, are here too, and
//! where a long file's blocks start ([`BlockStarts`]).

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use super::compression::{self, Compressor};
use super::fragment::Fragment;
use crate::error::{lock_cache, Error, Result};
use crate::ondisk::endian::le32;
use crate::source::Source;

/// A size word's flag: the block is stored uncompressed.
pub const STORED: u32 = 1 << 24;

/// The size word of a data or fragment block: the stored size, and [`STORED`] when the block
/// is stored as it is; 0 for a sparse block (all zeros, nothing stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataSize(pub u32);

impl DataSize {
    /// The bytes the block takes in the image.
    pub fn size(self) -> u32 {
        self.0 & !STORED
    }
    /// True when the block is stored uncompressed.
    pub fn uncompressed(self) -> bool {
        self.0 & STORED != 0
    }
}

/// A file's block size words, as its inode stores them (4 bytes each, little-endian).
#[derive(Clone, Copy)]
pub struct BlockSizes<'a>(&'a [u8]);

impl<'a> BlockSizes<'a> {
    /// The words in `bytes` (a whole number of them).
    pub fn new(bytes: &'a [u8]) -> Self {
        BlockSizes(bytes)
    }
    pub fn get(self, i: usize) -> Option<DataSize> {
        le32(self.0, i.checked_mul(4)?).map(DataSize)
    }
    pub fn iter(self) -> impl Iterator<Item = DataSize> + 'a {
        self.0
            .chunks_exact(4)
            .filter_map(|w| le32(w, 0))
            .map(DataSize)
    }
    /// How many words there are.
    pub fn len(self) -> usize {
        self.0.len() / 4
    }
    /// The words from the `i`th on (none past the end).
    fn from(self, i: usize) -> BlockSizes<'a> {
        BlockSizes(self.0.get(i.saturating_mul(4)..).unwrap_or_default())
    }
    /// The bytes the first `n` blocks take in the image.
    fn stored(self, n: usize) -> u64 {
        self.iter().take(n).map(|s| u64::from(s.size())).sum()
    }
}

/// [`BlockStarts`] keeps where one block in every this many starts.
pub const STRIDE: usize = 64;

/// Where a file's blocks start, one block in every [`STRIDE`], from the first block: finding a
/// block then sums fewer than [`STRIDE`] size words, not all those before it (a file of a
/// million 4 KiB blocks read a piece at a time would sum them for every piece). Made from the
/// size words the inode holds, so its size follows the bytes read, never a field.
pub struct BlockStarts(Vec<u64>);

impl BlockStarts {
    pub fn new(sizes: BlockSizes) -> BlockStarts {
        let mut at = 0;
        let mut starts = Vec::with_capacity(sizes.len().div_ceil(STRIDE));
        for (i, s) in sizes.iter().enumerate() {
            if i % STRIDE == 0 {
                starts.push(at);
            }
            at += u64::from(s.size());
        }
        BlockStarts(starts)
    }
}

/// A file's data layout, from its inode.
pub struct FileData<'a> {
    pub size: u64,
    pub blocks_start: u64,
    pub block_sizes: BlockSizes<'a>,
    /// The fragment holding the tail, and the tail's offset in it.
    pub fragment: Option<(Fragment, u32)>,
    /// What an extended inode records of the bytes its sparse blocks stand for (0 for a basic
    /// inode); the writer keeps it.
    pub sparse: u64,
    /// Where its blocks start, for a file of more than [`STRIDE`] blocks; `None`: a block's
    /// start is the sum of the words before it.
    pub starts: Option<Arc<BlockStarts>>,
}

impl FileData<'_> {
    /// Where block `index` starts in the image.
    fn block_at(&self, index: usize) -> u64 {
        let kept = self.starts.as_ref().and_then(|s| s.0.get(index / STRIDE));
        let (first, base) = kept.map_or((0, 0), |&at| (index / STRIDE * STRIDE, at));
        self.blocks_start + base + self.block_sizes.from(first).stored(index - first)
    }
}

/// Decoded blocks recently read (data blocks, or the xattr table's metadata blocks), keyed by
/// what their decoding depended on: a position in the image, and for data blocks the size and
/// flag the inode or fragment entry gave (two entries may disagree about one position). Also
/// what else is worth keeping for the last few things read (the [`BlockStarts`] of files).
pub struct BlockCache<K, V = Vec<u8>> {
    entries: Vec<(K, Arc<V>)>,
    /// Buffers of blocks dropped from the cache that no reader held any more, decoded into
    /// again: a fresh buffer per block costs page faults, more than decoding a small block.
    spare: Vec<V>,
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

impl<K, V> Default for BlockCache<K, V> {
    fn default() -> Self {
        BlockCache {
            entries: Vec::new(),
            spare: Vec::new(),
        }
    }
}

impl<K: PartialEq, V> BlockCache<K, V> {
    pub fn get(&mut self, key: &K) -> Option<Arc<V>> {
        let i = self.entries.iter().position(|(k, _)| k == key)?;
        let e = self.entries.remove(i);
        let block = e.1.clone();
        self.entries.push(e);
        Some(block)
    }
    pub fn put(&mut self, key: K, block: Arc<V>) {
        if self.entries.len() >= CACHED_BLOCKS {
            let (_, old) = self.entries.remove(0);
            if let (Ok(buf), true) = (Arc::try_unwrap(old), self.spare.len() < SPARE_BUFFERS) {
                self.spare.push(buf);
            }
        }
        self.entries.push((key, block));
    }
}

impl<K> BlockCache<K> {
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
        let mut out = lock_cache(self.cache).buffer();
        if size.uncompressed() {
            let len = size.size() as usize;
            (self.source).read_vec_into(at, len, "squashfs data block", &mut out)?;
            return Ok(out);
        }
        with_raw(self.source, at, size, |raw| {
            compression::decompress(raw, &mut out, self.compressor)
                .map_err(|e| Error::corrupt(self.source.name(), "squashfs data block", at, e))
        })?;
        Ok(out)
    }

    /// Reads or decodes the block stored at `at` straight into `out`, which the block must
    /// fill exactly, by-passing the cache (a file read whole block by block, as an extraction
    /// does, needs no block twice). False when it cannot (a compressor decoded only into a
    /// buffer of its own, a read or decoding error, another length): the caller then takes
    /// the way through the cache, which says what is wrong.
    fn decode_into(&self, at: u64, size: DataSize, out: &mut [u8]) -> bool {
        if size.uncompressed() {
            return size.size() as usize == out.len()
                && (self.source)
                    .read_exact_at(at, out, "squashfs data block")
                    .is_ok();
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
                    let at = file.block_at(index);
                    // A whole block wanted: decoded where it goes.
                    let whole = within == 0 && n == used;
                    if !(whole && self.decode_into(at, size, out)) {
                        let block = self.block(at, size, used)?;
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

    /// A reader of `source` with 4 KiB blocks compressed with `compressor`.
    fn reader<'a>(
        source: &'a Arc<dyn Source>,
        cache: &'a Mutex<BlockCache<BlockKey>>,
        compressor: Compressor,
    ) -> DataReader<'a> {
        DataReader {
            source,
            compressor,
            block_size: 4096,
            cache,
        }
    }

    #[test]
    fn a_cached_fragment_is_checked_against_each_tail_that_uses_it() {
        let (source, cache) = eight_bytes();
        let reader = reader(&source, &cache, Compressor::Gzip);
        // An uncompressed fragment of 8 bytes; the second tail claims 8 bytes from byte 4.
        let fragment = Fragment {
            start: 0,
            size: DataSize(8 | STORED),
        };
        let tail = |offset, size| FileData {
            size,
            blocks_start: 0,
            block_sizes: BlockSizes::new(&[]),
            fragment: Some((fragment, offset)),
            sparse: 0,
            starts: None,
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
        let reader = reader(&source, &cache, Compressor::Gzip);
        let tail = |stored, offset| FileData {
            size: 4,
            blocks_start: 0,
            block_sizes: BlockSizes::new(&[]),
            fragment: Some((
                Fragment {
                    start: 0,
                    size: DataSize(stored | STORED),
                },
                offset,
            )),
            sparse: 0,
            starts: None,
        };
        let mut buf = [0; 4];
        reader.read_at(&tail(4, 0), 0, &mut buf).unwrap();
        assert_eq!(&buf, b"aaaa");
        reader.read_at(&tail(8, 4), 0, &mut buf).unwrap();
        assert_eq!(&buf, b"bbbb");
    }

    /// `blocks` compressed as squashfs stores them with `c` (zstd or lz4), end to end, and
    /// their size words as an inode stores them.
    fn packed(blocks: &[&[u8]], c: Compressor) -> (Arc<dyn Source>, Vec<u8>) {
        let mut image = Vec::new();
        let mut sizes = Vec::new();
        for b in blocks {
            let z = match c {
                Compressor::Zstd => zstd::bulk::compress(b, 3).unwrap(),
                _ => lz4_flex::block::compress(b),
            };
            sizes.extend_from_slice(&(z.len() as u32).to_le_bytes());
            image.extend_from_slice(&z);
        }
        (Arc::new(MemSource::new(image, "t.sqfs")), sizes)
    }

    /// Bytes that compress, none the same as its neighbour's.
    fn text(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| b"squashfs block "[i % 15] ^ (i / 15) as u8 ^ seed)
            .collect()
    }

    fn file(size: u64, sizes: &[u8]) -> FileData<'_> {
        FileData {
            size,
            blocks_start: 0,
            block_sizes: BlockSizes::new(sizes),
            fragment: None,
            sparse: 0,
            starts: None,
        }
    }

    #[test]
    fn whole_blocks_decoded_in_place_read_as_pieces_through_the_cache_do() {
        for c in [Compressor::Zstd, Compressor::Lz4] {
            let data = [text(4096, 1), text(4096, 2), text(1000, 3)].concat();
            let (source, sizes) = packed(&[&data[..4096], &data[4096..8192], &data[8192..]], c);
            let cache = Mutex::new(BlockCache::default());
            let reader = reader(&source, &cache, c);
            let f = file(data.len() as u64, &sizes);
            // Whole blocks (decoded where they go), then pieces (through the cache), then
            // whole again with the blocks cached.
            for (pass, piece) in [1 << 16, 1000, 1 << 16].into_iter().enumerate() {
                let mut out = vec![0; data.len()];
                for (i, chunk) in out.chunks_mut(piece).enumerate() {
                    let n = reader.read_at(&f, (i * piece) as u64, chunk).unwrap();
                    assert_eq!(n, chunk.len());
                }
                assert!(out == data, "{c:?}, pieces of {piece}");
                if pass == 0 {
                    // No block went through the cache.
                    assert!(lock_cache(&cache).entries.is_empty(), "{c:?}");
                }
            }
        }
    }

    #[test]
    fn a_block_longer_or_shorter_than_the_file_needs_reads_as_through_the_cache() {
        let data = [text(4096, 1), text(4096, 2)].concat();
        let (source, sizes) = packed(&[&data[..4096], &data[4096..]], Compressor::Zstd);
        let cache = Mutex::new(BlockCache::default());
        let zstd = reader(&source, &cache, Compressor::Zstd);
        // The second block holds 4096 bytes; a file of 4196 uses 100 of them.
        let mut buf = vec![0; 8192];
        let n = zstd.read_at(&file(4196, &sizes), 0, &mut buf).unwrap();
        assert_eq!(&buf[..n], &data[..4196]);
        // A block holding less than the file needs is refused, whichever way it is read.
        let short = [text(4096, 1), text(100, 2)].concat();
        let (source, sizes) = packed(&[&short[..4096], &short[4096..]], Compressor::Zstd);
        let cache = Mutex::new(BlockCache::default());
        let zstd = reader(&source, &cache, Compressor::Zstd);
        let err = zstd.read_at(&file(8192, &sizes), 0, &mut buf).unwrap_err();
        assert!(
            err.to_string()
                .contains("holds 100 bytes, the file needs 4096"),
            "{err}"
        );
    }

    #[test]
    fn a_long_file_reads_the_same_through_its_block_starts() {
        // 200 blocks of 16 bytes, stored as they are, each a size of its own (some sparse).
        let (mut image, mut sizes, mut data) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..200u32 {
            let block: Vec<u8> = match i % 7 {
                3 => vec![0; 16],
                _ => (0..16).map(|j| (i * 16 + j) as u8 ^ 0x5a).collect(),
            };
            let word = if i % 7 == 3 { 0 } else { 16 | STORED };
            if word != 0 {
                image.extend_from_slice(&block);
            }
            sizes.extend_from_slice(&word.to_le_bytes());
            data.extend_from_slice(&block);
        }
        let source: Arc<dyn Source> = Arc::new(MemSource::new(image, "t.sqfs"));
        let cache = Mutex::new(BlockCache::default());
        let reader = DataReader {
            block_size: 16,
            ..reader(&source, &cache, Compressor::Gzip)
        };
        let mut f = file(data.len() as u64, &sizes);
        f.starts = Some(Arc::new(BlockStarts::new(f.block_sizes)));
        for (offset, len) in [
            (0, 3200),
            (1000, 37),
            (64 * 16 - 5, 10),
            (3190, 10),
            (2048, 1),
        ] {
            let mut buf = vec![0; len];
            assert_eq!(reader.read_at(&f, offset as u64, &mut buf).unwrap(), len);
            assert!(buf == data[offset..offset + len], "{len} bytes at {offset}");
        }
    }
}
