//! Squashfs extended attributes: the xattr id table (a 16-byte
//! header at the superblock's `xattr_id_table_start`, then the image offsets of the metadata
//! blocks holding the 16-byte id entries) and the key/value area it points into (metadata
//! blocks from `kv_start`: per attribute a type, the name without its namespace prefix, and the
//! value, or for a value stored once for many files a reference to it). Read lazily, only when
//! attributes are asked for; decoded metadata blocks are kept in a small cache, so the files
//! of a tree sharing one attribute set decode its blocks once.
//!
//! Every count, reference and size is checked against the table before use: the key/value area
//! and the id blocks lie between `kv_start` and the table header, a value reference is followed
//! once (the value it names is read as a plain value), and no value is larger than the 64 KiB
//! Linux lets a file carry.

use std::sync::{Arc, Mutex, OnceLock};

use super::compression::Compressor;
use super::data::BlockCache;
use super::metadata::{self, BLOCK};
use crate::error::{lock_cache, Error, Result};
use crate::fs::Xattr;
use crate::ondisk::Fields;
use crate::source::Source;

const STRUCTURE: &str = "squashfs xattr table";
/// The size of one id entry: reference u64, count u32, size u32.
const ID_SIZE: u64 = 16;
/// The value field holds a reference to the value, stored elsewhere once.
const VALUE_OOL: u16 = 0x100;
/// Linux's largest extended attribute value (`XATTR_SIZE_MAX`).
const MAX_VALUE: u32 = 1 << 16;
/// Linux's largest list of one file's attribute names, NULs included (`XATTR_LIST_MAX`).
const MAX_NAMES: usize = 1 << 16;
/// The most value bytes one file's attributes may add up to (shared values are cheap on disc).
const MAX_VALUES: usize = 16 << 20;

/// The id table's header and block locations, read on first use.
struct Index {
    kv_start: u64,
    count: u32,
    blocks: Vec<u64>,
}

/// The xattr tables of one squashfs image.
pub struct XattrTable {
    source: Arc<dyn Source>,
    compressor: Compressor,
    /// Where the id table's header lies; the key/value area and the id blocks end there.
    table_start: u64,
    index: OnceLock<Index>,
    /// Metadata blocks by position (a block's own header gives its size).
    cache: Mutex<BlockCache<u64>>,
}

/// A read position in a run of metadata blocks lying inside `area` of the image.
struct Cursor<'a> {
    table: &'a XattrTable,
    area: (u64, u64),
    /// The image offset of the current block, its decoded bytes, and the next block's offset.
    at: u64,
    block: Arc<Vec<u8>>,
    next: u64,
    /// The read position in `block`.
    pos: usize,
}

impl XattrTable {
    /// The tables whose header the superblock places at `table_start`.
    pub fn new(source: Arc<dyn Source>, compressor: Compressor, table_start: u64) -> Self {
        XattrTable {
            source,
            compressor,
            table_start,
            index: OnceLock::new(),
            cache: Mutex::new(BlockCache::default()),
        }
    }

    /// The fields of `bytes`, read from `offset` of the image.
    fn fields<'a>(&'a self, bytes: &'a [u8], offset: u64) -> Fields<'a> {
        Fields::new(bytes, self.source.name(), STRUCTURE, offset)
    }

    fn corrupt(&self, offset: u64, detail: impl Into<String>) -> Error {
        Error::corrupt(self.source.name(), STRUCTURE, offset, detail)
    }

    fn index(&self) -> Result<&Index> {
        if let Some(index) = self.index.get() {
            return Ok(index);
        }
        let index = self.read_index()?;
        Ok(self.index.get_or_init(|| index))
    }

    fn read_index(&self) -> Result<Index> {
        let start = self.table_start;
        let header = self.source.read_vec(start, 16, STRUCTURE)?;
        let f = self.fields(&header, start);
        let (kv_start, count) = (f.le64(0)?, f.le32(8)?);
        if kv_start >= start {
            return Err(self.corrupt(
                start,
                format!("the key/value area starts at {kv_start}, not before the table"),
            ));
        }
        let blocks = (u64::from(count) * ID_SIZE).div_ceil(BLOCK as u64);
        // Every id block takes at least its 2-byte header and one byte before the table.
        if blocks * 3 > start - kv_start {
            return Err(self.corrupt(
                start,
                format!(
                    "{count} xattr ids cannot fit in the {} bytes before the table",
                    start - kv_start
                ),
            ));
        }
        let raw = self
            .source
            .read_vec(start + 16, blocks as usize * 8, STRUCTURE)?;
        let f = self.fields(&raw, start + 16);
        let blocks = (0..raw.len() / 8)
            .map(|i| f.le64(i * 8))
            .collect::<Result<Vec<u64>>>()?;
        for (i, &b) in blocks.iter().enumerate() {
            if b < kv_start || b >= start {
                return Err(self.corrupt(
                    start + 16 + i as u64 * 8,
                    format!(
                        "id block {i} at {b} lies outside the xattr table ({kv_start}..{start})"
                    ),
                ));
            }
        }
        Ok(Index {
            kv_start,
            count,
            blocks,
        })
    }

    /// The metadata block at `at` (its 2-byte header there), decoded, and where the next one
    /// starts; the block must end by `end`.
    fn block(&self, at: u64, end: u64) -> Result<(Arc<Vec<u8>>, u64)> {
        let h = metadata::header(&*self.source, at, end, STRUCTURE)?;
        let cached = lock_cache(&self.cache).get(&at);
        if let Some(block) = cached {
            return Ok((block, h.next));
        }
        let mut block = lock_cache(&self.cache).buffer();
        block.clear();
        metadata::decode(&*self.source, self.compressor, &h, STRUCTURE, &mut block)?;
        let block = Arc::new(block);
        lock_cache(&self.cache).put(at, block.clone());
        Ok((block, h.next))
    }

    /// A cursor at byte `offset` of the block at `at`, reading blocks inside `area`.
    fn cursor(&self, area: (u64, u64), at: u64, offset: usize) -> Result<Cursor<'_>> {
        if at < area.0 || at >= area.1 {
            return Err(self.corrupt(
                at,
                format!("a reference leads outside the area {}..{}", area.0, area.1),
            ));
        }
        let (block, next) = self.block(at, area.1)?;
        if offset > block.len() {
            return Err(self.corrupt(
                at,
                format!(
                    "a reference to byte {offset} of a {}-byte metadata block",
                    block.len()
                ),
            ));
        }
        Ok(Cursor {
            table: self,
            area,
            at,
            block,
            next,
            pos: offset,
        })
    }

    /// The attributes of the inode whose `xattr_index` is `index` (not [`super::inode::NO_XATTR`]).
    pub fn get(&self, index: u32) -> Result<Vec<Xattr>> {
        let ix = self.index()?;
        if index >= ix.count {
            return Err(self.corrupt(
                self.table_start,
                format!(
                    "an inode names xattr id {index}; the table holds {}",
                    ix.count
                ),
            ));
        }
        let byte = u64::from(index) * ID_SIZE;
        let block = ix.blocks[(byte / BLOCK as u64) as usize];
        let area = (ix.kv_start, self.table_start);
        let mut id = self.cursor(area, block, (byte % BLOCK as u64) as usize)?;
        let entry = id.read(ID_SIZE as usize)?;
        let f = self.fields(&entry, id.at);
        let (reference, count) = (f.le64(0)?, f.le32(8)?);
        let mut kv = self.kv_cursor(ix, reference)?;
        let mut out = Vec::new();
        let (mut names, mut values) = (0, 0);
        for _ in 0..count {
            let at = kv.at;
            let head = kv.read(4)?;
            let f = self.fields(&head, at);
            let (kind, name_size) = (f.le16(0)?, f.le16(2)?);
            let prefix: &[u8] = match kind & !VALUE_OOL {
                0 => b"user.",
                1 => b"trusted.",
                2 => b"security.",
                other => {
                    return Err(self.corrupt(at, format!("unknown xattr type {other}")));
                }
            };
            let mut name = prefix.to_vec();
            name.extend_from_slice(&kv.read(name_size.into())?);
            let value = if kind & VALUE_OOL != 0 {
                let stored = kv.value()?;
                if stored.len() != 8 {
                    return Err(self.corrupt(
                        kv.at,
                        format!("a value reference of {} bytes, not 8", stored.len()),
                    ));
                }
                // The value it leads to is read as a plain value: no chain is followed.
                let reference = self.fields(&stored, kv.at).le64(0)?;
                self.kv_cursor(ix, reference)?.value()?
            } else {
                kv.value()?
            };
            names += name.len() + 1;
            values += value.len();
            if names > MAX_NAMES || values > MAX_VALUES {
                return Err(self.corrupt(
                    at,
                    format!(
                        "xattr id {index} adds up to {names} bytes of names and {values} of \
                         values (at most {MAX_NAMES} and {MAX_VALUES})"
                    ),
                ));
            }
            out.push(Xattr { name, value });
        }
        Ok(out)
    }

    /// A cursor at `reference` (block offset from `kv_start` << 16 | offset in the block).
    fn kv_cursor(&self, ix: &Index, reference: u64) -> Result<Cursor<'_>> {
        let at = ix
            .kv_start
            .checked_add(reference >> 16)
            .ok_or_else(|| self.corrupt(self.table_start, "a reference past 2^64"))?;
        self.cursor(
            (ix.kv_start, self.table_start),
            at,
            (reference & 0xffff) as usize,
        )
    }
}

impl Cursor<'_> {
    /// The next `n` bytes, continuing into the following blocks.
    fn read(&mut self, n: usize) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            if self.pos == self.block.len() {
                let (block, next) = self.table.block(self.next, self.area.1)?;
                self.at = self.next;
                self.block = block;
                self.next = next;
                self.pos = 0;
            }
            let take = (n - out.len()).min(self.block.len() - self.pos);
            out.extend_from_slice(&self.block[self.pos..self.pos + take]);
            self.pos += take;
        }
        Ok(out)
    }

    /// A value: its u32 size, then that many bytes.
    fn value(&mut self) -> Result<Vec<u8>> {
        let at = self.at;
        let size = self.table.fields(&self.read(4)?, at).le32(0)?;
        if size > MAX_VALUE {
            return Err(self.table.corrupt(
                at,
                format!("an xattr value of {size} bytes (Linux allows {MAX_VALUE})"),
            ));
        }
        self.read(size as usize)
    }
}
