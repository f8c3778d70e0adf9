//! Hostile catalogs and partition tables, made by patching copies of images the real tools
//! built: counts past the catalog, catalogs past the image's end, broken validation entries,
//! images past the end, GPTs with bad CRCs, overlapping partitions, APM counts that lie.
//! Each gives a clear message and no panic.

use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::boot_images::{boot_info, copy, fields, image, value, value_fields, values, xorriso};
use crate::common::{isofish, scratch};

fn patch(path: &Path, offset: u64, bytes: &[u8]) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("a writable copy");
    f.write_all_at(bytes, offset).expect("a patch");
}

/// The catalog's byte offset, as xorriso reports it on the unpatched image.
fn catalog_offset(name: &str) -> u64 {
    let x = xorriso(&image(name));
    let block: u64 = fields(value(&x, "El Torito catalog"))[0].parse().unwrap();
    block * 2048
}

fn stderr_of(path: &Path, command: &[&str]) -> String {
    let mut args = vec!["open", path.to_str().unwrap(), ":"];
    args.extend_from_slice(command);
    let out = isofish().args(&args).assert().failure().code(1);
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

#[test]
fn boot_hostile_section_count_past_the_catalog() {
    let dir = scratch();
    let iso = copy("boot-eltorito", dir.path());
    patch(
        &iso,
        catalog_offset("boot-eltorito") + 64 + 2,
        &[0xff, 0xff],
    );
    let ours = boot_info(&iso);
    let problems = values(&ours, "Catalog problem");
    assert_eq!(problems.len(), 1, "{ours:#?}");
    assert!(
        problems[0].starts_with("section 1 declares 65535 entries but entry 2 at offset"),
        "{problems:?}"
    );
    assert_eq!(values(&ours, "Boot image").len(), 2);
}

#[test]
fn boot_hostile_section_of_zero_entries() {
    let dir = scratch();
    let iso = copy("boot-eltorito", dir.path());
    patch(&iso, catalog_offset("boot-eltorito") + 64 + 2, &[0, 0]);
    let ours = boot_info(&iso);
    assert_eq!(
        values(&ours, "Section 1"),
        ["platform UEFI, 0 entries, final, id \"\""]
    );
    let x = xorriso(&iso);
    let theirs: Vec<Vec<&str>> = value_fields(&x, "El Torito boot img");
    let mine: Vec<Vec<&str>> = value_fields(&ours, "Boot image");
    assert_eq!(mine, theirs);
}

#[test]
fn boot_hostile_endless_section_headers_stop_at_the_bound() {
    let dir = scratch();
    let iso = copy("boot-eltorito", dir.path());
    let start = catalog_offset("boot-eltorito") + 64;
    let mut headers = Vec::new();
    for _ in 0..62 {
        headers.extend_from_slice(&[0x90, 0xef, 0, 0]);
        headers.extend_from_slice(&[0; 28]);
    }
    patch(&iso, start, &headers);
    let ours = boot_info(&iso);
    assert!(values(&ours, "Catalog problem")
        .iter()
        .any(|p| p.contains("not marked final")));
}

#[test]
fn boot_hostile_catalog_past_the_end() {
    let dir = scratch();
    let iso = copy("boot-eltorito", dir.path());
    patch(&iso, 17 * 2048 + 0x47, &0x7fff_fff0u32.to_le_bytes());
    let ours = boot_info(&iso);
    let catalog = value(&ours, "Catalog");
    assert!(
        catalog.contains("corrupt El Torito boot catalog at offset")
            && catalog.contains("past the end of the image"),
        "{catalog}"
    );
    let err = stderr_of(&iso, &["boot-extract", "/dev/sda", "1", "-"]);
    assert!(err.contains("the boot catalog is unreadable"), "{err}");
}

#[test]
fn boot_hostile_broken_validation_entry() {
    let dir = scratch();
    let iso = copy("boot-eltorito", dir.path());
    patch(&iso, catalog_offset("boot-eltorito") + 30, &[0, 0]);
    let ours = boot_info(&iso);
    let catalog = value(&ours, "Catalog");
    assert!(
        catalog.contains(&format!(
            "corrupt El Torito validation entry at offset {}",
            catalog_offset("boot-eltorito")
        )),
        "{catalog}"
    );
}

#[test]
fn boot_hostile_image_past_the_end() {
    let dir = scratch();
    let iso = copy("boot-eltorito", dir.path());
    patch(
        &iso,
        catalog_offset("boot-eltorito") + 96 + 8,
        &0x00ff_fff0u32.to_le_bytes(),
    );
    let ours = boot_info(&iso);
    assert_eq!(fields(values(&ours, "Boot image")[1])[7], "16777200");
    let out = dir.path().join("efi.img");
    let err = stderr_of(
        &iso,
        &["boot-extract", "/dev/sda", "2", out.to_str().unwrap()],
    );
    assert!(err.contains("passes the end of the image"), "{err}");
    assert!(!out.exists());
}

#[test]
fn boot_hostile_gpt_with_bad_crcs_is_reported_not_trusted() {
    let dir = scratch();
    let iso = copy("boot-grub", dir.path());
    // One byte of the primary's first entry name: the array CRC fails; the backup stands in.
    let x = xorriso(&image("boot-grub"));
    let array: u64 = fields(value(&x, "GPT entry array"))[0].parse().unwrap();
    patch(&iso, array * 512 + 56, b"X");
    let ours = boot_info(&iso);
    assert!(value(&ours, "GPT").ends_with("CRC BAD"), "{ours:#?}");
    assert_eq!(
        values(&ours, "GPT problem"),
        ["entry array CRC32 does not match"]
    );
    let listing = crate::boot_images::run(&iso, &["list-partitions"]);
    assert_eq!(listing.lines().count(), 4, "{listing}");

    // The backup's header too: no GPT is left to trust, so the session falls back to the next
    // table, the APM grub-mkrescue also writes (as Linux does behind a protective MBR).
    let backup: u64 = fields(value(&x, "GPT lba range"))[2].parse().unwrap();
    patch(&iso, backup * 512 + 56, b"X");
    let ours = boot_info(&iso);
    assert_eq!(
        values(&ours, "GPT backup problem"),
        ["header CRC32 does not match"]
    );
    let listing = crate::boot_images::run(&iso, &["list-partitions", "-l"]);
    assert!(
        listing.lines().count() > 0 && listing.lines().all(|l| l.contains(": APM ")),
        "{listing}"
    );
}

#[test]
fn boot_hostile_gpt_entry_count_too_large() {
    let dir = scratch();
    let iso = copy("boot-grub", dir.path());
    patch(&iso, 512 + 80, &u32::MAX.to_le_bytes());
    let ours = boot_info(&iso);
    let problems = values(&ours, "GPT problem");
    assert!(
        problems.contains(&"entry array of 549755813760 bytes is too large"),
        "{problems:?}"
    );
}

#[test]
fn boot_hostile_overlapping_partitions() {
    let dir = scratch();
    let iso = copy("boot-isohybrid-uefi", dir.path());
    // MBR entry 1 now ends inside entry 2 (which starts at sector 232).
    patch(&iso, 446 + 12, &300u32.to_le_bytes());
    let ours = boot_info(&iso);
    assert_eq!(
        values(&ours, "Partition problem"),
        ["/dev/sda1 and /dev/sda2 overlap, neither holds the other"]
    );
}

#[test]
fn boot_hostile_apm_count_that_lies() {
    let dir = scratch();
    let iso = copy("boot-apm", dir.path());
    patch(&iso, 2048 + 4, &u32::MAX.to_be_bytes());
    let ours = boot_info(&iso);
    let problems = values(&ours, "APM problem");
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("only 256 are read"));
    assert!(problems[1].contains("entry 3 at offset 6144 is not one"));
}

#[test]
fn boot_hostile_extension_entries_are_read_and_missing_ones_reported() {
    let dir = scratch();
    let iso = copy("boot-eltorito", dir.path());
    let cat = catalog_offset("boot-eltorito");
    // The section's entry says an extension follows and has selection criteria type 1...
    patch(&iso, cat + 96 + 1, &[0x20]);
    patch(&iso, cat + 96 + 12, &[0x01, 0xaa]);
    // ...and the extension entry after it carries 30 more bytes.
    let mut ext = vec![0x44, 0x00];
    ext.extend_from_slice(b"EXTENSION-SELECTION-CRITERIA!!");
    patch(&iso, cat + 128, &ext);
    let ours = boot_info(&iso);
    let criteria = value(&ours, "Image 2 criteria");
    let mut want = vec![0xaa];
    want.extend_from_slice(&[0; 18]);
    want.extend_from_slice(b"EXTENSION-SELECTION-CRITERIA!!");
    let hex: String = want.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(criteria, format!("type 0x01, 1 extension entry, {hex}"));
    assert!(values(&ours, "Catalog problem").is_empty());

    // Without the extension entry, the announcement is reported.
    patch(&iso, cat + 128, &[0; 32]);
    let ours = boot_info(&iso);
    let problems = values(&ours, "Catalog problem");
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].contains("announces an extension entry that is not there"),
        "{problems:?}"
    );
}

#[test]
fn boot_hostile_extended_boot_record_loop() {
    let dir = scratch();
    let disk = copy("boot-extended", dir.path());
    let listing = crate::boot_images::run(&disk, &["list-partitions"]);
    let last = listing.lines().last().expect("partitions").to_string();
    let ours = boot_info(&disk);
    // The last record's link now points back at the first record (offset 0 in the
    // extended partition).
    let records: Vec<u64> = values(&ours, "MBR logical")
        .iter()
        .map(|v| fields(v)[2].parse().unwrap())
        .collect();
    let last_record = *records.last().unwrap();
    let mut link = [0u8; 16];
    link[4] = 0x05;
    link[12] = 1;
    patch(&disk, last_record * 512 + 462, &link);
    let ours = boot_info(&disk);
    let problems = values(&ours, "MBR problem");
    assert_eq!(
        problems,
        [format!(
            "the extended boot record at sector {} links back to one already read",
            records[0]
        )]
    );
    let listing = crate::boot_images::run(&disk, &["list-partitions"]);
    assert_eq!(listing.lines().last(), Some(last.as_str()));
}

/// An image held in memory, for the mutation test.
struct Mem(Vec<u8>);

impl isofish::source::Source for Mem {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> isofish::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.0.len());
        let n = buf.len().min(self.0.len() - start);
        buf[..n].copy_from_slice(&self.0[start..start + n]);
        Ok(n)
    }
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn name(&self) -> &str {
        "mutated.iso"
    }
}

#[test]
fn boot_hostile_mutated_tables_never_panic() {
    // Random bytes written over the system area, the boot record and the catalog of images
    // with every kind of table: reading, reporting and rendering must never panic or hang.
    for name in ["boot-grub", "boot-appended", "boot-apm", "boot-extended"] {
        let mut src = Mem(std::fs::read(image(name)).unwrap());
        let catalog = match name {
            "boot-extended" => 0,
            other => catalog_offset(other) as usize,
        };
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..300 {
            let mut undo = Vec::new();
            for _ in 0..1 + next() % 16 {
                let region = match next() % 3 {
                    0 => 0..32 * 1024,
                    1 => 17 * 2048..18 * 2048,
                    _ => catalog..catalog + 2048,
                };
                let at = region.start + (next() as usize) % (region.end - region.start);
                undo.push((at, src.0[at]));
                src.0[at] = next() as u8;
            }
            let layout = isofish::boot::Layout::read(&src, None).unwrap();
            isofish::commands::boot::report::plain(&layout, "/dev/sda");
            isofish::commands::boot::report::summary(&layout);
            isofish::commands::boot::mkisofs::options(&layout, "mutated.iso");
            for (at, byte) in undo.into_iter().rev() {
                src.0[at] = byte;
            }
        }
    }
}
