//! `commit` keeps the boot setup: every boot fixture (made by xorriso, genisoimage + isohybrid,
//! grub-mkrescue) remastered with a grown file, then held against the original by the tools
//! users check with: xorriso's El Torito and system area reports (the same up to block
//! addresses and sizes), sgdisk's verification (no problem the original did not have),
//! isoinfo, the boot images' bytes (the same, up to the patched fields, whose checksums hold),
//! the tree (bsdtar), and the partition offset's second superblock. Then the changes that touch
//! the setup: a boot file removed (refused, or dropped with `--drop-boot`), replaced (patched
//! again, entries and partitions sized to it).

use std::path::{Path, PathBuf};

use crate::boot_images::{boot_info, fields, image, values, xorriso, ISO_LAYOUTS};
use crate::common::{isofish, scratch, tool};

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The text a remaster writes into README.TXT: larger than the original, so everything after
/// it moves.
fn grown() -> String {
    format!("remastered {}\n", "x".repeat(5000))
}

/// `original` remastered into `dir` with README.TXT grown (and `more` commands before the
/// commit); the new image's path and isofish's standard error.
fn remaster(original: &Path, dir: &Path, more: &[&str], commit: &[&str]) -> (PathBuf, String) {
    let copy = dir.join("copy.iso");
    std::fs::copy(original, &copy).unwrap();
    let new = dir.join("new.iso");
    let text = grown();
    let mut args = vec!["-a", s(&copy), "write", "/README.TXT", &text, ":"];
    for m in more {
        args.push(m);
    }
    args.push("commit");
    args.extend_from_slice(commit);
    args.push(s(&new));
    let out = isofish().args(&args).assert().success();
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(original).unwrap(),
        "the opened image is untouched"
    );
    (
        new,
        String::from_utf8_lossy(&out.get_output().stderr).into_owned(),
    )
}

/// xorriso's reports with what a new layout may change blanked: block addresses, sizes, and
/// what xorriso derives from them (the CHS geometry it guesses, cylinder alignment).
fn shape(path: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (label, value) in xorriso(path) {
        let mut f: Vec<String> = value.split_whitespace().map(String::from).collect();
        let blank = |f: &mut Vec<String>, at: &[usize]| {
            for &i in at {
                if let Some(x) = f.get_mut(i) {
                    *x = "N".into();
                }
            }
        };
        match label.as_str() {
            "El Torito catalog" => blank(&mut f, &[0]),
            "El Torito boot img" => {
                let last = f.len() - 1;
                blank(&mut f, &[last]);
            }
            "ISO image size/512" | "MBR heads per cyl" | "MBR secs per head" => blank(&mut f, &[0]),
            "System area options" => blank(&mut f, &[0]),
            "System area summary" => f.retain(|w| !w.starts_with("cyl-align")),
            "MBR partition" => blank(&mut f, &[3, 4]),
            "GPT lba range" => blank(&mut f, &[1, 2]),
            "GPT start and size" | "APM start and size" => blank(&mut f, &[1, 2]),
            "El Torito img blks" => blank(&mut f, &[1]),
            _ => {}
        }
        out.push(format!("{label} : {}", f.join(" ")));
    }
    out
}

/// `xorriso -report_el_torito as_mkisofs`: the options that would rebuild the setup, with the
/// image's path and every number blanked (addresses and sizes), and the cylinder alignment
/// xorriso guesses from where the partitions end (so from the image's size) left out.
fn as_mkisofs(path: &Path) -> Vec<String> {
    // xorriso says what it can and fails for a hidden boot image it cannot name: its output
    // is compared all the same.
    let out = std::process::Command::new("xorriso")
        .args(["-indev", s(path), "-report_el_torito", "as_mkisofs"])
        .output()
        .expect("xorriso runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut out = String::new();
            for c in l.replace(s(path), "IMAGE").chars() {
                match c.is_ascii_digit() {
                    true if out.ends_with('N') => {}
                    true => out.push('N'),
                    false => out.push(c),
                }
            }
            out
        })
        .filter(|o| !o.starts_with("-partition_cyl_align"))
        .collect()
}

/// What sgdisk's verification finds wrong.
fn problems(path: &Path) -> Vec<String> {
    let out = std::process::Command::new("sgdisk")
        .args(["-v", s(path)])
        .output()
        .expect("sgdisk runs (package gdisk)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.lines()
        .filter(|l| l.contains("Problem") || l.contains("Invalid") || l.contains("CRC"))
        .map(String::from)
        .collect()
}

/// The whole boot image N of `path`, as `boot-extract --whole` gives it.
fn boot_image(path: &Path, n: usize) -> Vec<u8> {
    let n = n.to_string();
    let out = isofish()
        .args([
            "--ro",
            "-a",
            s(path),
            "boot-extract",
            "--whole",
            "/dev/sda",
            &n,
            "-",
        ])
        .assert()
        .success();
    out.get_output().stdout.clone()
}

/// Bytes `range` set to zero (the fields a replay patches anew).
fn blank(mut bytes: Vec<u8>, ranges: &[std::ops::Range<usize>]) -> Vec<u8> {
    for r in ranges {
        if let Some(b) = bytes.get_mut(r.clone()) {
            b.fill(0);
        }
    }
    bytes
}

/// The tree as bsdtar lists it, README.TXT left out.
fn tree(path: &Path) -> Vec<String> {
    let out = tool("bsdtar", &["-tvf", s(path)], None);
    let mut lines: Vec<String> = String::from_utf8_lossy(&out)
        .lines()
        .filter(|l| !l.contains("README.TXT"))
        .map(|l| l.split_whitespace().skip(2).collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines
}

/// The size and MD5 of each EFI system partition of the image at `path`, as `boot-info`
/// finds them.
fn efi_partitions(path: &Path) -> Vec<String> {
    use md5::Digest;
    let bytes = std::fs::read(path).unwrap();
    values(&boot_info(path), "Partition")
        .iter()
        .filter(|v| v.contains("(EFI"))
        .map(|v| {
            let f = fields(v);
            let at = f.iter().position(|w| *w == "bytes").unwrap();
            let (from, to): (usize, usize) =
                (f[at + 1].parse().unwrap(), f[at + 3].parse().unwrap());
            format!(
                "{} bytes, MD5 {:x}",
                to - from,
                md5::Md5::digest(&bytes[from..to])
            )
        })
        .collect()
}

#[test]
fn boot_replay_every_layout_keeps_its_setup() {
    // The rewrite replays the setup; the change also fits in place, so a plain commit to a
    // new file copies the image with the change patched in, which keeps it as it was.
    for (name, route) in ISO_LAYOUTS
        .iter()
        .flat_map(|name| [(name, &["--rewrite"][..]), (name, &[][..])])
    {
        let original = image(name);
        let dir = scratch();
        let (new, stderr) = remaster(&original, dir.path(), &[], route);
        let mut want = shape(&original);
        let rewrite = !route.is_empty();
        if *name == "boot-grub" && rewrite {
            // grub-mkrescue's HFS+ tree for Macs is not rebuilt: its partitions go, with the
            // APM that only held it, and a warning says so.
            assert!(stderr.contains("HFS+"), "{name}: {stderr}");
            let gone = |l: &String| {
                let number = l
                    .split(" : ")
                    .nth(1)
                    .and_then(|v| v.split_whitespace().next());
                l.starts_with("APM") || (l.starts_with("GPT") && number == Some("3"))
            };
            want.retain(|l| !gone(l));
            want = want.into_iter().map(|l| l.replace(" APM", "")).collect();
        } else {
            assert_eq!(stderr, "", "{name}: no warning");
        }
        assert_eq!(shape(&new), want, "{name}: xorriso's reports");
        let mut options = as_mkisofs(&original);
        if *name == "boot-grub" && rewrite {
            options.retain(|o| o != "-hfsplus" && !o.starts_with("-apm-block-size"));
            options = options
                .into_iter()
                .map(|o| o.replace(",zero_apm", ""))
                .collect();
        }
        // A file grown in place lands after an appended partition, which xorriso then no
        // longer describes as appended (the partition and the entry are kept as they were).
        if rewrite {
            assert_eq!(as_mkisofs(&new), options, "{name}: xorriso's as_mkisofs");
        }
        let new_problems = problems(&new);
        let old_problems = problems(&original);
        for p in &new_problems {
            assert!(old_problems.contains(p), "{name}: sgdisk finds {p:?}");
        }
        assert_eq!(tree(&new), tree(&original), "{name}: the tree");
        assert_eq!(efi_partitions(&new), efi_partitions(&original), "{name}");
        // Every checksum the image carries about itself (GPT CRCs, El Torito's, boot-info
        // tables') holds, as it held in the original.
        let verify = |p: &Path| {
            let out = isofish()
                .args(["--ro", "-a", s(p), "verify"])
                .output()
                .unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        };
        let (was_ok, was) = verify(&original);
        let (ok, now) = verify(&new);
        assert!(ok || !was_ok, "{name}: verify\n{now}\nbefore:\n{was}");
        let readme = tool("isoinfo", &["-R", "-i", s(&new), "-x", "/README.TXT"], None);
        assert_eq!(
            String::from_utf8_lossy(&readme),
            grown(),
            "{name}: the new file"
        );
        // The boot images: the same bytes, up to the patched fields, whose checksums hold.
        let info = boot_info(&new);
        for (n, patches) in values(&info, "Image 1 patches")
            .iter()
            .chain(values(&info, "Image 2 patches").iter())
            .enumerate()
        {
            assert!(
                !patches.contains("MISMATCH"),
                "{name} image {}: {patches}",
                n + 1
            );
        }
        let count = values(&info, "Boot image").len();
        assert_eq!(
            count,
            values(&boot_info(&original), "Boot image").len(),
            "{name}"
        );
        for n in 1..=count {
            let patched = [8..64, 2548..2556];
            assert_eq!(
                blank(boot_image(&new, n), &patched),
                blank(boot_image(&original, n), &patched),
                "{name}: boot image {n}"
            );
        }
        let iso = |p: &Path| {
            String::from_utf8_lossy(&tool("isoinfo", &["-d", "-i", s(p)], None))
                .lines()
                .filter(|l| !l.starts_with("Volume size") && !l.contains("catalog is in sector"))
                .filter(|l| !l.trim_start().starts_with("Bootoff"))
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(iso(&new), iso(&original), "{name}: isoinfo -d");
    }
}

/// The partition offset's second superblock: partition 1 of the new image is an ISO of its
/// own (addressed from the partition's start) with the same tree, the change included.
#[test]
fn boot_replay_partition_offset_writes_the_second_superblock() {
    for name in ["boot-appended", "boot-ubuntu"] {
        let dir = scratch();
        let (new, _) = remaster(&image(name), dir.path(), &[], &[]);
        let bytes = std::fs::read(&new).unwrap();
        let mbr_start = |i: usize| {
            let at = 446 + 16 * i + 8;
            u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize * 512
        };
        // The partition the second superblock is in: Ubuntu's is in the GPT (its MBR is
        // protective); either way it starts at block 16.
        let start = if name == "boot-appended" {
            mbr_start(0)
        } else {
            16 * 2048
        };
        assert_eq!(start, 16 * 2048, "{name}");
        let part = dir.path().join("part1.iso");
        std::fs::write(&part, &bytes[start..]).unwrap();
        let whole = tree(&new);
        assert_eq!(tree(&part), whole, "{name}: the partition's tree");
        let readme = tool(
            "isoinfo",
            &["-R", "-i", s(&part), "-x", "/README.TXT"],
            None,
        );
        assert_eq!(String::from_utf8_lossy(&readme), grown(), "{name}");
    }
}

#[test]
fn boot_replay_a_removed_boot_file_stops_the_commit_or_is_dropped() {
    let dir = scratch();
    let copy = dir.path().join("copy.iso");
    std::fs::copy(image("boot-hybrid"), &copy).unwrap();
    let new = dir.path().join("new.iso");
    let removed = |commit: &[&str]| {
        let mut args = vec!["-a", s(&copy), "rm", "/EFI/efiboot.img", ":", "commit"];
        args.extend_from_slice(commit);
        args.push(s(&new));
        isofish().args(&args).output().unwrap()
    };
    let out = removed(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("El Torito entry 2") && err.contains("/EFI/efiboot.img"),
        "{err}"
    );
    assert!(!new.exists(), "nothing written");
    let out = removed(&["--drop-boot"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains("entry dropped"), "{err}");
    // The partitions that were the EFI image go with it; the BIOS entry and the ISO's stay.
    assert!(
        err.contains("MBR partition 2") && err.contains("GPT"),
        "{err}"
    );
    let report = xorriso(&new);
    let images = values(&report, "El Torito boot img");
    assert_eq!(images.len(), 1, "{report:?}");
    assert!(images[0].contains("BIOS"), "{images:?}");
    assert_eq!(values(&report, "MBR partition").len(), 1, "{report:?}");
    assert_eq!(values(&report, "GPT start and size").len(), 1, "{report:?}");
    assert!(problems(&new).iter().all(|p| !p.contains("CRC")));
}

#[test]
fn boot_replay_replaced_boot_files_are_patched_and_sized_again() {
    let dir = scratch();
    // A larger EFI image and a fresh (unpatched) isolinux.bin.
    let efi = dir.path().join("efi.img");
    tool("mkfs.vfat", &["-n", "BIGGER", "-C", s(&efi), "256"], None);
    let (new, stderr) = remaster(
        &image("boot-hybrid"),
        dir.path(),
        &[
            "upload",
            s(&efi),
            "/EFI/efiboot.img",
            ":",
            "upload",
            "/usr/lib/ISOLINUX/isolinux.bin",
            "/isolinux/isolinux.bin",
            ":",
        ],
        &[],
    );
    assert_eq!(stderr, "");
    assert_eq!(boot_image(&new, 2), std::fs::read(&efi).unwrap());
    let report = xorriso(&new);
    let uefi: Vec<&str> = values(&report, "El Torito boot img")[1]
        .split_whitespace()
        .collect();
    assert_eq!(
        uefi[6], "512",
        "the entry loads the whole new image: {uefi:?}"
    );
    let lba: u64 = uefi[7].parse().unwrap();
    let mbr: Vec<&str> = values(&report, "MBR partition")[1]
        .split_whitespace()
        .collect();
    assert_eq!(
        (mbr[3], mbr[4]),
        (&*(lba * 4).to_string(), "512"),
        "{mbr:?}"
    );
    let gpt: Vec<&str> = values(&report, "GPT start and size")[1]
        .split_whitespace()
        .collect();
    assert_eq!(
        (gpt[1], gpt[2]),
        (&*(lba * 4).to_string(), "512"),
        "{gpt:?}"
    );
    // isolinux checks its boot-info table: patched for its block, its checksum right.
    let info = boot_info(&new);
    let patches = values(&info, "Image 1 patches")[0];
    assert!(patches.contains("checksum ok"), "{patches}");
    let table = &boot_image(&new, 1)[8..16];
    let bios_lba: u32 = values(&report, "El Torito boot img")[0]
        .split_whitespace()
        .last()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(table[..4], 16u32.to_le_bytes(), "the PVD's block");
    assert_eq!(table[4..8], bios_lba.to_le_bytes(), "the image's block");
}

/// A FAT image of `kib` KiB labelled `label`, as EFI boot images are.
fn fat_image(dir: &Path, label: &str, kib: u32) -> PathBuf {
    let efi = dir.join(format!("{label}.img"));
    tool(
        "mkfs.vfat",
        &["-n", label, "-C", s(&efi), &kib.to_string()],
        None,
    );
    efi
}

#[test]
fn boot_replay_boot_add_efi_adds_an_entry_and_its_partitions() {
    // An isohybrid MBR gets an 0xef entry; a GPT an EFI system partition; an image without
    // El Torito a catalog.
    for name in ["boot-isohybrid", "boot-hybrid", "sample"] {
        let original = match name {
            "sample" => crate::common::fixture("sample.iso"),
            _ => image(name),
        };
        let dir = scratch();
        let efi = fat_image(dir.path(), "ADDED", 200);
        let before = values(&xorriso(&original), "El Torito boot img").len();
        let (new, stderr) = remaster(
            &original,
            dir.path(),
            &[
                "upload",
                s(&efi),
                "/added.img",
                ":",
                "boot-add-efi",
                "/added.img",
                ":",
            ],
            &[],
        );
        assert_eq!(stderr, "", "{name}");
        let report = xorriso(&new);
        let images = values(&report, "El Torito boot img");
        assert_eq!(images.len(), before + 1, "{name}: {report:?}");
        let added: Vec<&str> = images[before].split_whitespace().collect();
        assert_eq!(
            (added[1], added[2], added[3]),
            ("UEFI", "y", "none"),
            "{name}"
        );
        assert_eq!(added[6], "400", "{name}: the whole image loads");
        assert_eq!(boot_image(&new, before + 1), std::fs::read(&efi).unwrap());
        let start = (added[7].parse::<u64>().unwrap() * 4).to_string();
        let has = |label: &str| {
            values(&report, label).iter().any(|v| {
                v.split_whitespace()
                    .filter(|w| *w == start || *w == "400")
                    .count()
                    == 2
            })
        };
        match name {
            "boot-isohybrid" => assert!(has("MBR partition"), "{report:?}"),
            "boot-hybrid" => {
                assert!(has("GPT start and size"), "{report:?}");
                // An EFI system partition, as xorriso prints its type GUID's bytes.
                let types = values(&report, "GPT type GUID");
                assert!(
                    types
                        .iter()
                        .any(|t| t.ends_with("28732ac11ff8d211ba4b00a0c93ec93b")),
                    "{types:?}"
                );
                // The overlaps isohybrid layouts have by design, one more of the same kind.
                let kinds = |p: &Path| -> Vec<String> {
                    problems(p)
                        .iter()
                        .map(|l| l.replace(|c: char| c.is_ascii_digit(), "N"))
                        .collect()
                };
                for p in kinds(&new) {
                    assert!(kinds(&original).contains(&p), "sgdisk finds {p:?}");
                }
            }
            _ => assert!(
                values(&report, "MBR partition").is_empty(),
                "no system area made"
            ),
        }
    }
}

#[test]
fn boot_replay_set_boot_file_boots_another_file_patched_for_it() {
    let dir = scratch();
    let (new, stderr) = remaster(
        &image("boot-eltorito"),
        dir.path(),
        &[
            "upload",
            "/usr/lib/ISOLINUX/isolinux.bin",
            "/isolinux/other.bin",
            ":",
            "set-boot-file",
            "1",
            "/isolinux/other.bin",
            ":",
        ],
        &[],
    );
    assert_eq!(stderr, "");
    let report = xorriso(&new);
    assert_eq!(
        values(&report, "El Torito img path")[0]
            .split_whitespace()
            .last(),
        Some("/isolinux/other.bin")
    );
    let info = boot_info(&new);
    assert!(
        values(&info, "Image 1 patches")[0].contains("checksum ok"),
        "{info:?}"
    );
    // The file the entry booted before is still there, unchanged.
    let old = tool(
        "isoinfo",
        &["-R", "-i", s(&new), "-x", "/isolinux/isolinux.bin"],
        None,
    );
    let want = tool(
        "isoinfo",
        &[
            "-R",
            "-i",
            s(&image("boot-eltorito")),
            "-x",
            "/isolinux/isolinux.bin",
        ],
        None,
    );
    assert_eq!(old, want);
    // A number past the catalog is refused when staged.
    let copy = dir.path().join("again.iso");
    std::fs::copy(image("boot-eltorito"), &copy).unwrap();
    let out = isofish()
        .args(["-a", s(&copy), "set-boot-file", "3", "/README.TXT"])
        .assert()
        .failure()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("has 2 boot images"), "{err}");
}

/// `name` with its primary GPT changed by `change` and written back, its CRCs recomputed
/// when `crcs` (else the old CRCs left, so they fail).
fn with_gpt(
    name: &str,
    dir: &Path,
    crcs: bool,
    change: fn(&mut isofish::boot::gpt::Gpt),
) -> PathBuf {
    use isofish::source::FileSource;
    let path = dir.join(format!("{name}-gpt.iso"));
    std::fs::copy(image(name), &path).unwrap();
    let mut g = isofish::boot::gpt::read_at(&FileSource::open(&path).unwrap(), 1)
        .unwrap()
        .unwrap();
    change(&mut g);
    let mut bytes = std::fs::read(&path).unwrap();
    let array = g.encode_array().unwrap();
    let at = g.array_sector as usize * 512;
    bytes[at..at + array.len()].copy_from_slice(&array);
    if crcs {
        bytes[512..1024].copy_from_slice(&g.encode_header().unwrap());
    }
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn boot_replay_hostile_partition_tables_are_refused_naming_them() {
    let dir = scratch();
    let new = dir.path().join("new.iso");
    let commit = |image: &Path, drop: bool| {
        let mut args = vec!["-a", s(image), "commit", "--rewrite"];
        if drop {
            args.push("--drop-boot");
        }
        args.push(s(&new));
        let out = isofish().args(&args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // An entry far past the image, with CRCs that hold: nothing the new image keeps is there.
    let far = with_gpt("boot-appended", dir.path(), true, |g| {
        g.entries[0].first = u64::MAX - 8;
    });
    let (code, err) = commit(&far, false);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("GPT partition 1") && err.contains("--drop-boot"),
        "{err}"
    );
    let (code, err) = commit(&far, true);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("GPT partition 1") && err.contains("dropped"),
        "{err}"
    );
    // CRCs that fail: the table is not re-encoded as if it were right.
    let bad = with_gpt("boot-appended", dir.path(), false, |g| {
        g.entries[0].last += 1
    });
    let (code, err) = commit(&bad, false);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("GPT") && err.contains("CRC"), "{err}");
    let (code, err) = commit(&bad, true);
    assert_eq!(code, Some(0), "{err}");
    let report = xorriso(&new);
    assert!(
        values(&report, "GPT start and size").is_empty(),
        "{report:?}"
    );
    assert_eq!(values(&report, "El Torito boot img").len(), 2, "{report:?}");
}

#[test]
fn boot_replay_boot_info_shows_the_setup_a_commit_will_write() {
    let dir = scratch();
    let copy = dir.path().join("copy.iso");
    std::fs::copy(image("boot-hybrid"), &copy).unwrap();
    let new = dir.path().join("new.iso");
    // Larger than the free space inside the volume: the image grows, its tail moves.
    let text = dir.path().join("big.txt");
    std::fs::write(&text, grown().repeat(400)).unwrap();
    let staged = isofish()
        .args([
            "-a",
            s(&copy),
            "upload",
            s(&text),
            "/README.TXT",
            ":",
            "boot-info",
            "/dev/sda",
        ])
        .args([":", "commit", s(&new)])
        .assert()
        .success();
    let staged = String::from_utf8_lossy(&staged.get_output().stdout).into_owned();
    let committed = crate::boot_images::run(&new, &["boot-info", "/dev/sda"]);
    let original = crate::boot_images::run(&copy, &["boot-info", "/dev/sda"]);
    assert_eq!(staged, committed);
    assert_ne!(staged, original, "the sizes and blocks moved");
}
