//! The System Use Sharing Protocol (SUSP, IEEE P1281): the entries of a record's system use
//! area and its continuation areas. Walks the entries (CE chains bounded and checked for
//! loops, ST stops, PD and ES skipped) and hands every other entry to the caller (Rock Ridge,
//! zisofs, AAIP). Decodes and encodes the SUSP entries themselves: SP (the skip length), CE
//! (continuation), ST (stop) and ER (extension reference).

use std::collections::HashSet;

use super::SECTOR;
use crate::error::{Error, Result};
use crate::ondisk::{endian, Fields};
use crate::source::Source;

/// Continuation areas followed at most for one record (xorriso needs about 33 for one
/// attribute value of 64 KiB, Linux's largest).
const MAX_CONTINUATIONS: usize = 1024;
/// The entry header: signature, length, version.
pub const HEADER: usize = 4;
/// The version every SUSP and Rock Ridge entry isofish writes carries.
pub const VERSION: u8 = 1;

/// One SUSP entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub signature: [u8; 2],
    pub version: u8,
    /// The bytes after the 4-byte header.
    pub data: &'a [u8],
    /// Byte offset of the entry in the source.
    pub offset: u64,
}

/// The error for an entry whose length does not fit the `left` bytes of its area.
#[cold]
fn does_not_fit(image: &str, at: u64, signature: [u8; 2], len: usize, left: usize) -> Error {
    Error::corrupt(
        image,
        "SUSP entry",
        at,
        format!(
            "entry {} of length {len} does not fit its area ({left} bytes left)",
            String::from_utf8_lossy(&signature),
        ),
    )
}

impl<'a> Entry<'a> {
    /// The entry at `pos` of `area` (which lies at `area_offset`); `None` at the end of the
    /// area or where zero padding fills it.
    pub fn decode(
        image: &str,
        area: &'a [u8],
        pos: usize,
        area_offset: u64,
    ) -> Result<Option<Entry<'a>>> {
        let at = area_offset + pos as u64;
        let Some(&[s0, s1, len, version]) = area.get(pos..pos + HEADER) else {
            return Ok(None);
        };
        if [s0, s1] == [0, 0] {
            return Ok(None); // padding to the end of the area
        }
        let len = usize::from(len);
        let Some(data) = area.get(pos + HEADER..pos + len).filter(|_| len >= HEADER) else {
            return Err(does_not_fit(image, at, [s0, s1], len, area.len() - pos));
        };
        Ok(Some(Entry {
            signature: [s0, s1],
            version,
            data,
            offset: at,
        }))
    }

    /// The entry's bytes: its header and data.
    pub fn encode(&self) -> Result<Vec<u8>> {
        encode(self.signature, self.version, self.data)
    }

    /// The entry's data as fields, for errors that name the entry.
    #[inline]
    pub fn fields(&self, image: &'a str, structure: &'static str) -> Fields<'a> {
        Fields::new(self.data, image, structure, self.offset)
    }
}

/// An entry of `signature` and `version` holding `data`; refused when it does not fit the
/// one-byte entry length.
pub fn encode(signature: [u8; 2], version: u8, data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(HEADER + data.len());
    put(&mut out, signature, version, |out| {
        out.extend_from_slice(data);
        Ok(())
    })?;
    Ok(out)
}

/// The bytes `put` appends to an empty vector (an entry's `encode` over its `encode_into`).
pub fn bytes_of(put: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    put(&mut out)?;
    Ok(out)
}

/// Appends to `out` an entry of `signature` and `version` whose data `data` appends; refused
/// (and `out` left as it was) when the entry does not fit the one-byte entry length.
pub fn put(
    out: &mut Vec<u8>,
    signature: [u8; 2],
    version: u8,
    data: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<()> {
    let start = out.len();
    out.extend_from_slice(&[signature[0], signature[1], 0, version]);
    let filled = data(out);
    let len = out.len() - start;
    match (filled, u8::try_from(len)) {
        (Ok(()), Ok(len)) => {
            out[start + 2] = len;
            Ok(())
        }
        (filled, _) => {
            out.truncate(start);
            filled?;
            Err(Error::Usage(format!(
                "a SUSP {} entry cannot hold {} bytes of data",
                String::from_utf8_lossy(&signature),
                len - HEADER
            )))
        }
    }
}

/// SP: SUSP is in use (first entry of the root's `.` record), and how many bytes to skip at
/// the start of every other system use area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sp {
    pub skip: u8,
}

impl Sp {
    const CHECK: [u8; 2] = [0xbe, 0xef];

    /// The SP entry at the start of `system_use`, if it is one.
    pub fn find(system_use: &[u8]) -> Option<Sp> {
        let e = Entry::decode("", system_use, 0, 0).ok()??;
        match (&e.signature, e.data) {
            (b"SP", [c0, c1, skip, ..]) if [*c0, *c1] == Self::CHECK => Some(Sp { skip: *skip }),
            _ => None,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let [c0, c1] = Self::CHECK;
        fixed(*b"SP", &[c0, c1, self.skip])
    }
}

/// CE: the system use area continues `len` bytes at `offset` of block `block`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ce {
    pub block: u32,
    pub offset: u32,
    pub len: u32,
}

impl Ce {
    pub fn decode(image: &str, e: &Entry) -> Result<Ce> {
        let f = e.fields(image, "SUSP entry");
        if e.data.len() < 24 {
            return Err(f.corrupt("CE entry shorter than 28 bytes"));
        }
        Ok(Ce {
            block: f.both32(0)?,
            offset: f.both32(8)?,
            len: f.both32(16)?,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut d = [0u8; 24];
        endian::put_both32(&mut d, 0, self.block);
        endian::put_both32(&mut d, 8, self.offset);
        endian::put_both32(&mut d, 16, self.len);
        fixed(*b"CE", &d)
    }
}

/// ST: the system use area ends here.
pub fn encode_st() -> Vec<u8> {
    fixed(*b"ST", &[])
}

/// ER: an extension in use (`RRIP_1991A`, `IEEE_P1282`, `IEEE_1282`, `AAIP_0200`...), with
/// its description and source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Er {
    pub id: Vec<u8>,
    pub descriptor: Vec<u8>,
    pub source: Vec<u8>,
    pub extension_version: u8,
}

impl Er {
    pub fn decode(image: &str, e: &Entry) -> Result<Er> {
        let f = e.fields(image, "Rock Ridge entry");
        let lens = [f.u8(0)?, f.u8(1)?, f.u8(2)?].map(usize::from);
        let mut at = 4;
        let mut take = |len: usize, what: &str| {
            let field = f
                .slice(at, len)
                .map_err(|_| f.corrupt(format!("ER {what} of {len} bytes passes the entry")))?;
            at += len;
            Ok::<_, Error>(field.to_vec())
        };
        Ok(Er {
            id: take(lens[0], "identifier")?,
            descriptor: take(lens[1], "descriptor")?,
            source: take(lens[2], "source")?,
            extension_version: f.u8(3)?,
        })
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        let too_long = || Error::Usage("an ER entry field is over 255 bytes".into());
        let len = |b: &[u8]| u8::try_from(b.len()).map_err(|_| too_long());
        let mut d = vec![
            len(&self.id)?,
            len(&self.descriptor)?,
            len(&self.source)?,
            self.extension_version,
        ];
        d.extend_from_slice(&self.id);
        d.extend_from_slice(&self.descriptor);
        d.extend_from_slice(&self.source);
        encode(*b"ER", VERSION, &d)
    }

    /// The identifier as text.
    pub fn id_text(&self) -> String {
        String::from_utf8_lossy(&self.id).into_owned()
    }
}

/// An entry whose data is at most a few dozen bytes (so always fits).
pub(crate) fn fixed(signature: [u8; 2], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + data.len());
    put_fixed(&mut out, signature, data);
    out
}

/// Appends to `out` an entry whose data is at most a few dozen bytes (so always fits).
pub(crate) fn put_fixed(out: &mut Vec<u8>, signature: [u8; 2], data: &[u8]) {
    out.extend_from_slice(&signature);
    out.extend_from_slice(&[(HEADER + data.len()) as u8, VERSION]);
    out.extend_from_slice(data);
}

/// Calls `visit` for every entry of a system use area (`area` at `offset` in `src`), skipping
/// `skip` bytes first, then for the entries of each continuation area it chains to.
pub fn for_each(
    src: &dyn Source,
    area: &[u8],
    offset: u64,
    skip: usize,
    visit: &mut dyn FnMut(&Entry) -> Result<()>,
) -> Result<()> {
    let image = src.name();
    let corrupt = |at: u64, detail: String| Error::corrupt(image, "SUSP entry", at, detail);
    let mut owned: Vec<u8>;
    let mut area = area.get(skip..).unwrap_or_default();
    let mut area_offset = offset + skip as u64;
    let mut seen: HashSet<(u64, u64)> = HashSet::new();
    loop {
        let mut next = None;
        let mut pos = 0;
        while let Some(entry) = Entry::decode(image, area, pos, area_offset)? {
            match &entry.signature {
                b"ST" => break,
                b"PD" | b"ES" | b"SP" => {}
                b"CE" => {
                    let ce = Ce::decode(image, &entry)?;
                    let (off, len) = (u64::from(ce.offset), u64::from(ce.len));
                    if off + len > SECTOR {
                        return Err(corrupt(
                            entry.offset,
                            format!(
                                "continuation area at offset {off} of length {len} leaves its block"
                            ),
                        ));
                    }
                    next = Some((u64::from(ce.block) * SECTOR + off, len, entry.offset));
                }
                _ => visit(&entry)?,
            }
            pos += HEADER + entry.data.len();
        }
        let Some((start, len, at)) = next else {
            return Ok(());
        };
        if seen.contains(&(start, len)) {
            return Err(corrupt(
                at,
                format!("continuation area loop (the chain comes back to offset {start})"),
            ));
        }
        if seen.len() >= MAX_CONTINUATIONS {
            return Err(corrupt(
                at,
                format!("more than {MAX_CONTINUATIONS} continuation areas"),
            ));
        }
        seen.insert((start, len));
        owned = src.read_vec(start, len as usize, "SUSP continuation area")?;
        area = &owned;
        area_offset = start;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(bytes: &[u8]) -> Entry<'_> {
        Entry::decode("t", bytes, 0, 0).unwrap().unwrap()
    }

    #[test]
    fn susp_entries_round_trip() {
        let sp = Sp { skip: 3 };
        assert_eq!(Sp::find(&sp.encode()), Some(sp));
        let ce = Ce {
            block: 40,
            offset: 100,
            len: 237,
        };
        assert_eq!(Ce::decode("t", &entry(&ce.encode())).unwrap(), ce);
        let er = Er {
            id: b"IEEE_1282".to_vec(),
            descriptor: b"THE IEEE 1282 PROTOCOL".to_vec(),
            source: b"PLEASE CONTACT".to_vec(),
            extension_version: 1,
        };
        let bytes = er.encode().unwrap();
        assert_eq!(entry(&bytes).encode().unwrap(), bytes);
        assert_eq!(Er::decode("t", &entry(&bytes)).unwrap(), er);
        assert_eq!(entry(&encode_st()).signature, *b"ST");
        assert!(encode(*b"NM", 1, &[0; 252]).is_err());
    }

    #[test]
    fn short_entries_are_refused() {
        assert!(Entry::decode("t", b"PX\x24\x01", 0, 0).is_err());
        assert!(Entry::decode("t", b"PX\x02\x01", 0, 0).is_err());
        assert_eq!(Entry::decode("t", b"\0\0\0\0", 0, 0).unwrap(), None);
        assert!(Ce::decode("t", &entry(b"CE\x08\x01abcd")).is_err());
        assert!(Er::decode("t", &entry(b"ER\x08\x01\x09\0\0\x01")).is_err());
    }
}
