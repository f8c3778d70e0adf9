//! The warnings of an [`IsoFs`](super::IsoFs): where it reads a structure otherwise than it is
//! recorded, because what is recorded cannot be (a ZF entry that is not zisofs, read as the
//! stored bytes; an impossible date, read as unset). Each is said once, on stderr, naming the
//! image, the structure and its offset; at most [`MAX`] per image, so a hostile image cannot
//! flood the terminal or grow the set of those said.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::commands::format::escape_controls;
use crate::error::lock_cache as lock;

/// Warnings said at most, per image.
const MAX: usize = 64;

/// The warnings said so far: structure and offset.
#[derive(Default)]
pub(super) struct Warnings(Mutex<HashSet<(&'static str, u64)>>);

impl Warnings {
    /// Says on stderr that the `structure` at `offset` of `image` is read otherwise
    /// (`detail`), unless that was said already.
    pub(super) fn say(&self, image: &str, structure: &'static str, offset: u64, detail: &str) {
        let mut said = lock(&self.0);
        if said.len() > MAX || !said.insert((structure, offset)) {
            return;
        }
        if said.len() > MAX {
            eprintln!("isofish: warning: {image}: more warnings of this image are not shown");
        } else {
            eprintln!(
                "isofish: warning: {image}: {structure} at offset {offset}: {}",
                escape_controls(detail.as_bytes())
            );
        }
    }
}
