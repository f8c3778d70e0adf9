//! [`Span`]: one piece of a file's data, and the checks that a list of them describes a file.

use std::sync::Arc;

use crate::error::Result;
use crate::source::{HostFd, Source};

/// One piece of a file's data, in file order.
#[derive(Clone)]
pub enum Span {
    /// `len` bytes of `source` from `offset`.
    Source {
        source: Arc<dyn Source>,
        offset: u64,
        len: u64,
    },
    /// Bytes held in memory (an edited file, a rebuilt structure).
    Bytes(Arc<[u8]>),
    /// A hole: this many zero bytes.
    Zeros(u64),
}

impl std::fmt::Debug for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Span::Source {
                source,
                offset,
                len,
            } => write!(f, "Source({}, {offset}, {len})", source.name()),
            Span::Bytes(b) => write!(f, "Bytes({})", b.len()),
            Span::Zeros(n) => write!(f, "Zeros({n})"),
        }
    }
}

impl Span {
    /// A range of `source`.
    pub fn source(source: &Arc<dyn Source>, offset: u64, len: u64) -> Span {
        Span::Source {
            source: source.clone(),
            offset,
            len,
        }
    }

    /// The number of bytes the span gives.
    pub fn len(&self) -> u64 {
        match self {
            Span::Source { len, .. } | Span::Zeros(len) => *len,
            Span::Bytes(b) => b.len() as u64,
        }
    }

    /// True when the span gives no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads up to `buf.len()` bytes from `within` bytes into the span; fewer only at its end
    /// (or where its source ends).
    pub fn read_at(&self, within: u64, buf: &mut [u8]) -> Result<usize> {
        let len = self.len();
        if within >= len {
            return Ok(0);
        }
        let want = buf.len().min((len - within) as usize);
        let out = &mut buf[..want];
        match self {
            Span::Source { source, offset, .. } => source.read_at(offset + within, out),
            Span::Bytes(b) => {
                out.copy_from_slice(&b[within as usize..within as usize + want]);
                Ok(want)
            }
            Span::Zeros(_) => {
                out.fill(0);
                Ok(want)
            }
        }
    }

    /// Where a range of a source starts in it; `None` for bytes in memory and zeros.
    pub fn source_offset(&self) -> Option<u64> {
        match self {
            Span::Source { offset, .. } => Some(*offset),
            _ => None,
        }
    }

    /// When the span is a plain range of a host file: the file and the offset of the span's
    /// first byte in it.
    pub fn host_file(&self) -> Option<(HostFd<'_>, u64)> {
        match self {
            Span::Source { source, offset, .. } => {
                source.host_file().map(|(file, base)| (file, base + offset))
            }
            _ => None,
        }
    }

    /// True when the span is a plain range of a host file, found out without opening it.
    pub fn in_host_file(&self) -> bool {
        match self {
            Span::Source { source, .. } => source.in_host_file(),
            _ => false,
        }
    }
}

/// `spans` without empty pieces, when they give exactly `size` bytes; `None` when they give
/// more or fewer (a layout that does not match the file's size is not trusted).
pub fn covering(spans: Vec<Span>, size: u64) -> Option<Vec<Span>> {
    let mut total = 0u64;
    let spans: Vec<Span> = spans.into_iter().filter(|s| !s.is_empty()).collect();
    for s in &spans {
        total = total.checked_add(s.len())?;
    }
    (total == size).then_some(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{MemSource, RangeSource};

    #[test]
    fn each_kind_reads_its_bytes() {
        let src: Arc<dyn Source> = Arc::new(MemSource::new((0..100).collect(), "mem"));
        let mut buf = [9u8; 8];
        let s = Span::source(&src, 10, 5);
        assert_eq!(s.read_at(2, &mut buf).unwrap(), 3);
        assert_eq!(buf[..3], [12, 13, 14]);
        assert_eq!(s.read_at(5, &mut buf).unwrap(), 0);
        let b = Span::Bytes(Arc::from(&b"abc"[..]));
        assert_eq!(b.read_at(1, &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"bc");
        assert_eq!(Span::Zeros(4).read_at(0, &mut buf).unwrap(), 4);
        assert_eq!(buf[..4], [0; 4]);
        let ranged: Arc<dyn Source> = Arc::new(RangeSource::new(src, 50, 10, "r".into()));
        assert_eq!(Span::source(&ranged, 1, 2).host_file().map(|h| h.1), None);
    }

    #[test]
    fn covering_checks_the_size() {
        let spans = || vec![Span::Zeros(3), Span::Zeros(0), Span::Zeros(4)];
        assert_eq!(covering(spans(), 7).map(|s| s.len()), Some(2));
        assert!(covering(spans(), 8).is_none());
        assert!(covering(spans(), 6).is_none());
    }
}
