//! Volume descriptors (ECMA-119 §8): the set from sector 16 to the terminator. Decodes and
//! encodes the primary descriptor, supplementary descriptors (Joliet by their UCS-2 escape
//! sequences), the enhanced descriptor of ISO 9660:1999 (a supplementary descriptor of version
//! 2), boot records and the terminator, keeping every field as recorded (text with its
//! padding, dates as their 17 bytes) so a descriptor encodes back to the bytes it came from.

use super::record::{Record, ROOT_FIELD};
use super::{joliet, SECTOR};
use crate::error::{Error, Result};
use crate::fs::Timestamp;
use crate::ondisk::{endian, iso_date, Fields};
use crate::source::Source;

/// Sectors read at most looking for the terminator (as Linux).
const MAX_DESCRIPTORS: u64 = 100;
/// The standard identifier of every descriptor.
const STANDARD_ID: &[u8; 5] = b"CD001";
/// The structure errors name.
const STRUCTURE: &str = "volume descriptor";
/// The descriptor length: one sector.
const LEN: usize = SECTOR as usize;

/// What a volume descriptor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Type 0: a boot record (El Torito's `EL TORITO SPECIFICATION`).
    Boot,
    /// Type 1: the primary volume descriptor.
    Primary,
    /// Type 2, version 1, with a UCS-2 escape sequence: Joliet of the given level (1-3).
    Joliet(u8),
    /// Type 2, version 2: the enhanced volume descriptor of ISO 9660:1999.
    Enhanced,
    /// Type 2 with no escape sequence isofish knows.
    Supplementary,
    /// Type 3: a volume partition descriptor.
    Partition,
    /// Type 255: the end of the set.
    Terminator,
}

/// A fixed-width text field as recorded, padding included.
#[derive(Clone, PartialEq, Eq)]
pub struct Text<const N: usize>(pub [u8; N]);

impl<const N: usize> Text<N> {
    /// The field padded with spaces (UCS-2 spaces, big-endian, for Joliet), cut to fit.
    pub fn new(s: &str, ucs2: bool) -> Self {
        let mut raw = [b' '; N];
        let bytes: Vec<u8> = if ucs2 {
            for pair in raw.chunks_exact_mut(2) {
                pair.copy_from_slice(&[0, b' ']);
            }
            joliet::encode(s)
        } else {
            s.as_bytes().to_vec()
        };
        let n = bytes.len().min(N) & if ucs2 { !1 } else { !0 };
        raw[..n].copy_from_slice(&bytes[..n]);
        Text(raw)
    }

    /// The text, its padding (spaces, NULs) trimmed; UCS-2 for Joliet.
    pub fn get(&self, ucs2: bool) -> String {
        let s = if ucs2 {
            joliet::decode(&self.0)
        } else {
            String::from_utf8_lossy(&self.0).into_owned()
        };
        s.trim_end_matches([' ', '\0']).to_string()
    }
}

impl<const N: usize> std::fmt::Debug for Text<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

/// A 17-byte volume date as recorded (ECMA-119 §8.4.26.1): 16 digits and the offset from
/// GMT, shown as they are (as `isoinfo -d` and `xorriso -pvd_info` show them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongDate(pub [u8; 17]);

impl LongDate {
    /// The date of `t` in UTC, or the "not specified" date.
    pub fn new(t: Option<Timestamp>) -> Self {
        LongDate(iso_date::encode_long(t))
    }

    /// The date as Unix time; `None` when not specified (zeros) or not a date.
    pub fn timestamp(&self) -> Option<Timestamp> {
        iso_date::decode_long(&self.0)
    }

    /// The date moved to UTC as the 16 digits `YYYYMMDDhhmmsscc` (see
    /// [`iso_date::long_utc_digits`]).
    pub fn utc_digits(&self) -> Option<String> {
        iso_date::long_utc_digits(&self.0)
    }
}

impl std::fmt::Display for LongDate {
    /// `YYYY-MM-DD hh:mm:ss.cc GMT+hh:mm`, `not set`, or `not a date (month 13)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match iso_date::check_long(&self.0) {
            Ok(Some(_)) => {}
            Ok(None) => return write!(f, "not set"),
            Err(why) => return write!(f, "not a date ({why})"),
        }
        let d = String::from_utf8_lossy(&self.0[..16]);
        let minutes = i32::from(self.0[16] as i8) * 15;
        write!(
            f,
            "{}-{}-{} {}:{}:{}.{} GMT{}{:02}:{:02}",
            &d[0..4],
            &d[4..6],
            &d[6..8],
            &d[8..10],
            &d[10..12],
            &d[12..14],
            &d[14..16],
            if minutes < 0 { '-' } else { '+' },
            minutes.abs() / 60,
            minutes.abs() % 60
        )
    }
}

/// A primary (type 1) or supplementary (type 2: Joliet, ISO 9660:1999) volume descriptor
/// (ECMA-119 §8.4, §8.5), every field as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    /// 1 (primary) or 2 (supplementary).
    pub type_code: u8,
    /// 1, or 2 for the enhanced descriptor of ISO 9660:1999.
    pub version: u8,
    /// Volume flags (supplementary only; 0 in the primary).
    pub flags: u8,
    pub system_id: Text<32>,
    pub volume_id: Text<32>,
    /// In blocks.
    pub volume_space_size: u32,
    /// Escape sequences (supplementary only: Joliet's `%/@`, `%/C`, `%/E`).
    pub escapes: [u8; 32],
    pub volume_set_size: u16,
    pub volume_sequence_number: u16,
    pub logical_block_size: u16,
    /// In bytes.
    pub path_table_size: u32,
    /// Block of the little-endian (type L) path table, and of its optional copy (0: none).
    pub path_table_l: u32,
    pub optional_path_table_l: u32,
    /// Block of the big-endian (type M) path table, and of its optional copy (0: none).
    pub path_table_m: u32,
    pub optional_path_table_m: u32,
    /// The 34-byte directory record of the root directory, as recorded ([`Volume::root`]
    /// decodes it).
    pub root_record: [u8; ROOT_FIELD],
    pub volume_set_id: Text<128>,
    pub publisher_id: Text<128>,
    pub preparer_id: Text<128>,
    pub application_id: Text<128>,
    pub copyright_file_id: Text<37>,
    pub abstract_file_id: Text<37>,
    pub bibliographic_file_id: Text<37>,
    pub created: LongDate,
    pub modified: LongDate,
    pub expires: LongDate,
    pub effective: LongDate,
    /// 1, or 2 for the enhanced descriptor.
    pub file_structure_version: u8,
    /// 512 bytes for the application (xorriso leaves them zero unless asked).
    pub application_use: Vec<u8>,
}

/// Field offsets of a type 1 or 2 descriptor.
mod at {
    pub const FLAGS: usize = 7;
    pub const SYSTEM_ID: usize = 8;
    pub const VOLUME_ID: usize = 40;
    pub const SPACE_SIZE: usize = 80;
    pub const ESCAPES: usize = 88;
    pub const SET_SIZE: usize = 120;
    pub const SEQUENCE: usize = 124;
    pub const BLOCK_SIZE: usize = 128;
    pub const PATH_TABLE_SIZE: usize = 132;
    pub const PATH_TABLES: usize = 140;
    pub const ROOT: usize = 156;
    pub const VOLUME_SET_ID: usize = 190;
    pub const PUBLISHER: usize = 318;
    pub const PREPARER: usize = 446;
    pub const APPLICATION: usize = 574;
    pub const COPYRIGHT: usize = 702;
    pub const ABSTRACT: usize = 739;
    pub const BIBLIOGRAPHIC: usize = 776;
    pub const DATES: usize = 813;
    pub const FILE_STRUCTURE: usize = 881;
    pub const APPLICATION_USE: usize = 883;
    pub const APPLICATION_USE_LEN: usize = 512;
    pub const BOOT_SYSTEM_ID: usize = 7;
    pub const BOOT_ID: usize = 39;
    pub const BOOT_SYSTEM_USE: usize = 71;
}

/// A fixed-size field of a structure.
fn array<const N: usize>(f: &Fields, at: usize) -> Result<[u8; N]> {
    Ok(f.slice(at, N)?.try_into().unwrap_or([0; N]))
}

impl Volume {
    fn decode(f: &Fields) -> Result<Volume> {
        let date = |i: usize| array(f, at::DATES + 17 * i).map(LongDate);
        Ok(Volume {
            type_code: f.u8(0)?,
            version: f.u8(6)?,
            flags: f.u8(at::FLAGS)?,
            system_id: Text(array(f, at::SYSTEM_ID)?),
            volume_id: Text(array(f, at::VOLUME_ID)?),
            volume_space_size: f.both32(at::SPACE_SIZE)?,
            escapes: array(f, at::ESCAPES)?,
            volume_set_size: f.both16(at::SET_SIZE)?,
            volume_sequence_number: f.both16(at::SEQUENCE)?,
            logical_block_size: f.both16(at::BLOCK_SIZE)?,
            path_table_size: f.both32(at::PATH_TABLE_SIZE)?,
            path_table_l: f.le32(at::PATH_TABLES)?,
            optional_path_table_l: f.le32(at::PATH_TABLES + 4)?,
            path_table_m: f.be32(at::PATH_TABLES + 8)?,
            optional_path_table_m: f.be32(at::PATH_TABLES + 12)?,
            root_record: array(f, at::ROOT)?,
            volume_set_id: Text(array(f, at::VOLUME_SET_ID)?),
            publisher_id: Text(array(f, at::PUBLISHER)?),
            preparer_id: Text(array(f, at::PREPARER)?),
            application_id: Text(array(f, at::APPLICATION)?),
            copyright_file_id: Text(array(f, at::COPYRIGHT)?),
            abstract_file_id: Text(array(f, at::ABSTRACT)?),
            bibliographic_file_id: Text(array(f, at::BIBLIOGRAPHIC)?),
            created: date(0)?,
            modified: date(1)?,
            expires: date(2)?,
            effective: date(3)?,
            file_structure_version: f.u8(at::FILE_STRUCTURE)?,
            application_use: f
                .slice(at::APPLICATION_USE, at::APPLICATION_USE_LEN)?
                .to_vec(),
        })
    }

    fn encode_into(&self, b: &mut [u8]) {
        b[0] = self.type_code;
        b[6] = self.version;
        b[at::FLAGS] = self.flags;
        let mut put = |at: usize, field: &[u8]| b[at..at + field.len()].copy_from_slice(field);
        put(at::SYSTEM_ID, &self.system_id.0);
        put(at::VOLUME_ID, &self.volume_id.0);
        put(at::ESCAPES, &self.escapes);
        put(at::ROOT, &self.root_record);
        put(at::VOLUME_SET_ID, &self.volume_set_id.0);
        put(at::PUBLISHER, &self.publisher_id.0);
        put(at::PREPARER, &self.preparer_id.0);
        put(at::APPLICATION, &self.application_id.0);
        put(at::COPYRIGHT, &self.copyright_file_id.0);
        put(at::ABSTRACT, &self.abstract_file_id.0);
        put(at::BIBLIOGRAPHIC, &self.bibliographic_file_id.0);
        let dates = [self.created, self.modified, self.expires, self.effective];
        for (i, d) in dates.iter().enumerate() {
            put(at::DATES + 17 * i, &d.0);
        }
        let use_len = self.application_use.len().min(at::APPLICATION_USE_LEN);
        put(at::APPLICATION_USE, &self.application_use[..use_len]);
        b[at::FILE_STRUCTURE] = self.file_structure_version;
        endian::put_both32(b, at::SPACE_SIZE, self.volume_space_size);
        endian::put_both16(b, at::SET_SIZE, self.volume_set_size);
        endian::put_both16(b, at::SEQUENCE, self.volume_sequence_number);
        endian::put_both16(b, at::BLOCK_SIZE, self.logical_block_size);
        endian::put_both32(b, at::PATH_TABLE_SIZE, self.path_table_size);
        endian::put_le32(b, at::PATH_TABLES, self.path_table_l);
        endian::put_le32(b, at::PATH_TABLES + 4, self.optional_path_table_l);
        endian::put_be32(b, at::PATH_TABLES + 8, self.path_table_m);
        endian::put_be32(b, at::PATH_TABLES + 12, self.optional_path_table_m);
    }

    /// What the descriptor is: primary, Joliet (by its escape sequences), enhanced.
    pub fn kind(&self) -> Kind {
        match (self.type_code, self.version) {
            (1, _) => Kind::Primary,
            (_, 2) => Kind::Enhanced,
            _ => joliet::level(&self.escapes).map_or(Kind::Supplementary, Kind::Joliet),
        }
    }

    /// The root directory record, for the descriptor at `offset` of `image` (see
    /// [`Record::decode_root`]).
    pub fn root(&self, offset: u64, image: &str) -> Result<Record<'_>> {
        Record::decode_root(&self.root_record, offset + at::ROOT as u64, image)
    }

    /// Whether the text fields are UCS-2 (Joliet).
    pub fn ucs2(&self) -> bool {
        matches!(self.kind(), Kind::Joliet(_))
    }
}

/// A boot record (ECMA-119 §8.2; El Torito's points at its boot catalog).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootRecord {
    pub version: u8,
    pub boot_system_id: Text<32>,
    pub boot_id: Text<32>,
    /// The 1977 bytes of the boot system use area.
    pub system_use: Vec<u8>,
}

impl BootRecord {
    /// The boot system id of El Torito's boot record.
    pub const EL_TORITO: &'static [u8] = b"EL TORITO SPECIFICATION";

    /// El Torito's boot record, pointing at the catalog at `catalog`.
    pub fn el_torito(catalog: u32) -> BootRecord {
        let mut boot_system_id = [0u8; 32];
        boot_system_id[..Self::EL_TORITO.len()].copy_from_slice(Self::EL_TORITO);
        let mut system_use = vec![0; LEN - at::BOOT_SYSTEM_USE];
        system_use[..4].copy_from_slice(&catalog.to_le_bytes());
        BootRecord {
            version: 1,
            boot_system_id: Text(boot_system_id),
            boot_id: Text([0; 32]),
            system_use,
        }
    }

    /// For El Torito's boot record: the block of the boot catalog (the first four bytes of the
    /// boot system use area, little-endian).
    pub fn el_torito_catalog(&self) -> Option<u32> {
        self.boot_system_id
            .0
            .starts_with(Self::EL_TORITO)
            .then(|| endian::le32(&self.system_use, 0))
            .flatten()
    }
}

/// What a descriptor holds, by type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Types 1 and 2.
    Volume(Box<Volume>),
    /// Type 0.
    Boot(BootRecord),
    /// Type 3 (volume partition) and 255 (terminator): the bytes after the type as recorded.
    Other { type_code: u8, rest: Vec<u8> },
}

/// One decoded volume descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// Byte offset of the descriptor in the source.
    pub offset: u64,
    pub kind: Kind,
    pub body: Body,
}

impl Descriptor {
    /// Decodes the descriptor in `sector` (read at `offset` of `image`); `None` when the
    /// sector is not one (no `CD001`, or a type ECMA-119 does not define).
    pub fn decode(sector: &[u8], offset: u64, image: &str) -> Result<Option<Descriptor>> {
        let f = Fields::new(sector, image, STRUCTURE, offset);
        if sector.get(1..6) != Some(STANDARD_ID) {
            return Ok(None);
        }
        let (kind, body) = match f.u8(0)? {
            1 | 2 => {
                let v = Volume::decode(&f)?;
                (v.kind(), Body::Volume(Box::new(v)))
            }
            0 => (
                Kind::Boot,
                Body::Boot(BootRecord {
                    version: f.u8(6)?,
                    boot_system_id: Text(array(&f, at::BOOT_SYSTEM_ID)?),
                    boot_id: Text(array(&f, at::BOOT_ID)?),
                    system_use: f
                        .slice(at::BOOT_SYSTEM_USE, LEN - at::BOOT_SYSTEM_USE)?
                        .to_vec(),
                }),
            ),
            type_code @ (3 | 255) => (
                if type_code == 3 {
                    Kind::Partition
                } else {
                    Kind::Terminator
                },
                Body::Other {
                    type_code,
                    rest: f.slice(6, LEN - 6)?.to_vec(),
                },
            ),
            _ => return Ok(None),
        };
        Ok(Some(Descriptor { offset, kind, body }))
    }

    /// The descriptor's sector.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; LEN];
        b[1..6].copy_from_slice(STANDARD_ID);
        match &self.body {
            Body::Volume(v) => v.encode_into(&mut b),
            Body::Boot(r) => {
                b[6] = r.version;
                b[at::BOOT_SYSTEM_ID..at::BOOT_ID].copy_from_slice(&r.boot_system_id.0);
                b[at::BOOT_ID..at::BOOT_SYSTEM_USE].copy_from_slice(&r.boot_id.0);
                let n = r.system_use.len().min(LEN - at::BOOT_SYSTEM_USE);
                b[at::BOOT_SYSTEM_USE..at::BOOT_SYSTEM_USE + n].copy_from_slice(&r.system_use[..n]);
            }
            Body::Other { type_code, rest } => {
                b[0] = *type_code;
                let n = rest.len().min(LEN - 6);
                b[6..6 + n].copy_from_slice(&rest[..n]);
            }
        }
        b
    }

    /// The volume set terminator (type 255, version 1).
    pub fn terminator(offset: u64) -> Descriptor {
        let mut rest = vec![0; LEN - 6];
        rest[0] = 1;
        Descriptor {
            offset,
            kind: Kind::Terminator,
            body: Body::Other {
                type_code: 255,
                rest,
            },
        }
    }

    /// The primary or supplementary descriptor's fields.
    pub fn volume(&self) -> Option<&Volume> {
        match &self.body {
            Body::Volume(v) => Some(v),
            _ => None,
        }
    }
}

/// The descriptor in sector `index` of `src`, if the image holds that whole sector and it is a
/// descriptor.
pub fn read_descriptor(src: &dyn Source, index: u64) -> Result<Option<Descriptor>> {
    let mut sector = vec![0u8; LEN];
    if src.read_at(index * SECTOR, &mut sector)? < LEN {
        return Ok(None);
    }
    Descriptor::decode(&sector, index * SECTOR, src.name())
}

/// The primary volume descriptor at sector 16 of `src` (where the boot layout and `file` look
/// for it), if that sector holds one.
pub fn read_primary(src: &dyn Source) -> Result<Option<Volume>> {
    Ok(read_descriptor(src, 16)?
        .filter(|d| d.kind == Kind::Primary)
        .and_then(|d| match d.body {
            Body::Volume(v) => Some(*v),
            _ => None,
        }))
}

/// The primary volume of a descriptor set.
pub fn primary_volume(set: &[Descriptor]) -> Option<&Volume> {
    set.iter()
        .find_map(|d| d.volume().filter(|_| d.kind == Kind::Primary))
}

/// Reads the volume descriptor set from sector 16 of `src` to its terminator. Like Linux, it
/// skips sectors that are not descriptors and gives up after 100 sectors (or at the end of
/// the image) when there is no terminator. Fails when there is no primary descriptor.
pub fn read_set(src: &dyn Source) -> Result<Vec<Descriptor>> {
    let mut out = Vec::new();
    for index in 16..16 + MAX_DESCRIPTORS {
        let offset = index * SECTOR;
        if offset + SECTOR > src.len() && !out.is_empty() {
            break;
        }
        let sector = src.read_vec(offset, LEN, STRUCTURE)?;
        match Descriptor::decode(&sector, offset, src.name())? {
            Some(d) if d.kind == Kind::Terminator => break,
            Some(d) => out.push(d),
            None => {}
        }
    }
    let Some(primary) = primary_volume(&out) else {
        return Err(Error::corrupt(
            src.name(),
            STRUCTURE,
            16 * SECTOR,
            "no primary volume descriptor",
        ));
    };
    if u64::from(primary.logical_block_size) != SECTOR {
        return Err(Error::unsupported(
            src.name(),
            format!(
                "logical block size {} (only 2048 is read)",
                primary.logical_block_size
            ),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(type_code: u8, escapes: &[u8]) -> Volume {
        let t = Some(Timestamp {
            secs: 1_700_000_000,
            nanos: 120_000_000,
        });
        let ucs2 = !escapes.is_empty();
        let mut esc = [0u8; 32];
        esc[..escapes.len()].copy_from_slice(escapes);
        Volume {
            type_code,
            version: 1,
            flags: 0,
            system_id: Text::new("LINUX", ucs2),
            volume_id: Text::new("ISOFISH_TEST", ucs2),
            volume_space_size: 1234,
            escapes: esc,
            volume_set_size: 1,
            volume_sequence_number: 1,
            logical_block_size: 2048,
            path_table_size: 42,
            path_table_l: 19,
            optional_path_table_l: 0,
            path_table_m: 21,
            optional_path_table_m: 0,
            root_record: [34; 34],
            volume_set_id: Text::new("", ucs2),
            publisher_id: Text::new("PUB", ucs2),
            preparer_id: Text::new("PREP", ucs2),
            application_id: Text::new("APP", ucs2),
            copyright_file_id: Text::new("COPY", ucs2),
            abstract_file_id: Text::new("", ucs2),
            bibliographic_file_id: Text::new("", ucs2),
            created: LongDate::new(t),
            modified: LongDate::new(t),
            expires: LongDate::new(None),
            effective: LongDate::new(t),
            file_structure_version: 1,
            application_use: vec![0; 512],
        }
    }

    fn round_trip(d: &Descriptor) {
        let bytes = d.encode();
        assert_eq!(bytes.len(), LEN);
        let back = Descriptor::decode(&bytes, d.offset, "t").unwrap().unwrap();
        assert_eq!(&back, d);
        assert_eq!(back.encode(), bytes);
    }

    #[test]
    fn descriptors_round_trip() {
        let primary = volume(1, b"");
        let joliet = volume(2, b"%/E");
        assert_eq!(joliet.kind(), Kind::Joliet(3));
        assert_eq!(joliet.volume_id.get(true), "ISOFISH_TEST");
        assert_eq!(primary.volume_id.get(false), "ISOFISH_TEST");
        assert_eq!(
            primary.modified.utc_digits().as_deref(),
            Some("2023111422132012")
        );
        for v in [primary, joliet] {
            round_trip(&Descriptor {
                offset: 16 * SECTOR,
                kind: v.kind(),
                body: Body::Volume(Box::new(v)),
            });
        }
        let mut system_use = vec![0; LEN - at::BOOT_SYSTEM_USE];
        system_use[0] = 20;
        let boot = Descriptor {
            offset: 17 * SECTOR,
            kind: Kind::Boot,
            body: Body::Boot(BootRecord {
                version: 1,
                boot_system_id: Text(*b"EL TORITO SPECIFICATION\0\0\0\0\0\0\0\0\0"),
                boot_id: Text([0; 32]),
                system_use,
            }),
        };
        round_trip(&boot);
        let Body::Boot(b) = Descriptor::decode(&boot.encode(), 0, "t")
            .unwrap()
            .unwrap()
            .body
        else {
            panic!("not a boot record")
        };
        assert_eq!(b.el_torito_catalog(), Some(20));
        round_trip(&Descriptor::terminator(18 * SECTOR));
    }

    #[test]
    fn dates_show_as_recorded() {
        let mut raw = *b"2023111500132045\0";
        raw[16] = (-20i8) as u8;
        assert_eq!(
            LongDate(raw).to_string(),
            "2023-11-15 00:13:20.45 GMT-05:00"
        );
        assert_eq!(LongDate::new(None).to_string(), "not set");
        let month_13 = LongDate(*b"2023131500132045\0");
        assert_eq!(month_13.to_string(), "not a date (month 13)");
    }

    #[test]
    fn other_sectors_are_not_descriptors() {
        assert_eq!(Descriptor::decode(&[0; LEN], 0, "t").unwrap(), None);
        let mut short = Descriptor::terminator(0).encode();
        short.truncate(100);
        assert!(Descriptor::decode(&short, 0, "t").is_err());
    }
}
