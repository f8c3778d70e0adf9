//! The volume descriptor sequence (ECMA-167 3/8.4): primary, logical volume, partition,
//! implementation use, unallocated space, pointer and terminating descriptors, read from the
//! main sequence or, when that one is damaged, from the reserve.

use crate::error::{Error, Result};
use crate::source::Source;

use super::ad::{long_ad, Ad};
use super::anchor::ExtentAd;
use super::cs0;
use super::tag::{id, le16, le32, Tag};

/// The primary volume descriptor's identification.
#[derive(Clone, Debug, Default)]
pub struct Primary {
    pub volume_id: String,
    pub volume_set_id: String,
    pub application_id: String,
    pub implementation_id: String,
}

/// A partition descriptor: where the partition's blocks lie.
#[derive(Clone, Debug)]
pub struct PartitionDesc {
    pub number: u16,
    /// `+NSR02` (UDF 1.x) or `+NSR03` (2.x).
    pub contents: String,
    /// Access type: 1 read-only, 2 write-once, 3 rewritable, 4 overwritable.
    pub access: u32,
    /// First block of the partition, in blocks from the start of the image.
    pub start: u32,
    pub length: u32,
}

/// The logical volume descriptor: block size, domain, where the file set is, partition maps.
#[derive(Clone, Debug)]
pub struct Logical {
    pub volume_id: String,
    pub block_size: u32,
    pub domain_id: String,
    /// The UDF revision the domain identifier names (0x0102, 0x0150, 0x0201, 0x0250...).
    pub udf_revision: u16,
    pub file_set: Ad,
    pub implementation_id: String,
    /// The raw partition map table and the number of maps in it.
    pub maps: Vec<u8>,
    pub map_count: u32,
    /// Where the logical volume integrity sequence is.
    pub integrity: ExtentAd,
}

/// Everything the sequence told.
#[derive(Clone, Debug)]
pub struct Descriptors {
    pub primary: Primary,
    pub logical: Logical,
    pub partitions: Vec<PartitionDesc>,
    /// What implementation use volume descriptors say, as (label, value) pairs.
    pub implementation_use: Vec<(String, String)>,
}

/// Descriptors read in one sequence, following pointers, at most.
const MAX_DESCRIPTORS: u32 = 4096;

const STRUCTURE: &str = "UDF volume descriptor";

fn decode_logical(buf: &[u8], image: &str, offset: u64) -> Result<Logical> {
    let map_len = le32(buf, 264) as usize;
    let maps = buf
        .get(440..440usize.saturating_add(map_len))
        .ok_or_else(|| {
            Error::corrupt(
                image,
                "UDF logical volume descriptor",
                offset,
                format!("partition map table of {map_len} bytes passes the block"),
            )
        })?
        .to_vec();
    Ok(Logical {
        volume_id: cs0::dstring(&buf[84..212]),
        block_size: le32(buf, 212),
        domain_id: cs0::regid(&buf[216..248]),
        udf_revision: le16(buf, 216 + 24),
        file_set: long_ad(buf, 248),
        implementation_id: cs0::regid(&buf[272..304]),
        maps,
        map_count: le32(buf, 268),
        integrity: ExtentAd::decode(buf, 432),
    })
}

/// The logical volume information of an implementation use volume descriptor (UDF 2.2.7):
/// owner, organization and contact (LVInfo1-3) and the implementation that wrote the volume;
/// for another kind of descriptor, its identifier.
fn lv_info(buf: &[u8]) -> Vec<(String, String)> {
    let ident = cs0::regid(&buf[20..52]);
    if ident != "*UDF LV Info" {
        return vec![("Implementation use".into(), ident)];
    }
    vec![
        ("Owner".into(), cs0::dstring(&buf[244..280])),
        ("Organization".into(), cs0::dstring(&buf[280..316])),
        ("Contact".into(), cs0::dstring(&buf[316..352])),
        (
            "Implementation (LV info)".into(),
            cs0::regid(&buf[352..384]),
        ),
    ]
}

/// Reads the sequence in `extent` (blocks of `bs` bytes).
pub fn read_sequence(src: &dyn Source, bs: u32, extent: ExtentAd) -> Result<Descriptors> {
    let image = src.name();
    let bs64 = u64::from(bs);
    let mut primary: Option<(u32, Primary)> = None;
    let mut logical: Option<(u32, Logical)> = None;
    let mut partitions: Vec<(u32, PartitionDesc)> = Vec::new();
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
        let vds_number = le32(&buf, 16);
        match tag.ident {
            id::PRIMARY_VOLUME if primary.as_ref().is_none_or(|(n, _)| vds_number >= *n) => {
                let p = Primary {
                    volume_id: cs0::dstring(&buf[24..56]),
                    volume_set_id: cs0::dstring(&buf[72..200]),
                    application_id: cs0::regid(&buf[344..376]),
                    implementation_id: cs0::regid(&buf[388..420]),
                };
                primary = Some((vds_number, p));
            }
            id::LOGICAL_VOLUME if logical.as_ref().is_none_or(|(n, _)| vds_number >= *n) => {
                logical = Some((vds_number, decode_logical(&buf, image, offset)?));
            }
            id::PARTITION => {
                let p = PartitionDesc {
                    number: le16(&buf, 22),
                    contents: cs0::regid(&buf[24..56]),
                    access: le32(&buf, 184),
                    start: le32(&buf, 188),
                    length: le32(&buf, 192),
                };
                match partitions.iter_mut().find(|(_, q)| q.number == p.number) {
                    Some(slot) if vds_number >= slot.0 => *slot = (vds_number, p),
                    Some(_) => {}
                    None => partitions.push((vds_number, p)),
                }
            }
            id::IMPLEMENTATION_USE => implementation_use.extend(lv_info(&buf)),
            id::VOLUME_POINTER => {
                let next = ExtentAd::decode(&buf, 20);
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
    let logical = logical
        .ok_or_else(|| missing("logical volume descriptor"))?
        .1;
    if partitions.is_empty() {
        return Err(missing("partition descriptor"));
    }
    Ok(Descriptors {
        primary: primary
            .ok_or_else(|| missing("primary volume descriptor"))?
            .1,
        logical,
        partitions: partitions.into_iter().map(|(_, p)| p).collect(),
        implementation_use,
    })
}
