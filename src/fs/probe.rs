//! The one probe: looks at magic numbers and says what a source holds. `vfs-type`, `file`,
//! `list-filesystems` and `mount` all ask it, so they always agree.

use std::sync::Arc;

use crate::error::Result;
use crate::fs::erofs::superblock::{self as erofs, Features};
use crate::fs::iso9660::record;
use crate::fs::iso9660::volume;
use crate::fs::iso9660::SECTOR;
use crate::ondisk::endian;
use crate::source::decoded::{self, Codec};
use crate::source::{MemSource, Source};

/// What the first bytes of a source say it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// A filesystem isofish can name: `iso9660`, `udf`, `squashfs`, `ext2`, `ext3`, `ext4`,
    /// `vfat`, `erofs`, an archive read as one: `tar`, `deb`; or a package whose payload it
    /// mounts as a tree: `rpm`.
    Filesystem(&'static str),
    /// A cpio archive, with its header format (`newc`, `crc`, `odc`, `afio`, `bin`).
    Cpio(&'static str),
    /// A compressed stream: `gzip`, `xz`, `lzma`, `zstd`, `bzip2`, `lz4`, `compress`, `lzip`.
    Compressed(&'static str),
    /// A partitioned disk: `mbr` or `gpt`.
    PartitionTable(&'static str),
    /// Nothing recognised.
    Unknown,
}

fn read_prefix(src: &dyn Source, offset: u64, len: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0; len];
    let n = src.read_at(offset, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

pub(crate) fn has_iso_descriptor(src: &dyn Source) -> Result<bool> {
    let vd = read_prefix(src, 16 * SECTOR, 8)?;
    Ok(vd.get(1..6) == Some(b"CD001"))
}

pub fn has_udf_vrs(src: &dyn Source) -> Result<bool> {
    // The volume recognition sequence: up to a few descriptors from byte 32768 on, one per
    // 2048 bytes, or one per block where UDF blocks are larger (mkudffs -b 4096 and up).
    for step in [2048, 4096, 8192, 16384, 32768] {
        for i in 0..16 {
            let vd = read_prefix(src, 16 * SECTOR + i * step, 6)?;
            match vd.get(1..6) {
                Some(b"NSR02") | Some(b"NSR03") => return Ok(true),
                Some(b"CD001") | Some(b"BEA01") | Some(b"BOOT2") | Some(b"CDW02")
                | Some(b"TEA01") => {}
                _ => break,
            }
        }
    }
    Ok(false)
}

/// Entries an ISO 9660 root may hold and still be a stub.
const STUB_FILES: usize = 4;

/// True when the ISO 9660 tree of a bridge disc is a stub in front of the UDF tree (the
/// Windows install DVD case: a root with only `README.TXT`): the primary volume descriptor's
/// root directory fits in one sector and holds no directory and at most [`STUB_FILES`] files.
/// Cheap (two sector reads); where both trees are full copies (genisoimage `-udf`), the ISO
/// root holds directories or more files and the disc stays `iso9660`. A small bridge disc
/// whose trees are the same stub-sized copy is reported `udf`, which shows the same files.
fn iso_root_is_stub(src: &dyn Source) -> Result<bool> {
    let Some(pvd) = volume::read_primary(src)? else {
        return Ok(false);
    };
    let Ok(root) = pvd.root(16 * SECTOR, src.name()) else {
        return Ok(false);
    };
    if root.size == 0 || u64::from(root.size) > SECTOR {
        return Ok(false);
    }
    let offset = u64::from(root.extent) * SECTOR;
    let dir = read_prefix(src, offset, root.size as usize)?;
    let mut files = 0;
    let mut records = 0;
    for rec in record::records(&dir, offset, src.name()).map_while(Result::ok) {
        records += 1;
        // The first two records are `.` and `..`.
        if records > 2 {
            if rec.is_dir() {
                return Ok(false);
            }
            files += 1;
        }
    }
    Ok(records >= 2 && files <= STUB_FILES)
}

/// Identifies the content of `src` from its magic numbers.
pub fn identify(src: &dyn Source) -> Result<Content> {
    let head = read_prefix(src, 0, 4096)?;
    let at = |off: usize, magic: &[u8]| head.get(off..off + magic.len()) == Some(magic);

    if has_iso_descriptor(src)? {
        let udf = has_udf_vrs(src)? && iso_root_is_stub(src)?;
        return Ok(Content::Filesystem(if udf { "udf" } else { "iso9660" }));
    }
    if has_udf_vrs(src)? {
        return Ok(Content::Filesystem("udf"));
    }
    // Before the two-byte ext magic, which a package's header may hold at byte 1080.
    if at(0, &super::rpm::lead::MAGIC) {
        return Ok(Content::Filesystem("rpm"));
    }
    if let Some(t) = archive(&head) {
        return Ok(Content::Filesystem(t));
    }
    if at(0, b"hsqs") {
        return Ok(Content::Filesystem("squashfs"));
    }
    if at(1024, &erofs::MAGIC) {
        return Ok(Content::Filesystem("erofs"));
    }
    if at(1080, &[0x53, 0xef]) {
        // A superblock cut short by the end of the image reads as no features.
        let field = |off: usize| endian::le32(&head, off).unwrap_or(0);
        let (compat, incompat) = (field(1024 + 92), field(1024 + 96));
        let kind = if incompat & (0x40 | 0x80 | 0x200 | 0x8000) != 0 {
            "ext4"
        } else if compat & 0x4 != 0 {
            "ext3"
        } else {
            "ext2"
        };
        return Ok(Content::Filesystem(kind));
    }
    if let Some(format) = cpio_format(&head) {
        return Ok(Content::Cpio(format));
    }
    for (magic, name) in [
        (&[0x1f, 0x8b][..], "gzip"),
        (&[0xfd, b'7', b'z', b'X', b'Z', 0], "xz"),
        (&[0x28, 0xb5, 0x2f, 0xfd], "zstd"),
        (b"BZh", "bzip2"),
        (&[0x02, 0x21, 0x4c, 0x18], "lz4"),
        (&[0x04, 0x22, 0x4d, 0x18], "lz4"),
        (&[0x5d, 0, 0], "lzma"),
        (&[0x1f, 0x9d], "compress"),
        (b"LZIP", "lzip"),
    ] {
        if at(0, magic) {
            return Ok(Content::Compressed(name));
        }
    }
    if at(512, b"EFI PART") {
        return Ok(Content::PartitionTable("gpt"));
    }
    if at(510, &[0x55, 0xaa]) {
        let fat = at(54, b"FAT12") || at(54, b"FAT16") || at(82, b"FAT32") || at(54, b"FAT ");
        if fat {
            return Ok(Content::Filesystem("vfat"));
        }
        // A partition table has at least one entry with a type and a boot flag of 0 or 0x80.
        let entry = |i: usize, at: usize| head.get(446 + 16 * i + at).copied().unwrap_or(0);
        let entries_valid = (0..4).all(|i| matches!(entry(i, 0), 0 | 0x80));
        let any_used = (0..4).any(|i| entry(i, 4) != 0);
        if entries_valid && any_used {
            return Ok(Content::PartitionTable("mbr"));
        }
    }
    Ok(Content::Unknown)
}

/// The mountable filesystem type of `src`, if it holds one.
pub fn filesystem_type(src: &dyn Source) -> Result<Option<&'static str>> {
    Ok(match identify(src)? {
        Content::Filesystem(t) => Some(t),
        _ => None,
    })
}

/// True when `src` is a compressed stream that decodes to a cpio archive (an initrd).
pub fn compressed_cpio(src: &Arc<dyn Source>) -> Result<bool> {
    let head = read_prefix(src.as_ref(), 0, 6)?;
    let Some(codec) = Codec::sniff(&head) else {
        return Ok(false);
    };
    let inner = decoded::peek(src, 0, codec, 6)?;
    Ok(cpio_format(&inner).is_some())
}

/// The archive format (`tar`, `deb`) whose first header `head` starts with.
pub fn archive(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"!<arch>\ndebian-binary") {
        return Some("deb");
    }
    crate::fs::tar::header::looks_like(head).then_some("tar")
}

/// The archive format of a compressed stream that decodes to one (a `.tar.gz`), read through
/// the archive reader's own decoding rather than decoded whole.
pub fn compressed_archive(src: &Arc<dyn Source>) -> Result<Option<&'static str>> {
    let head = read_prefix(src.as_ref(), 0, 6)?;
    let Some(codec) = Codec::sniff(&head) else {
        return Ok(None);
    };
    let inner = decoded::peek(src, 0, codec, 512)?;
    Ok(archive(&inner))
}

/// Byte offset of the compressor id in a squashfs superblock.
pub const SQUASHFS_COMPRESSOR: u64 = 20;

/// The cpio header format whose magic `head` starts with.
pub fn cpio_format(head: &[u8]) -> Option<&'static str> {
    [
        (&b"070701"[..], "newc"),
        (b"070702", "crc"),
        (b"070707", "odc"),
        (b"070727", "afio"),
        (&[0xc7, 0x71], "bin"),
        (&[0x71, 0xc7], "bin"),
    ]
    .into_iter()
    .find(|(magic, _)| head.starts_with(magic))
    .map(|(_, f)| f)
}

/// What `vfs-type PATH` and `file` say about an image: the type, and in parentheses the
/// compression (`squashfs (xz)`, `erofs (lz4)`, `cpio (newc, gzip)`, `ext4 (xz)` for an xz'd ext4
/// image).
pub fn describe(src: &Arc<dyn Source>) -> Result<String> {
    Ok(match identify(src.as_ref())? {
        Content::Filesystem("squashfs") => {
            let sb = read_prefix(src.as_ref(), SQUASHFS_COMPRESSOR, 2)?;
            let comp = endian::le16(&sb, 0)
                .and_then(super::squashfs::compression::name_of_id)
                .unwrap_or("unknown compression");
            format!("squashfs ({comp})")
        }
        Content::Filesystem("erofs") => {
            let sb = read_prefix(src.as_ref(), erofs::OFFSET, erofs::SIZE)?;
            let algs = Features::decode(&sb).map(|f| f.compressions());
            match algs.filter(|a| !a.is_empty()) {
                Some(algs) => format!("erofs ({})", algs.join(", ")),
                None => "erofs".to_string(),
            }
        }
        Content::Filesystem("rpm") => super::rpm::describe(src)?,
        Content::Filesystem(t) | Content::PartitionTable(t) => t.to_string(),
        Content::Cpio(f) => format!("cpio ({f})"),
        Content::Compressed(name) => {
            let head = read_prefix(src.as_ref(), 0, 6)?;
            let Some(codec) = Codec::sniff(&head) else {
                return Ok(name.to_string());
            };
            let inner = decoded::peek(src, 0, codec, 64 * 1024)?;
            match identify(&MemSource::new(inner, "decoded stream"))? {
                Content::Cpio(f) => format!("cpio ({f}, {name})"),
                Content::Filesystem(t) | Content::PartitionTable(t) => format!("{t} ({name})"),
                _ => format!("{name} data"),
            }
        }
        Content::Unknown => "unknown".to_string(),
    })
}
