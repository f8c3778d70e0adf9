//! [`splice_gzip`]: a new gzip stream for data that is mostly an original gzip stream's data
//! (a cpio initrd with one member changed), made by taking the original's compressed blocks
//! where the data around them is the same and compressing only the rest.
//!
//! A DEFLATE block decodes to the same bytes wherever it is put, as long as the 32 KiB before
//! it (the window its matches may reach) are the same too. So where the new data holds a long
//! run of the original's (the new plan's ranges of the decoded stream, in order), the
//! original's blocks lying wholly in that run, 32 KiB past its start, are copied bit for bit;
//! the data between (the changed members and the edges of the runs) is compressed anew at the
//! same level, with the 32 KiB before it as the preset dictionary, and ended by a sync flush.
//! The pieces are joined at bit level: after copied blocks an empty stored block brings the
//! stream to a byte boundary; before them, empty fixed-code blocks (ten bits each) bring it to
//! the bit the blocks started at in the original (a block is taken only where that is even),
//! so the copied bytes keep their alignment and a stored block inside them stays valid. The
//! last run, when it reaches the end of both, is the original's stream to its end, taken as a
//! range of its source; the blocks up to where it starts are walked (not decoded) to find
//! their boundaries (`Blocks`), and the bytes after it are never read: the CRC-32 of the new
//! data is combined from the new bytes before it and the original's CRC with its head's
//! taken out.
//!
//! The header is the one a new stream at that level gets
//! ([`gzip_header`]); the trailer holds
//! the new data's CRC-32 and size.

use std::sync::Arc;

use std::io::Write;

use super::bit_plan::BitPlan;
use super::deflate_blocks::{Block, Blocks};
use super::parallel_deflate::{gzip_header, ParallelDeflate};
use crate::data::Span;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::source::Source;

/// The DEFLATE window: how far back a match may reach.
const WINDOW: u64 = 32 << 10;
/// Copied runs shorter than this (decoded bytes) are compressed anew instead.
const MIN_COPY: u64 = 256 << 10;
/// Blocks of the original walked at most (a stream of tiny blocks is compressed whole
/// instead: the list stays small).
const MAX_BLOCKS: usize = 1 << 20;
/// Bytes read at a time.
const CHUNK: usize = 1 << 20;
/// The longest stretch of new bytes at the end compared with the original's end to find
/// that they are the same (a rewritten trailer).
const SAME_TAIL: u64 = 1 << 20;

/// The gzip stream being replaced: its compressed bytes (`start..end` of `source`, header to
/// trailer) and its decoded data.
pub struct Original<'a> {
    pub source: &'a Arc<dyn Source>,
    pub start: u64,
    pub end: u64,
    pub decoded: &'a Arc<dyn Source>,
}

/// A run of the new data that is the original's: `len` bytes at `new` that are at `old` in
/// the original's decoded data.
#[derive(Clone, Copy, Debug)]
struct Run {
    new: u64,
    old: u64,
    len: u64,
}

/// What the new stream is made of, in order.
#[derive(Debug)]
enum Piece {
    /// New data compressed anew.
    Fresh(u64, u64),
    /// The original's blocks from one boundary to another (`None`: to the stream's end).
    Copy(Block, Option<Block>),
}

/// The gzip stream of `new` (at `level`, the level the original was made with), splicing the
/// original's blocks in where the new data keeps the original's; `None` when it keeps too
/// little of it for that to pay (or the original is not one plain gzip member), and the
/// stream is to be compressed whole.
pub fn splice_gzip(
    original: &Original,
    new: &Plan,
    level: u32,
    name: &str,
) -> Result<Option<Plan>> {
    let src = original.source;
    let Some(data_start) = header_len(src, original.start, original.end)? else {
        return Ok(None);
    };
    let data_start = original.start + data_start;
    if original.end < data_start + 8 {
        return Ok(None);
    }
    let data_end = original.end - 8;
    let mut tail = [0u8; 8];
    src.read_exact_at(data_end, &mut tail, "gzip trailer")?;
    let old_crc = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let old_len = original.decoded.len();
    if old_len as u32 != u32::from_le_bytes([tail[4], tail[5], tail[6], tail[7]]) {
        return Ok(None);
    }
    let new_len = new.len();
    let new_src = new.clone().into_source(name.to_string());
    let runs = runs(new, original.decoded, old_len, new_src.as_ref())?;
    let mut walk = Walk {
        blocks: Blocks::new(src, data_start, data_end, old_len),
        seen: Vec::new(),
    };
    let pieces = match pieces(&runs, &mut walk, old_len, new_len) {
        Ok(p) => p,
        // The original's blocks could not be walked: compressed whole, as before.
        Err(_) => return Ok(None),
    };
    if !pieces.iter().any(|p| matches!(p, Piece::Copy(..))) {
        return Ok(None);
    }
    let image = src.name();
    let mut out = BitPlan::new();
    let mut after_copy = false;
    let count = pieces.len();
    for (k, piece) in pieces.iter().enumerate() {
        let last = k + 1 == count;
        if after_copy {
            out.sync();
        }
        match *piece {
            Piece::Fresh(from, to) => {
                let bytes = deflate(new_src.as_ref(), from, to, level, last)?;
                out.put_bytes(&bytes);
                after_copy = false;
            }
            Piece::Copy(first, until) => {
                while out.alignment() != first.bit % 8 {
                    out.empty_fixed(false);
                }
                let to = until.map_or((data_end - data_start) * 8, |b| b.bit);
                out.copy(src, data_start, first.bit, to)?;
                after_copy = until.is_some();
                if last && until.is_some() {
                    out.empty_fixed(true);
                }
            }
        }
    }
    let crc = match pieces.last() {
        Some(Piece::Copy(first, None)) => {
            let d = first_run_shift(&runs, first.out);
            let head_new = crc_of(new_src.as_ref(), 0, first.out.wrapping_add(d))?;
            let head_old = crc_of(original.decoded.as_ref(), 0, first.out)?;
            let tail_len = old_len - first.out;
            let tail_crc = old_crc ^ shifted(head_old, tail_len);
            let mut h = crc32fast::Hasher::new_with_initial_len(head_new, 0);
            h.combine(&crc32fast::Hasher::new_with_initial_len(tail_crc, tail_len));
            h.finalize()
        }
        _ => crc_of(new_src.as_ref(), 0, new_len)?,
    };
    let mut plan = Plan::new();
    plan.push(Span::Bytes(Arc::from(gzip_header(level).as_slice())));
    for span in out.finish().spans() {
        plan.push(span.clone());
    }
    let mut trailer = crc.to_le_bytes().to_vec();
    trailer.extend_from_slice(&(new_len as u32).to_le_bytes());
    plan.push(Span::Bytes(Arc::from(trailer)));
    if cfg!(debug_assertions) {
        check(&plan, new_src.as_ref(), image)?;
    }
    Ok(Some(plan))
}

/// The length of the gzip header at `start`, or `None` if it is not one this can rewrite.
fn header_len(src: &Arc<dyn Source>, start: u64, end: u64) -> Result<Option<u64>> {
    let read = |at: u64, n: usize| -> Result<Vec<u8>> {
        let n = n.min(end.saturating_sub(start + at) as usize);
        src.read_vec(start + at, n, "gzip header")
    };
    let head = read(0, 10)?;
    if head.len() < 10 || head[..3] != [0x1f, 0x8b, 8] || head[3] & 0xe0 != 0 {
        return Ok(None);
    }
    let flags = head[3];
    let mut at = 10u64;
    if flags & 4 != 0 {
        let x = read(at, 2)?;
        if x.len() < 2 {
            return Ok(None);
        }
        at += 2 + u64::from(u16::from_le_bytes([x[0], x[1]]));
    }
    for bit in [8u8, 16] {
        if flags & bit != 0 {
            // A zero-terminated string (name, comment).
            loop {
                let s = read(at, 256)?;
                if s.is_empty() {
                    return Ok(None);
                }
                match s.iter().position(|b| *b == 0) {
                    Some(z) => {
                        at += z as u64 + 1;
                        break;
                    }
                    None => at += s.len() as u64,
                }
            }
        }
    }
    if flags & 2 != 0 {
        at += 2;
    }
    Ok(Some(at))
}

/// The runs of `new` that are the original's decoded data, in the new data's order; the last
/// one grows to the end when the bytes after it are the original's last bytes (a trailer
/// written again as it was).
fn runs(
    new: &Plan,
    decoded: &Arc<dyn Source>,
    old_len: u64,
    new_src: &dyn Source,
) -> Result<Vec<Run>> {
    let mut runs: Vec<Run> = Vec::new();
    let mut at = 0u64;
    for span in new.spans() {
        if let Span::Source {
            source,
            offset,
            len,
        } = span
        {
            if std::ptr::addr_eq(Arc::as_ptr(source), Arc::as_ptr(decoded)) {
                match runs.last_mut() {
                    Some(r) if r.new + r.len == at && r.old + r.len == *offset => r.len += len,
                    _ => runs.push(Run {
                        new: at,
                        old: *offset,
                        len: *len,
                    }),
                }
            }
        }
        at += span.len();
    }
    let new_len = new.len();
    if let Some(r) = runs.last_mut() {
        let rest = new_len - (r.new + r.len);
        if rest > 0 && rest <= SAME_TAIL && old_len.checked_sub(r.old + r.len) == Some(rest) {
            let a = new_src.read_vec(r.new + r.len, rest as usize, "new data")?;
            let b = decoded.read_vec(r.old + r.len, rest as usize, "decoded stream")?;
            if a == b {
                r.len += rest;
            }
        }
    }
    Ok(runs)
}

/// The original's blocks walked so far.
struct Walk {
    blocks: Blocks,
    seen: Vec<Block>,
}

impl Walk {
    /// The `i`th block, walking on to it; `None` past the last.
    fn get(&mut self, i: usize) -> Result<Option<Block>> {
        while self.seen.len() <= i {
            if self.seen.len() >= MAX_BLOCKS {
                return Err(Error::unsupported(
                    "gzip stream",
                    "splicing a stream of more than a million deflate blocks",
                ));
            }
            match self.blocks.next_block()? {
                Some(b) => self.seen.push(b),
                None => return Ok(None),
            }
        }
        Ok(Some(self.seen[i]))
    }

    /// The first block starting at or after decoded offset `out`.
    fn first_from(&mut self, out: u64) -> Result<Option<usize>> {
        let mut i = self.seen.partition_point(|b| b.out < out);
        while let Some(b) = self.get(i)? {
            if b.out >= out {
                return Ok(Some(i));
            }
            i += 1;
        }
        Ok(None)
    }
}

/// The pieces the new stream is made of.
fn pieces(runs: &[Run], walk: &mut Walk, old_len: u64, new_len: u64) -> Result<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut done = 0u64;
    for r in runs {
        let old_end = r.old + r.len;
        let to_end = old_end == old_len && r.new + r.len == new_len;
        // The first block whose window lies in the run, at an even bit (or the stream's
        // first), that does not go back over what is written.
        let want = if r.old == 0 { 0 } else { r.old + WINDOW };
        let Some(mut i) = walk.first_from(want)? else {
            continue;
        };
        let first = loop {
            let Some(b) = walk.get(i)? else { break None };
            if b.out >= old_end {
                break None;
            }
            let new_at = b.out - r.old + r.new;
            let start = b.bit == 0 && new_at == 0;
            if new_at >= done && (start || b.bit % 8 % 2 == 0) {
                break Some(b);
            }
            i += 1;
        };
        let Some(first) = first else { continue };
        let until = if to_end {
            None
        } else {
            // The last block boundary in the run (the end of a block that is not the last).
            let mut j = match walk.first_from(old_end)? {
                Some(j) => j,
                None => walk.seen.len(),
            };
            let mut b = walk.get(j)?;
            if b.is_none_or(|b| b.out > old_end) {
                let Some(before) = j.checked_sub(1) else {
                    continue;
                };
                j = before;
                b = walk.get(j)?;
            }
            match b {
                Some(b) if j > i => Some(b),
                _ => continue,
            }
        };
        let copy_end = until.map_or(old_len, |b| b.out);
        if copy_end - first.out < MIN_COPY {
            continue;
        }
        let new_at = first.out - r.old + r.new;
        if new_at > done {
            pieces.push(Piece::Fresh(done, new_at));
        }
        pieces.push(Piece::Copy(first, until));
        done = copy_end - r.old + r.new;
    }
    if done < new_len {
        pieces.push(Piece::Fresh(done, new_len));
    }
    Ok(pieces)
}

/// How far the run holding the original's decoded offset `old` moved it in the new data
/// (new minus old, as a wrapping offset).
fn first_run_shift(runs: &[Run], old: u64) -> u64 {
    runs.iter()
        .rev()
        .find(|r| r.old <= old && old <= r.old + r.len)
        .map_or(0, |r| r.new.wrapping_sub(r.old))
}

/// `from..to` of `src` compressed as raw DEFLATE at `level` (on every core), the 32 KiB
/// before `from` as the preset dictionary; ended by a sync flush, or as the stream's last
/// block when `last`.
fn deflate(src: &dyn Source, from: u64, to: u64, level: u32, last: bool) -> Result<Vec<u8>> {
    let name = src.name();
    let start = from.saturating_sub(WINDOW);
    let dict = src.read_vec(start, (from - start) as usize, "new data")?;
    let mut z = ParallelDeflate::new(Vec::new(), level, &dict);
    let mut buf = vec![0u8; CHUNK.min((to - from) as usize)];
    let mut at = from;
    while at < to {
        let n = buf.len().min((to - at) as usize);
        src.read_exact_at(at, &mut buf[..n], "new data")?;
        z.write_all(&buf[..n]).map_err(|e| Error::io(name, e))?;
        at += n as u64;
    }
    z.finish(last).map_err(|e| Error::io(name, e))
}

/// The CRC-32 of `from..to` of `src`.
fn crc_of(src: &dyn Source, from: u64, to: u64) -> Result<u32> {
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; CHUNK];
    let mut at = from;
    while at < to {
        let n = buf.len().min((to - at) as usize);
        src.read_exact_at(at, &mut buf[..n], "decoded data")?;
        h.update(&buf[..n]);
        at += n as u64;
    }
    Ok(h.finalize())
}

/// The CRC-32 register `crc` moved past `len` bytes of zeros' worth of shifting: the part of a
/// combined CRC that the head contributes (`crc(a ++ b) = shifted(crc(a), len(b)) ^ crc(b)`).
fn shifted(crc: u32, len: u64) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial_len(crc, 0);
    h.combine(&crc32fast::Hasher::new_with_initial_len(0, len));
    h.finalize()
}

/// Decodes `plan` (debug builds) and compares it with `new`: a wrong splice is a bug, caught
/// in the tests.
fn check(plan: &Plan, new: &dyn Source, image: &str) -> Result<()> {
    use std::io::Read;
    let packed = plan.clone().into_source("spliced".into());
    let bytes = packed.read_vec(0, packed.len() as usize, "spliced stream")?;
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut decoded)
        .map_err(|e| Error::io(image, e))?;
    let expected = new.read_vec(0, new.len() as usize, "new data")?;
    if decoded != expected {
        return Err(Error::corrupt(
            image,
            "spliced gzip stream",
            0,
            "decodes to other data than the new archive".to_string(),
        ));
    }
    Ok(())
}
