//! Where the extents of a compressed EROFS file lie: from its map header and lcluster index
//! ([`super::lcluster`]), the extents covering a range of the file, each with its logical
//! range, its pcluster (block address and length, or the tail packed after the index) and
//! how it is stored (plain, or compressed by the algorithm of its head type).
//!
//! The extent holding the first byte is found by looking back from its lcluster to the head;
//! each extent ends where the next head starts, so the extents after it cost one forward step
//! an lcluster. Every step is bounded: looking back never goes further than the largest
//! extent decoded, nor does an extent grow past it.
//!
//! `None` anywhere means "not for this reader": a form it leaves to erofs-rs (fragments,
//! extent tables, larger compact lclusters) or a value out of bounds; the caller then reads
//! the file through the crate, which reads or refuses it as before.

use super::inode::{DiskInode, COMPRESSED_COMPACT, COMPRESSED_FULL};
use super::lcluster::{Entry, Index, HEAD2, PLAIN};
use super::mapheader::{self, MapHeader};
use super::window::Window;

/// The largest extent decoded (as erofs-rs bounds it).
pub const MAX_DECODED: u64 = 12 << 20;
/// The largest pcluster read.
const MAX_ENCODED: u64 = 1 << 20;
/// Index bytes read ahead when a pack lies outside the window.
const INDEX_AHEAD: usize = 16 << 10;

/// `feature_incompat` bits the mapping checks.
pub const INCOMPAT_ZERO_PADDING: u32 = 0x1;
const INCOMPAT_BIG_PCLUSTER: u32 = 0x2;
const INCOMPAT_HEAD2: u32 = 0x8;
const INCOMPAT_ZTAILPACKING: u32 = 0x10;

/// The superblock fields the mapping reads.
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    pub blkbits: u8,
    pub incompat: u32,
}

/// How an extent is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// As is, from the pcluster's start (or rotated, when interlaced).
    Plain { interlaced: bool },
    /// Compressed by `algorithm`; `partial`: the pcluster decodes to more than the extent.
    Compressed { algorithm: u8, partial: bool },
}

/// One extent of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    /// Logical range in the file.
    pub start: u64,
    pub end: u64,
    /// The pcluster: image offset and length.
    pub pa: u64,
    pub plen: u64,
    pub stored: Stored,
}

/// The mapping of one compressed file.
pub struct Zmap {
    index: Index,
    size: u64,
    lcbits: u8,
    bs: u64,
    header: MapHeader,
    geo: Geometry,
}

impl Zmap {
    /// The mapping of `inode`, its header read through `w`.
    pub fn new(inode: &DiskInode, geo: Geometry, w: &mut Window) -> Option<Zmap> {
        let compact = match inode.layout {
            COMPRESSED_FULL => false,
            COMPRESSED_COMPACT => true,
            _ => return None,
        };
        let at = MapHeader::offset(inode.tail())?;
        let header = MapHeader::decode(w.get(at, mapheader::SIZE as usize, INDEX_AHEAD)?)?;
        // Fragments (tails kept in the packed inode), and in a full index bit 0 (a table of
        // extents, erofs-utils 1.8+), are left to the crate.
        let mut allowed = mapheader::BIG_PCLUSTER_1
            | mapheader::BIG_PCLUSTER_2
            | mapheader::INLINE_PCLUSTER
            | mapheader::INTERLACED_PCLUSTER;
        if compact {
            allowed |= mapheader::COMPACTED_2B;
        }
        if header.advise & !allowed != 0 || header.clusterbits & !15 != 0 {
            return None;
        }
        let big1 = header.advise & mapheader::BIG_PCLUSTER_1 != 0;
        let big2 = header.advise & mapheader::BIG_PCLUSTER_2 != 0;
        if (big1 || big2) && geo.incompat & INCOMPAT_BIG_PCLUSTER == 0 || compact && big1 != big2 {
            return None;
        }
        if header.advise & mapheader::INLINE_PCLUSTER != 0
            && (geo.incompat & INCOMPAT_ZTAILPACKING == 0 || header.idata_size == 0)
        {
            return None;
        }
        let lcbits = geo.blkbits.checked_add(header.clusterbits)?;
        if lcbits > 20 || (1u64 << geo.blkbits) > MAX_ENCODED {
            return None;
        }
        // A full index starts 8 bytes after its header (a slot erofs-utils leaves unused).
        let gap = if compact { 0 } else { 8 };
        let index = Index::new(
            at.checked_add(mapheader::SIZE + gap)?,
            inode.size,
            lcbits,
            compact,
            header.advise & mapheader::COMPACTED_2B != 0,
            big1,
        )?;
        Some(Zmap {
            index,
            size: inode.size,
            lcbits,
            bs: 1 << geo.blkbits,
            header,
            geo,
        })
    }

    fn entry(&self, lcn: u64, w: &mut Window) -> Option<(u64, Entry)> {
        if lcn >= self.index.count {
            return None;
        }
        let (at, slot, len) = self.index.pack(lcn);
        let pack = w.get(at, len, INDEX_AHEAD)?;
        let entry = self.index.decode(pack, slot).ok()?;
        let start = match entry {
            Entry::Head { clusterofs, .. } => {
                (lcn << self.lcbits).checked_add(clusterofs.into())?
            }
            Entry::NonHead { .. } => 0,
        };
        Some((start, entry))
    }

    fn big(&self, kind: u8) -> bool {
        let bit = match kind {
            HEAD2 => mapheader::BIG_PCLUSTER_2,
            _ => mapheader::BIG_PCLUSTER_1,
        };
        self.header.advise & bit != 0
    }

    /// The extents covering `from..to` (within the file), in order, into `out`.
    pub fn extents(&self, from: u64, to: u64, w: &mut Window, out: &mut Vec<Extent>) -> Option<()> {
        if from >= to || to > self.size {
            return None;
        }
        // The head of the extent holding `from`.
        let mut lcn = from >> self.lcbits;
        let mut head = loop {
            if from - (lcn << self.lcbits) > MAX_DECODED + (1 << self.lcbits) {
                return None;
            }
            match self.entry(lcn, w)? {
                (_, Entry::NonHead { back, .. }) => lcn = lcn.checked_sub(back.into())?,
                (start, Entry::Head { .. }) if start > from => lcn = lcn.checked_sub(1)?,
                (start, entry) => break (lcn, start, entry),
            }
        };
        loop {
            let (hl, start, entry) = head;
            let Entry::Head {
                kind,
                blkaddr,
                partial,
                ..
            } = entry
            else {
                return None;
            };
            let mut blocks = None;
            let mut i = hl + 1;
            let next = loop {
                if i == self.index.count {
                    break None;
                }
                if (i << self.lcbits).saturating_sub(start) > MAX_DECODED {
                    return None;
                }
                match self.entry(i, w)? {
                    (s, e @ Entry::Head { .. }) => break Some((i, s, e)),
                    (_, Entry::NonHead { back, blocks: b }) => {
                        let distance = i - hl;
                        if b.is_some() != (distance == 1 && self.big(kind))
                            || u64::from(back) > distance
                        {
                            return None;
                        }
                        blocks = blocks.or(b);
                    }
                }
                i += 1;
            };
            let end = next.map_or(self.size, |(_, s, _)| s);
            // A hostile index may end the extent before the byte it was looked up for.
            if end <= start.max(from) || end > self.size || end - start > MAX_DECODED {
                return None;
            }
            out.push(self.extent(start, end, kind, blkaddr, partial, blocks)?);
            match next {
                Some(n) if end < to => head = n,
                _ if end >= to => return Some(()),
                _ => return None,
            }
        }
    }

    /// The extent `start..end` whose head is of `kind`, its pcluster at `blkaddr`.
    fn extent(
        &self,
        start: u64,
        end: u64,
        kind: u8,
        blkaddr: u32,
        partial: bool,
        blocks: Option<u16>,
    ) -> Option<Extent> {
        if blocks == Some(0) || (kind == HEAD2 && self.geo.incompat & INCOMPAT_HEAD2 == 0) {
            return None;
        }
        let (mut pa, mut plen) = (u64::from(blkaddr) * self.bs, 1u64 << self.lcbits);
        if kind != PLAIN && self.big(kind) {
            plen = u64::from(blocks.unwrap_or(1)) * self.bs;
        }
        if end == self.size && self.header.advise & mapheader::INLINE_PCLUSTER != 0 {
            pa = self.index.end;
            plen = self.header.idata_size.into();
            if plen > self.bs - pa % self.bs {
                return None;
            }
        }
        if plen > MAX_ENCODED {
            return None;
        }
        let stored = match kind {
            PLAIN => Stored::Plain {
                interlaced: self.header.advise & mapheader::INTERLACED_PCLUSTER != 0,
            },
            HEAD2 => Stored::Compressed {
                algorithm: self.header.algorithms >> 4,
                partial,
            },
            _ => Stored::Compressed {
                algorithm: self.header.algorithms & 15,
                partial,
            },
        };
        Some(Extent {
            start,
            end,
            pa,
            plen,
            stored,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    /// A full-index file of `size` bytes whose inode lies at 0: lcluster 0 a head, the
    /// `nonheads` after it pointing back one lcluster each.
    fn image(size: u64, nonheads: usize) -> MemSource {
        let mut b = vec![0u8; 80];
        b[0] = 1 | (COMPRESSED_FULL << 1);
        b[8..16].copy_from_slice(&size.to_le_bytes());
        b.extend_from_slice(&[1, 0, 0, 0, 7, 0, 0, 0]);
        for _ in 0..nonheads {
            b.extend_from_slice(&[2, 0, 0, 0, 1, 0, 0, 0]);
        }
        MemSource::new(b, "z.erofs")
    }

    fn map(src: &MemSource) -> (Zmap, Window<'_>) {
        let mut w = Window::new(src);
        let inode = DiskInode::decode(w.get(0, 64, 0).unwrap(), 0).unwrap();
        let geo = Geometry {
            blkbits: 12,
            incompat: 0,
        };
        (Zmap::new(&inode, geo, &mut w).unwrap(), w)
    }

    #[test]
    fn one_extent_maps_from_its_head_to_the_end() {
        let src = image(3 * 4096 + 5, 3);
        let (z, mut w) = map(&src);
        let mut out = Vec::new();
        z.extents(5000, 6000, &mut w, &mut out).unwrap();
        let stored = Stored::Compressed {
            algorithm: 0,
            partial: false,
        };
        let whole = Extent {
            start: 0,
            end: 3 * 4096 + 5,
            pa: 7 * 4096,
            plen: 4096,
            stored,
        };
        assert_eq!(out, [whole]);
    }

    #[test]
    fn huge_counts_and_long_chains_end_without_a_mapping() {
        // A terabyte file whose index the image does not hold: the lookback reads past it.
        let src = image(1 << 40, 4000);
        let (z, mut w) = map(&src);
        let mut out = Vec::new();
        assert!(z
            .extents(1 << 39, (1 << 39) + 1, &mut w, &mut out)
            .is_none());
        // A chain of non-heads longer than the largest extent: the forward scan stops.
        assert!(z.extents(0, 1, &mut w, &mut out).is_none());
        assert!(z.extents(0, 0, &mut w, &mut out).is_none());
    }
}
