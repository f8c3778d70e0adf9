//! Information control blocks (ECMA-167 4/6.6, 4/14.7): finding the current file entry of
//! an ICB, directly (strategy 4) or by following indirect entries (strategy 4096), and the
//! allocation extent descriptors that continue a file's list of allocation descriptors.

use std::collections::HashSet;

use crate::error::{Error, Result};

use crate::ondisk::Fields;

use super::ad::{decode_all, long_ad, Ad, ExtentType, LbAddr};
use super::file_entry::{is_entry, Data, FileEntry};
use super::partition::Volume;
use super::tag::{id, Tag};

const INDIRECT: &str = "UDF indirect entry";
const AED: &str = "UDF allocation extent descriptor";

/// The ICB an indirect entry (ECMA-167 4/14.7) in `buf` points to.
fn indirect_target(vol: &Volume, buf: &[u8], offset: u64) -> Result<LbAddr> {
    Ok(long_ad(&Fields::new(buf, vol.image(), INDIRECT, offset), 36)?.loc)
}

/// Indirect entries followed from one ICB at most (Linux uses the same bound).
const MAX_NESTING: usize = 1024;
/// Allocation extent descriptors followed for one file at most.
const MAX_AEDS: usize = 1 << 16;

/// Reads the current file entry of the ICB at `loc`.
pub fn read_entry(vol: &Volume, loc: LbAddr) -> Result<FileEntry> {
    let mut at = loc;
    let mut current: Option<FileEntry> = None;
    let mut seen = HashSet::new();
    for _ in 0..MAX_NESTING {
        if !seen.insert(at) {
            break;
        }
        let (buf, offset) = vol.read_block(at, "UDF file entry")?;
        let tag = Tag::parse(&buf, vol.image(), "UDF file entry", offset)?;
        if tag.ident == id::INDIRECT_ENTRY {
            Tag::check(
                &buf,
                id::INDIRECT_ENTRY,
                at.block,
                vol.image(),
                INDIRECT,
                offset,
            )?;
            at = indirect_target(vol, &buf, offset)?;
            continue;
        }
        if !is_entry(tag.ident) && current.is_some() {
            break;
        }
        let fe = FileEntry::decode(&buf, at.block, at.part, vol.image(), offset)?;
        let strategy = fe.icb_tag.strategy;
        current = Some(fe);
        if strategy != 4096 {
            break;
        }
        // Strategy 4096: the block after the entry may hold an indirect entry to a newer ICB.
        let next = LbAddr {
            block: at.block.wrapping_add(1),
            part: at.part,
        };
        let Ok((buf, offset)) = vol.read_block(next, INDIRECT) else {
            break;
        };
        match Tag::check(
            &buf,
            id::INDIRECT_ENTRY,
            next.block,
            vol.image(),
            INDIRECT,
            offset,
        ) {
            Ok(_) => at = indirect_target(vol, &buf, offset)?,
            Err(_) => break,
        }
    }
    current.ok_or_else(|| {
        Error::corrupt(
            vol.image(),
            "UDF ICB",
            vol.offset_hint(loc),
            "indirect entries loop or nest too deep",
        )
    })
}

/// All allocation descriptors of `fe`, following allocation extent descriptors; `None` for
/// data embedded in the entry.
pub fn allocation(vol: &Volume, fe: &FileEntry) -> Result<Option<Vec<Ad>>> {
    let Data::Extents(first, form) = &fe.data else {
        return Ok(None);
    };
    let mut out = Vec::new();
    let mut list = first.clone();
    let mut seen = HashSet::new();
    loop {
        let next = match list.last() {
            Some(ad) if ad.kind == ExtentType::Continuation => Some(*ad),
            _ => None,
        };
        out.extend(list.iter().filter(|a| a.kind != ExtentType::Continuation));
        let Some(next) = next else {
            return Ok(Some(out));
        };
        if !seen.insert(next.loc) || seen.len() > MAX_AEDS {
            return Err(Error::corrupt(
                vol.image(),
                AED,
                vol.offset_hint(next.loc),
                "the chain of allocation extents loops",
            ));
        }
        let (buf, offset) = vol.read_block(next.loc, AED)?;
        Tag::check(
            &buf,
            id::ALLOCATION_EXTENT,
            next.loc.block,
            vol.image(),
            AED,
            offset,
        )?;
        let f = Fields::new(&buf, vol.image(), AED, offset);
        let len = (f.le32(20)? as usize).min(next.len as usize);
        let area = f
            .slice(24, len)
            .map_err(|_| f.corrupt(format!("{len} bytes of descriptors pass the block")))?;
        list = decode_all(area, *form, next.loc.part);
    }
}
