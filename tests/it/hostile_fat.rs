//! FAT images with one damaged directory entry: a `.` or `..` entry renamed to an ordinary
//! name makes a directory reachable inside itself. `find`, `du`, `copy-out` and `tar-out`
//! finish, warn about the loop by its path, do not enter it, and read everything else. An
//! entry (or a FAT32 root) whose first cluster lies outside the volume, and a cluster chain
//! that runs into cluster 1 or loops, are errors naming the entry or the FAT's entry, not a
//! panic. A long name holding `/` is left out with a warning naming its entry's offset.

use std::path::Path;

use crate::common::{isofish, refused_ro, run_ro, scratch, tool};

/// A FAT12 image holding `/top.txt`, `/sub/in.txt` and `/sub/deep/d.txt`, made by mkfs.fat and
/// filled by mtools.
fn fat_image(dir: &Path) -> Vec<u8> {
    let image = dir.join("clean.img");
    let img = image.to_str().unwrap();
    tool("mkfs.fat", &["-C", img, "2000"], None);
    let text = dir.join("t.txt");
    std::fs::write(&text, b"still here\n").unwrap();
    let t = text.to_str().unwrap();
    for (program, args) in [
        ("mmd", vec!["-i", img, "::/sub", "::/sub/deep"]),
        ("mcopy", vec!["-i", img, t, "::/top.txt"]),
        ("mcopy", vec!["-i", img, t, "::/sub/in.txt"]),
        ("mcopy", vec!["-i", img, t, "::/sub/deep/d.txt"]),
    ] {
        let out = std::process::Command::new(program)
            .args(&args)
            .env("MTOOLS_SKIP_CHECK", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{program} {args:?}");
    }
    std::fs::read(&image).unwrap()
}

/// Offsets of the directory entries whose 11-byte short name is `name`, with the cluster each
/// records.
fn dir_entries(image: &[u8], name: &[u8; 11]) -> Vec<(usize, u16)> {
    (0..image.len() - 32)
        .step_by(32)
        .filter(|&at| &image[at..at + 11] == name && image[at + 11] & 0x10 != 0)
        .map(|at| (at, u16::from_le_bytes([image[at + 26], image[at + 27]])))
        .collect()
}

/// The offset of `/sub`'s `.` entry (the one followed by a `..` naming the root, cluster 0),
/// of its `..` entry, and of `/sub/deep`'s `..` entry (the one naming a cluster).
fn special_entries(image: &[u8]) -> [usize; 3] {
    let ups = dir_entries(image, b"..         ");
    let sub_up = ups.iter().find(|e| e.1 == 0).unwrap().0;
    let deep_up = ups.iter().find(|e| e.1 != 0).unwrap().0;
    let sub_dot = dir_entries(image, b".          ")
        .into_iter()
        .find(|e| e.0 + 32 == sub_up)
        .unwrap()
        .0;
    [sub_dot, sub_up, deep_up]
}

#[test]
fn a_renamed_dot_or_dot_dot_entry_is_a_loop_not_entered() {
    let dir = scratch();
    let clean = fat_image(dir.path());
    let [sub_dot, sub_up, deep_up] = special_entries(&clean);
    for (at, looped, what) in [
        (sub_dot, "/sub/LOOP", "/sub's `.`"),
        (sub_up, "/sub/LOOP", "/sub's `..` (the root)"),
        (deep_up, "/sub/deep/LOOP", "/sub/deep's `..` (/sub)"),
    ] {
        let mut bytes = clean.clone();
        bytes[at..at + 11].copy_from_slice(b"LOOP       ");
        let image = dir.path().join("loop.img");
        std::fs::write(&image, &bytes).unwrap();
        let tarball = dir.path().join("out.tar");
        let copy = dir.path().join("copy");
        let _ = std::fs::remove_dir_all(&copy);
        std::fs::create_dir(&copy).unwrap();
        let out = isofish()
            .timeout(std::time::Duration::from_secs(30))
            .arg("--ro")
            .arg("-a")
            .arg(&image)
            .args(["find", "/", ":", "du", "/", ":", "tar-out", "/"])
            .arg(&tarball)
            .args([":", "copy-out", "/"])
            .arg(&copy)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Finished on its own: 0, or 1 if skipping the loop is to fail the command.
        assert!(matches!(out.status.code(), Some(0 | 1)), "{what}: {stderr}");
        let warning = format!("{looped}: not entered: the directory contains itself");
        assert_eq!(stderr.matches(&warning).count(), 4, "{what}: {stderr}");
        for path in ["top.txt", "sub/in.txt", "sub/deep/d.txt", &looped[1..]] {
            assert!(
                stdout.lines().any(|l| l == path),
                "{what}: {path}: {stdout}"
            );
        }
        for file in ["top.txt", "sub/in.txt", "sub/deep/d.txt"] {
            assert_eq!(
                std::fs::read(copy.join(file)).unwrap(),
                b"still here\n",
                "{what}: {file}"
            );
        }
        assert!(copy.join(&looped[1..]).is_dir(), "{what}");
        let listing =
            String::from_utf8(tool("tar", &["-tf", tarball.to_str().unwrap()], None)).unwrap();
        assert!(listing.contains("sub/deep/d.txt"), "{what}: {listing}");
        // The loop is there, empty: nothing below it.
        assert!(
            !listing.lines().any(|l| l
                .split_once("LOOP/")
                .is_some_and(|(_, below)| !below.is_empty())),
            "{what}: {listing}"
        );
    }
}

/// Runs `command` on `image` (mounted as the drive's filesystem), which must fail (see
/// [`refused_ro`]); returns what it said on stderr.
fn refused(image: &Path, command: &[&str]) -> String {
    refused_ro(image, command).1
}

#[test]
fn a_first_cluster_outside_the_volume_is_an_error_naming_the_entry() {
    let dir = scratch();
    let clean = fat_image(dir.path());
    let [(at, _)] = dir_entries(&clean, b"SUB        ")[..] else {
        panic!("one /sub entry");
    };
    // Cluster 1 is reserved; 0xff0 lies past the end of this 1 MB volume.
    for cluster in [1u16, 0xff0] {
        let mut bytes = clean.clone();
        bytes[at + 26..at + 28].copy_from_slice(&cluster.to_le_bytes());
        let image = dir.path().join("cluster.img");
        std::fs::write(&image, &bytes).unwrap();
        let stderr = refused(&image, &["find", "/"]);
        let error = format!(
            "cluster.img: corrupt FAT directory entry at offset {at}: /sub: first cluster {cluster} is outside the volume"
        );
        assert!(stderr.contains(&error), "{cluster}: {stderr}");
    }
}

#[test]
fn a_fat32_root_cluster_outside_the_volume_is_an_error() {
    let dir = scratch();
    let image = dir.path().join("root.img");
    let img = image.to_str().unwrap();
    tool("mkfs.fat", &["-F", "32", "-C", img, "40000"], None);
    let clean = std::fs::read(&image).unwrap();
    // BPB_RootClus, byte 44 of the boot sector.
    for cluster in [0u32, 1, 0x0fff_ffff] {
        let mut bytes = clean.clone();
        bytes[44..48].copy_from_slice(&cluster.to_le_bytes());
        std::fs::write(&image, &bytes).unwrap();
        let stderr = refused(&image, &["ls", "/"]);
        let error = format!(
            "root.img: corrupt FAT boot sector at offset 44: the root directory's cluster {cluster} is outside the volume"
        );
        assert!(stderr.contains(&error), "{cluster}: {stderr}");
    }
}

/// The byte offset of cluster `c`'s entry in the first FAT of a FAT12 image.
fn fat12_entry(image: &[u8], c: usize) -> usize {
    let bps = usize::from(u16::from_le_bytes([image[11], image[12]]));
    let reserved = usize::from(u16::from_le_bytes([image[14], image[15]]));
    reserved * bps + c + c / 2
}

/// Sets cluster `c`'s entry of a FAT12 image's first FAT to `value`.
fn set_fat12(image: &mut [u8], c: usize, value: u16) {
    let at = fat12_entry(image, c);
    let old = u16::from_le_bytes([image[at], image[at + 1]]);
    let new = if c & 1 == 0 {
        old & 0xf000 | value
    } else {
        old & 0x000f | value << 4
    };
    image[at..at + 2].copy_from_slice(&new.to_le_bytes());
}

#[test]
fn a_cluster_chain_through_cluster_1_or_looping_is_an_error_naming_the_table_entry() {
    let dir = scratch();
    let clean = fat_image(dir.path());
    let [(_, sub_cluster)] = dir_entries(&clean, b"SUB        ")[..] else {
        panic!("one /sub entry");
    };
    let top = (0..clean.len() - 32)
        .step_by(32)
        .find(|&at| &clean[at..at + 11] == b"TOP     TXT")
        .unwrap();
    let top_cluster = usize::from(u16::from_le_bytes([clean[top + 26], clean[top + 27]]));
    let sub_cluster = usize::from(sub_cluster);
    let image = dir.path().join("chain.img");
    let name = "chain.img";
    let damaged = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = clean.clone();
        edit(&mut bytes);
        std::fs::write(&image, &bytes).unwrap();
    };
    // /sub's one cluster says it continues into cluster 1 (reserved), then into itself.
    let entry = fat12_entry(&clean, sub_cluster);
    damaged(&|b| set_fat12(b, sub_cluster, 1));
    let stderr = refused(&image, &["find", "/"]);
    let error = format!(
        "{name}: corrupt FAT table at offset {entry}: /sub: cluster {sub_cluster} is followed by cluster 1, outside the volume"
    );
    assert!(stderr.contains(&error), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    damaged(&|b| set_fat12(b, sub_cluster, sub_cluster as u16));
    let stderr = refused(&image, &["ls", "/sub"]);
    let error = format!(
        "{name}: corrupt FAT table at offset {entry}: /sub: the directory's cluster chain comes back to cluster {sub_cluster} (a cluster loop)"
    );
    assert!(stderr.contains(&error), "{stderr}");
    // /top.txt claims a second cluster; its one cluster goes on to cluster 1.
    let entry = fat12_entry(&clean, top_cluster);
    damaged(&|b| {
        b[top + 28..top + 32].copy_from_slice(&5000u32.to_le_bytes());
        set_fat12(b, top_cluster, 1);
    });
    let stderr = refused(&image, &["cat", "/top.txt"]);
    let error = format!(
        "{name}: corrupt FAT table at offset {entry}: /top.txt: cluster {top_cluster} is followed by cluster 1, outside the volume"
    );
    assert!(stderr.contains(&error), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The rest of the volume still reads.
    assert_eq!(run_ro(&image, &["cat", "/sub/in.txt"]), b"still here\n");
}

#[test]
fn a_long_name_with_a_slash_is_left_out_naming_its_entry() {
    let dir = scratch();
    let d = dir.path();
    let image = d.join("slash.img");
    std::fs::write(&image, fat_image(d)).unwrap();
    let text = d.join("t.txt");
    let out = std::process::Command::new("mcopy")
        .args(["-i", image.to_str().unwrap(), text.to_str().unwrap()])
        .arg("::/sub/long-name-here.txt")
        .env("MTOOLS_SKIP_CHECK", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    // The long name's first `-` (UTF-16) becomes `/`; its short entry stays as mtools wrote it.
    let mut bytes = std::fs::read(&image).unwrap();
    let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    let long = utf16("long-");
    let at = bytes.windows(long.len()).position(|w| w == long).unwrap();
    bytes[at + 8..at + 10].copy_from_slice(&utf16("/"));
    std::fs::write(&image, &bytes).unwrap();
    let short = (0..bytes.len() - 32)
        .step_by(32)
        .find(|&e| bytes[e..e + 6] == *b"LONG-N" && bytes[e + 11] != 0x0f)
        .unwrap();
    let out = isofish()
        .args(["--ro", "-a"])
        .arg(&image)
        .args(["find", "/", ":", "cat", "/sub/in.txt"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stdout.lines().any(|l| l.ends_with("sub/in.txt")),
        "{stdout}"
    );
    assert!(!stdout.contains("long"), "{stdout}");
    assert!(stdout.ends_with("still here\n"), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "slash.img: FAT directory entry at offset {short}: entry \"long/name-here.txt\" left out"
        )),
        "{stderr}"
    );
}
