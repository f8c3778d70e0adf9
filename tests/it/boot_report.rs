//! `boot-info` against the oracles, field by field, on images the real tools made:
//! xorriso's `-report_el_torito plain` and `-report_system_area plain`, `isoinfo -d`, and
//! `fdisk -l` for the partitions the session shows.

use std::path::Path;

use crate::boot_images::{
    boot_info, fields, guid_hex, image, run, value, value_fields, values, xorriso,
};
use crate::common::tool;

/// The El Torito part: catalog block and path, each image's fields, file and patches.
fn check_catalog(path: &Path) {
    let x = xorriso(path);
    let ours = boot_info(path);
    let catalog_block = fields(value(&x, "El Torito catalog"))[0];
    assert!(
        value(&ours, "El Torito").ends_with(&format!("catalog at block {catalog_block}")),
        "{ours:#?}"
    );
    if let Some(p) = values(&x, "El Torito cat path").first() {
        assert_eq!(value(&ours, "Catalog file"), *p);
    }
    let theirs: Vec<Vec<&str>> = value_fields(&x, "El Torito boot img");
    let mine: Vec<Vec<&str>> = value_fields(&ours, "Boot image");
    assert_eq!(mine, theirs, "boot image tables differ");
    for p in values(&x, "El Torito img path") {
        let (n, file) = p.split_once(char::is_whitespace).expect("N and path");
        let file = file.trim();
        let mine = value(&ours, &format!("Image {n} file"));
        assert!(
            mine.starts_with(&format!("{file} (")),
            "image {n}: xorriso says {file}, isofish {mine}"
        );
    }
    for v in values(&x, "El Torito hdsiz/512") {
        let f = fields(v);
        let sectors: u64 = f[1].parse().unwrap();
        let mine = value(&ours, &format!("Image {} entry", f[0]));
        assert!(
            mine.ends_with(&format!("loads {} bytes", sectors * 512)),
            "hard disk size of image {}: xorriso {sectors} sectors, isofish {mine}",
            f[0]
        );
    }
    for (i, _) in theirs.iter().enumerate() {
        let n = (i + 1).to_string();
        // xorriso looks for patches only in images it knows as files.
        let known = values(&x, "El Torito img path")
            .iter()
            .any(|p| fields(p)[0] == n);
        if !known {
            continue;
        }
        let theirs: Vec<&str> = values(&x, "El Torito img opts")
            .into_iter()
            .map(fields)
            .filter(|f| f[0] == n)
            .flat_map(|f| f[1..].to_vec())
            .filter(|w| *w != "isohybrid-suitable")
            .collect();
        let mine: Vec<&str> = values(&ours, &format!("Image {n} patches"))
            .into_iter()
            .flat_map(|v| v.split(", "))
            .filter_map(|w| w.split_whitespace().next())
            .collect();
        assert_eq!(mine, theirs, "patches of image {n}");
    }
}

/// The system area: summary words, partition offset, MBR, GPT and APM entries.
fn check_system_area(path: &Path) {
    let x = xorriso(path);
    let ours = boot_info(path);
    let summary = values(&x, "System area summary")
        .first()
        .map_or_else(Vec::new, |s| fields(s));
    let kind = fields(value(&ours, "System area"));
    for (theirs, mine) in [
        ("isohybrid", "isohybrid"),
        ("grub2-mbr", "grub2-mbr"),
        ("protective-msdos-label", "protective"),
        ("GPT", "GPT"),
        ("APM", "APM"),
    ] {
        assert_eq!(
            summary.contains(&theirs),
            kind.contains(&mine),
            "{theirs}: xorriso {summary:?}, isofish {kind:?}"
        );
    }
    if let Some(off) = values(&x, "Partition offset").first() {
        assert_eq!(value(&ours, "Partition offset"), *off);
    }
    let theirs: Vec<Vec<&str>> = value_fields(&x, "MBR partition");
    let mine: Vec<Vec<&str>> = values(&ours, "MBR partition")
        .into_iter()
        .map(|v| fields(v)[..5].to_vec())
        .collect();
    assert_eq!(mine, theirs, "MBR partitions");

    if let Some(guid) = values(&x, "GPT disk GUID").first() {
        let disk = value(&ours, "GPT disk");
        let text = disk
            .strip_prefix("GUID ")
            .and_then(|r| r.split(',').next())
            .expect("a disk GUID");
        assert_eq!(guid_hex(text), *guid);
    }
    let per_entry = |label: &str| -> Vec<Vec<String>> {
        values(&x, label)
            .into_iter()
            .map(|v| fields(v).into_iter().map(String::from).collect())
            .collect()
    };
    let starts = per_entry("GPT start and size");
    let types = per_entry("GPT type GUID");
    let names: Vec<(String, String)> = values(&x, "GPT partname local")
        .into_iter()
        .filter_map(|v| v.split_once(char::is_whitespace))
        .map(|(n, name)| (n.to_string(), name.trim().to_string()))
        .collect();
    let mine: Vec<Vec<&str>> = value_fields(&ours, "GPT partition");
    assert_eq!(
        mine.len(),
        starts.len(),
        "GPT entries: {mine:?} vs {starts:?}"
    );
    for (m, s) in mine.iter().zip(&starts) {
        assert_eq!(m[..3], [s[0].as_str(), s[1].as_str(), s[2].as_str()]);
        let t = types.iter().find(|t| t[0] == s[0]).expect("a type GUID");
        assert_eq!(guid_hex(m[3]), t[1]);
        let name = names
            .iter()
            .find(|(n, _)| *n == s[0])
            .map_or("", |(_, v)| v);
        assert_eq!(m[5..].join(" "), format!("{name:?}"));
    }

    let apm_starts = per_entry("APM start and size");
    let apm_types = per_entry("APM partition type");
    // xorriso leaves out the map's own entry and numbers from 1 after it.
    let mine: Vec<Vec<&str>> = values(&ours, "APM partition")
        .into_iter()
        .map(fields)
        .filter(|f| f[3] != "Apple_partition_map")
        .collect();
    assert_eq!(mine.len(), apm_starts.len(), "APM entries");
    for (m, (s, t)) in mine.iter().zip(apm_starts.iter().zip(&apm_types)) {
        assert_eq!(
            [m[1], m[2], m[3]],
            [s[1].as_str(), s[2].as_str(), t[1].as_str()]
        );
    }
}

/// The default entry against `isoinfo -d`.
fn check_isoinfo(path: &Path) {
    let out = tool("isoinfo", &["-d", "-i", path.to_str().unwrap()], None);
    let text = String::from_utf8_lossy(&out);
    let ours = boot_info(path);
    let field = |label: &str| -> Vec<&str> {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(label))
            .map(fields)
            .unwrap_or_else(|| panic!("isoinfo has no {label}: {text}"))
    };
    let cat = text
        .lines()
        .find_map(|l| l.split("boot catalog is in sector ").nth(1))
        .expect("isoinfo names the catalog sector");
    assert!(value(&ours, "El Torito").ends_with(&format!("catalog at block {cat}")));
    let row = fields(values(&ours, "Boot image")[0]);
    // isoinfo prints these numbers in hex.
    let hex = |s: &str| u32::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex");
    assert_eq!(row[7], hex(field("Bootoff")[0]).to_string());
    assert_eq!(row[6], hex(field("Nsect")[0]).to_string());
    assert_eq!(hex(row[5]), hex(field("Sys type")[0]));
    assert_eq!(hex(row[4]), hex(field("Load segment")[0]));
    let media = field("Boot media")[0];
    let emulation = match media {
        "0" => "none",
        "1" => "fd1.2",
        "2" => "fd1.4",
        "3" => "fd2.8",
        "4" => "hd",
        other => panic!("media {other}"),
    };
    assert_eq!(row[3], emulation);
}

/// The session's partitions against `fdisk -l`: numbers, starts and sizes.
fn check_fdisk(path: &Path) {
    let p = path.to_str().unwrap();
    let out = tool("fdisk", &["-l", "-o", "Device,Start,Sectors", p], None);
    let text = String::from_utf8_lossy(&out);
    let theirs: Vec<(String, u64, u64)> = text
        .lines()
        .filter_map(|l| l.strip_prefix(p))
        .map(|l| {
            let f = fields(l);
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect();
    let listing = run(path, &["list-partitions", "-l"]);
    let mine: Vec<(String, u64, u64)> = listing
        .lines()
        .map(|l| {
            let (dev, rest) = l.split_once(": ").expect("DEVICE: ...");
            let f = fields(rest);
            let len: u64 = f[1].parse().unwrap();
            let start: u64 = f[4].trim_end_matches(',').parse().unwrap();
            (
                dev.trim_start_matches("/dev/sda").to_string(),
                start / 512,
                len / 512,
            )
        })
        .collect();
    assert_eq!(mine, theirs, "partitions: fdisk says\n{text}");
}

macro_rules! against_oracles {
    ($($test:ident: $name:literal,)*) => {$(
        #[test]
        fn $test() {
            let path = image($name);
            check_catalog(&path);
            check_system_area(&path);
            check_isoinfo(&path);
            check_fdisk(&path);
        }
    )*};
}

against_oracles! {
    boot_report_genisoimage_isolinux_and_efi: "boot-eltorito",
    boot_report_isohybrid: "boot-isohybrid",
    boot_report_isohybrid_uefi: "boot-isohybrid-uefi",
    boot_report_xorriso_appended_efi_partition_offset: "boot-appended",
    boot_report_xorriso_isohybrid_gpt: "boot-hybrid",
    boot_report_xorriso_apm: "boot-apm",
    boot_report_grub_mkrescue: "boot-grub",
    boot_report_floppy_emulation: "boot-floppy",
    boot_report_hard_disk_emulation: "boot-harddisk",
    boot_report_several_efi_entries_in_one_section: "boot-multi-efi",
    boot_report_ppc_mac_and_other_platforms: "boot-platforms",
    boot_report_hidden_boot_image: "boot-hidden",
    boot_report_gpt_appended_partition: "boot-gpt-appended",
    boot_report_ubuntu_style: "boot-ubuntu",
}

#[test]
fn boot_report_several_efi_entries_share_one_section() {
    let ours = boot_info(&image("boot-multi-efi"));
    assert_eq!(
        values(&ours, "Section 1"),
        ["platform UEFI, 2 entries, final, id \"\""]
    );
}

#[test]
fn boot_report_info_lines_summarise_boot_and_layout() {
    let lines = isofish::commands::boot::report::summary_lines(
        &isofish::source::FileSource::open(&image("boot-appended")).unwrap(),
    )
    .unwrap();
    let x = xorriso(&image("boot-appended"));
    let summary = value(&x, "System area summary");
    assert_eq!(lines[0].0, "Boot record");
    assert!(lines[0].1.starts_with("El Torito, catalog at block"));
    assert_eq!(lines[1].0, "Hybrid layout");
    assert!(summary.starts_with("MBR isohybrid") && lines[1].1.starts_with("MBR isohybrid GPT"));
}

#[test]
fn boot_report_logical_partitions_match_fdisk() {
    check_fdisk(&image("boot-extended"));
}

/// The GPT of a grub-mkrescue image (behind a protective MBR, so sgdisk reads it) against
/// `sgdisk -p` and `sgdisk -i N`: header fields, then each entry's type, GUID, range,
/// attributes and name.
#[test]
fn boot_report_gpt_matches_sgdisk() {
    let path = image("boot-grub");
    let p = path.to_str().unwrap();
    let ours = boot_info(&path);
    let print = String::from_utf8_lossy(&tool("sgdisk", &["-p", p], None)).into_owned();
    let after = |prefix: &str| -> String {
        print
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("sgdisk has no {prefix:?}: {print}"))
            .trim()
            .to_string()
    };
    let gpt = value(&ours, "GPT");
    let disk = value(&ours, "GPT disk");
    assert!(disk.starts_with(&format!("GUID {},", after("Disk identifier (GUID):"))));
    assert!(gpt.contains(&format!(
        "{} entries of 128 bytes at sector {},",
        after("Partition table holds up to").trim_end_matches(" entries"),
        fields(&after("Main partition table begins at sector"))[0]
    )));
    let usable = after("First usable sector is");
    let usable = fields(&usable);
    assert!(disk.contains(&format!(
        "usable sectors {} to {},",
        usable[0].trim_end_matches(','),
        usable[5]
    )));
    let mine = values(&ours, "GPT partition");
    let numbers: Vec<&str> = print
        .lines()
        .skip_while(|l| !l.starts_with("Number"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(mine.len(), numbers.len());
    for (m, n) in mine.iter().zip(numbers) {
        let f = fields(m);
        assert_eq!(f[0], n);
        let info = String::from_utf8_lossy(&tool("sgdisk", &["-i", n, p], None)).into_owned();
        let get = |label: &str| -> String {
            info.lines()
                .find_map(|l| l.strip_prefix(label))
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| panic!("sgdisk -i has no {label:?}: {info}"))
        };
        let first: u64 = fields(&get("First sector:"))[0].parse().unwrap();
        let last: u64 = fields(&get("Last sector:"))[0].parse().unwrap();
        assert_eq!(f[1], first.to_string());
        assert_eq!(f[2], (last - first + 1).to_string());
        assert_eq!(f[3], fields(&get("Partition GUID code:"))[0]);
        assert_eq!(
            f[4],
            format!("0x{}", get("Attribute flags:").to_lowercase())
        );
        let name = get("Partition name:");
        assert_eq!(f[5..].join(" "), format!("{:?}", name.trim_matches('\'')));
    }
}
