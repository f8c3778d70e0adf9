//! What the right-hand pane shows for the selection: the first lines of a text file, a hex dump
//! of a binary one, an info card for a nested image (what the probe says, and the volume's own
//! description when isofish can open it), and the `i` card (metadata, the mount, its device).

use std::sync::Arc;

use crate::boot;
use crate::commands::format::{escape_controls, escape_name};
use crate::fs::probe::{self, Content};
use crate::fs::{self, FileKind, Metadata, MountOptions};
use crate::session::Session;
use crate::source::nested::FileInFs;
use crate::source::Source;
use crate::vfs::{Mount, Node, Target};

use super::listing::Listing;

/// Bytes read for the preview pane.
pub const PREVIEW_BYTES: usize = 16 << 10;
/// Bytes read for the full-screen viewer (Enter on a plain file).
pub const VIEWER_BYTES: usize = 256 << 10;

/// The preview of one entry.
pub enum Preview {
    /// Nothing selected (an empty directory).
    Nothing,
    /// A directory: its entries.
    Directory(Listing),
    /// The first lines of a text file.
    Text(Vec<String>),
    /// A hex dump of the first bytes of a binary file.
    Hex(Vec<String>),
    /// Label/value rows: a nested image, a device.
    Card(Vec<(String, String)>),
    /// One line: a symlink's target, a device node, an error.
    Note(String),
}

/// The data of a file node as a source (read straight from the parent's bytes where the
/// filesystem stores it plainly); `None` for anything but a regular file.
fn file_data(node: &Node) -> Option<crate::Result<Arc<FileInFs>>> {
    node.file_data().map(|r| r.map(Arc::new))
}

/// What the probe says a file holds (`Unknown` for anything but a regular file).
pub fn probe(node: &Node) -> crate::Result<Content> {
    match file_data(node) {
        Some(src) => probe::identify(src?.as_ref()),
        None => Ok(Content::Unknown),
    }
}

/// The name of what the probe found, as `file` would say it.
fn content_name(c: &Content) -> String {
    match c {
        Content::Filesystem("tar") => "tar archive".into(),
        Content::Filesystem("deb") => "Debian package".into(),
        Content::Filesystem("rpm") => "RPM package".into(),
        Content::Filesystem(t) => format!("{t} filesystem"),
        Content::Cpio(f) => format!("cpio archive ({f})"),
        Content::Compressed(c) => format!("{c} compressed data"),
        Content::PartitionTable(t) => format!("{} partition table", t.to_uppercase()),
        Content::Unknown => "data".into(),
    }
}

/// The preview of a node that is not a directory.
pub fn of(node: &Node) -> Preview {
    let meta = node.meta();
    match meta.kind {
        FileKind::File => file(node, &meta),
        FileKind::Symlink => Note(format!(
            "symbolic link to {}",
            escape_name(meta.symlink.as_deref().unwrap_or_default())
        )),
        FileKind::CharDevice | FileKind::BlockDevice => {
            let (major, minor) = meta.rdev.unwrap_or_default();
            let what = if meta.kind == FileKind::CharDevice {
                "character"
            } else {
                "block"
            };
            Note(format!("{what} device {major}, {minor}"))
        }
        FileKind::Fifo => Note("named pipe".into()),
        FileKind::Socket => Note("socket".into()),
        FileKind::Dir => Preview::Nothing,
    }
}

use Preview::Note;

fn file(node: &Node, meta: &Metadata) -> Preview {
    let src = match file_data(node) {
        None => return Preview::Nothing,
        Some(Err(e)) => return Note(e.to_string()),
        Some(Ok(src)) => src,
    };
    match probe::identify(src.as_ref()) {
        Err(e) => return Note(e.to_string()),
        Ok(Content::Unknown) => {}
        Ok(content) => return Preview::Card(image_card(&content, src, meta.size)),
    }
    match head(node, PREVIEW_BYTES) {
        Err(e) => Note(e.to_string()),
        Ok(bytes) => render_bytes(&bytes).0,
    }
}

/// The first `limit` bytes of a file.
fn head(node: &Node, limit: usize) -> crate::Result<Vec<u8>> {
    let Some(src) = file_data(node).transpose()? else {
        return Ok(Vec::new());
    };
    let len = src.len().min(limit as u64) as usize;
    let mut buf = vec![0; len];
    let n = src.read_at(0, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

/// Text or hex lines for `bytes`, and whether they were text.
fn render_bytes(bytes: &[u8]) -> (Preview, bool) {
    if is_text(bytes) {
        (Preview::Text(text_lines(bytes)), true)
    } else {
        (Preview::Hex(hex_lines(bytes)), false)
    }
}

/// The lines of the full-screen viewer for a plain file, and its title.
pub fn viewer(node: &Node) -> (String, Vec<String>) {
    let size = node.meta().size;
    match head(node, VIEWER_BYTES) {
        Err(e) => (
            escape_name(node.path.as_bytes()).into_owned(),
            vec![e.to_string()],
        ),
        Ok(bytes) => {
            let shown = if size > bytes.len() as u64 {
                format!(" (first {} of {})", human(bytes.len() as u64), human(size))
            } else {
                String::new()
            };
            let lines = match render_bytes(&bytes).0 {
                Preview::Text(l) | Preview::Hex(l) => l,
                _ => Vec::new(),
            };
            (
                format!("{}{shown}", escape_name(node.path.as_bytes())),
                lines,
            )
        }
    }
}

/// Text if it has no NUL and is UTF-8 (a character cut at the end is allowed) or at least 95%
/// printable ASCII and whitespace.
fn is_text(bytes: &[u8]) -> bool {
    if bytes.contains(&0) {
        return false;
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) if e.error_len().is_none() => true,
        Err(_) => {
            let printable = bytes
                .iter()
                .filter(|&&b| b.is_ascii_graphic() || b.is_ascii_whitespace())
                .count();
            printable * 100 >= bytes.len() * 95
        }
    }
}

/// Lines of text with tabs expanded and the other control characters escaped
/// ([`escape_controls`]: `\033`).
pub fn text_lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|line| {
            let mut out = String::new();
            for part in line.split_inclusive('\t') {
                let (text, tab) = match part.strip_suffix('\t') {
                    Some(text) => (text, true),
                    None => (part, false),
                };
                out.push_str(&escape_controls(text.as_bytes()));
                if tab {
                    let pad = 8 - out.chars().count() % 8;
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out
        })
        .collect()
}

/// `hexdump -C` lines: offset, 16 bytes in two groups, the printable characters.
fn hex_lines(bytes: &[u8]) -> Vec<String> {
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, chunk)| {
            let mut hex = String::new();
            for (j, b) in chunk.iter().enumerate() {
                if j == 8 {
                    hex.push(' ');
                }
                hex.push_str(&format!("{b:02x} "));
            }
            let ascii: String = chunk
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            format!("{:08x}  {hex:<49} |{ascii}|", i * 16)
        })
        .collect()
}

/// The card of a nested image: what it holds and, when isofish can open it, its label and
/// volume description.
fn image_card(content: &Content, src: Arc<FileInFs>, size: u64) -> Vec<(String, String)> {
    let mut rows = vec![
        ("image".to_string(), content_name(content)),
        ("size".to_string(), human(size)),
    ];
    if let Content::Filesystem(_) | Content::Cpio(_) = content {
        match fs::open(src, &MountOptions::default()) {
            Ok(fs) => {
                if let Some(label) = fs.label() {
                    rows.push(("label".into(), label));
                }
                rows.extend(fs.info());
            }
            Err(e) => rows.push(("note".into(), e.to_string())),
        }
    }
    rows.push(("Enter".into(), "mounts it here and opens it".into()));
    rows
}

/// `1.5 KiB`, `512 B`.
pub fn human(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `ls -l`'s mode string: `drwxr-xr-x`.
fn mode_string(meta: &Metadata) -> String {
    let mut s = String::from(crate::commands::format::kind_char(meta.kind));
    for shift in [6, 3, 0] {
        let bits = (meta.mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(secs: i64) -> String {
    let t = crate::commands::format::DateTime::from_unix(secs);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// The mount a session path lies in (the deepest mountpoint above it, the latest mount first).
pub fn mount_of<'v>(mounts: &'v [Mount], path: &str) -> Option<&'v Mount> {
    mounts
        .iter()
        .rev()
        .filter(|m| {
            m.mountpoint == "/"
                || path == m.mountpoint
                || path.starts_with(&format!("{}/", m.mountpoint))
        })
        .max_by_key(|m| m.mountpoint.len())
}

/// The `i` card: the selection's metadata, then the mount it lies in and that mount's device.
pub fn info(session: &Session, node: &Node) -> Vec<String> {
    let meta = node.meta();
    let mut rows: Vec<(String, String)> = vec![
        (
            "path".into(),
            escape_name(node.path.as_bytes()).into_owned(),
        ),
        (
            "mode".into(),
            format!("{} ({:04o})", mode_string(&meta), meta.mode),
        ),
        ("owner".into(), format!("uid {} gid {}", meta.uid, meta.gid)),
        (
            "size".into(),
            format!("{} ({})", meta.size, human(meta.size)),
        ),
        ("allocated".into(), human(meta.allocated)),
        ("links".into(), meta.nlink.to_string()),
        ("inode".into(), meta.ino.to_string()),
        ("modified".into(), utc(meta.mtime.secs)),
    ];
    if let Some(target) = &meta.symlink {
        rows.push(("target".into(), escape_name(target).into_owned()));
    }
    if let Target::Fs { fs, ino, .. } = &node.target {
        if meta.kind == FileKind::File {
            if let Ok(Some(extents)) = fs.spans(*ino) {
                let first = extents
                    .first()
                    .and_then(|e| e.source_offset())
                    .map(|o| format!(", first at byte {o}"))
                    .unwrap_or_default();
                rows.push(("extents".into(), format!("{}{first}", extents.len())));
            }
            match probe(node) {
                Ok(Content::Unknown) => {}
                Ok(content) => rows.push(("content".into(), content_name(&content))),
                Err(e) => rows.push(("content".into(), e.to_string())),
            }
        }
    }
    let mut lines = card_lines(&rows);
    if let Some(m) = mount_of(session.vfs.mounts(), &node.path) {
        lines.push(String::new());
        lines.extend(mount_card(session, m));
    }
    let drives: Vec<(String, String)> = session
        .drives()
        .iter()
        .map(|d| {
            let content = probe::identify(d.source.as_ref())
                .map_or_else(|e| e.to_string(), |c| content_name(&c));
            (
                d.device.clone(),
                format!("{}: {content}, {}", d.path.display(), human(d.source.len())),
            )
        })
        .collect();
    if !drives.is_empty() {
        lines.push(String::new());
        lines.extend(card_lines(&drives));
    }
    lines
}

/// The card of a mount and the device (or image file) it was made from.
fn mount_card(session: &Session, m: &Mount) -> Vec<String> {
    let mut rows: Vec<(String, String)> = vec![
        ("mounted on".into(), m.mountpoint.clone()),
        ("from".into(), m.device.clone()),
        ("type".into(), m.fs.type_name().into()),
    ];
    if let Some(drive) = session.drives().iter().find(|d| d.device == m.device) {
        rows.push(("image".into(), drive.path.display().to_string()));
    }
    let source = m.fs.source();
    rows.push(("size".into(), human(source.len())));
    if let Ok(content) = probe::identify(source.as_ref()) {
        rows.push(("content".into(), content_name(&content)));
    }
    if let Some(label) = m.fs.label() {
        rows.push(("label".into(), label));
    }
    rows.extend(m.fs.info());
    if matches!(m.fs.type_name(), "iso9660" | "udf") {
        rows.extend(boot_rows(source.as_ref()));
    }
    card_lines(&rows)
}

/// The boot record, the hybrid layout and each partition of a disc image.
fn boot_rows(source: &dyn Source) -> Vec<(String, String)> {
    let mut rows = match crate::commands::boot::report::summary_lines(source) {
        Ok(rows) => rows,
        Err(e) => return vec![("Boot".into(), e.to_string())],
    };
    if let Ok(partitions) = boot::partitions(source) {
        rows.extend(partitions.iter().map(|p| {
            let kind = p.kind_name.map_or(p.kind.clone(), str::to_string);
            let appended = if p.appended { ", appended" } else { "" };
            (
                format!("Partition {}", p.number),
                format!("{kind} at byte {}, {}{appended}", p.start, human(p.len)),
            )
        }));
    }
    rows
}

/// Label/value rows as aligned lines.
pub fn card_lines(rows: &[(String, String)]) -> Vec<String> {
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:<width$}  {v}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_lines_look_like_hexdump_c() {
        let lines = hex_lines(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03");
        assert_eq!(
            lines[0],
            "00000000  7f 45 4c 46 02 01 01 00  00 00 00 00 00 00 00 00  |.ELF............|"
        );
        assert_eq!(
            lines[1],
            "00000010  03                                                |.|"
        );
    }

    #[test]
    fn archives_and_packages_are_not_called_filesystems() {
        assert_eq!(content_name(&Content::Filesystem("rpm")), "RPM package");
        assert_eq!(content_name(&Content::Filesystem("deb")), "Debian package");
        assert_eq!(content_name(&Content::Filesystem("tar")), "tar archive");
        assert_eq!(
            content_name(&Content::Filesystem("vfat")),
            "vfat filesystem"
        );
    }

    #[test]
    fn text_or_binary() {
        assert!(is_text(b"hello\nworld\n"));
        assert!(is_text("h\u{e9}llo".as_bytes()));
        // A UTF-8 character cut by the preview's length limit.
        assert!(is_text(&"\u{e9}".as_bytes()[..1]));
        assert!(!is_text(b"ELF\0\x01"));
        assert!(!is_text(&[0xff, 0xfe, 0x80, 0x81]));
    }

    #[test]
    fn tabs_expand_to_eight() {
        assert_eq!(text_lines(b"a\tb\x01"), vec![r"a       b\001"]);
        assert_eq!(text_lines(b"\x1b[2J\tx\r\n"), vec![r"\033[2J x"]);
    }

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn sizes() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(1536), "1.5 KiB");
    }
}
