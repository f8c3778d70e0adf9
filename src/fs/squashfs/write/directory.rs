//! Directory listings of the directory table: entries sorted by name bytes, grouped under
//! headers (count, the inode table block of the entries' inodes, a base inode number); a new
//! header starts at 256 entries, at another inode block, or where a number's distance from the
//! base passes what the 16-bit delta holds. No directory index is written (the kernel does not
//! need one).

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

/// The longest name squashfs stores (`SQUASHFS_NAME_LEN`).
pub const MAX_NAME: usize = 256;
/// The most entries under one header.
const MAX_RUN: usize = 256;
/// A header's size.
const HEADER: usize = 12;
/// The most bytes of listing under one header, itself included (`mksquashfs` starts a new
/// header where a run would pass a metadata block's size).
const METADATA_SIZE: usize = 8192;

/// The listing of `entries`, which are sorted by name and have names of 1 to [`MAX_NAME`]
/// bytes (the caller checks).
pub fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < entries.len() {
        let first = &entries[i];
        let base = first.number;
        let mut bytes = HEADER;
        let run = entries[i..]
            .iter()
            .take(MAX_RUN)
            .take_while(|e| {
                bytes += 8 + e.name.len();
                e.block == first.block
                    && i64::from(e.number).abs_diff(i64::from(base)) < 32767
                    && bytes <= METADATA_SIZE
            })
            .count();
        out.extend_from_slice(&(run as u32 - 1).to_le_bytes());
        out.extend_from_slice(&first.block.to_le_bytes());
        out.extend_from_slice(&base.to_le_bytes());
        for e in &entries[i..i + run] {
            let delta = (i64::from(e.number) - i64::from(base)) as i16;
            out.extend_from_slice(&e.offset.to_le_bytes());
            out.extend_from_slice(&delta.to_le_bytes());
            out.extend_from_slice(&e.kind.to_le_bytes());
            out.extend_from_slice(&(e.name.len() as u16 - 1).to_le_bytes());
            out.extend_from_slice(&e.name);
        }
        i += run;
    }
    out
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
        let bytes = encode(&entries);
        let back = parse(&bytes).unwrap();
        assert_eq!(back.len(), 600);
        for (e, b) in entries.iter().zip(&back) {
            assert_eq!((&e.name, e.number), (&b.name, b.inode_number));
        }
        // Headers: 0..10, 10, 11..267, 267..400, 400..600.
        let headers = bytes.len() - entries.iter().map(|e| 8 + e.name.len()).sum::<usize>();
        assert_eq!(headers, 5 * 12);
    }
}
