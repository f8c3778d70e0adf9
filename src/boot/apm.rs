//! The Apple Partition Map: the driver descriptor map (`ER`) in block 0 says the block size,
//! the map entries (`PM`) follow from block 1, and the first entry says how many there are.
//! Every field is kept: [`DriverMap::encode_into`] and [`ApmEntry::encode`] write them back.
//! In a hybrid image the driver descriptor map shares its 512 bytes with the MBR's boot code,
//! so it writes its own fields only, over the bytes already there.

use crate::error::Result;
use crate::ondisk::endian::{put_be16, put_be32};
use crate::ondisk::Fields;
use crate::source::Source;

/// The most entries read, whatever the map claims.
const MAX_ENTRIES: u32 = 256;
/// The bytes of a map entry's fields; the rest of its block is zeros.
pub const ENTRY_FIELDS: usize = 136;
/// The bytes an entry must have to be read (up to its type); the later fields of an entry the
/// image cuts short read as zeros.
const ENTRY_MIN: usize = 88;
/// The driver descriptor map's fixed fields.
const DDM_FIELDS: usize = 18;
const DRIVER: usize = 8;
/// The most driver entries block 0 holds.
pub const MAX_DRIVERS: usize = (512 - DDM_FIELDS) / DRIVER;

/// One driver of the driver descriptor map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Driver {
    /// In blocks of [`DriverMap::block_size`].
    pub block: u32,
    /// In 512-byte sectors.
    pub size: u16,
    pub kind: u16,
}

/// The driver descriptor map in block 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverMap {
    pub block_size: u16,
    pub block_count: u32,
    pub device_type: u16,
    pub device_id: u16,
    pub data: u32,
    /// The count as stored.
    pub driver_count: u16,
    /// The drivers, as many as the count says and block 0 holds.
    pub drivers: Vec<Driver>,
}

impl DriverMap {
    /// Decodes the map from block 0's first 512 bytes in `f`.
    pub fn decode(f: &Fields) -> Result<DriverMap> {
        let driver_count = f.be16(16)?;
        let drivers = (0..usize::from(driver_count).min(MAX_DRIVERS))
            .map(|i| {
                let at = DDM_FIELDS + DRIVER * i;
                Ok(Driver {
                    block: f.be32(at)?,
                    size: f.be16(at + 4)?,
                    kind: f.be16(at + 6)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(DriverMap {
            block_size: f.be16(2)?,
            block_count: f.be32(4)?,
            device_type: f.be16(8)?,
            device_id: f.be16(10)?,
            data: f.be32(12)?,
            driver_count,
            drivers,
        })
    }

    /// Writes the map's fields into `block0` (at least 512 bytes), leaving the other bytes
    /// as they are.
    pub fn encode_into(&self, block0: &mut [u8]) {
        block0[..2].copy_from_slice(b"ER");
        put_be16(block0, 2, self.block_size);
        put_be32(block0, 4, self.block_count);
        put_be16(block0, 8, self.device_type);
        put_be16(block0, 10, self.device_id);
        put_be32(block0, 12, self.data);
        put_be16(block0, 16, self.driver_count);
        for (i, d) in self.drivers.iter().take(MAX_DRIVERS).enumerate() {
            let at = DDM_FIELDS + DRIVER * i;
            put_be32(block0, at, d.block);
            put_be16(block0, at + 4, d.size);
            put_be16(block0, at + 6, d.kind);
        }
    }
}

/// One map entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApmEntry {
    /// 1-based, the map's own entry included (as Linux and pdisk number them).
    pub number: usize,
    /// The two bytes after the `PM` signature.
    pub signature_pad: u16,
    /// The number of entries in the map, as this entry says.
    pub map_entries: u32,
    /// In blocks of [`DriverMap::block_size`].
    pub start: u32,
    pub blocks: u32,
    /// The name and the type as stored, NUL padding included.
    pub name_bytes: [u8; 32],
    pub kind_bytes: [u8; 32],
    pub data_start: u32,
    pub data_count: u32,
    pub status: u32,
    pub boot_start: u32,
    pub boot_size: u32,
    pub boot_address: [u32; 2],
    pub boot_entry: [u32; 2],
    pub boot_checksum: u32,
    pub processor: [u8; 16],
}

fn text(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

impl ApmEntry {
    /// The name, up to its first NUL.
    pub fn name(&self) -> String {
        text(&self.name_bytes)
    }

    /// The type (`Apple_HFS`...), up to its first NUL.
    pub fn kind(&self) -> String {
        text(&self.kind_bytes)
    }

    fn decode(number: usize, f: &Fields) -> Result<ApmEntry> {
        let array = |at: usize| -> Result<[u8; 32]> {
            let mut a = [0u8; 32];
            a.copy_from_slice(f.slice(at, 32)?);
            Ok(a)
        };
        let mut processor = [0u8; 16];
        processor.copy_from_slice(f.slice(120, 16)?);
        Ok(ApmEntry {
            number,
            signature_pad: f.be16(2)?,
            map_entries: f.be32(4)?,
            start: f.be32(8)?,
            blocks: f.be32(12)?,
            name_bytes: array(16)?,
            kind_bytes: array(48)?,
            data_start: f.be32(80)?,
            data_count: f.be32(84)?,
            status: f.be32(88)?,
            boot_start: f.be32(92)?,
            boot_size: f.be32(96)?,
            boot_address: [f.be32(100)?, f.be32(104)?],
            boot_entry: [f.be32(108)?, f.be32(112)?],
            boot_checksum: f.be32(116)?,
            processor,
        })
    }

    /// The entry's fields; the rest of its block is zeros.
    pub fn encode(&self) -> [u8; ENTRY_FIELDS] {
        let mut e = [0u8; ENTRY_FIELDS];
        e[..2].copy_from_slice(b"PM");
        put_be16(&mut e, 2, self.signature_pad);
        for (at, v) in [
            (4, self.map_entries),
            (8, self.start),
            (12, self.blocks),
            (80, self.data_start),
            (84, self.data_count),
            (88, self.status),
            (92, self.boot_start),
            (96, self.boot_size),
            (100, self.boot_address[0]),
            (104, self.boot_address[1]),
            (108, self.boot_entry[0]),
            (112, self.boot_entry[1]),
            (116, self.boot_checksum),
        ] {
            put_be32(&mut e, at, v);
        }
        e[16..48].copy_from_slice(&self.name_bytes);
        e[48..80].copy_from_slice(&self.kind_bytes);
        e[120..136].copy_from_slice(&self.processor);
        e
    }
}

/// A decoded map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Apm {
    pub driver_map: DriverMap,
    pub entries: Vec<ApmEntry>,
    /// What is wrong with it.
    pub problems: Vec<String>,
}

impl Apm {
    /// The block size the map counts in.
    pub fn block_size(&self) -> u16 {
        self.driver_map.block_size
    }
}

/// Decodes the map, if block 0 has the `ER` signature and block 1 a `PM` entry.
pub fn read(src: &dyn Source) -> Result<Option<Apm>> {
    let mut block0 = [0u8; 512];
    if src.read_at(0, &mut block0)? < block0.len() || &block0[..2] != b"ER" {
        return Ok(None);
    }
    let driver_map = DriverMap::decode(&Fields::new(
        &block0,
        src.name(),
        "APM driver descriptor map",
        0,
    ))?;
    let block_size = driver_map.block_size;
    if !matches!(block_size, 512 | 1024 | 2048 | 4096) {
        return Ok(None);
    }
    let mut apm = Apm {
        driver_map,
        entries: Vec::new(),
        problems: Vec::new(),
    };
    let mut count = 1;
    let mut i = 1;
    while i <= count {
        let mut e = [0u8; ENTRY_FIELDS];
        let offset = u64::from(i) * u64::from(block_size);
        if src.read_at(offset, &mut e)? < ENTRY_MIN || &e[..2] != b"PM" {
            if i == 1 {
                return Ok(None);
            }
            apm.problems.push(format!(
                "the map claims {count} entries but entry {i} at offset {offset} is not one"
            ));
            break;
        }
        let entry = ApmEntry::decode(
            i as usize,
            &Fields::new(&e, src.name(), "APM entry", offset),
        )?;
        if i == 1 {
            count = entry.map_entries;
            if count > MAX_ENTRIES {
                apm.problems.push(format!(
                    "the map claims {count} entries; only {MAX_ENTRIES} are read"
                ));
                count = MAX_ENTRIES;
            }
        }
        apm.entries.push(entry);
        i += 1;
    }
    Ok(Some(apm))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_driver_map_round_trip() {
        let mut e = [0u8; ENTRY_FIELDS];
        e[..2].copy_from_slice(b"PM");
        for (i, b) in e.iter_mut().enumerate().skip(2) {
            *b = i as u8;
        }
        let entry = ApmEntry::decode(2, &Fields::new(&e, "t", "APM entry", 0)).unwrap();
        assert_eq!(entry.encode(), e);

        let mut block0 = [0u8; 512];
        block0[..2].copy_from_slice(b"ER");
        for (i, b) in block0
            .iter_mut()
            .enumerate()
            .take(DDM_FIELDS + 2 * DRIVER)
            .skip(2)
        {
            *b = i as u8;
        }
        block0[16..18].copy_from_slice(&[0, 2]);
        let map = DriverMap::decode(&Fields::new(&block0, "t", "DDM", 0)).unwrap();
        assert_eq!(map.drivers.len(), 2);
        let mut out = [0u8; 512];
        map.encode_into(&mut out);
        assert_eq!(out, block0);
    }
}
