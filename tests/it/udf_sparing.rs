//! Sparable partitions (UDF 2.2.9, CD-RW and DVD-RW): a packet relocated by the sparing table
//! is read from its spare location. mkudffs's CD-RW volume (populated by udfclient) gets the
//! packet holding `data/numbers.txt`'s first block moved to the first spare packet, as a
//! drive's defect management would: the original packet zeroed, the sparing tables updated.
//! The file must still read as 7z reads it on the 2.01 volume made from the same tree.

use std::sync::Arc;

use isofish::fs::{self, MountOptions};
use isofish::source::{MemSource, Source};

use crate::udf_helpers::{big, entry, fix_tag, open, read_all};

const BS: usize = 2048;

fn le16(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn le32(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes")) as usize
}

#[test]
fn spared_packet_is_read_from_its_spare_location() {
    let mut img = std::fs::read(big("mkudffs-150-cdrw.img")).expect("image");
    let main = le32(&img, 256 * BS + 20);
    let find = |img: &[u8], ident: u8| {
        (main..main + 32)
            .find(|b| img[b * BS] == ident && img[b * BS + 1] == 0)
            .expect("descriptor")
    };
    let part_start = le32(&img, find(&img, 5) * BS + 188);
    let lvd = find(&img, 6) * BS;
    let map = lvd + 440;
    assert_eq!(img[map], 2, "a type 2 (sparable) map");
    let packet = le16(&img, map + 40);
    let tables: Vec<usize> = (0..usize::from(img[map + 42]))
        .map(|i| le32(&img, map + 48 + 4 * i))
        .collect();

    // numbers.txt's entry, through its FID (8-bit name), and its first data block.
    let want = b"\x08numbers.txt";
    let fid = (0..img.len() - 64)
        .step_by(4)
        .find(|&at| {
            img[at] == 1
                && img[at + 1] == 1
                && usize::from(img[at + 19]) == want.len()
                && &img[at + 38..at + 38 + want.len()] == want
        })
        .expect("FID");
    let fe = (part_start + le32(&img, fid + 24)) * BS;
    let head = if img[fe] == 10 { 216 } else { 176 };
    let ad = fe + head + le32(&img, fe + head - 8);
    let first = le32(&img, ad + 4);
    let original = first - first % packet;

    // Move the packet to the first spare packet and record it in every sparing table.
    let spare = le32(&img, tables[0] * BS + 56 + 4);
    let from = (part_start + original) * BS;
    let bytes = img[from..from + packet * BS].to_vec();
    img[spare * BS..(spare + packet) * BS].copy_from_slice(&bytes);
    img[from..from + packet * BS].fill(0);
    for t in &tables {
        let at = t * BS;
        img[at + 56..at + 60].copy_from_slice(&(original as u32).to_le_bytes());
        img[at + 60..at + 64].copy_from_slice(&(spare as u32).to_le_bytes());
        fix_tag(&mut img, at);
    }

    let src: Arc<dyn Source> = Arc::new(MemSource::new(img, "spared.udf"));
    let fs = fs::open(src, &MountOptions::default()).expect("volume opens");
    let f = entry(fs.as_ref(), "data/numbers.txt");
    let ours = read_all(fs.as_ref(), f.ino, f.meta.size);
    let plain = open(&big("mkudffs-201.img"), "");
    let n = entry(plain.as_ref(), "data/numbers.txt");
    assert!(
        ours == read_all(plain.as_ref(), n.ino, n.meta.size),
        "the spared bytes"
    );
}
