//! A file over 4 GiB in a UDF volume (the Windows install DVD's `install.wim` case), built on
//! demand by make-udf.sh (mkudffs, udfclient) from a sparse host file with markers: its size
//! as 7z lists it, its extents (allocation descriptors of under 1 GiB each, merged where
//! contiguous) mapping the markers where they lie in the image, and every byte against the source file.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use crate::common::tool;
use crate::udf_helpers::{entry, open, seven_zip_list};

#[test]
fn file_over_4_gib_reads_in_full_and_maps_to_extents() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("udf-large");
    let script = crate::common::root().join("tests/fixtures/make-udf.sh");
    tool(
        script.to_str().unwrap(),
        &["--large", dir.to_str().unwrap()],
        None,
    );
    let (image, source) = (dir.join("large.img"), dir.join("install.wim"));
    let size = std::fs::metadata(&source).expect("source").len();
    assert!(size > 4 << 30);

    let listed = seven_zip_list(&image);
    assert_eq!(listed["install.wim"].size, Some(size), "7z's size");

    let fs = open(&image, "");
    let e = entry(fs.as_ref(), "install.wim");
    assert_eq!(e.meta.size, size);
    let extents = fs.spans(e.ino).expect("extents").expect("plain data");
    // udfclient records it in allocation descriptors of under 1 GiB each; contiguous ones
    // come back merged into one byte range.
    assert!(
        extents.iter().all(|x| x.source_offset().is_some()),
        "all recorded"
    );
    assert_eq!(extents.iter().map(|x| x.len()).sum::<u64>(), size);

    // The markers, read from the image where the extents say they are.
    let img = File::open(&image).expect("image");
    for marker in [0u64, 1 << 30, 4294967290, 4900000000] {
        let mut pos = 0;
        let at = extents
            .iter()
            .find_map(|x| {
                let hit = (pos..pos + x.len())
                    .contains(&marker)
                    .then(|| x.source_offset().expect("recorded") + marker - pos);
                pos += x.len();
                hit
            })
            .expect("marker inside the file");
        let mut buf = [0u8; 16];
        img.read_exact_at(&mut buf, at).expect("read image");
        assert_eq!(&buf, format!("MARK{marker:012}").as_bytes());
    }

    // Every byte, through read_at, against the source.
    let mut src = File::open(&source).expect("source");
    let (mut ours, mut theirs) = (vec![0u8; 8 << 20], vec![0u8; 8 << 20]);
    let mut off = 0u64;
    while off < size {
        let n = fs.read_at(e.ino, off, &mut ours).expect("read_at");
        assert!(n > 0, "short file at {off}");
        src.read_exact(&mut theirs[..n]).expect("source bytes");
        assert!(
            ours[..n] == theirs[..n],
            "bytes differ in the 8 MiB from {off}"
        );
        off += n as u64;
    }
    assert_eq!(fs.read_at(e.ino, size, &mut ours).expect("at the end"), 0);
    std::fs::remove_dir_all(&dir).expect("clean up the 4.6 GiB image");
}
