//! File identifier descriptors (ECMA-167 4/14.4): the entries of a directory's data, each a
//! name in OSTA CS0, characteristics (hidden, directory, deleted, parent) and the ICB of the
//! file it names.

use crate::error::{Error, Result};

use super::ad::{long_ad, Ad};
use super::tag::{id, le16, Tag};

/// Characteristic bits.
const HIDDEN: u8 = 1 << 0;
const DELETED: u8 = 1 << 2;
const PARENT: u8 = 1 << 3;

/// One entry of a directory.
#[derive(Clone, Debug)]
pub struct Fid<'a> {
    pub characteristics: u8,
    /// The name as recorded: CS0 d-characters, compression id first.
    pub name: &'a [u8],
    pub icb: Ad,
}

impl Fid<'_> {
    /// True for the entries a listing shows: not the parent entry, not deleted ones, and
    /// hidden ones only when `unhide` is set (as Linux's `unhide` mount option does).
    pub fn listed(&self, unhide: bool) -> bool {
        let skip = DELETED | PARENT | if unhide { 0 } else { HIDDEN };
        self.characteristics & skip == 0
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
    const STRUCTURE: &str = "UDF file identifier descriptor";
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let offset = || offset_of(pos);
        let rest = &data[pos..];
        if rest.len() < 38 {
            if rest.iter().all(|&b| b == 0) {
                break;
            }
            return Err(Error::corrupt(
                image,
                STRUCTURE,
                offset(),
                "descriptor passes the directory's end",
            ));
        }
        let l_fi = usize::from(rest[19]);
        let l_iu = usize::from(le16(rest, 36));
        let len = (38 + l_iu + l_fi + 3) & !3;
        let need = 38 + l_iu + l_fi;
        if rest.len() < need {
            return Err(Error::corrupt(
                image,
                STRUCTURE,
                offset(),
                format!("{need} bytes pass the directory's end"),
            ));
        }
        let fid = &rest[..len.min(rest.len())];
        Tag::check(
            fid,
            id::FILE_IDENTIFIER,
            block_of(pos),
            image,
            STRUCTURE,
            offset(),
        )?;
        out.push(Fid {
            characteristics: fid[18],
            name: &fid[38 + l_iu..38 + l_iu + l_fi],
            icb: long_ad(fid, 20),
        });
        pos += len;
    }
    Ok(out)
}
