//! The RPM header structure, used for both the signature header and the main header: an intro
//! (magic `8e ad e8 01`, 4 reserved bytes, the count of index entries and the size of the data
//! store, big-endian), the index entries (tag, type, offset into the store, count: 16 bytes
//! each), then the store. The counts are checked against rpm's limits and the bytes that are
//! there before anything is allocated, and every entry against the store when it is read.

use crate::error::{Error, Result};
use crate::ondisk::endian::be32;
use crate::source::Source;

/// The magic and version at the start of a header.
pub const MAGIC: [u8; 4] = [0x8e, 0xad, 0xe8, 0x01];
/// Length of the intro.
const INTRO: u64 = 16;
/// Length of one index entry.
const ENTRY: u64 = 16;
/// The most index entries rpm accepts in a header.
const MAX_ENTRIES: u32 = 0xffff;
/// The largest data store rpm accepts.
const MAX_DATA: u32 = 256 << 20;
/// The most values isofish takes from one entry: a million files in a package (the largest
/// distributions ship have a few hundred thousand), so a store of one-byte strings cannot
/// make tens of times its size in lists.
const MAX_VALUES: u32 = 1 << 20;

/// The data types of header entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Null,
    Char,
    Int8,
    Int16,
    Int32,
    Int64,
    String,
    Bin,
    StringArray,
    I18nString,
}

impl Kind {
    fn from_u32(v: u32) -> Option<Kind> {
        Some(match v {
            0 => Kind::Null,
            1 => Kind::Char,
            2 => Kind::Int8,
            3 => Kind::Int16,
            4 => Kind::Int32,
            5 => Kind::Int64,
            6 => Kind::String,
            7 => Kind::Bin,
            8 => Kind::StringArray,
            9 => Kind::I18nString,
            _ => return None,
        })
    }

    /// Bytes per value of the fixed-size types.
    fn width(self) -> Option<u64> {
        Some(match self {
            Kind::Null => 0,
            Kind::Char | Kind::Int8 | Kind::Bin => 1,
            Kind::Int16 => 2,
            Kind::Int32 => 4,
            Kind::Int64 => 8,
            Kind::String | Kind::StringArray | Kind::I18nString => return None,
        })
    }
}

/// One index entry.
#[derive(Clone, Copy, Debug)]
struct Entry {
    tag: u32,
    kind: Kind,
    offset: u32,
    count: u32,
    /// Where the entry lies in the image.
    at: u64,
}

/// A header read into memory: its index and its data store.
#[derive(Debug)]
pub struct Header {
    image: String,
    structure: &'static str,
    entries: Vec<Entry>,
    store: Vec<u8>,
    /// Bytes from the magic to the end of the store.
    len: u64,
}

impl Header {
    /// Reads the header (`structure`: "rpm signature header" or "rpm header") at `at`.
    pub fn read(src: &dyn Source, at: u64, structure: &'static str) -> Result<Header> {
        let image = src.name().to_string();
        let corrupt = |off: u64, detail: String| Error::corrupt(&image, structure, off, detail);
        let mut intro = [0u8; INTRO as usize];
        src.read_exact_at(at, &mut intro, structure)?;
        if intro[..3] != MAGIC[..3] {
            return Err(corrupt(at, "no header magic (8e ad e8)".into()));
        }
        if intro[3] != MAGIC[3] {
            return Err(Error::unsupported(
                &image,
                format!("{structure} version {} at offset {at}", intro[3]),
            ));
        }
        let count = be32(&intro, 8).unwrap_or(0);
        let size = be32(&intro, 12).unwrap_or(0);
        if count == 0 || count > MAX_ENTRIES {
            return Err(corrupt(
                at,
                format!("{count} index entries (must be 1 to {MAX_ENTRIES})"),
            ));
        }
        if size > MAX_DATA {
            return Err(corrupt(
                at,
                format!("a data store of {size} bytes (at most {MAX_DATA})"),
            ));
        }
        let len = INTRO + ENTRY * u64::from(count) + u64::from(size);
        if at.checked_add(len).is_none_or(|end| end > src.len()) {
            return Err(corrupt(
                at,
                format!(
                    "{count} index entries and {size} bytes of data would pass the end of the image ({})",
                    src.len()
                ),
            ));
        }
        let index_at = at + INTRO;
        let index = src.read_vec(index_at, (ENTRY * u64::from(count)) as usize, structure)?;
        let store_at = index_at + index.len() as u64;
        let store = src.read_vec(store_at, size as usize, structure)?;
        let mut entries = Vec::with_capacity(count as usize);
        for (i, e) in index.chunks_exact(ENTRY as usize).enumerate() {
            let field = |o: usize| be32(e, o).unwrap_or(0);
            let entry_at = index_at + ENTRY * i as u64;
            let (tag, kind) = (field(0), field(4));
            let kind = Kind::from_u32(kind).ok_or_else(|| {
                corrupt(
                    entry_at,
                    format!("entry {i} (tag {tag}): unknown type {kind}"),
                )
            })?;
            let entry = Entry {
                tag,
                kind,
                offset: field(8),
                count: field(12),
                at: entry_at,
            };
            // Fixed-size values must lie in the store; strings are checked when read.
            let fits = match kind.width() {
                Some(w) => u64::from(entry.offset) + w * u64::from(entry.count) <= u64::from(size),
                None => entry.offset < size && entry.count <= size,
            };
            if !fits {
                return Err(corrupt(
                    entry_at,
                    format!(
                        "entry {i} (tag {tag}): {} values of type {kind:?} at {} pass the end of the {size}-byte data store",
                        entry.count, entry.offset
                    ),
                ));
            }
            entries.push(entry);
        }
        Ok(Header {
            image,
            structure,
            entries,
            store,
            len,
        })
    }

    /// Bytes from the magic to the end of the data store.
    pub fn size(&self) -> u64 {
        self.len
    }

    /// Whether the header has an entry for `tag`.
    pub fn has(&self, tag: u32) -> bool {
        self.entry(tag).is_some()
    }

    fn entry(&self, tag: u32) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }

    /// Refuses an entry of more values than [`MAX_VALUES`].
    fn bounded(&self, e: &Entry) -> Result<()> {
        if e.count <= MAX_VALUES {
            return Ok(());
        }
        Err(Error::unsupported(
            &self.image,
            format!(
                "{} entry at offset {} (tag {}) of {} values (at most {MAX_VALUES} are read)",
                self.structure, e.at, e.tag, e.count
            ),
        ))
    }

    fn corrupt(&self, e: &Entry, detail: impl Into<String>) -> Error {
        Error::corrupt(
            &self.image,
            self.structure,
            e.at,
            format!("tag {}: {}", e.tag, detail.into()),
        )
    }

    /// The strings of `tag` (a string, a string array or an i18n string: each language's
    /// string), `None` when the header has no such tag.
    pub fn strings(&self, tag: u32) -> Result<Option<Vec<Vec<u8>>>> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        self.bounded(e)?;
        let count = match e.kind {
            Kind::String => 1,
            Kind::StringArray | Kind::I18nString => e.count,
            other => return Err(self.corrupt(e, format!("a {other:?} where strings belong"))),
        };
        let mut rest = &self.store[e.offset as usize..];
        let mut out = Vec::new();
        for _ in 0..count {
            let end = rest
                .iter()
                .position(|b| *b == 0)
                .ok_or_else(|| self.corrupt(e, "a string runs past the data store"))?;
            out.push(rest[..end].to_vec());
            rest = &rest[end + 1..];
        }
        Ok(Some(out))
    }

    /// The first string of `tag`, lossily UTF-8.
    pub fn string(&self, tag: u32) -> Result<Option<String>> {
        Ok(self
            .strings(tag)?
            .and_then(|v| v.into_iter().next())
            .map(|s| String::from_utf8_lossy(&s).into_owned()))
    }

    /// The integers of `tag` (any integer type, widened), `None` when the header has no such
    /// tag.
    pub fn ints(&self, tag: u32) -> Result<Option<Vec<u64>>> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        self.bounded(e)?;
        let width = match e.kind {
            Kind::Char | Kind::Int8 | Kind::Int16 | Kind::Int32 | Kind::Int64 => {
                e.kind.width().unwrap_or(1) as usize
            }
            other => return Err(self.corrupt(e, format!("a {other:?} where integers belong"))),
        };
        // In the store: checked when the header was read.
        let bytes = &self.store[e.offset as usize..e.offset as usize + width * e.count as usize];
        Ok(Some(
            bytes
                .chunks_exact(width)
                .map(|c| c.iter().fold(0u64, |v, b| v << 8 | u64::from(*b)))
                .collect(),
        ))
    }

    /// The first integer of `tag`.
    pub fn int(&self, tag: u32) -> Result<Option<u64>> {
        Ok(self.ints(tag)?.and_then(|v| v.first().copied()))
    }

    /// The tags among `tags` that the header has.
    pub fn present<'a>(&self, tags: &'a [(u32, &'a str)]) -> Vec<&'a str> {
        tags.iter()
            .filter(|(t, _)| self.has(*t))
            .map(|(_, n)| *n)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    /// A header of `entries` (tag, type, offset, count) over `store`.
    fn header(entries: &[(u32, u32, u32, u32)], store: &[u8]) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend([0; 4]);
        b.extend((entries.len() as u32).to_be_bytes());
        b.extend((store.len() as u32).to_be_bytes());
        for (tag, kind, offset, count) in entries {
            for v in [tag, kind, offset, count] {
                b.extend(v.to_be_bytes());
            }
        }
        b.extend(store);
        b
    }

    fn read(bytes: Vec<u8>) -> Result<Header> {
        Header::read(&MemSource::new(bytes, "t.rpm"), 0, "rpm header")
    }

    #[test]
    fn reads_strings_and_integers() {
        let store = b"name\0a\0bc\0\0\0\x01\x02\0\0\0\0\x01\0";
        let h = read(header(
            &[
                (1000, 6, 0, 1),
                (1118, 8, 5, 2),
                (1030, 3, 12, 2),
                (1028, 4, 16, 1),
            ],
            store,
        ))
        .unwrap();
        assert_eq!(h.string(1000).unwrap().unwrap(), "name");
        assert_eq!(
            h.strings(1118).unwrap().unwrap(),
            [b"a".to_vec(), b"bc".to_vec()]
        );
        assert_eq!(h.ints(1030).unwrap().unwrap(), [0x0102, 0]);
        assert_eq!(h.int(1028).unwrap(), Some(0x100));
        assert_eq!(h.size(), 16 + 64 + store.len() as u64);
        assert!(h.strings(1030).is_err());
        assert!(h.ints(1000).is_err());
        assert_eq!(h.string(1001).unwrap(), None);
    }

    #[test]
    fn refuses_what_passes_the_store_or_the_image() {
        let e = read(header(&[(1028, 4, 2, 1)], b"abcd")).unwrap_err();
        assert!(
            e.to_string()
                .contains("pass the end of the 4-byte data store"),
            "{e}"
        );
        let e = read(header(&[(1000, 6, 0, 1)], b"abcd")).unwrap();
        assert!(e.string(1000).is_err());
        let e = read(header(&[(1000, 12, 0, 1)], b"a\0")).unwrap_err();
        assert!(e.to_string().contains("unknown type 12"), "{e}");
        let mut b = header(&[(1000, 6, 0, 1)], b"a\0");
        b[8..12].copy_from_slice(&0x1_0000u32.to_be_bytes());
        assert!(read(b.clone()).is_err());
        b[8..12].copy_from_slice(&0xfffu32.to_be_bytes());
        let e = read(b).unwrap_err();
        assert!(
            e.to_string().contains("would pass the end of the image"),
            "{e}"
        );
        // More values than a package has files: refused before any list is made.
        let many = MAX_VALUES + 1;
        let h = read(header(&[(1030, 2, 0, many)], &vec![0; many as usize])).unwrap();
        let e = h.ints(1030).unwrap_err();
        assert!(e.to_string().contains("at most 1048576 are read"), "{e}");
    }
}
