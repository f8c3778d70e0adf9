//! FAT12, FAT16 and FAT32 images made by mkfs.fat and filled by mcopy, read by isofish as
//! mtools extracts them (names long and short, Unicode, crowded directories, large and empty
//! files, times; FAT has no owners or permissions to compare); a directory whose cluster chain
//! loops ends in an error, not a hang.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{scratch, tool};
use crate::host_tree::snapshot;
use crate::nested_util::{extract, noise, run, run_err};

fn fill(tree: &Path) {
    let w = |p: &str, data: &[u8]| {
        let path = tree.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    };
    w("A long file name with spaces.txt", b"long\n");
    w("README.TXT", b"short upper-case name\n");
    w("lower.txt", b"short lower-case name\n");
    w("sub/\u{dc}n\u{ef}code n\u{e2}me.txt", b"unicode\n");
    w("sub/deeper/still deeper/leaf", b"leaf\n");
    w("empty", b"");
    w("big/large.bin", &noise(2 << 20, 3));
    for i in 0..300 {
        w(
            &format!("crowd/member number {i:03}.dat"),
            format!("{i}\n").as_bytes(),
        );
    }
}

/// name -> (kind, data, mtime): what FAT keeps.
fn fat_view(top: &Path) -> BTreeMap<String, (char, Vec<u8>, i64)> {
    snapshot(top)
        .nodes
        .into_iter()
        .map(|(k, n)| (k, (n.kind, n.data, n.mtime)))
        .collect()
}

#[test]
fn fat12_fat16_fat32_read_as_mtools_extracts() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    fill(&tree);
    for (bits, kib, extra) in [
        ("12", "4000", None),
        ("16", "20000", None),
        ("32", "40000", Some("-s1")),
    ] {
        let image = dir.path().join(format!("fat{bits}.img"));
        let img = image.to_str().unwrap();
        let mut args = vec!["-F", bits, "-n", "NESTEDFAT", "-C", img, kib];
        if let Some(e) = extra {
            args.insert(0, e);
        }
        tool("mkfs.fat", &args, None);
        copy_tree(img, &tree, &["-m"]);
        let theirs = dir.path().join(format!("fat{bits}-mtools"));
        std::fs::create_dir(&theirs).unwrap();
        mtools(
            "mcopy",
            &["-s", "-m", "-n", "-i", img, "::/", theirs.to_str().unwrap()],
        );
        let ours = dir.path().join(format!("fat{bits}-isofish"));
        extract(&image, &[], "/", &ours);
        let expected = fat_view(&theirs);
        assert!(expected.len() > 300);
        assert_eq!(fat_view(&ours), expected, "FAT{bits}");
        let out =
            String::from_utf8(run(&image, &["mounts", ":", "vfs-label", "/dev/sda"])).unwrap();
        assert_eq!(out, format!("/dev/sda on / (vfat, FAT{bits})\nNESTEDFAT\n"));
    }
}

/// Copies what `tree` holds into the root of the FAT image `img` with mcopy (`-s`, and
/// `flags`).
pub fn copy_tree(img: &str, tree: &Path, flags: &[&str]) {
    let mut copy = vec!["-s", "-i", img];
    copy.extend(flags);
    let entries: Vec<String> = std::fs::read_dir(tree)
        .unwrap()
        .map(|e| e.unwrap().path().to_str().unwrap().to_string())
        .collect();
    copy.extend(entries.iter().map(String::as_str));
    copy.push("::/");
    mtools("mcopy", &copy);
}

/// mtools with times in UTC (FAT records local time); returns what it printed.
pub fn mtools(program: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .env("TZ", "UTC")
        .env("MTOOLS_SKIP_CHECK", "1")
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_looping_directory_chain_is_an_error() {
    let dir = scratch();
    let image = dir.path().join("loop.img");
    let img = image.to_str().unwrap();
    tool("mkfs.fat", &["-s1", "-F", "32", "-C", img, "40000"], None);
    // 40 names fill more than the root's first 512-byte cluster.
    let files: Vec<String> = (0..40)
        .map(|i| {
            let p = dir.path().join(format!("F{i:02}"));
            std::fs::write(&p, b"x").unwrap();
            p.to_str().unwrap().to_string()
        })
        .collect();
    let mut args = vec!["-i", img];
    args.extend(files.iter().map(String::as_str));
    args.push("::/");
    mtools("mcopy", &args);
    // Point the root's first cluster (2) back at itself in the first FAT.
    let mut bytes = std::fs::read(&image).unwrap();
    let sector = u64::from(u16::from_le_bytes([bytes[11], bytes[12]]));
    let reserved = u64::from(u16::from_le_bytes([bytes[14], bytes[15]]));
    let at = (reserved * sector + 8) as usize;
    bytes[at..at + 4].copy_from_slice(&2u32.to_le_bytes());
    std::fs::write(&image, &bytes).unwrap();
    let err = run_err(&image, &["ls", "/"]);
    assert!(err.contains("cluster loop"), "{err}");
}
