//! Extended attributes: the entries in the inode after `i_extra_isize` (magic 0xea020000,
//! values relative to the first entry) and in the block `i_file_acl` points to (a 32-byte
//! header with the same magic, values relative to the block). Entry: name length, name index
//! (the prefix: `user.`, `system.posix_acl_access`, `trusted.`...), value offset, value inode,
//! value size, hash, name. A value kept in an inode of its own (ea_inode) is named here and
//! read by the caller.

use super::acl;
use super::data::Disk;
use super::inode::Inode;
use crate::error::Result;
use crate::ondisk::endian::le32;
use crate::ondisk::Fields;

const MAGIC: u32 = 0xea02_0000;
const BLOCK_HEADER: usize = 32;
const ENTRY_HEADER: usize = 16;
const STRUCTURE: &str = "ext extended attribute";
/// The largest value the kernel writes (XATTR_SIZE_MAX), in an inode of its own or not.
const MAX_VALUE: usize = 65536;

/// One attribute as stored: the name index, the name after the prefix, and the value.
pub struct Raw {
    pub index: u8,
    pub name: Vec<u8>,
    pub value: Vec<u8>,
    /// Where the value lies in the image.
    pub value_offset: u64,
    /// With ea_inode: the inode that holds the value (then `value` is empty) and its size.
    pub value_inode: Option<(u32, usize)>,
}

impl Raw {
    /// The full name with its prefix, or `None` for an index this reader does not know.
    pub fn full_name(&self) -> Option<Vec<u8>> {
        let prefix: &[u8] = match self.index {
            1 => b"user.",
            2 => b"system.posix_acl_access",
            3 => b"system.posix_acl_default",
            4 => b"trusted.",
            6 => b"security.",
            7 => b"system.",
            8 => b"system.richacl",
            _ => return None,
        };
        Some([prefix, &self.name].concat())
    }

    /// The value as users see it (ACLs turned from the on-disk form into the xattr form;
    /// one that does not parse is shown as stored).
    pub fn user_value(&self) -> Vec<u8> {
        match self.index {
            2 | 3 => acl::to_xattr(&self.value).unwrap_or_else(|| self.value.clone()),
            _ => self.value.clone(),
        }
    }

    /// True for `system.data`, the carrier of inline data.
    pub fn is_inline_data(&self) -> bool {
        self.index == 7 && self.name == b"data"
    }
}

/// Decodes the entries in `region` (which starts at image offset `offset`), their values at
/// their value offset within `values` (the inode's xattr area or the block, which starts at
/// image offset `values_offset`).
fn entries(
    disk: &Disk,
    ino: u32,
    region: &[u8],
    offset: u64,
    (values, values_offset): (&[u8], u64),
    out: &mut Vec<Raw>,
) -> Result<()> {
    let bad = |at: usize, detail: String| {
        disk.corrupt(
            STRUCTURE,
            offset + at as u64,
            format!("inode {ino}: {detail}"),
        )
    };
    let mut at = 0;
    while le32(region, at).is_some_and(|first| first != 0) {
        let e = &region[at..];
        if e.len() < ENTRY_HEADER {
            return Err(bad(at, "entry runs past its area".into()));
        }
        let f = Fields::new(e, disk.source.name(), STRUCTURE, offset + at as u64);
        let (name_len, value_offs, value_inum, value_size) = (
            usize::from(f.u8(0)?),
            usize::from(f.le16(2)?),
            f.le32(4)?,
            f.le32(8)? as usize,
        );
        let name = e
            .get(ENTRY_HEADER..ENTRY_HEADER + name_len)
            .ok_or_else(|| bad(at, "name runs past its area".into()))?;
        let (value, value_offset, value_inode) = if value_inum != 0 {
            if value_size > MAX_VALUE {
                return Err(bad(
                    at,
                    format!("value of {value_size} bytes in inode {value_inum}, past 64 KiB"),
                ));
            }
            (Vec::new(), 0, Some((value_inum, value_size)))
        } else {
            let value = values
                .get(value_offs..value_offs.saturating_add(value_size))
                .ok_or_else(|| {
                    bad(
                        at,
                        format!("value of {value_size} bytes at {value_offs} runs past its area"),
                    )
                })?;
            (value.to_vec(), values_offset + value_offs as u64, None)
        };
        out.push(Raw {
            index: f.u8(1)?,
            name: name.to_vec(),
            value,
            value_offset,
            value_inode,
        });
        at += (ENTRY_HEADER + name_len).next_multiple_of(4);
    }
    Ok(())
}

/// Appends the attributes kept in the inode itself.
fn in_inode(disk: &Disk, inode: &Inode, out: &mut Vec<Raw>) -> Result<()> {
    let area = &inode.raw[inode.extra_end..];
    if le32(area, 0) != Some(MAGIC) {
        return Ok(());
    }
    let region = &area[4..];
    let offset = inode.offset + inode.extra_end as u64 + 4;
    entries(disk, inode.number, region, offset, (region, offset), out)
}

/// The attributes of `inode`: those in the inode, then those of its block.
pub fn read(disk: &Disk, inode: &Inode) -> Result<Vec<Raw>> {
    let mut out = Vec::new();
    in_inode(disk, inode, &mut out)?;
    if inode.file_acl != 0 {
        let b = disk.block(inode.file_acl, "ext extended attribute block", inode.number)?;
        let offset = inode.file_acl * disk.block_size;
        if le32(&b, 0) != Some(MAGIC) || le32(&b, 8) != Some(1) {
            return Err(disk.corrupt(
                "ext extended attribute block",
                offset,
                format!(
                    "inode {}: no xattr magic, or more than one block",
                    inode.number
                ),
            ));
        }
        let region = &b[BLOCK_HEADER..];
        entries(
            disk,
            inode.number,
            region,
            offset + BLOCK_HEADER as u64,
            (&b, offset),
            &mut out,
        )?;
    }
    Ok(out)
}

/// The `system.data` attribute in the inode itself (inline data beyond `i_block`), if any.
pub fn inline_data(disk: &Disk, inode: &Inode) -> Result<Option<Raw>> {
    let mut out = Vec::new();
    in_inode(disk, inode, &mut out)?;
    Ok(out.into_iter().find(Raw::is_inline_data))
}
