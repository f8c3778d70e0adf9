//! Directory entries: inode (u32), record length (u16), name length, file type (or a 16-bit
//! name length without the filetype feature), name. Directories are read linearly, block by
//! block: htree index blocks hold one empty entry spanning the block (and the root's index
//! hides inside `..`), the metadata_csum tail is an entry of inode 0, so neither yields names.
//! Record lengths are checked: at least 8 + the name, 4-aligned, within the block.

use crate::ondisk::endian::{le16, le32};

/// One name of a directory, as stored.
pub struct Raw<'a> {
    /// Where the entry starts in the area given to [`each`].
    pub at: usize,
    pub inode: u32,
    pub name: &'a [u8],
}

/// The record length as stored: 64 KiB blocks encode their full length as 0 or 65535.
fn rec_len(raw: u16, block_len: usize) -> usize {
    let raw = usize::from(raw);
    if block_len >= 65536 && (raw == 0 || raw == 65535) {
        65536
    } else {
        (raw & 65532) | ((raw & 3) << 16)
    }
}

/// Calls `f` for each used entry in `block` (a directory block, or a part of an inline
/// directory); `filetype` tells whether names have an 8-bit length. Stops early when `f`
/// returns false. Errors give the offset in `block` and what is wrong.
pub fn each<'a>(
    block: &'a [u8],
    filetype: bool,
    mut f: impl FnMut(Raw<'a>) -> bool,
) -> Result<(), (usize, String)> {
    let mut at = 0;
    while at < block.len() {
        let (Some(inode), Some(raw_len), Some(name_len16)) =
            (le32(block, at), le16(block, at + 4), le16(block, at + 6))
        else {
            return Err((
                at,
                format!("{} bytes left, too few for an entry", block.len() - at),
            ));
        };
        let len = rec_len(raw_len, block.len());
        // An unused entry's name is not looked at (the metadata_csum tail has a "file type"
        // 0xde even without the filetype feature).
        let name_len = if inode == 0 {
            0
        } else if filetype {
            // The low byte is the name length, the high one the file type.
            usize::from(name_len16 & 0xff)
        } else {
            usize::from(name_len16)
        };
        if len < 8 + name_len || !len.is_multiple_of(4) || at + len > block.len() {
            return Err((
                at,
                format!(
                    "record length {len} (name {name_len} bytes, {} bytes left)",
                    block.len() - at
                ),
            ));
        }
        if name_len > 0
            && !f(Raw {
                at,
                inode,
                name: &block[at + 8..at + 8 + name_len],
            })
        {
            return Ok(());
        }
        at += len;
    }
    Ok(())
}
