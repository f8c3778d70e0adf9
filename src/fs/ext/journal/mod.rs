//! The journal (JBD2), replayed in memory as the kernel replays it when it mounts a filesystem
//! that needs recovery, never written to the image. Three passes over the log, from the
//! superblock's start and sequence: the scan finds the committed transactions (each a run of
//! descriptor blocks with the copies they tag, revoke blocks, and a commit block of the same
//! sequence; the log ends at the first block without the magic or with another sequence, or
//! at a descriptor, revoke or commit block whose checksum fails, as stale blocks do), the
//! revoke pass gathers which blocks later transactions revoked, and the replay pass takes the
//! newest unrevoked copy of every block. The result is a map from filesystem block to the
//! journal block holding its copy, which [`Replayed`] lays over the image. Every walk is
//! bounded by the journal's length; copies whose checksum (v2/v3) fails refuse the replay, as
//! they fail the kernel's mount. v1 commit checksums (`JBD2_FEATURE_COMPAT_CHECKSUM`) are not
//! checked.

mod descriptor;
mod replayed;
mod revoke;
mod superblock;

use std::collections::{BTreeMap, HashMap};

use super::data::{Content, Disk, FileData};
use crate::error::Result;
use crate::ondisk::Fields;
use replayed::Copy;
pub use replayed::Replayed;
use superblock::{JournalSuperblock, INCOMPAT_CSUM_V3};

/// `h_magic` of every journal block's header.
pub const MAGIC: u32 = 0xc03b_3998;
/// `h_blocktype` values.
const BLOCK_DESCRIPTOR: u32 = 1;
const BLOCK_COMMIT: u32 = 2;
const BLOCK_SUPERBLOCK_V1: u32 = 3;
const BLOCK_SUPERBLOCK_V2: u32 = 4;
const BLOCK_REVOKE: u32 = 5;
const COMMIT_STRUCTURE: &str = "ext journal commit block";
/// Where a commit block keeps its checksum (`h_chksum[0]`), and descriptor and revoke blocks
/// theirs (the last four bytes).
const COMMIT_CHECKSUM_AT: usize = 16;

/// The CRC32C the journal's checksums use, continued from `seed` (no final inversion, as the
/// kernel's `jbd2_chksum`).
fn crc32c(seed: u32, data: &[u8]) -> u32 {
    const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
    let mut digest = CRC.digest_with_initial(seed.reverse_bits());
    digest.update(data);
    digest.finalize() ^ !0
}

/// True when the checksum stored big-endian at `at` in `b` is the CRC32C from `seed` of `b`
/// with those four bytes zeroed.
fn checksum_ok(b: &[u8], at: usize, seed: u32) -> bool {
    let mut copy = b.to_vec();
    let Some(field) = copy.get_mut(at..at + 4) else {
        return false;
    };
    let stored = u32::from_be_bytes([field[0], field[1], field[2], field[3]]);
    field.fill(0);
    crc32c(seed, &copy) == stored
}

/// The header every journal block but data copies starts with.
struct Header {
    kind: u32,
    sequence: u32,
}

impl Header {
    /// The header of `f`, `None` when it has no journal magic.
    fn parse(f: &Fields) -> Result<Option<Header>> {
        if f.be32(0)? != MAGIC {
            return Ok(None);
        }
        Ok(Some(Header {
            kind: f.be32(4)?,
            sequence: f.be32(8)?,
        }))
    }
}

/// What a replay found.
#[derive(Debug, Default)]
pub struct Summary {
    pub transactions: usize,
    pub blocks: usize,
}

/// The outcome of replaying a journal.
pub struct Replay {
    pub copies: BTreeMap<u64, Copy>,
    pub summary: Summary,
}

/// One copy a transaction holds: of filesystem block `tag.block`, in journal block `at`,
/// tagged by the descriptor block at image offset `descriptor`.
struct Write {
    tag: descriptor::Tag,
    at: u64,
    descriptor: u64,
}

/// A committed transaction.
struct Transaction {
    sequence: u32,
    writes: Vec<Write>,
    revokes: Vec<u64>,
}

impl Transaction {
    fn new(sequence: u32) -> Self {
        Transaction {
            sequence,
            writes: Vec::new(),
            revokes: Vec::new(),
        }
    }
}

/// True when sequence `a` comes after `b` (sequences wrap, as the kernel's `tid_gt`).
fn after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// The journal inode's blocks.
struct Blocks<'a> {
    disk: &'a Disk<'a>,
    data: &'a FileData,
}

impl Blocks<'_> {
    /// Where journal block `j` lies in the image.
    fn offset(&self, j: u64) -> Result<u64> {
        let bs = self.disk.block_size;
        let runs = match &self.data.content {
            Content::Blocks(runs) => runs.as_slice(),
            Content::Inline(_) => &[],
        };
        let i = runs.partition_point(|r| r.logical + r.len <= j);
        match runs.get(i) {
            Some(r) if r.logical <= j && r.init => Ok((r.physical + j - r.logical) * bs),
            _ => Err(self.disk.corrupt(
                superblock::STRUCTURE,
                0,
                format!("journal block {j} is not mapped by the journal inode"),
            )),
        }
    }

    /// Reads journal block `j`: its bytes and where they lie.
    fn read(&self, j: u64, structure: &'static str) -> Result<(Vec<u8>, u64)> {
        let at = self.offset(j)?;
        let b = self
            .disk
            .source
            .read_vec(at, self.disk.block_size as usize, structure)?;
        Ok((b, at))
    }
}

/// The journal's blocks read as the log its superblock describes.
struct Log<'a> {
    blocks: Blocks<'a>,
    jsb: JournalSuperblock,
}

impl Log<'_> {
    /// The block after `j` in the circular log.
    fn next(&self, j: u64) -> u64 {
        if j + 1 >= self.jsb.maxlen {
            self.jsb.first
        } else {
            j + 1
        }
    }

    /// The scan: the committed transactions from the log's start.
    fn scan(&self) -> Result<Vec<Transaction>> {
        let image = self.blocks.disk.source.name();
        let seed = self.jsb.seed;
        let length = self.jsb.maxlen - self.jsb.first;
        let mut done = Vec::new();
        let mut open = Transaction::new(self.jsb.sequence);
        let mut j = self.jsb.start;
        let mut walked = 0u64;
        let sb_at = self.blocks.offset(0)?;
        let mut step = |j: &mut u64| -> Result<()> {
            walked += 1;
            if walked > length {
                return Err(self.blocks.disk.corrupt(
                    superblock::STRUCTURE,
                    sb_at,
                    format!("the log runs past the journal's {length} blocks (a loop?)"),
                ));
            }
            *j = self.next(*j);
            Ok(())
        };
        loop {
            let (b, at) = self.blocks.read(j, descriptor::STRUCTURE)?;
            let structure = |kind| match kind {
                BLOCK_COMMIT => COMMIT_STRUCTURE,
                BLOCK_REVOKE => revoke::STRUCTURE,
                _ => descriptor::STRUCTURE,
            };
            let header = Header::parse(&Fields::new(&b, image, descriptor::STRUCTURE, at))?;
            let Some(header) = header.filter(|h| h.sequence == open.sequence) else {
                break;
            };
            let f = Fields::new(&b, image, structure(header.kind), at);
            let tail = b.len() - 4;
            let sound = |at: usize| seed.is_none_or(|s| checksum_ok(&b, at, s));
            match header.kind {
                BLOCK_DESCRIPTOR if sound(tail) => {
                    for tag in descriptor::tags(&f, &self.jsb)? {
                        step(&mut j)?;
                        open.writes.push(Write {
                            tag,
                            at: j,
                            descriptor: at,
                        });
                    }
                }
                BLOCK_REVOKE if sound(tail) => {
                    open.revokes.extend(revoke::blocks(&f, &self.jsb)?);
                }
                BLOCK_COMMIT if sound(COMMIT_CHECKSUM_AT) => {
                    let next = Transaction::new(open.sequence.wrapping_add(1));
                    done.push(std::mem::replace(&mut open, next));
                }
                // Another type, or a checksum that fails: the end of the log.
                _ => break,
            }
            step(&mut j)?;
        }
        Ok(done)
    }

    /// Checks the copy of `w` (in a transaction of `sequence`) against its tag's checksum.
    fn check_copy(&self, w: &Write, sequence: u32) -> Result<()> {
        let Some(seed) = self.jsb.seed else {
            return Ok(());
        };
        let (b, at) = self.blocks.read(w.at, descriptor::STRUCTURE)?;
        let sum = crc32c(crc32c(seed, &sequence.to_be_bytes()), &b);
        // v2 tags keep the low 16 bits.
        let got = if self.jsb.has(INCOMPAT_CSUM_V3) {
            sum
        } else {
            sum & 0xffff
        };
        let want = w.tag.checksum;
        if want != got {
            return Err(self.blocks.disk.corrupt(
                "ext journal block",
                at,
                format!(
                    "journal block {}: the copy of block {} has checksum {got:#x}, its tag \
                     says {want:#x}",
                    w.at, w.tag.block
                ),
            ));
        }
        Ok(())
    }
}

/// Replays the journal whose inode has the data `data`: the newest copy of every block
/// the committed transactions hold. `None` when the log is empty (`s_start` 0).
pub fn replay(disk: &Disk, data: &FileData) -> Result<Option<Replay>> {
    let bs = disk.block_size;
    let blocks = Blocks { disk, data };
    let (b, at) = blocks.read(0, superblock::STRUCTURE)?;
    let count = data.size / bs;
    let jsb = JournalSuperblock::parse(disk.source.name(), &b, at, bs, count)?;
    if jsb.start == 0 {
        return Ok(None);
    }
    let log = Log { blocks, jsb };
    let transactions = log.scan()?;
    let mut revoked: HashMap<u64, u32> = HashMap::new();
    for t in &transactions {
        for &block in &t.revokes {
            let newest = revoked.entry(block).or_insert(t.sequence);
            if after(t.sequence, *newest) {
                *newest = t.sequence;
            }
        }
    }
    let mut copies = BTreeMap::new();
    for t in &transactions {
        for w in &t.writes {
            if revoked
                .get(&w.tag.block)
                .is_some_and(|&r| !after(t.sequence, r))
            {
                continue;
            }
            if w.tag.block >= disk.blocks_count {
                return Err(disk.corrupt(
                    descriptor::STRUCTURE,
                    w.descriptor,
                    format!(
                        "transaction {}: a copy of block {}, past the filesystem's {} blocks",
                        t.sequence, w.tag.block, disk.blocks_count
                    ),
                ));
            }
            log.check_copy(w, t.sequence)?;
            let offset = log.blocks.offset(w.at)?;
            copies.insert(
                w.tag.block,
                Copy {
                    offset,
                    escaped: w.tag.escaped,
                },
            );
        }
    }
    let summary = Summary {
        transactions: transactions.len(),
        blocks: copies.len(),
    };
    Ok(Some(Replay { copies, summary }))
}
