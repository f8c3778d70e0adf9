//! Inline data (the inline_data feature): a small file's bytes in the 60 bytes of `i_block`,
//! continued in the value of the in-inode extended attribute `system.data`. An inline
//! directory starts with its parent's inode number (4 bytes), then entries filling the rest of
//! `i_block`, then entries filling the `system.data` value.

use super::data::Disk;
use super::inode::{Inode, I_BLOCK, I_BLOCK_LEN};
use super::xattr;
use crate::error::Result;

/// The two parts of an inode's inline bytes: `i_block` and the `system.data` value, with
/// where the value lies in the image.
pub struct Parts {
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
    pub tail_offset: u64,
}

/// The inline parts of `inode`.
pub fn parts(disk: &Disk, inode: &Inode) -> Result<Parts> {
    let (tail, tail_offset) = match xattr::inline_data(disk, inode)? {
        Some(raw) => (raw.value, raw.value_offset),
        None => (Vec::new(), inode.offset),
    };
    Ok(Parts {
        head: inode.i_block().to_vec(),
        tail,
        tail_offset,
    })
}

/// The `size` bytes of an inline file or symlink.
pub fn data(disk: &Disk, inode: &Inode) -> Result<Vec<u8>> {
    let Parts { mut head, tail, .. } = parts(disk, inode)?;
    let available = (I_BLOCK_LEN + tail.len()) as u64;
    if inode.size > available {
        return Err(disk.corrupt(
            "ext inline data",
            inode.offset,
            format!(
                "inode {}: size {} but only {available} bytes are inline",
                inode.number, inode.size
            ),
        ));
    }
    head.extend(tail);
    head.truncate(inode.size as usize);
    Ok(head)
}

/// The entry areas of an inline directory with where they lie in the image: the rest of
/// `i_block` after the parent's inode number, then the `system.data` value.
pub fn dir_areas(disk: &Disk, inode: &Inode) -> Result<[(Vec<u8>, u64); 2]> {
    let Parts {
        head,
        tail,
        tail_offset,
    } = parts(disk, inode)?;
    let head_offset = inode.offset + (I_BLOCK + 4) as u64;
    Ok([(head[4..].to_vec(), head_offset), (tail, tail_offset)])
}
