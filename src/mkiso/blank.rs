//! The blank image `mkiso` writes over: an ISO 9660 volume with nothing in it but what the
//! writer copies from an original: a primary descriptor (volume id, dates, identifiers), Rock
//! Ridge announced in the root (SP, and in a continuation area PX with serial numbers and the
//! `RRIP_1991A` ER, as xorriso writes them), a Joliet descriptor, and, for `hybrid:`, an
//! isohybrid MBR (and an empty GPT) whose partition 1 covers the volume. Its root holds one
//! placeholder file whose data ends the blank's data, so the boot replay knows where the
//! blank's data ends ([`PLACEHOLDER`], removed before the host tree is staged); with
//! `-joliet-long`, its Joliet tree lists it under a 103-character name.
//!
//! With `udf`, the blank is a bridge image: it carries a UDF 1.02 volume with an empty root
//! as well ([`super::blank_udf`]), so the writer writes a UDF tree beside the ISO 9660 trees.
//!
//! Blocks: 16 primary, 17 Joliet, 18 terminator, 19-22 the path tables (L and M of each tree),
//! 23 and 24 the roots, 25 the root's continuation area, 26 the placeholder's data; then, for a
//! GPT, room for its backup. With `udf`: 19-21 the UDF recognition sequence, the ISO 9660
//! blocks after it 3 blocks later (22-25 the path tables, 26 and 27 the roots, 28 the
//! continuation area), the UDF descriptors at 32, 48 and 64, the anchor at 256, the UDF
//! partition at 257-260, the placeholder's data at 261 and, without a GPT, the second anchor
//! at 262, the volume's last block (with one, the GPT's room instead: the backup GPT ends the
//! image, the anchor at 256 is enough to open the blank).

use crate::boot::gpt::{Gpt, Guid};
use crate::boot::mbr::{Mbr, MbrEntry, CODE_LEN};
use crate::boot::replay::chs;
use crate::error::Result;
use crate::fs::iso9660::pathtable::{self, Order};
use crate::fs::iso9660::record::{Record, DIRECTORY, PARENT, ROOT_FIELD, SELF};
use crate::fs::iso9660::rockridge::Px;
use crate::fs::iso9660::susp::{self, Ce, Er, Sp};
use crate::fs::iso9660::volume::{Body, Descriptor, Kind, LongDate, Text, Volume};
use crate::fs::iso9660::SECTOR;
use crate::fs::Timestamp;
use crate::ondisk::iso_date;

use super::blank_udf;

/// The name of the placeholder file in the blank's root.
pub const PLACEHOLDER: &str = "isofish-mkiso-placeholder";

/// Where the blank's ISO 9660 structures lie.
struct Blocks {
    /// The first of the four path tables.
    tables: u32,
    primary_root: u32,
    joliet_root: u32,
    continuation: u32,
    placeholder: u32,
    /// The blocks of the blank's volume.
    volume: u32,
}

impl Blocks {
    /// `udf`: with a UDF volume; `gpt`: with room for a backup GPT (which ends the image:
    /// the UDF volume's second anchor, which would be kept before it, is left out).
    fn of(udf: bool, gpt: bool) -> Blocks {
        let shift = if udf { 3 } else { 0 };
        let placeholder = match udf {
            true => blank_udf::PARTITION + blank_udf::PARTITION_BLOCKS,
            false => 26,
        };
        Blocks {
            tables: 19 + shift,
            primary_root: 23 + shift,
            joliet_root: 24 + shift,
            continuation: 25 + shift,
            placeholder,
            // With UDF, its second anchor after the placeholder.
            volume: placeholder + 1 + u32::from(udf && !gpt),
        }
    }
}
/// Blocks kept after the data for a backup GPT (33 sectors).
const GPT_BACKUP_BLOCKS: u32 = 9;

/// The partition tables the blank carries for `hybrid:`.
#[derive(Clone, Debug)]
pub struct Hybrid {
    /// The MBR boot code (isolinux's `isohdpfx.bin`, GRUB's `boot_hybrid.img`): its first 432
    /// bytes are taken.
    pub code: Vec<u8>,
    /// An empty GPT beside the MBR, to which the replay adds the EFI images.
    pub gpt: bool,
    /// The type of MBR partition 1.
    pub part_type: u8,
}

/// What the blank records.
pub struct Blank<'a> {
    pub label: &'a str,
    pub date: Timestamp,
    pub hybrid: Option<&'a Hybrid>,
    /// Joliet names of up to 103 characters (`-joliet-long`): the blank's Joliet tree lists
    /// the placeholder under a name that long, so the writer writes them.
    pub joliet_long: bool,
    /// A UDF bridge: a UDF volume beside the ISO 9660 trees.
    pub udf: bool,
}

/// ECMA-119's directory record with `name`, at `extent`, `size` bytes, with `su`.
fn record(name: &[u8], extent: u32, size: u32, flags: u8, date: [u8; 7], su: &[u8]) -> Vec<u8> {
    Record {
        offset: 0,
        ext_attr_len: 0,
        extent,
        size,
        date,
        flags,
        unit_size: 0,
        gap_size: 0,
        volume_sequence_number: 1,
        name,
        system_use: su,
        system_use_offset: 0,
    }
    .encode()
    .expect("the blank's records are small")
}

/// The volume descriptor of one tree.
fn volume(b: &Blank, joliet: bool, total: u32, tables: u32, root: u32, date: [u8; 7]) -> Volume {
    let mut escapes = [0u8; 32];
    if joliet {
        escapes[..3].copy_from_slice(b"%/E");
    }
    let mut root_record = [0u8; ROOT_FIELD];
    root_record.copy_from_slice(&record(SELF, root, SECTOR as u32, DIRECTORY, date, &[]));
    let now = LongDate::new(Some(b.date));
    Volume {
        type_code: if joliet { 2 } else { 1 },
        version: 1,
        flags: 0,
        system_id: Text::new("LINUX", joliet),
        volume_id: Text::new(b.label, joliet),
        volume_space_size: total,
        escapes,
        volume_set_size: 1,
        volume_sequence_number: 1,
        logical_block_size: SECTOR as u16,
        path_table_size: 10,
        path_table_l: tables,
        optional_path_table_l: 0,
        path_table_m: tables + 1,
        optional_path_table_m: 0,
        root_record,
        volume_set_id: Text::new("", joliet),
        publisher_id: Text::new("", joliet),
        preparer_id: Text::new("", joliet),
        application_id: Text::new("ISOFISH MKISO", joliet),
        copyright_file_id: Text::new("", joliet),
        abstract_file_id: Text::new("", joliet),
        bibliographic_file_id: Text::new("", joliet),
        created: now,
        modified: now,
        expires: LongDate::new(None),
        effective: LongDate::new(None),
        file_structure_version: 1,
        application_use: vec![0; 512],
    }
}

/// Puts `bytes` at block `block` of `image`.
fn put(image: &mut [u8], block: u32, bytes: &[u8]) {
    let at = block as usize * SECTOR as usize;
    image[at..at + bytes.len()].copy_from_slice(bytes);
}

/// The blank image's bytes.
pub fn encode(b: &Blank) -> Result<Vec<u8>> {
    let gpt = b.hybrid.is_some_and(|h| h.gpt);
    let at = Blocks::of(b.udf, gpt);
    let total = at.volume + if gpt { GPT_BACKUP_BLOCKS } else { 0 };
    let mut image = vec![0u8; total as usize * SECTOR as usize];
    let date = iso_date::encode_short(b.date);
    for (block, joliet, tables, root) in [
        (16, false, at.tables, at.primary_root),
        (17, true, at.tables + 2, at.joliet_root),
    ] {
        let v = volume(b, joliet, total, tables, root, date);
        let kind = if joliet {
            Kind::Joliet(3)
        } else {
            Kind::Primary
        };
        let d = Descriptor {
            offset: u64::from(block) * SECTOR,
            kind,
            body: Body::Volume(Box::new(v)),
        };
        put(&mut image, block, &d.encode());
        for (i, order) in [Order::Little, Order::Big].into_iter().enumerate() {
            let r = pathtable::Record {
                ext_attr_len: 0,
                extent: root,
                parent: 1,
                name: &[0],
            };
            put(&mut image, tables + i as u32, &r.encode(order)?);
        }
    }
    put(
        &mut image,
        18,
        &Descriptor::terminator(18 * SECTOR).encode(),
    );
    if b.udf {
        put(&mut image, 19, &blank_udf::recognition());
        let last = (!gpt).then_some(at.volume - 1);
        for (block, bytes) in blank_udf::blocks(b.label, b.date, last) {
            put(&mut image, block, &bytes);
        }
    }
    // The primary root: SP and a continuation area with PX and ER.
    let px = Px {
        mode: 0o40755,
        nlink: 2,
        uid: 0,
        gid: 0,
        serial: Some(1),
    }
    .encode();
    let er = Er {
        id: b"RRIP_1991A".to_vec(),
        descriptor: b"THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS".to_vec(),
        source: b"PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.".to_vec(),
        extension_version: 1,
    }
    .encode()?;
    let area = [px.clone(), er].concat();
    put(&mut image, at.continuation, &area);
    let ce = Ce {
        block: at.continuation,
        offset: 0,
        len: area.len() as u32,
    };
    let dot_su = [Sp { skip: 0 }.encode(), ce.encode()].concat();
    let placeholder_px = Px {
        mode: 0o100644,
        nlink: 1,
        uid: 0,
        gid: 0,
        serial: Some(2),
    }
    .encode();
    let nm = susp::encode(
        *b"NM",
        1,
        &[[0u8].as_slice(), PLACEHOLDER.as_bytes()].concat(),
    )?;
    let size = SECTOR as u32;
    let primary = [
        record(SELF, at.primary_root, size, DIRECTORY, date, &dot_su),
        record(PARENT, at.primary_root, size, DIRECTORY, date, &px),
        record(
            b"ISOFISH_MKISO_PLACEHOLDER.;1",
            at.placeholder,
            size,
            0,
            date,
            &[placeholder_px, nm].concat(),
        ),
    ]
    .concat();
    put(&mut image, at.primary_root, &primary);
    let mut joliet = [
        record(SELF, at.joliet_root, size, DIRECTORY, date, &[]),
        record(PARENT, at.joliet_root, size, DIRECTORY, date, &[]),
    ]
    .concat();
    if b.joliet_long {
        let long = crate::fs::iso9660::joliet::encode(&"l".repeat(103));
        joliet.extend(record(&long, at.placeholder, size, 0, date, &[]));
    }
    put(&mut image, at.joliet_root, &joliet);
    if let Some(h) = b.hybrid {
        put(&mut image, 0, &system_area(h, total, b.date)?);
    }
    Ok(image)
}

/// The isohybrid MBR (and the empty GPT) of a blank of `total` blocks.
fn system_area(h: &Hybrid, total: u32, date: Timestamp) -> Result<Vec<u8>> {
    let sectors = total * 4;
    let mut code = [0u8; CODE_LEN];
    let n = h.code.len().min(432);
    code[..n].copy_from_slice(&h.code[..n]);
    let geometry = (64, 32);
    let mut slots: [MbrEntry; 4] = Default::default();
    for (i, s) in slots.iter_mut().enumerate() {
        s.number = i + 1;
    }
    // As xorriso's -isohybrid-mbr: partition 1, bootable, holds the whole image.
    slots[0] = MbrEntry {
        number: 1,
        status: 0x80,
        kind: h.part_type,
        start_chs: chs(0, geometry),
        end_chs: chs(u64::from(sectors) - 1, geometry),
        start: 0,
        sectors,
    };
    // The disk signature and GUID follow from the volume's date as recorded (to the 1/100 s):
    // the same tree and options give the same image.
    let seed =
        (date.secs as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(date.nanos / 10_000_000);
    let mbr = Mbr {
        code,
        disk_signature: seed as u32,
        reserved: 0,
        slots,
    };
    let mut area = vec![0u8; 16 * SECTOR as usize];
    area[..512].copy_from_slice(&mbr.encode());
    if h.gpt {
        let last = u64::from(sectors) - 1;
        let mut guid = [0u8; 16];
        for (i, g) in guid.iter_mut().enumerate() {
            *g = (seed >> ((i % 8) * 8)) as u8 ^ (i as u8).wrapping_mul(0x3d);
        }
        guid[7] = (guid[7] & 0x0f) | 0x40;
        guid[8] = (guid[8] & 0x3f) | 0x80;
        let g = Gpt::empty(Guid(guid), last);
        area[512..1024].copy_from_slice(&g.encode_header()?);
        let array = g.encode_array()?;
        area[1024..1024 + array.len()].copy_from_slice(&array);
    }
    Ok(area)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::iso9660::IsoFs;
    use crate::fs::udf::UdfFs;
    use crate::fs::{FileSystem, MountOptions};
    use crate::source::{MemSource, Source};
    use std::sync::Arc;

    #[test]
    fn a_udf_blank_opens_as_both_file_systems() {
        for gpt in [false, true] {
            let hybrid = Hybrid {
                code: vec![0; 432],
                gpt,
                part_type: 0,
            };
            let bytes = encode(&Blank {
                label: "BRIDGE",
                date: Timestamp {
                    secs: 1_700_000_000,
                    nanos: 0,
                },
                hybrid: Some(&hybrid),
                joliet_long: false,
                udf: true,
            })
            .unwrap();
            let src: Arc<dyn Source> = Arc::new(MemSource::new(bytes, "blank"));
            let opts = MountOptions::default();
            let udf = UdfFs::open(src.clone(), &opts).unwrap();
            assert!(udf.read_dir(udf.root()).unwrap().is_empty());
            assert_eq!(udf.label().as_deref(), Some("BRIDGE"));
            let iso = IsoFs::open(src, &opts).unwrap();
            let names: Vec<Vec<u8>> = iso
                .read_dir(iso.root())
                .unwrap()
                .into_iter()
                .map(|e| e.name)
                .collect();
            assert_eq!(names, vec![PLACEHOLDER.as_bytes().to_vec()]);
        }
    }
}
