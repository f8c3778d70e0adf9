//! libisofs's checksum array (`xorriso -md5 on`; libisofs's `doc/checksums.txt`), kept true
//! by an in-place commit: the root's `isofs.ca` attribute says where it lies (its first
//! block, the END of the checksummed range) and how many items it holds, each file's
//! `isofs.cx` its index. Item 0 is the MD5 of the session up to the array, items 1 to N the
//! files', item N + 1 the MD5 of items 0 to N. xorriso's `-check_md5` compares a file's data
//! with its item even when the checksum tags are gone, so a file whose data changes gets its
//! item (and the last one) anew. Item 0 is not recomputed (it would need a read of the whole
//! image): nothing checks it once the tags are dropped.

use md5::{Digest, Md5};

use super::{IsoFs, SECTOR};
use crate::error::{Error, Result};
use crate::fs::{FileSystem, Ino};

/// Bytes of one MD5 item.
const ITEM: u64 = 16;

/// Where the array lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Array {
    /// Byte offset of item 0.
    offset: u64,
    /// Items, the first and last included.
    count: u64,
}

impl Array {
    /// The array the root of `iso` records, if any. One that is not MD5 items, or that
    /// passes the image's end, is reported as damaged.
    pub fn of(iso: &IsoFs) -> Result<Option<Array>> {
        let Some(value) = iso.isofs_attribute(iso.root(), b"ca")? else {
            return Ok(None);
        };
        Array::parse(&value, iso.source.len())
            .map(Some)
            .map_err(|detail| Error::corrupt(iso.source.name(), "isofs.ca attribute", 0, detail))
    }

    /// The array an `isofs.ca` value describes in an image of `len` bytes, or why it cannot
    /// be used.
    fn parse(value: &[u8], len: u64) -> std::result::Result<Array, String> {
        let mut fields = [0u64; 4];
        let mut rest = value;
        for field in &mut fields {
            let (&n, after) = rest
                .split_first()
                .ok_or("cut short before its four numbers")?;
            let n = usize::from(n);
            if n > 8 {
                return Err(format!("a number of {n} bytes"));
            }
            if after.len() < n {
                return Err("cut short inside its numbers".into());
            }
            *field = after[..n].iter().fold(0u64, |v, &b| v << 8 | u64::from(b));
            rest = &after[n..];
        }
        let [_, end, count, size] = fields;
        if size != ITEM || rest != b"MD5" {
            return Err(format!(
                "items of {size} bytes of {}, not MD5",
                String::from_utf8_lossy(rest)
            ));
        }
        let offset = end.saturating_mul(SECTOR);
        let fits = count
            .checked_mul(ITEM)
            .and_then(|n| n.checked_add(offset))
            .is_some_and(|stop| stop <= len);
        if count < 2 || !fits {
            return Err(format!(
                "{count} items from block {end} do not fit the image"
            ));
        }
        Ok(Array { offset, count })
    }

    /// The items of files whose data changes (the record at each `Ino` with the MD5 of its
    /// new data), written into the array as read from `iso`, with the last item recomputed:
    /// the array's new bytes and their offset. Files without an index are skipped.
    pub fn updated(&self, iso: &IsoFs, files: &[(Ino, [u8; 16])]) -> Result<(u64, Vec<u8>)> {
        let image = iso.source.name();
        let mut items = vec![0u8; (self.count * ITEM) as usize];
        iso.source
            .read_exact_at(self.offset, &mut items, "checksum array")?;
        for (ino, md5) in files {
            let Some(index) = iso.isofs_attribute(*ino, b"cx")? else {
                continue;
            };
            if index.len() > 8 {
                return Err(Error::corrupt(
                    image,
                    "isofs.cx attribute",
                    *ino,
                    format!("an index of {} bytes", index.len()),
                ));
            }
            let index = index.iter().fold(0u64, |n, &b| n << 8 | u64::from(b));
            if index == 0 || index >= self.count - 1 {
                return Err(Error::corrupt(
                    image,
                    "isofs.cx attribute",
                    *ino,
                    format!("index {index} outside the {} file items", self.count - 2),
                ));
            }
            let at = (index * ITEM) as usize;
            items[at..at + ITEM as usize].copy_from_slice(md5);
        }
        let last = ((self.count - 1) * ITEM) as usize;
        let sum = Md5::digest(&items[..last]);
        items[last..].copy_from_slice(&sum);
        Ok((self.offset, items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_value_parses_and_hostile_ones_say_why_not() {
        // libisofs's example: blocks 32 to 1000000, 520 items of 16 bytes, MD5.
        let good = [1, 32, 3, 15, 66, 64, 2, 2, 8, 1, 16, b'M', b'D', b'5'];
        let len = 1_000_000 * SECTOR + 520 * ITEM;
        assert_eq!(
            Array::parse(&good, len),
            Ok(Array {
                offset: 1_000_000 * SECTOR,
                count: 520
            })
        );
        let err = |value: &[u8], len| Array::parse(value, len).unwrap_err();
        assert!(err(&good, len - 1).contains("do not fit"));
        assert!(err(&good[..5], len).contains("cut short inside"));
        assert!(err(&good[..2], len).contains("cut short"));
        assert!(err(&[9, 0, 0, 0, 0, 0, 0, 0, 0, 0], len).contains("9 bytes"));
        let mut sha = good.to_vec();
        sha.truncate(11);
        sha.extend(b"SHA1");
        assert!(err(&sha, len).contains("not MD5"));
        // Item counts that overflow the offset arithmetic.
        let huge = [
            1, 0, 8, 255, 255, 255, 255, 255, 255, 255, 255, 8, 255, 255, 255, 255, 255, 255, 255,
            255, 1, 16, b'M', b'D', b'5',
        ];
        assert!(err(&huge, u64::MAX).contains("do not fit"));
    }
}
