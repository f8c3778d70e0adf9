//! Rock Ridge (RRIP 1.09, 1.10 and 1.12): the POSIX attributes a record's SUSP entries carry.
//! PX (mode, links, owner, 1.12 serial number), PN (device numbers), SL (symlink target, over
//! several entries), NM (name, over several entries), TF (times, short and long form), CL/PL/RE
//! (directory relocation), SF (sparse files: listed, reads refused), ER (which RRIP, decoded in
//! [`super::susp`]), and ZF or Z2 (zisofs, zisofs2; decoded in [`super::zisofs`]). Each entry
//! is decoded to a type that [`encode`](Px::encode)s it back as it was; [`RockRidge`] gathers
//! what the entries of one record say.

use super::susp::{self, Entry, Er};
use super::zisofs::Zf;
use crate::error::{Error, Result};
use crate::fs::Timestamp;
use crate::ondisk::{endian, iso_date, Fields};

const STRUCTURE: &str = "Rock Ridge entry";

#[inline]
fn fields<'a>(image: &'a str, e: &Entry<'a>, len: usize) -> Result<Fields<'a>> {
    let f = e.fields(image, STRUCTURE);
    if e.data.len() < len {
        return Err(too_short(&f, e, len));
    }
    Ok(f)
}

#[cold]
fn too_short(f: &Fields, e: &Entry, len: usize) -> Error {
    f.corrupt(format!(
        "{} entry has {} data bytes, needs {len}",
        String::from_utf8_lossy(&e.signature),
        e.data.len()
    ))
}

fn corrupt(image: &str, e: &Entry, detail: impl Into<String>) -> Error {
    Error::corrupt(image, STRUCTURE, e.offset, detail)
}

/// PX: the POSIX file attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Px {
    /// The full `st_mode`, type bits included.
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    /// The file serial number (RRIP 1.12 only).
    pub serial: Option<u32>,
}

impl Px {
    pub fn decode(image: &str, e: &Entry) -> Result<Px> {
        let f = fields(image, e, 32)?;
        Ok(Px {
            mode: f.both32(0)?,
            nlink: f.both32(8)?,
            uid: f.both32(16)?,
            gid: f.both32(24)?,
            serial: endian::both32(e.data, 32),
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(44);
        self.encode_into(&mut out);
        out
    }

    /// Appends the entry to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mut d = [0u8; 40];
        let values = [self.mode, self.nlink, self.uid, self.gid];
        let mut len = 0;
        for v in values.into_iter().chain(self.serial) {
            endian::put_both32(&mut d, len, v);
            len += 8;
        }
        susp::put_fixed(out, *b"PX", &d[..len]);
    }
}

/// PN: a device number as its two recorded words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pn {
    pub high: u32,
    pub low: u32,
}

impl Pn {
    pub fn decode(image: &str, e: &Entry) -> Result<Pn> {
        let f = fields(image, e, 16)?;
        Ok(Pn {
            high: f.both32(0)?,
            low: f.both32(8)?,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut d = [0u8; 16];
        endian::put_both32(&mut d, 0, self.high);
        endian::put_both32(&mut d, 8, self.low);
        susp::fixed(*b"PN", &d)
    }

    /// The device's (major, minor). As Linux: a high word of 0 means the whole dev_t is in the
    /// low word (xorriso writes that: 0x103 for 1,3), else they are major and minor
    /// (genisoimage). xorriso and bsdtar read genisoimage's 1,3 as 0,1048579.
    pub fn rdev(&self) -> (u32, u32) {
        let (high, low) = (self.high, self.low);
        if high == 0 {
            ((low >> 8) & 0xfff, (low & 0xff) | ((low >> 12) & 0xfff00))
        } else {
            (high, low)
        }
    }
}

/// SL component flags: the component continues in the next component record.
pub const SL_CONTINUE: u8 = 0x01;

/// One component record of an SL entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Component<'a> {
    /// 0x01 continue, 0x02 `.`, 0x04 `..`, 0x08 the root.
    pub flags: u8,
    pub content: &'a [u8],
}

/// SL: part of a symlink target (an SL entry whose flags have bit 0 set continues in the
/// next one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sl<'a> {
    pub flags: u8,
    pub components: Vec<Component<'a>>,
}

impl<'a> Sl<'a> {
    pub fn decode(image: &str, e: &Entry<'a>) -> Result<Sl<'a>> {
        let f = fields(image, e, 1)?;
        let mut components = Vec::new();
        let mut at = 1;
        while at < e.data.len() {
            let (flags, len) = match (f.u8(at), f.u8(at + 1)) {
                (Ok(flags), Ok(len)) => (flags, usize::from(len)),
                _ => return Err(corrupt(image, e, "SL component header cut short")),
            };
            let content = e.data.get(at + 2..at + 2 + len).ok_or_else(|| {
                corrupt(
                    image,
                    e,
                    format!("SL component of {len} bytes passes the entry"),
                )
            })?;
            components.push(Component { flags, content });
            at += 2 + len;
        }
        Ok(Sl {
            flags: f.u8(0)?,
            components,
        })
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        susp::bytes_of(|out| self.encode_into(out))
    }

    /// Appends the entry to `out`; refused when it does not fit an entry.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<()> {
        susp::put(out, *b"SL", susp::VERSION, |d| {
            d.push(self.flags);
            for c in &self.components {
                let len = u8::try_from(c.content.len())
                    .map_err(|_| Error::Usage("an SL component is over 255 bytes".into()))?;
                d.extend_from_slice(&[c.flags, len]);
                d.extend_from_slice(c.content);
            }
            Ok(())
        })
    }
}

/// NM: part of the name (flags bit 0 set: it continues in the next NM entry; bits 1 and 2:
/// the name is `.` or `..`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nm<'a> {
    pub flags: u8,
    pub name: &'a [u8],
}

impl<'a> Nm<'a> {
    pub fn decode(image: &str, e: &Entry<'a>) -> Result<Nm<'a>> {
        let f = fields(image, e, 1)?;
        Ok(Nm {
            flags: f.u8(0)?,
            name: e.data.get(1..).unwrap_or_default(),
        })
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        susp::bytes_of(|out| self.encode_into(out))
    }

    /// Appends the entry to `out`; refused when the name does not fit an entry.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<()> {
        susp::put(out, *b"NM", susp::VERSION, |d| {
            d.push(self.flags);
            d.extend_from_slice(self.name);
            Ok(())
        })
    }

    /// Whether the name is flagged as `.` or `..`.
    pub fn is_dot(&self) -> bool {
        self.flags & 0x06 != 0
    }
}

/// A TF time as recorded: the 7-byte form, or the 17-byte one (flags bit 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamp {
    Short([u8; 7]),
    Long([u8; 17]),
}

impl Stamp {
    /// The time checked: `Ok(None)` when not specified, an error when it cannot be a date
    /// (see [`iso_date::check_short`]).
    pub fn check(&self) -> std::result::Result<Option<Timestamp>, iso_date::Invalid> {
        match self {
            Stamp::Short(raw) => iso_date::check_short(raw),
            Stamp::Long(raw) => iso_date::check_long(raw),
        }
    }

    /// The time as recorded.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Stamp::Short(raw) => raw,
            Stamp::Long(raw) => raw,
        }
    }
}

/// TF flag bit 7: the times are in the 17-byte form.
pub const TF_LONG: u8 = 0x80;

/// TF: times, one for each of flag bits 0-6 that is set (creation, modification, access,
/// attribute change, backup, expiration, effective), recorded in that order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tf {
    pub flags: u8,
    /// The time of each flag bit (`None` where the bit is clear).
    pub times: [Option<Stamp>; 7],
}

impl Tf {
    pub fn decode(image: &str, e: &Entry) -> Result<Tf> {
        let f = fields(image, e, 1)?;
        let flags = f.u8(0)?;
        let width = if flags & TF_LONG != 0 { 17 } else { 7 };
        let mut times = [None; 7];
        let mut at = 1;
        for (bit, slot) in times.iter_mut().enumerate() {
            if flags & (1 << bit) == 0 {
                continue;
            }
            let raw = f
                .slice(at, width)
                .map_err(|_| corrupt(image, e, "TF entry shorter than its flags say"))?;
            let stamp = if width == 17 {
                raw.try_into().map(Stamp::Long)
            } else {
                raw.try_into().map(Stamp::Short)
            };
            *slot = Some(stamp.map_err(|_| corrupt(image, e, "TF time of the wrong width"))?);
            at += width;
        }
        Ok(Tf { flags, times })
    }

    /// The entry's bytes; refused when a flag bit has no time.
    pub fn encode(&self) -> Result<Vec<u8>> {
        susp::bytes_of(|out| self.encode_into(out))
    }

    /// Appends the entry to `out`; refused when a flag bit has no time.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<()> {
        susp::put(out, *b"TF", susp::VERSION, |d| {
            d.push(self.flags);
            for (bit, time) in self.times.iter().enumerate() {
                match time {
                    _ if self.flags & (1 << bit) == 0 => {}
                    Some(t) => d.extend_from_slice(t.bytes()),
                    None => {
                        return Err(Error::Usage(format!("TF flag bit {bit} without its time")));
                    }
                }
            }
            Ok(())
        })
    }
}

/// CL (child link: where a relocated directory really is) or PL (parent link: the real parent
/// of a relocated directory): a block number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    pub signature: [u8; 2],
    pub block: u32,
}

impl Link {
    pub fn decode(image: &str, e: &Entry) -> Result<Link> {
        Ok(Link {
            signature: e.signature,
            block: fields(image, e, 8)?.both32(0)?,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut d = [0u8; 8];
        endian::put_both32(&mut d, 0, self.block);
        susp::fixed(self.signature, &d)
    }
}

/// RE: this record is a relocated directory in its storage place.
pub fn encode_re() -> Vec<u8> {
    susp::fixed(*b"RE", &[])
}

/// Everything Rock Ridge says about one directory record.
#[derive(Clone, Debug, Default)]
pub struct RockRidge {
    pub px: Option<Px>,
    /// PN: device numbers (major, minor).
    pub rdev: Option<(u32, u32)>,
    /// SL: the symlink target, components joined by `/` (a root component is a `/` of its own).
    pub symlink: Option<Vec<u8>>,
    /// The last SL component ended without a "continue" flag: the next one starts a new
    /// path component.
    symlink_separator: bool,
    /// NM: the name.
    pub name: Option<Vec<u8>>,
    /// NM flagged the name as `.` or `..` (bit 1 or 2).
    pub name_is_dot: bool,
    pub mtime: Option<Timestamp>,
    pub atime: Option<Timestamp>,
    pub ctime: Option<Timestamp>,
    /// The first of those times that cannot be a date (read as unset): the TF entry's offset,
    /// which time and why.
    pub impossible_time: Option<(u64, String)>,
    /// CL: this record stands for a directory relocated to this block.
    pub child_link: Option<u32>,
    /// RE: this record is a relocated directory in its storage place: not listed there.
    pub relocated: bool,
    /// SF: the file is sparse (RRIP 1.12; no writer isofish knows makes them, reads fail).
    pub sparse: bool,
    /// ZF: zisofs compression.
    pub zf: Option<Zf>,
    /// ER: the extension identifiers (`RRIP_1991A`, `IEEE_P1282`, `IEEE_1282`, `AAIP_0200`...).
    pub extensions: Vec<String>,
}

impl RockRidge {
    /// Adds one SUSP entry; entries of other extensions are ignored.
    pub fn add(&mut self, image: &str, e: &Entry) -> Result<()> {
        match &e.signature {
            b"PX" => self.px = Some(Px::decode(image, e)?),
            b"PN" => self.rdev = Some(Pn::decode(image, e)?.rdev()),
            b"SL" => self.add_symlink_components(&Sl::decode(image, e)?),
            b"NM" => {
                let nm = Nm::decode(image, e)?;
                self.name_is_dot |= nm.is_dot();
                self.name
                    .get_or_insert_with(|| Vec::with_capacity(nm.name.len()))
                    .extend_from_slice(nm.name);
            }
            b"TF" => {
                let tf = Tf::decode(image, e)?;
                for (bit, slot, what) in [
                    (1, &mut self.mtime, "modification"),
                    (2, &mut self.atime, "access"),
                    (3, &mut self.ctime, "attribute change"),
                ] {
                    let Some(stamp) = tf.times[bit] else {
                        continue;
                    };
                    // Checked and decoded in one step: an impossible time reads as unset.
                    *slot = Some(match stamp.check() {
                        Ok(time) => time.unwrap_or_default(),
                        Err(why) => {
                            let said = format!("its {what} time is not a date ({why})");
                            self.impossible_time.get_or_insert((e.offset, said));
                            Timestamp::default()
                        }
                    });
                }
            }
            b"CL" => self.child_link = Some(Link::decode(image, e)?.block),
            // PL (in a relocated directory's `..`) names its real parent: the tree is walked
            // from the root, so the parent is already known.
            b"PL" => {}
            b"RE" => self.relocated = true,
            b"SF" => self.sparse = true,
            b"ZF" | b"Z2" => self.zf = Some(Zf::decode(image, e)?),
            b"ER" => self.extensions.push(Er::decode(image, e)?.id_text()),
            _ => {}
        }
        Ok(())
    }

    /// [`add`](Self::add) for the entries that say how a record is listed (NM, CL, RE);
    /// the others are not decoded.
    pub fn add_naming(&mut self, image: &str, e: &Entry) -> Result<()> {
        match &e.signature {
            b"NM" | b"CL" | b"RE" => self.add(image, e),
            _ => Ok(()),
        }
    }

    fn add_symlink_components(&mut self, sl: &Sl) {
        let target = self.symlink.get_or_insert_with(Vec::new);
        for c in &sl.components {
            if self.symlink_separator {
                target.push(b'/');
            }
            self.symlink_separator = true;
            match c.flags & 0x0e {
                0x02 => target.push(b'.'),
                0x04 => target.extend_from_slice(b".."),
                0x08 => {
                    // The root: a `/` the next component follows without a separator. Only a
                    // leading one makes the path absolute: mkisofs and xorriso write each
                    // empty component (`.///file`, `/tmp//..`) as a root, and Linux and
                    // xorriso read them back as those slashes.
                    target.push(b'/');
                    self.symlink_separator = false;
                }
                _ => target.extend_from_slice(c.content),
            }
            if c.flags & SL_CONTINUE != 0 {
                self.symlink_separator = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(bytes: &[u8]) -> Entry<'_> {
        Entry::decode("t", bytes, 0, 0).unwrap().unwrap()
    }

    #[test]
    fn rock_ridge_entries_round_trip() {
        for px in [
            Px {
                mode: 0o100644,
                nlink: 1,
                uid: 1000,
                gid: 100,
                serial: None,
            },
            Px {
                mode: 0o40755,
                nlink: 3,
                uid: 0,
                gid: 0,
                serial: Some(77),
            },
        ] {
            assert_eq!(Px::decode("t", &entry(&px.encode())).unwrap(), px);
        }
        let pn = Pn {
            high: 0,
            low: 0x103,
        };
        assert_eq!(Pn::decode("t", &entry(&pn.encode())).unwrap(), pn);
        assert_eq!(pn.rdev(), (1, 3));
        let sl = Sl {
            flags: 0,
            components: vec![
                Component {
                    flags: 0x08,
                    content: b"",
                },
                Component {
                    flags: 0,
                    content: b"usr",
                },
                Component {
                    flags: 0x04,
                    content: b"",
                },
            ],
        };
        let bytes = sl.encode().unwrap();
        assert_eq!(Sl::decode("t", &entry(&bytes)).unwrap(), sl);
        let mut rr = RockRidge::default();
        rr.add("t", &entry(&bytes)).unwrap();
        assert_eq!(rr.symlink.as_deref(), Some(&b"/usr/.."[..]));
        // Root components inside the path, as mkisofs and xorriso write `.///file` and
        // `/tmp//..`: the slashes they stand for, never a restart at `/`.
        let comp = |flags, content: &'static [u8]| Component { flags, content };
        for (components, target) in [
            (
                vec![
                    comp(0x02, b""),
                    comp(0x08, b""),
                    comp(0x08, b""),
                    comp(0, b"file"),
                ],
                &b".///file"[..],
            ),
            (
                vec![
                    comp(0x08, b""),
                    comp(0, b"tmp"),
                    comp(0x08, b""),
                    comp(0x04, b""),
                ],
                b"/tmp//..",
            ),
        ] {
            let mut rr = RockRidge::default();
            let sl = Sl {
                flags: 0,
                components,
            };
            rr.add("t", &entry(&sl.encode().unwrap())).unwrap();
            assert_eq!(rr.symlink.as_deref(), Some(target));
        }
        let nm = Nm {
            flags: 1,
            name: b"a long name",
        };
        assert_eq!(Nm::decode("t", &entry(&nm.encode().unwrap())).unwrap(), nm);
        for link in [*b"CL", *b"PL"].map(|signature| Link {
            signature,
            block: 1234,
        }) {
            assert_eq!(Link::decode("t", &entry(&link.encode())).unwrap(), link);
        }
        assert_eq!(entry(&encode_re()).signature, *b"RE");
    }

    #[test]
    fn times_round_trip_in_both_forms() {
        let t = Timestamp {
            secs: 1_700_000_000,
            nanos: 0,
        };
        let short = Some(Stamp::Short(iso_date::encode_short(t)));
        let long = Some(Stamp::Long(iso_date::encode_long(Some(t))));
        let tfs = [
            Tf {
                flags: 0x0e,
                times: [None, short, short, short, None, None, None],
            },
            Tf {
                flags: TF_LONG | 0x05,
                times: [long, None, long, None, None, None, None],
            },
        ];
        for tf in tfs {
            let back = Tf::decode("t", &entry(&tf.encode().unwrap())).unwrap();
            assert_eq!(back, tf);
        }
        let tf = Tf {
            flags: 0x06,
            times: [
                None,
                short,
                Some(Stamp::Short([0; 7])),
                None,
                None,
                None,
                None,
            ],
        };
        let time = |bit: usize| tf.times[bit].as_ref().map(|s| s.check().unwrap());
        assert_eq!(time(1), Some(Some(t)));
        assert_eq!(time(2), Some(None));
        assert_eq!(time(3), None);
        // An impossible time is unset, and said so.
        let mut month_165 = iso_date::encode_short(t);
        month_165[1] = 165;
        let tf = Tf {
            flags: 0x06,
            times: [
                None,
                short,
                Some(Stamp::Short(month_165)),
                None,
                None,
                None,
                None,
            ],
        };
        let mut rr = RockRidge::default();
        rr.add("t", &entry(&tf.encode().unwrap())).unwrap();
        assert_eq!((rr.mtime, rr.atime), (Some(t), Some(Timestamp::default())));
        let (at, why) = rr.impossible_time.unwrap();
        assert_eq!(
            (at, why.as_str()),
            (0, "its access time is not a date (month 165)")
        );
        let missing = Tf {
            flags: 0x02,
            times: [None; 7],
        };
        assert!(missing.encode().is_err());
        assert!(Tf::decode("t", &entry(b"TF\x0c\x01\x0e1234567")).is_err());
    }
}
