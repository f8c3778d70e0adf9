//! The System Use Sharing Protocol (SUSP, IEEE P1281): the entries of a record's system use
//! area and its continuation areas. Handles SP (the skip length), CE (continuation, chains
//! bounded and checked for loops), ST (stop), PD (padding) and ES; every other entry goes to
//! the caller (Rock Ridge, zisofs, ER).

use std::collections::HashSet;

use super::SECTOR;
use crate::error::{Error, Result};
use crate::source::Source;

/// Continuation areas followed at most for one record (xorriso needs about 33 for one
/// attribute value of 64 KiB, Linux's largest).
const MAX_CONTINUATIONS: usize = 1024;

/// One SUSP entry.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    pub signature: [u8; 2],
    /// The bytes after the 4-byte header.
    pub data: &'a [u8],
    /// Byte offset of the entry in the source.
    pub offset: u64,
}

/// The SP entry at the start of the root's `.` record: SUSP is in use; returns the number of
/// bytes to skip at the start of every other system use area.
pub fn sp_skip(system_use: &[u8]) -> Option<u8> {
    match system_use {
        [b'S', b'P', len, _, 0xbe, 0xef, skip, ..] if *len >= 7 => Some(*skip),
        _ => None,
    }
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
        while pos + 4 <= area.len() {
            let at = area_offset + pos as u64;
            let (sig, len) = ([area[pos], area[pos + 1]], usize::from(area[pos + 2]));
            if sig == [0, 0] {
                break; // padding to the end of the area
            }
            if len < 4 || pos + len > area.len() {
                return Err(corrupt(
                    at,
                    format!(
                        "entry {} of length {len} does not fit its area ({} bytes left)",
                        String::from_utf8_lossy(&sig),
                        area.len() - pos
                    ),
                ));
            }
            let entry = Entry {
                signature: sig,
                data: &area[pos + 4..pos + len],
                offset: at,
            };
            match &sig {
                b"ST" => break,
                b"PD" | b"ES" | b"SP" => {}
                b"CE" => {
                    let d = entry.data;
                    if d.len() < 24 {
                        return Err(corrupt(at, "CE entry shorter than 28 bytes".into()));
                    }
                    let (block, off, len) = (
                        u64::from(super::record::both_endian_u32(&d[0..8])),
                        u64::from(super::record::both_endian_u32(&d[8..16])),
                        u64::from(super::record::both_endian_u32(&d[16..24])),
                    );
                    if off + len > SECTOR {
                        return Err(corrupt(
                            at,
                            format!(
                                "continuation area at offset {off} of length {len} leaves its block"
                            ),
                        ));
                    }
                    next = Some((block * SECTOR + off, len, at));
                }
                _ => visit(&entry)?,
            }
            pos += len;
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
