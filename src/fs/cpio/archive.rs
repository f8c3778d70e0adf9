//! Walking an initrd as the kernel unpacks it: cpio archives one after another, zero padding
//! between them, and compressed streams holding more of the same (an uncompressed early-microcode
//! cpio followed by a gzip'd, xz'd, zstd'd... one). Yields every member in order.

use std::sync::Arc;

use super::header::Header;
use super::{bin, newc, odc};
use crate::error::{Error, Result};
use crate::fs::probe;
use crate::source::decoded::{Codec, DecodedSource, Limits};
use crate::source::Source;

/// Compressed streams nested in compressed streams, at most.
const MAX_DEPTH: usize = 4;
/// Longest member name accepted (Linux's PATH_MAX).
const MAX_NAME: u64 = 4096;

/// One member: its header, name, and where its data lies (segment index, offset).
pub struct Member {
    pub header: Header,
    /// Where the header lies in its segment.
    pub header_at: u64,
    pub name: Vec<u8>,
    pub segment: usize,
    pub data_offset: u64,
    pub format: &'static str,
}

/// The sources the members' data lie in: the archive itself, then each decoded stream.
pub struct Segment {
    pub source: Arc<dyn Source>,
    /// For a decoded stream, what `mounts` says of it.
    pub decoded: Option<String>,
}

/// Everything found in an initrd.
pub struct Walk {
    pub segments: Vec<Segment>,
    pub members: Vec<Member>,
    /// Bytes after the last archive that are none of the above (an appended signature...),
    /// left unread as the kernel leaves them: (source name, offset).
    pub trailing: Option<(String, u64)>,
}

fn align(n: u64, a: u64) -> u64 {
    n.div_ceil(a) * a
}

/// Walks `source` (segment 0).
pub fn walk(source: Arc<dyn Source>, limits: Limits) -> Result<Walk> {
    let mut w = Walk {
        segments: vec![Segment {
            source,
            decoded: None,
        }],
        members: Vec::new(),
        trailing: None,
    };
    walk_segment(&mut w, 0, limits, 0)?;
    Ok(w)
}

fn walk_segment(w: &mut Walk, seg: usize, limits: Limits, depth: usize) -> Result<()> {
    let src = w.segments[seg].source.clone();
    let len = src.len();
    let mut at = 0u64;
    let mut chunk = vec![0u8; 4096];
    loop {
        // Skip zero padding, as the kernel does between archives.
        let n = src.read_at(at, &mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        match chunk[..n].iter().position(|b| *b != 0) {
            None => {
                at += n as u64;
                continue;
            }
            Some(skip) => at += skip as u64,
        }
        let head = src.read_vec(at, 6.min((len - at) as usize), "cpio header")?;
        if let Some(format) = probe::cpio_format(&head) {
            at = read_archive(w, seg, &src, at, format)?;
        } else if let Some(codec) = Codec::sniff(&head) {
            if depth >= MAX_DEPTH {
                return Err(Error::corrupt(
                    src.name(),
                    "compressed stream",
                    at,
                    "compressed streams nest too deep",
                ));
            }
            let name = format!("{} ({} stream at {at})", src.name(), codec.name());
            let decoded = DecodedSource::decode(&src, at, codec, limits, name)?;
            at += decoded.consumed().max(1);
            let note = decoded.note();
            w.segments.push(Segment {
                source: Arc::new(decoded),
                decoded: Some(note),
            });
            walk_segment(w, w.segments.len() - 1, limits, depth + 1)?;
        } else if w.members.is_empty() {
            return Err(Error::corrupt(
                src.name(),
                "cpio archive",
                at,
                "neither a cpio header, nor zero padding, nor a compressed stream",
            ));
        } else {
            w.trailing = Some((src.name().to_string(), at));
            return Ok(());
        }
    }
}

/// Reads one archive from `start` up to and including its trailer; returns the offset after it.
fn read_archive(
    w: &mut Walk,
    seg: usize,
    src: &Arc<dyn Source>,
    start: u64,
    format: &'static str,
) -> Result<u64> {
    let len = src.len();
    let mut at = start;
    loop {
        let header = read_header(src, at, format)?;
        let name_at = at + header.header_len;
        if header.namesize == 0 || header.namesize > MAX_NAME {
            return Err(Error::corrupt(
                src.name(),
                "cpio header",
                at,
                format!("name size {} (must be 1 to {MAX_NAME})", header.namesize),
            ));
        }
        let mut name = src.read_vec(name_at, header.namesize as usize, "cpio member name")?;
        if name.pop() != Some(0) {
            return Err(Error::corrupt(
                src.name(),
                "cpio member name",
                name_at,
                "not terminated by a NUL byte",
            ));
        }
        let data_offset = align(name_at + header.namesize, header.align);
        let end = data_offset
            .checked_add(header.filesize)
            .filter(|e| *e <= len);
        let Some(end) = end else {
            return Err(Error::corrupt(
                src.name(),
                "cpio header",
                at,
                format!(
                    "member {} claims {} bytes of data, but the archive ends at {len}",
                    String::from_utf8_lossy(&name),
                    header.filesize
                ),
            ));
        };
        let header_at = at;
        at = align(end, header.align);
        if name == b"TRAILER!!!" {
            return Ok(at);
        }
        w.members.push(Member {
            header,
            header_at,
            name,
            segment: seg,
            data_offset,
            format,
        });
    }
}

fn read_header(src: &Arc<dyn Source>, at: u64, format: &str) -> Result<Header> {
    let bad = || {
        Error::corrupt(
            src.name(),
            "cpio header",
            at,
            format!("bad {format} header"),
        )
    };
    match format {
        "newc" | "crc" => {
            let mut b = [0u8; newc::LEN];
            src.read_exact_at(at, &mut b, "cpio header")?;
            if !(b.starts_with(b"070701") || b.starts_with(b"070702")) {
                return Err(Error::corrupt(
                    src.name(),
                    "cpio header",
                    at,
                    "no 070701 magic (a truncated archive?)",
                ));
            }
            newc::Newc::decode(&b).map(|h| h.header()).ok_or_else(bad)
        }
        "odc" => {
            let mut b = [0u8; odc::LEN];
            src.read_exact_at(at, &mut b, "cpio header")?;
            if !b.starts_with(b"070707") {
                return Err(Error::corrupt(
                    src.name(),
                    "cpio header",
                    at,
                    "no 070707 magic (a truncated archive?)",
                ));
            }
            odc::Odc::decode(&b).map(|h| h.header()).ok_or_else(bad)
        }
        _ => {
            let mut b = [0u8; bin::LEN];
            src.read_exact_at(at, &mut b, "cpio header")?;
            bin::Bin::decode(&b).map(|h| h.header()).ok_or_else(bad)
        }
    }
}
