//! Walking an initrd as the kernel unpacks it: cpio archives one after another, zero padding
//! between them, and compressed streams holding more of the same (an uncompressed early-microcode
//! cpio followed by a gzip'd, xz'd, zstd'd... one). Yields every member in order. Also walks
//! the stripped payload of an RPM (`07070X` headers that carry only an index into the package
//! header's file list, which a [`Catalog`] resolves).

use std::sync::Arc;

use super::header::Header;
use super::{afio, bin, newc, odc};
use crate::error::{Error, Result};
use crate::fs::{probe, Metadata};
use crate::source::decoded::{Codec, Limits};
use crate::source::stream::StreamSource;
use crate::source::Source;

/// Compressed streams nested in compressed streams, at most.
const MAX_DEPTH: usize = 4;
/// Longest member name accepted: past Linux's PATH_MAX (4096), as GNU cpio and bsdtar read
/// longer ones, but bounded.
pub const MAX_NAME: u64 = 64 << 10;
/// The magic of a stripped member header: an 8-digit hex file index follows.
const STRIPPED: &[u8] = b"07070X";
/// Length of a stripped member header.
const STRIPPED_LEN: u64 = 14;

/// What a package's own header says of the files its cpio payload carries (an RPM's file
/// list): the members of a stripped payload, and the metadata the package header records
/// better than the payload does.
pub trait Catalog: Send + Sync {
    /// The name and header of file `index` of the list, for a stripped member; `None` when the
    /// list has no such file. The header's `filesize` is the bytes the payload holds for it.
    fn stripped(&self, index: u64) -> Option<(Vec<u8>, Header)>;
    /// Corrects the metadata of the member called `name` from the package header.
    fn amend(&self, name: &[u8], meta: &mut Metadata);
}

/// One member: its header, name, and where its data lies (segment index, offset).
pub struct Member {
    pub header: Header,
    /// Where the header lies in its segment.
    pub header_at: u64,
    pub name: Vec<u8>,
    pub segment: usize,
    pub data_offset: u64,
    /// Where the member ends in its segment (its data padded as the format pads it).
    pub end: u64,
    /// The part of the initrd it belongs to ([`Walker::units`]).
    pub unit: usize,
    pub format: &'static str,
}

/// One part of the initrd file, as it lies there: an uncompressed archive (from its first
/// header to the end of its trailer) or a compressed stream (all its compressed bytes). What
/// lies between parts is zero padding (or, after the last, bytes the kernel ignores).
#[derive(Clone, Debug)]
pub struct Unit {
    pub start: u64,
    /// Where the part ends in the file; for a stream, known once the walk has left it.
    pub end: Option<u64>,
    /// The compression of a stream; `None` for an uncompressed archive.
    pub codec: Option<Codec>,
}

/// The sources the members' data lie in: the archive itself, then each compressed stream.
pub struct Segment {
    pub source: Arc<dyn Source>,
    /// For a compressed stream, its decoded bytes.
    pub stream: Option<Arc<StreamSource>>,
    /// The part of the initrd file it lies in (for the file itself, the archive being read).
    pub unit: usize,
}

/// Where the walk is in one segment.
struct Frame {
    seg: usize,
    at: u64,
    /// The format of the archive being read, between its first header and its trailer.
    archive: Option<&'static str>,
    /// The data of the member read last, in a stream: checked before the walk goes on.
    pending: Option<Pending>,
}

/// A member whose data the walk has not yet decoded.
struct Pending {
    end: u64,
    header_at: u64,
    name: Vec<u8>,
    filesize: u64,
}

/// The limit cut the walk short: the members from `at` in `image` on were not read.
pub struct Cut {
    pub image: String,
    pub at: u64,
    /// The member whose data passes the limit, when that is what stopped the walk.
    pub member: Option<Vec<u8>>,
    pub limit: u64,
}

/// A walk through an initrd, one member at a time: compressed streams are decoded as far as
/// the walk has gone, no further.
pub struct Walker {
    pub segments: Vec<Segment>,
    /// The parts of the file met so far, in file order.
    pub units: Vec<Unit>,
    frames: Vec<Frame>,
    limits: Limits,
    members: usize,
    /// Bytes after the last archive that are none of the above (an appended signature...),
    /// left unread as the kernel leaves them: (source name, offset).
    pub trailing: Option<(String, u64)>,
    pub cut: Option<Cut>,
    /// Where padding is looked at.
    chunk: Vec<u8>,
    /// The package header's file list, for a package's payload.
    pub catalog: Option<Arc<dyn Catalog>>,
}

fn align(n: u64, a: u64) -> u64 {
    n.div_ceil(a) * a
}

impl Walker {
    /// A walk of `source` (segment 0) from its start; `catalog` is the file list of the
    /// package whose payload it is, if it is one.
    pub fn new(source: Arc<dyn Source>, limits: Limits, catalog: Option<Arc<dyn Catalog>>) -> Self {
        Walker {
            segments: vec![Segment {
                source,
                stream: None,
                unit: 0,
            }],
            units: Vec::new(),
            frames: vec![Frame {
                seg: 0,
                at: 0,
                archive: None,
                pending: None,
            }],
            limits,
            members: 0,
            trailing: None,
            cut: None,
            chunk: vec![0; 64 << 10],
            catalog,
        }
    }

    /// Decoded bytes the walk has gone through, in all its streams.
    pub fn decoded(&self) -> u64 {
        self.segments
            .iter()
            .filter_map(|s| s.stream.as_ref())
            .map(|s| s.decoded())
            .sum()
    }

    /// Decoded bytes the next step must go through first.
    pub fn next_cost(&self) -> u64 {
        self.frames.last().map_or(0, |f| {
            self.segments[f.seg]
                .stream
                .as_ref()
                .map_or(0, |s| f.at.saturating_sub(s.decoded()))
        })
    }

    /// Whether `at` in segment `seg` lies past the limit of its stream, which goes on there.
    fn past_limit(&self, seg: usize, at: u64) -> Result<bool> {
        match &self.segments[seg].stream {
            Some(s) if at >= s.limit() => s.more_after_limit(),
            _ => Ok(false),
        }
    }

    /// Stops the walk at the limit.
    fn stop(&mut self, seg: usize, at: u64, member: Option<Vec<u8>>) {
        self.cut = Some(Cut {
            image: self.segments[seg].source.name().to_string(),
            at,
            member,
            limit: self.limits.total,
        });
        self.frames.clear();
    }

    /// The next member, or `None` at the end of the walk.
    pub fn next(&mut self) -> Result<Option<Member>> {
        let mut chunk = std::mem::take(&mut self.chunk);
        let next = self.step(&mut chunk);
        self.chunk = chunk;
        next
    }

    fn step(&mut self, chunk: &mut [u8]) -> Result<Option<Member>> {
        while !self.frames.is_empty() {
            self.check_pending()?;
            let frame = &self.frames[self.frames.len() - 1];
            let (seg, at, archive) = (frame.seg, frame.at, frame.archive);
            let src = self.segments[seg].source.clone();
            if self.past_limit(seg, at)? {
                self.stop(seg, at, None);
                return Ok(None);
            }
            if let Some(format) = archive {
                let member = self.read_member(seg, &src, format)?;
                if member.is_some() {
                    return Ok(member);
                }
                continue;
            }
            // Skip zero padding, as the kernel does between archives.
            let n = src.read_at(at, chunk)?;
            if n == 0 {
                self.leave()?;
                continue;
            }
            let top = self.frames.len() - 1;
            match chunk[..n].iter().position(|b| *b != 0) {
                None => {
                    self.frames[top].at += n as u64;
                    continue;
                }
                Some(skip) => self.frames[top].at += skip as u64,
            }
            let at = self.frames[top].at;
            let mut head = [0u8; 6];
            let n = src.read_at(at, &mut head)?;
            let head = &head[..n];
            let stripped = self.catalog.is_some() && head.starts_with(STRIPPED);
            if let Some(format) = probe::cpio_format(head).or(stripped.then_some("stripped")) {
                self.frames[top].archive = Some(format);
                if seg == 0 {
                    self.segments[0].unit = self.units.len();
                    self.units.push(Unit {
                        start: at,
                        end: Some(at),
                        codec: None,
                    });
                }
            } else if let Some(codec) = Codec::sniff(head) {
                if self.frames.len() > MAX_DEPTH {
                    return Err(Error::corrupt(
                        src.name(),
                        "compressed stream",
                        at,
                        "compressed streams nest too deep",
                    ));
                }
                let name = format!("{} ({} stream at {at})", src.name(), codec.name());
                let stream = Arc::new(StreamSource::new(&src, at, codec, self.limits, name));
                let unit = if seg == 0 {
                    self.units.push(Unit {
                        start: at,
                        end: None,
                        codec: Some(codec),
                    });
                    self.units.len() - 1
                } else {
                    self.segments[seg].unit
                };
                self.segments.push(Segment {
                    source: stream.clone(),
                    stream: Some(stream),
                    unit,
                });
                self.frames.push(Frame {
                    seg: self.segments.len() - 1,
                    at: 0,
                    archive: None,
                    pending: None,
                });
            } else if self.members == 0 {
                return Err(Error::corrupt(
                    src.name(),
                    "cpio archive",
                    at,
                    "neither a cpio header, nor zero padding, nor a compressed stream",
                ));
            } else {
                self.trailing = Some((src.name().to_string(), at));
                self.leave()?;
            }
        }
        Ok(None)
    }

    /// Leaves the segment on top: the walk goes on after the stream in its parent.
    fn leave(&mut self) -> Result<()> {
        let Some(frame) = self.frames.pop() else {
            return Ok(());
        };
        let Some(stream) = self.segments[frame.seg].stream.clone() else {
            return Ok(());
        };
        match stream.finish()? {
            Some(consumed) => {
                if let Some(parent) = self.frames.last_mut() {
                    if parent.seg == 0 {
                        let unit = &mut self.units[self.segments[frame.seg].unit];
                        unit.end = Some(parent.at + consumed.max(1));
                    }
                    parent.at += consumed.max(1);
                }
            }
            None => {
                let limit = stream.limit();
                self.stop(frame.seg, limit, None);
            }
        }
        Ok(())
    }

    /// Reads the member at the top frame's offset; `None` after the trailer.
    fn read_member(
        &mut self,
        seg: usize,
        src: &Arc<dyn Source>,
        format: &'static str,
    ) -> Result<Option<Member>> {
        let top = self.frames.len() - 1;
        let at = self.frames[top].at;
        let (header, name, format) = match format {
            "stripped" => self.read_stripped(src, at)?,
            _ => {
                let (header, format) = read_header(src, at, format)?;
                let name = read_name(src, at, &header)?;
                (header, name, format)
            }
        };
        let data_offset = align(at + header.header_len + header.namesize, header.align);
        let end = data_offset.checked_add(header.filesize);
        let member = Member {
            end: end.map_or(u64::MAX, |e| align(e, header.align)),
            header,
            header_at: at,
            name,
            segment: seg,
            data_offset,
            unit: self.segments[seg].unit,
            format,
        };
        let stream = self.segments[seg].stream.clone();
        let end = match (end, stream) {
            (Some(end), Some(stream)) if end > stream.limit() => {
                // Listed, but its data passes the limit: nothing after it is read.
                if member.name == b"TRAILER!!!" {
                    self.stop(seg, at, None);
                    return Ok(None);
                }
                self.members += 1;
                let name = member.name.clone();
                self.stop(seg, at, Some(name));
                return Ok(Some(member));
            }
            // A stream's data is checked when the walk goes on past it.
            (Some(end), Some(_)) => end,
            (Some(end), None) if end <= src.len() => end,
            _ => return Err(claims(src, at, &member.name, member.header.filesize)),
        };
        self.frames[top].at = align(end, member.header.align);
        if self.segments[seg].stream.is_none() {
            self.units[self.segments[seg].unit].end = Some(self.frames[top].at);
        }
        if member.name == b"TRAILER!!!" {
            self.frames[top].archive = None;
            return Ok(None);
        }
        self.members += 1;
        if self.segments[seg].stream.is_some() {
            self.frames[top].pending = Some(Pending {
                end,
                header_at: at,
                name: member.name.clone(),
                filesize: member.header.filesize,
            });
        }
        Ok(Some(member))
    }

    /// Checks that the data of the member read last in the top frame's stream is there:
    /// decodes up to its end.
    fn check_pending(&mut self) -> Result<()> {
        let top = self.frames.len() - 1;
        let Some(p) = self.frames[top].pending.take() else {
            return Ok(());
        };
        let src = &self.segments[self.frames[top].seg].source;
        if p.end == 0 || src.read_at(p.end - 1, &mut [0u8])? == 1 {
            return Ok(());
        }
        Err(claims(src, p.header_at, &p.name, p.filesize))
    }
}

impl Walker {
    /// A stripped member at `at`: its name and header from the catalog.
    fn read_stripped(
        &self,
        src: &Arc<dyn Source>,
        at: u64,
    ) -> Result<(Header, Vec<u8>, &'static str)> {
        let mut b = [0u8; STRIPPED_LEN as usize];
        src.read_exact_at(at, &mut b, "cpio header")?;
        let bad = |detail: String| Error::corrupt(src.name(), "cpio header", at, detail);
        if !b.starts_with(STRIPPED) {
            // A payload is stripped throughout, but for its trailer.
            return match read_header(src, at, "newc") {
                Ok((h, _)) if read_name(src, at, &h)? == b"TRAILER!!!" => {
                    Ok((h, b"TRAILER!!!".to_vec(), "newc"))
                }
                _ => Err(bad(
                    "neither a stripped header (07070X) nor the trailer".into()
                )),
            };
        }
        let index = super::header::ascii_number(&b[6..], 16)
            .ok_or_else(|| bad("the file index is not hexadecimal".into()))?;
        let catalog = self
            .catalog
            .as_ref()
            .ok_or_else(|| bad("no file list".into()))?;
        let (name, mut header) = catalog.stripped(index).ok_or_else(|| {
            bad(format!(
                "file index {index} is not in the package header's file list"
            ))
        })?;
        header.header_len = STRIPPED_LEN;
        header.namesize = 0;
        header.align = 4;
        Ok((header, name, "stripped"))
    }
}

/// The name after the header at `at`, without its NUL.
fn read_name(src: &Arc<dyn Source>, at: u64, header: &Header) -> Result<Vec<u8>> {
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
    Ok(name)
}

/// The error for a member whose data passes the end of its archive.
fn claims(src: &Arc<dyn Source>, header_at: u64, name: &[u8], filesize: u64) -> Error {
    Error::corrupt(
        src.name(),
        "cpio header",
        header_at,
        format!(
            "member {} claims {filesize} bytes of data, but the archive ends at {}",
            String::from_utf8_lossy(name),
            src.len()
        ),
    )
}

/// The header at `at` of an archive in `format`, and the member's own format: afio mixes its
/// large headers with odc ones.
fn read_header(
    src: &Arc<dyn Source>,
    at: u64,
    format: &'static str,
) -> Result<(Header, &'static str)> {
    let bad = || {
        Error::corrupt(
            src.name(),
            "cpio header",
            at,
            format!("bad {format} header"),
        )
    };
    let no_magic = |magic: &str| {
        Error::corrupt(
            src.name(),
            "cpio header",
            at,
            format!("no {magic} magic (a truncated archive?)"),
        )
    };
    match format {
        "newc" | "crc" => {
            let mut b = [0u8; newc::LEN];
            src.read_exact_at(at, &mut b, "cpio header")?;
            if !(b.starts_with(b"070701") || b.starts_with(b"070702")) {
                return Err(no_magic("070701"));
            }
            let h = newc::Newc::decode(&b).ok_or_else(bad)?;
            Ok((h.header(), format))
        }
        "odc" | "afio" => {
            let mut magic = [0u8; 6];
            src.read_exact_at(at, &mut magic, "cpio header")?;
            if &magic == b"070727" {
                let mut b = [0u8; afio::LEN];
                src.read_exact_at(at, &mut b, "cpio header")?;
                let h = afio::Afio::decode(&b).ok_or_else(bad)?;
                if h.xsize != 0 {
                    return Err(Error::unsupported(
                        src.name(),
                        format!(
                            "afio extended header data ({} bytes) in the header at offset {at}",
                            h.xsize
                        ),
                    ));
                }
                return Ok((h.header(), "afio"));
            }
            if &magic != b"070707" {
                return Err(no_magic("070707"));
            }
            let mut b = [0u8; odc::LEN];
            src.read_exact_at(at, &mut b, "cpio header")?;
            let h = odc::Odc::decode(&b).ok_or_else(bad)?;
            Ok((h.header(), "odc"))
        }
        _ => {
            let mut b = [0u8; bin::LEN];
            src.read_exact_at(at, &mut b, "cpio header")?;
            let h = bin::Bin::decode(&b).ok_or_else(bad)?;
            Ok((h.header(), format))
        }
    }
}
