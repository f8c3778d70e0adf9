//! UDF images altered one structure at a time (recomputing the descriptor's CRC where the
//! change must get past the tag), mostly from pycdlib's UDF 2.60 fixture. Hostile ones: a bad
//! tag in the main volume descriptor sequence (the reserve is read), lost anchors (the later
//! ones are used), bad tags elsewhere, looping allocation extents, an ICB whose indirect
//! entries loop, a FID past its directory's end, extents past the partition: each gives a
//! clear error naming the structure and offset. And features no tool here records: an
//! indirect entry to a newer entry (strategy 4096), an unrecorded extent, a device node.

use std::sync::Arc;

use isofish::fs::{self, FileSystem, MountOptions};
use isofish::source::{MemSource, Source};

use crate::common::fixture;
use crate::udf_helpers::{entry, fix_tag, read_all};

const BS: usize = 2048;

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes a fresh tag (identifier, location, CRC over `crc_len` bytes) at `at`.
fn new_tag(img: &mut [u8], at: usize, ident: u16, location: u32, crc_len: u16) {
    img[at..at + 16].fill(0);
    img[at..at + 2].copy_from_slice(&ident.to_le_bytes());
    img[at + 2..at + 4].copy_from_slice(&3u16.to_le_bytes());
    img[at + 10..at + 12].copy_from_slice(&crc_len.to_le_bytes());
    put32(img, at + 12, location);
    fix_tag(img, at);
}

/// The fixture's bytes, the first block of the main volume descriptor sequence, and the
/// partition's first block (from the partition descriptor).
fn base() -> (Vec<u8>, usize, usize) {
    let img = std::fs::read(fixture("udf-260-pycdlib.iso")).expect("fixture");
    let main = le32(&img, 256 * BS + 20) as usize;
    let part = (main..main + 16)
        .find(|b| img[b * BS] == 5 && img[b * BS + 1] == 0)
        .map(|b| le32(&img, b * BS + 188) as usize)
        .expect("a partition descriptor");
    (img, main, part)
}

/// Byte offset of the FID naming `name` (8-bit CS0) in the image.
fn fid(img: &[u8], name: &str) -> usize {
    let mut want = vec![8u8];
    want.extend_from_slice(name.as_bytes());
    (0..img.len() - 64)
        .step_by(4)
        .find(|&at| {
            img[at] == 1
                && img[at + 1] == 1
                && usize::from(img[at + 19]) == want.len()
                && img[at + 38..at + 38 + want.len()] == want[..]
        })
        .unwrap_or_else(|| panic!("FID of {name}"))
}

/// Byte offset of the file entry a FID names, and its block in the partition.
fn entry_of(img: &[u8], fid_at: usize, part: usize) -> (usize, u32) {
    let block = le32(img, fid_at + 24);
    ((part + block as usize) * BS, block)
}

fn open(img: Vec<u8>) -> isofish::Result<Arc<dyn FileSystem>> {
    let src: Arc<dyn Source> = Arc::new(MemSource::new(img, "hostile.udf"));
    fs::open(src, &MountOptions::default())
}

/// The error of looking up `path` and reading the file there.
fn read_error(fs: &dyn FileSystem, path: &[&str]) -> String {
    let mut ino = fs.root();
    for name in path {
        match fs.lookup(ino, name.as_bytes()) {
            Ok(Some(e)) => ino = e.ino,
            Ok(None) => panic!("{name} not found"),
            Err(e) => return e.to_string(),
        }
    }
    let mut buf = vec![0; 1 << 16];
    let mut off = 0;
    loop {
        match fs.read_at(ino, off, &mut buf) {
            Ok(0) => panic!("{path:?} read without error"),
            Ok(n) => off += n as u64,
            Err(e) => return e.to_string(),
        }
    }
}

#[test]
fn bad_main_sequence_falls_back_to_the_reserve() {
    let (clean, main, _) = base();
    let mut img = clean.clone();
    img[main * BS + 30] ^= 0x55; // inside the first descriptor's body: its CRC fails
    let fs = open(img.clone()).expect("the reserve sequence opens the volume");
    let note = fs
        .info()
        .into_iter()
        .find(|(k, _)| k == "Note")
        .expect("a note about the main sequence")
        .1;
    assert!(
        note.contains("reserve used") && note.contains("descriptor CRC"),
        "{note}"
    );
    let good = open(clean).expect("clean");
    assert_eq!(
        crate::udf_helpers::walk(fs.as_ref())
            .keys()
            .collect::<Vec<_>>(),
        crate::udf_helpers::walk(good.as_ref())
            .keys()
            .collect::<Vec<_>>()
    );
    // Both sequences bad: the main sequence's error, with its offset.
    let reserve = le32(&img, 256 * BS + 28) as usize;
    img[reserve * BS + 30] ^= 0x55;
    let err = open(img).err().expect("no sequence left").to_string();
    let want = format!(
        "hostile.udf: corrupt UDF volume descriptor at offset {}",
        main * BS
    );
    assert!(err.starts_with(&want), "{err}");
}

#[test]
fn bad_file_set_descriptor_is_reported() {
    let (mut img, _, part) = base();
    // The file set descriptor is the partition's first descriptor in pycdlib's layout.
    let at = (part..part + 64)
        .map(|b| b * BS)
        .find(|&o| img[o] == 0 && img[o + 1] == 1)
        .expect("the FSD");
    img[at + 100] ^= 1;
    let err = open(img).err().expect("refused").to_string();
    assert!(
        err.contains(&format!("corrupt UDF file set descriptor at offset {at}")),
        "{err}"
    );
}

#[test]
fn bad_file_entry_tag_is_reported() {
    let (mut img, _, part) = base();
    let (fe, _) = entry_of(&img, fid(&img, "hello.txt"), part);
    img[fe + 40] ^= 1; // the gid: CRC no longer matches
    let fs = open(img).expect("volume opens");
    let err = read_error(fs.as_ref(), &["hello.txt"]);
    assert!(
        err.contains(&format!("corrupt UDF file entry at offset {fe}")),
        "{err}"
    );
    assert!(err.contains("CRC"), "{err}");
}

#[test]
fn looping_allocation_extents_are_an_error() {
    let (mut img, _, part) = base();
    let (fe, _) = entry_of(&img, fid(&img, "numbers.txt"), part);
    let extended = img[fe] == 10; // 266 = 0x10a
    let head = if extended { 216 } else { 176 };
    let l_ea = le32(&img, fe + head - 8) as usize;
    let ad = fe + head + l_ea;
    let long = img[fe + 34] & 7 == 1;
    // The file's first data block becomes an allocation extent descriptor continuing to itself.
    let data_block = le32(&img, ad + 4);
    let ad_size = if long { 16 } else { 8 };
    let aed = (part + data_block as usize) * BS;
    img[aed..aed + BS].fill(0);
    put32(&mut img, aed + 20, ad_size as u32);
    put32(&mut img, aed + 24, (3 << 30) | (24 + ad_size as u32));
    put32(&mut img, aed + 28, data_block);
    new_tag(&mut img, aed, 258, data_block, 8 + ad_size as u16);
    put32(&mut img, ad, (3 << 30) | (24 + ad_size as u32));
    fix_tag(&mut img, fe);
    let fs = open(img).expect("volume opens");
    let err = read_error(fs.as_ref(), &["data", "numbers.txt"]);
    assert!(
        err.contains("UDF allocation extent descriptor") && err.contains("loops"),
        "{err}"
    );
}

#[test]
fn looping_indirect_entries_are_an_error() {
    let (mut img, _, part) = base();
    let (fe, block) = entry_of(&img, fid(&img, "hello.txt"), part);
    // The ICB becomes an indirect entry that points at itself.
    img[fe..fe + BS].fill(0);
    img[fe + 20..fe + 22].copy_from_slice(&4096u16.to_le_bytes());
    put32(&mut img, fe + 36, BS as u32);
    put32(&mut img, fe + 40, block);
    new_tag(&mut img, fe, 259, block, 36);
    let fs = open(img).expect("volume opens");
    let err = read_error(fs.as_ref(), &["hello.txt"]);
    assert!(err.contains("UDF ICB") && err.contains("loop"), "{err}");
}

#[test]
fn fid_past_the_directory_end_is_an_error() {
    let (mut img, _, _) = base();
    let at = fid(&img, "many"); // the root's last entry
    img[at + 19] = 250;
    fix_tag(&mut img, at);
    let fs = open(img).expect("volume opens");
    let err = fs.read_dir(fs.root()).expect_err("refused").to_string();
    assert!(
        err.contains(&format!(
            "corrupt UDF file identifier descriptor at offset {at}"
        )) && err.contains("directory's end"),
        "{err}"
    );
}

#[test]
fn extent_past_the_partition_is_an_error() {
    let (mut img, _, part) = base();
    let (fe, _) = entry_of(&img, fid(&img, "numbers.txt"), part);
    let extended = img[fe] == 10;
    let head = if extended { 216 } else { 176 };
    let l_ea = le32(&img, fe + head - 8) as usize;
    put32(&mut img, fe + head + l_ea + 4, 0xffff_ff00);
    fix_tag(&mut img, fe);
    let fs = open(img).expect("volume opens");
    let err = read_error(fs.as_ref(), &["data", "numbers.txt"]);
    assert!(err.contains("pass the partition's end"), "{err}");
    // The rest of the volume still reads.
    let hello = entry(fs.as_ref(), "hello.txt");
    assert_eq!(read_all(fs.as_ref(), hello.ino, hello.meta.size).len(), 11);
}

#[test]
fn strategy_4096_indirect_entry_leads_to_the_newer_entry() {
    // hello.txt's ICB becomes strategy 4096 with an indirect entry in the block after it
    // (which held another file's entry) that points to numbers.txt's entry: that newer entry
    // is the one read.
    let (mut img, _, part) = base();
    let (fe, block) = entry_of(&img, fid(&img, "hello.txt"), part);
    let (_, newer) = entry_of(&img, fid(&img, "numbers.txt"), part);
    assert_ne!(newer, block + 1);
    img[fe + 20..fe + 22].copy_from_slice(&4096u16.to_le_bytes());
    img[fe + 24..fe + 26].copy_from_slice(&2u16.to_le_bytes());
    fix_tag(&mut img, fe);
    let ie = fe + BS;
    img[ie..ie + BS].fill(0);
    img[ie + 20..ie + 22].copy_from_slice(&4096u16.to_le_bytes());
    put32(&mut img, ie + 36, BS as u32);
    put32(&mut img, ie + 40, newer);
    new_tag(&mut img, ie, 259, block + 1, 36);
    let fs = open(img).expect("volume opens");
    let hello = entry(fs.as_ref(), "hello.txt");
    let numbers = entry(fs.as_ref(), "data/numbers.txt");
    assert_eq!(
        hello.meta.size, numbers.meta.size,
        "the newer entry is numbers.txt's"
    );
    assert_eq!(
        read_all(fs.as_ref(), hello.ino, hello.meta.size),
        read_all(fs.as_ref(), numbers.ino, numbers.meta.size)
    );
}

#[test]
fn unrecorded_extent_reads_as_zeros_and_is_a_hole() {
    // numbers.txt's first extent marked "allocated, not recorded" (ECMA-167 type 1): its bytes
    // read as zeros and its extent is a hole.
    let (mut img, _, part) = base();
    let (fe, _) = entry_of(&img, fid(&img, "numbers.txt"), part);
    let extended = img[fe] == 10;
    let head = if extended { 216 } else { 176 };
    let l_ea = le32(&img, fe + head - 8) as usize;
    let ad = fe + head + l_ea;
    let len = le32(&img, ad) & 0x3fff_ffff;
    put32(&mut img, ad, (1 << 30) | len);
    fix_tag(&mut img, fe);
    let fs = open(img).expect("volume opens");
    let f = entry(fs.as_ref(), "data/numbers.txt");
    let bytes = read_all(fs.as_ref(), f.ino, f.meta.size);
    let hole = (len as usize).min(bytes.len());
    assert!(bytes[..hole].iter().all(|&b| b == 0));
    let extents = fs.spans(f.ino).expect("extents").expect("plain");
    assert_eq!(extents[0].source_offset(), None);
    assert_eq!(extents[0].len(), hole as u64);
}

#[test]
fn anchor_at_256_lost_the_one_at_the_end_is_used() {
    // mkudffs records anchors at 256, N-256 and N, N being the last block (udfinfo lists
    // them): with 256 lost, N is used; with N lost too, N-256.
    let image = crate::udf_helpers::big("mkudffs-201.img");
    let mut img = std::fs::read(&image).expect("image");
    img[256 * BS..257 * BS].fill(0);
    let fs = open(img.clone()).expect("a later anchor opens the volume");
    let want = crate::udf_helpers::walk(crate::udf_helpers::open(&image, "").as_ref());
    assert_eq!(
        crate::udf_helpers::walk(fs.as_ref())
            .keys()
            .collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    let last = img.len() / BS - 1;
    img[last * BS..(last + 1) * BS].fill(0);
    let fs = open(img.clone()).expect("the anchor at N-256 opens the volume");
    assert_eq!(crate::udf_helpers::walk(fs.as_ref()).len(), want.len());
    // No anchor anywhere: the error names the first place looked at.
    let b = last - 256;
    img[b * BS..(b + 1) * BS].fill(0);
    let err = open(img).err().expect("no anchor").to_string();
    assert!(
        err.contains(&format!(
            "corrupt UDF anchor volume descriptor pointer at offset {}",
            256 * BS
        )),
        "{err}"
    );
}

#[test]
fn device_specification_attribute_gives_device_numbers() {
    // hello.txt becomes a character device 4:64 the way ECMA-167 4/14.10.7 records one: a
    // device specification extended attribute after the attribute header descriptor.
    let (mut img, _, part) = base();
    let (fe, block) = entry_of(&img, fid(&img, "hello.txt"), part);
    assert_eq!(le32(&img, fe + 168), 0, "no extended attributes yet");
    let l_ad = le32(&img, fe + 172) as usize;
    let ads = img[fe + 176..fe + 176 + l_ad].to_vec();
    let ea = fe + 176;
    img[ea..ea + 48].fill(0);
    put32(&mut img, ea + 16, 48); // implementation attributes start after the one below
    put32(&mut img, ea + 20, 48);
    put32(&mut img, ea + 24, 12); // attribute type: device specification
    img[ea + 28] = 1;
    put32(&mut img, ea + 32, 24);
    put32(&mut img, ea + 40, 4); // major
    put32(&mut img, ea + 44, 64); // minor
    new_tag(&mut img, ea, 262, block, 8);
    img[ea + 48..ea + 48 + l_ad].copy_from_slice(&ads);
    put32(&mut img, fe + 168, 48);
    img[fe + 27] = 7; // character device
    let crc_len = (176 + 48 + l_ad - 16) as u16;
    img[fe + 10..fe + 12].copy_from_slice(&crc_len.to_le_bytes());
    fix_tag(&mut img, fe);
    let fs = open(img).expect("volume opens");
    let dev = entry(fs.as_ref(), "hello.txt");
    assert_eq!(dev.meta.kind, isofish::fs::FileKind::CharDevice);
    assert_eq!(dev.meta.rdev, Some((4, 64)));
}
