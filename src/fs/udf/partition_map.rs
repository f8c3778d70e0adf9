//! Entries of the logical volume's partition map table (ECMA-167 3/10.7, UDF 2.2.8-2.2.10)
//! as a writer records them: a type 1 map, and the type 2 metadata partition map (UDF 2.2.10)
//! naming the metadata file, its mirror and its bitmap; encoded. The reader's side is
//! [`super::partition`].

use crate::ondisk::endian::{le16, put_le16, put_le32};

/// Length of a type 1 map.
pub const TYPE1_LEN: usize = 6;
/// Length of a type 2 map.
pub const TYPE2_LEN: usize = 64;
/// The regid identifier of a metadata partition map.
pub const METADATA_ID: &str = "*UDF Metadata Partition";
/// No metadata bitmap file (UDF 2.2.10: the location is all ones).
pub const NO_BITMAP: u32 = u32::MAX;

/// A type 1 map of partition `number` on volume 1 of the set.
pub fn type1(number: u16) -> [u8; TYPE1_LEN] {
    let mut b = [1, TYPE1_LEN as u8, 0, 0, 0, 0];
    put_le16(&mut b, 2, 1);
    put_le16(&mut b, 4, number);
    b
}

/// A metadata partition map as recorded (the 64 bytes of a type 2 map).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataMap {
    /// The map as found (its regid with the UDF revision, volume sequence number, allocation
    /// and alignment units, flags), which [`MetadataMap::encode`] keeps.
    pub raw: [u8; TYPE2_LEN],
}

impl MetadataMap {
    /// The metadata map among the entries of `table`, if one is.
    pub fn find(table: &[u8], count: u32) -> Option<MetadataMap> {
        let mut pos = 0;
        for _ in 0..count.min(64) {
            let len = usize::from(*table.get(pos + 1)?);
            let m = table.get(pos..pos + len)?;
            if m[0] == 2 && len == TYPE2_LEN && super::cs0::regid(&m[4..36]) == METADATA_ID {
                let mut raw = [0u8; TYPE2_LEN];
                raw.copy_from_slice(m);
                return Some(MetadataMap { raw });
            }
            if len == 0 {
                return None;
            }
            pos += len;
        }
        None
    }

    /// The allocation unit of the metadata file, in blocks (at least 1).
    pub fn allocation_unit(&self) -> u32 {
        u32::from_le_bytes([self.raw[52], self.raw[53], self.raw[54], self.raw[55]]).max(1)
    }

    /// The partition number it maps over.
    pub fn partition(&self) -> u16 {
        le16(&self.raw, 38).unwrap_or_default()
    }

    /// The map over partition `number` with its metadata file at block `file`, the mirror at
    /// `mirror` (of that partition) and no bitmap file; the duplicate flag set when the mirror
    /// is a copy of its own.
    pub fn encode(&self, number: u16, file: u32, mirror: u32, duplicated: bool) -> [u8; TYPE2_LEN] {
        let mut b = self.raw;
        put_le16(&mut b, 38, number);
        put_le32(&mut b, 40, file);
        put_le32(&mut b, 44, mirror);
        put_le32(&mut b, 48, NO_BITMAP);
        b[58] = u8::from(duplicated);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_maps_are_found_and_patched() {
        let mut raw = [0u8; TYPE2_LEN];
        raw[0] = 2;
        raw[1] = 64;
        raw[5..5 + METADATA_ID.len()].copy_from_slice(METADATA_ID.as_bytes());
        raw[52] = 32;
        let table = [&type1(0)[..], &raw[..]].concat();
        let m = MetadataMap::find(&table, 2).unwrap();
        assert_eq!(m.allocation_unit(), 32);
        let b = m.encode(0, 10, 20, true);
        assert_eq!(&b[40..52], &[10, 0, 0, 0, 20, 0, 0, 0, 255, 255, 255, 255]);
        assert_eq!(MetadataMap::find(&type1(0), 1), None);
    }
}
