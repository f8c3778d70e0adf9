//! The UDF writer: [`plan`] turns a tree (the overlay over an opened UDF image, or the image
//! itself) into the [`Plan`] of a new pure UDF image that keeps what the original carried:
//! its UDF revision (domain, NSR02/NSR03, descriptor tag version), its block size, file
//! entries or extended file entries, a metadata partition (with its mirror) when it had one,
//! the volume's identifiers, dates and implementation use descriptors, each file's recorded
//! entry (owner, permissions, times, extended attributes, unique id) unless the change
//! touched it, and the order of the file data.
//!
//! One module per concern: `tree` gathers the objects, `layout` reserves every block, `emit`
//! encodes the structures (with the encoders beside the decoders in [`super`]) and lists the
//! image's spans in one pass.
//!
//! Choices where the standards leave room:
//! - Layout: the original's first 32 KiB (system area), the recognition sequence, the main
//!   volume descriptor sequence, the integrity sequence, the anchor at block 256; the
//!   partition from block 257 (space bitmap if the original had one, the file set
//!   descriptor, every file entry, the directories, then the file data); the anchor at N-256,
//!   the reserve sequence after it, and the anchor at N (mkudffs's places). The image keeps the original's size when the new tree fits in it (the rest is
//!   free space, as mkudffs images have), else grows to what it needs.
//! - Every file's data is one run of blocks, in extents under 2^30 bytes; holes are written
//!   as zeros. ICBs use strategy 4; allocation descriptors are short, long for file data on a
//!   metadata partition volume.
//! - Sparable and virtual (VAT) partitions, which are for write-once and packet media, are
//!   written as a type 1 partition (a warning says so); named streams (UDF 2.00+), extended
//!   attributes recorded in their own ICB and the system stream directory are not written (a
//!   warning names them; staging refuses new extended attributes).

mod bridge;
mod emit;
mod layout;
mod tree;

pub(crate) use bridge::side;
pub(crate) use emit::{implementation, new_entry};
pub use tree::{cs0_name, NAME_MAX};

use super::integrity::{self, IntegrityDescriptor};
use super::partition::Map;
use super::partition_descriptor::PartitionDescriptor;
use super::partition_map::MetadataMap;
use super::tag::Tag;
use super::UdfFs;
use crate::error::{Error, Result};
use crate::fs::{FileSystem, Ino};
use crate::overlay::Provenance;
use crate::plan::Plan;

/// What the new image keeps of the original's format.
struct Style {
    block_size: u32,
    /// 0x0102 ... 0x0260, from the logical volume's domain.
    revision: u16,
    /// The descriptor tag version: 2 below UDF 2.00, 3 from it.
    tag_version: u16,
    /// The tag serial number the original's descriptors carry.
    serial: u16,
    /// Extended file entries (the root's kind in the original).
    extended: bool,
    /// The original's metadata partition map.
    metadata: Option<MetadataMap>,
    /// The physical partition's descriptor.
    partition: PartitionDescriptor,
    /// The partition records its free space in a bitmap.
    bitmap: bool,
    /// The last integrity descriptor of the original.
    integrity: Option<IntegrityDescriptor>,
}

impl Style {
    fn of(original: &UdfFs, plan: &mut Plan) -> Result<Style> {
        let d = &original.desc;
        let revision = original.desc.logical.udf_revision();
        let metadata = MetadataMap::find(&d.logical.maps, d.logical.map_count);
        let number = match &metadata {
            Some(m) => m.partition(),
            None => d.partitions[0].number,
        };
        let partition = d
            .partitions
            .iter()
            .find(|p| p.number == number)
            .unwrap_or(&d.partitions[0])
            .clone();
        for m in &original.vol.maps {
            let kind = match m {
                Map::Sparable { .. } => "sparable",
                Map::Virtual { .. } => "virtual (VAT)",
                _ => continue,
            };
            plan.warn(format!(
                "{}: its {kind} partition is written as a type 1 partition",
                original.image()
            ));
        }
        let root = original.node(original.root())?;
        Ok(Style {
            block_size: original.block_size,
            revision,
            tag_version: if revision < 0x0200 { 2 } else { 3 },
            serial: d.primary.tag.serial,
            extended: root.fe.extended.is_some(),
            metadata,
            bitmap: crate::ondisk::endian::le32(&partition.contents_use, 8).unwrap_or(0) != 0,
            partition,
            integrity: integrity::read_last(
                original.source().as_ref(),
                original.block_size,
                d.logical.integrity,
            ),
        })
    }

    /// The original's next unique id (from its integrity descriptor).
    fn next_unique(&self) -> u64 {
        self.integrity.as_ref().map_or(0, |i| {
            u64::from_le_bytes(i.contents_use[..8].try_into().unwrap_or([0; 8]))
        })
    }

    /// Signs the descriptor `b` (its whole length after the tag in the CRC) as identifier
    /// `ident` recorded at block `location`.
    fn sign(&self, b: &mut [u8], ident: u16, location: u32) {
        Tag::new(ident, self.tag_version, self.serial, location, b.len()).encode(b);
    }
}

/// The new image of `original` holding `tree`: see the module's description. `provenance`
/// says which objects are the original's, so their recorded entries and data are kept.
pub fn plan(
    original: &UdfFs,
    tree: &dyn FileSystem,
    provenance: &dyn Fn(Ino) -> Provenance,
) -> Result<Plan> {
    if original.bridge {
        return Err(Error::unsupported(
            original.image(),
            "rewriting the UDF side of a bridge image (with ISO 9660 descriptors) alone: \
             commit writes both sides",
        ));
    }
    let mut plan = Plan::new();
    let style = Style::of(original, &mut plan)?;
    let next_unique = style.next_unique();
    let template = tree::by_ino(original);
    let tree = tree::Tree::gather(original, tree, provenance, &template, true, next_unique)?;
    for w in tree.dropped(original)? {
        plan.warn(w);
    }
    let layout = layout::Layout::new(original, &style, &tree, &layout::Frame::Pure)?;
    emit::emit(original, &style, &tree, &layout, &mut plan)?;
    Ok(plan)
}
