//! The metadata partition of UDF 2.50+ (type 2 map `*UDF Metadata Partition`: the volume's
//! metadata read through the blocks of a metadata file, its mirror when the main file is
//! damaged). No tool here writes one (mkudffs 2.3 makes its 2.50 volumes with a VAT), so the
//! test adds one to mkudffs's 2.01 volume: a metadata file mapping the whole partition, and
//! the file set descriptor addressed through it. The tree must stay the one 7z lists for the
//! unchanged volume.

use std::sync::Arc;

use isofish::fs::{self, FileSystem, MountOptions};
use isofish::ondisk::crc::udf16;
use isofish::source::{MemSource, Source};

use crate::udf_helpers::{big, seven_zip_list, walk};

const BS: usize = 2048;

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes the tag at `at` (identifier, location, CRC over `crc_len` bytes).
fn tag(img: &mut [u8], at: usize, ident: u16, location: u32, crc_len: usize) {
    put16(img, at, ident);
    put16(img, at + 2, 3);
    put16(img, at + 10, crc_len as u16);
    put32(img, at + 12, location);
    let crc = udf16(&img[at + 16..at + 16 + crc_len]);
    put16(img, at + 8, crc);
    img[at + 4] = img[at..at + 16]
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != 4)
        .fold(0u8, |s, (_, &b)| s.wrapping_add(b));
}

/// A file entry of the metadata file (type 250 or 251) at partition block `block`, whose one
/// short_ad maps `len` bytes from partition block 0.
fn metadata_file(img: &mut [u8], part_start: usize, block: u32, file_type: u8, len: u32) {
    let at = (part_start + block as usize) * BS;
    img[at..at + BS].fill(0);
    put16(img, at + 20, 4); // strategy 4
    put16(img, at + 24, 1);
    img[at + 27] = file_type;
    put16(img, at + 48, 1); // link count
    img[at + 56..at + 64].copy_from_slice(&u64::from(len).to_le_bytes());
    put32(img, at + 172, 8); // L_AD
    put32(img, at + 176, len);
    put32(img, at + 180, 0);
    tag(img, at, 261, block, 176 + 8 - 16);
}

pub fn build(damage_main: bool) -> Vec<u8> {
    let mut img = std::fs::read(big("mkudffs-201.img")).expect("image");
    let main = le32(&img, 256 * BS + 20) as usize;
    let find = |img: &[u8], ident: u8| {
        (main..main + 16)
            .find(|b| img[b * BS] == ident && img[b * BS + 1] == 0)
            .expect("descriptor")
    };
    let pd = find(&img, 5) * BS;
    let (part_start, part_len) = (le32(&img, pd + 188) as usize, le32(&img, pd + 192));
    let (meta, mirror) = (part_len - 10, part_len - 9);
    let len = (part_len - 16) * BS as u32;
    metadata_file(&mut img, part_start, meta, 250, len);
    metadata_file(&mut img, part_start, mirror, 251, len);
    if damage_main {
        img[(part_start + meta as usize) * BS + 60] ^= 1;
    }
    // The logical volume gets a second map, and its file set descriptor is addressed through it.
    let lvd_block = find(&img, 6);
    let lvd = lvd_block * BS;
    let map_len = le32(&img, lvd + 264) as usize;
    let m = lvd + 440 + map_len;
    img[m..m + 64].fill(0);
    img[m] = 2;
    img[m + 1] = 64;
    img[m + 5..m + 5 + 23].copy_from_slice(b"*UDF Metadata Partition");
    put16(&mut img, m + 4 + 24, 0x0250);
    put16(&mut img, m + 36, 1);
    let number = u16::from_le_bytes([img[pd + 22], img[pd + 23]]);
    put16(&mut img, m + 38, number);
    put32(&mut img, m + 40, meta);
    put32(&mut img, m + 44, mirror);
    put32(&mut img, m + 48, 0xffff_ffff);
    put32(&mut img, m + 52, 32);
    put16(&mut img, m + 56, 1);
    put32(&mut img, lvd + 264, (map_len + 64) as u32);
    put32(&mut img, lvd + 268, 2);
    put16(&mut img, lvd + 248 + 8, 1); // the FSD's long_ad: partition reference 1
    tag(&mut img, lvd, 6, lvd_block as u32, 440 + map_len + 64 - 16);
    img
}

fn open(img: Vec<u8>) -> Arc<dyn FileSystem> {
    let src: Arc<dyn Source> = Arc::new(MemSource::new(img, "metadata.udf"));
    fs::open(src, &MountOptions::default()).expect("volume opens")
}

#[test]
fn metadata_partition_and_its_mirror_read_the_same_tree() {
    let theirs: Vec<String> = seven_zip_list(&big("mkudffs-201.img"))
        .into_keys()
        .collect();
    for damage_main in [false, true] {
        let fs = open(build(damage_main));
        let info = fs.info();
        assert!(
            info.iter()
                .any(|(_, v)| v.contains("*UDF Metadata Partition")),
            "{info:?}"
        );
        let mirror_note = info
            .iter()
            .any(|(k, v)| k == "Note" && v.contains("mirror used"));
        assert_eq!(mirror_note, damage_main, "{info:?}");
        let ours: Vec<String> = walk(fs.as_ref()).into_keys().collect();
        assert_eq!(ours, theirs, "the tree 7z lists for the unchanged volume");
    }
}
