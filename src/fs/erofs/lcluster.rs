//! EROFS logical-cluster indexes of a compressed inode: the full (legacy, 8 bytes an lcluster)
//! and compact forms (packs of two 4-byte or sixteen 2-byte entries, each pack ending with a
//! block address the heads of the pack count on from). An entry is a head (where an extent
//! starts in its lcluster, and the extent's first physical block) or a non-head (how far back
//! its head lies, or, right after a head of a big pcluster, how many blocks that pcluster
//! has). Decoding reads one pack; every value is checked by the caller before use.

use crate::ondisk::endian::{le16, le32};

/// Lcluster types.
pub const PLAIN: u8 = 0;
pub const HEAD2: u8 = 3;
const NONHEAD: u8 = 2;
/// In a non-head's first delta: the low bits count the blocks of its head's pcluster.
const D0_CBLKCNT: u16 = 1 << 11;
/// Full-index `di_advise` bits this reader knows: the type and the partial-reference flag.
const FULL_TYPE: u16 = 3;
const FULL_PARTIAL: u16 = 1 << 15;

/// One decoded index entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// An extent starts `clusterofs` bytes into this lcluster; its pcluster starts at block
    /// `blkaddr`.
    Head {
        kind: u8,
        clusterofs: u32,
        blkaddr: u32,
        partial: bool,
    },
    /// Part of the extent whose head lies `back` lclusters before; `blocks` is the pcluster's
    /// block count, recorded in the first non-head of a big pcluster.
    NonHead { back: u16, blocks: Option<u16> },
}

/// Where the index entries of one inode lie and how they are packed.
#[derive(Clone, Copy, Debug)]
pub struct Index {
    /// The first index byte (after the map header).
    pub start: u64,
    /// The byte after the last pack (where tail-packed data follows).
    pub end: u64,
    /// Lclusters the file has.
    pub count: u64,
    compact: bool,
    initial: u64,
    middle: u64,
    lcbits: u8,
    big: bool,
}

impl Index {
    /// The index of a file of `size` bytes in lclusters of `1 << lcbits` bytes, starting at
    /// `start`: full (8 bytes an entry), or compact (with 2-byte packs when `two_byte`);
    /// `big`: heads count their pclusters' blocks from non-heads. `None` for a compact index
    /// of other than 4 KiB lclusters, which this reader leaves to the crate.
    pub fn new(
        start: u64,
        size: u64,
        lcbits: u8,
        compact: bool,
        two_byte: bool,
        big: bool,
    ) -> Option<Index> {
        let count = size.div_ceil(1u64.checked_shl(lcbits.into())?);
        let mut index = Index {
            start,
            end: 0,
            count,
            compact,
            initial: 0,
            middle: 0,
            lcbits,
            big,
        };
        if compact {
            if lcbits != 12 {
                return None;
            }
            index.initial = (((32 - start % 32) / 4) & 7).min(count);
            if two_byte {
                index.middle = (count - index.initial) / 16 * 16;
            }
        }
        index.end = match count {
            0 => start,
            n => {
                let (at, _, len) = index.pack(n - 1);
                at.checked_add(len as u64)?
            }
        };
        Some(index)
    }

    /// The pack holding entry `lcn` (below [`Index::count`]): its offset, the entry's slot
    /// in it, and its length.
    pub fn pack(&self, lcn: u64) -> (u64, usize, usize) {
        if !self.compact {
            return (self.start + lcn * 8, 0, 8);
        }
        let (pos, stride, len) = if lcn < self.initial {
            (self.start + lcn * 4, 4, 8)
        } else if lcn < self.initial + self.middle {
            (
                self.start + self.initial * 4 + (lcn - self.initial) * 2,
                2,
                32,
            )
        } else {
            let past = lcn - self.initial - self.middle;
            (
                self.start + self.initial * 4 + self.middle * 2 + past * 4,
                4,
                8,
            )
        };
        let within = pos % len as u64;
        (pos - within, within as usize / stride, len)
    }

    /// Decodes the entry in `slot` of `pack` (as [`Index::pack`] located it); `Err` names
    /// what is wrong.
    pub fn decode(&self, pack: &[u8], slot: usize) -> Result<Entry, &'static str> {
        if !self.compact {
            let advise = le16(pack, 0).ok_or("short index")?;
            if advise & !(FULL_TYPE | FULL_PARTIAL) != 0 {
                return Err("unknown index advice bits");
            }
            let kind = (advise & FULL_TYPE) as u8;
            if kind == NONHEAD {
                return self.nonhead(le16(pack, 4).ok_or("short index")?);
            }
            return self.head(
                kind,
                le16(pack, 2).ok_or("short index")?.into(),
                le32(pack, 4).ok_or("short index")?,
                advise & FULL_PARTIAL != 0,
            );
        }
        let slots = if pack.len() == 32 { 16 } else { 2 };
        let lobits = u32::from(self.lcbits.max(12));
        let bits = (pack.len() - 4) * 8 / slots;
        let field = |slot: usize| -> Result<(u16, u8), &'static str> {
            let bit = slot * bits;
            // The last bytes of a pack hold its base address: a field never reaches past it.
            let mut word = [0u8; 4];
            let from = bit / 8;
            let to = (from + 4).min(pack.len());
            word[..to - from].copy_from_slice(&pack[from..to]);
            let v = u32::from_le_bytes(word) >> (bit % 8);
            Ok(((v & ((1 << lobits) - 1)) as u16, ((v >> lobits) & 3) as u8))
        };
        let (lo, kind) = field(slot)?;
        if kind == NONHEAD {
            if lo & D0_CBLKCNT != 0 || slot + 1 != slots {
                return self.nonhead(lo);
            }
            // The pack's last non-head records how far ahead its next head lies: how far back
            // its own head is comes from the entry before it.
            let (prev, prev_kind) = field(slot - 1)?;
            let back = match prev_kind {
                NONHEAD => match self.nonhead(prev)? {
                    Entry::NonHead { back, .. } => {
                        back.checked_add(1).ok_or("lookback distance")?
                    }
                    Entry::Head { .. } => return Err("non-head decoded as head"),
                },
                _ => 1,
            };
            return Ok(Entry::NonHead { back, blocks: None });
        }
        // A head's pcluster follows those of the heads before it in the pack.
        let mut blocks = u32::from(!self.big);
        let mut i = slot;
        while i > 0 {
            i -= 1;
            let (lo, kind) = field(i)?;
            if kind == NONHEAD {
                match (self.big, self.nonhead(lo)?) {
                    (
                        true,
                        Entry::NonHead {
                            blocks: Some(n), ..
                        },
                    ) => {
                        i = i.saturating_sub(1);
                        blocks += u32::from(n);
                    }
                    (true, Entry::NonHead { back, .. }) => match i.checked_sub(back as usize - 2) {
                        Some(head) => i = head,
                        None => break,
                    },
                    (_, Entry::NonHead { back, .. }) => match i.checked_sub(back as usize) {
                        Some(head) => {
                            i = head;
                            blocks += 1;
                        }
                        None => break,
                    },
                    _ => return Err("non-head decoded as head"),
                }
                continue;
            }
            blocks += 1;
        }
        let base = le32(pack, pack.len() - 4).ok_or("short pack")?;
        self.head(kind, lo.into(), base.wrapping_add(blocks), false)
    }

    fn head(
        &self,
        kind: u8,
        clusterofs: u32,
        blkaddr: u32,
        partial: bool,
    ) -> Result<Entry, &'static str> {
        if clusterofs >= 1 << self.lcbits {
            return Err("cluster offset past its lcluster");
        }
        Ok(Entry::Head {
            kind,
            clusterofs,
            blkaddr,
            partial,
        })
    }

    fn nonhead(&self, d0: u16) -> Result<Entry, &'static str> {
        if d0 & D0_CBLKCNT != 0 {
            if !self.big {
                return Err("block count without big pclusters");
            }
            return Ok(Entry::NonHead {
                back: 1,
                blocks: Some(d0 & !D0_CBLKCNT),
            });
        }
        if d0 == 0 || (self.compact && self.big && d0 == 1) {
            return Err("lookback distance");
        }
        Ok(Entry::NonHead {
            back: d0,
            blocks: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_entries_decode() {
        let index = Index::new(8, 3 * 4096, 12, false, false, true).unwrap();
        assert_eq!((index.count, index.end), (3, 8 + 24));
        assert_eq!(index.pack(2), (24, 0, 8));
        let mut e = [0u8; 8];
        e[0] = 1;
        e[2..4].copy_from_slice(&100u16.to_le_bytes());
        e[4..8].copy_from_slice(&9u32.to_le_bytes());
        let head = Entry::Head {
            kind: 1,
            clusterofs: 100,
            blkaddr: 9,
            partial: false,
        };
        assert_eq!(index.decode(&e, 0), Ok(head));
        e[0] = 2;
        e[4..6].copy_from_slice(&(D0_CBLKCNT | 4).to_le_bytes());
        let nonhead = Entry::NonHead {
            back: 1,
            blocks: Some(4),
        };
        assert_eq!(index.decode(&e, 0), Ok(nonhead));
        e[4..6].copy_from_slice(&0u16.to_le_bytes());
        assert!(index.decode(&e, 0).is_err());
        e[0] = 0x41;
        assert!(index.decode(&e, 0).is_err());
    }

    #[test]
    fn compact_four_byte_pack_counts_heads_from_its_base() {
        // start 40: 40 % 32 = 8, so (32 - 8) / 4 = 6 four-byte entries come first.
        let index = Index::new(40, 10 * 4096, 12, true, false, false).unwrap();
        assert_eq!(index.pack(3), (48, 1, 8));
        // Slot 0: head at 10, slot 1: head at 20; base block 50.
        let lo = |v: u32, kind: u32| (kind << 12) | v;
        let mut pack = [0u8; 8];
        pack[..4].copy_from_slice(&(lo(10, 1) | lo(20, 1) << 16).to_le_bytes());
        pack[4..].copy_from_slice(&50u32.to_le_bytes());
        let blk = |slot| match index.decode(&pack, slot) {
            Ok(Entry::Head { blkaddr, .. }) => blkaddr,
            other => panic!("{other:?}"),
        };
        assert_eq!((blk(0), blk(1)), (51, 52));
    }
}
