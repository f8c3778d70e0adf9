//! The cpio writer: [`plan`] turns a tree (the overlay over an opened archive or initrd) into
//! the [`Plan`] of the new file, in the original's formats and compressions.
//!
//! An initrd is a row of parts (an uncompressed early-microcode archive, zero padding, a
//! compressed main archive...); each keeps its place and its kind. A part that holds no change
//! is copied byte for byte. A part that does is written again: its members in their order
//! (the kernel unpacks in order: directories before their contents), unchanged members copied
//! as they lie (a header, name and data range of the decoded stream), changed ones encoded in
//! the place of the member that laid them, removed ones dropped, new ones at the end of the
//! last part; then `TRAILER!!!` and zero padding to 512 bytes as GNU cpio ends an archive
//! (a compressed part whose original ended in a trailer and zeros ends in those same bytes),
//! and, for a compressed part, the same compression again (see
//! [`crate::source::encode`]; the level is the `level=N` mount option or what the original
//! stream suggests; a gzip stream at its own level keeps the compressed blocks of what did
//! not change, [`crate::source::encode::splice`]). Choices:
//! - Member names keep their recorded form (`./etc/x` or `etc/x`); new members take the
//!   last part's.
//! - A new member takes the smallest inode number no member of its part has (device 0:0);
//!   changed members keep theirs and their device numbers.
//! - Hard links: the names of a file in one part share its inode number and its link count;
//!   in newc and crc the data travels with the last name (as GNU cpio writes it and the kernel
//!   expects), the others record size 0; in odc and binary archives every name carries it
//!   (GNU cpio links a name to an earlier one and skips its data). crc headers carry the sum
//!   of the data's bytes again.

mod member;
mod select;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::archive::Unit;
use super::header::Header;
use super::{CpioFs, Node, Recorded};
use crate::error::{Error, Result};
use crate::fs::{FileKind, FileSystem, Ino, Span};
use crate::overlay::{Provenance, NEW};
use crate::plan::Plan;
use crate::source::decoded::Codec;
use crate::source::encode::{self, Spool};
use crate::source::Source;
use member::Format;
use select::{Emit, Item};

/// GNU cpio's I/O block: an uncompressed part written again covers the zero padding the
/// original had up to the next multiple of it.
const BLOCK: u64 = 512;

/// What the writer needs of the original's walk, copied out of it: the tree being written
/// reads the original (and takes its lock) while the writer works.
struct Walked {
    nodes: Vec<Node>,
    index: HashMap<(usize, Vec<u8>), usize>,
    members: Vec<Recorded>,
    /// The sources of the segments (the file, then each decoded stream).
    segments: Vec<Arc<dyn Source>>,
    units: Vec<Unit>,
    /// For each part that is a compressed stream, the segment of its decoded bytes.
    streams: Vec<Option<usize>>,
    trailing: Option<(String, u64)>,
}

impl Walked {
    /// The walk of `original`, completed.
    fn of(original: &CpioFs) -> Result<Walked> {
        let t = original.complete()?;
        if t.walker.cut.is_some() {
            return Err(Error::unsupported(
                original.source.name(),
                "rebuilding a cpio archive read only up to the limit (mount-loop's limit= option raises it)",
            ));
        }
        Ok(Walked {
            nodes: t.nodes.clone(),
            index: t.index.clone(),
            members: t.members.clone(),
            segments: t.walker.segments.iter().map(|s| s.source.clone()).collect(),
            units: t.walker.units.clone(),
            streams: (0..t.walker.units.len())
                .map(|u| {
                    t.walker
                        .segments
                        .iter()
                        .position(|s| s.unit == u && s.stream.is_some())
                })
                .collect(),
            trailing: t.walker.trailing.clone(),
        })
    }

    /// The entry `name` of directory node `dir`.
    fn child(&self, dir: usize, name: &[u8]) -> Option<usize> {
        self.index.get(&(dir, name.to_vec())).copied()
    }
}

/// The new bytes of the file `original` was opened on, holding `tree` (see
/// [`crate::fs::rebuild::plan`]).
pub fn plan(
    original: &CpioFs,
    tree: &dyn FileSystem,
    provenance: &dyn Fn(Ino) -> Provenance,
) -> Result<Plan> {
    let t = Walked::of(original)?;
    let source = &original.source;
    let image = source.name();
    let units = &t.units;
    if units.is_empty() {
        return Err(Error::unsupported(
            image,
            "rebuilding a cpio archive with no member",
        ));
    }
    let sel = select::select(&t, tree, provenance, units.len())?;
    let mut plan = Plan::new();
    let mut at = 0;
    for (u, unit) in units.iter().enumerate() {
        let end = region_end(&t, u, source)?;
        plan.push(Span::source(source, at, unit.start.saturating_sub(at)));
        at = end;
        if !sel.changed[u] {
            plan.push(Span::source(source, unit.start, end - unit.start));
            continue;
        }
        let archive = write_unit(&t, tree, &sel.units[u], u, image)?;
        match unit.codec {
            None => {
                for span in archive.spans() {
                    plan.push(span.clone());
                }
            }
            Some(codec) => {
                let head = source.read_vec(
                    unit.start,
                    64.min(end - unit.start) as usize,
                    "compressed stream",
                )?;
                let suggested = encode::default_level(codec, &head);
                let level = original.level.or(suggested);
                let name = format!(
                    "{image} ({} stream at {}, rebuilt)",
                    codec.name(),
                    unit.start
                );
                // A gzip stream at the level it had keeps the compressed blocks of the
                // members it keeps.
                let spliced = match (codec, level, t.streams[u]) {
                    (Codec::Gzip, Some(level), Some(seg)) if level == suggested.unwrap_or(6) => {
                        let old = encode::splice::Original {
                            source,
                            start: unit.start,
                            end,
                            decoded: &t.segments[seg],
                        };
                        encode::splice::splice_gzip(&old, &archive, level, &name)?
                    }
                    _ => None,
                };
                if let Some(spliced) = spliced {
                    for span in spliced.spans() {
                        plan.push(span.clone());
                    }
                    continue;
                }
                let decoded = archive.into_source(name.clone());
                let packed = encode::encode_to_source(codec, decoded.as_ref(), level, name)?;
                plan.push(Span::source(&packed, 0, packed.len()));
            }
        }
    }
    plan.push(Span::source(source, at, source.len().saturating_sub(at)));
    Ok(plan)
}

/// Where part `u` ends in the file: a stream where its compressed bytes end; an archive
/// where the zero padding GNU cpio puts after it would end (up to the next part, or the
/// first byte that is not zero).
fn region_end(t: &Walked, u: usize, source: &Arc<dyn Source>) -> Result<u64> {
    let unit = &t.units[u];
    let end = unit.end.ok_or_else(|| {
        Error::unsupported(
            source.name(),
            "rebuilding a cpio stream whose end was not reached",
        )
    })?;
    if unit.codec.is_some() {
        return Ok(end);
    }
    let next = match t.units.get(u + 1) {
        Some(next) => next.start,
        None => match &t.trailing {
            Some((name, at)) if name == source.name() => *at,
            _ => source.len(),
        },
    };
    let padded = unit.start + (end - unit.start).div_ceil(BLOCK) * BLOCK;
    Ok(padded.min(next).max(end))
}

/// The decoded bytes of part `u` written again from `items`: an archive from its first
/// header to the padding after its trailer.
fn write_unit(
    t: &Walked,
    tree: &dyn FileSystem,
    items: &[Item],
    u: usize,
    image: &str,
) -> Result<Plan> {
    let members: Vec<_> = t.members.iter().filter(|m| m.unit == u).collect();
    let format_of = |i: usize| -> Result<Format> {
        let m = &t.members[i];
        let mut first = [0u8];
        // Only the binary header's byte order needs a look (a read of a stream may decode).
        if m.format == "bin" {
            t.segments[m.segment].read_exact_at(m.header_at, &mut first, "cpio header")?;
        }
        Ok(Format::of(m.format, first[0]))
    };
    let last_format = match t.members.iter().rposition(|m| m.unit == u) {
        Some(i) => format_of(i)?,
        None => Format::Newc,
    };
    // New members take the smallest inode numbers no member of the part has (odc's and the
    // binary header's fields are narrow).
    let used: HashSet<u64> = members.iter().map(|m| m.header.ino).collect();
    let mut last_fresh = 0;
    let mut fresh = || {
        last_fresh += 1;
        while used.contains(&last_fresh) {
            last_fresh += 1;
        }
        ((0, 0), last_fresh)
    };
    // Hard-link groups: the inode number they share, and the last name (which carries the
    // data).
    let identity = |w: usize| (t.members[w].header.dev, t.members[w].header.ino);
    let mut groups: HashMap<u64, Group> = HashMap::new();
    for (k, item) in items.iter().enumerate() {
        if let Item::Emit(e) = item {
            if let Some(key) = link_key(e) {
                let g = groups.entry(key).or_insert(Group {
                    identity: None,
                    last: k,
                });
                g.last = k;
                if g.identity.is_none() {
                    g.identity = e.replaces.map(identity);
                }
            }
        }
    }
    // Each member as written: a range copied, or a header's fields, a name and data.
    let mut written: Vec<Written> = Vec::with_capacity(items.len());
    for (k, item) in items.iter().enumerate() {
        let e = match item {
            Item::Keep(i) => {
                let m = &t.members[*i];
                let src = &t.segments[m.segment];
                written.push(Written::Copy(Span::source(
                    src,
                    m.header_at,
                    m.end - m.header_at,
                )));
                continue;
            }
            Item::Emit(e) => e,
        };
        let format = match e.replaces {
            Some(w) => format_of(w)?,
            None => last_format,
        };
        let group = link_key(e).map(|key| groups.get_mut(&key).expect("grouped above"));
        let carries = !format.data_on_last_link() || group.as_ref().is_none_or(|g| g.last == k);
        let recorded = e.replaces.map(identity);
        let (dev, ino) = match group {
            Some(g) => *g.identity.get_or_insert_with(&mut fresh),
            None => recorded.unwrap_or_else(&mut fresh),
        };
        let data = if carries {
            data_of(t, tree, e)?
        } else {
            Vec::new()
        };
        let meta = &e.meta;
        let fields = Header {
            dev,
            ino,
            mode: meta.st_mode(),
            uid: meta.uid,
            gid: meta.gid,
            nlink: meta.nlink,
            mtime: meta.mtime.secs,
            rdev: meta.rdev.unwrap_or((0, 0)),
            ..Header::default()
        };
        let moved = e.replaces.is_none();
        written.push(Written::Member(format, fields, &e.name, data, moved));
    }
    read_ahead(t, &mut written, image)?;
    let mut out = Plan::new();
    for w in written {
        match w {
            Written::Copy(span) => {
                out.push(span);
            }
            Written::Member(format, mut fields, name, data, _) => {
                fields.filesize = data.iter().map(Span::len).sum();
                let check = if format.checksummed() {
                    checksum(&data)?
                } else {
                    0
                };
                format.push_member(&mut out, &fields, name, data, check, image)?;
            }
        }
    }
    match end_as_it_was(t, u, last_format, image)? {
        Some(end) => {
            out.push(end);
        }
        None => last_format.push_trailer(&mut out, image)?,
    }
    Ok(out)
}

/// The end of compressed part `u` as the original has it (its bytes after the last member),
/// when that is a trailer in `format` and zeros: a stream that ends as it did keeps its last
/// compressed blocks (see [`encode::splice`]); GNU cpio's padding to 512 bytes is a tape
/// block's, which nothing reading a compressed initrd asks for.
fn end_as_it_was(t: &Walked, u: usize, format: Format, image: &str) -> Result<Option<Span>> {
    let Some(seg) = t.streams[u] else {
        return Ok(None);
    };
    let Some(last) = t
        .members
        .iter()
        .filter(|m| m.unit == u)
        .map(|m| (m.segment, m.end))
        .max()
    else {
        return Ok(None);
    };
    let src = &t.segments[seg];
    let len = src.len().saturating_sub(last.1);
    if last.0 != seg || len > 64 << 10 {
        return Ok(None);
    }
    let mut trailer = Plan::new();
    format.push_trailer_member(&mut trailer, image)?;
    let expected = trailer.into_source("trailer".into());
    let expected = expected.read_vec(0, expected.len() as usize, "cpio trailer")?;
    let had = src.read_vec(last.1, len as usize, "cpio trailer")?;
    let same = had.len() as u64 == len
        && had.starts_with(&expected)
        && had[expected.len()..].iter().all(|b| *b == 0);
    Ok(same.then(|| Span::source(src, last.1, len)))
}

/// One member of a part written again.
enum Written<'a> {
    /// An original member's bytes.
    Copy(Span),
    /// A member encoded anew: its format, header fields (the size is its data's), name, data,
    /// and whether it was put out of its original order (new, or moved).
    Member(Format, Header, &'a [u8], Vec<Span>, bool),
}

/// The data that members put out of order take from the original's compressed streams, read
/// ahead in one forward pass into a spool: read where the members go, backwards, a stream
/// would be decoded again from its start for each (most codecs cannot resume midway).
fn read_ahead(t: &Walked, written: &mut [Written], image: &str) -> Result<()> {
    let stream = |span: &Span| {
        let Span::Source {
            source,
            offset,
            len,
        } = span
        else {
            return None;
        };
        let s = t.segments[1..]
            .iter()
            .position(|seg| std::ptr::addr_eq(Arc::as_ptr(seg), Arc::as_ptr(source)))?;
        Some((s, *offset, *len))
    };
    let mut wanted: Vec<(usize, u64, u64, usize)> = Vec::new();
    for (k, w) in written.iter().enumerate() {
        if let Written::Member(_, _, _, data, true) = w {
            if let [span] = data.as_slice() {
                if let Some((s, offset, len)) = stream(span) {
                    wanted.push((s, offset, len, k));
                }
            }
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    wanted.sort_unstable();
    let mut spool = Spool::new(format!("{image} (moved members' data)"));
    let mut at = Vec::with_capacity(wanted.len());
    let mut pos = 0u64;
    for (s, offset, len, _) in &wanted {
        at.push(pos);
        let src = &t.segments[s + 1];
        spool_from(&mut spool, *len, src.name(), |done, buf| {
            src.read_at(offset + done, buf)
        })?;
        pos += len;
    }
    let spooled = spool.into_source()?;
    for ((_, _, len, k), from) in wanted.into_iter().zip(at) {
        if let Written::Member(_, _, _, data, _) = &mut written[k] {
            *data = vec![Span::source(&spooled, from, len)];
        }
    }
    Ok(())
}

/// A member's device and inode numbers.
type Identity = ((u32, u32), u64);

/// A hard-linked file written anew in a part: the numbers its names share, and where its
/// last name is.
struct Group {
    identity: Option<Identity>,
    last: usize,
}

/// The hard-link group of a member written anew.
fn link_key(e: &Emit) -> Option<u64> {
    (e.meta.kind == FileKind::File && e.meta.nlink > 1).then_some(e.meta.ino)
}

/// The bytes a member written anew carries: a file's data (where the original has it when
/// unchanged, else the tree's spans, else read from the tree), a symlink's target.
fn data_of(t: &Walked, tree: &dyn FileSystem, e: &Emit) -> Result<Vec<Span>> {
    let size = e.meta.size;
    match e.meta.kind {
        FileKind::Symlink => {
            return Ok(vec![Span::Bytes(Arc::from(
                e.meta.symlink.clone().unwrap_or_default(),
            ))])
        }
        FileKind::File if size > 0 => {}
        _ => return Ok(Vec::new()),
    }
    if e.prov.data_kept() && e.ino & NEW == 0 {
        if let Some(d) = t.nodes.get(e.ino as usize).and_then(|n| n.data) {
            let src = &t.segments[d.segment];
            return Ok(vec![Span::source(src, d.offset, size)]);
        }
    }
    if let Some(spans) = tree.spans(e.ino)? {
        if spans.iter().map(Span::len).sum::<u64>() == size {
            return Ok(spans);
        }
    }
    let name = tree.source().name();
    let mut spool = Spool::new(format!("{name} inode {}", e.ino));
    spool_from(&mut spool, size, name, |at, buf| {
        tree.read_at(e.ino, at, buf)
    })?;
    let src = spool.into_source()?;
    Ok(vec![Span::source(&src, 0, size)])
}

/// Appends `len` bytes that `read` gives (at offsets from 0) to `spool`; fails, naming
/// `image`, when they end first.
fn spool_from(
    spool: &mut Spool,
    len: u64,
    image: &str,
    read: impl Fn(u64, &mut [u8]) -> Result<usize>,
) -> Result<()> {
    let mut buf = vec![0u8; (1 << 20).min(len as usize)];
    let mut done = 0u64;
    while done < len {
        let want = buf.len().min((len - done) as usize);
        let n = read(done, &mut buf[..want])?;
        if n == 0 {
            return Err(Error::corrupt(
                image,
                "file data",
                done,
                format!("the data ends at {done} bytes, its size says {len}"),
            ));
        }
        std::io::Write::write_all(spool, &buf[..n]).map_err(|err| Error::io(image, err))?;
        done += n as u64;
    }
    Ok(())
}

/// The crc format's check: the sum of the data's bytes, modulo 2^32.
fn checksum(data: &[Span]) -> Result<u32> {
    let mut sum = 0u32;
    let mut buf = vec![0u8; 1 << 16];
    for span in data {
        let mut at = 0;
        while at < span.len() {
            let n = span.read_at(at, &mut buf)?;
            if n == 0 {
                break;
            }
            sum = buf[..n]
                .iter()
                .fold(sum, |s, b| s.wrapping_add(u32::from(*b)));
            at += n as u64;
        }
    }
    Ok(sum)
}
