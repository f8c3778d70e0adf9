//! What the writer may take from a record of the original image that the generic
//! [`Metadata`](crate::fs::Metadata) does not carry ([`Recorded`]): the identifier as recorded,
//! the flags (hidden, associated), the recording date, every SUSP entry of its system use area
//! (continuation areas followed) as encoded bytes, and a zisofs file's stored bytes. Also the
//! volume descriptors and the root's ER entries, which a rewrite keeps.

use super::data::Data;
use super::record::Record;
use super::volume::Descriptor;
use super::{lock, susp, IsoFs, SECTOR};
use crate::error::{Error, Result};
use crate::fs::{Ino, Span};

/// One record of the original, owned.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The file identifier as recorded (`FOO.TXT;1`, UCS-2 in a Joliet tree).
    pub name: Vec<u8>,
    pub flags: u8,
    /// The 7-byte recording date.
    pub date: [u8; 7],
    /// The SUSP entries (Rock Ridge, ZF, AAIP...) as encoded, in order; SP, CE, ST, PD and ES
    /// left out.
    pub entries: Vec<Vec<u8>>,
    /// For a zisofs file: its data as stored (compressed), as spans of the image.
    pub zisofs_stored: Option<Vec<Span>>,
}

impl Recorded {
    /// The encoded entries whose signature is `sig`.
    pub fn entries_of<'a>(&'a self, sig: &'a [u8; 2]) -> impl Iterator<Item = &'a Vec<u8>> + 'a {
        self.entries.iter().filter(move |e| e.starts_with(sig))
    }
}

impl IsoFs {
    /// The bytes of the (first) directory record at `ino`. A record never crosses a sector
    /// (ECMA-119 6.8.1.1): its sector is read whole and kept, as the records of a directory
    /// are asked for one after the other.
    pub(super) fn record_bytes(&self, ino: Ino) -> Result<Vec<u8>> {
        let start = ino - ino % SECTOR;
        let within = (ino - start) as usize;
        let mut last = lock(&self.last_sector);
        if last.as_ref().is_none_or(|(at, _)| *at != start) {
            let want = (SECTOR.min(self.source.len().saturating_sub(start))) as usize;
            *last = Some((
                start,
                self.source.read_vec(start, want, "directory record")?,
            ));
        }
        let sector = &last.as_ref().expect("filled above").1;
        let len = usize::from(sector.get(within).copied().unwrap_or(0));
        sector
            .get(within..within + len)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| {
                Error::corrupt(
                    self.image(),
                    "directory record",
                    ino,
                    "it runs past its sector",
                )
            })
    }

    /// The SUSP skip length of the record at `ino`.
    pub(super) fn skip_of(&self, ino: Ino) -> usize {
        if ino == self.root {
            0
        } else {
            self.susp_skip
        }
    }

    /// The record of `ino` as recorded (see [`Recorded`]).
    pub fn original_record(&self, ino: Ino) -> Result<Recorded> {
        let image = self.image();
        let buf = self.record_bytes(ino)?;
        let rec = Record::decode(&buf, ino, image)?;
        let mut entries = Vec::new();
        if self.rock_ridge.is_some() {
            susp::for_each(
                self.source.as_ref(),
                rec.system_use,
                rec.system_use_offset,
                self.skip_of(ino),
                &mut |e| {
                    entries.push(e.encode()?);
                    Ok(())
                },
            )?;
        }
        // Only a record with a ZF entry can be zisofs: the node is looked up for those alone.
        let zisofs_stored = match entries.iter().any(|e| e.starts_with(b"ZF")) {
            true => match &self.node(ino)?.data {
                Data::Zisofs { pieces, .. } => Some(self.spans_of(pieces)?),
                _ => None,
            },
            false => None,
        };
        Ok(Recorded {
            name: rec.name.to_vec(),
            flags: rec.flags,
            date: rec.date,
            entries,
            zisofs_stored,
        })
    }

    /// The volume descriptors, as read from sector 16 to the terminator.
    pub fn descriptors(&self) -> &[Descriptor] {
        &self.descriptors
    }

    /// True when the primary tree carries SUSP (Rock Ridge), shown or not.
    pub fn has_rock_ridge(&self) -> bool {
        self.rock_ridge.is_some()
    }

    /// `f`'s answer about the Joliet tree, asked once and kept.
    pub(crate) fn joliet_long(
        &self,
        f: impl FnOnce() -> Result<Option<bool>>,
    ) -> Result<Option<bool>> {
        once(&self.joliet_long, f)
    }

    /// `f`'s answer about the style of the ISO 9660 identifiers, asked once and kept.
    pub(crate) fn iso_style(
        &self,
        f: impl FnOnce() -> Result<(bool, bool)>,
    ) -> Result<(bool, bool)> {
        once(&self.iso_style, f)
    }

    /// True when the tree shown is the Joliet one.
    pub fn shows_joliet(&self) -> bool {
        self.view == super::view::View::Joliet
    }
}

/// The value of `cell`, computed by `f` the first time (a failure is not kept).
fn once<T: Copy>(cell: &std::sync::OnceLock<T>, f: impl FnOnce() -> Result<T>) -> Result<T> {
    if let Some(known) = cell.get() {
        return Ok(*known);
    }
    let found = f()?;
    Ok(*cell.get_or_init(|| found))
}
