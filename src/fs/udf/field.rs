//! Fixed-size fields that UDF descriptors record as opaque bytes (entity identifiers,
//! character set specifications, dstrings, implementation use areas), read as arrays so an
//! encoder writes back exactly the bytes that were read.

use crate::error::Result;
use crate::ondisk::Fields;

/// The `N` bytes at `at`, or a corrupt-structure error when they run past the descriptor.
pub fn array<const N: usize>(f: &Fields, at: usize) -> Result<[u8; N]> {
    let mut out = [0u8; N];
    out.copy_from_slice(f.slice(at, N)?);
    Ok(out)
}
