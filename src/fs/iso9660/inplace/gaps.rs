//! Free space inside the volume where an in-place commit can put a file's new data without
//! growing the image: the runs of whole blocks between the volume descriptors and the volume's
//! end that no record's data (the census of every tree), boot image, boot catalog or partition
//! other than the ISO's own (and xorriso's gap fillers, which only cover its padding) claims,
//! such as the padding xorriso and genisoimage leave after the data. What the census cannot
//! see (Rock Ridge continuation areas, path tables, libisofs's checksum tags and array, an
//! HFS+ tree) is never zeros: a run is taken only when the image holds zeros there, read
//! before it is used. Images with a UDF tree have no gaps (UDF records its own allocation).

use super::records::Census;
use super::SECTOR;
use crate::boot;
use crate::error::Result;
use crate::source::Source;

/// The first block a gap may start at: past the system area and the volume descriptors.
const FIRST: u64 = 17 * SECTOR;
/// Bytes read at a time while looking for zeros.
const CHUNK: u64 = 64 * SECTOR;
/// The most bytes a commit reads looking for zeros: past it, new data goes after the volume.
const BUDGET: u64 = 64 << 20;

/// The free runs, as byte ranges (multiples of a block), in image order.
pub(super) struct Gaps {
    runs: Vec<(u64, u64)>,
    /// Bytes read so far looking for zeros.
    read: u64,
}

impl Gaps {
    /// The runs below `volume_end` that nothing in `census` or `layout` claims.
    pub(super) fn of(census: &Census, layout: &boot::Layout, volume_end: u64) -> Gaps {
        let mut claimed: Vec<(u64, u64)> = census.used.iter().map(|&(s, e, _)| (s, e)).collect();
        claimed.extend(layout.boot_record.as_ref().map(|b| {
            let at = u64::from(b.catalog) * SECTOR;
            (at, at + SECTOR)
        }));
        claimed.extend(
            layout
                .images
                .iter()
                .map(|i| (i.start(), i.start() + i.load_bytes())),
        );
        claimed.extend(
            layout
                .system
                .partitions
                .iter()
                .filter(|p| {
                    let iso_own = p.start <= FIRST && FIRST < p.end();
                    !(iso_own || boot::is_gap_filler(p))
                })
                .map(|p| (p.start, p.end())),
        );
        // Nor the first block of a gap filler: readers (xorriso) take a file starting where a
        // partition does for the partition's content.
        claimed.extend(
            layout
                .system
                .partitions
                .iter()
                .map(|p| (p.start, p.start + SECTOR)),
        );
        claimed.sort_unstable();
        let mut runs = Vec::new();
        let mut at = FIRST;
        for (start, end) in claimed {
            let start = start / SECTOR * SECTOR;
            if start > at {
                runs.push((at, start.min(volume_end)));
            }
            at = at.max(end.div_ceil(SECTOR) * SECTOR);
        }
        if at < volume_end {
            runs.push((at, volume_end));
        }
        runs.retain(|(s, e)| s < e);
        Gaps { runs, read: 0 }
    }

    /// The offset of a run of `len` bytes (rounded to blocks) that holds only zeros in `src`,
    /// taken from the gaps; `None` when none fits (or when looking would read more than
    /// [`BUDGET`] in all).
    pub(super) fn take(&mut self, src: &dyn Source, len: u64) -> Result<Option<u64>> {
        let need = len.div_ceil(SECTOR).max(1) * SECTOR;
        let mut buf = vec![0u8; CHUNK as usize];
        for i in 0..self.runs.len() {
            let (start, end) = self.runs[i];
            let mut from = start;
            let mut at = from;
            // Zeros from `from` to `at`; a block with data in the way restarts the run after it.
            while end - from >= need && self.read < BUDGET {
                if at - from >= need {
                    self.runs[i].0 = from + need;
                    return Ok(Some(from));
                }
                let n = (from + need - at).min(CHUNK) as usize;
                src.read_exact_at(at, &mut buf[..n], "free space")?;
                self.read += n as u64;
                match buf[..n].iter().rposition(|&b| b != 0) {
                    Some(last) => {
                        from = (at + last as u64) / SECTOR * SECTOR + SECTOR;
                        at = from;
                    }
                    None => at += n as u64,
                }
            }
        }
        Ok(None)
    }
}
