//! The codecs libarchive reads beside the usual ones: Unix `compress` (.Z, LZW) and lzip (one
//! member, and several as `lzip -b` writes them), on cpio archives (read as GNU cpio extracts
//! them) and on an image mounted with mount-loop (an ISO in an ISO, read as xorriso does).

use crate::common::{scratch, tool, xorriso_extract};
use crate::host_tree::snapshot;
use crate::nested_cpio::drive_holding;
use crate::nested_util::{extract, make_tree, run, Kinds};

/// (name, compress command, decompress command).
const CODECS: &[(&str, &str, &str)] = &[
    ("compress", "compress -c", "compress -dc"),
    ("lzip", "lzip -c", "lzip -dc"),
    ("lzip-members", "lzip -c -b 100KiB", "lzip -dc"),
];

/// Names, kinds and bytes: what GNU cpio and xorriso restore faithfully.
fn contents(top: &std::path::Path) -> Vec<(String, char, Vec<u8>)> {
    snapshot(top)
        .nodes
        .into_iter()
        .map(|(p, n)| (p, n.kind, n.data))
        .collect()
}

fn sh(script: &str) {
    tool("sh", &["-c", script], None);
}

#[test]
fn compress_and_lzip_cpio_archives_read_as_cpio_extracts() {
    let dir = scratch();
    let d = dir.path();
    let tree = d.join("tree");
    make_tree(&tree, Kinds::plain(40, 400_000));
    for (codec, compress, decompress) in CODECS {
        let image = d.join(format!("{codec}.cpio"));
        sh(&format!(
            "cd '{}' && find . | LC_ALL=C sort | cpio --quiet -o -H newc | {compress} > '{}'",
            tree.display(),
            image.display()
        ));
        let theirs = d.join(format!("{codec}-theirs"));
        std::fs::create_dir(&theirs).unwrap();
        sh(&format!(
            "cd '{}' && {decompress} < '{}' | cpio --quiet -idm --no-absolute-filenames",
            theirs.display(),
            image.display()
        ));
        let ours = d.join(format!("{codec}-ours"));
        extract(&image, &[], "/", &ours);
        // GNU cpio restores neither directory nor symlink times: contents are compared.
        assert_eq!(contents(&theirs), contents(&ours), "{codec}");
        let name = codec.split('-').next().unwrap();
        let mounts = String::from_utf8(run(&image, &["mounts"])).unwrap();
        assert_eq!(
            mounts,
            format!("/dev/sda on / (cpio, newc, {name} decoded on demand)\n"),
            "{codec}"
        );
    }
}

#[test]
fn compressed_images_mount_with_mount_loop() {
    let dir = scratch();
    let d = dir.path();
    let tree = d.join("tree");
    make_tree(&tree, Kinds::plain(10, 300_000));
    let inner = d.join("inner.iso");
    crate::common::xorriso_rr(&tree, &inner);
    for (codec, compress, _) in CODECS {
        let image = d.join(format!("inner-{codec}.img"));
        sh(&format!(
            "{compress} < '{}' > '{}'",
            inner.display(),
            image.display()
        ));
        let drive = drive_holding(&image);
        let name = image.file_name().unwrap().to_str().unwrap();
        let path = format!("/{name}");
        let said =
            String::from_utf8(run(&drive, &["vfs-type", &path, ":", "file", &path])).unwrap();
        let codec_name = codec.split('-').next().unwrap();
        let magic =
            String::from_utf8(tool("file", &["-b", image.to_str().unwrap()], None)).unwrap();
        assert_eq!(said, format!("iso9660 ({codec_name})\n{magic}"));
        let theirs = d.join(format!("{codec}-theirs"));
        xorriso_extract(&inner, "/", &theirs);
        let ours = d.join(format!("{codec}-ours"));
        extract(&drive, &["mount-loop", &path, "/m", ":"], "/m", &ours);
        assert_eq!(contents(&theirs), contents(&ours), "{codec}");
        std::fs::remove_file(&drive).unwrap();
    }
}
