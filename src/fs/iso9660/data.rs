//! File data of an [`IsoFs`]: where a node's content is ([`Data`]: plain pieces, possibly
//! interleaved, over one or more extents; zisofs-compressed pieces; none) and the reads of it,
//! as bytes ([`IsoFs::read_data`]) or as spans of the source ([`IsoFs::spans_of`]).

use std::sync::{Arc, Mutex};

use super::zisofs::{Layout, Zf};
use super::{lock, IsoFs};
use crate::error::{Error, Result};
use crate::fs::{Ino, Span};

/// A run of file data: `len` bytes at byte `disk` of the source, possibly interleaved
/// (`unit` bytes of data, then `gap` bytes skipped; `unit == 0` for contiguous data).
#[derive(Clone, Copy, Debug)]
pub(super) struct Piece {
    pub(super) disk: u64,
    pub(super) len: u64,
    pub(super) unit: u64,
    pub(super) gap: u64,
}

impl Piece {
    /// The source offset of byte `at` of this piece and how many bytes follow it contiguously.
    pub(super) fn locate(&self, at: u64) -> (u64, u64) {
        if self.unit == 0 {
            return (self.disk + at, self.len - at);
        }
        let (unit, within) = (at / self.unit, at % self.unit);
        let run = (self.unit - within).min(self.len - at);
        (self.disk + unit * (self.unit + self.gap) + within, run)
    }
}

/// The pieces of a file: nearly always one (a multi-extent file has more), kept inline so a
/// listing's entries do not each hold an allocation for it.
pub(super) enum Pieces {
    One(Piece),
    Many(Vec<Piece>),
}

impl std::ops::Deref for Pieces {
    type Target = [Piece];
    fn deref(&self) -> &[Piece] {
        match self {
            Pieces::One(piece) => std::slice::from_ref(piece),
            Pieces::Many(pieces) => pieces,
        }
    }
}

/// Where a node's content is.
pub(super) enum Data {
    /// Symlinks and device nodes: no data.
    None,
    /// Plain file data.
    Plain(Pieces),
    /// zisofs-compressed data, decompressed on read; the layout is read on first use.
    Zisofs {
        pieces: Pieces,
        zf: Zf,
        layout: Mutex<Option<Arc<Layout>>>,
    },
    /// A directory (its extent is in the [`super::registry::Dirs`]).
    Dir,
    /// Data in a layout isofish does not read (Rock Ridge SF sparse files): reads fail.
    Unsupported(&'static str),
}

impl IsoFs {
    /// Reads `buf.len()` bytes (fewer at the end) of `data`, the content of `ino`, at `offset`.
    pub(super) fn read_data(
        &self,
        ino: Ino,
        data: &Data,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize> {
        match data {
            Data::Plain(pieces) => self.read_pieces(pieces, offset, buf),
            Data::Zisofs { pieces, zf, layout } => {
                self.read_zisofs(ino, pieces, zf, layout, offset, buf)
            }
            Data::Dir => Err(Error::IsADirectory(format!(
                "{}: inode {ino}",
                self.image()
            ))),
            Data::None => Ok(0),
            Data::Unsupported(what) => Err(Error::unsupported(self.image(), *what)),
        }
    }

    /// Reads file data from plain pieces (`size` bytes in all).
    fn read_pieces(&self, pieces: &[Piece], mut offset: u64, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        let mut start = 0u64;
        for p in pieces {
            if done == buf.len() {
                break;
            }
            if offset >= start + p.len {
                start += p.len;
                continue;
            }
            while done < buf.len() && offset < start + p.len {
                let (disk, run) = p.locate(offset - start);
                let n = run.min((buf.len() - done) as u64) as usize;
                let got = self.source.read_at(disk, &mut buf[done..done + n])?;
                if got < n {
                    return Err(Error::corrupt(
                        self.image(),
                        "file extent",
                        disk,
                        format!(
                            "file data passes the end of the image ({})",
                            self.source.len()
                        ),
                    ));
                }
                done += n;
                offset += n as u64;
            }
            start += p.len;
        }
        Ok(done)
    }

    fn read_zisofs(
        &self,
        ino: Ino,
        pieces: &[Piece],
        zf: &Zf,
        layout: &Mutex<Option<Arc<Layout>>>,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize> {
        let stored: u64 = pieces.iter().map(|p| p.len).sum();
        let read = |at: u64, buf: &mut [u8]| {
            if self.read_pieces(pieces, at, buf)? < buf.len() {
                return Err(Error::corrupt(
                    self.image(),
                    "zisofs data",
                    pieces.first().map_or(0, |p| p.disk),
                    format!("reads past the file's {stored} stored bytes"),
                ));
            }
            Ok(())
        };
        let layout = {
            let mut slot = lock(layout);
            match &*slot {
                Some(l) => l.clone(),
                None => {
                    let disk = pieces.first().map_or(0, |p| p.disk);
                    let l = Arc::new(Layout::decode(self.image(), disk, zf, stored, &read)?);
                    *slot = Some(l.clone());
                    l
                }
            }
        };
        let mut cache = lock(&self.zisofs);
        layout.read_at(self.image(), ino, &mut cache, offset, buf, &read)
    }

    /// The spans of plain pieces, checked to lie inside the source.
    pub(super) fn spans_of(&self, pieces: &[Piece]) -> Result<Vec<Span>> {
        let mut out = Vec::new();
        for p in pieces {
            let mut at = 0;
            while at < p.len {
                let (disk, run) = p.locate(at);
                if disk + run > self.source.len() {
                    return Err(Error::corrupt(
                        self.image(),
                        "file extent",
                        disk,
                        format!(
                            "{run} bytes pass the end of the image ({})",
                            self.source.len()
                        ),
                    ));
                }
                out.push(Span::source(&self.source, disk, run));
                at += run;
            }
        }
        Ok(out)
    }
}
