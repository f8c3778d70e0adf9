//! The system use area of each record written with Rock Ridge: which entries (PX, TF, NM,
//! SL, PN, CL/PL/RE, ZF, AL, and on the root's `.` SP and ER), and how they are split
//! between the record and continuation areas ([`Su::split`]).
//!
//! Choices where the standards leave room:
//! - PX has the serial number (44 bytes) when the original announces RRIP 1.12
//!   (`IEEE_P1282`, `IEEE_1282`) or records one anyway (xorriso under `RRIP_1991A`), not for
//!   RRIP 1.10 as genisoimage writes it (36 bytes); the root's ER entries are the original's,
//!   copied as recorded (AAIP's included). Serial numbers are given in tree order, one per
//!   hard link group.
//! - For an object of the original, what is unchanged is copied as recorded: TF when the
//!   three times are, PN when the device numbers are, SL when the target is, ZF when the data
//!   is the stored zisofs data, the AAIP AL entries when the attributes are (the tree's
//!   attributes are encoded otherwise, with AAIP's ER added to the root when the original had
//!   none). Otherwise TF
//!   carries modification, access and change times in the 7-byte form, PN the device as one
//!   Linux `dev_t` in the low word (as xorriso writes it), SL the components of the target.
//! - Entries stay in the record while they fit (leaving room for a CE entry); the rest go to
//!   continuation areas of at most one block each, chained by CE entries.

use super::super::rockridge::{self, Component, Link, Nm, Pn, Px, Sl, Stamp, Tf};
use super::super::susp::{Ce, Er, Sp};
use super::super::{record, IsoFs};
use super::tree::{Obj, Tree};
use crate::error::Result;
use crate::fs::{FileKind, FileSystem};
use crate::ondisk::iso_date;

/// A CE entry's length.
pub(super) const CE_LEN: usize = 28;
/// A continuation area's largest size: it may not leave its block.
const AREA_MAX: usize = 2048;
/// The largest directory record.
const RECORD_MAX: usize = 255;

/// The entries of one record's system use area, encoded one after another into one buffer
/// (one `Su` serves record after record: [`su_of`](super::dirs::su_of) clears it first). A
/// CL or PL entry links to a directory whose block is known only after the layout: it is put
/// in when the area is encoded ([`Su::encode`]).
#[derive(Clone, Debug, Default)]
pub(super) struct Su {
    bytes: Vec<u8>,
    /// Where each entry ends in `bytes`.
    ends: Vec<usize>,
    /// The CL and PL entries: where each starts in `bytes`, its signature, the directory.
    links: Vec<(usize, [u8; 2], usize)>,
}

/// How an area is split: `head` entries in the record (then a CE entry when `areas` is not
/// empty); each continuation area's entries (a range) and its length, CE included.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Split {
    pub(super) head: usize,
    pub(super) head_len: usize,
    pub(super) areas: Vec<(std::ops::Range<usize>, usize)>,
}

impl Su {
    /// Empties the area, keeping its buffers.
    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.links.clear();
    }

    /// Appends the entry that `put` appends to the area's bytes.
    fn push(&mut self, put: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<()> {
        put(&mut self.bytes)?;
        self.ends.push(self.bytes.len());
        Ok(())
    }

    /// Appends an entry encoded already.
    fn push_encoded(&mut self, entry: &[u8]) {
        self.bytes.extend_from_slice(entry);
        self.ends.push(self.bytes.len());
    }

    /// Appends a CL or PL entry (`signature`) linking to directory `dir`.
    fn push_link(&mut self, signature: [u8; 2], dir: usize) {
        self.links.push((self.bytes.len(), signature, dir));
        self.push_encoded(
            &Link {
                signature,
                block: 0,
            }
            .encode(),
        );
    }

    /// Where entry `i` starts in `bytes` (the area's length for `i` past the last).
    fn start(&self, i: usize) -> usize {
        match i {
            0 => 0,
            _ => self.ends[i - 1],
        }
    }

    /// Splits the entries for a record whose identifier is `name_len` bytes.
    pub(super) fn split(&self, name_len: usize) -> Split {
        let room = (RECORD_MAX - record::system_use_start(name_len)) & !1;
        if self.bytes.len() <= room {
            return Split {
                head: self.ends.len(),
                head_len: self.bytes.len(),
                areas: Vec::new(),
            };
        }
        let lens: Vec<usize> = (0..self.ends.len())
            .map(|i| self.ends[i] - self.start(i))
            .collect();
        let mut head = 0;
        let mut head_len = 0;
        while head < lens.len() && head_len + lens[head] + CE_LEN <= room {
            head_len += lens[head];
            head += 1;
        }
        let mut areas = Vec::new();
        let mut start = head;
        while start < lens.len() {
            let mut end = start;
            let mut len = 0;
            loop {
                let rest: usize = lens[end..].iter().sum();
                if len + rest <= AREA_MAX {
                    len += rest;
                    end = lens.len();
                    break;
                }
                if len + lens[end] + CE_LEN > AREA_MAX {
                    len += CE_LEN;
                    break;
                }
                len += lens[end];
                end += 1;
            }
            areas.push((start..end, len));
            start = end;
        }
        Split {
            head,
            head_len: head_len + CE_LEN,
            areas,
        }
    }

    /// The bytes of the record's area, into `head` (emptied first), and of each continuation
    /// area, given where the continuation areas are (block, offset); `block_of` gives a
    /// directory's block (for CL and PL).
    pub(super) fn encode(
        &mut self,
        split: &Split,
        places: &[(u32, u32)],
        block_of: &dyn Fn(usize) -> u32,
        head: &mut Vec<u8>,
    ) -> Vec<Vec<u8>> {
        for &(at, signature, dir) in &self.links {
            let link = Link {
                signature,
                block: block_of(dir),
            }
            .encode();
            self.bytes[at..at + link.len()].copy_from_slice(&link);
        }
        let ce = |i: usize, out: &mut Vec<u8>| {
            let (block, offset) = places[i];
            let ce = Ce {
                block,
                offset,
                len: split.areas[i].1 as u32,
            };
            out.extend_from_slice(&ce.encode());
        };
        head.clear();
        head.extend_from_slice(&self.bytes[..self.start(split.head)]);
        if !split.areas.is_empty() {
            ce(0, head);
        }
        if head.len() % 2 == 1 {
            head.push(0);
        }
        let mut areas = Vec::new();
        for (i, (range, _)) in split.areas.iter().enumerate() {
            let mut a = self.bytes[self.start(range.start)..self.start(range.end)].to_vec();
            if i + 1 < split.areas.len() {
                ce(i + 1, &mut a);
            }
            areas.push(a);
        }
        areas
    }
}

/// What the original's Rock Ridge is.
#[derive(Clone, Debug)]
pub(super) struct Rrip {
    /// RRIP 1.12: PX with serial numbers.
    pub(super) serials: bool,
    /// The root's ER entries, encoded.
    pub(super) er: Vec<Vec<u8>>,
    /// `.` and `..` carry NM entries flagged as such (xorriso writes them).
    pub(super) dot_names: bool,
}

impl Rrip {
    /// The Rock Ridge of `original`, if its primary tree has it.
    pub(super) fn of(original: &IsoFs) -> Result<Option<Rrip>> {
        if !original.has_rock_ridge() {
            return Ok(None);
        }
        let root = original.original_record(original.root())?;
        let er: Vec<Vec<u8>> = root.entries_of(b"ER").cloned().collect();
        // RRIP 1.12 announces serial numbers; xorriso records them under RRIP 1.10's ER too.
        let serials = er.iter().any(|e| {
            let ids: [&[u8]; 2] = [b"IEEE_P1282", b"IEEE_1282"];
            ids.iter().any(|id| e.windows(id.len()).any(|w| w == *id))
        }) || root.entries_of(b"PX").any(|px| px.get(2) == Some(&44));
        let dot_names = root.entries_of(b"NM").next().is_some();
        Ok(Some(Rrip {
            serials,
            dot_names,
            er,
        }))
    }

    /// PX and TF of `obj` (what `.` and `..` carry too).
    fn attributes(&self, t: &Tree, obj: usize, su: &mut Su) -> Result<()> {
        let o = &t.objs[obj];
        let px = Px {
            mode: o.meta.st_mode(),
            nlink: o.nlink,
            uid: o.meta.uid,
            gid: o.meta.gid,
            serial: self.serials.then_some(o.serial),
        };
        su.push(|out| {
            px.encode_into(out);
            Ok(())
        })?;
        match recorded_entry(o, b"TF").filter(|_| o.same.times) {
            Some(tf) => su.push_encoded(tf),
            None => {
                let short = |t| Some(Stamp::Short(iso_date::encode_short(t)));
                let tf = Tf {
                    flags: 0x0e,
                    times: [
                        None,
                        short(o.meta.mtime),
                        short(o.meta.atime),
                        short(o.meta.ctime),
                        None,
                        None,
                        None,
                    ],
                };
                su.push(|out| tf.encode_into(out))?;
            }
        }
        Ok(())
    }

    /// The entries of the record of `obj` in its directory, into `su` (`stub`: the CL record
    /// standing for a relocated directory; `moved`: the directory's record in `rr_moved`).
    pub(super) fn entry(&self, t: &Tree, obj: usize, stub: bool, su: &mut Su) -> Result<()> {
        let o = &t.objs[obj];
        self.attributes(t, obj, su)?;
        // As much of the name as the record holds is in it (7-Zip reads no continuation area).
        let id_len = if o.relocated && !stub {
            o.moved_name.len()
        } else {
            o.iso_name.len()
        };
        let room = ((RECORD_MAX - record::system_use_start(id_len)) & !1)
            .saturating_sub(su.bytes.len() + CE_LEN + 5);
        nm(&o.name, room, su)?;
        if stub {
            // The stub is a file as far as ISO 9660 goes; its PX says directory.
            su.push_link(*b"CL", obj);
            return Ok(());
        }
        if o.relocated {
            su.push_encoded(&rockridge::encode_re());
        }
        match o.meta.kind {
            FileKind::Symlink => {
                let kept = o.recorded.as_ref().filter(|_| o.same.target);
                let mut kept = kept
                    .into_iter()
                    .flat_map(|r| r.entries_of(b"SL"))
                    .peekable();
                if kept.peek().is_none() {
                    sl(o.meta.symlink.as_deref().unwrap_or_default(), su)?;
                }
                kept.for_each(|e| su.push_encoded(e));
            }
            FileKind::CharDevice | FileKind::BlockDevice => {
                match recorded_entry(o, b"PN").filter(|_| o.same.target) {
                    Some(pn) => su.push_encoded(pn),
                    None => {
                        let (major, minor) = o.meta.rdev.unwrap_or((0, 0));
                        let low = (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12);
                        su.push_encoded(&Pn { high: 0, low }.encode());
                    }
                }
            }
            _ => {}
        }
        if o.zisofs_kept {
            for sig in [b"ZF", b"Z2"] {
                if let Some(e) = recorded_entry(o, sig) {
                    su.push_encoded(e);
                }
            }
        }
        o.al.iter().for_each(|e| su.push_encoded(e));
        Ok(())
    }

    /// The entries of a directory's `.` (`dot`) or `..` record, into `su`; `dir` is the
    /// directory, `of` the one whose attributes the record carries.
    pub(super) fn dot(&self, t: &Tree, dir: usize, dot: bool, su: &mut Su) -> Result<()> {
        let root = dir == 0;
        if root && dot {
            su.push_encoded(&Sp { skip: 0 }.encode());
        }
        let of = if dot { dir } else { t.objs[dir].parent };
        self.attributes(t, of, su)?;
        if self.dot_names {
            let flags = if dot { 0x02 } else { 0x04 };
            su.push(|out| Nm { flags, name: b"" }.encode_into(out))?;
        }
        if !dot && t.objs[dir].relocated {
            su.push_link(*b"PL", t.objs[dir].parent);
        }
        if root && dot {
            t.objs[0].al.iter().for_each(|e| su.push_encoded(e));
            self.er.iter().for_each(|e| su.push_encoded(e));
            let aaip = self.er.iter().any(|er| er.windows(4).any(|w| w == b"AAIP"));
            if !aaip && t.objs.iter().any(|o| o.al_encoded) {
                su.push_encoded(&aaip_er()?);
            }
        }
        Ok(())
    }
}

/// The ER entry of AAIP 2.0, as xorriso writes it: added when attributes are written into
/// an image whose original announced none.
fn aaip_er() -> Result<Vec<u8>> {
    Er {
        id: b"AAIP_0200".to_vec(),
        descriptor:
            b"AL PROVIDES VIA AAIP 2.0 SUPPORT FOR ARBITRARY FILE ATTRIBUTES IN ISO 9660 IMAGES"
                .to_vec(),
        source: b"PLEASE CONTACT THE LIBBURNIA PROJECT VIA LIBBURNIA-PROJECT.ORG".to_vec(),
        extension_version: 1,
    }
    .encode()
}

/// The first entry of `sig` the original recorded for `o`.
fn recorded_entry<'a>(o: &'a Obj, sig: &'a [u8; 2]) -> Option<&'a [u8]> {
    o.recorded
        .as_ref()?
        .entries_of(sig)
        .next()
        .map(Vec::as_slice)
}

/// NM entries holding `name`, into `su` (250 bytes each at most; the first `first` bytes at
/// most when the name does not fit one entry, so the first fills what the record has left).
fn nm(name: &[u8], first: usize, su: &mut Su) -> Result<()> {
    let (head, rest) = match name.len() > first && first > 0 {
        true => name.split_at(first),
        false => (&name[..0], name),
    };
    let mut chunks = std::iter::once(head)
        .filter(|h| !h.is_empty())
        .chain(rest.chunks(250))
        .peekable();
    while let Some(c) = chunks.next() {
        let flags = u8::from(chunks.peek().is_some());
        su.push(|out| Nm { flags, name: c }.encode_into(out))?;
    }
    Ok(())
}

/// SL entries holding a symlink target: its components (a leading `/`, and each empty
/// component, as a root component; `.` and `..` flagged), a component longer than an entry
/// holds continued in the next; into `su`.
fn sl(target: &[u8], su: &mut Su) -> Result<()> {
    let mut comps: Vec<Component> = Vec::new();
    let parts: Vec<&[u8]> = target.split(|&b| b == b'/').collect();
    for (i, part) in parts.iter().enumerate() {
        match *part {
            b"" if i == 0 && parts.len() > 1 => comps.push(Component {
                flags: 0x08,
                content: b"",
            }),
            b"" if i + 1 == parts.len() => {}
            b"" => comps.push(Component {
                flags: 0x08,
                content: b"",
            }),
            b"." => comps.push(Component {
                flags: 0x02,
                content: b"",
            }),
            b".." => comps.push(Component {
                flags: 0x04,
                content: b"",
            }),
            p => {
                let pieces: Vec<&[u8]> = p.chunks(200).collect();
                let last = pieces.len() - 1;
                for (j, c) in pieces.into_iter().enumerate() {
                    comps.push(Component {
                        flags: if j < last { rockridge::SL_CONTINUE } else { 0 },
                        content: c,
                    });
                }
            }
        }
    }
    // Pack components into entries of at most 250 bytes of data.
    let mut out = Vec::new();
    let mut current: Vec<Component> = Vec::new();
    let mut len = 1;
    for c in comps {
        let clen = 2 + c.content.len();
        if len + clen > 250 && !current.is_empty() {
            out.push(std::mem::take(&mut current));
            len = 1;
        }
        len += clen;
        current.push(c);
    }
    out.push(current);
    let last = out.len() - 1;
    for (i, components) in out.into_iter().enumerate() {
        let flags = u8::from(i < last);
        su.push(|out| Sl { flags, components }.encode_into(out))?;
    }
    Ok(())
}

/// The record date of `o`: the original's when the modification time is unchanged.
pub(super) fn record_date(o: &Obj) -> [u8; 7] {
    match &o.recorded {
        Some(r) if o.same.mtime => r.date,
        _ => iso_date::encode_short(o.meta.mtime),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::iso9660::rockridge::RockRidge;
    use crate::fs::iso9660::susp::{self, Entry};

    /// What the entries `fill` puts in an area say.
    fn read_back(fill: impl FnOnce(&mut Su) -> Result<()>) -> RockRidge {
        let mut su = Su::default();
        fill(&mut su).unwrap();
        let bytes = su.bytes;
        let mut rr = RockRidge::default();
        let mut pos = 0;
        while let Some(e) = Entry::decode("t", &bytes, pos, 0).unwrap() {
            rr.add("t", &e).unwrap();
            pos += 4 + e.data.len();
        }
        rr
    }

    #[test]
    fn symlink_targets_read_back() {
        let long = [b"x".repeat(300), b"/y".to_vec()].concat();
        for target in [
            &b"../README.TXT"[..],
            b"/etc/passwd",
            b"a//b",
            b"./x/../y",
            b"/",
            &long,
        ] {
            let rr = read_back(|su| sl(target, su));
            assert_eq!(rr.symlink.as_deref(), Some(target), "{target:?}");
        }
    }

    #[test]
    fn long_names_span_several_nm_entries() {
        let name = [b'n'; 255];
        for first in [0, 100, 250] {
            assert_eq!(read_back(|su| nm(&name, first, su)).name.unwrap(), name);
        }
    }

    #[test]
    fn areas_overflow_into_continuation_areas() {
        let big = susp::encode(*b"AL", 1, &[7; 240]).unwrap();
        let mut su = Su::default();
        for _ in 0..20 {
            su.push_encoded(&big);
        }
        let split = su.split(10);
        assert!(split.head_len <= 255 - record::system_use_start(10));
        assert!(split.areas.iter().all(|(_, len)| *len <= AREA_MAX));
        let covered: usize = split.areas.iter().map(|(r, _)| r.len()).sum();
        assert_eq!(split.head + covered, 20);
        let places: Vec<(u32, u32)> = (0..split.areas.len() as u32).map(|i| (i, 0)).collect();
        let mut head = Vec::new();
        let areas = su.encode(&split, &places, &|_| 0, &mut head);
        assert_eq!(head.len(), split.head_len + split.head_len % 2);
        for (a, (_, len)) in areas.iter().zip(&split.areas) {
            assert_eq!(a.len(), *len);
        }
    }
}
