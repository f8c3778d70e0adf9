//! PLACEHOLDER (not committed): replaced by the isowrite branch.
use super::IsoFs;
use crate::error::{Error, Result};
use crate::fs::{FileSystem, Ino};
use crate::overlay::Provenance;
use crate::plan::Plan;

/// Placeholder.
pub fn plan(
    original: &IsoFs,
    _tree: &dyn FileSystem,
    _provenance: &dyn Fn(Ino) -> Provenance,
) -> Result<Plan> {
    Err(Error::unsupported(original.source().name(), "writing"))
}
