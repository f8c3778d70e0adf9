//! `boot-info --as mkisofs`: the options are exactly those of `xorriso -report_el_torito
//! as_mkisofs` on every boot image, and replaying them with xorriso over the extracted tree
//! rebuilds the same boot setup (same catalog, patches, system area, partitions).

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::boot_images::{fields, image, values, xorriso};
use crate::common::{isofish, run_ro, scratch, tool};

fn ours(path: &Path) -> String {
    let out = isofish()
        .args(["--ro", "-a", path.to_str().unwrap()])
        .args(["boot-info", "--as", "mkisofs", "/dev/sda"])
        .assert()
        .success();
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

macro_rules! same_as_xorriso {
    ($($test:ident: $name:literal,)*) => {$(
        #[test]
        fn $test() {
            let path = image($name);
            let theirs = tool(
                "xorriso",
                &["-indev", path.to_str().unwrap(), "-report_el_torito", "as_mkisofs"],
                None,
            );
            assert_eq!(ours(&path), String::from_utf8_lossy(&theirs));
        }
    )*};
}

same_as_xorriso! {
    boot_mkisofs_genisoimage: "boot-eltorito",
    boot_mkisofs_isohybrid: "boot-isohybrid",
    boot_mkisofs_isohybrid_uefi: "boot-isohybrid-uefi",
    boot_mkisofs_appended_partition: "boot-appended",
    boot_mkisofs_isohybrid_gpt: "boot-hybrid",
    boot_mkisofs_apm: "boot-apm",
    boot_mkisofs_grub_mkrescue: "boot-grub",
    boot_mkisofs_floppy: "boot-floppy",
    boot_mkisofs_hard_disk: "boot-harddisk",
    boot_mkisofs_several_efi_entries: "boot-multi-efi",
    boot_mkisofs_ppc_mac_and_other_platforms: "boot-platforms",
    boot_mkisofs_gpt_appended_partition: "boot-gpt-appended",
    boot_mkisofs_ubuntu_style: "boot-ubuntu",
}

/// The parts of xorriso's reports that describe the boot setup, block addresses left out
/// (the rebuilt tree need not land at the same blocks).
fn shape(path: &Path, skip: &[&str]) -> Vec<String> {
    let x = xorriso(path);
    let mut v = Vec::new();
    for (label, keep) in [
        ("System area summary", usize::MAX),
        ("Partition offset", usize::MAX),
        ("El Torito boot img", 7),
        ("El Torito img path", usize::MAX),
        ("El Torito img opts", usize::MAX),
        ("MBR partition", 3),
        ("GPT type GUID", usize::MAX),
        ("GPT partname local", usize::MAX),
        ("APM partition name", usize::MAX),
        ("APM partition type", usize::MAX),
    ] {
        if skip.contains(&label) {
            continue;
        }
        for value in values(&x, label) {
            let f = fields(value);
            v.push(format!("{label}: {}", f[..keep.min(f.len())].join(" ")));
        }
    }
    v
}

/// What `boot-info /dev/sda` prints of the image at `path`.
fn boot_info_text(path: &Path) -> String {
    String::from_utf8(run_ro(path, &["boot-info", "/dev/sda"])).unwrap()
}

/// What `boot-info` says of the catalog's ids and selection criteria (which xorriso's
/// reports leave out).
fn ids_and_criteria(path: &Path) -> Vec<String> {
    boot_info_text(path)
        .lines()
        .filter(|l| {
            l.starts_with("Validation entry")
                || l.starts_with("Section")
                || l.contains(" criteria ")
        })
        .map(String::from)
        .collect()
}

/// Rebuilds image `name` with xorriso from its extracted tree and `boot-info --as mkisofs`,
/// and compares the boot setups (leaving out the report lines in `skip`).
fn replay_skipping(name: &str, skip: &[&str]) -> (PathBuf, TempDir) {
    let original = image(name);
    let dir = scratch();
    let tree = dir.path().join("tree");
    tool(
        "xorriso",
        &[
            "-osirrox",
            "on",
            "-indev",
            original.to_str().unwrap(),
            "-extract",
            "/",
            tree.to_str().unwrap(),
        ],
        None,
    );
    let options = ours(&original);
    let mut args: Vec<String> = vec!["-as".into(), "mkisofs".into()];
    for line in options.lines() {
        // One option per line; quoted words as a shell reads them.
        let words = shlex::split(line).expect("shell words");
        if let Some(cat) = line.strip_prefix("-c ") {
            let cat = shlex::split(cat).expect("a path").remove(0);
            let _ = std::fs::remove_file(tree.join(cat.trim_start_matches('/')));
        }
        // A hidden image is grafted from the file boot-extract --whole writes.
        if let Some(n) = words[0]
            .strip_prefix("/isofish-boot-")
            .and_then(|r| r.split_once(".img="))
            .map(|(n, _)| n)
        {
            let file = dir.path().join(format!("isofish-boot-{n}.img"));
            isofish()
                .args(["--ro", "-a", original.to_str().unwrap()])
                .args([
                    "boot-extract",
                    "--whole",
                    "/dev/sda",
                    n,
                    file.to_str().unwrap(),
                ])
                .assert()
                .success();
        }
        args.extend(words);
    }
    let rebuilt = dir.path().join("rebuilt.iso");
    args.extend(["-o".into(), rebuilt.to_str().unwrap().into()]);
    args.push(tree.to_str().unwrap().into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tool("xorriso", &args, Some(dir.path()));
    let before = shape(&original, skip);
    assert!(
        before.iter().any(|l| l.starts_with("El Torito boot img")),
        "nothing to compare: {before:?}"
    );
    assert_eq!(shape(&rebuilt, skip), before);
    (rebuilt, dir)
}

fn replay(name: &str) -> (PathBuf, TempDir) {
    replay_skipping(name, &[])
}

#[test]
fn boot_mkisofs_replay_keeps_section_ids_and_selection_criteria() {
    let (rebuilt, _dir) = replay("boot-criteria");
    let before = ids_and_criteria(&image("boot-criteria"));
    assert!(
        before.iter().any(|l| l.contains("\"SECTIONID\"")),
        "{before:?}"
    );
    assert!(before.iter().any(|l| l.contains("type 0x01")), "{before:?}");
    assert_eq!(ids_and_criteria(&rebuilt), before);
}

#[test]
fn boot_mkisofs_replay_rebuilds_appended_partition_setup() {
    replay("boot-appended");
}

#[test]
fn boot_mkisofs_replay_rebuilds_isohybrid_gpt_setup() {
    replay("boot-hybrid");
}

#[test]
fn boot_mkisofs_replay_rebuilds_grub_mkrescue_setup() {
    replay("boot-grub");
}

#[test]
fn boot_mkisofs_replay_rebuilds_a_hidden_boot_image() {
    // xorriso cannot look into the original's hidden image for its patches, so the patches
    // are compared as boot-info reads them.
    let (rebuilt, _dir) = replay_skipping("boot-hidden", &["El Torito img opts"]);
    let image_lines = |path: &Path| -> Vec<String> {
        boot_info_text(path)
            .lines()
            .filter(|l| l.starts_with("Image 1 file") || l.starts_with("Image 1 patches"))
            .map(|l| l.split(" (pvd").next().unwrap_or(l).to_string())
            .collect()
    };
    let before = image_lines(&image("boot-hidden"));
    assert_eq!(
        before,
        [
            "Image 1 file      : hidden: no file or partition names it",
            "Image 1 patches   : boot-info-table"
        ]
    );
    assert_eq!(image_lines(&rebuilt), before);
}

#[test]
fn boot_mkisofs_replay_rebuilds_ubuntu_style_setup() {
    replay("boot-ubuntu");
}

#[test]
fn boot_mkisofs_replay_rebuilds_floppy_setup() {
    replay("boot-floppy");
}
