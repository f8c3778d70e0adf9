//! Remastered images boot: qemu (TCG, SeaBIOS and OVMF) boots images as CD and as hard disk
//! and the serial log must show a marker that only the changed boot config prints. Owns the
//! boot harness (firmware, drive, serial log polled for the marker), the check that every EFI
//! system partition still holds the loader (OVMF falls back on El Torito on a hard disk, real
//! firmware booting a USB stick does not), and their tests: controls built by the tools
//! themselves (proving the harness), then images changed and committed by isofish.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::boot_images::{copy, guid_hex, image, value_fields, xorriso};
use crate::common::{isofish, scratch};

/// How long one boot may take to print its marker.
const BOOT_LIMIT: Duration = Duration::from_secs(60);

/// The firmware qemu boots with.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Firmware {
    /// qemu's default BIOS.
    SeaBios,
    /// UEFI, from Debian's `ovmf` package.
    Ovmf,
}

/// How the image is attached.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Drive {
    /// An IDE CD-ROM drive (El Torito).
    Cd,
    /// An IDE hard disk (the MBR, GPT and partitions).
    HardDisk,
}

/// The OVMF code and variable store templates, the first pair Debian's `ovmf` installs.
fn ovmf() -> (PathBuf, PathBuf) {
    let dir = Path::new("/usr/share/OVMF");
    [
        ("OVMF_CODE_4M.fd", "OVMF_VARS_4M.fd"),
        ("OVMF_CODE.fd", "OVMF_VARS.fd"),
    ]
    .iter()
    .map(|(code, vars)| (dir.join(code), dir.join(vars)))
    .find(|(code, vars)| code.exists() && vars.exists())
    .expect("OVMF_CODE*.fd and OVMF_VARS*.fd in /usr/share/OVMF (tests/run installs ovmf)")
}

/// A place to run one machine: at most one per CPU at a time across the tests, so that TCG
/// boots stay well under [`BOOT_LIMIT`] on a loaded host. Given back when dropped.
struct Slot;

static RUNNING: Mutex<usize> = Mutex::new(0);
static FREED: Condvar = Condvar::new();

impl Slot {
    fn take() -> Slot {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        while *running >= cpus {
            running = FREED.wait(running).unwrap_or_else(|e| e.into_inner());
        }
        *running += 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        *RUNNING.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        FREED.notify_one();
    }
}

/// qemu, killed when dropped (a failed test leaves no machine running).
struct Qemu(Child);

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The last lines of a serial log, terminal escapes taken out.
fn tail(log: &[u8]) -> String {
    let text = String::from_utf8_lossy(log);
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-letter; other escapes: ESC and one character.
            if chars.next_if_eq(&'[').is_some() {
                while chars.next().is_some_and(|c| !c.is_ascii_alphabetic()) {}
            } else {
                chars.next();
            }
        } else if c != '\r' {
            plain.push(c);
        }
    }
    let lines: Vec<&str> = plain.lines().collect();
    lines[lines.len().saturating_sub(25)..].join("\n")
}

/// Boots `image` in qemu under `firmware` from `drive` and waits for `marker` on the serial
/// port; stops qemu as soon as it is there and returns how long it took. Panics with the
/// log's tail when qemu exits first or the marker is not there within [`BOOT_LIMIT`].
fn boot(image: &Path, firmware: Firmware, drive: Drive, marker: &str) -> Duration {
    let dir = scratch();
    let log = dir.path().join("serial.log");
    let stderr = dir.path().join("qemu.stderr");
    std::fs::write(&log, b"").expect("an empty serial log");
    let img = image.to_str().expect("a UTF-8 path");
    let mut args: Vec<String> = [
        "-accel",
        "tcg",
        "-display",
        "none",
        "-nodefaults",
        "-no-user-config",
        "-m",
        "256",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(["-serial".into(), format!("file:{}", log.display())]);
    if let Firmware::Ovmf = firmware {
        let (code, vars_template) = ovmf();
        let vars = dir.path().join("OVMF_VARS.fd");
        std::fs::copy(&vars_template, &vars).expect("a copy of the OVMF variable store");
        args.extend([
            "-drive".into(),
            format!(
                "if=pflash,format=raw,unit=0,readonly=on,file={}",
                code.display()
            ),
            "-drive".into(),
            format!("if=pflash,format=raw,unit=1,file={}", vars.display()),
        ]);
    }
    // -snapshot: the hard disk's writes go to a temp file, so several machines share the image.
    args.extend(match drive {
        Drive::Cd => vec![
            "-drive".into(),
            format!("file={img},format=raw,if=ide,media=cdrom,readonly=on"),
        ],
        Drive::HardDisk => vec![
            "-snapshot".into(),
            "-drive".into(),
            format!("file={img},format=raw,if=ide"),
        ],
    });
    let _slot = Slot::take();
    let start = Instant::now();
    let mut qemu = Qemu(
        Command::new("qemu-system-x86_64")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("a file for qemu's stderr"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("qemu-system-x86_64 could not run ({e}); tests/run installs it")
            }),
    );
    let what = format!("{} under {firmware:?} as {drive:?}", image.display());
    let mut seen = Vec::new();
    loop {
        seen.clear();
        std::fs::File::open(&log)
            .and_then(|mut f| f.read_to_end(&mut seen))
            .expect("the serial log");
        if seen.windows(marker.len()).any(|w| w == marker.as_bytes()) {
            return start.elapsed();
        }
        let exited = qemu.0.try_wait().expect("qemu's status");
        if exited.is_some() || start.elapsed() > BOOT_LIMIT {
            drop(qemu);
            let why = match exited {
                Some(status) => format!("qemu exited ({status})"),
                None => format!("no marker within {BOOT_LIMIT:?}"),
            };
            panic!(
                "{what}: {why}; {marker:?} never reached the serial port\n\
                 qemu {args:?}\n--- stderr ---\n{}\n--- serial log (tail) ---\n{}",
                std::fs::read_to_string(&stderr).unwrap_or_default(),
                tail(&seen)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Boots `image` every way in `ways` at once (one thread each) and waits for `marker` in each.
pub(crate) fn boot_all(image: &Path, ways: &[(Firmware, Drive)], marker: &str) {
    std::thread::scope(|s| {
        let boots: Vec<_> = ways
            .iter()
            .map(|&(firmware, drive)| {
                let took = s.spawn(move || boot(image, firmware, drive, marker));
                (firmware, drive, took)
            })
            .collect();
        for (firmware, drive, took) in boots {
            let took = took.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            eprintln!(
                "{} booted under {firmware:?} as {drive:?} in {took:.1?}",
                image.display()
            );
        }
    });
}

/// The ways the BIOS images boot: SeaBIOS, as CD and as hard disk.
pub(crate) const BIOS: &[(Firmware, Drive)] = &[
    (Firmware::SeaBios, Drive::Cd),
    (Firmware::SeaBios, Drive::HardDisk),
];

/// The ways grub-mkrescue's images boot: SeaBIOS and OVMF, as CD and as hard disk.
pub(crate) const BIOS_AND_UEFI: &[(Firmware, Drive)] = &[
    (Firmware::SeaBios, Drive::Cd),
    (Firmware::SeaBios, Drive::HardDisk),
    (Firmware::Ovmf, Drive::Cd),
    (Firmware::Ovmf, Drive::HardDisk),
];

/// The EFI system partitions of `image` as xorriso reports them: (which, first byte), for MBR
/// entries of type 0xef and GPT entries of the EFI System type.
fn efi_partitions(image: &Path) -> Vec<(String, u64)> {
    let report = xorriso(image);
    let esp = guid_hex("C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
    let mut found: Vec<(String, u64)> = value_fields(&report, "MBR partition")
        .into_iter()
        .filter(|f| f[2] == "0xef")
        .map(|f| {
            (
                format!("MBR partition {}", f[0]),
                f[3].parse::<u64>().unwrap() * 512,
            )
        })
        .collect();
    let gpt_starts = value_fields(&report, "GPT start and size");
    for f in value_fields(&report, "GPT type GUID") {
        if f[1] == esp {
            let start = gpt_starts
                .iter()
                .find(|s| s[0] == f[0])
                .expect("a start for every GPT entry");
            found.push((
                format!("GPT entry {}", f[0]),
                start[1].parse::<u64>().unwrap() * 512,
            ));
        }
    }
    found
}

/// Every EFI system partition of `image` holds a FAT file system with
/// /EFI/BOOT/BOOTX64.EFI (mtools reads it where the partition table says it starts).
pub(crate) fn assert_efi_partitions_hold_the_loader(image: &Path) {
    let partitions = efi_partitions(image);
    assert!(
        !partitions.is_empty(),
        "{}: no EFI system partition",
        image.display()
    );
    for (which, offset) in partitions {
        let out = Command::new("mdir")
            .arg("-b")
            .arg("-i")
            .arg(format!("{}@@{offset}", image.display()))
            .arg("::/EFI/BOOT")
            .output()
            .expect("mdir runs (tests/run installs mtools)");
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .to_uppercase()
                .contains("/EFI/BOOT/BOOTX64.EFI"),
            "{}: {which} (at byte {offset}) holds no FAT with /EFI/BOOT/BOOTX64.EFI: {}{}",
            image.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// What isolinux prints on the serial port when it has found the kernel file `/NAME`.
pub(crate) fn isolinux_loaded(name: &str) -> String {
    format!("Loading /{name}... ok")
}

/// The marker the isofish tests put in the boot configs (the controls print MARKER-CONTROL).
pub(crate) const MARKER: &str = "MARKER-ISOFISH";

/// Stages `changes` (isofish commands, `:`-separated) on a copy of image `name` and commits
/// a new image; returns the new image (in `dir`).
fn remaster(name: &str, dir: &Path, changes: &[&str]) -> PathBuf {
    let from = copy(name, dir);
    let to = dir.join(format!("{name}-new.iso"));
    isofish()
        .arg("-a")
        .arg(&from)
        .args(changes)
        .args([":", "commit", to.to_str().expect("a UTF-8 path")])
        .assert()
        .success();
    to
}

#[test]
fn control_isolinux_as_cd_and_hard_disk() {
    let img = image("boot-isolinux-serial");
    assert_efi_partitions_hold_the_loader(&img);
    boot_all(&img, BIOS, &isolinux_loaded("MARKER-CONTROL"));
}

#[test]
fn control_grub_under_seabios_and_ovmf() {
    let img = image("boot-grub-serial");
    assert_efi_partitions_hold_the_loader(&img);
    boot_all(&img, BIOS_AND_UEFI, "MARKER-CONTROL");
}

#[test]
fn isolinux_remastered_boots_as_cd_and_hard_disk() {
    let dir = scratch();
    let config = format!("SERIAL 0 115200\nDEFAULT marker\nLABEL marker\n  KERNEL /{MARKER}\n");
    let kernel = format!("/{MARKER}");
    // 1.5 MiB: the image grows past the isohybrid cylinder (1 MiB) it filled, so the system
    // area, the padding and the appended EFI partition must follow.
    let kernel_file = dir.path().join("kernel");
    std::fs::write(&kernel_file, vec![b'k'; 3 << 19]).expect("a host file");
    let new = remaster(
        "boot-isolinux",
        dir.path(),
        &[
            "write",
            "/isolinux/isolinux.cfg",
            &config,
            ":",
            "upload",
            kernel_file.to_str().expect("a UTF-8 path"),
            &kernel,
        ],
    );
    boot_all(&new, BIOS, &isolinux_loaded(MARKER));
    assert_efi_partitions_hold_the_loader(&new);
}

#[test]
fn grub_remastered_boots_under_seabios_and_ovmf() {
    let dir = scratch();
    let config = format!(
        "serial --unit=0 --speed=115200\nterminal_input serial\nterminal_output serial\n\
         echo {MARKER}\nsleep 60\n"
    );
    let new = remaster(
        "boot-grub",
        dir.path(),
        &["write", "/boot/grub/grub.cfg", &config],
    );
    boot_all(&new, BIOS_AND_UEFI, MARKER);
    assert_efi_partitions_hold_the_loader(&new);
}

/// A boot file removed: the commit stops naming the El Torito entry; with `--drop-boot` the
/// image has no such entry, and the rest (isolinux, as CD and as hard disk) still boots.
#[test]
fn a_dropped_efi_entry_leaves_the_bios_boot_working() {
    let dir = scratch();
    let config = format!("SERIAL 0 115200\nDEFAULT marker\nLABEL marker\n  KERNEL /{MARKER}\n");
    let from = copy("boot-isolinux", dir.path());
    let to = dir.path().join("dropped.iso");
    let kernel = dir.path().join("kernel");
    std::fs::write(&kernel, b"not a kernel").expect("a host file");
    let commit = |extra: &[&str]| {
        isofish()
            .arg("-a")
            .arg(&from)
            .args(["write", "/isolinux/isolinux.cfg", &config, ":", "upload"])
            .arg(&kernel)
            .args([&format!("/{MARKER}"), ":"])
            .args(["rm", "/boot/grub/efi.img", ":", "commit"])
            .args(extra)
            .arg(&to)
            .output()
            .expect("isofish runs")
    };
    let refused = commit(&[]);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("El Torito entry 2") && err.contains("efi.img"),
        "{err}"
    );
    assert!(!to.exists());
    let dropped = commit(&["--drop-boot"]);
    assert!(dropped.status.success(), "{dropped:?}");
    let report = xorriso(&to);
    let images = crate::boot_images::values(&report, "El Torito boot img");
    assert_eq!(images.len(), 1, "{images:?}");
    assert!(images[0].contains("BIOS"), "{images:?}");
    boot_all(&to, BIOS, &isolinux_loaded(MARKER));
}

/// The seeds' "make this BIOS image boot on UEFI too": a grub-mkrescue image whose EFI entry
/// was dropped boots under SeaBIOS only; `boot-add-efi` with its EFI image makes it boot
/// under OVMF again, as CD and as hard disk (the GPT entry the command adds).
#[test]
fn boot_add_efi_makes_a_bios_image_boot_on_uefi() {
    let dir = scratch();
    let from = copy("boot-grub", dir.path());
    let efi = dir.path().join("efi.img");
    let bios_only = dir.path().join("bios-only.iso");
    isofish()
        .arg("-a")
        .arg(&from)
        .args(["download", "/efi.img"])
        .arg(&efi)
        .args([":", "rm", "/efi.img", ":", "commit", "--drop-boot"])
        .arg(&bios_only)
        .assert()
        .success();
    let images = crate::boot_images::values(&xorriso(&bios_only), "El Torito boot img").len();
    assert_eq!(images, 1, "only the BIOS entry is left");
    let config = format!(
        "serial --unit=0 --speed=115200\nterminal_input serial\nterminal_output serial\n\
         echo {MARKER}\nsleep 60\n"
    );
    let uefi = dir.path().join("uefi.iso");
    isofish()
        .arg("-a")
        .arg(&bios_only)
        .args(["write", "/boot/grub/grub.cfg", &config, ":", "upload"])
        .arg(&efi)
        .args(["/EFI.IMG", ":", "boot-add-efi", "/EFI.IMG", ":", "commit"])
        .arg(&uefi)
        .assert()
        .success();
    boot_all(&uefi, BIOS_AND_UEFI, MARKER);
    assert_efi_partitions_hold_the_loader(&uefi);
}

/// An in-place commit that grows an isohybrid image (Debian's layout: MBR, GPT, an appended EFI
/// partition) at its end and puts isolinux.bin back unpatched (its boot-info table is patched
/// in again, in place): the file past the old end is what isolinux loads, as CD and as hard
/// disk; the partition tables follow (sgdisk finds no more problems than in the original, whose
/// ISO partition overlaps the EFI image as xorriso makes it).
#[test]
fn an_image_grown_in_place_boots_as_cd_and_hard_disk() {
    let dir = scratch();
    let img = copy("boot-isolinux-serial", dir.path());
    let problems = |p: &Path| {
        let out = Command::new("sgdisk")
            .arg("-v")
            .arg(p)
            .output()
            .expect("sgdisk runs");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.lines()
            .find(|l| l.starts_with("Identified") || l.starts_with("No problems"))
            .unwrap_or_default()
            .to_string()
    };
    let before = problems(&img);
    let old_len = std::fs::metadata(&img).unwrap().len();
    let kernel = dir.path().join("kernel");
    std::fs::write(&kernel, vec![b'k'; 3 << 19]).expect("a host file");
    isofish()
        .arg("-a")
        .arg(&img)
        .args([
            "upload",
            kernel.to_str().unwrap(),
            "/MARKER-CONTROL",
            ":",
            // The boot image put back as syslinux ships it: patched again in place.
            "upload",
            "/usr/lib/ISOLINUX/isolinux.bin",
            "/isolinux/isolinux.bin",
            ":",
            "changes",
            ":",
            "commit",
            "--in-place",
        ])
        .assert()
        .success();
    assert!(std::fs::metadata(&img).unwrap().len() > old_len + (3 << 19));
    assert_eq!(problems(&img), before);
    boot_all(&img, BIOS, &isolinux_loaded("MARKER-CONTROL"));
    assert_efi_partitions_hold_the_loader(&img);
}

#[test]
fn a_udf_bridge_remastered_boots_as_cd() {
    // The seed's Windows story with a stand-in BIOS loader: a genisoimage -udf bridge disc
    // booting isolinux (no emulation, boot-info table), edited and committed by isofish.
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("isolinux")).expect("a tree");
    for (from, to) in [
        ("/usr/lib/ISOLINUX/isolinux.bin", "isolinux.bin"),
        ("/usr/lib/syslinux/modules/bios/ldlinux.c32", "ldlinux.c32"),
    ] {
        std::fs::copy(from, tree.join("isolinux").join(to)).expect("isolinux installed");
    }
    std::fs::write(tree.join("isolinux/isolinux.cfg"), "DEFAULT none\n").expect("a config");
    std::fs::write(tree.join("README.TXT"), "a UDF bridge\n").expect("a file");
    let original = dir.path().join("udf.iso");
    crate::common::tool(
        "genisoimage",
        &[
            "-quiet",
            "-udf",
            "-r",
            "-J",
            "-c",
            "isolinux/boot.cat",
            "-b",
            "isolinux/isolinux.bin",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "-o",
            original.to_str().expect("a UTF-8 path"),
            tree.to_str().expect("a UTF-8 path"),
        ],
        None,
    );
    let config = format!("SERIAL 0 115200\nDEFAULT marker\nLABEL marker\n  KERNEL /{MARKER}\n");
    let new = dir.path().join("new.iso");
    isofish()
        .arg("-a")
        .arg(&original)
        .args(["write", "/isolinux/isolinux.cfg", &config, ":"])
        .args(["write", &format!("/{MARKER}"), "not a kernel", ":"])
        .args(["commit", new.to_str().expect("a UTF-8 path")])
        .assert()
        .success();
    let udf = crate::common::tool("udfinfo", &[new.to_str().expect("a UTF-8 path")], None);
    assert!(
        String::from_utf8_lossy(&udf).contains("integrity=closed"),
        "the UDF side is not read back"
    );
    boot(&new, Firmware::SeaBios, Drive::Cd, &isolinux_loaded(MARKER));
}
