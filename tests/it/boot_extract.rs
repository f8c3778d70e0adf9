//! `boot-extract`: a boot image as the firmware loads it (the bytes `isoinfo -d`'s Bootoff and
//! Nsect name, as the seed's `dd` recipe takes them), and `--whole` for the file xorriso
//! extracts or the appended partition fdisk lists; the EFI images are FAT that mtools reads.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::boot_images::image;
use crate::common::{isofish, scratch, tool};

fn extract(path: &Path, args: &[&str]) -> Vec<u8> {
    let out = isofish()
        .args(["--ro", "-a", path.to_str().unwrap(), "boot-extract"])
        .args(args)
        .assert()
        .success();
    out.get_output().stdout.clone()
}

/// A file of the ISO tree, as xorriso extracts it.
fn xorriso_file(path: &Path, file: &str, dir: &Path) -> Vec<u8> {
    let to = dir.join(file.trim_start_matches('/').replace('/', "_"));
    tool(
        "xorriso",
        &[
            "-osirrox",
            "on",
            "-indev",
            path.to_str().unwrap(),
            "-extract",
            file,
            to.to_str().unwrap(),
        ],
        None,
    );
    std::fs::read(to).expect("the extracted file")
}

pub(crate) fn bytes_at(path: &Path, offset: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    std::fs::File::open(path)
        .unwrap()
        .read_exact_at(&mut buf, offset)
        .unwrap();
    buf
}

/// The default entry's image as `isoinfo -d` locates it: Nsect × 512 bytes from Bootoff.
fn isoinfo_default_image(path: &Path) -> Vec<u8> {
    let out = tool("isoinfo", &["-d", "-i", path.to_str().unwrap()], None);
    let text = String::from_utf8_lossy(&out);
    let get = |label: &str| -> String {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|v| v.split_whitespace().next().unwrap().to_string())
            .unwrap()
    };
    // isoinfo prints both in hex.
    let lba = u64::from_str_radix(&get("Bootoff"), 16).unwrap();
    let nsect = usize::from_str_radix(&get("Nsect"), 16).unwrap();
    bytes_at(path, lba * 2048, nsect * 512)
}

/// Checks `file` is a FAT image holding the EFI loader, as mtools sees it.
fn assert_efi_fat(bytes: &[u8], dir: &Path) -> PathBuf {
    let f = dir.join("efi.img");
    std::fs::write(&f, bytes).unwrap();
    let listing = tool(
        "mdir",
        &["-b", "-i", f.to_str().unwrap(), "::/EFI/BOOT"],
        None,
    );
    assert!(
        String::from_utf8_lossy(&listing).contains("BOOTX64.EFI"),
        "{}",
        String::from_utf8_lossy(&listing)
    );
    f
}

#[test]
fn boot_extract_no_emulation_image_as_the_firmware_loads_it() {
    let path = image("boot-eltorito");
    let dir = scratch();
    let loaded = extract(&path, &["/dev/sda", "1", "-"]);
    assert_eq!(loaded.len(), 4 * 512);
    assert_eq!(loaded, isoinfo_default_image(&path));
    let file = xorriso_file(&path, "/isolinux/isolinux.bin", dir.path());
    assert_eq!(loaded, file[..4 * 512]);
    assert_eq!(extract(&path, &["--whole", "/dev/sda", "1", "-"]), file);
}

#[test]
fn boot_extract_to_a_host_file() {
    let path = image("boot-eltorito");
    let dir = scratch();
    let out = dir.path().join("efiboot.img");
    isofish()
        .args(["--ro", "-a", path.to_str().unwrap()])
        .args(["boot-extract", "/dev/sda", "2", out.to_str().unwrap()])
        .assert()
        .success();
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(bytes, xorriso_file(&path, "/EFI/efiboot.img", dir.path()));
    assert_efi_fat(&bytes, dir.path());
}

#[test]
fn boot_extract_hidden_image_in_an_appended_partition() {
    for name in ["boot-appended", "boot-gpt-appended", "boot-ubuntu"] {
        hidden_image_in_partition_2(name);
    }
}

fn hidden_image_in_partition_2(name: &str) {
    let path = image(name);
    let dir = scratch();
    let p = path.to_str().unwrap();
    let listing = tool("fdisk", &["-l", "-o", "Device,Start,Sectors", p], None);
    let text = String::from_utf8_lossy(&listing);
    let (start, sectors): (u64, usize) = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{p}2")))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].parse().unwrap(), f[1].parse().unwrap())
        })
        .expect("fdisk lists partition 2");
    let whole = extract(&path, &["--whole", "/dev/sda", "2", "-"]);
    assert_eq!(whole, bytes_at(&path, start * 512, sectors * 512));
    assert_efi_fat(&whole, dir.path());
}

#[test]
fn boot_extract_floppy_emulation_reads_the_whole_floppy() {
    let path = image("boot-floppy");
    let dir = scratch();
    let loaded = extract(&path, &["/dev/sda", "1", "-"]);
    assert_eq!(loaded.len(), 1_474_560);
    assert_eq!(
        loaded,
        xorriso_file(&path, "/floppy/floppy.img", dir.path())
    );
}

#[test]
fn boot_extract_grub_efi_image_whole() {
    let path = image("boot-grub");
    let dir = scratch();
    let whole = extract(&path, &["--whole", "/dev/sda", "2", "-"]);
    assert_eq!(whole, xorriso_file(&path, "/efi.img", dir.path()));
}

#[test]
fn boot_extract_rejects_a_number_out_of_range() {
    let path = image("boot-eltorito");
    let out = isofish()
        .args(["--ro", "-a", path.to_str().unwrap()])
        .args(["boot-extract", "/dev/sda", "3", "-"])
        .assert()
        .failure()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(
        err.contains("N must be a boot image number from 1 to 2"),
        "{err}"
    );
}

#[test]
fn boot_extract_hard_disk_emulation_reads_the_emulated_disk() {
    let path = image("boot-harddisk");
    let dir = scratch();
    let loaded = extract(&path, &["/dev/sda", "1", "-"]);
    assert_eq!(loaded, xorriso_file(&path, "/hd/disk.img", dir.path()));
}
