//! Rebuilding a nested image: the new bytes of the file a changed filesystem was read from,
//! written by that format's own writer from the tree as it is now (staged changes included).
//! The session calls [`plan`] for each changed nested mount, innermost first, and puts the
//! result in the place of the file in the parent's overlay. One arm per writable format.

use crate::error::{Error, Result};
use crate::fs::cpio::{self, CpioFs};
use crate::fs::fat::{self, FatFs};
use crate::fs::iso9660::{self, IsoFs};
use crate::fs::squashfs::{self, SquashFs};
use crate::fs::udf::{self, UdfFs};
use crate::fs::{FileSystem, Ino};
use crate::overlay::Provenance;
use crate::plan::Plan;

/// The new bytes of the image `original` was read from (its [`FileSystem::source`]), holding
/// `tree` (the overlay over `original`); `provenance` says which objects of `tree` are the
/// original's and whether their data and metadata are unchanged, so each writer copies what
/// did not change (blocks, records) instead of encoding it again.
pub fn plan(
    original: &dyn FileSystem,
    tree: &dyn FileSystem,
    provenance: &dyn Fn(Ino) -> Provenance,
) -> Result<Plan> {
    let any = original as &dyn std::any::Any;
    if let Some(iso) = any.downcast_ref::<IsoFs>() {
        return iso9660::write::plan(iso, tree, provenance, &iso9660::write::Options::default());
    }
    if let Some(cpio) = any.downcast_ref::<CpioFs>() {
        return cpio::write::plan(cpio, tree, provenance);
    }
    if let Some(fat) = any.downcast_ref::<FatFs>() {
        return fat::write::plan(fat, tree, provenance);
    }
    if let Some(udf) = any.downcast_ref::<UdfFs>() {
        return udf::write::plan(udf, tree, provenance);
    }
    if let Some(sq) = any.downcast_ref::<SquashFs>() {
        return squashfs::write::plan(sq, tree, provenance);
    }
    Err(refusal(original))
}

/// Why a change under a mount of `fs` can never be written back (`None`: its format has a
/// writer, or will): the formats isofish keeps read-only. Asked before anything is staged.
pub fn refuses(fs: &dyn FileSystem) -> Option<String> {
    match fs.type_name() {
        name @ ("ext2" | "ext3" | "ext4") => Some(format!(
            "{name} filesystems are read-only in isofish: `copy-out` the tree, change it, and \
             `tar-in` it into a format isofish writes"
        )),
        "erofs" => Some("EROFS filesystems are read-only in isofish".into()),
        name @ ("rpm" | "deb" | "tar") => Some(format!(
            "{name} archives are read-only in isofish: `copy-out` the tree to change it"
        )),
        _ => None,
    }
}

fn refusal(fs: &dyn FileSystem) -> Error {
    Error::unsupported(
        fs.source().name(),
        refuses(fs).unwrap_or_else(|| {
            format!(
                "rebuilding a {} image (no writer for it yet)",
                fs.type_name()
            )
        }),
    )
}
