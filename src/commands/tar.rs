//! The tar stream `tar-out` writes: GNU tar format (ustar headers with the `ustar  ` magic,
//! `././@LongLink` records for names and link targets over 100 bytes, base-256 numbers for
//! values octal cannot hold, and, for members with extended attributes, a pax extended header
//! of `SCHILY.xattr.NAME=VALUE` records, which GNU tar `--xattrs` and bsdtar restore; files
//! whose layout has holes as PAX sparse members, format 1.0: see [`Sparse`]),
//! assembled in 1 MiB blocks so that headers of small files and
//! file data go out in big writes, with no allocation per member. The archive ends with two
//! zero blocks and is padded to a whole 10240-byte record, as GNU tar and bsdtar do.
//!
//! Full blocks go through a channel ([`pipeline`]) to another thread that writes (and
//! compresses) them while this one reads the next files, with a fixed set of recycled blocks
//! (so memory stays at a few MiB). When that thread writes to a descriptor (a plain file, a
//! pipe), large ranges of host files go to it as spans, which it moves without copying them
//! through user space (`copy_file_range`, `splice`: see [`crate::data::to_stream`]).

use std::io;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use crate::data::layout::read_exact;
use crate::data::{FileData, Span};
use crate::fs::Xattr;

const BLOCK: usize = 512;
/// The magic and version of GNU headers, and of POSIX ones (which pax readers require of a
/// sparse member: GNU tar reads a GNU header's sparse data the old GNU way).
const GNU_MAGIC: &[u8; 8] = b"ustar  \0";
const POSIX_MAGIC: &[u8; 8] = b"ustar\x0000";
const RECORD: u64 = 10240;
/// The buffer between the readers and the output.
const BUFFER: usize = 1 << 20;

/// Tar type flags.
pub mod kind {
    pub const FILE: u8 = b'0';
    pub const HARDLINK: u8 = b'1';
    pub const SYMLINK: u8 = b'2';
    pub const CHAR: u8 = b'3';
    pub const BLOCK: u8 = b'4';
    pub const DIR: u8 = b'5';
    pub const FIFO: u8 = b'6';
    pub const LONGNAME: u8 = b'L';
    pub const LONGLINK: u8 = b'K';
    /// A pax extended header for the member that follows.
    pub const PAX: u8 = b'x';
}

/// What a member header says.
pub struct Header<'a> {
    pub name: &'a [u8],
    pub kind: u8,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: i64,
    pub link: &'a [u8],
    pub dev: (u32, u32),
}

/// What travels from the producing thread to the writing one.
pub enum Piece {
    /// The first `len` bytes of a block of the stream; the block is to be sent back.
    Block(Box<[u8]>, usize),
    /// A range of a host file, for the writer to move from that file itself, when it writes
    /// to a descriptor.
    Span(Span),
}

/// The producing end of a [`pipeline`].
pub struct Sender {
    full: SyncSender<Piece>,
    empty: Receiver<Box<[u8]>>,
    /// Whether the writer takes [`Piece::Span`]s.
    ranges: bool,
}

/// The consuming end of a [`pipeline`]: pieces to write, and where to return blocks.
pub struct Blocks {
    pub full: Receiver<Piece>,
    pub empty: SyncSender<Box<[u8]>>,
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the tar writer stopped")
}

impl Sender {
    fn submit(&mut self, block: Box<[u8]>, len: usize) -> io::Result<Box<[u8]>> {
        self.full
            .send(Piece::Block(block, len))
            .map_err(|_| closed())?;
        self.empty.recv().map_err(|_| closed())
    }
}

/// A channel of blocks between a producing and a writing thread, with `blocks` blocks in
/// circulation besides the one being filled. With `ranges`, large ranges of host files are
/// passed as [`Piece::Span`] instead of being read into blocks.
pub fn pipeline(blocks: usize, ranges: bool) -> (Sender, Blocks) {
    let (full_tx, full_rx) = sync_channel(blocks);
    let (empty_tx, empty_rx) = sync_channel(blocks + 1);
    for _ in 0..blocks {
        // The channel has room for all of them.
        let _ = empty_tx.send(vec![0u8; BUFFER].into_boxed_slice());
    }
    (
        Sender {
            full: full_tx,
            empty: empty_rx,
            ranges,
        },
        Blocks {
            full: full_rx,
            empty: empty_tx,
        },
    )
}

/// Spans shorter than this are read into the stream even when the writer could copy them:
/// handing one over costs a partly filled block.
const RANGE_MIN: u64 = 64 << 10;

/// A tar stream being written to a [`pipeline`].
pub struct TarWriter {
    sink: Sender,
    buf: Box<[u8]>,
    fill: usize,
    written: u64,
}

/// Appends one pax record, `LEN KEY=VALUE\n`, where `LEN` counts the whole record, itself
/// included.
fn pax_record(out: &mut Vec<u8>, key: &[&[u8]], value: &[u8]) {
    let rest = key.iter().map(|k| k.len()).sum::<usize>() + value.len() + 3;
    let mut digits = 1;
    while (rest + digits).to_string().len() > digits {
        digits += 1;
    }
    out.extend_from_slice((rest + digits).to_string().as_bytes());
    out.push(b' ');
    for k in key {
        out.extend_from_slice(k);
    }
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// Appends the pax records of a member's extended attributes, `SCHILY.xattr.NAME=VALUE`
/// (the value's bytes as stored), as GNU tar `--xattrs` and bsdtar write and restore them.
pub fn xattr_records(xattrs: &[Xattr], out: &mut Vec<u8>) {
    for x in xattrs {
        pax_record(out, &[b"SCHILY.xattr.", &x.name], &x.value);
    }
}

/// A file with holes as a PAX sparse member, format 1.0 (GNU tar's `--sparse-version=1.0`,
/// which GNU tar and bsdtar extract with the holes): the pax header names the file and its
/// real size; the member, under a stand-in name, holds a map (the number of data regions,
/// then each one's offset and length, in decimal lines, padded to a 512-byte block) and then
/// the regions' bytes. A file ending in a hole ends its map with an empty region at its size,
/// as GNU tar writes it.
pub struct Sparse {
    /// The data regions, `(offset, length)`.
    regions: Vec<(u64, u64)>,
    size: u64,
    map: Vec<u8>,
}

impl Sparse {
    /// The sparse form of `data`, when its layout has a hole of a block or more.
    pub fn of(data: &FileData) -> Option<Sparse> {
        let spans = data.layout()?.spans();
        let hole = |s: &Span| matches!(s, Span::Zeros(n) if *n >= BLOCK as u64);
        if !spans.clone().any(hole) {
            return None;
        }
        let mut regions: Vec<(u64, u64)> = Vec::new();
        let mut at = 0;
        for span in spans {
            let len = span.len();
            if !hole(span) {
                match regions.last_mut() {
                    Some((start, n)) if *start + *n == at => *n += len,
                    _ => regions.push((at, len)),
                }
            }
            at += len;
        }
        let size = data.size();
        if regions.last().is_none_or(|&(start, n)| start + n < size) {
            regions.push((size, 0));
        }
        let mut map = format!("{}\n", regions.len()).into_bytes();
        for (offset, len) in &regions {
            map.extend_from_slice(format!("{offset}\n{len}\n").as_bytes());
        }
        map.resize(map.len().next_multiple_of(BLOCK), 0);
        Some(Sparse { regions, size, map })
    }

    /// Appends the pax records that make the member named `name` sparse.
    pub fn records(&self, name: &[u8], out: &mut Vec<u8>) {
        pax_record(out, &[b"GNU.sparse.major"], b"1");
        pax_record(out, &[b"GNU.sparse.minor"], b"0");
        pax_record(out, &[b"GNU.sparse.name"], name);
        pax_record(
            out,
            &[b"GNU.sparse.realsize"],
            self.size.to_string().as_bytes(),
        );
    }

    /// The member's size in the archive: the map and the regions' bytes.
    pub fn stored_size(&self) -> u64 {
        self.map.len() as u64 + self.regions.iter().map(|r| r.1).sum::<u64>()
    }
}

/// Writes `value` in octal into `field`, right-aligned with leading zeros (no allocation).
fn put_octal(field: &mut [u8], mut value: u64) {
    for b in field.iter_mut().rev() {
        *b = b'0' + (value & 7) as u8;
        value >>= 3;
    }
}

/// Writes `value` into a numeric header field: octal with a NUL when it fits, else GNU
/// base-256 (big-endian two's complement behind a 0x80 or 0xff marker).
fn put_number(field: &mut [u8], value: i64) {
    let digits = field.len() - 1;
    if value >= 0 && (value as u64) < 1u64 << (3 * digits) {
        put_octal(&mut field[..digits], value as u64);
        field[digits] = 0;
        return;
    }
    let bytes = value.to_be_bytes();
    let fill = if value < 0 { 0xff } else { 0 };
    let n = field.len();
    for (i, b) in field.iter_mut().enumerate() {
        let from_end = n - 1 - i;
        *b = if from_end < 8 {
            bytes[7 - from_end]
        } else {
            fill
        };
    }
    field[0] = if value < 0 { 0xff } else { 0x80 };
}

impl TarWriter {
    pub fn new(sink: Sender) -> Self {
        TarWriter {
            sink,
            buf: vec![0u8; BUFFER].into_boxed_slice(),
            fill: 0,
            written: 0,
        }
    }

    fn flush_buffer(&mut self) -> io::Result<()> {
        if self.fill > 0 {
            let full = std::mem::take(&mut self.buf);
            self.buf = self.sink.submit(full, self.fill)?;
            self.written += self.fill as u64;
            self.fill = 0;
        }
        Ok(())
    }

    /// Free space in the buffer, flushing it first when it is full.
    fn spare(&mut self) -> io::Result<&mut [u8]> {
        if self.fill == self.buf.len() {
            self.flush_buffer()?;
        }
        Ok(&mut self.buf[self.fill..])
    }

    /// One zeroed 512-byte block in the buffer.
    fn block(&mut self) -> io::Result<&mut [u8]> {
        if self.buf.len() - self.fill < BLOCK {
            self.flush_buffer()?;
        }
        let b = &mut self.buf[self.fill..self.fill + BLOCK];
        b.fill(0);
        self.fill += BLOCK;
        Ok(b)
    }

    fn raw_header(&mut self, h: &Header) -> io::Result<()> {
        self.header_with(h, GNU_MAGIC)
    }

    /// A header with the magic and version `magic`.
    fn header_with(&mut self, h: &Header, magic: &[u8; 8]) -> io::Result<()> {
        let b = self.block()?;
        let name_len = h.name.len().min(100);
        b[..name_len].copy_from_slice(&h.name[..name_len]);
        put_number(&mut b[100..108], i64::from(h.mode));
        put_number(&mut b[108..116], i64::from(h.uid));
        put_number(&mut b[116..124], i64::from(h.gid));
        put_number(&mut b[124..136], h.size as i64);
        put_number(&mut b[136..148], h.mtime);
        b[156] = h.kind;
        let link_len = h.link.len().min(100);
        b[157..157 + link_len].copy_from_slice(&h.link[..link_len]);
        b[257..265].copy_from_slice(magic);
        if matches!(h.kind, kind::CHAR | kind::BLOCK) {
            put_number(&mut b[329..337], i64::from(h.dev.0));
            put_number(&mut b[337..345], i64::from(h.dev.1));
        }
        b[148..156].fill(b' ');
        let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
        put_octal(&mut b[148..154], sum.into());
        b[154] = 0;
        Ok(())
    }

    /// A `././@LongLink` record carrying `value` (a name or link target over 100 bytes).
    fn long(&mut self, kind: u8, value: &[u8]) -> io::Result<()> {
        self.raw_header(&Header {
            name: b"././@LongLink",
            kind,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: value.len() as u64 + 1,
            mtime: 0,
            link: b"",
            dev: (0, 0),
        })?;
        self.bytes(value)?;
        self.bytes(&[0])?;
        self.pad(value.len() as u64 + 1)
    }

    /// A pax extended header of `records` (made with [`xattr_records`] and
    /// [`Sparse::records`]) for the member that follows.
    pub fn pax(&mut self, records: &[u8], mtime: i64) -> io::Result<()> {
        self.raw_header(&Header {
            name: b"././@PaxHeader",
            kind: kind::PAX,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: records.len() as u64,
            mtime,
            link: b"",
            dev: (0, 0),
        })?;
        self.bytes(records)?;
        self.pad(records.len() as u64)
    }

    /// Writes a member's header (and the long-name records it needs). The member's data, if
    /// any, must follow: `h.size` bytes, then [`TarWriter::pad`].
    pub fn header(&mut self, h: &Header) -> io::Result<()> {
        if h.link.len() > 100 {
            self.long(kind::LONGLINK, h.link)?;
        }
        if h.name.len() > 100 {
            self.long(kind::LONGNAME, h.name)?;
        }
        self.raw_header(h)
    }

    /// Appends bytes to the stream.
    pub fn bytes(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let spare = self.spare()?;
            let n = spare.len().min(data.len());
            spare[..n].copy_from_slice(&data[..n]);
            self.fill += n;
            data = &data[n..];
        }
        Ok(())
    }

    /// Zero bytes that complete the 512-byte block of data `size` bytes long.
    pub fn pad(&mut self, size: u64) -> io::Result<()> {
        let rem = (size % BLOCK as u64) as usize;
        if rem != 0 {
            self.zeros((BLOCK - rem) as u64)?;
        }
        Ok(())
    }

    /// Appends `len` zero bytes (holes, padding).
    pub fn zeros(&mut self, mut len: u64) -> io::Result<()> {
        while len > 0 {
            let spare = self.spare()?;
            let n = spare.len().min(len as usize);
            spare[..n].fill(0);
            self.fill += n;
            len -= n as u64;
        }
        Ok(())
    }

    /// Appends a file's data: its ranges of host files (the large ones) handed to the writer
    /// when it copies them itself, holes as zeros, everything else read into the stream.
    pub fn data(&mut self, data: &FileData) -> anyhow::Result<()> {
        match data.layout() {
            Some(layout) => {
                for span in layout.spans() {
                    self.span(span)?;
                }
                Ok(())
            }
            None => self.read_in(data.size(), |at, buf| data.read_some(at, buf)),
        }
    }

    /// Writes the header of a sparse member (its name, a stand-in, fits the header), in the
    /// POSIX form.
    pub fn sparse_header(&mut self, h: &Header) -> io::Result<()> {
        self.header_with(h, POSIX_MAGIC)
    }

    /// Appends a sparse member's data: its map, then the bytes of its data regions (the
    /// spans outside the holes `sparse` leaves out).
    pub fn sparse_data(&mut self, data: &FileData, sparse: &Sparse) -> anyhow::Result<()> {
        self.bytes(&sparse.map)?;
        let Some(layout) = data.layout() else {
            return Ok(());
        };
        let mut at = 0;
        let mut regions = sparse.regions.iter().peekable();
        for span in layout.spans() {
            let len = span.len();
            // Skip the regions that end before this span; it is data when one covers it.
            while regions
                .next_if(|&&(start, n)| start + n <= at && n > 0)
                .is_some()
            {}
            if regions
                .peek()
                .is_some_and(|&&(start, n)| start <= at && at < start + n)
            {
                self.span(span)?;
            }
            at += len;
        }
        Ok(())
    }

    /// Appends one span of a file's data.
    fn span(&mut self, span: &Span) -> anyhow::Result<()> {
        let len = span.len();
        if let Span::Zeros(_) = span {
            return Ok(self.zeros(len)?);
        }
        if !self.sink.ranges || len < RANGE_MIN || !span.in_host_file() {
            return self.read_in(len, |at, buf| read_exact(span, at, buf).map(|()| buf.len()));
        }
        self.flush_buffer()?;
        self.sink
            .full
            .send(Piece::Span(span.clone()))
            .map_err(|_| closed())?;
        self.written += len;
        Ok(())
    }

    /// Appends `len` bytes that `read` puts straight into the buffer (it reads at least one
    /// byte at the offset it is given, or fails).
    fn read_in(
        &mut self,
        len: u64,
        mut read: impl FnMut(u64, &mut [u8]) -> crate::error::Result<usize>,
    ) -> anyhow::Result<()> {
        let mut done = 0;
        while done < len {
            crate::cancel::check()?;
            let spare = self.spare()?;
            let want = spare.len().min((len - done) as usize);
            let n = read(done, &mut spare[..want])?;
            self.fill += n;
            done += n as u64;
        }
        Ok(())
    }

    /// Ends the archive.
    pub fn finish(mut self) -> io::Result<()> {
        self.zeros(2 * BLOCK as u64)?;
        let total = self.written + self.fill as u64;
        self.zeros(total.next_multiple_of(RECORD) - total)?;
        self.flush_buffer()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::data::tests::{host_source, one_file, SpansFs};
    use crate::source::{MemSource, Source};

    /// Large ranges of a host file go to the writer as spans; ranges of other sources, small
    /// ranges and holes are read into the blocks; the stream holds the file's bytes in order.
    #[test]
    fn large_host_ranges_go_to_the_writer_as_spans() {
        let big = RANGE_MIN as usize;
        let (_keep, host) = host_source(2 * big);
        let mem: Arc<dyn Source> = Arc::new(MemSource::new(vec![7; big], "mem"));
        let fs = SpansFs::new(vec![
            Span::source(&host, 0, 2 * RANGE_MIN),
            Span::source(&mem, 0, RANGE_MIN),
            Span::Zeros(100),
            Span::source(&host, 5, 10),
        ]);
        let expected = fs.expected();
        let (fs, size) = one_file(fs);
        let data = FileData::open(&fs, 0, size).unwrap();
        let (sender, blocks) = pipeline(2, true);
        let producer = std::thread::spawn(move || -> anyhow::Result<()> {
            let mut tar = TarWriter::new(sender);
            tar.data(&data)?;
            Ok(tar.finish()?)
        });
        let mut stream = Vec::new();
        let mut spans = Vec::new();
        for piece in blocks.full.iter() {
            match piece {
                Piece::Block(block, len) => {
                    stream.extend_from_slice(&block[..len]);
                    let _ = blocks.empty.send(block);
                }
                Piece::Span(span) => {
                    let mut bytes = vec![0; span.len() as usize];
                    read_exact(&span, 0, &mut bytes).unwrap();
                    stream.extend_from_slice(&bytes);
                    spans.push(span.source_offset());
                }
            }
        }
        producer.join().unwrap().unwrap();
        assert_eq!(spans, [Some(0)]);
        assert!(stream[..expected.len()] == expected[..]);
        assert_eq!(stream.len() as u64 % RECORD, 0);
    }

    /// Holes of a block or more leave the data regions; shorter ones stay data; a file that
    /// ends in a hole ends its map with an empty region at its size.
    #[test]
    fn sparse_maps() {
        let mem: Arc<dyn Source> = Arc::new(MemSource::new(vec![7; 100], "mem"));
        let fs = SpansFs::new(vec![
            Span::source(&mem, 0, 10),
            Span::Zeros(1000),
            Span::Bytes(Arc::from(&b"abc"[..])),
            Span::Zeros(100),
            Span::source(&mem, 0, 5),
            Span::Zeros(600),
        ]);
        let (fs, size) = one_file(fs);
        let data = FileData::open(&fs, 0, size).unwrap();
        let sparse = Sparse::of(&data).unwrap();
        assert_eq!(sparse.regions, [(0, 10), (1010, 108), (1718, 0)]);
        assert!(sparse.map.starts_with(b"3\n0\n10\n1010\n108\n1718\n0\n\0"));
        assert_eq!(sparse.map.len(), BLOCK);
        assert_eq!(sparse.stored_size(), BLOCK as u64 + 118);
        let dense = SpansFs::new(vec![Span::source(&mem, 0, 10), Span::Zeros(511)]);
        let (fs, size) = one_file(dense);
        assert!(Sparse::of(&FileData::open(&fs, 0, size).unwrap()).is_none());
    }

    #[test]
    fn numbers() {
        let mut f = [0u8; 8];
        put_number(&mut f, 0o755);
        assert_eq!(&f, b"0000755\0");
        let mut f = [0u8; 12];
        put_number(&mut f, 1 << 40);
        assert_eq!(f[0], 0x80);
        assert_eq!(&f[6..], &[0x01, 0, 0, 0, 0, 0]);
        put_number(&mut f, -1);
        assert_eq!(f, [0xff; 12]);
    }

    /// A record's length counts its own digits, also where adding them adds a digit.
    #[test]
    fn pax_records() {
        for value_len in 0..200 {
            let mut out = Vec::new();
            pax_record(
                &mut out,
                &[b"SCHILY.xattr.", b"user.a"],
                &vec![b'v'; value_len],
            );
            let (len, _) =
                std::str::from_utf8(&out[..out.iter().position(|&b| b == b' ').unwrap()])
                    .map(|d| (d.parse::<usize>().unwrap(), ()))
                    .unwrap();
            assert_eq!(len, out.len());
        }
    }
}
