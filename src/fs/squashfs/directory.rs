//! The squashfs directory table: where it ends (it is read on the first listing asked for,
//! its metadata blocks decoded as listings need them), and the listings in it, each parsed on
//! demand (its headers and entries) so a lookup reads one directory, not the whole tree.

use super::superblock::{Superblock, NOT_SET};
use crate::ondisk::endian::{le16, le32, le64};
use crate::source::Source;

/// Where the directory table ends: where the first of the tables written after it starts (the
/// fragment, export, id and xattr tables, each its blocks and then its index: the index's
/// position, or where its first pointer says its blocks start), or at `bytes_used`. An index
/// the image cannot give a pointer of is left out (what reads it says what is wrong).
pub fn table_end(source: &dyn Source, sb: &Superblock) -> u64 {
    let pointer = |at: u64| {
        let bytes = source.read_vec(at, 8, "squashfs table index").ok()?;
        le64(&bytes, 0)
    };
    let tables = [sb.frag_table, sb.export_table, sb.id_table, sb.xattr_table];
    let firsts = [
        (sb.frag_count > 0).then_some(sb.frag_table),
        Some(sb.export_table),
        (sb.id_count > 0).then_some(sb.id_table),
        // The xattr table's index follows a 16-byte header.
        sb.xattr_table.checked_add(16),
    ];
    let firsts = firsts
        .into_iter()
        .flatten()
        .filter(|&at| at != NOT_SET)
        .filter_map(pointer);
    tables
        .into_iter()
        .chain(firsts)
        .filter(|&at| at >= sb.dir_table)
        .fold(sb.bytes_used, u64::min)
}

/// One entry of a directory listing.
pub struct RawEntry {
    pub name: Vec<u8>,
    pub inode_number: u32,
    /// Where the entry starts in the listing.
    pub at: usize,
}

/// Decodes a directory's listing (`bytes` is exactly its `file_size - 3` bytes).
/// Errors carry the offset in `bytes` of the bad header or entry.
pub fn parse(bytes: &[u8]) -> Result<Vec<RawEntry>, (usize, String)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let header = (le32(bytes, at), le32(bytes, at + 8));
        let (Some(count), Some(base)) = header else {
            return Err((at, "directory header runs past the listing".into()));
        };
        if count >= 256 {
            let entries = u64::from(count) + 1;
            return Err((at, format!("directory header counts {entries} entries")));
        }
        at += 12;
        for _ in 0..=count {
            let (Some(delta), Some(size)) = (le16(bytes, at + 2), le16(bytes, at + 6)) else {
                return Err((at, "directory entry runs past the listing".into()));
            };
            let name_start = at + 8;
            let name_end = name_start + size as usize + 1;
            let Some(name) = bytes.get(name_start..name_end) else {
                return Err((at, "directory entry name runs past the listing".into()));
            };
            let inode_number = base.wrapping_add_signed(delta as i16 as i32);
            out.push(RawEntry {
                name: name.to_vec(),
                inode_number,
                at,
            });
            at = name_end;
        }
    }
    Ok(out)
}
