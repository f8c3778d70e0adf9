//! `inspect` and `isofish -i`: on the boot images of the test set (their boot images named as
//! xorriso reports them, their menus as make-boot.sh wrote them) and on Ubuntu-, Fedora-,
//! Arch-, Debian- and Windows-shaped discs built here with xorriso, genisoimage, mksquashfs,
//! mkfs.ext4, mkfs.fat and mtools: every expected value is what the test wrote into the
//! layout.

use std::path::{Path, PathBuf};

use crate::boot_images::{self, values};
use crate::common::{fixture, isofish, scratch, tool};
use crate::mutants::Rng;

const ISOLINUX: &str = "/usr/lib/ISOLINUX/isolinux.bin";
const ISOHDPFX: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";

/// `inspect` on `image`, as (label, value) lines (`  Entry` is `Entry`).
fn inspect(image: &Path) -> Vec<(String, String)> {
    let out = isofish()
        .args(["--ro", "-a"])
        .arg(image)
        .arg("inspect")
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    text.lines()
        .filter_map(|l| l.split_once(" : "))
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .collect()
}

/// The one value labelled `label`.
fn one<'a>(lines: &'a [(String, String)], label: &str) -> &'a str {
    let v = values(lines, label);
    assert_eq!(v.len(), 1, "one {label:?} line expected in {lines:#?}");
    v[0]
}

/// A disc `make` builds in a fresh scratch directory, and `inspect` on it.
fn built(make: fn(&Path) -> PathBuf) -> (tempfile::TempDir, PathBuf, Vec<(String, String)>) {
    let dir = scratch();
    let iso = make(dir.path());
    let lines = inspect(&iso);
    (dir, iso, lines)
}

/// Writes `data` at `rel` under `top`, parents made.
fn put(top: &Path, rel: &str, data: impl AsRef<[u8]>) -> PathBuf {
    let path = top.join(rel.trim_start_matches('/'));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, data).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// A root filesystem tree with `os-release` where systemd puts it (`/etc/os-release` a symlink
/// to `../usr/lib/os-release`) and a hostname.
fn root_tree(dir: &Path, os_release: &str, hostname: &str) -> PathBuf {
    let root = dir.join("root");
    put(&root, "usr/lib/os-release", os_release);
    put(&root, "etc/hostname", hostname);
    std::os::unix::fs::symlink("../usr/lib/os-release", root.join("etc/os-release")).unwrap();
    root
}

fn mksquashfs(tree: &Path, out: &Path) {
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    tool(
        "mksquashfs",
        &[
            s(tree),
            s(out),
            "-comp",
            "gzip",
            "-noappend",
            "-quiet",
            "-no-progress",
        ],
        None,
    );
}

/// A FAT image at `out` holding `files` (path, content).
fn fat(out: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(out);
    tool("mkfs.fat", &["-C", s(out), "2048"], None);
    let host = out.with_extension("content");
    let mut made = Vec::new();
    for (path, content) in files {
        let mut dir = String::new();
        for part in path
            .trim_start_matches('/')
            .split('/')
            .collect::<Vec<_>>()
            .split_last()
            .unwrap()
            .1
        {
            dir = format!("{dir}/{part}");
            if !made.contains(&dir) {
                tool("mmd", &["-i", s(out), &format!("::{dir}")], None);
                made.push(dir.clone());
            }
        }
        std::fs::write(&host, content).unwrap();
        tool(
            "mcopy",
            &["-i", s(out), s(&host), &format!("::{path}")],
            None,
        );
    }
    std::fs::remove_file(&host).unwrap();
}

/// A gzip'd newc cpio archive at `out` holding one file `init`.
fn initrd(out: &Path, init: &str) {
    let dir = out.with_extension("tree");
    put(&dir, "init", init);
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let script = format!(
        "cd '{}' && echo init | cpio -o -H newc --quiet | gzip -n > '{}'",
        s(&dir),
        s(out)
    );
    tool("sh", &["-c", &script], None);
    std::fs::remove_dir_all(dir).unwrap();
}

/// GRUB's BIOS El Torito image, as Ubuntu's and Fedora's discs have it.
fn grub_eltorito(out: &Path) {
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    tool(
        "grub-mkimage",
        &[
            "-O",
            "i386-pc-eltorito",
            "-o",
            s(out),
            "-p",
            "/boot/grub",
            "biosdisk",
            "iso9660",
        ],
        None,
    );
}

/// Masters `tree` into `out` with `xorriso -as mkisofs -r -J -V VOLUME OPTIONS` (OPTIONS split
/// at white space: the scratch paths in them have none).
fn master(out: &Path, tree: &Path, volume: &str, options: &str) {
    let mut args = vec![
        "-as",
        "mkisofs",
        "-quiet",
        "-o",
        s(out),
        "-V",
        volume,
        "-r",
        "-J",
    ];
    args.extend(options.split_whitespace());
    args.push(s(tree));
    tool("xorriso", &args, None);
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

/// The `Entry` line of a menu entry with these fields.
fn entry(title: &str, kernel: &str, initrd: &str, args: &str) -> String {
    format!("{title:?}  kernel {kernel}  initrd {initrd}  args {args:?}")
}

fn has(lines: &[(String, String)], label: &str, value: &str) -> bool {
    values(lines, label).contains(&value)
}

fn starts(lines: &[(String, String)], label: &str, prefix: &str) -> bool {
    values(lines, label).iter().any(|v| v.starts_with(prefix))
}

/// Asserts with the whole report in the message.
macro_rules! check {
    ($lines:expr, $cond:expr) => {
        assert!($cond, "{} in {:#?}", stringify!($cond), $lines)
    };
}

// ---- The images of the test set ---------------------------------------------------------

#[test]
fn fixtures_boot_paths_as_xorriso_names_them() {
    for name in [
        "boot-eltorito",
        "boot-appended",
        "boot-isolinux",
        "boot-grub",
    ] {
        let path = boot_images::image(name);
        let lines = inspect(&path);
        let x = boot_images::xorriso(&path);
        let paths = values(&x, "El Torito img path");
        let bios = one(&lines, "BIOS boot");
        let bios_file = paths.iter().find(|p| p.starts_with("1 ")).unwrap();
        let bios_file = bios_file.split_whitespace().nth(1).unwrap();
        check!(lines, bios.contains(&format!(", {bios_file}, ")));
        let uefi = one(&lines, "UEFI boot");
        match paths.iter().find(|p| p.starts_with("2 ")) {
            Some(p) => check!(lines, uefi.contains(p.split_whitespace().nth(1).unwrap())),
            None => check!(lines, uefi.contains("appended partition 2")),
        }
        // Hybrid when xorriso finds partitions in the system area.
        let partitions = x
            .iter()
            .any(|(k, _)| k.ends_with("partition") || k == "MBR partition");
        check!(
            lines,
            one(&lines, "Hybrid USB").starts_with(if partitions { "yes" } else { "no" })
        );
        if name == "boot-grub" {
            // make-boot.sh's grub.cfg sets a timeout and has no entries.
            check!(
                lines,
                bios.starts_with("GRUB, ") && bios.ends_with("reads /boot/grub/grub.cfg")
            );
            check!(
                lines,
                one(&lines, "Menu") == "/boot/grub/grub.cfg (GRUB, 0 entries)"
            );
        } else {
            // make-boot.sh's isolinux.cfg: `label linux`, `kernel /vmlinuz`.
            check!(
                lines,
                bios.starts_with("isolinux, ") && bios.ends_with("reads /isolinux/isolinux.cfg")
            );
            check!(lines, one(&lines, "Entry") == "\"linux\"  kernel /vmlinuz");
            check!(lines, one(&lines, "Architecture").starts_with("x86_64 ("));
        }
    }
}

#[test]
fn a_disc_that_does_not_boot_says_so() {
    let lines = inspect(&fixture("sample.iso"));
    check!(
        lines,
        one(&lines, "Boot") == "none (no El Torito boot record)"
    );
    check!(lines, one(&lines, "Volume") == "iso9660 \"ISOFISH_SAMPLE\"");
    check!(lines, values(&lines, "Live root").is_empty());
}

/// nested.iso (make-nested.sh): `LiveOS/squashfs.img` wraps an ext4 root whose os-release says
/// `NAME="Isofish Linux"`; the Arch root beside it comes later in the search.
#[test]
fn the_nested_fixture_live_root() {
    let nested = fixture("nested.iso");
    let lines = inspect(&nested);
    check!(
        lines,
        one(&lines, "Live system")
            == "Isofish Linux  [/LiveOS/squashfs.img:/LiveOS/rootfs.img/etc/os-release]"
    );
    // The squashfs's size as xorriso lists it.
    let listing = tool(
        "xorriso",
        &["-indev", s(&nested), "-lsl", "/LiveOS/squashfs.img"],
        None,
    );
    let listing = String::from_utf8_lossy(&listing).into_owned();
    let squash = listing.split_whitespace().nth(4).unwrap();
    check!(
        lines,
        one(&lines, "Live root")
            == format!(
                "/LiveOS/squashfs.img (squashfs (xz), {squash} bytes, root in /LiveOS/rootfs.img)"
            )
    );
}

// ---- Ubuntu -------------------------------------------------------------------------------

const UBUNTU_INFO: &str = "Ubuntu 24.04 LTS \"Noble Numbat\" - Release amd64 (20240424)";
const UBUNTU_RELEASE: &str =
    "PRETTY_NAME=\"Ubuntu 24.04 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\n";

/// As Ubuntu's discs since 20.10: GRUB for BIOS (hybrid MBR) and UEFI (an appended ESP whose
/// grub.cfg goes on in the ISO's), casper's live root.
fn ubuntu(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    put(&tree, ".disk/info", UBUNTU_INFO);
    mksquashfs(
        &root_tree(dir, UBUNTU_RELEASE, "ubuntu\n"),
        &tree.join("casper/filesystem.squashfs"),
    );
    put(&tree, "casper/vmlinuz", "not a kernel");
    initrd(&tree.join("casper/initrd"), "ubuntu init");
    put(
        &tree,
        "boot/grub/grub.cfg",
        "set timeout=30\nloadfont unicode\nmenuentry \"Try or Install Ubuntu\" {\n\tset gfxpayload=keep\n\tlinux\t/casper/vmlinuz  --- quiet splash\n\tinitrd\t/casper/initrd\n}\ngrub_platform\nif [ \"$grub_platform\" = \"efi\" ]; then\nmenuentry 'UEFI Firmware Settings' {\n\tfwsetup\n}\nfi\n",
    );
    grub_eltorito(&tree.join("boot/grub/i386-pc/eltorito.img"));
    let esp = dir.join("esp.img");
    fat(
        &esp,
        &[
            ("/EFI/boot/bootx64.efi", "shim"),
            ("/EFI/boot/grubx64.efi", "grub"),
            ("/boot/grub/grub.cfg", "search --set=root --file /.disk/info\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n"),
        ],
    );
    let out = dir.join("ubuntu.iso");
    master(&out, &tree, "Ubuntu 24.04 LTS amd64", &format!("--grub2-mbr /usr/lib/grub/i386-pc/boot_hybrid.img -partition_offset 16 --mbr-force-bootable -append_partition 2 28732ac11ff8d211ba4b00a0c93ec93b {} -appended_part_as_gpt -c /boot.catalog -b /boot/grub/i386-pc/eltorito.img -no-emul-boot -boot-load-size 4 -boot-info-table --grub2-boot-info -eltorito-alt-boot -e --interval:appended_partition_2::: -no-emul-boot", s(&esp)));
    out
}

#[test]
fn ubuntu_shaped() {
    let (dir, _, lines) = built(ubuntu);
    check!(
        lines,
        one(&lines, "Disc") == format!("{UBUNTU_INFO}  [/.disk/info]")
    );
    check!(
        lines,
        one(&lines, "Live system")
            == "Ubuntu 24.04 LTS  [/casper/filesystem.squashfs:/etc/os-release]"
    );
    check!(
        lines,
        one(&lines, "Volume") == "iso9660 \"Ubuntu 24.04 LTS amd64\""
    );
    check!(
        lines,
        one(&lines, "Architecture").starts_with("x86_64 (/.disk/info: amd64")
    );
    check!(
        lines,
        one(&lines, "BIOS boot")
            == "GRUB, /boot/grub/i386-pc/eltorito.img, reads /boot/grub/grub.cfg"
    );
    let uefi = one(&lines, "UEFI boot");
    check!(lines, uefi.starts_with("GRUB, appended partition 2 (vfat), programs partition 2:/EFI/boot/bootx64.efi partition 2:/EFI/boot/grubx64.efi"));
    check!(
        lines,
        uefi.ends_with("reads partition 2:/boot/grub/grub.cfg")
    );
    check!(lines, one(&lines, "Hybrid USB").starts_with("yes ("));
    // UEFI's config goes on in BIOS's: its entries are listed once.
    check!(lines, values(&lines, "Menu") == [
        "/boot/grub/grub.cfg (GRUB, 2 entries)",
        "partition 2:/boot/grub/grub.cfg (GRUB, 2 entries, with /boot/grub/grub.cfg, the entries of /boot/grub/grub.cfg)",
    ]);
    check!(
        lines,
        values(&lines, "Entry")
            == [
                entry(
                    "Try or Install Ubuntu",
                    "/casper/vmlinuz",
                    "/casper/initrd",
                    "--- quiet splash"
                )
                .as_str(),
                "\"UEFI Firmware Settings\"",
            ]
    );
    let squash = size(&dir.path().join("tree/casper/filesystem.squashfs"));
    check!(
        lines,
        one(&lines, "Live root")
            == format!("/casper/filesystem.squashfs (squashfs (gzip), {squash} bytes)")
    );
    let initrd = size(&dir.path().join("tree/casper/initrd"));
    // One entry, though both menus show it.
    check!(
        lines,
        one(&lines, "Initrd")
            == format!("/casper/initrd (cpio (newc, gzip), {initrd} bytes, 1 menu entry)")
    );
}

#[test]
fn dash_i_mounts_the_live_root() {
    let dir = scratch();
    let iso = ubuntu(dir.path());
    let ls = |args: &[&str]| {
        let out = isofish().args(args).assert().success();
        String::from_utf8_lossy(&out.get_output().stdout).into_owned()
    };
    let names = ls(&["--ro", "-i", "-a", s(&iso), "ls", "/live/etc"]);
    assert_eq!(
        names.lines().collect::<Vec<_>>(),
        ["hostname", "os-release"]
    );
    // As a user types it (no --ro: nothing is staged, so nothing is committed).
    let before = std::fs::read(&iso).unwrap();
    let ll = ls(&["-i", "-a", s(&iso), "ll", "/live/etc"]);
    assert!(
        std::fs::read(&iso).unwrap() == before,
        "the image was written"
    );
    let names: Vec<&str> = ll
        .lines()
        .filter_map(|l| l.split_whitespace().nth(8))
        .collect();
    assert_eq!(names, [".", "..", "hostname", "os-release"], "{ll}");
    assert!(
        ll.contains(" os-release -> ../usr/lib/os-release\n"),
        "{ll}"
    );
    let text = ls(&[
        "--ro",
        "--inspector",
        "-a",
        s(&iso),
        "cat",
        "/live/etc/os-release",
        ":",
        "cat",
        "/.disk/info",
    ]);
    assert_eq!(text, format!("{UBUNTU_RELEASE}{UBUNTU_INFO}"));
    // Without a live root, -i mounts the ISO alone.
    let plain = ls(&["--ro", "-i", "-a", s(&fixture("sample.iso")), "mounts"]);
    assert_eq!(plain.lines().count(), 1, "{plain}");
    // Without an image, -i says what it needs.
    let out = isofish().args(["-i", "ls", "/"]).assert().failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("-i: no image to inspect; add one with -a IMAGE"),
        "{err}"
    );
}

// ---- Fedora -------------------------------------------------------------------------------

const FEDORA_RELEASE: &str =
    "NAME=\"Fedora Linux\"\nVERSION_ID=40\nPRETTY_NAME=\"Fedora Linux 40 (Workstation Edition)\"\n";

/// As Fedora's live discs before 35: `.treeinfo`, `.discinfo`, GRUB for BIOS and UEFI (the
/// EFI image holding its own full grub.cfg), `LiveOS/squashfs.img` wrapping an ext4
/// `LiveOS/rootfs.img`.
fn fedora(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    put(&tree, ".treeinfo", "[header]\ntype = productmd.treeinfo\nversion = 1.2\n\n[release]\nname = Fedora\nshort = Fedora\nversion = 40\n\n[tree]\narch = x86_64\nplatforms = x86_64\n\n[images-x86_64]\nkernel = images/pxeboot/vmlinuz\ninitrd = images/pxeboot/initrd.img\nefiboot = images/efiboot.img\n\n[stage2]\nmainimage = images/install.img\n");
    put(&tree, ".discinfo", "1700000000.000000\n40\nx86_64\n");
    let root = root_tree(dir, FEDORA_RELEASE, "fedora\n");
    let wrap = dir.join("wrap");
    std::fs::create_dir_all(wrap.join("LiveOS")).unwrap();
    tool(
        "mkfs.ext4",
        &[
            "-q",
            "-d",
            s(&root),
            s(&wrap.join("LiveOS/rootfs.img")),
            "8M",
        ],
        None,
    );
    mksquashfs(&wrap, &tree.join("LiveOS/squashfs.img"));
    put(&tree, "images/pxeboot/vmlinuz", "not a kernel");
    initrd(&tree.join("images/pxeboot/initrd.img"), "fedora init");
    mksquashfs(&dir.join("root"), &tree.join("images/install.img"));
    grub_eltorito(&tree.join("images/eltorito.img"));
    put(&tree, "boot/grub2/grub.cfg", "menuentry 'Start Fedora-Workstation-Live 40' --class fedora --class gnu-linux {\n\tlinux /images/pxeboot/vmlinuz root=live:CDLABEL=Fedora-WS-Live-40 rd.live.image quiet\n\tinitrd /images/pxeboot/initrd.img\n}\n");
    fat(
        &tree.join("images/efiboot.img"),
        &[
            ("/EFI/BOOT/BOOTX64.EFI", "shim"),
            ("/EFI/BOOT/grubx64.efi", "grub"),
            ("/EFI/BOOT/grub.cfg", "set default=\"0\"\nmenuentry 'Start Fedora (UEFI)' --class fedora {\n\tlinuxefi /images/pxeboot/vmlinuz root=live:CDLABEL=Fedora-WS-Live-40 rd.live.image\n\tinitrdefi /images/pxeboot/initrd.img\n}\n"),
        ],
    );
    let out = dir.join("fedora.iso");
    master(&out, &tree, "Fedora-WS-Live-40", "-b images/eltorito.img -no-emul-boot -boot-load-size 4 -boot-info-table --grub2-boot-info -eltorito-alt-boot -e images/efiboot.img -no-emul-boot");
    out
}

#[test]
fn fedora_shaped() {
    let (dir, iso, lines) = built(fedora);
    check!(
        lines,
        values(&lines, "Release") == ["Fedora 40  [/.treeinfo]", "40  [/.discinfo]"]
    );
    check!(lines, one(&lines, "Live system") == "Fedora Linux 40 (Workstation Edition)  [/LiveOS/squashfs.img:/LiveOS/rootfs.img/etc/os-release]");
    check!(
        lines,
        one(&lines, "Architecture")
            == "x86_64 (/.treeinfo; /.discinfo; /images/efiboot.img:/EFI/BOOT/BOOTX64.EFI)"
    );
    check!(
        lines,
        one(&lines, "BIOS boot") == "GRUB, /images/eltorito.img, reads /boot/grub2/grub.cfg"
    );
    check!(lines, one(&lines, "UEFI boot") == "GRUB, /images/efiboot.img (vfat), programs /images/efiboot.img:/EFI/BOOT/BOOTX64.EFI /images/efiboot.img:/EFI/BOOT/grubx64.efi, reads /images/efiboot.img:/EFI/BOOT/grub.cfg");
    check!(lines, one(&lines, "Hybrid USB") == "no (system area: none)");
    check!(
        lines,
        has(
            &lines,
            "Entry",
            &entry(
                "Start Fedora-Workstation-Live 40",
                "/images/pxeboot/vmlinuz",
                "/images/pxeboot/initrd.img",
                "root=live:CDLABEL=Fedora-WS-Live-40 rd.live.image quiet"
            )
        )
    );
    check!(
        lines,
        has(
            &lines,
            "Entry",
            &entry(
                "Start Fedora (UEFI)",
                "/images/pxeboot/vmlinuz",
                "/images/pxeboot/initrd.img",
                "root=live:CDLABEL=Fedora-WS-Live-40 rd.live.image"
            )
        )
    );
    let squash = size(&dir.path().join("tree/LiveOS/squashfs.img"));
    check!(lines, one(&lines, "Live root") == format!("/LiveOS/squashfs.img (squashfs (gzip), {squash} bytes, root in /LiveOS/rootfs.img)"));
    let initrd = size(&dir.path().join("tree/images/pxeboot/initrd.img"));
    let install = size(&dir.path().join("tree/images/install.img"));
    check!(
        lines,
        one(&lines, "Initrd")
            == format!(
                "/images/pxeboot/initrd.img (cpio (newc, gzip), {initrd} bytes, 2 menu entries)"
            )
    );
    check!(
        lines,
        one(&lines, "Installer")
            == format!("/images/install.img (squashfs (gzip), {install} bytes)")
    );
    // -i mounts the root the squashfs wraps at /live.
    let out = isofish()
        .args([
            "--ro",
            "-i",
            "-a",
            s(&iso),
            "cat",
            "/live/etc/os-release",
            ":",
            "vfs-type",
            "/dev/sda",
        ])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert_eq!(text, format!("{FEDORA_RELEASE}iso9660\n"));
}

// ---- Arch ---------------------------------------------------------------------------------

/// As Arch Linux's discs: syslinux for BIOS (its config including another), systemd-boot in an
/// appended ESP for UEFI, `arch/x86_64/airootfs.sfs`.
fn arch(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    put(&tree, "arch/version", "2024.05.01\n");
    mksquashfs(
        &root_tree(
            dir,
            "NAME=\"Arch Linux\"\nPRETTY_NAME=\"Arch Linux\"\nID=arch\n",
            "archiso\n",
        ),
        &tree.join("arch/x86_64/airootfs.sfs"),
    );
    put(&tree, "arch/boot/x86_64/vmlinuz-linux", "not a kernel");
    initrd(
        &tree.join("arch/boot/x86_64/initramfs-linux.img"),
        "arch init",
    );
    std::fs::copy(
        ISOLINUX,
        tree.join("boot/syslinux/isolinux.bin").tap_parent(),
    )
    .unwrap();
    put(
        &tree,
        "boot/syslinux/syslinux.cfg",
        "DEFAULT select\n\nLABEL select\nCOM32 whichsys.c32\n\nINCLUDE archiso_sys-linux.cfg\n",
    );
    put(&tree, "boot/syslinux/archiso_sys-linux.cfg", "LABEL arch64\nTEXT HELP\nBoot the Arch Linux install medium on BIOS.\nENDTEXT\nMENU LABEL Arch Linux install medium (x86_64, BIOS)\nLINUX /arch/boot/x86_64/vmlinuz-linux\nINITRD /arch/boot/x86_64/initramfs-linux.img\nAPPEND archisobasedir=arch archisosearchuuid=2024-05-01-12-00-00-00\n");
    let esp = dir.join("esp.img");
    fat(
        &esp,
        &[
            ("/EFI/BOOT/BOOTx64.EFI", "systemd-boot"),
            ("/loader/loader.conf", "timeout 15\ndefault 01-archiso-x86_64-linux.conf\n"),
            ("/loader/entries/01-archiso-x86_64-linux.conf", "title    Arch Linux install medium (x86_64, UEFI)\nsort-key 01\nlinux    /arch/boot/x86_64/vmlinuz-linux\ninitrd   /arch/boot/x86_64/initramfs-linux.img\noptions  archisobasedir=arch archisosearchuuid=2024-05-01-12-00-00-00\n"),
        ],
    );
    let out = dir.join("arch.iso");
    master(&out, &tree, "ARCH_202405", &format!("-isohybrid-mbr {ISOHDPFX} -partition_offset 16 -c boot/syslinux/boot.cat -b boot/syslinux/isolinux.bin -no-emul-boot -boot-load-size 4 -boot-info-table -append_partition 2 0xef {} -eltorito-alt-boot -e --interval:appended_partition_2:all:: -no-emul-boot -isohybrid-gpt-basdat", s(&esp)));
    out
}

/// Makes the parent directory of a path.
trait TapParent {
    fn tap_parent(self) -> Self;
}

impl TapParent for PathBuf {
    fn tap_parent(self) -> Self {
        std::fs::create_dir_all(self.parent().unwrap()).unwrap();
        self
    }
}

#[test]
fn arch_shaped() {
    let (dir, _, lines) = built(arch);
    check!(
        lines,
        one(&lines, "Arch Linux") == "2024.05.01  [/arch/version]"
    );
    check!(
        lines,
        one(&lines, "Live system") == "Arch Linux  [/arch/x86_64/airootfs.sfs:/etc/os-release]"
    );
    check!(
        lines,
        one(&lines, "BIOS boot")
            == "isolinux, /boot/syslinux/isolinux.bin, reads /boot/syslinux/syslinux.cfg"
    );
    check!(lines, one(&lines, "UEFI boot") == "systemd-boot, appended partition 2 (vfat), programs partition 2:/EFI/BOOT/BOOTx64.EFI, reads partition 2:/loader/entries");
    check!(lines, one(&lines, "Hybrid USB").starts_with("yes ("));
    check!(lines, values(&lines, "Menu") == [
        "/boot/syslinux/syslinux.cfg (syslinux, 2 entries, with /boot/syslinux/archiso_sys-linux.cfg)",
        "partition 2:/loader/entries (systemd-boot, 1 entry, with partition 2:/loader/entries/01-archiso-x86_64-linux.conf)",
    ]);
    let args = "archisobasedir=arch archisosearchuuid=2024-05-01-12-00-00-00";
    let (kernel, initrd) = (
        "/arch/boot/x86_64/vmlinuz-linux",
        "/arch/boot/x86_64/initramfs-linux.img",
    );
    check!(
        lines,
        values(&lines, "Entry")
            == [
                "\"select\"  kernel whichsys.c32",
                &entry(
                    "Arch Linux install medium (x86_64, BIOS)",
                    kernel,
                    initrd,
                    args
                ),
                &entry(
                    "Arch Linux install medium (x86_64, UEFI)",
                    kernel,
                    initrd,
                    args
                ),
            ]
    );
    let size_of = size(&dir.path().join("tree/arch/boot/x86_64/initramfs-linux.img"));
    check!(
        lines,
        one(&lines, "Initrd")
            == format!("{initrd} (cpio (newc, gzip), {size_of} bytes, 2 menu entries)")
    );
    check!(
        lines,
        starts(
            &lines,
            "Live root",
            "/arch/x86_64/airootfs.sfs (squashfs (gzip), "
        )
    );
}

// ---- Debian -------------------------------------------------------------------------------

const DEBIAN_INFO: &str =
    "Debian GNU/Linux 12.5.0 \"Bookworm\" - Official amd64 NETINST with firmware 20240210-11:27";

/// As Debian's discs: isolinux with a chain of includes for BIOS, GRUB in an EFI image in the
/// tree for UEFI (its config in `/EFI/debian/`, going on in the ISO's), the installer's initrds
/// and a live root.
fn debian(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    put(&tree, ".disk/info", DEBIAN_INFO);
    std::fs::copy(ISOLINUX, tree.join("isolinux/isolinux.bin").tap_parent()).unwrap();
    put(
        &tree,
        "isolinux/isolinux.cfg",
        "path \ninclude menu.cfg\ndefault vesamenu.c32\nprompt 0\ntimeout 0\n",
    );
    put(&tree, "isolinux/menu.cfg", "menu hshift 4\nmenu width 70\nmenu title Debian GNU/Linux installer menu (BIOS mode)\ninclude stdmenu.cfg\ninclude txt.cfg\n");
    put(&tree, "isolinux/txt.cfg", "label install\n\tmenu label ^Install\n\tkernel /install.amd/vmlinuz\n\tappend vga=788 initrd=/install.amd/initrd.gz --- quiet \n");
    put(&tree, "install.amd/vmlinuz", "not a kernel");
    initrd(&tree.join("install.amd/initrd.gz"), "d-i");
    initrd(&tree.join("install.amd/gtk/initrd.gz"), "d-i gtk");
    mksquashfs(
        &root_tree(
            dir,
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n",
            "debian\n",
        ),
        &tree.join("live/filesystem.squashfs"),
    );
    put(&tree, "boot/grub/grub.cfg", "if loadfont $prefix/font.pf2 ; then\n  set gfxmode=800x600\nfi\nmenuentry --hotkey=g 'Graphical install' {\n    set background_color=black\n    linux    /install.amd/vmlinuz vga=788 --- quiet\n    initrd   /install.amd/gtk/initrd.gz\n}\n");
    put(
        &tree,
        "boot/grub/x86_64-efi/grub.cfg",
        "insmod part_acorn\ninsmod part_amiga\nsource /boot/grub/grub.cfg\n",
    );
    fat(
        &tree.join("boot/grub/efi.img"),
        &[
            ("/EFI/boot/bootx64.efi", "shim"),
            ("/EFI/boot/grubx64.efi", "grub"),
            ("/EFI/debian/grub.cfg", "search --file --set=root /.disk/id/3f5a\nset prefix=($root)'/boot/grub'\nsource $prefix/x86_64-efi/grub.cfg\n"),
        ],
    );
    let out = dir.join("debian.iso");
    master(&out, &tree, "Debian 12.5.0 amd64 n", &format!("-isohybrid-mbr {ISOHDPFX} -c isolinux/boot.cat -b isolinux/isolinux.bin -no-emul-boot -boot-load-size 4 -boot-info-table -eltorito-alt-boot -e boot/grub/efi.img -no-emul-boot -isohybrid-gpt-basdat"));
    out
}

#[test]
fn debian_shaped() {
    let (dir, _, lines) = built(debian);
    check!(
        lines,
        one(&lines, "Disc") == format!("{DEBIAN_INFO}  [/.disk/info]")
    );
    check!(
        lines,
        one(&lines, "Live system")
            == "Debian GNU/Linux 12 (bookworm)  [/live/filesystem.squashfs:/etc/os-release]"
    );
    check!(
        lines,
        one(&lines, "BIOS boot")
            == "isolinux, /isolinux/isolinux.bin, reads /isolinux/isolinux.cfg"
    );
    check!(lines, one(&lines, "UEFI boot") == "GRUB, /boot/grub/efi.img (vfat), programs /boot/grub/efi.img:/EFI/boot/bootx64.efi /boot/grub/efi.img:/EFI/boot/grubx64.efi, reads /boot/grub/efi.img:/EFI/debian/grub.cfg");
    check!(lines, values(&lines, "Menu") == [
        "/isolinux/isolinux.cfg (syslinux, 1 entry, with /isolinux/menu.cfg /isolinux/txt.cfg)",
        "/boot/grub/efi.img:/EFI/debian/grub.cfg (GRUB, 1 entry, with /boot/grub/x86_64-efi/grub.cfg /boot/grub/grub.cfg)",
    ]);
    check!(
        lines,
        values(&lines, "Entry")
            == [
                entry(
                    "Install",
                    "/install.amd/vmlinuz",
                    "/install.amd/initrd.gz",
                    "vga=788 initrd=/install.amd/initrd.gz --- quiet"
                ),
                entry(
                    "Graphical install",
                    "/install.amd/vmlinuz",
                    "/install.amd/gtk/initrd.gz",
                    "vga=788 --- quiet"
                ),
            ]
    );
    // menu.cfg includes stdmenu.cfg, which the disc does not have.
    check!(
        lines,
        one(&lines, "Note") == "/isolinux/menu.cfg: includes stdmenu.cfg, not found"
    );
    let sizes = ["install.amd/initrd.gz", "install.amd/gtk/initrd.gz"]
        .map(|p| size(&dir.path().join("tree").join(p)));
    check!(
        lines,
        values(&lines, "Initrd")
            == [
                format!(
                    "/install.amd/initrd.gz (cpio (newc, gzip), {} bytes, 1 menu entry)",
                    sizes[0]
                )
                .as_str(),
                &format!(
                    "/install.amd/gtk/initrd.gz (cpio (newc, gzip), {} bytes, 1 menu entry)",
                    sizes[1]
                ),
            ]
    );
    check!(
        lines,
        starts(
            &lines,
            "Live root",
            "/live/filesystem.squashfs (squashfs (gzip), "
        )
    );
}

// ---- Windows ------------------------------------------------------------------------------

/// As Windows install discs: a UDF bridge disc with `sources/idwbinfo.txt`, etfsboot for BIOS,
/// `efisys.bin` for UEFI, the BCD, `sources/boot.wim`.
fn windows(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    put(&tree, "sources/idwbinfo.txt", "[BUILDINFO]\r\nBuildArch=amd64\r\nBuildBranch=ge_release\r\nBuildType=fre\r\nBuildTitle=26100.1.amd64fre.ge_release.240331-1435\r\n");
    put(&tree, "sources/boot.wim", "MSWIM\0\0\0 not really a WIM");
    // setup.exe's version resource: VS_FIXEDFILEINFO after its signature 0xFEEF04BD.
    let mut setup = b"MZ not really a program".to_vec();
    for word in [0xfeef_04bd_u32, 0x0001_0000, 10 << 16, (26100 << 16) | 1] {
        setup.extend(word.to_le_bytes());
    }
    put(&tree, "setup.exe", setup);
    put(&tree, "boot/etfsboot.com", vec![0x90u8; 4096]);
    put(&tree, "efi/microsoft/boot/bcd", "regf not really");
    fat(
        &tree.join("efi/microsoft/boot/efisys.bin"),
        &[("/EFI/BOOT/BOOTX64.EFI", "bootmgfw")],
    );
    let out = dir.join("windows.iso");
    tool(
        "genisoimage",
        &[
            "-quiet",
            "-o",
            s(&out),
            "-udf",
            "-iso-level",
            "3",
            "-J",
            "-V",
            "CCCOMA_X64FRE_EN-US_DV9",
            "-b",
            "boot/etfsboot.com",
            "-no-emul-boot",
            "-boot-load-size",
            "8",
            "-eltorito-alt-boot",
            "-e",
            "efi/microsoft/boot/efisys.bin",
            "-no-emul-boot",
            s(&tree),
        ],
        None,
    );
    out
}

#[test]
fn windows_shaped() {
    let (dir, _, lines) = built(windows);
    check!(
        lines,
        one(&lines, "Windows")
            == "build 26100.1.amd64fre.ge_release.240331-1435  [/sources/idwbinfo.txt]"
    );
    check!(lines, one(&lines, "Architecture") == "x86_64 (/sources/idwbinfo.txt: amd64; /efi/microsoft/boot/efisys.bin:/EFI/BOOT/BOOTX64.EFI)");
    check!(
        lines,
        one(&lines, "BIOS boot") == "Windows boot sector (etfsboot), /boot/etfsboot.com"
    );
    check!(lines, one(&lines, "UEFI boot") == "Windows Boot Manager, /efi/microsoft/boot/efisys.bin (vfat), programs /efi/microsoft/boot/efisys.bin:/EFI/BOOT/BOOTX64.EFI, reads /efi/microsoft/boot/bcd");
    let wim = size(&dir.path().join("tree/sources/boot.wim"));
    check!(
        lines,
        one(&lines, "Installer").starts_with("/sources/boot.wim (")
    );
    check!(
        lines,
        one(&lines, "Installer").ends_with(&format!(", {wim} bytes)"))
    );
    check!(lines, values(&lines, "Menu").is_empty());
}

// ---- Hostile configs ----------------------------------------------------------------------

#[test]
fn huge_binary_and_looping_configs_are_bounded() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::copy(ISOLINUX, tree.join("isolinux/isolinux.bin").tap_parent()).unwrap();
    // isolinux.cfg includes itself and a 3 MiB binary file with a label near its start.
    put(
        &tree,
        "isolinux/isolinux.cfg",
        "include isolinux.cfg\ninclude big.cfg\nlabel last\n kernel /k\n",
    );
    let mut big = b"label first\n kernel /a\n".to_vec();
    big.extend(crate::nested_util::noise(3 << 20, 11));
    put(&tree, "isolinux/big.cfg", &big);
    let out = dir.path().join("hostile.iso");
    master(&out, &tree, "HOSTILE", "-c isolinux/boot.cat -b isolinux/isolinux.bin -no-emul-boot -boot-load-size 4 -boot-info-table");
    let lines = inspect(&out);
    check!(
        lines,
        values(&lines, "Entry").first() == Some(&"\"first\"  kernel /a")
    );
    check!(
        lines,
        values(&lines, "Entry").last() == Some(&"\"last\"  kernel /k")
    );
    check!(
        lines,
        has(
            &lines,
            "Note",
            &format!(
                "/isolinux/big.cfg: only its first 1024 KiB read (of {} bytes)",
                big.len()
            )
        )
    );
}

/// Damaged copies of the Debian-shaped disc (bytes overwritten in its first MiB, where the
/// descriptors, directories, catalog, configs and the EFI image lie): `inspect` and `-i` end
/// with status 0 or 1, never a panic.
#[test]
fn damaged_discs_never_panic() {
    let dir = scratch();
    let iso = debian(dir.path());
    let bytes = std::fs::read(&iso).unwrap();
    let span = bytes.len().min(1 << 20) - 32768;
    let mut rng = Rng(0x2545_f491);
    let copy = dir.path().join("damaged.iso");
    for round in 0..24 {
        let mut damaged = bytes.clone();
        for _ in 0..64 {
            damaged[32768 + rng.below(span)] = rng.next() as u8;
        }
        std::fs::write(&copy, &damaged).unwrap();
        for args in [&["inspect"][..], &["-i", "mounts"][..]] {
            let (flags, cmd) = args.split_at(args.len() - 1);
            let out = isofish()
                .arg("--ro")
                .args(flags)
                .arg("-a")
                .arg(&copy)
                .args(cmd)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                matches!(out.status.code(), Some(0 | 1)) && !err.contains("panicked"),
                "round {round}, {args:?}: {:?} {err}",
                out.status
            );
        }
    }
}

/// Without an image, or on bytes that hold no filesystem, `inspect` fails with status 1 and says
/// why.
#[test]
fn inspect_errors_say_what_is_missing() {
    let fails = |args: &[&str]| {
        let out = isofish().args(args).assert().failure().code(1);
        String::from_utf8_lossy(&out.get_output().stderr).into_owned()
    };
    let err = fails(&["inspect"]);
    assert!(err.contains("inspect: no image; add one with -a"), "{err}");
    let dir = scratch();
    let noise = put(dir.path(), "noise.img", crate::nested_util::noise(65536, 7));
    let err = fails(&["--ro", "-a", s(&noise), "inspect"]);
    assert!(
        err.contains(&format!("{}: no filesystem found", s(&noise))),
        "{err}"
    );
}
