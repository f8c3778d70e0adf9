//! The inode table and its inodes. The table is decoded whole when the image is opened (the
//! metadata blocks from the superblock's `inode_table` to its `dir_table`: 1 to 2 MB for
//! 40,000 inodes), then scanned once for where each inode starts, by number; an inode is
//! parsed from the table's bytes only when it is asked for, into a view that borrows from
//! them ([`Inode`]: a file's block size words and a symlink's target are slices of the table).
//!
//! The scan walks the table inode by inode: each inode's type and fields give its length
//! (a file's block count is its size over the block size, rounded up without a fragment and
//! down with one; an extended directory's index entries; the extended types' xattr field).
//! An inode whose number is 0, past the superblock's count, or met before is an error of that
//! inode alone: the image opens, and asking for that number gives the error. An inode of an
//! unknown type, or whose fields run past the table, ends the scan (what follows it cannot be
//! found): the image still opens, and asking for a number the scan did not reach gives that
//! error. The root is found by the superblock's reference, not by its number.

use super::compression::Compressor;
use super::data::BlockSizes;
use super::metadata::Run;
use super::superblock::Superblock;
use crate::error::{Error, Result};
use crate::ondisk::Fields;
use crate::source::Source;

/// The basic inode types; each extended type is its basic type plus [`EXTENDED`].
pub const DIR: u16 = 1;
pub const FILE: u16 = 2;
pub const SYMLINK: u16 = 3;
pub const BLOCK_DEV: u16 = 4;
pub const CHAR_DEV: u16 = 5;
pub const FIFO: u16 = 6;
pub const SOCKET: u16 = 7;
pub const EXTENDED: u16 = 7;
const EXT_DIR: u16 = DIR + EXTENDED;
const EXT_FILE: u16 = FILE + EXTENDED;
const EXT_SYMLINK: u16 = SYMLINK + EXTENDED;
const EXT_BLOCK_DEV: u16 = BLOCK_DEV + EXTENDED;
const EXT_CHAR_DEV: u16 = CHAR_DEV + EXTENDED;
const EXT_FIFO: u16 = FIFO + EXTENDED;
const EXT_SOCKET: u16 = SOCKET + EXTENDED;

/// A file's fragment field when its tail lies in no fragment.
pub const NO_FRAGMENT: u32 = u32::MAX;
/// An inode's xattr field when it has no extended attributes (and a basic inode's, which has
/// no such field).
pub const NO_XATTR: u32 = u32::MAX;

const STRUCTURE: &str = "squashfs inode table (decompressed)";
/// The smallest inode: a basic fifo or socket (the 16-byte header, a link count).
const SMALLEST: usize = 20;
/// `starts` entries: no inode has the number; more than one has it.
const ABSENT: u32 = u32::MAX;
const DUPLICATE: u32 = u32::MAX - 1;

/// One inode, borrowing from the table.
pub struct Inode<'a> {
    /// The permission bits.
    pub mode: u16,
    /// Indices into the id table.
    pub uid: u16,
    pub gid: u16,
    pub mtime: u32,
    pub number: u32,
    pub nlink: u32,
    /// The xattr id, or [`NO_XATTR`].
    pub xattr: u32,
    pub body: Body<'a>,
}

/// What an inode says besides its header.
pub enum Body<'a> {
    Dir {
        /// The listing's place in the directory table (block offset, offset in the block).
        block: u32,
        offset: u16,
        /// The listing's size plus 3.
        size: u32,
    },
    File(File<'a>),
    Symlink(&'a [u8]),
    Device {
        block: bool,
        /// The kernel's `new_encode_dev` number.
        rdev: u32,
    },
    Fifo,
    Socket,
}

/// A regular file's data, as its inode records it.
pub struct File<'a> {
    pub blocks_start: u64,
    pub size: u64,
    /// What an extended inode records of the bytes its sparse blocks stand for (0 for a basic
    /// inode).
    pub sparse: u64,
    /// The fragment holding the tail ([`NO_FRAGMENT`] for none), and the tail's offset in it.
    pub fragment: u32,
    pub tail: u32,
    pub blocks: BlockSizes<'a>,
}

/// The `len` bytes at `at` of the inode `f` holds, which must lie in the table.
fn rest<'a>(f: &Fields<'a>, at: usize, len: u64, what: &str) -> Result<&'a [u8]> {
    let left = f.bytes.len().saturating_sub(at);
    usize::try_from(len)
        .ok()
        .filter(|&len| len <= left)
        .map(|len| &f.bytes[at..at + len])
        .ok_or_else(|| {
            f.corrupt(format!(
                "{what} of {len} bytes at +{at} runs past the end of the table ({left} bytes left)"
            ))
        })
}

impl<'a> Inode<'a> {
    /// The inode at the start of `f`'s bytes (the rest of the table), and its length.
    fn parse(f: &Fields<'a>, block_size: u32) -> Result<(Inode<'a>, usize)> {
        let kind = f.le16(0)?;
        let nlink = f.le32(16)?;
        let file = |at: usize, blocks_start, size, (fragment, tail), sparse| {
            let bs = u64::from(block_size);
            let count = match fragment {
                NO_FRAGMENT => u64::div_ceil(size, bs),
                _ => size / bs,
            };
            let words = rest(f, at, count * 4, "the block sizes")?;
            let blocks = BlockSizes::new(words);
            let file = File {
                blocks_start,
                size,
                sparse,
                fragment,
                tail,
                blocks,
            };
            Ok::<_, Error>((Body::File(file), at + words.len()))
        };
        let device = |block| {
            Ok::<_, Error>(Body::Device {
                block,
                rdev: f.le32(20)?,
            })
        };
        let (body, nlink, xattr, len) = match kind {
            DIR => {
                let (block, size, offset) = (f.le32(16)?, f.le16(24)?, f.le16(26)?);
                let size = u32::from(size);
                (
                    Body::Dir {
                        block,
                        offset,
                        size,
                    },
                    f.le32(20)?,
                    NO_XATTR,
                    32,
                )
            }
            FILE => {
                let (start, fragment) = (f.le32(16)?, (f.le32(20)?, f.le32(24)?));
                let (body, len) = file(32, start.into(), f.le32(28)?.into(), fragment, 0)?;
                (body, 1, NO_XATTR, len)
            }
            SYMLINK => {
                let target = rest(f, 24, f.le32(20)?.into(), "a symlink target")?;
                (Body::Symlink(target), nlink, NO_XATTR, 24 + target.len())
            }
            BLOCK_DEV | CHAR_DEV => (device(kind == BLOCK_DEV)?, nlink, NO_XATTR, 24),
            FIFO => (Body::Fifo, nlink, NO_XATTR, 20),
            SOCKET => (Body::Socket, nlink, NO_XATTR, 20),
            EXT_DIR => {
                let (size, block) = (f.le32(20)?, f.le32(24)?);
                let (count, offset, xattr) = (f.le16(32)?, f.le16(34)?, f.le32(36)?);
                // The index: per entry its offset in the listing, its directory table block,
                // its name's size less one, the name.
                let mut len = 40;
                for _ in 0..count {
                    let name = u64::from(f.le32(len + 8)?) + 1;
                    len += 12 + rest(f, len + 12, name, "a directory index name")?.len();
                }
                (
                    Body::Dir {
                        block,
                        offset,
                        size,
                    },
                    nlink,
                    xattr,
                    len,
                )
            }
            EXT_FILE => {
                let (start, size, sparse) = (f.le64(16)?, f.le64(24)?, f.le64(32)?);
                let (nlink, fragment, xattr) =
                    (f.le32(40)?, (f.le32(44)?, f.le32(48)?), f.le32(52)?);
                let (body, len) = file(56, start, size, fragment, sparse)?;
                (body, nlink, xattr, len)
            }
            EXT_SYMLINK => {
                let target = rest(f, 24, f.le32(20)?.into(), "a symlink target")?;
                let xattr = f.le32(24 + target.len())?;
                (Body::Symlink(target), nlink, xattr, 28 + target.len())
            }
            EXT_BLOCK_DEV | EXT_CHAR_DEV => {
                (device(kind == EXT_BLOCK_DEV)?, nlink, f.le32(24)?, 28)
            }
            EXT_FIFO => (Body::Fifo, nlink, f.le32(20)?, 24),
            EXT_SOCKET => (Body::Socket, nlink, f.le32(20)?, 24),
            _ => return Err(f.corrupt(format!("an inode of unknown type {kind}"))),
        };
        let inode = Inode {
            mode: f.le16(2)?,
            uid: f.le16(4)?,
            gid: f.le16(6)?,
            mtime: f.le32(8)?,
            number: f.le32(12)?,
            nlink,
            xattr,
            body,
        };
        Ok((inode, len))
    }
}

/// Something the scan found wrong: the number of the inode it concerns (`None` where the scan
/// stopped), where that inode lies, and what.
struct Fault {
    number: Option<u32>,
    at: u64,
    detail: String,
}

/// The decoded inode table of one image.
pub struct InodeTable {
    image: String,
    block_size: u32,
    run: Run,
    /// Where each inode starts in the table, by number less one ([`ABSENT`], [`DUPLICATE`]).
    starts: Vec<u32>,
    faults: Vec<Fault>,
}

impl InodeTable {
    /// Decodes and scans the inode table of the image `sb` describes.
    pub fn read(source: &dyn Source, compressor: Compressor, sb: &Superblock) -> Result<Self> {
        let span = (sb.inode_table, sb.dir_table);
        let run = Run::read(source, compressor, span, "squashfs inode table")?;
        let len = run.bytes.len();
        if len >= DUPLICATE as usize {
            return Err(Error::unsupported(
                source.name(),
                "a squashfs inode table of 4 GiB or more",
            ));
        }
        let most = len / SMALLEST;
        if sb.inode_count as usize > most {
            return Err(Error::corrupt(
                source.name(),
                "squashfs superblock",
                4,
                format!(
                    "{} inodes, where an inode table of {len} bytes holds at most {most}",
                    sb.inode_count
                ),
            ));
        }
        let mut table = InodeTable {
            image: source.name().to_string(),
            block_size: sb.block_size,
            run,
            starts: vec![ABSENT; sb.inode_count as usize],
            faults: Vec::new(),
        };
        table.scan();
        Ok(table)
    }

    fn scan(&mut self) {
        let mut at = 0;
        while at < self.run.bytes.len() {
            let (number, len) = match self.at(at) {
                Ok((inode, len)) => (inode.number, len),
                Err(e) => {
                    let detail = match e {
                        Error::Corrupt { detail, .. } => detail,
                        other => other.to_string(),
                    };
                    self.faults.push(Fault {
                        number: None,
                        at: at as u64,
                        detail,
                    });
                    return;
                }
            };
            let count = self.starts.len();
            let fault = match (number as usize)
                .checked_sub(1)
                .map(|i| self.starts.get_mut(i))
            {
                Some(Some(start)) if *start == ABSENT => {
                    *start = at as u32;
                    None
                }
                Some(Some(start)) if *start == DUPLICATE => None,
                Some(Some(start)) => {
                    let first = std::mem::replace(start, DUPLICATE);
                    Some(format!("inode {number} again (the first lies at {first})"))
                }
                _ => Some(format!(
                    "inode number {number}, where the superblock counts {count}"
                )),
            };
            if let Some(detail) = fault {
                self.faults.push(Fault {
                    number: Some(number),
                    at: at as u64,
                    detail,
                });
            }
            at += len;
        }
    }

    /// The inode at `at` in the table, and its length.
    fn at(&self, at: usize) -> Result<(Inode<'_>, usize)> {
        let bytes = self.run.bytes.get(at..).unwrap_or_default();
        let f = Fields::new(bytes, &self.image, STRUCTURE, at as u64);
        Inode::parse(&f, self.block_size)
    }

    /// Where in the table the inode a reference points to starts (the reference: the offset of
    /// its block from the table's start << 16, its offset in the block).
    pub fn position(&self, reference: u64) -> Option<usize> {
        Some(self.run.position(reference >> 16)? + (reference & 0xffff) as usize)
    }

    /// The inode at `at` in the table.
    pub fn inode_at(&self, at: usize) -> Result<Inode<'_>> {
        self.at(at).map(|(inode, _)| inode)
    }

    /// The inode numbered `number`.
    pub fn get(&self, number: u32) -> Result<Inode<'_>> {
        let i = (number as usize).checked_sub(1);
        let start = i.and_then(|i| self.starts.get(i)).copied();
        if let Some(at) = start.filter(|&at| at < DUPLICATE) {
            return self.inode_at(at as usize);
        }
        let corrupt = |f: &Fault, detail| Error::corrupt(&self.image, STRUCTURE, f.at, detail);
        if let Some(f) = self.faults.iter().find(|f| f.number == Some(number)) {
            return Err(corrupt(f, f.detail.clone()));
        }
        let stop = self.faults.iter().find(|f| f.number.is_none());
        if let (Some(ABSENT), Some(f)) = (start, stop) {
            let detail = format!(
                "the scan of the table stopped at this inode, before inode {number}: {}",
                f.detail
            );
            return Err(corrupt(f, detail));
        }
        Err(Error::corrupt(
            &self.image,
            "squashfs directory entry",
            0,
            format!("names inode {number}, which the inode table does not hold"),
        ))
    }
}
