//! The [`Plan`]: a new image as an ordered list of [`Span`]s (bytes in memory for the
//! structures a writer encodes, ranges of sources for data kept from an image or taken from a
//! host file, zeros), with its length known before the first byte is written. The writers
//! (`fs::iso9660::write`, later UDF and the nested formats) build one; the sinks below take
//! it somewhere: a new host file ([`to_file`]), a file replaced atomically ([`atomic`], its
//! space reserved while the plan is made where that pays: [`reserve`]; the data a writer has
//! placed copied into it while the rest is planned: [`ahead`]), or a stream
//! ([`to_stream`]); or, for a commit whose changes fit the opened image, a [`Patch`] of it
//! applied in place ([`in_place`], crash-safe through an undo [`journal`]). Nothing
//! here knows a format.

pub mod ahead;
pub mod atomic;
pub mod in_place;
pub mod journal;
pub mod reserve;
pub mod to_file;
pub mod to_stream;

use std::sync::Arc;

use crate::data::{Layout, Span};
use crate::source::Source;
pub use in_place::Patch;

/// The new image, span after span.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    spans: Vec<Span>,
    len: u64,
    /// What the writer left out or changed on its own, for the user.
    warnings: Vec<String>,
}

impl Plan {
    /// An empty plan.
    pub fn new() -> Plan {
        Plan::default()
    }

    /// Appends `span` (an empty one is dropped); returns the offset it starts at. A range of
    /// a source that continues the last one (the next bytes of the same source) extends it,
    /// so data kept in its order moves in long runs: few copies, a short list.
    pub fn push(&mut self, span: Span) -> u64 {
        let at = self.len;
        if span.is_empty() {
            return at;
        }
        self.len += span.len();
        if let (
            Some(Span::Source {
                source: last,
                offset: last_offset,
                len: last_len,
            }),
            Span::Source {
                source,
                offset,
                len,
            },
        ) = (self.spans.last_mut(), &span)
        {
            if std::ptr::addr_eq(Arc::as_ptr(last), Arc::as_ptr(source))
                && last_offset.checked_add(*last_len) == Some(*offset)
            {
                *last_len += len;
                return at;
            }
        }
        self.spans.push(span);
        at
    }

    /// Appends bytes held in memory; returns the offset they start at.
    pub fn push_bytes(&mut self, bytes: Vec<u8>) -> u64 {
        self.push(Span::Bytes(Arc::from(bytes)))
    }

    /// Appends zeros up to the next multiple of `unit` (a sector).
    pub fn pad_to(&mut self, unit: u64) {
        let rem = self.len % unit;
        if rem != 0 {
            self.push(Span::Zeros(unit - rem));
        }
    }

    /// Pads to the next multiple of `unit` like [`Plan::pad_to`], but with the bytes that
    /// follow the last span in its source when they end there on a multiple of `unit` too: the
    /// padding of a block-aligned extent, copied with it, so that extents kept in their order
    /// join into one range.
    pub fn pad_continuing(&mut self, unit: u64) {
        let pad = (unit - self.len % unit) % unit;
        if pad == 0 {
            return;
        }
        if let Some(Span::Source {
            source,
            offset,
            len,
        }) = self.spans.last()
        {
            let end = offset + len;
            if (end + pad).is_multiple_of(unit) && end + pad <= source.len() {
                let source = source.clone();
                self.push(Span::source(&source, end, pad));
                return;
            }
        }
        self.push(Span::Zeros(pad));
    }

    /// Writes `bytes` over the plan from `offset` (see [`Plan::overwrite`]). For a structure
    /// computed once the rest of the image is laid out (a checksum over it).
    pub fn patch(&mut self, offset: u64, bytes: &[u8]) {
        self.overwrite(offset, Span::Bytes(Arc::from(bytes)));
    }

    /// Writes `span` over the plan from `offset`: the spans it covers are cut where it starts
    /// and ends, and it takes the place of what lay between. Panics when it would pass the
    /// plan's end: the caller lays the image out first.
    pub fn overwrite(&mut self, offset: u64, span: Span) {
        let end = offset
            .checked_add(span.len())
            .filter(|&end| end <= self.len)
            .expect("a patch lies inside the plan");
        if span.is_empty() {
            return;
        }
        let mut spans = Vec::with_capacity(self.spans.len() + 2);
        let mut at = 0u64;
        let mut over = Some(span);
        for span in std::mem::take(&mut self.spans) {
            let (start, stop) = (at, at + span.len());
            at = stop;
            if stop <= offset || start >= end {
                spans.push(span);
                continue;
            }
            if start < offset {
                spans.push(slice(&span, 0, offset - start));
            }
            if start <= offset {
                spans.extend(over.take());
            }
            if stop > end {
                spans.push(slice(&span, end - start, stop - end));
            }
        }
        self.spans = spans;
    }

    /// Notes something the writer left out or changed on its own.
    pub fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    /// What the writer left out or changed on its own.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The length of the image so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The spans, in image order.
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// The plan as a layout, to be read at any offset (a source of the new image).
    pub fn into_layout(self) -> Layout {
        Layout::covering(self.spans, self.len).expect("a plan's spans add up to its length")
    }

    /// The new image as a [`Source`] named `name`: what the readers (`boot-info`, a mount)
    /// see of it before it is written.
    pub fn into_source(self, name: String) -> Arc<dyn Source> {
        let len = self.len;
        Arc::new(Planned {
            layout: self.into_layout(),
            len,
            name,
        })
    }
}

/// A plan read as a source.
struct Planned {
    layout: Layout,
    len: u64,
    name: String,
}

impl Source for Planned {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> crate::error::Result<usize> {
        self.layout.read_at(offset, buf)
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// `len` bytes of `span` from `within` bytes into it.
fn slice(span: &Span, within: u64, len: u64) -> Span {
    match span {
        Span::Source { source, offset, .. } => Span::source(source, offset + within, len),
        Span::Bytes(b) => Span::Bytes(Arc::from(&b[within as usize..(within + len) as usize])),
        Span::Zeros(_) => Span::Zeros(len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_add_up_and_padding_reaches_the_unit() {
        let mut p = Plan::new();
        assert_eq!(p.push_bytes(b"abc".to_vec()), 0);
        assert_eq!(p.push(Span::Zeros(0)), 3);
        p.pad_to(8);
        assert_eq!(p.len(), 8);
        p.pad_to(8);
        assert_eq!(p.spans().len(), 2);
        let mut buf = [9u8; 8];
        p.into_layout().read_at(0, &mut buf).unwrap();
        assert_eq!(&buf, b"abc\0\0\0\0\0");
    }

    #[test]
    fn ranges_that_continue_each_other_join_and_take_their_padding_along() {
        let src: Arc<dyn crate::source::Source> =
            Arc::new(crate::source::MemSource::new((0..32).collect(), "mem"));
        let other: Arc<dyn crate::source::Source> =
            Arc::new(crate::source::MemSource::new(vec![7; 32], "other"));
        let mut p = Plan::new();
        p.push(Span::source(&src, 0, 5));
        p.pad_continuing(8);
        p.push(Span::source(&src, 8, 8));
        p.push(Span::source(&src, 16, 3));
        p.pad_continuing(8);
        assert_eq!(p.spans().len(), 1, "{:?}", p.spans());
        // Not continuing: another source, a gap, padding that does not end on the unit there.
        p.push(Span::source(&other, 24, 5));
        p.push(Span::source(&src, 30, 1));
        p.pad_continuing(8);
        assert_eq!(p.len(), 32);
        assert_eq!(p.spans().len(), 4, "{:?}", p.spans());
        let mut buf = vec![0u8; 32];
        p.into_layout().read_at(0, &mut buf).unwrap();
        let mut want: Vec<u8> = (0..24).collect();
        want.extend([7, 7, 7, 7, 7, 30, 0, 0]);
        assert_eq!(buf, want);
    }

    #[test]
    fn a_patch_cuts_the_spans_it_covers() {
        let src: Arc<dyn crate::source::Source> =
            Arc::new(crate::source::MemSource::new((0..16).collect(), "mem"));
        let mut p = Plan::new();
        p.push_bytes(b"abcd".to_vec());
        p.push(Span::Zeros(4));
        p.push(Span::source(&src, 0, 16));
        let before = p.len();
        // Across three spans, inside one, at the very start and at the very end.
        p.patch(2, b"XYZWVUT");
        p.patch(12, b"mn");
        p.patch(0, b"<");
        p.patch(before - 1, b">");
        assert_eq!(p.len(), before);
        let mut buf = vec![0u8; before as usize];
        p.clone().into_layout().read_at(0, &mut buf).unwrap();
        let mut want = b"<bXYZWVUT".to_vec();
        want.extend([1, 2, 3]);
        want.extend(b"mn");
        want.extend(6..15);
        want.push(b'>');
        assert_eq!(buf, want);
        p.patch(5, b"");
        assert_eq!(p.len(), before);
    }
}
