//! EROFS directory blocks decoded in-house, for the directories the crate refuses whole (it
//! checks every name of a block before it yields one): so an entry whose name cannot be a file
//! name can be left out ([`crate::fs::left_out`]) and the rest listed. Uncompressed (plain and
//! inline) directories only; where their blocks lie is read from the inode itself (its
//! `raw_blkaddr` at byte 16; an inline tail follows the inode and its xattrs).

use erofs_rs::types::{Inode, Layout};

use super::ErofsFs;
use crate::error::{Error, Result};
use crate::ondisk::endian::{le16, le32, le64};

/// Bytes of one dirent: nid (u64), name offset (u16), file type, reserved.
const DIRENT: usize = 12;

/// One dirent: the nid it names, its name, and where the dirent lies in the image.
pub(super) struct Raw {
    pub(super) nid: u64,
    pub(super) name: Vec<u8>,
    pub(super) at: u64,
}

impl ErofsFs {
    /// The dirents of directory `inode`, block by block, `.` and `..` included; `None` when
    /// its layout is not plain or inline (the caller's bound on its size holds).
    pub(super) fn dirents(&self, inode: &Inode) -> Result<Option<Vec<Raw>>> {
        let inline = match inode.layout() {
            Some(Layout::FlatPlain) => false,
            Some(Layout::FlatInline) => true,
            _ => return Ok(None),
        };
        let image = self.image();
        let at = self.inode_offset(inode.id());
        let head = self.source.read_vec(at, 32, "erofs inode")?;
        let field =
            |v: Option<u64>| v.ok_or_else(|| Error::corrupt(image, "erofs inode", at, "short"));
        let extended = field(le16(&head, 0).map(u64::from))? & 1 == 1;
        let start = field(le32(&head, 16).map(u64::from))?;
        let bs = self.block_size();
        let size = inode.data_size();
        let blocks = if inline { size - size % bs } else { size };
        let tail = at + if extended { 64 } else { 32 } + inode.xattr_size() as u64;
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < size {
            let len = (size - pos).min(bs);
            let disk = match pos < blocks {
                true => start.saturating_mul(bs).saturating_add(pos),
                false => tail,
            };
            let block = self
                .source
                .read_vec(disk, len as usize, "erofs directory")?;
            block_dirents(image, &block, disk, &mut out)?;
            pos += len;
        }
        Ok(Some(out))
    }
}

/// The dirents of one directory block (`block`, at `disk` in the image `image`).
fn block_dirents(image: &str, block: &[u8], disk: u64, out: &mut Vec<Raw>) -> Result<()> {
    let corrupt = |i: usize, detail: String| {
        Error::corrupt(image, "erofs directory", disk + (i * DIRENT) as u64, detail)
    };
    let name_off = |i: usize| le16(block, i * DIRENT + 8).map(usize::from);
    let table = name_off(0).unwrap_or(0);
    if table == 0 || table >= block.len() || table % DIRENT != 0 {
        return Err(corrupt(0, format!("dirent table of {table} bytes")));
    }
    let count = table / DIRENT;
    for i in 0..count {
        let last = i + 1 == count;
        let start = name_off(i).unwrap_or(0);
        let end = match last {
            true => block.len(),
            false => name_off(i + 1).unwrap_or(0),
        };
        if start < table || start >= end || end > block.len() {
            return Err(corrupt(i, format!("dirent {i}: name at {start}..{end}")));
        }
        let mut name = &block[start..end];
        if last {
            // Only the last name can be followed by the block's NUL padding.
            name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        }
        out.push(Raw {
            nid: le64(block, i * DIRENT).unwrap_or(0),
            name: name.to_vec(),
            at: disk + (i * DIRENT) as u64,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_gives_its_dirents_and_a_bad_table_is_corrupt() {
        // Two dirents (nids 5 and 6) named `a` and `b/`, then padding.
        let mut block = vec![0u8; 32];
        block[0] = 5;
        block[8] = 24;
        block[12] = 6;
        block[20] = 25;
        block[24..27].copy_from_slice(b"ab/");
        let mut out = Vec::new();
        block_dirents("x", &block, 100, &mut out).unwrap();
        let got: Vec<_> = out.iter().map(|r| (r.nid, r.name.clone(), r.at)).collect();
        assert_eq!(got, [(5, b"a".to_vec(), 100), (6, b"b/".to_vec(), 112)]);
        block[8] = 7;
        assert!(block_dirents("x", &block, 100, &mut out).is_err());
    }
}
