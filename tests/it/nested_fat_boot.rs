//! The UEFI story of nested edits: the `grub.cfg` inside an ISO's EFI system image, edited
//! in one isofish session (`mount-loop /efi.img /efi : write /efi/EFI/BOOT/grub.cfg … :
//! commit`), and the committed image boots under OVMF (as a hard disk: the firmware loads
//! GRUB from the EFI partition, and GRUB reads its config from that FAT) to the marker the new
//! config prints on the serial port.
//!
//! grub-mkrescue's own `efi.img` holds no `grub.cfg` (its loader carries its config in a
//! memdisk and reads `/boot/grub/grub.cfg` from the ISO 9660 tree), so the EFI image is made
//! the way distributions make theirs (Debian's `efi.img`, Fedora's `efiboot.img`): a FAT
//! volume with a GRUB loader built by grub-mkimage whose prefix is `/EFI/BOOT` on the device
//! it was loaded from, and the config beside it. The ISO is laid out as grub-mkrescue lays
//! out its own (xorriso: the image at `/efi.img`, an El Torito UEFI entry and a GPT EFI
//! partition on it, a protective MBR).

use std::path::{Path, PathBuf};

use crate::boot_qemu::{boot_all, Drive, Firmware};
use crate::common::{isofish, scratch, tool};
use crate::nested_fat::mtools;

/// A config that prints `marker` on the serial port and waits.
fn config(marker: &str) -> String {
    format!(
        "serial --unit=0 --speed=115200\nterminal_input serial\nterminal_output serial\n\
         echo {marker}\nsleep 60\n"
    )
}

/// The GRUB modules the loader needs to find and run its config on the EFI partition.
const MODULES: &[&str] = &[
    "part_gpt",
    "part_msdos",
    "fat",
    "normal",
    "configfile",
    "echo",
    "serial",
    "terminal",
    "sleep",
];

/// An ISO whose `/efi.img` holds a GRUB loader reading `/EFI/BOOT/grub.cfg` (printing
/// `marker`) from the FAT it is on, bootable from that image under UEFI.
fn efi_iso(dir: &Path, marker: &str) -> PathBuf {
    let loader = dir.join("BOOTX64.EFI");
    let mut args = vec![
        "-O",
        "x86_64-efi",
        "-p",
        "/EFI/BOOT",
        "-o",
        loader.to_str().unwrap(),
    ];
    args.extend(MODULES);
    tool("grub-mkimage", &args, None);
    let cfg = dir.join("grub.cfg");
    std::fs::write(&cfg, config(marker)).unwrap();

    let tree = dir.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("README.TXT"), b"an ISO with an EFI image\n").unwrap();
    let efi = tree.join("efi.img");
    let img = efi.to_str().unwrap();
    tool("mkfs.vfat", &["-n", "EFIBOOT", "-C", img, "4096"], None);
    mtools("mmd", &["-i", img, "::/EFI", "::/EFI/BOOT"]);
    mtools(
        "mcopy",
        &[
            "-i",
            img,
            loader.to_str().unwrap(),
            cfg.to_str().unwrap(),
            "::/EFI/BOOT/",
        ],
    );

    let iso = dir.join("efi.iso");
    tool(
        "xorriso",
        &[
            "-as",
            "mkisofs",
            "-R",
            "-V",
            "EFIBOOT",
            "-o",
            iso.to_str().unwrap(),
            "--efi-boot",
            "efi.img",
            "-efi-boot-part",
            "--efi-boot-image",
            "--protective-msdos-label",
            tree.to_str().unwrap(),
        ],
        None,
    );
    iso
}

/// Where xorriso reports the ISO's UEFI El Torito image: `/efi.img`.
fn uefi_image_path(iso: &Path) -> String {
    let out = tool(
        "xorriso",
        &[
            "-indev",
            iso.to_str().unwrap(),
            "-report_el_torito",
            "plain",
        ],
        None,
    );
    let text = String::from_utf8_lossy(&out);
    text.lines()
        .find_map(|l| l.strip_prefix("El Torito img path :   1  "))
        .unwrap_or_else(|| panic!("no El Torito image path in\n{text}"))
        .trim()
        .to_string()
}

/// The harness: the ISO as built boots to the marker of the config it was built with.
#[test]
fn control_an_efi_image_config_boots_under_ovmf() {
    let dir = scratch();
    let iso = efi_iso(dir.path(), "MARKER-CONTROL");
    boot_all(&iso, &[(Firmware::Ovmf, Drive::HardDisk)], "MARKER-CONTROL");
}

/// The story: the config inside the EFI image, edited and committed in one session.
#[test]
fn a_grub_cfg_edited_inside_the_efi_image_boots_under_ovmf() {
    let dir = scratch();
    let iso = efi_iso(dir.path(), "MARKER-OLD");
    let inner = uefi_image_path(&iso);
    assert_eq!(inner, "/efi.img");
    let out = dir.path().join("new.iso");
    isofish()
        .arg("-a")
        .arg(&iso)
        .args(["mount-loop", &inner, "/efi", ":"])
        .args([
            "write",
            "/efi/EFI/BOOT/grub.cfg",
            &config("MARKER-NEW"),
            ":",
        ])
        .args(["commit", out.to_str().unwrap()])
        .assert()
        .success();
    // The EFI image in the new ISO holds the new config, as mtools reads it there.
    let extracted = dir.path().join("efi-new.img");
    tool(
        "xorriso",
        &[
            "-osirrox",
            "on",
            "-indev",
            out.to_str().unwrap(),
            "-extract",
            &inner,
            extracted.to_str().unwrap(),
        ],
        None,
    );
    let img = extracted.to_str().unwrap();
    assert_eq!(
        mtools("mtype", &["-i", img, "::/EFI/BOOT/grub.cfg"]),
        config("MARKER-NEW")
    );
    let fsck = tool("fsck.vfat", &["-n", img], None);
    assert!(
        !String::from_utf8_lossy(&fsck).contains("differ"),
        "{}",
        String::from_utf8_lossy(&fsck)
    );
    boot_all(&out, &[(Firmware::Ovmf, Drive::HardDisk)], "MARKER-NEW");
}
