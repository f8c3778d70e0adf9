//! Rock Ridge (RRIP 1.09, 1.10 and 1.12): the POSIX attributes a record's SUSP entries carry.
//! PX (mode, links, owner, 1.12 serial number), PN (device numbers), SL (symlink target, over
//! several entries), NM (name, over several entries), TF (times, short and long form), CL/PL/RE
//! (directory relocation), SF (sparse files: listed, reads refused), ER (which RRIP), and ZF or Z2 (zisofs, zisofs2; decoded in
//! [`super::zisofs`]).

use super::record::{both_endian_u32, decode_short_date};
use super::susp::Entry;
use super::volume::decode_long_date;
use super::zisofs::Zf;
use crate::error::{Error, Result};
use crate::fs::Timestamp;

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

/// Everything Rock Ridge says about one directory record.
#[derive(Clone, Debug, Default)]
pub struct RockRidge {
    pub px: Option<Px>,
    /// PN: device numbers (major, minor).
    pub rdev: Option<(u32, u32)>,
    /// SL: the symlink target, components joined by `/`.
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

fn corrupt(image: &str, e: &Entry, detail: impl Into<String>) -> Error {
    Error::corrupt(image, "Rock Ridge entry", e.offset, detail)
}

fn need(image: &str, e: &Entry, len: usize) -> Result<()> {
    if e.data.len() < len {
        return Err(corrupt(
            image,
            e,
            format!(
                "{} entry has {} data bytes, needs {len}",
                String::from_utf8_lossy(&e.signature),
                e.data.len()
            ),
        ));
    }
    Ok(())
}

impl RockRidge {
    /// Adds one SUSP entry; entries of other extensions are ignored.
    pub fn add(&mut self, image: &str, e: &Entry) -> Result<()> {
        let d = e.data;
        match &e.signature {
            b"PX" => {
                need(image, e, 32)?;
                let serial = (d.len() >= 40).then(|| both_endian_u32(&d[32..40]));
                self.px = Some(Px {
                    mode: both_endian_u32(&d[0..8]),
                    nlink: both_endian_u32(&d[8..16]),
                    uid: both_endian_u32(&d[16..24]),
                    gid: both_endian_u32(&d[24..32]),
                    serial,
                });
            }
            b"PN" => {
                need(image, e, 16)?;
                // As Linux: a high word of 0 means the whole dev_t is in the low word
                // (xorriso writes that: 0x103 for 1,3), else they are major and minor
                // (genisoimage). xorriso and bsdtar read genisoimage's 1,3 as 0,1048579.
                let (high, low) = (both_endian_u32(&d[0..8]), both_endian_u32(&d[8..16]));
                self.rdev = Some(if high == 0 {
                    ((low >> 8) & 0xfff, (low & 0xff) | ((low >> 12) & 0xfff00))
                } else {
                    (high, low)
                });
            }
            b"SL" => {
                need(image, e, 1)?;
                self.add_symlink_components(image, e, &d[1..])?;
            }
            b"NM" => {
                need(image, e, 1)?;
                if d[0] & 0x06 != 0 {
                    self.name_is_dot = true;
                }
                self.name
                    .get_or_insert_with(Vec::new)
                    .extend_from_slice(&d[1..]);
            }
            b"TF" => self.add_times(image, e)?,
            b"CL" => {
                need(image, e, 8)?;
                self.child_link = Some(both_endian_u32(&d[0..8]));
            }
            // PL (in a relocated directory's `..`) names its real parent: the tree is walked
            // from the root, so the parent is already known.
            b"PL" => {}
            b"RE" => self.relocated = true,
            b"SF" => self.sparse = true,
            b"ZF" | b"Z2" => self.zf = Some(Zf::decode(image, e)?),
            b"ER" => {
                need(image, e, 4)?;
                let id_len = usize::from(d[0]);
                let id = d.get(4..4 + id_len).ok_or_else(|| {
                    corrupt(
                        image,
                        e,
                        format!("ER identifier of {id_len} bytes passes the entry"),
                    )
                })?;
                self.extensions
                    .push(String::from_utf8_lossy(id).into_owned());
            }
            _ => {}
        }
        Ok(())
    }

    fn add_symlink_components(&mut self, image: &str, e: &Entry, mut comps: &[u8]) -> Result<()> {
        let target = self.symlink.get_or_insert_with(Vec::new);
        while !comps.is_empty() {
            let (flags, len) = match comps {
                [f, l, ..] => (*f, usize::from(*l)),
                _ => return Err(corrupt(image, e, "SL component header cut short")),
            };
            let content = comps.get(2..2 + len).ok_or_else(|| {
                corrupt(
                    image,
                    e,
                    format!("SL component of {len} bytes passes the entry"),
                )
            })?;
            if self.symlink_separator {
                target.push(b'/');
            }
            self.symlink_separator = true;
            match flags & 0x0e {
                0x02 => target.push(b'.'),
                0x04 => target.extend_from_slice(b".."),
                0x08 => {
                    // The root: "/" alone, the next component follows without a separator.
                    target.clear();
                    target.push(b'/');
                    self.symlink_separator = false;
                }
                _ => target.extend_from_slice(content),
            }
            if flags & 0x01 != 0 {
                self.symlink_separator = false;
            }
            comps = &comps[2 + len..];
        }
        Ok(())
    }

    fn add_times(&mut self, image: &str, e: &Entry) -> Result<()> {
        need(image, e, 1)?;
        let flags = e.data[0];
        let width = if flags & 0x80 != 0 { 17 } else { 7 };
        let mut stamps = &e.data[1..];
        for bit in 0..7 {
            if flags & (1 << bit) == 0 {
                continue;
            }
            let raw = stamps
                .get(..width)
                .ok_or_else(|| corrupt(image, e, "TF entry shorter than its flags say"))?;
            stamps = &stamps[width..];
            let t = if width == 17 {
                decode_long_date(raw).unwrap_or_default()
            } else {
                decode_short_date(raw)
            };
            match bit {
                1 => self.mtime = Some(t),
                2 => self.atime = Some(t),
                3 => self.ctime = Some(t),
                _ => {}
            }
        }
        Ok(())
    }
}
