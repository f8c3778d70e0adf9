//! Path table records (ECMA-119 §9.4): every directory of a tree by number, with the extent of
//! its directory and the number of its parent, in two copies, little-endian (type L) and
//! big-endian (type M). isofish reads the tree from the directory records, so path tables are
//! only decoded to be encoded again; the writer emits them with [`Record::encode`].

use crate::error::{Error, Result};
use crate::ondisk::{endian, Fields};

/// The byte order of a path table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Type L: little-endian numbers.
    Little,
    /// Type M: big-endian numbers.
    Big,
}

/// Bytes before the directory identifier.
const FIXED: usize = 8;
const STRUCTURE: &str = "path table record";

/// One path table record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Sectors of extended attribute record before the directory.
    pub ext_attr_len: u8,
    /// First logical block of the directory.
    pub extent: u32,
    /// Number (from 1, the root) of the parent directory's record.
    pub parent: u16,
    /// The directory identifier (`\0` for the root).
    pub name: &'a [u8],
}

impl<'a> Record<'a> {
    /// Decodes the record at `at` of `table` (the table lies at `offset` of `image`); returns
    /// it and the position of the next record.
    pub fn decode(
        table: &'a [u8],
        at: usize,
        order: Order,
        image: &str,
        offset: u64,
    ) -> Result<(Record<'a>, usize)> {
        let f = Fields::new(table, image, STRUCTURE, offset);
        let name_len = usize::from(f.u8(at)?);
        let (extent, parent) = match order {
            Order::Little => (f.le32(at + 2)?, f.le16(at + 6)?),
            Order::Big => (f.be32(at + 2)?, f.be16(at + 6)?),
        };
        let start = at + FIXED;
        let name = table
            .get(start..start + name_len)
            .filter(|_| name_len > 0)
            .ok_or_else(|| {
                Error::corrupt(
                    image,
                    STRUCTURE,
                    offset + at as u64,
                    format!("identifier length {name_len} does not fit the table"),
                )
            })?;
        let record = Record {
            ext_attr_len: f.u8(at + 1)?,
            extent,
            parent,
            name,
        };
        Ok((record, start + name_len + name_len % 2))
    }

    /// The record's bytes: the fixed part, the identifier and, after an identifier of odd
    /// length, a padding byte.
    pub fn encode(&self, order: Order) -> Result<Vec<u8>> {
        let name_len = u8::try_from(self.name.len())
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "a path table record cannot hold a {}-byte identifier",
                    self.name.len()
                ))
            })?;
        let len = FIXED + self.name.len() + self.name.len() % 2;
        let mut out = vec![0u8; len];
        out[0] = name_len;
        out[1] = self.ext_attr_len;
        match order {
            Order::Little => {
                endian::put_le32(&mut out, 2, self.extent);
                endian::put_le16(&mut out, 6, self.parent);
            }
            Order::Big => {
                endian::put_be32(&mut out, 2, self.extent);
                endian::put_be16(&mut out, 6, self.parent);
            }
        }
        out[FIXED..FIXED + self.name.len()].copy_from_slice(self.name);
        Ok(out)
    }
}

/// The records of a path table of `order` (`table` holds exactly its recorded size).
pub fn records<'a>(
    table: &'a [u8],
    order: Order,
    image: &'a str,
    offset: u64,
) -> impl Iterator<Item = Result<Record<'a>>> + 'a {
    let mut at = 0;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || at >= table.len() {
            return None;
        }
        let r = Record::decode(table, at, order, image, offset);
        Some(match r {
            Ok((record, next)) => {
                at = next;
                Ok(record)
            }
            Err(e) => {
                failed = true;
                Err(e)
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_table_records_round_trip() {
        for order in [Order::Little, Order::Big] {
            let recs = [
                Record {
                    ext_attr_len: 0,
                    extent: 20,
                    parent: 1,
                    name: &[0],
                },
                Record {
                    ext_attr_len: 0,
                    extent: 0x0102_0304,
                    parent: 1,
                    name: b"BOOT",
                },
                Record {
                    ext_attr_len: 1,
                    extent: 33,
                    parent: 2,
                    name: b"GRUB2",
                },
            ];
            let table: Vec<u8> = recs.iter().flat_map(|r| r.encode(order).unwrap()).collect();
            let back: Vec<Record> = records(&table, order, "t", 0)
                .collect::<Result<_>>()
                .unwrap();
            assert_eq!(back, recs);
        }
        let bad = Record {
            ext_attr_len: 0,
            extent: 0,
            parent: 1,
            name: b"",
        };
        assert!(bad.encode(Order::Little).is_err());
        assert!(
            records(&[9, 0, 0, 0, 0, 0, 1, 0, b'A'], Order::Little, "t", 0).any(|r| r.is_err())
        );
    }
}
