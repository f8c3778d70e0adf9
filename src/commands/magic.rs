//! What `file` says about a file, in `file -b`'s words: the kind of non-regular files, the
//! nested images the probe ([`crate::fs::probe::identify`]) recognises with the details `file`
//! gives cheaply (labels, versions, sizes), ELF headers, text, and `data` for the rest.

use crate::error::Result;
use crate::fs::iso9660::volume;
use crate::fs::probe::{self, Content};
use crate::fs::{FileKind, Metadata};
use crate::ondisk::endian;
use crate::source::Source;

use super::format::DateTime;

/// How much of the start of a file is looked at for text and headers.
const HEAD: usize = 1 << 16;

/// The description of a non-regular file, or `None` for a regular one.
pub fn describe_kind(meta: &Metadata) -> Option<String> {
    let dev = || {
        let (major, minor) = meta.rdev.unwrap_or((0, 0));
        format!("({major}/{minor})")
    };
    Some(match meta.kind {
        FileKind::File => return None,
        FileKind::Dir => "directory".into(),
        FileKind::Symlink => format!(
            "symbolic link to {}",
            String::from_utf8_lossy(meta.symlink.as_deref().unwrap_or_default())
        ),
        FileKind::CharDevice => format!("character special {}", dev()),
        FileKind::BlockDevice => format!("block special {}", dev()),
        FileKind::Fifo => "fifo (named pipe)".into(),
        FileKind::Socket => "socket".into(),
    })
}

/// The description of a regular file's contents.
pub fn describe_data(src: &dyn Source) -> Result<String> {
    if src.is_empty() {
        return Ok("empty".into());
    }
    let mut head = vec![0u8; HEAD.min(src.len() as usize)];
    let n = src.read_at(0, &mut head)?;
    head.truncate(n);
    // A field cut off by the end of the sample reads as 0.
    let le16 = |b: &[u8], o: usize| endian::le16(b, o).unwrap_or(0);
    let le32 = |b: &[u8], o: usize| endian::le32(b, o).unwrap_or(0);
    Ok(match probe::identify(src)? {
        Content::Filesystem("iso9660") => iso9660(src)?,
        Content::Filesystem("squashfs") => {
            // file(1) says zlib where mksquashfs says gzip.
            let comp = match crate::fs::squashfs::compression::name_of_id(le16(&head, 20)) {
                Some("gzip") => "zlib",
                Some(name) => name,
                None => "unknown",
            };
            let bytes = endian::le64(&head, 40).unwrap_or(0);
            format!(
                "Squashfs filesystem, little endian, version {}.{}, {comp} compressed, {bytes} bytes, {} inodes, blocksize: {} bytes, created: {}",
                le16(&head, 28),
                le16(&head, 30),
                le32(&head, 4),
                le32(&head, 12),
                DateTime::from_unix(i64::from(le32(&head, 8))).ctime()
            )
        }
        Content::Filesystem(ext @ ("ext2" | "ext3" | "ext4")) => {
            let sb = head.get(1024..2048).unwrap_or_default();
            let uuid = sb.get(104..120).unwrap_or_default();
            let hex = |r: std::ops::Range<usize>| -> String {
                uuid.get(r)
                    .unwrap_or_default()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect()
            };
            let mut s = format!(
                "Linux rev {}.{} {ext} filesystem data, UUID={}-{}-{}-{}-{}",
                le32(sb, 76),
                le16(sb, 62),
                hex(0..4),
                hex(4..6),
                hex(6..8),
                hex(8..10),
                hex(10..16)
            );
            let label = cstr(sb.get(120..136).unwrap_or_default());
            if !label.is_empty() {
                s.push_str(&format!(", volume name \"{label}\""));
            }
            // The feature flags `file` names, in its order.
            let (incompat, ro_compat) = (le32(sb, 96), le32(sb, 100));
            for (set, bit, name) in [
                (incompat, 0x4, "needs journal recovery"),
                (incompat, 0x1, "compressed"),
                (incompat, 0x40, "extents"),
                (incompat, 0x80, "64bit"),
                (ro_compat, 0x2, "large files"),
                (ro_compat, 0x8, "huge files"),
            ] {
                if set & bit != 0 {
                    s.push_str(&format!(" ({name})"));
                }
            }
            s
        }
        Content::Filesystem("vfat") | Content::PartitionTable(_) => "DOS/MBR boot sector".into(),
        Content::Filesystem("udf") => "UDF filesystem data".into(),
        Content::Filesystem("rpm") => rpm_lead(&head),
        Content::Filesystem("erofs") => erofs(head.get(1024..1024 + 128).unwrap_or_default()),
        Content::Filesystem("tar") => match head.get(257..265) {
            Some(b"ustar  \0") => "POSIX tar archive (GNU)",
            Some(m) if m.starts_with(b"ustar\0") => "POSIX tar archive",
            _ => "tar archive",
        }
        .into(),
        Content::Filesystem("deb") => {
            // debian-binary's data follows the magic and its 60-byte member header.
            let version = cstr(head.get(68..72).unwrap_or_default());
            format!("Debian binary package (format {})", version.trim_end())
        }
        Content::Filesystem(other) => format!("{other} filesystem data"),
        Content::Cpio(format) => match format {
            "newc" => "ASCII cpio archive (SVR4 with no CRC)",
            "crc" => "ASCII cpio archive (SVR4 with CRC)",
            "odc" => "ASCII cpio archive (pre-SVR4 or odc)",
            _ => "cpio archive",
        }
        .into(),
        Content::Compressed(kind) => compressed(kind, &head, src)?,
        Content::Unknown if head.starts_with(b"\x7fELF") => elf(&head, src)?,
        Content::Unknown => text(&head).unwrap_or_else(|| "data".into()),
    })
}

/// An RPM lead as file(1) gives it (`RPM v3.0 bin i386/x86_64`).
fn rpm_lead(head: &[u8]) -> String {
    let lead = head.get(..crate::fs::rpm::lead::LEN);
    lead.and_then(|b| crate::fs::rpm::lead::Lead::decode(b.try_into().ok()?))
        .map_or_else(|| "RPM".into(), |l| l.describe())
}

/// A NUL-terminated string field.
fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// An EROFS superblock (`sb`, from byte 1024) in file(1)'s words: the compatible features,
/// block size bits, extra slots, UUID (as a GUID), volume name and the incompatible features.
fn erofs(sb: &[u8]) -> String {
    let le32 = |o: usize| endian::le32(sb, o).unwrap_or(0);
    let names = |word: u32, table: &[(u32, &str)]| -> String {
        table
            .iter()
            .filter(|(bit, _)| word & bit != 0)
            .map(|(_, name)| format!(" {name}"))
            .collect()
    };
    let mut s = "EROFS filesystem".to_string();
    let compat = le32(8);
    if compat != 0 {
        s += ", compat:";
        s += &names(compat, &[(0x1, "SB_CHKSUM"), (0x2, "MTIME")]);
    }
    let byte = |o: usize| sb.get(o).copied().unwrap_or(0);
    let u = |r: std::ops::Range<usize>| -> String {
        r.map(|i| format!("{:02X}", byte(48 + i))).collect()
    };
    s += &format!(
        ", blocksize={}, exslots={}, uuid={}{}{}{}-{}{}-{}{}-{}-{}",
        byte(12),
        byte(13),
        u(3..4),
        u(2..3),
        u(1..2),
        u(0..1),
        u(5..6),
        u(4..5),
        u(7..8),
        u(6..7),
        u(8..10),
        u(10..16)
    );
    let name = cstr(sb.get(64..80).unwrap_or_default());
    if !name.is_empty() {
        s += &format!(", name={name}");
    }
    let incompat = le32(80);
    if incompat != 0 {
        s += ", incompat:";
        s += &names(
            incompat,
            &[
                (0x1, "LZ4_0PADDING"),
                (0x2, "BIG_PCLUSTER"),
                (0x4, "CHUNKED_FILE"),
                (0x8, "DEVICE_TABLE"),
                (0x10, "ZTAILPACKING"),
            ],
        );
    }
    s
}

fn iso9660(src: &dyn Source) -> Result<String> {
    let label = volume::read_primary(src)?
        .map(|v| v.volume_id.get(false))
        .unwrap_or_default();
    // A hybrid image (isohybrid, xorriso -partition_offset) also starts with an MBR.
    let mut mbr = [0u8; 2];
    let hybrid = src.read_at(510, &mut mbr)? == 2 && mbr == [0x55, 0xaa];
    let mut s = format!(
        "ISO 9660 CD-ROM filesystem data {}'{label}'",
        if hybrid { "(DOS/MBR boot sector) " } else { "" }
    );
    let el_torito = match volume::read_descriptor(src, 17)?.map(|d| d.body) {
        Some(volume::Body::Boot(b)) => b.el_torito_catalog().is_some(),
        _ => false,
    };
    if el_torito {
        s.push_str(" (bootable)");
    }
    Ok(s)
}

fn compressed(kind: &str, head: &[u8], src: &dyn Source) -> Result<String> {
    Ok(match kind {
        "gzip" => {
            let mut s = String::from("gzip compressed data");
            let flags = head.get(3).copied().unwrap_or(0);
            if flags & 0x08 != 0 {
                // FNAME follows the 10-byte header and the optional FEXTRA field.
                let mut at = 10;
                if flags & 0x04 != 0 {
                    let xlen = endian::le16(head, 10).unwrap_or(0);
                    at += 2 + usize::from(xlen);
                }
                s.push_str(&format!(
                    ", was \"{}\"",
                    cstr(head.get(at..).unwrap_or_default())
                ));
            }
            let mtime = endian::le32(head, 4).unwrap_or(0);
            if mtime != 0 {
                let date = DateTime::from_unix(i64::from(mtime)).ctime();
                s.push_str(&format!(", last modified: {date}"));
            }
            match head.get(8) {
                Some(2) => s.push_str(", max compression"),
                Some(4) => s.push_str(", max speed"),
                _ => {}
            }
            if head.get(9) == Some(&3) {
                s.push_str(", from Unix");
            }
            let mut tail = [0u8; 4];
            if src.len() >= 18 {
                src.read_exact_at(src.len() - 4, &mut tail, "gzip trailer")?;
                s.push_str(&format!(
                    ", original size modulo 2^32 {}",
                    endian::le32(&tail, 0).unwrap_or(0)
                ));
            }
            s
        }
        "xz" => {
            let check = match head.get(7).map(|f| f & 0x0f) {
                Some(0) => "none",
                Some(1) => "CRC32",
                Some(4) => "CRC64",
                Some(10) => "SHA-256",
                _ => "unknown",
            };
            format!("XZ compressed data, checksum {check}")
        }
        "zstd" => "Zstandard compressed data (v0.8+), Dictionary ID: None".into(),
        "bzip2" => {
            let level = head.get(3).map_or('?', |&b| b as char);
            format!("bzip2 compressed data, block size = {level}00k")
        }
        "lz4" => "LZ4 compressed data (v1.4+)".into(),
        "lzma" => "LZMA compressed data".into(),
        "compress" => format!(
            "compress'd data {} bits",
            head.get(2).map_or(0, |b| b & 0x1f)
        ),
        "lzip" => format!(
            "lzip compressed data, version: {}",
            head.get(4).copied().unwrap_or(0)
        ),
        other => format!("{other} compressed data"),
    })
}

fn elf(head: &[u8], src: &dyn Source) -> Result<String> {
    let is64 = head.get(4) == Some(&2);
    let big = head.get(5) == Some(&2);
    // The header's byte order; a field cut off reads as 0.
    let u16_at = |o: usize| {
        if big {
            endian::be16(head, o)
        } else {
            endian::le16(head, o)
        }
        .unwrap_or(0)
    };
    let word = |b: &[u8], o: usize, wide: bool| -> u64 {
        match (wide, big) {
            (true, true) => endian::be64(b, o),
            (true, false) => endian::le64(b, o),
            (false, true) => endian::be32(b, o).map(u64::from),
            (false, false) => endian::le32(b, o).map(u64::from),
        }
        .unwrap_or(0)
    };
    let kind = match u16_at(16) {
        1 => "relocatable",
        2 => "executable",
        3 if elf_is_pie(head, src, is64, &word)? => "pie executable",
        3 => "shared object",
        4 => "core file",
        _ => "unknown type",
    };
    let machine = match u16_at(18) {
        2 => "SPARC",
        3 => "Intel 80386",
        8 => "MIPS",
        20 => "PowerPC",
        21 => "64-bit PowerPC or cisco 7500",
        40 => "ARM",
        62 => "x86-64",
        183 => "ARM aarch64",
        243 => "UCB RISC-V",
        _ => "unknown arch",
    };
    let abi = match head.get(7) {
        Some(3) => "GNU/Linux",
        Some(9) => "FreeBSD",
        _ => "SYSV",
    };
    Ok(format!(
        "ELF {}-bit {} {kind}, {machine}, version {} ({abi})",
        if is64 { 64 } else { 32 },
        if big { "MSB" } else { "LSB" },
        head.get(6).copied().unwrap_or(0)
    ))
}

/// A shared object is a position-independent executable when its dynamic section sets
/// `DF_1_PIE` in `DT_FLAGS_1`, which is what `file` looks at.
fn elf_is_pie(
    head: &[u8],
    src: &dyn Source,
    is64: bool,
    word: &dyn Fn(&[u8], usize, bool) -> u64,
) -> Result<bool> {
    const PT_DYNAMIC: u64 = 2;
    const DT_FLAGS_1: u64 = 0x6fff_fffb;
    const DF_1_PIE: u64 = 0x0800_0000;
    let (phoff, phentsize, phnum) = if is64 {
        (
            word(head, 32, true),
            word(head, 54, false) & 0xffff,
            word(head, 56, false) & 0xffff,
        )
    } else {
        (
            word(head, 28, false),
            word(head, 42, false) & 0xffff,
            word(head, 44, false) & 0xffff,
        )
    };
    for i in 0..phnum.min(256) {
        let mut ph = [0u8; 56];
        let len = (phentsize as usize).min(ph.len());
        if src.read_at(phoff + i * phentsize, &mut ph[..len])? < len {
            break;
        }
        if word(&ph, 0, false) != PT_DYNAMIC {
            continue;
        }
        let (offset, size) = if is64 {
            (word(&ph, 8, true), word(&ph, 32, true))
        } else {
            (word(&ph, 4, false), word(&ph, 16, false))
        };
        let mut dynamic = vec![0u8; (size as usize).min(HEAD)];
        let n = src.read_at(offset, &mut dynamic)?;
        let entry = if is64 { 16 } else { 8 };
        for d in dynamic[..n].chunks_exact(entry) {
            if word(d, 0, is64) == DT_FLAGS_1 {
                return Ok(word(d, entry / 2, is64) & DF_1_PIE != 0);
            }
        }
    }
    Ok(false)
}

/// `ASCII text` and friends, or `None` when the bytes are not text.
fn text(head: &[u8]) -> Option<String> {
    let texty = |b: u8| matches!(b, 0x07..=0x0d | 0x1b | 0x20..=0x7e) || b >= 0x80;
    if !head.iter().all(|&b| texty(b)) {
        return None;
    }
    let mut s = if head.is_ascii() {
        String::from("ASCII text")
    } else {
        // A multi-byte character may be cut at the end of the sample.
        let valid = match std::str::from_utf8(head) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none(),
        };
        if !valid {
            return None;
        }
        String::from("Unicode text, UTF-8 text")
    };
    if head.windows(2).any(|w| w == b"\r\n") {
        s.push_str(", with CRLF line terminators");
    } else if !head.contains(&b'\n') && !head.contains(&b'\r') {
        s.push_str(", with no line terminators");
    }
    Some(s)
}
