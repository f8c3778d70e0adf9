//! POSIX ACLs as ext stores them (version 1: a 4-byte header, 4-byte entries for the owner,
//! group, mask and other entries, 8-byte ones with an id for named users and groups), turned
//! into the form `getxattr` returns (version 2, every entry 8 bytes, no id written as
//! 0xffffffff), as the kernel and debugfs show them.

use crate::ondisk::endian::{le16, le32};

const DISK_VERSION: u32 = 1;
const XATTR_VERSION: u32 = 2;
const USER: u16 = 0x2;
const GROUP: u16 = 0x8;
const UNDEFINED_ID: u32 = 0xffff_ffff;

/// The xattr form of the on-disk ACL `disk`, or `None` when it is malformed.
pub fn to_xattr(disk: &[u8]) -> Option<Vec<u8>> {
    if le32(disk, 0)? != DISK_VERSION {
        return None;
    }
    let mut out = XATTR_VERSION.to_le_bytes().to_vec();
    let mut at = 4;
    while at < disk.len() {
        let (tag, perm) = (le16(disk, at)?, le16(disk, at + 2)?);
        let id = if matches!(tag, USER | GROUP) {
            let id = le32(disk, at + 4)?;
            at += 8;
            id
        } else {
            at += 4;
            UNDEFINED_ID
        };
        out.extend(tag.to_le_bytes());
        out.extend(perm.to_le_bytes());
        out.extend(id.to_le_bytes());
    }
    Some(out)
}
