//! The FAT writer (`fs::fat::write`, through `fs::rebuild::plan`): images made by mkfs.fat
//! and filled by mcopy, changed through an overlay (files added, replaced, removed, renamed,
//! directories made), rebuilt, and checked by mtools (`mtype`, `mdir`, `mcopy`, `minfo`) and
//! `fsck.vfat -n`: the tree is the one asked for, the volume keeps its size, FAT type, label
//! and serial, a tree with no change comes back byte for byte, changes that do not fit are
//! refused with the bytes they need, and a size set with `set_size` (`resize-fat`) grows the
//! volume.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use isofish::error::Error;
use isofish::fs::{rebuild, FileKind, FileSystem, MountOptions, Timestamp};
use isofish::overlay::{fresh, Content, Overlay};
use isofish::plan::{to_file, Plan};
use isofish::source::FileSource;

use crate::common::{scratch, tool};
use crate::host_tree::snapshot;
use crate::nested_fat::{copy_tree, mtools};
use crate::nested_util::{noise, write};

/// The serial every image here is made with, as mkfs.fat takes it and minfo shows it.
const SERIAL: &str = "1234ABCD";

/// A FAT image of `bits` (12, 16, 32) and `kib` KiB labelled `LABEL`, holding `tree`.
fn make(dir: &Path, bits: &str, kib: &str, tree: &Path) -> PathBuf {
    let image = dir.join(format!("fat{bits}-{kib}.img"));
    let img = image.to_str().unwrap();
    let mut args = vec!["-F", bits, "-n", "LABEL", "-i", SERIAL, "-C", img, kib];
    if bits == "32" {
        args.insert(0, "-s1");
    }
    tool("mkfs.fat", &args, None);
    copy_tree(img, tree, &["-m"]);
    image
}

/// An overlay over the FAT filesystem in `image`.
fn overlay(image: &Path) -> Overlay {
    let source = Arc::new(FileSource::open(image).unwrap());
    Overlay::new(isofish::fs::open_as(source, "vfat", &MountOptions::default()).unwrap())
}

/// The image `o` is rebuilt into, or the writer's error.
fn rebuild(o: &Overlay) -> Result<Plan, Error> {
    rebuild::plan(o.base().as_ref(), o, &|ino| o.provenance(ino))
}

/// Writes `plan` to `out`.
fn save(plan: &Plan, out: &Path) {
    let file = std::fs::File::create(out).unwrap();
    to_file::write(plan, &file, &|_| {}).unwrap();
}

/// `fsck.vfat -n` finds nothing to repair.
fn fsck_clean(image: &Path) {
    let out = std::process::Command::new("fsck.vfat")
        .args(["-n", image.to_str().unwrap()])
        .output()
        .unwrap_or_else(|e| panic!("fsck.vfat could not run ({e}); tests/run installs it"));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !said.contains("wrong") && !said.contains("differ"),
        "fsck.vfat -n {}: {said}{}",
        image.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// path -> (kind, data) of the tree mcopy extracts from `image`.
fn extracted(image: &Path, into: &Path) -> BTreeMap<String, (char, Vec<u8>)> {
    std::fs::create_dir(into).unwrap();
    let img = image.to_str().unwrap();
    mtools(
        "mcopy",
        &["-s", "-n", "-m", "-i", img, "::/", into.to_str().unwrap()],
    );
    snapshot(into)
        .nodes
        .into_iter()
        .map(|(k, n)| (k, (n.kind, n.data)))
        .collect()
}

/// `got` and `expected` hold the same paths, kinds and data (data compared without
/// printing it).
fn assert_same(
    got: &BTreeMap<String, (char, Vec<u8>)>,
    expected: &BTreeMap<String, (char, Vec<u8>)>,
    what: &str,
) {
    let kinds = |m: &BTreeMap<String, (char, Vec<u8>)>| {
        m.iter().map(|(k, v)| (k.clone(), v.0)).collect::<Vec<_>>()
    };
    assert_eq!(kinds(got), kinds(expected), "{what}");
    for (path, (_, data)) in expected {
        assert!(got[path].1 == *data, "{what}: {path} differs");
    }
}

/// What minfo says of the volume (geometry, FAT type, label, serial), without the lines
/// that depend on what is stored.
fn volume_facts(image: &Path) -> String {
    let img = image.to_str().unwrap();
    mtools("minfo", &["-i", img, "::"])
        .lines()
        .filter(|l| {
            !l.contains(img) && !l.contains("free clusters") && !l.contains("last allocated")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The tree every image starts with.
fn original_tree(top: &Path) {
    write(&top.join("EFI/BOOT/grub.cfg"), b"menuentry 'old' {}\n");
    write(&top.join("EFI/BOOT/BOOTX64.EFI"), &noise(40_000, 1));
    write(&top.join("A long name kept as it is.txt"), b"kept\n");
    write(&top.join("old.txt"), b"to be removed\n");
    write(&top.join("sub/moved.dat"), &noise(5_000, 2));
    write(&top.join("sub/stays.dat"), b"stays\n");
}

/// Runs `test` on an image of each `(bits, KiB)` of `kinds` holding [`original_tree`], with
/// an overlay over it; `test` gets the scratch directory, the FAT bits, the image and the
/// overlay.
fn with_images(kinds: &[(&str, &str)], test: impl Fn(&Path, &str, &Path, Overlay)) {
    let held = scratch();
    let dir = held.path();
    let tree = dir.join("tree");
    original_tree(&tree);
    for (bits, kib) in kinds {
        let image = make(dir, bits, kib, &tree);
        test(dir, bits, &image, overlay(&image));
    }
}

/// A time FAT holds exactly (an even second).
const WHEN: Timestamp = Timestamp {
    secs: 1_600_000_000,
    nanos: 0,
};

#[test]
fn edits_of_fat12_fat16_fat32_read_back_in_mtools() {
    with_images(
        &[("12", "2000"), ("16", "20000"), ("32", "40000")],
        |dir, bits, image, o| {
            let cfg = b"menuentry 'new' {}\n".to_vec();
            o.set_content("/EFI/BOOT/grub.cfg", Content::bytes(cfg.clone()))
                .unwrap();
            let mut meta = fresh(FileKind::File, 0o644);
            meta.mtime = WHEN;
            let added = noise(70_000, 3);
            o.create(
                "/A new file with a long name.bin",
                meta,
                Some(Content::bytes(added.clone())),
            )
            .unwrap();
            o.remove("/old.txt").unwrap();
            o.create("/newdir", fresh(FileKind::Dir, 0o755), None)
                .unwrap();
            o.rename("/sub/moved.dat", "/newdir/moved.dat").unwrap();
            o.rename("/sub", "/Sub renamed").unwrap();
            o.create("/newdir/inner", fresh(FileKind::Dir, 0o755), None)
                .unwrap();
            o.create(
                "/newdir/inner/note.txt",
                fresh(FileKind::File, 0o644),
                Some(Content::bytes(b"note\n".to_vec())),
            )
            .unwrap();

            let out = dir.join(format!("out{bits}.img"));
            save(&rebuild(&o).unwrap(), &out);
            let what = format!("FAT{bits}");
            assert_eq!(
                std::fs::metadata(&out).unwrap().len(),
                std::fs::metadata(image).unwrap().len(),
                "{what}"
            );
            fsck_clean(&out);
            assert_eq!(volume_facts(&out), volume_facts(image), "{what}");
            let img = out.to_str().unwrap();
            assert_eq!(
                mtools("mtype", &["-i", img, "::/EFI/BOOT/grub.cfg"]).as_bytes(),
                cfg
            );
            let listing = mtools("mdir", &["-/", "-b", "-i", img, "::/"]);
            assert!(
                listing.contains("::/A new file with a long name.bin"),
                "{listing}"
            );
            assert!(listing.contains("::/newdir/inner/note.txt"), "{listing}");
            assert!(!listing.contains("old.txt"), "{listing}");

            let mut expected = BTreeMap::new();
            let mut file = |p: &str, data: &[u8]| {
                expected.insert(p.to_string(), ('-', data.to_vec()));
            };
            file("EFI/BOOT/grub.cfg", &cfg);
            file("EFI/BOOT/BOOTX64.EFI", &noise(40_000, 1));
            file("A long name kept as it is.txt", b"kept\n");
            file("A new file with a long name.bin", &added);
            file("Sub renamed/stays.dat", b"stays\n");
            file("newdir/moved.dat", &noise(5_000, 2));
            file("newdir/inner/note.txt", b"note\n");
            for d in ["EFI", "EFI/BOOT", "Sub renamed", "newdir", "newdir/inner"] {
                expected.insert(d.to_string(), ('d', Vec::new()));
            }
            let got = extracted(&out, &dir.join(format!("x{bits}")));
            assert_same(&got, &expected, &what);
            let new = snapshot(&dir.join(format!("x{bits}")));
            assert_eq!(
                new.nodes["A new file with a long name.bin"].mtime, WHEN.secs,
                "{what}: the staged time, as UTC"
            );
        },
    );
}

#[test]
fn an_unchanged_tree_comes_back_byte_identical() {
    with_images(
        &[("12", "2000"), ("32", "40000")],
        |dir, _bits, image, o| {
            let out = dir.join("same.img");
            // The filesystem itself as the tree, then a clean overlay over it.
            let fs = o.base().as_ref();
            save(
                &rebuild::plan(fs, fs, &|_| isofish::overlay::Provenance::UNCHANGED).unwrap(),
                &out,
            );
            assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(image).unwrap());
            save(&rebuild(&o).unwrap(), &out);
            assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(image).unwrap());
        },
    );
}

#[test]
fn a_grub_cfg_edited_inside_an_efi_image() {
    let held = scratch();
    let dir = held.path();
    let tree = dir.join("tree");
    write(&tree.join("EFI/BOOT/BOOTX64.EFI"), &noise(300_000, 7));
    write(
        &tree.join("EFI/BOOT/grub.cfg"),
        b"set timeout=0\necho old-marker\n",
    );
    // An EFI system image as grub-mkrescue makes one: a small FAT12 volume, no label.
    let image = dir.join("efi.img");
    let img = image.to_str().unwrap();
    tool("mkfs.vfat", &["-i", SERIAL, "-C", img, "720"], None);
    copy_tree(img, &tree, &["-m"]);
    let o = overlay(&image);
    let cfg = b"set timeout=0\necho new-marker\n".to_vec();
    o.set_content("/EFI/BOOT/grub.cfg", Content::bytes(cfg.clone()))
        .unwrap();
    let out = dir.join("new-efi.img");
    save(&rebuild(&o).unwrap(), &out);
    fsck_clean(&out);
    let new = out.to_str().unwrap();
    assert_eq!(
        mtools("mtype", &["-i", new, "::/EFI/BOOT/grub.cfg"]).as_bytes(),
        cfg
    );
    let listing = mtools("mdir", &["-/", "-b", "-i", new, "::/"]);
    assert!(listing.contains("::/EFI/BOOT/BOOTX64.EFI"), "{listing}");
    let got = extracted(&out, &dir.join("x"));
    assert!(got["EFI/BOOT/BOOTX64.EFI"].1 == noise(300_000, 7));
    assert_eq!(volume_facts(&out), volume_facts(&image));
}

/// The number in `text` between `before` and `end`.
fn number_after(text: &str, before: &str, end: char) -> u64 {
    text.split(before)
        .nth(1)
        .and_then(|s| s.split(end).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {before:?} in {text}"))
}

#[test]
fn changes_that_do_not_fit_are_refused_then_fit_in_a_resized_volume() {
    with_images(&[("12", "200"), ("32", "40000")], |dir, bits, image, o| {
        let big = noise(if bits == "12" { 400_000 } else { 45 << 20 }, 9);
        o.create(
            "/big.bin",
            fresh(FileKind::File, 0o644),
            Some(Content::bytes(big.clone())),
        )
        .unwrap();
        let err = rebuild(&o).unwrap_err().to_string();
        assert!(err.starts_with(image.to_str().unwrap()), "{err}");
        assert!(err.contains("no space left"), "{err}");
        let needed = big.len().div_ceil(512) * 512;
        assert!(err.contains(" bytes of clusters"), "{err}");
        assert!(number_after(&err, "need ", ' ') >= needed as u64, "{err}");
        // The size the message suggests is enough.
        let size = number_after(&err, "resize-fat MOUNTPOINT ", 'M') << 20;
        o.set_size(size);
        let out = dir.join(format!("grown{bits}.img"));
        save(&rebuild(&o).unwrap(), &out);
        assert_eq!(std::fs::metadata(&out).unwrap().len(), size);
        fsck_clean(&out);
        let facts = mtools("minfo", &["-i", out.to_str().unwrap(), "::"]);
        assert!(facts.contains("serial number: 1234ABCD"), "{facts}");
        assert!(facts.contains("disk label=\"LABEL      \""), "{facts}");
        assert!(facts.contains(&format!("disk type=\"FAT{bits}")), "{facts}");
        let got = extracted(&out, &dir.join(format!("x{bits}")));
        assert!(got["big.bin"].1 == big, "FAT{bits}: big.bin differs");
        assert_eq!(got["EFI/BOOT/grub.cfg"].1, b"menuentry 'old' {}\n");
        assert!(got["sub/moved.dat"].1 == noise(5_000, 2));
    });
}

#[test]
fn what_fat_cannot_hold_is_refused() {
    with_images(&[("12", "2000")], |_, _, _, o| {
        // Refused when staged: names with characters FAT forbids, symbolic links.
        for name in [&b"a:b"[..], b"what?", b"back\\slash", &[b'x'; 256]] {
            let err = o.name_fit(name, false).unwrap_err().to_string();
            assert!(err.contains("FAT cannot store this name"), "{err}");
        }
        assert_eq!(
            o.name_fit("Grüße, world (1).txt".as_bytes(), false)
                .unwrap(),
            None
        );
        let mut link = fresh(FileKind::Symlink, 0o777);
        link.symlink = Some(b"old.txt".to_vec());
        let err = o.create("/link", link, None).unwrap_err().to_string();
        assert!(err.contains("FAT records no symbolic links"), "{err}");
        // Refused when written: two new names that differ only in case.
        for name in ["/Twice.txt", "/TWICE.TXT"] {
            o.create(
                name,
                fresh(FileKind::File, 0o644),
                Some(Content::bytes(b"x".to_vec())),
            )
            .unwrap();
        }
        let err = rebuild(&o).unwrap_err().to_string();
        assert!(err.contains("differs from it only in case"), "{err}");
    });
}

/// Above 256 MiB the copy the writer edits is a temporary file, not memory.
#[test]
fn a_large_image_is_edited_in_a_temporary_file() {
    with_images(&[("32", "307200")], |dir, _, image, o| {
        let data = noise(3 << 20, 11);
        o.create(
            "/EFI/BOOT/added.bin",
            fresh(FileKind::File, 0o644),
            Some(Content::bytes(data.clone())),
        )
        .unwrap();
        o.remove("/old.txt").unwrap();
        let plan = rebuild(&o).unwrap();
        assert!(
            matches!(plan.spans(), [isofish::fs::Span::Source { .. }]),
            "one range of a temporary file: {:?}",
            plan.spans()
        );
        let out = dir.join("large.img");
        save(&plan, &out);
        assert_eq!(
            std::fs::metadata(&out).unwrap().len(),
            std::fs::metadata(image).unwrap().len()
        );
        fsck_clean(&out);
        assert_eq!(volume_facts(&out), volume_facts(image));
        let got = extracted(&out, &dir.join("x"));
        assert!(got["EFI/BOOT/added.bin"].1 == data);
        assert!(!got.contains_key("old.txt"));
        assert_eq!(got["EFI/BOOT/grub.cfg"].1, b"menuentry 'old' {}\n");
    });
}

#[test]
fn a_new_label_is_written_into_a_volume_of_the_same_size() {
    with_images(
        &[("16", "20000"), ("32", "40000")],
        |dir, bits, image, o| {
            o.set_label("RELABELLED");
            let out = dir.join(format!("relabelled{bits}.img"));
            save(&rebuild(&o).unwrap(), &out);
            assert_eq!(
                std::fs::metadata(&out).unwrap().len(),
                std::fs::metadata(image).unwrap().len()
            );
            fsck_clean(&out);
            let img = out.to_str().unwrap();
            assert_eq!(
                mtools("mlabel", &["-s", "-i", img, "::"]).trim(),
                "Volume label is RELABELLED"
            );
            let facts = mtools("minfo", &["-i", img, "::"]);
            assert!(facts.contains("serial number: 1234ABCD"), "{facts}");
            assert!(facts.contains(&format!("disk type=\"FAT{bits}")), "{facts}");
            let was = extracted(image, &dir.join(format!("was{bits}")));
            let now = extracted(&out, &dir.join(format!("now{bits}")));
            assert_same(&now, &was, &format!("FAT{bits}"));
        },
    );
}

/// The attribute letters mattrib shows for `path` in `image` (`A`, `S`, `H`, `R`).
fn attributes(image: &Path, path: &str) -> String {
    let said = mtools("mattrib", &["-i", image.to_str().unwrap(), path]);
    let flags = said.split("::").next().unwrap_or_default();
    flags.chars().filter(|c| c.is_ascii_uppercase()).collect()
}

#[test]
fn a_rewritten_file_and_a_renamed_directory_keep_their_attributes() {
    let held = scratch();
    let dir = held.path();
    let tree = dir.join("tree");
    original_tree(&tree);
    for (bits, kib) in [("12", "2000"), ("32", "40000")] {
        let image = make(dir, bits, kib, &tree);
        let img = image.to_str().unwrap();
        mtools(
            "mattrib",
            &["-i", img, "+r", "+h", "+s", "::/EFI/BOOT/grub.cfg"],
        );
        mtools("mattrib", &["-i", img, "+h", "::/sub"]);
        mtools("mattrib", &["-i", img, "+s", "::/sub/stays.dat"]);
        let o = overlay(&image);
        o.set_content("/EFI/BOOT/grub.cfg", Content::bytes(b"changed\n".to_vec()))
            .unwrap();
        o.rename("/sub", "/Sub renamed").unwrap();
        let out = dir.join(format!("attrs{bits}.img"));
        save(&rebuild(&o).unwrap(), &out);
        fsck_clean(&out);
        let what = format!("FAT{bits}");
        let kept = |before: &str, after: &str| {
            let (was, now) = (attributes(&image, before), attributes(&out, after));
            let rhs = |s: &str| s.chars().filter(|c| "RHS".contains(*c)).collect::<String>();
            assert!(
                !rhs(&was).is_empty(),
                "{what}: {before} has attributes ({was})"
            );
            assert_eq!(rhs(&now), rhs(&was), "{what}: {before} as {after}");
        };
        kept("::/EFI/BOOT/grub.cfg", "::/EFI/BOOT/grub.cfg");
        kept("::/sub", "::/Sub renamed");
        kept("::/sub/stays.dat", "::/Sub renamed/stays.dat");
        let cfg = mtools(
            "mtype",
            &["-i", out.to_str().unwrap(), "::/EFI/BOOT/grub.cfg"],
        );
        assert_eq!(cfg, "changed\n", "{what}");
    }
}
