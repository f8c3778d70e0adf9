//! Directory records (ECMA-119 §9.1): decoding one record from a directory extent and encoding
//! it back, walking the records of an extent (zero padding to the next sector), and the mapping
//! of plain ISO 9660 names (`FOO.TXT;1` → `FOO.TXT`).

use super::SECTOR;
use crate::error::{Error, Result};
use crate::ondisk::{endian, Fields};

/// (Bit 0, "existence", hides a file: such files are listed anyway, as Linux and xorriso do.)
/// The record describes a directory.
pub const DIRECTORY: u8 = 0x02;
/// An associated file (Macintosh resource fork and the like): not listed.
pub const ASSOCIATED: u8 = 0x04;
/// The file continues in the next record (multi-extent files, over 4 GiB).
pub const MULTI_EXTENT: u8 = 0x80;

/// Bytes before the name: the fixed part of a record.
const FIXED: usize = 33;
/// Smallest possible record: the fixed part and a one-byte name.
const MIN_RECORD: usize = FIXED + 1;
/// The root directory record field of a volume descriptor (ECMA-119 §8.4.18): a record with a
/// one-byte name and no system use.
pub const ROOT_FIELD: usize = MIN_RECORD;
/// The name `.` (the directory itself) as recorded.
pub const SELF: &[u8] = &[0];
/// The name `..` (the parent) as recorded.
pub const PARENT: &[u8] = &[1];

/// Where the system use area starts in a record whose name is `name_len` bytes: after the
/// name and, when the name's length is even, one padding byte.
pub fn system_use_start(name_len: usize) -> usize {
    (FIXED + name_len + 1) & !1
}

/// One directory record, borrowed from the extent it was read from (or from the writer's
/// buffers): every field of the record, so [`Record::encode`] writes it back as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Byte offset of the record in the source.
    pub offset: u64,
    /// Sectors of extended attribute record before the data.
    pub ext_attr_len: u8,
    /// First logical block of the extent.
    pub extent: u32,
    /// Data length in bytes.
    pub size: u32,
    /// The 7-byte recording date as recorded (`ondisk::iso_date::check_short` decodes it).
    pub date: [u8; 7],
    pub flags: u8,
    /// Interleaving: file unit size and gap size, in blocks (0 and 0 when not interleaved).
    pub unit_size: u8,
    pub gap_size: u8,
    /// The volume sequence number of the volume that holds the extent.
    pub volume_sequence_number: u16,
    /// The file identifier as recorded (`\0` is `.`, `\x01` is `..`).
    pub name: &'a [u8],
    /// The system use area (SUSP entries), after the name and its padding byte.
    pub system_use: &'a [u8],
    /// Byte offset of the system use area in the source.
    pub system_use_offset: u64,
}

impl<'a> Record<'a> {
    /// Decodes the record at the start of `buf`, which lies at `offset` in the source named
    /// `image`. The record's own length must fit in `buf`.
    pub fn decode(buf: &'a [u8], offset: u64, image: &str) -> Result<Record<'a>> {
        let len = usize::from(buf.first().copied().unwrap_or(0));
        Self::decode_len(buf, len, offset, image)
    }

    /// Decodes the root directory record field of a volume descriptor (its [`ROOT_FIELD`]
    /// bytes at `offset`). Some mastering tools record a longer length there, with system use
    /// after the record; the field holds none (the root's own `.` record carries it, which is
    /// where SUSP looks), so the length is not trusted past the field, as Linux and xorriso
    /// read it.
    pub fn decode_root(field: &'a [u8], offset: u64, image: &str) -> Result<Record<'a>> {
        let len = usize::from(field.first().copied().unwrap_or(0));
        Self::decode_len(field, len.min(ROOT_FIELD), offset, image)
    }

    /// Decodes a record of `len` bytes at the start of `buf`.
    fn decode_len(buf: &'a [u8], len: usize, offset: u64, image: &str) -> Result<Record<'a>> {
        let corrupt = |detail: String| Error::corrupt(image, "directory record", offset, detail);
        if len < MIN_RECORD {
            return Err(corrupt(format!(
                "record length {len} is below {MIN_RECORD}"
            )));
        }
        let rec = buf.get(..len).ok_or_else(|| {
            corrupt(format!(
                "record length {len} passes the end of its directory ({} bytes left)",
                buf.len()
            ))
        })?;
        let f = Fields::new(rec, image, "directory record", offset);
        let name_len = usize::from(f.u8(32)?);
        if name_len == 0 || FIXED + name_len > len {
            return Err(corrupt(format!(
                "name length {name_len} does not fit the record length {len}"
            )));
        }
        let su_start = system_use_start(name_len).min(len);
        let (name, system_use) = match (rec.get(FIXED..FIXED + name_len), rec.get(su_start..)) {
            (Some(name), Some(su)) => (name, su),
            _ => return Err(corrupt(format!("name length {name_len} passes the record"))),
        };
        Ok(Record {
            offset,
            ext_attr_len: f.u8(1)?,
            extent: f.both32(2)?,
            size: f.both32(10)?,
            date: f.slice(18, 7)?.try_into().unwrap_or_default(),
            flags: f.u8(25)?,
            unit_size: f.u8(26)?,
            gap_size: f.u8(27)?,
            volume_sequence_number: f.both16(28)?,
            name,
            system_use,
            system_use_offset: offset + su_start as u64,
        })
    }

    /// The record's bytes: the fixed part, the name, its padding byte and the system use area
    /// as they are. The writer gives a system use area of even length (so is the record, as
    /// ECMA-119 §9.1.1 asks); a name or area that does not fit the one-byte record length is
    /// refused.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = vec![0u8; self.encoded_len()];
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// The length of the encoded record.
    pub fn encoded_len(&self) -> usize {
        system_use_start(self.name.len()) + self.system_use.len()
    }

    /// [`Record::encode`] into `out`, which is [`Record::encoded_len`] bytes long and zeroed.
    pub fn encode_into(&self, out: &mut [u8]) -> Result<()> {
        let su_start = system_use_start(self.name.len());
        let len = self.encoded_len();
        if self.name.is_empty() || len > usize::from(u8::MAX) || out.len() != len {
            return Err(Error::Usage(format!(
                "a directory record cannot hold a {}-byte name and a {}-byte system use area",
                self.name.len(),
                self.system_use.len()
            )));
        }
        out[0] = len as u8;
        out[1] = self.ext_attr_len;
        endian::put_both32(out, 2, self.extent);
        endian::put_both32(out, 10, self.size);
        out[18..25].copy_from_slice(&self.date);
        out[25] = self.flags;
        out[26] = self.unit_size;
        out[27] = self.gap_size;
        endian::put_both16(out, 28, self.volume_sequence_number);
        out[32] = self.name.len() as u8;
        out[FIXED..FIXED + self.name.len()].copy_from_slice(self.name);
        out[su_start..].copy_from_slice(self.system_use);
        Ok(())
    }

    /// True for the `.` and `..` records.
    pub fn is_self_or_parent(&self) -> bool {
        self.name == SELF || self.name == PARENT
    }

    /// True for directories.
    pub fn is_dir(&self) -> bool {
        self.flags & DIRECTORY != 0
    }

    /// Byte offset of the file's data (after its extended attribute record).
    pub fn data_offset(&self) -> u64 {
        (u64::from(self.extent) + u64::from(self.ext_attr_len)) * SECTOR
    }
}

/// The records of a directory extent held in `buf` (read from `offset`), in order, `.` and
/// `..` included. A zero length byte pads to the next sector.
pub fn records<'a>(
    buf: &'a [u8],
    offset: u64,
    image: &'a str,
) -> impl Iterator<Item = Result<Record<'a>>> + 'a {
    let sector = SECTOR as usize;
    let mut pos = 0usize;
    let mut failed = false;
    std::iter::from_fn(move || loop {
        let len = buf.get(pos).copied().filter(|_| !failed)?;
        if len == 0 {
            pos = (pos / sector + 1) * sector;
            continue;
        }
        let sector_end = ((pos / sector + 1) * sector).min(buf.len());
        let rest = buf.get(pos..sector_end).unwrap_or_default();
        let r = Record::decode(rest, offset + pos as u64, image);
        match &r {
            Ok(_) => pos += usize::from(len),
            Err(_) => failed = true,
        }
        return Some(r);
    })
}

/// A plain ISO 9660 name as shown: the `;1` version suffix removed, and the `.` that ends a
/// name without extension (`NOEXT.` → `NOEXT`). Case is kept as recorded (as isoinfo, xorriso
/// and bsdtar show it; the Linux kernel's default `map=normal` would lower-case it).
pub fn plain_name(raw: &[u8]) -> &[u8] {
    let mut name = raw;
    if let Some(semi) = name.iter().rposition(|&b| b == b';') {
        let (stem, version) = name.split_at(semi);
        if version[1..].iter().all(u8::is_ascii_digit) {
            name = stem;
        }
    }
    match name.strip_suffix(b".") {
        Some(stem) if !stem.is_empty() => stem,
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::Timestamp;
    use crate::ondisk::iso_date;

    fn sample<'a>(name: &'a [u8], system_use: &'a [u8]) -> Record<'a> {
        Record {
            offset: 0,
            ext_attr_len: 1,
            extent: 0x1234_5678,
            size: 4096,
            date: iso_date::encode_short(Timestamp {
                secs: 1_700_000_000,
                nanos: 0,
            }),
            flags: DIRECTORY | MULTI_EXTENT,
            unit_size: 2,
            gap_size: 3,
            volume_sequence_number: 1,
            name,
            system_use,
            system_use_offset: system_use_start(name.len()) as u64,
        }
    }

    #[test]
    fn records_round_trip() {
        for (name, su) in [
            (&b"A.TXT;1"[..], &b""[..]),
            (b"EVEN", b"PX\x24\x01"),
            (SELF, b"SP\x07\x01\xbe\xef\x00\x00"),
        ] {
            let r = sample(name, su);
            let bytes = r.encode().unwrap();
            assert_eq!(bytes.len(), usize::from(bytes[0]));
            assert_eq!(Record::decode(&bytes, 0, "t").unwrap(), r);
            assert_eq!(records(&bytes, 0, "t").count(), 1);
        }
        assert!(sample(&[b'x'; 200], &[0; 60]).encode().is_err());
        assert!(sample(b"", b"").encode().is_err());
    }

    #[test]
    fn short_records_are_refused() {
        let bytes = sample(b"A", b"").encode().unwrap();
        assert!(Record::decode(&bytes[..20], 0, "t").is_err());
        let mut long_name = bytes.clone();
        long_name[32] = 9;
        assert!(Record::decode(&long_name, 0, "t").is_err());
    }

    #[test]
    fn a_longer_root_record_is_read_to_its_field() {
        let mut field = sample(SELF, b"").encode().unwrap();
        assert_eq!(field.len(), ROOT_FIELD);
        field[0] = 68;
        assert!(Record::decode(&field, 156, "t").is_err());
        let root = Record::decode_root(&field, 156, "t").unwrap();
        assert_eq!((root.name, root.system_use), (SELF, &b""[..]));
        assert_eq!(root.extent, 0x1234_5678);
        field[0] = 33;
        assert!(Record::decode_root(&field, 156, "t").is_err());
    }

    #[test]
    fn plain_names() {
        assert_eq!(plain_name(b"FOO.TXT;1"), b"FOO.TXT");
        assert_eq!(plain_name(b"NOEXT.;1"), b"NOEXT");
        assert_eq!(plain_name(b"."), b".");
        assert_eq!(plain_name(b"A;B"), b"A;B");
    }
}
