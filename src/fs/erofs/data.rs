//! File data read in-house, the fast path beside erofs-rs: flat files (plain and tail-inline)
//! as spans of the image, so copies move them without reading them through us, and
//! compressed files ([`super::zmap`]) decoded an extent at a time straight into the caller's
//! buffer: lz4 (through lz4_flex) and plain pclusters, with a run of neighbouring pclusters
//! read at once. Nothing is locked while decoding, so the copying threads decode side by
//! side; an extent cut by the end of a read is kept decoded for the read that follows.
//!
//! Whatever this path does not read itself (images with 48-bit addresses, chunked files,
//! fragments, lzma/deflate/zstd, partial references, or any value out of bounds) it leaves
//! to the crate: `None` here, and the caller reads through erofs-rs, which reads or refuses
//! it as it did before.

use std::sync::Arc;

use super::chunks::{self, CHUNK_BASED};
use super::inode::{DiskInode, FLAT_INLINE, FLAT_PLAIN, NULL_ADDR};
use super::lz4;
use super::window::Window;
use super::zmap::{Extent, Stored, Zmap, INCOMPAT_ZERO_PADDING, MAX_DECODED};
use super::ErofsFs;
use crate::data::span::Span;
use crate::error::lock_cache;
use crate::fs::Ino;

/// Bytes read with an inode: room for its xattrs, map header and a small index.
const INODE_AHEAD: usize = 256;
/// The most image bytes read at once for a run of neighbouring pclusters.
const RUN_MAX: u64 = 2 << 20;
/// Decoded extents, and inodes' bytes, kept for the reads that follow (one or two a copying
/// thread).
const KEPT: usize = 4;
/// The lz4 algorithm number.
const LZ4: u8 = 0;

/// An extent decoded whole: the file, where the extent starts, its bytes.
pub(super) struct Decoded {
    ino: Ino,
    start: u64,
    bytes: Arc<[u8]>,
}

impl ErofsFs {
    /// The on-disk inode `nid`, read through `w`.
    fn disk_inode(&self, nid: Ino, w: &mut Window) -> Option<DiskInode> {
        if !self.in_house {
            return None;
        }
        let at = self.inode_offset(nid);
        let first = w.get(at, super::inode::COMPACT as usize, INODE_AHEAD)?;
        let len = match first[0] & 1 {
            0 => super::inode::COMPACT,
            _ => super::inode::EXTENDED,
        };
        DiskInode::decode(w.get(at, len as usize, INODE_AHEAD)?, at)
    }

    /// The spans of a flat regular file: its blocks, and its tail after the inode when inline;
    /// zeros for a plain file without blocks. A chunk-based file's chunks ([`chunks`]), its
    /// holes as zeros.
    /// Of a file not flat, the bytes read with its inode are kept for the read that follows
    /// (the copies ask for spans, then read).
    pub(super) fn flat_spans(&self, ino: Ino) -> Option<Vec<Span>> {
        let mut w = Window::new(self.source.as_ref());
        let inode = self.disk_inode(ino, &mut w)?;
        let spans = match inode.layout {
            CHUNK_BASED if inode.is_file() => {
                chunks::spans(&self.source, &inode, self.block_size())
            }
            _ => self.spans_of(&inode),
        };
        if spans.is_none() {
            let (at, bytes) = w.into_held();
            let mut kept = lock_cache(&self.inode_bytes);
            if kept.len() == KEPT {
                kept.remove(0);
            }
            kept.push((ino, at, bytes));
        }
        spans
    }

    /// A window over the image, holding the bytes read with inode `ino` when they were kept.
    fn window_for(&self, ino: Ino) -> Window<'_> {
        let source = self.source.as_ref();
        let mut kept = lock_cache(&self.inode_bytes);
        match kept.iter().position(|(nid, ..)| *nid == ino) {
            Some(i) => {
                let (_, at, bytes) = kept.swap_remove(i);
                Window::holding(source, at, bytes)
            }
            None => Window::new(source),
        }
    }

    fn spans_of(&self, inode: &DiskInode) -> Option<Vec<Span>> {
        let bs = self.block_size();
        let size = inode.size;
        if !inode.is_file() {
            return None;
        }
        let blocks = |len: u64| -> Option<Span> {
            let at = u64::from(inode.raw).checked_mul(bs)?;
            at.checked_add(len)?;
            Some(Span::source(&self.source, at, len))
        };
        match inode.layout {
            _ if size == 0 => Some(Vec::new()),
            FLAT_PLAIN if inode.raw == NULL_ADDR => Some(vec![Span::Zeros(size)]),
            FLAT_PLAIN => Some(vec![blocks(size)?]),
            FLAT_INLINE => {
                let tail_len = (size - 1) % bs + 1;
                let tail = inode.tail();
                if tail_len > bs - tail % bs {
                    return None;
                }
                let mut spans = Vec::with_capacity(2);
                if size > tail_len {
                    spans.push(blocks(size - tail_len)?);
                }
                spans.push(Span::source(&self.source, tail, tail_len));
                Some(spans)
            }
            _ => None,
        }
    }

    /// Reads file `ino` at `offset` into `buf` in-house; `None` to leave it to the crate.
    pub(super) fn read_in_house(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Option<usize> {
        let mut w = self.window_for(ino);
        let inode = self.disk_inode(ino, &mut w)?;
        if !inode.is_file() {
            return None;
        }
        if offset >= inode.size {
            return Some(0);
        }
        let want = (inode.size - offset).min(buf.len() as u64) as usize;
        let out = &mut buf[..want];
        if let Some(spans) = self.spans_of(&inode) {
            read_spans(&spans, offset, out)?;
            return Some(want);
        }
        let zmap = Zmap::new(&inode, self.geometry, &mut w)?;
        let mut extents = Vec::new();
        zmap.extents(offset, offset + want as u64, &mut w, &mut extents)?;
        let mut phys = Window::new(self.source.as_ref());
        for (k, e) in extents.iter().enumerate() {
            let a = offset.max(e.start);
            let b = (offset + want as u64).min(e.end);
            let dst = &mut out[(a - offset) as usize..(b - offset) as usize];
            let skip = (a - e.start) as usize;
            if let Some(kept) = self.kept(ino, e.start) {
                dst.copy_from_slice(kept.get(skip..skip + dst.len())?);
                continue;
            }
            let run = run_len(&extents[k..]);
            let input = phys.get(e.pa, e.plen as usize, run as usize)?;
            self.decode(ino, e, input, skip, dst)?;
        }
        Some(want)
    }

    /// Decodes extent `e` from its pcluster `input` into `dst`, from `skip` bytes into the
    /// extent on; an extent not wholly wanted is kept for the next read.
    fn decode(
        &self,
        ino: Ino,
        e: &Extent,
        input: &[u8],
        skip: usize,
        dst: &mut [u8],
    ) -> Option<()> {
        let len = e.end - e.start;
        if len > MAX_DECODED {
            return None;
        }
        let len = len as usize;
        match e.stored {
            Stored::Plain { interlaced: false } => {
                dst.copy_from_slice(input.get(skip..skip + dst.len())?);
                Some(())
            }
            Stored::Plain { interlaced: true } => {
                let bs = self.block_size();
                let start = (e.start % bs) as usize;
                let plen = input.len();
                if plen as u64 > bs || start >= plen || (plen < bs as usize && start + len > plen) {
                    return None;
                }
                let right = (plen - start).min(len);
                let mut whole = Vec::with_capacity(len);
                whole.extend_from_slice(&input[start..start + right]);
                whole.extend_from_slice(input.get(..len - right)?);
                dst.copy_from_slice(&whole[skip..skip + dst.len()]);
                Some(())
            }
            Stored::Compressed {
                algorithm: LZ4,
                partial,
            } => {
                // With zero padding the data ends the pcluster and decodes exactly to the
                // extent (unless partial); without, it starts it and may be followed by more.
                let padded = self.geometry.incompat & INCOMPAT_ZERO_PADDING != 0;
                let from = match padded {
                    true => input.iter().position(|&b| b != 0)?,
                    false => 0,
                };
                let input = &input[from..];
                let decode = |out: &mut [u8]| match padded && !partial {
                    true => {
                        (lz4_flex::block::decompress_into(input, out).ok()? == len).then_some(())
                    }
                    false => lz4::decode_prefix(input, out),
                };
                if skip == 0 && dst.len() == len {
                    return decode(dst);
                }
                let mut whole = vec![0u8; len];
                decode(&mut whole)?;
                dst.copy_from_slice(&whole[skip..skip + dst.len()]);
                self.keep_decoded(ino, e.start, whole.into());
                Some(())
            }
            _ => None,
        }
    }

    /// The decoded extent of `ino` starting at `start`, if kept.
    fn kept(&self, ino: Ino, start: u64) -> Option<Arc<[u8]>> {
        lock_cache(&self.decoded)
            .iter()
            .find(|d| d.ino == ino && d.start == start)
            .map(|d| d.bytes.clone())
    }

    fn keep_decoded(&self, ino: Ino, start: u64, bytes: Arc<[u8]>) {
        let mut kept = lock_cache(&self.decoded);
        if kept.len() == KEPT {
            kept.remove(0);
        }
        kept.push(Decoded { ino, start, bytes });
    }
}

/// Bytes of the run of pclusters that starts `extents`, each right after the one before
/// (read together), within [`RUN_MAX`].
fn run_len(extents: &[Extent]) -> u64 {
    let mut len = extents[0].plen;
    for pair in extents.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if b.pa != a.pa + a.plen || len + b.plen > RUN_MAX {
            break;
        }
        len += b.plen;
    }
    len
}

/// Reads `out.len()` bytes at `offset` of the file laid out as `spans`.
fn read_spans(spans: &[Span], offset: u64, out: &mut [u8]) -> Option<()> {
    let mut pos = 0u64;
    let mut done = 0usize;
    for span in spans {
        let end = pos + span.len();
        let at = offset + done as u64;
        if done < out.len() && at < end {
            let n = ((end - at) as usize).min(out.len() - done);
            let got = span.read_at(at - pos, &mut out[done..done + n]).ok()?;
            if got != n {
                return None;
            }
            done += n;
        }
        pos = end;
    }
    (done == out.len()).then_some(())
}
