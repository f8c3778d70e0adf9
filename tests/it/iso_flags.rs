//! File flags and layouts the fixture tools do not produce, made by changing sample.iso's
//! README.TXT record: associated files (skipped, as Linux does by default; isoinfo, xorriso,
//! bsdtar and 7z list them) and interleaved files (read unit by unit, skipping the gaps, as
//! ECMA-119 §6.4.3 lays them out; bsdtar and 7z ignore interleaving, xorriso refuses the
//! image, so the expected bytes come from how the test lays them out).

use std::sync::Arc;

use isofish::fs::{self, FileSystem, MountOptions};
use isofish::source::{MemSource, Source};

use crate::common::fixture;

const SECTOR: usize = 2048;

fn readme_record(img: &[u8]) -> usize {
    let name = b"README.TXT;1";
    let pos = img
        .windows(name.len())
        .position(|w| w == name)
        .expect("README.TXT;1 record");
    pos - 33
}

fn mount(img: Vec<u8>) -> Arc<dyn FileSystem> {
    let src: Arc<dyn Source> = Arc::new(MemSource::new(img, "changed-sample.iso"));
    fs::open(src, &MountOptions::default()).expect("opens")
}

fn set_both32(b: &mut [u8], v: u32) {
    b[..4].copy_from_slice(&v.to_le_bytes());
    b[4..8].copy_from_slice(&v.to_be_bytes());
}

#[test]
fn associated_files_are_not_listed() {
    let mut img = std::fs::read(fixture("sample.iso")).expect("sample");
    let rec = readme_record(&img);
    let fs = mount(img.clone());
    assert!(fs
        .lookup(fs.root(), b"README.TXT")
        .expect("lookup")
        .is_some());
    img[rec + 25] |= 0x04;
    let fs = mount(img);
    assert!(fs
        .lookup(fs.root(), b"README.TXT")
        .expect("lookup")
        .is_none());
    assert_eq!(fs.read_dir(fs.root()).expect("root").len(), 3);
}

#[test]
fn interleaved_files_are_read_unit_by_unit() {
    let mut img = std::fs::read(fixture("sample.iso")).expect("sample");
    let rec = readme_record(&img);
    // Units of 2 sectors with gaps of 1 sector, appended to the image: A A x B B x C.
    let start = img.len() / SECTOR;
    let mut expected = Vec::new();
    for (i, unit) in [b'A', b'B', b'C'].iter().enumerate() {
        let sectors = if i == 2 { 1 } else { 2 };
        let data: Vec<u8> = (0..sectors * SECTOR)
            .map(|j| unit.wrapping_add((j % 7) as u8))
            .collect();
        img.extend_from_slice(&data);
        expected.extend_from_slice(&data);
        if i < 2 {
            img.extend_from_slice(&[b'x'; SECTOR]);
        }
    }
    expected.truncate(expected.len() - 100);
    set_both32(&mut img[rec + 2..], start as u32);
    set_both32(&mut img[rec + 10..], expected.len() as u32);
    img[rec + 26] = 2;
    img[rec + 27] = 1;
    let fs = mount(img);
    let entry = fs
        .lookup(fs.root(), b"README.TXT")
        .expect("lookup")
        .expect("listed");
    assert_eq!(entry.meta.size, expected.len() as u64);
    // Whole, and in odd-sized pieces crossing units and gaps.
    let mut whole = vec![0u8; expected.len() + 10];
    assert_eq!(
        fs.read_at(entry.ino, 0, &mut whole).expect("read"),
        expected.len()
    );
    assert!(whole[..expected.len()] == expected[..]);
    let mut pieces = Vec::new();
    let mut buf = [0u8; 1000];
    loop {
        let n = fs
            .read_at(entry.ino, pieces.len() as u64, &mut buf)
            .expect("read");
        if n == 0 {
            break;
        }
        pieces.extend_from_slice(&buf[..n]);
    }
    assert!(pieces == expected);
    // Its extents are the units, in order.
    let extents = fs.spans(entry.ino).expect("extents").expect("plain");
    let lens: Vec<u64> = extents.iter().map(|e| e.len()).collect();
    assert_eq!(
        lens,
        vec![2 * SECTOR as u64, 2 * SECTOR as u64, SECTOR as u64 - 100]
    );
}
