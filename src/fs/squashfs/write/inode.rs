//! Inodes of the inode table: the 16-byte header (type, permissions, uid and gid indices,
//! mtime, number) and the body of each kind, basic where it can hold the inode and extended
//! where it must (an xattr, a hard-linked or sparse file, sizes or places past 4 GiB, a
//! listing past 64 KiB or with a directory index), as `mksquashfs` chooses.

use crate::fs::squashfs::inode::{
    BLOCK_DEV, CHAR_DEV, DIR, EXTENDED, FIFO, FILE, NO_XATTR, SOCKET, SYMLINK,
};

/// What an inode says besides its header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Dir {
        nlink: u32,
        /// The listing's place in the directory table (block offset, offset in the block).
        block: u32,
        offset: u16,
        /// The listing's size plus 3.
        size: u32,
        parent: u32,
        /// The directory index: per 8 KiB split, its offset in the listing, the directory
        /// table block it lies in, its first name.
        index: Vec<(u32, u32, Vec<u8>)>,
    },
    File {
        nlink: u32,
        blocks_start: u64,
        size: u64,
        sparse: u64,
        fragment: u32,
        fragment_offset: u32,
        /// The size words of the blocks (bit 24: stored uncompressed; 0: sparse).
        blocks: Vec<u32>,
    },
    Symlink {
        nlink: u32,
        target: Vec<u8>,
    },
    Device {
        nlink: u32,
        block: bool,
        /// The kernel's `new_encode_dev` number.
        rdev: u32,
    },
    Ipc {
        nlink: u32,
        socket: bool,
    },
}

/// One inode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inode {
    /// Permission bits (`0o7777`).
    pub mode: u16,
    pub uid: u16,
    pub gid: u16,
    pub mtime: u32,
    pub number: u32,
    /// The xattr id, or [`NO_XATTR`].
    pub xattr: u32,
    pub body: Body,
}

/// The device number as the kernel encodes it (`new_encode_dev`).
pub fn encode_dev(major: u32, minor: u32) -> u32 {
    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12)
}

impl Inode {
    /// The basic type of the inode, as directory entries record it.
    pub fn basic_type(&self) -> u16 {
        match &self.body {
            Body::Dir { .. } => DIR,
            Body::File { .. } => FILE,
            Body::Symlink { .. } => SYMLINK,
            Body::Device { block: true, .. } => BLOCK_DEV,
            Body::Device { block: false, .. } => CHAR_DEV,
            Body::Ipc { socket: false, .. } => FIFO,
            Body::Ipc { socket: true, .. } => SOCKET,
        }
    }

    fn extended(&self) -> bool {
        let xattr = self.xattr != NO_XATTR;
        match &self.body {
            Body::Dir { size, index, .. } => xattr || *size > 0xffff || !index.is_empty(),
            Body::File {
                nlink,
                blocks_start,
                size,
                sparse,
                ..
            } => {
                xattr
                    || *nlink > 1
                    || *sparse != 0
                    || *blocks_start > u64::from(u32::MAX)
                    || *size > u64::from(u32::MAX)
            }
            _ => xattr,
        }
    }

    /// The inode's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let ext = self.extended();
        let kind = self.basic_type() + if ext { EXTENDED } else { 0 };
        let mut b = Vec::with_capacity(64);
        let put16 = |b: &mut Vec<u8>, v: u16| b.extend_from_slice(&v.to_le_bytes());
        put16(&mut b, kind);
        put16(&mut b, self.mode & 0o7777);
        put16(&mut b, self.uid);
        put16(&mut b, self.gid);
        let put32 = |b: &mut Vec<u8>, v: u32| b.extend_from_slice(&v.to_le_bytes());
        let put64 = |b: &mut Vec<u8>, v: u64| b.extend_from_slice(&v.to_le_bytes());
        put32(&mut b, self.mtime);
        put32(&mut b, self.number);
        match &self.body {
            Body::Dir {
                nlink,
                block,
                offset,
                size,
                parent,
                index,
            } => {
                if ext {
                    put32(&mut b, *nlink);
                    put32(&mut b, *size);
                    put32(&mut b, *block);
                    put32(&mut b, *parent);
                    put16(&mut b, index.len() as u16);
                    put16(&mut b, *offset);
                    put32(&mut b, self.xattr);
                    for (at, start, name) in index {
                        put32(&mut b, *at);
                        put32(&mut b, *start);
                        put32(&mut b, name.len() as u32 - 1);
                        b.extend_from_slice(name);
                    }
                } else {
                    put32(&mut b, *block);
                    put32(&mut b, *nlink);
                    put16(&mut b, *size as u16);
                    put16(&mut b, *offset);
                    put32(&mut b, *parent);
                }
            }
            Body::File {
                nlink,
                blocks_start,
                size,
                sparse,
                fragment,
                fragment_offset,
                blocks,
            } => {
                if ext {
                    put64(&mut b, *blocks_start);
                    put64(&mut b, *size);
                    put64(&mut b, *sparse);
                    put32(&mut b, *nlink);
                    put32(&mut b, *fragment);
                    put32(&mut b, *fragment_offset);
                    put32(&mut b, self.xattr);
                } else {
                    put32(&mut b, *blocks_start as u32);
                    put32(&mut b, *fragment);
                    put32(&mut b, *fragment_offset);
                    put32(&mut b, *size as u32);
                }
                for w in blocks {
                    put32(&mut b, *w);
                }
            }
            Body::Symlink { nlink, target } => {
                put32(&mut b, *nlink);
                put32(&mut b, target.len() as u32);
                b.extend_from_slice(target);
                if ext {
                    put32(&mut b, self.xattr);
                }
            }
            Body::Device { nlink, rdev, .. } => {
                put32(&mut b, *nlink);
                put32(&mut b, *rdev);
                if ext {
                    put32(&mut b, self.xattr);
                }
            }
            Body::Ipc { nlink, .. } => {
                put32(&mut b, *nlink);
                if ext {
                    put32(&mut b, self.xattr);
                }
            }
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inode(xattr: u32, body: Body) -> Inode {
        Inode {
            mode: 0o644,
            uid: 0,
            gid: 1,
            mtime: 5,
            number: 9,
            xattr,
            body,
        }
    }

    #[test]
    fn extended_inodes_only_where_needed() {
        let file = |nlink| Body::File {
            nlink,
            blocks_start: 96,
            size: 10,
            sparse: 0,
            fragment: 0,
            fragment_offset: 0,
            blocks: vec![],
        };
        let basic = inode(NO_XATTR, file(1)).encode();
        assert_eq!((basic[0], basic.len()), (2, 32));
        let linked = inode(NO_XATTR, file(2)).encode();
        assert_eq!((linked[0], linked.len()), (9, 56));
        let fifo = inode(
            3,
            Body::Ipc {
                nlink: 1,
                socket: false,
            },
        )
        .encode();
        assert_eq!((fifo[0], fifo.len()), (13, 24));
    }

    #[test]
    fn device_numbers_are_encoded_as_the_kernel_does() {
        assert_eq!(encode_dev(8, 1), 0x801);
        assert_eq!(
            encode_dev(1, 0x12345),
            0x12345 & 0xff | 0x100 | (0x12300 << 12)
        );
    }
}
