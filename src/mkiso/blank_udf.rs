//! The UDF 1.02 volume of a bridge blank (`mkiso udf:`): what makes the blank a bridge image
//! that [`crate::fs::udf::UdfFs`] opens, so the commit path's bridge writer writes a UDF tree
//! from the ISO 9660 tree staged over it. Its descriptors carry what the new image's UDF side
//! keeps (revision 1.02, the label as volume and file set identifiers, the date, the CS0
//! character sets, the domain), encoded with the UDF structures' own encoders; its root is an
//! empty directory.
//!
//! Blocks (as [`super::blank`] places them): the recognition sequence right after the ISO
//! 9660 terminator, the main volume descriptor sequence at [`MAIN`], the reserve one at
//! [`RESERVE`], the integrity sequence at [`INTEGRITY`], the anchor at 256, the partition
//! from 257 ([`PARTITION_BLOCKS`]: file set descriptor, its terminator, the root's entry and
//! its directory), and the second anchor at the volume's last block (left out before a
//! backup GPT).

use crate::fs::udf::ad::{Ad, AdForm, ExtentType, LbAddr};
use crate::fs::udf::anchor::{AnchorDescriptor, ExtentAd};
use crate::fs::udf::fid::{self, Fid};
use crate::fs::udf::file_entry::{file_type, Data};
use crate::fs::udf::file_set::FileSet;
use crate::fs::udf::implementation_use::ImplementationUse;
use crate::fs::udf::integrity::IntegrityDescriptor;
use crate::fs::udf::logical_volume::LogicalVolume;
use crate::fs::udf::partition_descriptor::PartitionDescriptor;
use crate::fs::udf::primary::PrimaryVolume;
use crate::fs::udf::tag::{id, Tag};
use crate::fs::udf::terminating::Terminating;
use crate::fs::udf::timestamp::UdfTime;
use crate::fs::udf::unallocated::UnallocatedSpace;
use crate::fs::udf::write::{implementation, new_entry};
use crate::fs::udf::{cs0, partition_map, vrs};
use crate::fs::Timestamp;

/// The UDF revision written.
const REVISION: u16 = 0x0102;
/// The descriptor tag version of UDF 1.x.
const TAG_VERSION: u16 = 2;
const BLOCK: usize = 2048;
/// The main and reserve volume descriptor sequences, the integrity sequence (blocks).
pub const MAIN: u32 = 32;
pub const RESERVE: u32 = 48;
pub const INTEGRITY: u32 = 64;
/// The first anchor, and the partition right after it.
pub const ANCHOR: u32 = 256;
pub const PARTITION: u32 = 257;
/// The partition's blocks: file set descriptor, terminator, root entry, root directory.
pub const PARTITION_BLOCKS: u32 = 4;
/// Blocks of each volume descriptor sequence recorded (the anchor's extents are 16 long).
const VDS_BLOCKS: u32 = 16;
/// The root's entry and its directory, in the partition.
const ROOT_ENTRY: u32 = 2;
const ROOT_DIR: u32 = 3;

/// The recognition sequence (BEA01, NSR02, TEA01), one 2048-byte block each.
pub fn recognition() -> Vec<u8> {
    vrs::sequence(REVISION, BLOCK)
}

/// A dstring field of `N` bytes holding `text` (cut to fit).
fn dstring<const N: usize>(text: &str) -> [u8; N] {
    let mut field = [0u8; N];
    let mut chars = cs0::encode(text);
    chars.truncate(N - 1);
    field[..chars.len()].copy_from_slice(&chars);
    field[N - 1] = chars.len() as u8;
    field
}

/// The CS0 character set field ("OSTA Compressed Unicode").
fn charset() -> [u8; 64] {
    let mut c = [0u8; 64];
    c[1..24].copy_from_slice(b"OSTA Compressed Unicode");
    c
}

/// The domain regid `*OSTA UDF Compliant`, revision 1.02.
fn domain() -> [u8; 32] {
    let mut d = [0u8; 32];
    d[1..20].copy_from_slice(b"*OSTA UDF Compliant");
    d[24..26].copy_from_slice(&REVISION.to_le_bytes());
    d
}

/// The descriptor `b`, signed as `ident` at `location`, padded to a block.
fn signed(mut b: Vec<u8>, ident: u16, location: u32) -> Vec<u8> {
    Tag::new(ident, TAG_VERSION, 1, location, b.len()).encode(&mut b);
    b.resize(BLOCK, 0);
    b
}

/// The long_ad of `len` bytes at partition block `block`.
fn long_ad(block: u32, len: u32) -> Ad {
    Ad {
        len,
        kind: ExtentType::Recorded,
        loc: LbAddr { block, part: 0 },
        impl_use: [0; 6],
    }
}

/// The blank's UDF blocks: (block, bytes) to put in the image; the second anchor at `last`
/// when given.
pub fn blocks(label: &str, date: Timestamp, last: Option<u32>) -> Vec<(u32, Vec<u8>)> {
    let time = UdfTime::of(date);
    let mut out = Vec::new();
    for start in [MAIN, RESERVE] {
        out.push((start, sequence(label, time, start)));
    }
    out.push((INTEGRITY, integrity(time)));
    out.push((
        INTEGRITY + 1,
        signed(
            Terminating { tag: tag() }.encode(),
            id::TERMINATING,
            INTEGRITY + 1,
        ),
    ));
    for at in std::iter::once(ANCHOR).chain(last) {
        out.push((at, anchor(at)));
    }
    out.push((PARTITION, file_set(label, time)));
    out.push((
        PARTITION + 1,
        signed(Terminating { tag: tag() }.encode(), id::TERMINATING, 1),
    ));
    let (entry, dir) = root(time);
    out.push((PARTITION + ROOT_ENTRY, entry));
    out.push((PARTITION + ROOT_DIR, dir));
    out
}

/// A tag to be replaced when the descriptor is signed.
fn tag() -> Tag {
    Tag::new(0, 0, 0, 0, 0)
}

/// A volume descriptor sequence recorded from block `at`: primary, implementation use (the
/// logical volume information), partition, logical volume, unallocated space, terminator.
fn sequence(label: &str, time: UdfTime, at: u32) -> Vec<u8> {
    let primary = PrimaryVolume {
        tag: tag(),
        vds_number: 0,
        number: 0,
        volume_id: dstring(label),
        volume_sequence: 1,
        max_volume_sequence: 1,
        interchange_level: 2,
        max_interchange_level: 2,
        charset_list: 1,
        max_charset_list: 1,
        // UDF 2.2.2.5: 16 characters of a unique value first.
        volume_set_id: dstring(&format!("{:016x}{label}", time_seed(time))),
        descriptor_charset: charset(),
        explanatory_charset: charset(),
        volume_abstract: ExtentAd { len: 0, block: 0 },
        copyright_notice: ExtentAd { len: 0, block: 0 },
        application_id: implementation(),
        recorded: time,
        implementation_id: implementation(),
        implementation_use: [0; 64],
        predecessor: 0,
        flags: 0,
    };
    let mut lv_info_id = [0u8; 32];
    lv_info_id[1..13].copy_from_slice(b"*UDF LV Info");
    lv_info_id[24..26].copy_from_slice(&REVISION.to_le_bytes());
    let mut lv_info = [0u8; 460];
    lv_info[..64].copy_from_slice(&charset());
    lv_info[64..192].copy_from_slice(&dstring::<128>(label));
    lv_info[300..332].copy_from_slice(&implementation());
    let lv_info = ImplementationUse {
        tag: tag(),
        vds_number: 1,
        implementation_id: lv_info_id,
        implementation_use: lv_info,
    };
    let mut contents = [0u8; 32];
    contents[1] = b'+';
    contents[2..7].copy_from_slice(vrs::nsr(REVISION));
    let partition = PartitionDescriptor {
        tag: tag(),
        vds_number: 2,
        flags: 1,
        number: 0,
        contents,
        contents_use: [0; 128],
        // Read-only: a disc.
        access: 1,
        start: PARTITION,
        length: PARTITION_BLOCKS,
        implementation_id: implementation(),
        implementation_use: [0; 128],
    };
    let logical = LogicalVolume {
        tag: tag(),
        vds_number: 3,
        descriptor_charset: charset(),
        volume_id: dstring(label),
        block_size: BLOCK as u32,
        domain_id: domain(),
        file_set: long_ad(0, BLOCK as u32),
        map_count: 1,
        implementation_id: implementation(),
        implementation_use: [0; 128],
        integrity: ExtentAd {
            len: 2 * BLOCK as u32,
            block: INTEGRITY,
        },
        maps: partition_map::type1(0).to_vec(),
    };
    let unallocated = UnallocatedSpace {
        tag: tag(),
        vds_number: 4,
        extents: Vec::new(),
    };
    [
        signed(primary.encode(), id::PRIMARY_VOLUME, at),
        signed(lv_info.encode(), id::IMPLEMENTATION_USE, at + 1),
        signed(partition.encode(), id::PARTITION, at + 2),
        signed(logical.encode(), id::LOGICAL_VOLUME, at + 3),
        signed(unallocated.encode(), id::UNALLOCATED_SPACE, at + 4),
        signed(Terminating { tag: tag() }.encode(), id::TERMINATING, at + 5),
    ]
    .concat()
}

/// A number from the date, for the volume set identifier.
fn time_seed(time: UdfTime) -> u64 {
    time.0.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The closed integrity descriptor: one directory, no file, the partition full.
fn integrity(time: UdfTime) -> Vec<u8> {
    let mut contents_use = [0u8; 32];
    // Unique ids 0-15 are reserved (UDF 3.2.1.1).
    contents_use[..8].copy_from_slice(&16u64.to_le_bytes());
    let mut iu = vec![0u8; 46];
    iu[..32].copy_from_slice(&implementation());
    iu[36..40].copy_from_slice(&1u32.to_le_bytes());
    for at in [40, 42, 44] {
        iu[at..at + 2].copy_from_slice(&REVISION.to_le_bytes());
    }
    let d = IntegrityDescriptor {
        tag: tag(),
        recorded: time,
        integrity_type: 1,
        next: ExtentAd { len: 0, block: 0 },
        contents_use,
        free_space: vec![0],
        sizes: vec![PARTITION_BLOCKS],
        implementation_use: iu,
    };
    signed(d.encode(), id::INTEGRITY, INTEGRITY)
}

/// An anchor recorded at `block`.
fn anchor(block: u32) -> Vec<u8> {
    let extent = |block| ExtentAd {
        len: VDS_BLOCKS * BLOCK as u32,
        block,
    };
    let a = AnchorDescriptor {
        tag: tag(),
        main: extent(MAIN),
        reserve: extent(RESERVE),
    };
    signed(a.encode(), id::ANCHOR, block)
}

/// The file set descriptor (partition block 0).
fn file_set(label: &str, time: UdfTime) -> Vec<u8> {
    let f = FileSet {
        tag: tag(),
        recorded: time,
        interchange_level: 3,
        max_interchange_level: 3,
        charset_list: 1,
        max_charset_list: 1,
        file_set_number: 0,
        file_set_descriptor_number: 0,
        volume_id_charset: charset(),
        volume_id: dstring(label),
        file_set_charset: charset(),
        file_set_id: dstring(label),
        copyright_file_id: [0; 32],
        abstract_file_id: [0; 32],
        root: long_ad(ROOT_ENTRY, BLOCK as u32),
        domain_id: domain(),
        next_extent: long_ad(0, 0),
        system_stream_directory: long_ad(0, 0),
    };
    signed(f.encode(), id::FILE_SET, 0)
}

/// The root's file entry and its directory (its parent entry alone).
fn root(time: UdfTime) -> (Vec<u8>, Vec<u8>) {
    let parent = Fid {
        tag: tag(),
        version: 1,
        characteristics: fid::DIRECTORY | fid::PARENT,
        icb: long_ad(ROOT_ENTRY, BLOCK as u32),
        implementation_use: &[],
        name: &[],
    };
    let dir = parent.encode();
    let len = dir.len() as u64;
    let dir = signed(dir, id::FILE_IDENTIFIER, ROOT_DIR);
    let mut fe = new_entry(false, file_type::DIRECTORY, time);
    fe.set_mode(0o40755);
    fe.size = len;
    fe.blocks_recorded = 1;
    fe.data = Data::Extents(
        vec![Ad {
            len: len as u32,
            ..long_ad(ROOT_DIR, 0)
        }],
        AdForm::Short,
    );
    (signed(fe.encode(), id::FILE_ENTRY, ROOT_ENTRY), dir)
}
