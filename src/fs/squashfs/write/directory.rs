//! Directory listings of the directory table: entries sorted by name bytes, grouped under
//! headers (count, the inode table block of the entries' inodes, a base inode number); a new
//! header starts at 256 entries, at another inode block, where a number's distance from the
//! base passes what the 16-bit delta holds, and every 8 KiB of listing, as `mksquashfs` starts
//! them; the splits are what the directory index (in the extended directory inode) points at.

/// One entry: its name and where its inode lies.
pub struct Entry {
    pub name: Vec<u8>,
    /// The inode's metadata block (offset from the inode table's start) and offset in it.
    pub block: u32,
    pub offset: u16,
    pub number: u32,
    /// The inode's basic type.
    pub kind: u16,
}

/// A directory's listing, and where its 8 KiB splits fall: the offset of each header that
/// starts one, and its first name (what the directory index records).
pub struct Listing {
    pub bytes: Vec<u8>,
    pub splits: Vec<(u32, Vec<u8>)>,
}

/// The longest name squashfs stores (`SQUASHFS_NAME_LEN`).
pub const MAX_NAME: usize = 256;
/// The most entries under one header.
const MAX_RUN: usize = 256;
/// The most bytes of listing between two 8 KiB splits.
const METADATA_SIZE: usize = 8192;

/// The listing of `entries`, which are sorted by name and have names of 1 to [`MAX_NAME`]
/// bytes (the caller checks). Headers fall where `mksquashfs` puts them, so a listing has the
/// size it has there: a new one at 256 entries, at another inode block, at an inode number
/// too far from the base, and where the bytes since the last such 8 KiB split would pass
/// 8 KiB.
pub fn encode(entries: &[Entry]) -> Listing {
    let mut out = Vec::new();
    let mut splits = Vec::new();
    // The last 8 KiB split, and the current header: where it lies, its entries, block, base.
    let mut split_at = 0;
    let mut run: Option<(usize, usize, u32, u32)> = None;
    for e in entries {
        let grown = out.len() + 8 + e.name.len() - split_at;
        let split = run.is_some() && grown > METADATA_SIZE;
        let fits = run.is_some_and(|(_, count, block, base)| {
            let delta = i64::from(e.number) - i64::from(base);
            count < MAX_RUN && block == e.block && i16::try_from(delta).is_ok()
        });
        if split || !fits {
            if split {
                split_at = out.len();
                splits.push((out.len() as u32, e.name.clone()));
            }
            run = Some((out.len(), 0, e.block, e.number));
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&e.block.to_le_bytes());
            out.extend_from_slice(&e.number.to_le_bytes());
        }
        let Some((at, count, _, base)) = run.as_mut() else {
            continue;
        };
        *count += 1;
        out[*at..*at + 4].copy_from_slice(&(*count as u32 - 1).to_le_bytes());
        let delta = (i64::from(e.number) - i64::from(*base)) as i16;
        out.extend_from_slice(&e.offset.to_le_bytes());
        out.extend_from_slice(&delta.to_le_bytes());
        out.extend_from_slice(&e.kind.to_le_bytes());
        out.extend_from_slice(&(e.name.len() as u16 - 1).to_le_bytes());
        out.extend_from_slice(&e.name);
    }
    Listing { bytes: out, splits }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::squashfs::directory::parse;

    #[test]
    fn listings_read_back_and_split_where_they_must() {
        let entries: Vec<Entry> = (0..600u32)
            .map(|n| Entry {
                name: format!("f{n:04}").into_bytes(),
                block: if n < 400 { 0 } else { 8000 },
                offset: (n % 100) as u16 * 32,
                number: if n == 10 { 100_000 } else { n + 1 },
                kind: 2,
            })
            .collect();
        let bytes = encode(&entries).bytes;
        let back = parse(&bytes).unwrap();
        assert_eq!(back.len(), 600);
        for (e, b) in entries.iter().zip(&back) {
            assert_eq!((&e.name, e.number), (&b.name, b.inode_number));
        }
        // Headers: 0..10, 10, 11..267, 267..400, 400..600.
        let headers = bytes.len() - entries.iter().map(|e| 8 + e.name.len()).sum::<usize>();
        assert_eq!(headers, 5 * 12);
    }

    #[test]
    fn every_8_kib_of_listing_starts_at_a_header_the_index_names() {
        let entries: Vec<Entry> = (0..400u32)
            .map(|n| Entry {
                name: format!("{n:040}").into_bytes(),
                block: 0,
                offset: 0,
                number: n + 1,
                kind: 2,
            })
            .collect();
        let listing = encode(&entries);
        // 48 bytes an entry: the first split comes before 8 KiB, the second 8 KiB later.
        assert_eq!(listing.splits.len(), 2);
        let mut last = 0;
        for (at, name) in &listing.splits {
            let at = *at as usize;
            assert!(at - last <= METADATA_SIZE);
            let rest = parse(&listing.bytes[at..]).unwrap();
            assert_eq!(&rest[0].name, name);
            last = at;
        }
    }
}
