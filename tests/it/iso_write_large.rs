//! The ISO 9660 writer and a file over 4 GiB: rewritten with no change, it is recorded as
//! several directory records with the multi-extent flag again, as xorriso and isoinfo read
//! them. The 4.5 GiB image is built on demand from a sparse file in a temp dir; the rewrite
//! is written sparse (the big file's data is not copied: only its marks, placed through the
//! new image's records, then read back by xorriso).

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use isofish::fs::iso9660::{write, IsoFs};
use isofish::fs::{FileSystem, MountOptions};
use isofish::overlay::Provenance;
use isofish::source::{FileSource, Source};

use crate::common::{scratch, tool, xorriso};
use crate::iso_multi_extent::{big_image, FOUR_GIB, MARKS, SIZE};

fn open(img: &Path) -> IsoFs {
    let src: Arc<dyn Source> = Arc::new(FileSource::open(img).unwrap());
    IsoFs::open(src, &MountOptions::default()).unwrap()
}

/// isoinfo's sizes of the records of `BIG.BIN;1`.
fn record_sizes(img: &Path) -> Vec<u64> {
    let listing = tool("isoinfo", &["-l", "-i", img.to_str().unwrap()], None);
    String::from_utf8_lossy(&listing)
        .lines()
        .filter(|l| l.contains("BIG.BIN;1"))
        .map(|l| l.split_whitespace().nth(4).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn a_file_over_4_gib_is_rewritten_as_several_records() {
    let dir = scratch();
    let (img, big) = big_image(dir.path(), &[("small.txt", b"small\n")]);
    std::fs::remove_file(big).unwrap();

    let fs = open(&img);
    let plan = write::plan(&fs, &fs, &|_| Provenance::UNCHANGED, &Default::default()).unwrap();
    // Everything but the big file's data (spans of over 1 GiB) is written.
    let new = dir.path().join("new.iso");
    let out = std::fs::File::create(&new).unwrap();
    let mut at = 0u64;
    for s in plan.spans() {
        if s.len() < 1 << 30 {
            let mut buf = vec![0u8; s.len() as usize];
            assert_eq!(s.read_at(0, &mut buf).unwrap(), buf.len());
            out.write_all_at(&buf, at).unwrap();
        }
        at += s.len();
    }
    out.set_len(plan.len()).unwrap();
    drop(fs);
    std::fs::remove_file(&img).unwrap();

    // The records: as many and as large as the original's (what xorriso wrote).
    let sizes = record_sizes(&new);
    assert!(sizes.len() >= 2, "{sizes:?}");
    assert_eq!(sizes.iter().sum::<u64>(), SIZE);
    assert!(sizes[..sizes.len() - 1]
        .iter()
        .all(|&s| s == FOUR_GIB - 2048));

    // The marks, placed through the new image's records, are where xorriso reads them.
    let fs = open(&new);
    let big = fs.lookup(fs.root(), b"big.bin").unwrap().unwrap();
    assert_eq!(big.meta.size, SIZE);
    let spans = fs.spans(big.ino).unwrap().unwrap();
    for (at, mark) in MARKS {
        let mut file_at = 0;
        for s in &spans {
            let isofish::data::Span::Source { offset, len, .. } = s else {
                panic!("a plain span")
            };
            for (i, byte) in mark.iter().enumerate() {
                let want = at + i as u64;
                if (file_at..file_at + len).contains(&want) {
                    out_at(&new, offset + want - file_at, *byte);
                }
            }
            file_at += len;
        }
    }
    for (at, mark) in MARKS {
        let got = dir.path().join("cut");
        let _ = std::fs::remove_file(&got);
        xorriso(&[
            "-osirrox",
            "on",
            "-indev",
            new.to_str().unwrap(),
            "-extract_cut",
            "/big.bin",
            &at.to_string(),
            &mark.len().to_string(),
            got.to_str().unwrap(),
        ]);
        assert_eq!(std::fs::read(&got).unwrap(), *mark, "at {at}");
    }
    let small = xorriso(&[
        "-indev",
        new.to_str().unwrap(),
        "-find",
        "/",
        "-exec",
        "lsdl",
    ]);
    let listing = String::from_utf8_lossy(&small);
    assert!(listing.contains(&format!("{SIZE} ")), "{listing}");
    assert!(listing.contains("small.txt"), "{listing}");
}

/// Writes one byte at `offset` of the file `path`.
fn out_at(path: &Path, offset: u64, byte: u8) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(&[byte], offset).unwrap();
}
