//! The volume descriptor sequence (ECMA-167 3/8.4): primary, logical volume, partition,
//! implementation use, unallocated space, pointer and terminating descriptors, read from the
//! main sequence or, when that one is damaged, from the reserve. Each descriptor is decoded by
//! its own module; this one keeps, of each, the one with the highest sequence number.

use crate::error::{Error, Result};
use crate::ondisk::Fields;
use crate::source::Source;

use super::anchor::ExtentAd;
use super::implementation_use::ImplementationUse;
use super::logical_volume::LogicalVolume;
use super::partition_descriptor::PartitionDescriptor;
use super::primary::PrimaryVolume;
use super::tag::{id, Tag};

/// Everything the sequence told: of each descriptor, the one with the highest sequence
/// number.
#[derive(Clone, Debug)]
pub struct Descriptors {
    pub primary: PrimaryVolume,
    pub logical: LogicalVolume,
    pub partitions: Vec<PartitionDescriptor>,
    pub implementation_use: Vec<ImplementationUse>,
}

/// Descriptors read in one sequence, following pointers, at most.
const MAX_DESCRIPTORS: u32 = 4096;

const STRUCTURE: &str = "UDF volume descriptor";

/// Reads the sequence in `extent` (blocks of `bs` bytes).
pub fn read_sequence(src: &dyn Source, bs: u32, extent: ExtentAd) -> Result<Descriptors> {
    let image = src.name();
    let bs64 = u64::from(bs);
    let mut primary: Option<PrimaryVolume> = None;
    let mut logical: Option<LogicalVolume> = None;
    let mut partitions: Vec<PartitionDescriptor> = Vec::new();
    let mut implementation_use = Vec::new();
    let mut block = extent.block;
    let mut left = extent.len / bs;
    let mut read = 0;
    while left > 0 && read < MAX_DESCRIPTORS {
        read += 1;
        let offset = u64::from(block) * bs64;
        let buf = src.read_vec(offset, bs as usize, STRUCTURE)?;
        let tag = Tag::parse(&buf, image, STRUCTURE, offset)?;
        if tag.ident == 0 {
            // An unrecorded block ends the sequence as a terminating descriptor would.
            break;
        }
        tag.check_location(block, image, STRUCTURE, offset)?;
        match tag.ident {
            id::PRIMARY_VOLUME => {
                let p = PrimaryVolume::decode(&buf, image, offset)?;
                if primary
                    .as_ref()
                    .is_none_or(|q| p.vds_number >= q.vds_number)
                {
                    primary = Some(p);
                }
            }
            id::LOGICAL_VOLUME => {
                let l = LogicalVolume::decode(&buf, image, offset)?;
                if logical
                    .as_ref()
                    .is_none_or(|q| l.vds_number >= q.vds_number)
                {
                    logical = Some(l);
                }
            }
            id::PARTITION => {
                let p = PartitionDescriptor::decode(&buf, image, offset)?;
                match partitions.iter_mut().find(|q| q.number == p.number) {
                    Some(slot) if p.vds_number >= slot.vds_number => *slot = p,
                    Some(_) => {}
                    None => partitions.push(p),
                }
            }
            id::IMPLEMENTATION_USE => {
                implementation_use.push(ImplementationUse::decode(&buf, image, offset)?)
            }
            id::VOLUME_POINTER => {
                let next = ExtentAd::decode(&Fields::new(&buf, image, STRUCTURE, offset), 20)?;
                block = next.block;
                left = next.len / bs;
                continue;
            }
            id::TERMINATING => break,
            _ => {}
        }
        block = block.checked_add(1).ok_or_else(|| {
            Error::corrupt(image, STRUCTURE, offset, "sequence runs past block 2^32")
        })?;
        left -= 1;
    }
    let end = u64::from(extent.block) * bs64;
    let missing = |what: &str| Error::corrupt(image, STRUCTURE, end, format!("no {what}"));
    let logical = logical.ok_or_else(|| missing("logical volume descriptor"))?;
    if partitions.is_empty() {
        return Err(missing("partition descriptor"));
    }
    Ok(Descriptors {
        primary: primary.ok_or_else(|| missing("primary volume descriptor"))?,
        logical,
        partitions,
        implementation_use,
    })
}
