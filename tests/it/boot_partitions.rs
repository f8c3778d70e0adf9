//! Partitions as devices: `/dev/sda1`, `/dev/sda2`... appear in `list-devices` and
//! `list-filesystems` as fdisk numbers them, read as byte ranges of the drive (an ISO at the
//! partition offset mounts; the appended EFI partition is vfat as mtools reads it), and
//! `mount` of the vfat partition lists what mtools lists.

use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::boot_images::image;
use crate::common::{isofish, scratch, tool};

/// fdisk's partitions of `path`: (number, start sector, sectors).
fn fdisk(path: &Path) -> Vec<(String, u64, u64)> {
    let p = path.to_str().unwrap();
    let out = tool("fdisk", &["-l", "-o", "Device,Start,Sectors", p], None);
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| l.strip_prefix(p))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

fn stdout(path: &Path, command: &[&str]) -> String {
    let out = isofish()
        .args(["--ro", "-a", path.to_str().unwrap()])
        .args(command)
        .assert()
        .success();
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

#[test]
fn boot_partitions_are_devices() {
    let path = image("boot-appended");
    let mut want = vec!["/dev/sda".to_string()];
    want.extend(fdisk(&path).iter().map(|(n, _, _)| format!("/dev/sda{n}")));
    assert_eq!(stdout(&path, &["list-devices"]), want.join("\n") + "\n");
}

#[test]
fn boot_partitions_list_filesystems_names_the_appended_efi_partition() {
    let path = image("boot-appended");
    let dir = scratch();
    let parts = fdisk(&path);
    // The oracles: mtools reads partition 2 as FAT, isoinfo reads partition 1 as ISO 9660.
    let (_, efi_start, _) = parts.iter().find(|(n, _, _)| n == "2").unwrap();
    tool(
        "mdir",
        &[
            "-i",
            &format!("{}@@{}", path.display(), efi_start * 512),
            "::/EFI",
        ],
        None,
    );
    let (_, iso_start, iso_len) = parts.iter().find(|(n, _, _)| n == "1").unwrap();
    let mut bytes = vec![0; (*iso_len * 512) as usize];
    std::fs::File::open(&path)
        .unwrap()
        .read_exact_at(&mut bytes, iso_start * 512)
        .unwrap();
    let part1 = dir.path().join("part1.iso");
    std::fs::write(&part1, bytes).unwrap();
    tool("isoinfo", &["-d", "-i", part1.to_str().unwrap()], None);
    assert_eq!(
        stdout(&path, &["list-filesystems"]),
        "/dev/sda: iso9660\n/dev/sda1: iso9660\n/dev/sda2: vfat\n"
    );
}

#[test]
fn boot_partitions_mount_the_iso_at_the_partition_offset() {
    let path = image("boot-appended");
    let whole = stdout(&path, &["ls", "/"]);
    let part = stdout(
        &path,
        &[
            "umount",
            "/",
            ":",
            "mount",
            "/dev/sda1",
            "/",
            ":",
            "ls",
            "/",
        ],
    );
    assert!(whole.contains("README.TXT"));
    assert_eq!(part, whole);
}

#[test]
fn boot_partitions_mount_vfat_lists_what_mtools_lists() {
    let path = image("boot-appended");
    let (_, efi_start, _) = fdisk(&path).into_iter().find(|(n, _, _)| n == "2").unwrap();
    let theirs = tool(
        "mdir",
        &[
            "-b",
            "-i",
            &format!("{}@@{}", path.display(), efi_start * 512),
            "::/EFI",
        ],
        None,
    );
    let mut theirs: Vec<String> = String::from_utf8_lossy(&theirs)
        .lines()
        .map(|l| {
            l.trim_start_matches("::/EFI/")
                .trim_end_matches('/')
                .to_string()
        })
        .collect();
    let ours = stdout(
        &path,
        &["mount", "/dev/sda2", "/boot", ":", "ls", "/boot/EFI"],
    );
    let mut ours: Vec<String> = ours.lines().map(String::from).collect();
    theirs.sort();
    ours.sort();
    assert_eq!(ours, theirs);
}

#[test]
fn boot_partitions_unknown_partition_is_a_clear_error() {
    let path = image("boot-appended");
    let out = isofish()
        .args(["--ro", "-a", path.to_str().unwrap()])
        .args(["vfs-type", "/dev/sda7"])
        .assert()
        .failure()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(
        err.contains("/dev/sda7: no such device (devices: /dev/sda /dev/sda1 /dev/sda2)"),
        "{err}"
    );
}

#[test]
fn boot_partitions_as_mkisofs_wants_the_drive() {
    let path = image("boot-hybrid");
    let out = isofish()
        .args(["--ro", "-a", path.to_str().unwrap()])
        .args(["boot-info", "--as", "mkisofs", "/dev/sda1"])
        .assert()
        .failure()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(
        err.contains("/dev/sda1 is a partition; give the drive it is on"),
        "{err}"
    );
}

#[test]
fn boot_partitions_inside_a_partition_are_named_like_nested_devices() {
    // Partition 1 of the isohybrid image starts at 0 and so holds the same tables again.
    let path = image("boot-hybrid");
    let text = stdout(&path, &["boot-info", "/dev/sda1"]);
    assert!(
        text.contains("Partition         : /dev/sda1p2: MBR entry 2"),
        "{text}"
    );
}

#[test]
fn boot_partitions_a_partitioned_disk_added_with_a_is_not_auto_mounted() {
    // A plain MBR disk has no filesystem of its own: `-a` adds it, mounts nothing on `/`, and
    // its partitions are the devices fdisk lists.
    let path = image("boot-extended");
    let mut want = vec!["/dev/sda".to_string()];
    want.extend(fdisk(&path).iter().map(|(n, _, _)| format!("/dev/sda{n}")));
    assert_eq!(stdout(&path, &["list-devices"]), want.join("\n") + "\n");
    assert_eq!(stdout(&path, &["mounts"]), "");
}

#[test]
fn boot_partitions_info_names_the_boot_record_and_the_partitions() {
    // `info DEV` ends with the boot record (its catalog block as isoinfo -d finds it) and the
    // hybrid layout (as many partitions as fdisk lists).
    for name in ["boot-appended", "boot-eltorito"] {
        let path = image(name);
        let isoinfo = tool("isoinfo", &["-d", "-i", path.to_str().unwrap()], None);
        let isoinfo = String::from_utf8_lossy(&isoinfo);
        let catalog = isoinfo
            .lines()
            .find_map(|l| l.split("boot catalog is in sector ").nth(1))
            .expect("isoinfo finds El Torito")
            .trim();
        let text = stdout(&path, &["info", "/dev/sda"]);
        let line = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .map(str::trim)
                .unwrap_or_else(|| panic!("{name}: no {key} line in {text}"))
                .to_string()
        };
        assert!(
            line("Boot record:").starts_with(&format!("El Torito, catalog at block {catalog},")),
            "{name}: {text}"
        );
        let parts = fdisk(&path).len();
        assert!(
            line("Hybrid layout:").ends_with(&format!(
                "{parts} partition{}",
                if parts == 1 { "" } else { "s" }
            )),
            "{name}: {text}"
        );
    }
}
