//! The xattr table: the key/value area (per attribute its type, the name without its
//! namespace prefix, the value), the id entries (where a set's attributes start in the area,
//! how many, their listed size), the 16-byte header (`kv_start`, the id count) and the offsets
//! of the id blocks. Each distinct set is stored once; values are stored in line. Names
//! outside the `user.`, `trusted.` and `security.` namespaces cannot be stored in squashfs
//! and are left out with a warning.

use std::collections::HashMap;

use super::compress::Encoder;
use super::metadata::{blocks, MetadataWriter};
use crate::error::Result;
use crate::fs::squashfs::inode::NO_XATTR;
use crate::fs::Xattr;
use crate::plan::Plan;

/// The namespaces squashfs records, by type.
const PREFIXES: [&[u8]; 3] = [b"user.", b"trusted.", b"security."];

/// One stored attribute: its type (namespace), the name without its prefix, the value.
type Stored = (u16, Vec<u8>, Vec<u8>);
/// A set as given: full names and values, in order.
type Given = Vec<(Vec<u8>, Vec<u8>)>;

/// The distinct attribute sets of the new image, by id.
#[derive(Default)]
pub struct Xattrs {
    sets: Vec<Vec<Stored>>,
    ids: HashMap<Given, u32>,
    /// Names that could not be stored.
    pub dropped: Vec<String>,
}

impl Xattrs {
    /// The id of the set `xattrs` ([`NO_XATTR`] for none), added if new.
    pub fn id(&mut self, xattrs: Vec<Xattr>) -> u32 {
        if xattrs.is_empty() {
            return NO_XATTR;
        }
        let key: Given = xattrs.into_iter().map(|x| (x.name, x.value)).collect();
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        let mut set = Vec::new();
        for (name, value) in &key {
            let typed = PREFIXES
                .iter()
                .enumerate()
                .find(|(_, p)| name.starts_with(p) && name.len() > p.len());
            match typed {
                Some((kind, p)) => set.push((kind as u16, name[p.len()..].to_vec(), value.clone())),
                None => self
                    .dropped
                    .push(String::from_utf8_lossy(name).into_owned()),
            }
        }
        let id = if set.is_empty() {
            NO_XATTR
        } else {
            self.sets.push(set);
            self.sets.len() as u32 - 1
        };
        self.ids.insert(key, id);
        id
    }

    /// True when no set was recorded (the image gets no xattr table).
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Appends the table to `plan`; returns the superblock's pointer.
    pub fn write(&self, plan: &mut Plan, encoder: &Encoder, uncompressed: bool) -> Result<u64> {
        let mut kv = MetadataWriter::new(encoder, uncompressed);
        let mut ids = Vec::with_capacity(self.sets.len() * 16);
        for set in &self.sets {
            let (block, offset) = kv.position();
            let mut listed = 0u32;
            for (kind, name, value) in set {
                kv.write(&kind.to_le_bytes())?;
                kv.write(&(name.len() as u16).to_le_bytes())?;
                kv.write(name)?;
                kv.write(&(value.len() as u32).to_le_bytes())?;
                kv.write(value)?;
                let prefix = PREFIXES[usize::from(*kind)].len();
                listed += (prefix + name.len() + 1 + value.len()) as u32;
            }
            ids.extend_from_slice(&((block << 16) | u64::from(offset)).to_le_bytes());
            ids.extend_from_slice(&(set.len() as u32).to_le_bytes());
            ids.extend_from_slice(&listed.to_le_bytes());
        }
        let kv_start = plan.push_bytes(kv.finish()?);
        let index = blocks(plan, encoder, uncompressed, &ids)?;
        let mut header = Vec::with_capacity(16 + index.len());
        header.extend_from_slice(&kv_start.to_le_bytes());
        header.extend_from_slice(&(self.sets.len() as u32).to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(&index);
        Ok(plan.push_bytes(header))
    }
}
