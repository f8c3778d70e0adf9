//! The id table: the uids and gids inodes refer to by 16-bit index, as a lookup table of u32
//! entries. The original's ids keep their indices (its table comes first, unchanged); ids
//! new to the image follow.

use std::collections::HashMap;

use super::compress::Encoder;
use super::metadata::lookup_table;
use crate::error::{Error, Result};
use crate::plan::Plan;

/// The ids of the new image.
pub struct Ids {
    ids: Vec<u32>,
    index: HashMap<u32, u16>,
}

impl Ids {
    /// A table starting with the original's `ids`.
    pub fn new(ids: impl IntoIterator<Item = u32>) -> Ids {
        let mut t = Ids {
            ids: Vec::new(),
            index: HashMap::new(),
        };
        for id in ids {
            let i = t.ids.len() as u16;
            t.ids.push(id);
            t.index.entry(id).or_insert(i);
        }
        t
    }

    /// The index of `id`, added if new; fails past 65536 ids (`image` names the image).
    pub fn index(&mut self, id: u32, image: &str) -> Result<u16> {
        if let Some(&i) = self.index.get(&id) {
            return Ok(i);
        }
        let i = u16::try_from(self.ids.len()).map_err(|_| {
            Error::unsupported(
                image,
                "more than 65536 distinct uids and gids in a squashfs",
            )
        })?;
        self.ids.push(id);
        self.index.insert(id, i);
        Ok(i)
    }

    /// How many ids the table holds.
    pub fn count(&self) -> u16 {
        self.ids.len() as u16
    }

    /// Appends the table to `plan`; returns the superblock's pointer.
    pub fn write(&self, plan: &mut Plan, encoder: &Encoder, uncompressed: bool) -> Result<u64> {
        let bytes: Vec<u8> = self.ids.iter().flat_map(|i| i.to_le_bytes()).collect();
        lookup_table(plan, encoder, uncompressed, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_ids_keep_their_indices() {
        let mut ids = Ids::new([1000, 0]);
        assert_eq!(ids.index(0, "t").unwrap(), 1);
        assert_eq!(ids.index(7, "t").unwrap(), 2);
        assert_eq!(ids.count(), 3);
    }
}
