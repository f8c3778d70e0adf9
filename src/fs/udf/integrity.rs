//! The logical volume integrity descriptor (ECMA-167 3/10.10, UDF 2.2.6): open or closed,
//! free space and size per partition, and the implementation use UDF gives it (file and
//! directory counts, the UDF revisions a reader and a writer need); decoded and encoded, and
//! the sequence of them read.

use crate::error::Result;
use crate::ondisk::endian::{le16, le32, put_le32};
use crate::ondisk::Fields;
use crate::source::Source;

use super::anchor::ExtentAd;
use super::field::array;
use super::tag::{id, Tag};
use super::timestamp::UdfTime;

const STRUCTURE: &str = "UDF integrity descriptor";
/// Length of the descriptor before its tables.
const HEAD: usize = 80;
/// Descriptors followed through `next integrity extent` at most.
const MAX_CHAIN: usize = 64;
/// Integrity type of a closed volume.
const CLOSE: u32 = 1;

/// A logical volume integrity descriptor as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntegrityDescriptor {
    pub tag: Tag,
    pub recorded: UdfTime,
    /// 0 open, 1 closed.
    pub integrity_type: u32,
    pub next: ExtentAd,
    /// The logical volume contents use (UDF: the next unique id).
    pub contents_use: [u8; 32],
    /// Free blocks of each partition.
    pub free_space: Vec<u32>,
    /// Blocks of each partition.
    pub sizes: Vec<u32>,
    pub implementation_use: Vec<u8>,
}

impl IntegrityDescriptor {
    /// Decodes and verifies the descriptor in `buf`, found at block `location` (`offset` in
    /// `image`).
    pub fn decode(buf: &[u8], location: u32, image: &str, offset: u64) -> Result<Self> {
        let tag = Tag::check(buf, id::INTEGRITY, location, image, STRUCTURE, offset)?;
        let f = Fields::new(buf, image, STRUCTURE, offset);
        let partitions = f.le32(72)? as usize;
        let iu_len = f.le32(76)? as usize;
        let tables = partitions.saturating_mul(8);
        if tables.saturating_add(iu_len) > buf.len().saturating_sub(HEAD) {
            return Err(f.corrupt(format!(
                "{partitions} partitions and {iu_len} bytes of implementation use pass the \
                 descriptor's end"
            )));
        }
        let table = |at: usize| -> Result<Vec<u32>> {
            (0..partitions).map(|i| f.le32(at + 4 * i)).collect()
        };
        Ok(IntegrityDescriptor {
            tag,
            recorded: UdfTime::read(&f, 16)?,
            integrity_type: f.le32(28)?,
            next: ExtentAd::decode(&f, 32)?,
            contents_use: array(&f, 40)?,
            free_space: table(HEAD)?,
            sizes: table(HEAD + 4 * partitions)?,
            implementation_use: f.slice(HEAD + tables, iu_len)?.to_vec(),
        })
    }

    /// The bytes of the descriptor: 80, 8 per partition, and the implementation use.
    pub fn encode(&self) -> Vec<u8> {
        let n = self.free_space.len();
        let mut b = vec![0u8; HEAD + 8 * n + self.implementation_use.len()];
        b[16..28].copy_from_slice(&self.recorded.0);
        put_le32(&mut b, 28, self.integrity_type);
        self.next.encode(&mut b, 32);
        b[40..72].copy_from_slice(&self.contents_use);
        put_le32(&mut b, 72, n as u32);
        put_le32(&mut b, 76, self.implementation_use.len() as u32);
        for (i, (free, size)) in self.free_space.iter().zip(&self.sizes).enumerate() {
            put_le32(&mut b, HEAD + 4 * i, *free);
            put_le32(&mut b, HEAD + 4 * (n + i), *size);
        }
        b[HEAD + 8 * n..].copy_from_slice(&self.implementation_use);
        self.tag.encode(&mut b);
        b
    }

    /// What the descriptor says, for `info`. The implementation use fields UDF defines
    /// (2.2.6.4) read as zero when the area is too short to hold them.
    pub fn summary(&self) -> Integrity {
        let iu = &self.implementation_use;
        let get16 = |at| le16(iu, at).unwrap_or(0);
        let get32 = |at| le32(iu, at).unwrap_or(0);
        Integrity {
            closed: self.integrity_type == CLOSE,
            files: get32(32),
            dirs: get32(36),
            min_read: get16(40),
            min_write: get16(42),
            max_write: get16(44),
        }
    }
}

/// What the last integrity descriptor of the sequence says.
#[derive(Clone, Debug, Default)]
pub struct Integrity {
    pub closed: bool,
    pub files: u32,
    pub dirs: u32,
    pub min_read: u16,
    pub min_write: u16,
    pub max_write: u16,
}

/// Reads the integrity sequence at `extent`; `None` when there is no valid descriptor (the
/// descriptor is informative: a damaged one does not stop reading the volume).
pub fn read(src: &dyn Source, bs: u32, extent: ExtentAd) -> Option<Integrity> {
    read_last(src, bs, extent).map(|d| d.summary())
}

/// The last valid descriptor of the integrity sequence at `extent`, as recorded.
pub fn read_last(src: &dyn Source, bs: u32, extent: ExtentAd) -> Option<IntegrityDescriptor> {
    let mut found = None;
    let mut next = extent;
    for _ in 0..MAX_CHAIN {
        if next.len == 0 {
            break;
        }
        let mut block = next.block;
        let end = u64::from(next.block) + u64::from(next.len / bs);
        next = ExtentAd { len: 0, block: 0 };
        while u64::from(block) < end {
            let offset = u64::from(block) * u64::from(bs);
            let Ok(buf) = src.read_vec(offset, bs as usize, STRUCTURE) else {
                break;
            };
            let Ok(d) = IntegrityDescriptor::decode(&buf, block, src.name(), offset) else {
                break;
            };
            next = d.next;
            found = Some(d);
            block += 1;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::udf::tag::patterned;

    #[test]
    fn round_trips() {
        let b = patterned(id::INTEGRITY, HEAD + 16 + 46, |b| {
            b[72..76].copy_from_slice(&2u32.to_le_bytes());
            b[76..80].copy_from_slice(&46u32.to_le_bytes());
        });
        let d = IntegrityDescriptor::decode(&b, 0, "x", 0).unwrap();
        assert_eq!(d.encode(), b);
        assert_eq!(
            IntegrityDescriptor::decode(&d.encode(), 0, "x", 0).unwrap(),
            d
        );
    }
}
