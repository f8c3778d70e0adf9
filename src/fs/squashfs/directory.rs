//! Squashfs directory listings: the headers and entries of the directory table (decompressed
//! whole by backhand), decoded here so a lookup reads one directory, not the whole tree.

use crate::ondisk::endian::{le16, le32};

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
            return Err((at, format!("directory header counts {} entries", count + 1)));
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
