//! Walking a tar archive from its first header to its end-of-archive block: each header read
//! and checked, the extended headers (pax `x` and `g`, GNU `L` and `K`) folded into the member
//! they describe, sparse maps read (GNU old `S`, pax 0.0, 0.1 and 1.0), and every member yielded
//! with where its data lies. Nothing is read that a member's header does not point at, and no
//! allocation is sized by a field before the archive is known to hold it.

use std::sync::Arc;

use super::gnu::{self, Extent};
use super::header::{self, Header, Layout, BLOCK};
use super::pax::{self, Pax};
use crate::error::{Error, Result};
use crate::source::Source;

/// The most data an extended header (`x`, `g`, `L`, `K`) may carry.
const MAX_EXTENDED: u64 = 1 << 20;
/// The most text a pax 1.0 sparse map is looked for in.
const MAX_MAP_TEXT: u64 = 1 << 20;

/// One member, with its extended headers applied.
#[derive(Debug)]
pub struct Member {
    /// Where its (first) header lies: the extended headers before it, if any.
    pub header_at: u64,
    pub path: Vec<u8>,
    pub link: Vec<u8>,
    pub typeflag: u8,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: (i64, u32),
    /// The access time, when a pax header gives one.
    pub atime: Option<(i64, u32)>,
    pub dev: (u32, u32),
    /// The file's size (a sparse file's real size).
    pub size: u64,
    /// Where its data starts.
    pub data_at: u64,
    /// For a sparse file: its map, the data of each extent stored one after another.
    pub sparse: Option<Vec<Extent>>,
    /// Extended attributes a pax header gives (`SCHILY.xattr.NAME`), as (name, value).
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Where the walk is.
pub struct Walker {
    src: Arc<dyn Source>,
    /// Whether the source's length is known (not a stream decoded as far as read).
    exact: bool,
    at: u64,
    global: Pax,
    done: bool,
    /// The header layouts met (`v7`, `ustar`, `gnu`, `pax`).
    pub formats: Vec<&'static str>,
    /// The bytes of the last read (the first `ahead_len` of `ahead`, a buffer kept from
    /// one read to the next), and where they start.
    ahead_at: u64,
    ahead: Vec<u8>,
    ahead_len: usize,
    /// Whether the last member came after extended headers (a GNU long name, a pax header):
    /// the next one likely does too, and is read with them.
    chained: bool,
    /// Whether the last member's header and data took at most [`NEAR`] bytes: the next
    /// member likely is small too, and its header is read with the next ones.
    near: bool,
}

/// A member whose header and data take at most this many bytes is followed by a read of
/// [`WINDOW`] bytes rather than of one block.
const NEAR: u64 = 4 << 10;
/// What is read for a header after a small member: most archives' small files come in runs
/// (a package's documentation, a tree's sources), and one read then holds several of their
/// headers, where a read per header costs a system call each.
const WINDOW: usize = 8 << 10;

/// How much of a plain archive is read for a header: the block alone (the page cache's bytes
/// are copied, and past the header they are mostly member data); after a member that came
/// with extended headers, three blocks: a GNU long name's header, its name and the header it
/// names, in one read; after a small member ([`NEAR`]), a [`WINDOW`].
fn ahead(chained: bool, near: bool, len: usize) -> usize {
    let want = match (near, chained) {
        (true, _) => WINDOW,
        (false, true) => 3 * BLOCK as usize,
        (false, false) => BLOCK as usize,
    };
    want.max(len)
}

fn round(n: u64) -> Option<u64> {
    n.checked_add(BLOCK - 1).map(|v| v / BLOCK * BLOCK)
}

impl Walker {
    /// A walk of the archive `src` from its start; `exact` when its length is known (a
    /// decoded stream's is not, until its end).
    pub fn new(src: Arc<dyn Source>, exact: bool) -> Self {
        Walker {
            src,
            exact,
            at: 0,
            global: Pax::default(),
            done: false,
            formats: Vec::new(),
            ahead_at: 0,
            ahead: Vec::new(),
            ahead_len: 0,
            chained: false,
            near: false,
        }
    }

    fn corrupt(&self, structure: &'static str, at: u64, detail: impl Into<String>) -> Error {
        Error::corrupt(self.src.name(), structure, at, detail)
    }

    fn saw(&mut self, format: &'static str) {
        if !self.formats.contains(&format) {
            self.formats.push(format);
        }
    }

    /// Up to `len` bytes at `at` (fewer only where the data ends): from the bytes read
    /// ahead when they hold them, else read, with what [`ahead`] says comes next.
    fn bytes(&mut self, at: u64, len: usize) -> Result<&[u8]> {
        let within = at
            .checked_sub(self.ahead_at)
            .and_then(|off| usize::try_from(off).ok())
            .filter(|off| {
                off.checked_add(len)
                    .is_some_and(|end| end <= self.ahead_len)
            });
        if let Some(off) = within {
            return Ok(&self.ahead[off..off + len]);
        }
        let want = ahead(self.chained, self.near, len);
        if self.ahead.len() < want {
            self.ahead.resize(want, 0);
        }
        let mut n = 0;
        while n < want {
            match self.src.read_at(at + n as u64, &mut self.ahead[n..want])? {
                0 => break,
                got => n += got,
            }
        }
        (self.ahead_at, self.ahead_len) = (at, n);
        Ok(&self.ahead[..len.min(n)])
    }

    /// The block at `at`; `None` at the end of the data.
    fn block(&mut self, at: u64) -> Result<Option<[u8; BLOCK as usize]>> {
        let got = self.bytes(at, BLOCK as usize)?;
        if let Ok(b) = <[u8; BLOCK as usize]>::try_from(got) {
            return Ok(Some(b));
        }
        if got.is_empty() && at <= self.src.len() {
            return Ok(None);
        }
        Err(self.corrupt(
            "tar header",
            at,
            format!(
                "the archive ends at {} inside a header (truncated?)",
                self.src.len()
            ),
        ))
    }

    /// The data of the extended header at `at` whose size is `size`.
    fn extended(&mut self, at: u64, size: u64, what: &'static str) -> Result<Vec<u8>> {
        if size > MAX_EXTENDED {
            return Err(self.corrupt(
                what,
                at,
                format!("{size} bytes (at most {MAX_EXTENDED} are read)"),
            ));
        }
        // The header after the data comes in the same read.
        let data = self.bytes(
            at + BLOCK,
            (size.div_ceil(BLOCK) + 1) as usize * BLOCK as usize,
        )?;
        if data.len() < size as usize {
            return Err(self.ends(at, size));
        }
        Ok(data[..size as usize].to_vec())
    }

    fn ends(&self, at: u64, size: u64) -> Error {
        self.corrupt(
            "tar header",
            at,
            format!(
                "its member claims {size} bytes of data, but the archive ends at {}",
                self.src.len()
            ),
        )
    }

    /// Where the walk is: the archive bytes gone through.
    pub fn position(&self) -> u64 {
        self.at
    }

    /// The next member, or `None` after the last.
    pub fn next_member(&mut self) -> Result<Option<Member>> {
        let first = self.at;
        let mut local = Pax::default();
        let mut long_name = None;
        let mut long_link = None;
        loop {
            if self.done {
                return Ok(None);
            }
            let at = self.at;
            let Some(b) = self.block(at)? else {
                self.done = true;
                return Ok(None);
            };
            if b.iter().all(|c| *c == 0) {
                self.done = true;
                return Ok(None);
            }
            if !header::checksum_ok(&b) {
                return Err(self.corrupt(
                    "tar header",
                    at,
                    "its checksum does not match (not a header, or a damaged one)",
                ));
            }
            let h = Header::decode(&b).map_err(|e| self.corrupt("tar header", at, e))?;
            self.saw(match h.layout {
                Layout::V7 => "v7",
                Layout::Ustar => "ustar",
                Layout::Gnu => "gnu",
            });
            let after = round(h.size)
                .and_then(|n| n.checked_add(at + BLOCK))
                .ok_or_else(|| self.ends(at, h.size))?;
            match h.typeflag {
                b'x' | b'g' => {
                    self.saw("pax");
                    let data = self.extended(at, h.size, "pax extended header")?;
                    let mut pax = Pax::default();
                    pax.read(&data)
                        .map_err(|e| self.corrupt("pax extended header", at, e))?;
                    if h.typeflag == b'g' {
                        self.global = self.global.under(pax.global());
                    } else {
                        local = pax;
                    }
                    self.at = after;
                }
                b'L' | b'K' => {
                    let data = self.extended(at, h.size, "GNU long name")?;
                    let name = gnu::long_name(&data);
                    if h.typeflag == b'L' {
                        long_name = Some(name);
                    } else {
                        long_link = Some(name);
                    }
                    self.at = after;
                }
                // A volume label, a multi-volume continuation: no file of this archive.
                b'V' | b'M' => self.at = after,
                _ => {
                    let mut pax = self.global.under(local);
                    let header_at = first;
                    self.chained = at != first;
                    return self
                        .member(at, &b, h, &mut pax, long_name, long_link, header_at)
                        .map(Some);
                }
            }
        }
    }

    /// The member whose header `b` (decoded as `h`) lies at `at`, with what extended headers
    /// said; moves the walk past its data.
    #[allow(clippy::too_many_arguments)]
    fn member(
        &mut self,
        at: u64,
        b: &[u8; BLOCK as usize],
        h: Header,
        pax: &mut Pax,
        long_name: Option<Vec<u8>>,
        long_link: Option<Vec<u8>>,
        header_at: u64,
    ) -> Result<Member> {
        let mut data_at = at + BLOCK;
        let mut stored = pax.size.unwrap_or(h.size);
        let mut size = stored;
        let mut sparse = None;
        if h.typeflag == b'S' {
            let (mut map, mut extended, real) =
                gnu::sparse_header(b).map_err(|e| self.corrupt("GNU sparse header", at, e))?;
            while extended {
                let Some(ext) = self.block(data_at)? else {
                    return Err(self.ends(at, stored));
                };
                extended = gnu::sparse_extension(&ext, &mut map)
                    .map_err(|e| self.corrupt("GNU sparse extension", data_at, e))?;
                data_at += BLOCK;
            }
            size = real;
            sparse = Some(map);
        } else if pax.sparse() {
            size = pax.sparse_size.unwrap_or(stored);
            if pax.sparse_major == Some(1) {
                let want = stored.min(MAX_MAP_TEXT) as usize;
                let mut text = vec![0u8; want];
                let n = self.src.read_at(data_at, &mut text)?;
                text.truncate(n);
                let (map, used) = pax::map_in_data(&text)
                    .map_err(|e| self.corrupt("pax sparse map", data_at, e))?;
                if used > stored {
                    return Err(self.corrupt(
                        "pax sparse map",
                        data_at,
                        "the map is longer than the member",
                    ));
                }
                data_at += used;
                stored -= used;
                sparse = Some(map);
            } else {
                sparse = pax.sparse_map.take().or(Some(Vec::new()));
            }
        }
        let end = round(stored)
            .and_then(|n| n.checked_add(data_at))
            .ok_or_else(|| self.ends(at, stored))?;
        // Directories, links and devices carry no data whatever their size field says (GNU
        // dumpdir `D` members list names, which are skipped).
        let plain = !matches!(h.typeflag, b'1' | b'2' | b'3' | b'4' | b'5' | b'6' | b'D');
        if let Some(map) = &sparse {
            check_map(map, size, stored).map_err(|e| self.corrupt("tar sparse map", at, e))?;
        }
        if plain && stored > 0 {
            // A stream is decoded up to the data's end to learn that it holds it.
            let last = data_at + stored - 1;
            let held = if self.exact {
                last < self.src.len()
            } else {
                self.src.read_at(last, &mut [0u8])? == 1
            };
            if !held {
                return Err(self.ends(at, stored));
            }
        }
        self.at = end;
        self.near = end - header_at <= NEAR;
        let path = pax
            .sparse_name
            .take()
            .or(pax.path.take())
            .or(long_name)
            .unwrap_or(h.name);
        Ok(Member {
            header_at,
            path,
            link: pax.linkpath.take().or(long_link).unwrap_or(h.linkname),
            typeflag: h.typeflag,
            mode: h.mode,
            uid: pax.uid.unwrap_or(h.uid),
            gid: pax.gid.unwrap_or(h.gid),
            mtime: pax.mtime.unwrap_or((h.mtime, 0)),
            atime: pax.atime,
            dev: h.dev,
            size: if plain { size } else { 0 },
            data_at,
            sparse: sparse.filter(|_| plain),
            xattrs: std::mem::take(&mut pax.xattrs),
        })
    }
}

/// Checks a sparse map against the file's size and the data stored: extents in order, not
/// overlapping, inside the file, their data no more than what is stored.
fn check_map(map: &[Extent], size: u64, stored: u64) -> std::result::Result<(), String> {
    let mut end = 0u64;
    let mut data = 0u64;
    for (i, (offset, len)) in map.iter().enumerate() {
        let stop = offset.checked_add(*len).filter(|s| *s <= size);
        match stop {
            Some(stop) if *offset >= end => end = stop,
            _ => {
                return Err(format!(
                "extent {i} ({len} bytes at {offset}) overlaps another or passes the size {size}"
            ))
            }
        }
        data += len;
    }
    if data > stored {
        return Err(format!(
            "the extents hold {data} bytes, but the member stores {stored}"
        ));
    }
    Ok(())
}
