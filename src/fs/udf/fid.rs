//! File identifier descriptors (ECMA-167 4/14.4): the entries of a directory's data, each a
//! name in OSTA CS0, characteristics (hidden, directory, deleted, parent) and the ICB of the
//! file it names; decoded and encoded.

use crate::error::{Error, Result};
use crate::ondisk::endian::{le16, put_le16};
use crate::ondisk::Fields;

use super::ad::{long_ad, Ad, AdForm};
use super::tag::{id, Tag};

/// Characteristic bits.
pub const HIDDEN: u8 = 1 << 0;
pub const DIRECTORY: u8 = 1 << 1;
pub const DELETED: u8 = 1 << 2;
pub const PARENT: u8 = 1 << 3;

/// Length of the descriptor before its implementation use and name.
pub const HEAD: usize = 38;

const STRUCTURE: &str = "UDF file identifier descriptor";

/// One entry of a directory, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fid<'a> {
    pub tag: Tag,
    pub version: u16,
    pub characteristics: u8,
    pub icb: Ad,
    pub implementation_use: &'a [u8],
    /// The name as recorded: CS0 d-characters, compression id first.
    pub name: &'a [u8],
}

impl<'a> Fid<'a> {
    /// True for the entries a listing shows: not the parent entry, not deleted ones, and
    /// hidden ones only when `unhide` is set (as Linux's `unhide` mount option does).
    pub fn listed(&self, unhide: bool) -> bool {
        let skip = DELETED | PARENT | if unhide { 0 } else { HIDDEN };
        self.characteristics & skip == 0
    }

    /// Length of the descriptor with the padding to four bytes that follows it.
    pub fn recorded_len(&self) -> usize {
        (HEAD + self.implementation_use.len() + self.name.len()).next_multiple_of(4)
    }

    /// Decodes the descriptor at the start of `rest` (a directory's data from this entry
    /// on), recorded at block `location`; `offset` names it in errors.
    pub fn decode(rest: &'a [u8], location: u32, image: &str, offset: u64) -> Result<Self> {
        let corrupt = |detail: String| Error::corrupt(image, STRUCTURE, offset, detail);
        let (Some(&l_fi), Some(l_iu)) = (rest.get(19), le16(rest, 36)) else {
            return Err(corrupt("descriptor passes the directory's end".into()));
        };
        let (l_fi, l_iu) = (usize::from(l_fi), usize::from(l_iu));
        let need = HEAD + l_iu + l_fi;
        if rest.len() < need {
            return Err(corrupt(format!("{need} bytes pass the directory's end")));
        }
        let fid = &rest[..need.next_multiple_of(4).min(rest.len())];
        let tag = Tag::check(fid, id::FILE_IDENTIFIER, location, image, STRUCTURE, offset)?;
        let f = Fields::new(fid, image, STRUCTURE, offset);
        Ok(Fid {
            tag,
            version: f.le16(16)?,
            characteristics: f.u8(18)?,
            icb: long_ad(&f, 20)?,
            // `fid` holds at least `need` bytes.
            implementation_use: &fid[HEAD..HEAD + l_iu],
            name: &fid[HEAD + l_iu..need],
        })
    }

    /// The bytes of the descriptor, padded with zeros to four bytes. The name must be at most
    /// 255 bytes and the implementation use at most 65535 (the fields' widths).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; self.recorded_len()];
        put_le16(&mut b, 16, self.version);
        b[18] = self.characteristics;
        b[19] = self.name.len() as u8;
        b[20..36].copy_from_slice(&self.icb.encode(AdForm::Long));
        put_le16(&mut b, 36, self.implementation_use.len() as u16);
        let iu_end = HEAD + self.implementation_use.len();
        b[HEAD..iu_end].copy_from_slice(self.implementation_use);
        b[iu_end..iu_end + self.name.len()].copy_from_slice(self.name);
        self.tag.encode(&mut b);
        b
    }
}

/// Decodes the descriptors of a directory's data. `block_of(pos)` gives the block the byte
/// at `pos` of the data is recorded at (to check each tag's location), `offset_of(pos)` its
/// offset in the image (for errors).
pub fn parse_all<'a>(
    data: &'a [u8],
    image: &str,
    block_of: impl Fn(usize) -> u32,
    offset_of: impl Fn(usize) -> u64,
) -> Result<Vec<Fid<'a>>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) {
        if rest.len() < HEAD && rest.iter().all(|&b| b == 0) {
            break;
        }
        let fid = Fid::decode(rest, block_of(pos), image, offset_of(pos))?;
        pos += fid.recorded_len();
        out.push(fid);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::udf::tag::patterned;

    #[test]
    fn round_trips() {
        // Two bytes of implementation use and a five-byte name, padded to 48 bytes.
        let b = patterned(id::FILE_IDENTIFIER, 48, |b| {
            b[19] = 5;
            b[36..38].copy_from_slice(&2u16.to_le_bytes());
            b[45..].fill(0);
        });
        let fid = Fid::decode(&b, 0, "x", 0).unwrap();
        assert_eq!(fid.recorded_len(), 48);
        assert_eq!(fid.encode(), b);
        assert_eq!(Fid::decode(&fid.encode(), 0, "x", 0).unwrap(), fid);
        let data = [&b[..], &b[..], &[0; 8]].concat();
        let all = parse_all(&data, "x", |_| 0, |_| 0).unwrap();
        assert_eq!(all, vec![fid.clone(), fid]);
    }
}
