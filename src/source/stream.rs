//! [`StreamSource`]: the decoded bytes of one compressed stream (the gzip'd, xz'd, zstd'd cpio
//! of an initrd) read at any offset without keeping them. Nothing is spooled: a read decodes
//! again from the nearest point it can resume from: a decoder left where an earlier read ended
//! (so sequential reads stay linear), or a checkpoint, a copy of the decoder's state taken every
//! few MiB of output where the codec allows one (gzip: the inflate state and its 32 KiB window,
//! as zran does), or else the start of the stream. The checkpoints' memory is bounded: past the
//! cap every other one is dropped and the spacing doubles. A few recent blocks of output are
//! kept, and more (up to half the cap) when reads go backwards. The decoded length is bounded too
//! ([`Limits::total`]): bytes past it are never produced, and reading them is an error naming
//! the limit.

use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

use super::decoded::{limit_error, Codec, Limits};
use super::io::SourceReader;
use super::Source;
use crate::error::{lock_cache as lock, Error, Result};

/// The unit of decoding and of the small cache of recent output.
const BLOCK: u64 = 64 << 10;
/// Recent blocks kept, so a reader stepping back a little (a header read twice) decodes
/// nothing.
const KEEP_BLOCKS: usize = 16;
/// Blocks kept on the way to a block decoded again, at first.
const FIRST_WINDOW: u64 = 16;
/// Live decoders kept at the places earlier reads left them (the walk's and a file's).
const KEEP_CURSORS: usize = 2;
/// Output between two checkpoints, at first (doubled each time the cap thins them).
const FIRST_INTERVAL: u64 = 4 << 20;

/// A decoder of one stream that can say where it is and, for some codecs, be copied.
trait Decode: Send {
    /// Decodes into `buf`; `Ok(0)` at the end of the stream.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Bytes decoded so far.
    fn out_pos(&self) -> u64;
    /// The offset in the compressed source of the next byte the decoder will take.
    fn in_pos(&self) -> u64;
    /// A copy to resume from later, when the codec allows one here.
    fn snapshot(&self) -> Option<Box<dyn Decode>>;
}

/// Any codec, through its streaming reader: no copies, only a fresh start.
struct Plain {
    reader: Box<dyn Read + Send>,
    out: u64,
    consumed: Arc<AtomicU64>,
}

impl Decode for Plain {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.reader.read(buf)?;
        self.out += n as u64;
        Ok(n)
    }
    fn out_pos(&self) -> u64 {
        self.out
    }
    fn in_pos(&self) -> u64 {
        self.consumed.load(Ordering::Relaxed)
    }
    fn snapshot(&self) -> Option<Box<dyn Decode>> {
        None
    }
}

/// A [`SourceReader`] that publishes its position, so the decoder owning it can be asked how
/// much input it took.
struct Tracked {
    reader: SourceReader,
    position: Arc<AtomicU64>,
}

impl Read for Tracked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.reader.read(buf)?;
        self.position
            .store(self.reader.position(), Ordering::Relaxed);
        Ok(n)
    }
}

impl BufRead for Tracked {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.reader.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.reader.consume(amt);
        self.position
            .store(self.reader.position(), Ordering::Relaxed);
    }
}

/// gzip (RFC 1952), one member: the header, then raw deflate through miniz_oxide, whose state
/// is a plain value that can be copied at any point, then the CRC-32 and size trailer.
struct Gzip {
    source: Arc<dyn Source>,
    reader: SourceReader,
    state: Box<InflateState>,
    crc: crc32fast::Hasher,
    out: u64,
    done: bool,
}

impl Gzip {
    fn new(source: Arc<dyn Source>, offset: u64) -> io::Result<Self> {
        let mut reader = SourceReader::new(source.clone(), offset);
        read_gzip_header(&mut reader)?;
        Ok(Gzip {
            source,
            reader,
            state: InflateState::new_boxed(DataFormat::Raw),
            crc: crc32fast::Hasher::new(),
            out: 0,
            done: false,
        })
    }

    fn trailer(&mut self) -> io::Result<()> {
        let mut t = [0u8; 8];
        self.reader.read_exact(&mut t)?;
        let crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        let size = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
        if crc != self.crc.clone().finalize() || size != self.out as u32 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the gzip trailer's CRC-32 or size does not match the data",
            ));
        }
        self.done = true;
        Ok(())
    }
}

/// Reads a gzip member header (RFC 1952 2.3), leaving `r` at the deflate data.
fn read_gzip_header(r: &mut impl Read) -> io::Result<()> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "invalid gzip header");
    let mut h = [0u8; 10];
    r.read_exact(&mut h)?;
    if h[..3] != [0x1f, 0x8b, 8] || h[3] & 0xe0 != 0 {
        return Err(bad());
    }
    let flags = h[3];
    if flags & 4 != 0 {
        let mut len = [0u8; 2];
        r.read_exact(&mut len)?;
        io::copy(&mut r.take(u16::from_le_bytes(len) as u64), &mut io::sink())?;
    }
    for flag in [8, 16] {
        // The file name, the comment: NUL-terminated.
        if flags & flag != 0 {
            let mut b = [0u8; 1];
            loop {
                r.read_exact(&mut b)?;
                if b[0] == 0 {
                    break;
                }
            }
        }
    }
    if flags & 2 != 0 {
        r.read_exact(&mut [0u8; 2])?;
    }
    Ok(())
}

impl Decode for Gzip {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        loop {
            let input = self.reader.fill_buf()?;
            let eof = input.is_empty();
            let r = inflate(&mut self.state, input, buf, MZFlush::None);
            self.reader.consume(r.bytes_consumed);
            let n = r.bytes_written;
            self.crc.update(&buf[..n]);
            self.out += n as u64;
            match r.status {
                Ok(MZStatus::StreamEnd) => {
                    self.trailer()?;
                    return Ok(n);
                }
                Ok(_) | Err(MZError::Buf) if n > 0 => return Ok(n),
                Ok(_) | Err(MZError::Buf) if !eof => continue,
                Ok(_) | Err(MZError::Buf) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the deflate data ends early",
                    ))
                }
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "corrupt deflate stream",
                    ))
                }
            }
        }
    }
    fn out_pos(&self) -> u64 {
        self.out
    }
    fn in_pos(&self) -> u64 {
        self.reader.position()
    }
    fn snapshot(&self) -> Option<Box<dyn Decode>> {
        Some(Box::new(Gzip {
            source: self.source.clone(),
            reader: SourceReader::new(self.source.clone(), self.reader.position()),
            state: self.state.clone(),
            crc: self.crc.clone(),
            out: self.out,
            done: self.done,
        }))
    }
}

/// Memory one checkpoint of `codec` takes.
fn checkpoint_size(codec: Codec) -> u64 {
    match codec {
        Codec::Gzip => (std::mem::size_of::<InflateState>() + std::mem::size_of::<Gzip>()) as u64,
        _ => 0,
    }
}

/// Caches block `b`, dropping the least recently used ones past [`KEEP_BLOCKS`] and the
/// window.
fn keep(st: &mut State, b: u64, block: Arc<Vec<u8>>) {
    st.blocks.retain(|(n, _)| *n != b);
    st.blocks.push((b, block));
    let most = KEEP_BLOCKS + st.window as usize;
    if st.blocks.len() > most {
        let extra = st.blocks.len() - most;
        st.blocks.drain(..extra);
    }
}

/// What reads have learnt of the stream, and the decoders kept.
struct State {
    cursors: Vec<Box<dyn Decode>>,
    /// By output position, ascending.
    checkpoints: Vec<Box<dyn Decode>>,
    interval: u64,
    /// Recent blocks: (block number, bytes; fewer than [`BLOCK`] only at the end or the limit).
    blocks: Vec<(u64, Arc<Vec<u8>>)>,
    /// The decoded length and the compressed bytes taken, once the end was decoded.
    end: Option<(u64, u64)>,
    /// The furthest output any decoder reached.
    furthest: u64,
    /// Blocks kept on the way when a block is decoded again.
    window: u64,
}

/// The checkpoints of a stream, for `info`.
pub struct Checkpoints {
    pub count: usize,
    pub bytes: u64,
    pub cap: u64,
    /// Output between two of them.
    pub interval: u64,
    /// Whether the codec allows them at all.
    pub possible: bool,
}

/// The decoded bytes of one compressed stream, decoded again for each read.
pub struct StreamSource {
    inner: Arc<dyn Source>,
    offset: u64,
    codec: Codec,
    limits: Limits,
    name: String,
    state: Mutex<State>,
}

impl StreamSource {
    /// The stream of `codec` that starts at `offset` in `inner`. Nothing is decoded yet.
    pub fn new(
        inner: &Arc<dyn Source>,
        offset: u64,
        codec: Codec,
        limits: Limits,
        name: String,
    ) -> Self {
        StreamSource {
            inner: inner.clone(),
            offset,
            codec,
            limits,
            name,
            state: Mutex::new(State {
                cursors: Vec::new(),
                checkpoints: Vec::new(),
                interval: FIRST_INTERVAL,
                blocks: Vec::new(),
                end: None,
                furthest: 0,
                window: FIRST_WINDOW,
            }),
        }
    }

    fn corrupt(&self, detail: String) -> Error {
        Error::corrupt(
            self.inner.name(),
            self.codec.structure(),
            self.offset,
            detail,
        )
    }

    fn start(&self) -> Result<Box<dyn Decode>> {
        let opened: io::Result<Box<dyn Decode>> = match self.codec {
            Codec::Gzip => Gzip::new(self.inner.clone(), self.offset).map(|g| Box::new(g) as _),
            codec => {
                let consumed = Arc::new(AtomicU64::new(self.offset));
                let input = Tracked {
                    reader: SourceReader::new(self.inner.clone(), self.offset),
                    position: consumed.clone(),
                };
                codec.decoder(input).map(|reader| {
                    Box::new(Plain {
                        reader,
                        out: 0,
                        consumed,
                    }) as _
                })
            }
        };
        opened.map_err(|e| self.corrupt(e.to_string()))
    }

    /// One read of `d` into `buf`, learning the end and taking checkpoints on the way.
    fn pull(&self, st: &mut State, d: &mut Box<dyn Decode>, buf: &mut [u8]) -> Result<usize> {
        let before = d.out_pos();
        let n = loop {
            match d.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(self.corrupt(format!(
                        "{} data after {before} decoded bytes: {e}",
                        self.codec.name()
                    )))
                }
            }
        };
        let pos = d.out_pos();
        st.furthest = st.furthest.max(pos);
        if n == 0 {
            let consumed = d.in_pos() - self.offset;
            if pos == 0 && consumed == 0 {
                return Err(self.corrupt(format!("empty {} stream", self.codec.name())));
            }
            st.end = Some((pos, consumed));
            return Ok(0);
        }
        let last = st.checkpoints.last().map_or(0, |c| c.out_pos());
        if pos >= last + st.interval {
            if let Some(copy) = d.snapshot() {
                st.checkpoints.push(copy);
                let size = checkpoint_size(self.codec);
                while st.checkpoints.len() as u64 * size > self.limits.memory
                    && !st.checkpoints.is_empty()
                {
                    // Thin: keep every other one, further apart.
                    let mut i = 0;
                    st.checkpoints.retain(|_| {
                        i += 1;
                        i % 2 == 0
                    });
                    st.interval *= 2;
                }
            }
        }
        Ok(n)
    }

    /// The decoder closest before output position `to`, taken out of the state.
    fn nearest(&self, st: &mut State, to: u64) -> Result<Box<dyn Decode>> {
        let cursor = (0..st.cursors.len())
            .filter(|i| st.cursors[*i].out_pos() <= to)
            .max_by_key(|i| st.cursors[*i].out_pos());
        let checkpoint = st.checkpoints.partition_point(|c| c.out_pos() <= to);
        let from_checkpoint = checkpoint
            .checked_sub(1)
            .map(|i| st.checkpoints[i].out_pos());
        match cursor {
            Some(c) if from_checkpoint.is_none_or(|p| st.cursors[c].out_pos() >= p) => {
                Ok(st.cursors.remove(c))
            }
            _ => match checkpoint
                .checked_sub(1)
                .and_then(|i| st.checkpoints[i].snapshot())
            {
                Some(copy) => Ok(copy),
                None => self.start(),
            },
        }
    }

    /// Decodes block `b`.
    fn block(&self, b: u64) -> Result<Arc<Vec<u8>>> {
        let mut st = lock(&self.state);
        if let Some(i) = st.blocks.iter().position(|(n, _)| *n == b) {
            let hit = st.blocks.remove(i);
            st.blocks.push(hit.clone());
            return Ok(hit.1);
        }
        let start = b * BLOCK;
        if st.end.is_some_and(|(len, _)| start >= len) {
            return Ok(Arc::new(Vec::new()));
        }
        // Callers ask only for blocks that start before the limit.
        let stop = (start + BLOCK).min(self.limits.total);
        let mut d = self.nearest(&mut st, start)?;
        let mut scratch = vec![0u8; BLOCK as usize];
        // A read behind what was decoded already, far from any resume point: reads are going
        // backwards (`tail`). The window of blocks kept on the way doubles each time, within
        // half the memory cap, so a backward scan decodes again a logarithmic number of times
        // and a forward one keeps no more than before.
        let far = (start - d.out_pos()) / BLOCK > st.window;
        if far && start < st.furthest {
            let most = (self.limits.memory / 2 / BLOCK).max(FIRST_WINDOW);
            st.window = (st.window * 2).min(most);
        }
        while d.out_pos() < start {
            let pos = d.out_pos();
            let near = start - pos <= st.window * BLOCK;
            let want = ((start - pos) as usize).min(scratch.len());
            if near && pos.is_multiple_of(BLOCK) && want == scratch.len() {
                let mut filled = 0;
                while filled < want {
                    match self.pull(&mut st, &mut d, &mut scratch[filled..])? {
                        0 => return Ok(Arc::new(Vec::new())),
                        n => filled += n,
                    }
                }
                keep(&mut st, pos / BLOCK, Arc::new(scratch.clone()));
            } else if self.pull(&mut st, &mut d, &mut scratch[..want])? == 0 {
                return Ok(Arc::new(Vec::new()));
            }
        }
        let mut have = 0;
        let len = (stop - start) as usize;
        let mut ended = false;
        while have < len && !ended {
            let n = self.pull(&mut st, &mut d, &mut scratch[have..len])?;
            ended = n == 0;
            have += n;
        }
        scratch.truncate(have);
        if !ended {
            st.cursors.push(d);
            if st.cursors.len() > KEEP_CURSORS {
                st.cursors.remove(0);
            }
        }
        let block = Arc::new(scratch);
        keep(&mut st, b, block.clone());
        Ok(block)
    }

    fn past_limit(&self) -> Error {
        self.corrupt(limit_error(self.limits.total))
    }

    /// Whether the stream goes on past the limit: decodes up to the limit and one byte more.
    pub fn more_after_limit(&self) -> Result<bool> {
        let total = self.limits.total;
        if total > 0 {
            self.read_at(total - 1, &mut [0u8])?;
        }
        let mut st = lock(&self.state);
        if let Some((len, _)) = st.end {
            return Ok(len > total);
        }
        let mut d = self.nearest(&mut st, total)?;
        let mut scratch = vec![0u8; BLOCK as usize];
        while d.out_pos() < total {
            let want = ((total - d.out_pos()) as usize).min(scratch.len());
            if self.pull(&mut st, &mut d, &mut scratch[..want])? == 0 {
                return Ok(false);
            }
        }
        Ok(self.pull(&mut st, &mut d, &mut [0u8])? > 0)
    }

    /// Decodes to the end of the stream (within the limit) and gives the compressed bytes it
    /// took; `None` when the stream goes on past the limit.
    pub fn finish(&self) -> Result<Option<u64>> {
        loop {
            let (end, at) = {
                let st = lock(&self.state);
                (st.end, st.furthest)
            };
            if let Some((_, consumed)) = end {
                return Ok(Some(consumed));
            }
            if at >= self.limits.total {
                if self.more_after_limit()? {
                    return Ok(None);
                }
                continue;
            }
            self.block(at / BLOCK)?;
        }
    }

    /// The limit on the decoded length.
    pub fn limit(&self) -> u64 {
        self.limits.total
    }

    /// The output decoded so far (the furthest point reached).
    pub fn decoded(&self) -> u64 {
        lock(&self.state).furthest
    }

    /// The decoded length, once the end was reached.
    pub fn known_len(&self) -> Option<u64> {
        lock(&self.state).end.map(|(len, _)| len)
    }

    /// The checkpoints kept.
    pub fn checkpoints(&self) -> Checkpoints {
        let st = lock(&self.state);
        let size = checkpoint_size(self.codec);
        Checkpoints {
            count: st.checkpoints.len(),
            bytes: st.checkpoints.len() as u64 * size,
            cap: self.limits.memory,
            interval: st.interval,
            possible: size > 0,
        }
    }

    /// The codec.
    pub fn codec(&self) -> Codec {
        self.codec
    }
}

impl Source for StreamSource {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            if at >= self.limits.total {
                if done > 0 || !self.more_after_limit()? {
                    break;
                }
                return Err(self.past_limit());
            }
            let block = self.block(at / BLOCK)?;
            let inside = (at % BLOCK) as usize;
            if inside >= block.len() {
                // Blocks stop short of the limit only at the end.
                break;
            }
            let n = (block.len() - inside).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&block[inside..inside + n]);
            done += n;
        }
        Ok(done)
    }
    /// The decoded length once known; until then the limit, which it cannot pass.
    fn len(&self) -> u64 {
        self.known_len().unwrap_or(self.limits.total)
    }
    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use super::{StreamSource, BLOCK};
    use crate::source::decoded::{Codec, Limits};
    use crate::source::{MemSource, Source};

    fn data(len: usize) -> Vec<u8> {
        let mut x = 12345u32;
        (0..len)
            .map(|i| {
                x = x.wrapping_mul(1103515245).wrapping_add(12345);
                if i % 3 == 0 {
                    (x >> 24) as u8
                } else {
                    b'a' + (i % 7) as u8
                }
            })
            .collect()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn random_reads_match_and_checkpoints_stay_under_the_cap() {
        let plain = data(40 << 20);
        let mut packed = vec![7u8; 3];
        packed.extend(gzip(&plain));
        let inner: Arc<dyn Source> = Arc::new(MemSource::new(packed.clone(), "mem"));
        let limits = Limits {
            memory: 200 << 10,
            total: 1 << 30,
        };
        let s = StreamSource::new(&inner, 3, Codec::Gzip, limits, "s".into());
        let mut buf = vec![0u8; 100_000];
        for at in [
            39 << 20,
            5,
            20 << 20,
            38 << 20,
            13 << 20,
            (40 << 20) - 50_000,
        ] {
            let n = s.read_at(at as u64, &mut buf).unwrap();
            let want = (plain.len() - at).min(buf.len());
            assert_eq!(n, want);
            assert_eq!(&buf[..n], &plain[at..at + n], "at {at}");
        }
        assert_eq!(s.finish().unwrap(), Some(packed.len() as u64 - 3));
        assert_eq!(s.len(), plain.len() as u64);
        let c = s.checkpoints();
        assert!(c.count >= 2 && c.bytes <= c.cap, "{} {}", c.count, c.bytes);
        assert!(c.interval > 4 << 20, "thinned");
    }

    #[test]
    fn backward_reads_of_a_stream_without_checkpoints_match() {
        let plain = data(3 << 20);
        let mut e = liblzma::write::XzEncoder::new(Vec::new(), 0);
        e.write_all(&plain).unwrap();
        let inner: Arc<dyn Source> = Arc::new(MemSource::new(e.finish().unwrap(), "mem"));
        let s = StreamSource::new(&inner, 0, Codec::Xz, Limits::default(), "s".into());
        let mut buf = vec![0u8; 10_000];
        let mut end = plain.len();
        while end > 0 {
            let at = end.saturating_sub(buf.len());
            let n = s.read_at(at as u64, &mut buf[..end - at]).unwrap();
            assert_eq!(&buf[..n], &plain[at..end], "at {at}");
            end = at;
        }
        assert!(!s.checkpoints().possible);
    }

    #[test]
    fn the_limit_cuts_the_stream() {
        let plain = vec![0u8; 3 * BLOCK as usize];
        let inner: Arc<dyn Source> = Arc::new(MemSource::new(gzip(&plain), "mem"));
        let limits = Limits {
            memory: 1 << 20,
            total: BLOCK + 10,
        };
        let s = StreamSource::new(&inner, 0, Codec::Gzip, limits, "s".into());
        let mut buf = vec![1u8; 20];
        assert_eq!(s.read_at(BLOCK, &mut buf).unwrap(), 10);
        assert!(s.read_at(BLOCK + 10, &mut buf).is_err());
        assert!(s.more_after_limit().unwrap());
        assert_eq!(s.finish().unwrap(), None);
        let exact = Limits {
            memory: 1 << 20,
            total: 3 * BLOCK,
        };
        let s = StreamSource::new(&inner, 0, Codec::Gzip, exact, "s".into());
        assert!(!s.more_after_limit().unwrap());
        assert_eq!(s.read_at(3 * BLOCK, &mut buf).unwrap(), 0);
    }
}
