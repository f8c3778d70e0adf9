//! [`Layout`]: a file's spans laid end to end from its first byte, covering exactly its size,
//! and random reads through them. Nested file sources read a file this way; the movers walk
//! the spans of a range of the file.

use super::span::{self, Span};
use crate::error::{Error, Result};
use crate::source::HostFd;

/// One span and where it starts in the file.
#[derive(Clone, Debug)]
struct Piece {
    start: u64,
    span: Span,
}

/// A file's data as spans in file order, covering it exactly.
#[derive(Clone, Debug)]
pub struct Layout {
    pieces: Vec<Piece>,
    len: u64,
}

/// The part of one span that a range of the file covers: the span, where the part starts in
/// it, and its length.
pub struct Slice<'a> {
    pub span: &'a Span,
    pub within: u64,
    pub len: u64,
}

impl Layout {
    /// `spans` laid end to end, when they give exactly `size` bytes; `None` when they give more
    /// or fewer (a layout that does not match the file's size is not trusted).
    pub fn covering(spans: Vec<Span>, size: u64) -> Option<Layout> {
        let mut start = 0u64;
        let pieces = span::covering(spans, size)?
            .into_iter()
            .map(|span| {
                let piece = Piece { start, span };
                start += piece.span.len();
                piece
            })
            .collect();
        Some(Layout { pieces, len: size })
    }

    /// Like [`Layout::covering`], after checking that every range of a source lies inside it:
    /// a span that runs past its source's end is a corrupt-structure error naming the source
    /// (`file extent` at the span's offset), whatever the spans add up to.
    pub fn checked(spans: Vec<Span>, size: u64) -> Result<Option<Layout>> {
        for s in &spans {
            if let Span::Source {
                source,
                offset,
                len,
            } = s
            {
                if offset
                    .checked_add(*len)
                    .is_none_or(|end| end > source.len())
                {
                    return Err(Error::corrupt(
                        source.name(),
                        "file extent",
                        *offset,
                        format!(
                            "{len} bytes run past the end of the image ({})",
                            source.len()
                        ),
                    ));
                }
            }
        }
        Ok(Layout::covering(spans, size))
    }

    /// The number of bytes the layout gives (the file's size).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The spans in file order.
    pub fn spans(&self) -> impl Iterator<Item = &Span> + Clone {
        self.pieces.iter().map(|p| &p.span)
    }

    /// The parts of spans that bytes `from..to` of the file are made of, in file order (cut to
    /// the end of the file).
    pub fn slices(&self, from: u64, to: u64) -> impl Iterator<Item = Slice<'_>> {
        let to = to.min(self.len);
        let first = if from < to {
            self.pieces
                .partition_point(|p| p.start + p.span.len() <= from)
        } else {
            self.pieces.len()
        };
        self.pieces[first..]
            .iter()
            .take_while(move |p| p.start < to)
            .map(move |p| {
                let within = from.saturating_sub(p.start);
                let end = (to - p.start).min(p.span.len());
                Slice {
                    span: &p.span,
                    within,
                    len: end - within,
                }
            })
    }

    /// Reads up to `buf.len()` bytes at `offset` in the file; fewer only at its end (or where
    /// a source ends early).
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        for slice in self.slices(offset, offset.saturating_add(buf.len() as u64)) {
            let part = &mut buf[done..done + slice.len as usize];
            let mut got = 0;
            while got < part.len() {
                match slice
                    .span
                    .read_at(slice.within + got as u64, &mut part[got..])?
                {
                    0 => break,
                    n => got += n,
                }
            }
            done += got;
            if got < part.len() {
                break;
            }
        }
        Ok(done)
    }

    /// When the whole file is one plain range of a host file: the file and the offset of the
    /// file's first byte in it.
    pub fn host_file(&self) -> Option<(HostFd<'_>, u64)> {
        match self.pieces.as_slice() {
            [piece] => piece.span.host_file(),
            _ => None,
        }
    }

    /// True when [`Layout::host_file`] would give a file, found out without opening one.
    pub fn in_host_file(&self) -> bool {
        matches!(self.pieces.as_slice(), [piece] if piece.span.in_host_file())
    }
}

/// Fills `buf` from `within` bytes into `span`; fails with a corrupt-structure error naming the
/// span's source (`file extent` at the offset reached) when the source ends first.
pub fn read_exact(span: &Span, within: u64, buf: &mut [u8]) -> Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let at = within + done as u64;
        match span.read_at(at, &mut buf[done..])? {
            0 => return Err(ended(span, at)),
            n => done += n,
        }
    }
    Ok(())
}

/// The error for `span` ending `within` bytes into it, before its length: its source is
/// shorter than when the span was checked (only ranges of a source can end early).
pub fn ended(span: &Span, within: u64) -> Error {
    let (name, at) = match span {
        Span::Source { source, offset, .. } => (source.name(), offset + within),
        Span::Bytes(_) | Span::Zeros(_) => ("(memory)", within),
    };
    Error::corrupt(
        name,
        "file extent",
        at,
        "the image ends inside the file's data",
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::source::{MemSource, Source};

    fn mem() -> Arc<dyn Source> {
        Arc::new(MemSource::new((0..100).collect(), "mem"))
    }

    #[test]
    fn reads_across_spans() {
        let src = mem();
        let spans = vec![
            Span::source(&src, 10, 5),
            Span::Zeros(3),
            Span::Bytes(Arc::from(&b"xy"[..])),
            Span::source(&src, 90, 10),
        ];
        let layout = Layout::covering(spans, 20).unwrap();
        let mut buf = [0xaau8; 30];
        assert_eq!(layout.read_at(0, &mut buf).unwrap(), 20);
        let mut want = vec![10, 11, 12, 13, 14, 0, 0, 0, b'x', b'y'];
        want.extend(90..100);
        assert_eq!(&buf[..20], &want[..]);
        let mut mid = [0u8; 6];
        assert_eq!(layout.read_at(4, &mut mid).unwrap(), 6);
        assert_eq!(&mid[..], &want[4..10]);
        assert_eq!(layout.read_at(20, &mut mid).unwrap(), 0);
    }

    #[test]
    fn slices_cut_the_spans_at_the_range() {
        let layout = Layout::covering(vec![Span::Zeros(4), Span::Zeros(6)], 10).unwrap();
        let cut: Vec<(u64, u64)> = layout.slices(2, 7).map(|s| (s.within, s.len)).collect();
        assert_eq!(cut, [(2, 2), (0, 3)]);
        let tail: Vec<(u64, u64)> = layout.slices(4, 99).map(|s| (s.within, s.len)).collect();
        assert_eq!(tail, [(0, 6)]);
        assert_eq!(layout.slices(10, 20).count(), 0);
    }

    #[test]
    fn a_span_past_its_source_is_corrupt() {
        let src = mem();
        let err = Layout::checked(vec![Span::source(&src, 95, 10)], 10).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("mem: corrupt file extent at offset 95"),
            "{msg}"
        );
        assert!(msg.contains("end of the image (100)"), "{msg}");
        let short = Layout::checked(vec![Span::source(&src, 0, 10)], 11).unwrap();
        assert!(short.is_none(), "spans short of the size are not a layout");
    }
}
