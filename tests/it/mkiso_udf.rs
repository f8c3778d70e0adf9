//! `mkiso udf:1.02` (and `mkisofs:"-udf"`): UDF bridge images made from host directories,
//! read back by the UDF readers (udfinfo's revision and counts, 7-Zip's extraction, udfclient's
//! listing, isofish's UDF reader) and the ISO 9660 ones (bsdtar/xorriso, isoinfo) as the host
//! tree; with a BIOS image no file of the tree holds (`bios-hidden:`, `-hide` of the `-b`
//! file), as Windows media have it: xorriso reports the entries, `boot-extract` gives the
//! image back, and a stand-in isolinux boots in qemu as CD.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use isofish::fs::udf::UdfFs;
use isofish::fs::{FileSystem, MountOptions};
use isofish::source::FileSource;

use crate::boot_images::{values, xorriso};
use crate::boot_qemu::{boot_all, isolinux_loaded, Drive, Firmware, MARKER};
use crate::common::{isofish, scratch, tool};
use crate::host_tree::{assert_same, reference, snapshot};
use crate::udf_helpers::{
    seven_zip_extract, udfclient_key, udfclient_list, udfclient_name, udfinfo, walk,
};

/// `isofish mkiso DIR OUT ARGS...`, which must succeed.
fn mkiso(dir: &Path, out: &Path, args: &[&str]) {
    isofish()
        .arg("mkiso")
        .arg(dir)
        .arg(out)
        .args(args)
        .assert()
        .success();
}

/// A tree with subdirectories, a file of several blocks, an empty file, a name beyond ASCII
/// and a long one.
fn host_tree(top: &Path) {
    let deep = top.join("sources/deep/er");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::create_dir_all(top.join("emptydir")).unwrap();
    std::fs::write(top.join("setup.exe"), b"setup\n").unwrap();
    std::fs::write(
        top.join("sources/boot.wim"),
        (0..300_000u32).map(|i| (i % 253) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    std::fs::write(top.join("sources/empty"), b"").unwrap();
    std::fs::write(deep.join("ünïcödé.txt"), b"names\n").unwrap();
    std::fs::write(top.join(format!("{}.txt", "l".repeat(120))), b"long\n").unwrap();
}

/// A file's size and a digest of its bytes (short in a failure's message).
fn digest(data: &[u8]) -> (usize, u64) {
    let hash = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (data.len(), hash)
}

/// Every path below `top` (`a/b`): `None` for a directory, the size and digest of a file.
fn contents(top: &Path) -> BTreeMap<String, Option<(usize, u64)>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![top.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(top).unwrap().to_str().unwrap().to_string();
            if p.is_dir() {
                stack.push(p);
                out.insert(rel, None);
            } else {
                out.insert(rel, Some(digest(&std::fs::read(&p).unwrap())));
            }
        }
    }
    out
}

#[test]
fn mkiso_udf_bridge_reads_back_in_every_reader() {
    let s = scratch();
    let top = s.path().join("tree");
    host_tree(&top);
    let iso = s.path().join("bridge.iso");
    mkiso(&top, &iso, &["udf:1.02", "label:BRIDGE"]);
    let want = contents(&top);
    // udfinfo: UDF 1.02, closed, the tree's counts (the root among the directories).
    let info = udfinfo(&iso);
    let dirs = want.values().filter(|v| v.is_none()).count() + 1;
    let files = want.len() + 1 - dirs;
    assert_eq!(info["udfrev"], "1.02", "{info:?}");
    assert_eq!(info["integrity"], "closed", "{info:?}");
    assert_eq!(info["numdirs"], dirs.to_string(), "{info:?}");
    assert_eq!(info["numfiles"], files.to_string(), "{info:?}");
    assert_eq!(info["lvid"], "BRIDGE", "{info:?}");
    // 7-Zip extracts the UDF tree: the same names and bytes.
    let x = seven_zip_extract(&iso);
    assert_eq!(contents(x.path()), want, "7z -tudf extraction");
    // udfclient lists the same names and sizes.
    let mut listed_dirs: Vec<&str> = want
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k.as_str())
        .collect();
    listed_dirs.push("");
    let listed = udfclient_list(&iso, 2048, &listed_dirs);
    let listed: BTreeMap<String, _> = listed
        .into_iter()
        .map(|(k, v)| (udfclient_key(&k), v))
        .collect();
    let names: Vec<&String> = listed.keys().collect();
    let mut keys: Vec<String> = want.keys().map(|k| udfclient_name(k)).collect();
    keys.sort();
    assert_eq!(names, keys.iter().collect::<Vec<_>>(), "udfclient");
    for (path, v) in &want {
        let (mode, _, _, size) = &listed[&udfclient_name(path)];
        match v {
            Some((len, _)) => {
                assert_eq!(*size, *len as u64, "udfclient: {path}");
                assert!(mode.starts_with('-'), "udfclient: {path} {mode}");
            }
            None => assert!(mode.starts_with('d'), "udfclient: {path} {mode}"),
        }
    }
    // isofish's UDF reader: modes and times of the host files.
    let src = Arc::new(FileSource::open(&iso).unwrap());
    let udf = UdfFs::open(src, &MountOptions::default()).unwrap();
    let seen = walk(&udf as &dyn FileSystem);
    let host = snapshot(&top);
    for (path, node) in &host.nodes {
        let ours = &seen[path].meta;
        assert_eq!(ours.mode & 0o7777, node.mode & 0o7777, "{path}: mode");
        assert_eq!(ours.mtime.secs, node.mtime, "{path}: mtime");
    }
    // The ISO 9660 side: bsdtar/xorriso extract the host tree, isoinfo lists it.
    let (_x, extracted) = reference(&iso);
    assert_same(&host, &snapshot(&extracted), "bsdtar/xorriso extraction");
    let rr = String::from_utf8(tool(
        "isoinfo",
        &["-R", "-f", "-i", iso.to_str().unwrap()],
        None,
    ))
    .unwrap();
    for path in want.keys() {
        assert!(
            rr.lines().any(|l| l == format!("/{path}")),
            "isoinfo lacks /{path}"
        );
    }
}

#[test]
fn mkisofs_udf_option_makes_the_same_bridge_with_its_bios_entry() {
    let s = scratch();
    let top = s.path().join("tree");
    host_tree(&top);
    std::fs::create_dir_all(top.join("isolinux")).unwrap();
    std::fs::copy(
        "/usr/lib/ISOLINUX/isolinux.bin",
        top.join("isolinux/isolinux.bin"),
    )
    .expect("isolinux installed");
    let iso = s.path().join("bridge.iso");
    mkiso(
        &top,
        &iso,
        &["mkisofs:-udf -V BRIDGE -b isolinux/isolinux.bin -no-emul-boot -boot-load-size 4 -boot-info-table"],
    );
    assert_eq!(udfinfo(&iso)["udfrev"], "1.02");
    // The same tree and bytes, isolinux.bin patched with its boot-info table (as
    // -boot-info-table patches the file) the same in both trees: they share its extent.
    let x = seven_zip_extract(&iso);
    let (_y, extracted) = reference(&iso);
    let (mut udf, mut iso9660, mut host) =
        (contents(x.path()), contents(&extracted), contents(&top));
    let bin = "isolinux/isolinux.bin";
    assert_eq!(udf.remove(bin), iso9660.remove(bin), "{bin}");
    host.remove(bin);
    assert_eq!(udf, host, "7z -tudf extraction");
    assert_eq!(iso9660, host, "ISO 9660 extraction");
    let report = xorriso(&iso);
    let images = values(&report, "El Torito img path");
    assert!(
        images.iter().any(|p| p.ends_with("/isolinux/isolinux.bin")),
        "{report:?}"
    );
}

/// A Windows-like tree (`sources/boot.wim`, an EFI FAT image) and, outside it, the BIOS boot
/// image; in `dir`.
fn windows_tree(dir: &Path) -> std::path::PathBuf {
    let top = dir.join("tree");
    host_tree(&top);
    std::fs::create_dir_all(top.join("efi/microsoft/boot")).unwrap();
    let efisys = top.join("efi/microsoft/boot/efisys.bin");
    tool("mkfs.fat", &["-C", efisys.to_str().unwrap(), "1440"], None);
    std::fs::write(
        dir.join("etfsboot.com"),
        (0..4096u32)
            .map(|i| (i * 7 % 256) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    top
}

#[test]
fn mkiso_windows_repack_boots_an_image_no_file_holds() {
    let s = scratch();
    let top = windows_tree(s.path());
    let boot = s.path().join("etfsboot.com");
    // Plain words, and genisoimage's options with the image in the tree and hidden.
    let plain = s.path().join("plain.iso");
    mkiso(
        &top,
        &plain,
        &[
            "udf:1.02",
            "label:WINLIKE",
            &format!("bios-hidden:{}", boot.display()),
            "efi:efi/microsoft/boot/efisys.bin",
        ],
    );
    let with_boot = s.path().join("with-boot");
    tool(
        "cp",
        &["-a", top.to_str().unwrap(), with_boot.to_str().unwrap()],
        None,
    );
    std::fs::copy(&boot, with_boot.join("etfsboot.com")).unwrap();
    let hidden = s.path().join("hidden.iso");
    mkiso(
        &with_boot,
        &hidden,
        &[
            "mkisofs:-udf -V WINLIKE -b etfsboot.com -no-emul-boot -boot-load-size 8 \
           -hide etfsboot.com -eltorito-alt-boot -e efi/microsoft/boot/efisys.bin \
           -no-emul-boot",
        ],
    );
    for iso in [&plain, &hidden] {
        // Both entries; the BIOS one loads the 8 sectors of the image, which no file holds.
        let report = xorriso(iso);
        let images = values(&report, "El Torito boot img");
        assert_eq!(images.len(), 2, "{report:?}");
        assert!(
            images[0].contains("BIOS") && images[0].contains(" 8 "),
            "{images:?}"
        );
        assert!(images[1].contains("UEFI"), "{images:?}");
        let paths = values(&report, "El Torito img path");
        assert_eq!(paths.len(), 1, "{report:?}");
        assert!(
            paths[0].ends_with("/efi/microsoft/boot/efisys.bin"),
            "{paths:?}"
        );
        let out = s.path().join("extracted.bin");
        let _ = std::fs::remove_file(&out);
        isofish()
            .args(["--ro", "-a"])
            .arg(iso)
            .args(["boot-extract", "/dev/sda", "1"])
            .arg(&out)
            .assert()
            .success();
        assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&boot).unwrap());
        // The UDF and ISO 9660 trees are the tree, without the boot image.
        assert_eq!(udfinfo(iso)["udfrev"], "1.02");
        let x = seven_zip_extract(iso);
        assert_eq!(contents(x.path()), contents(&top), "7z -tudf extraction");
        let (_x, extracted) = reference(iso);
        assert_same(
            &snapshot(&top),
            &snapshot(&extracted),
            "ISO 9660 extraction",
        );
    }
}

#[test]
fn mkiso_udf_bridge_boots_a_hidden_isolinux_as_cd() {
    // The seed's Windows re-pack with a stand-in BIOS loader: isolinux, outside the tree,
    // booted from an extent no file holds, finds its config and the kernel in the tree.
    let s = scratch();
    let top = s.path().join("tree");
    std::fs::create_dir_all(top.join("isolinux")).unwrap();
    std::fs::copy(
        "/usr/lib/syslinux/modules/bios/ldlinux.c32",
        top.join("isolinux/ldlinux.c32"),
    )
    .expect("syslinux installed");
    let config = format!("SERIAL 0 115200\nDEFAULT marker\nLABEL marker\n  KERNEL /{MARKER}\n");
    std::fs::write(top.join("isolinux/isolinux.cfg"), config).unwrap();
    std::fs::write(top.join(MARKER), b"not a kernel\n").unwrap();
    let iso = s.path().join("bridge.iso");
    mkiso(
        &top,
        &iso,
        &["udf:1.02", "bios-hidden:/usr/lib/ISOLINUX/isolinux.bin"],
    );
    assert_eq!(udfinfo(&iso)["udfrev"], "1.02");
    boot_all(
        &iso,
        &[(Firmware::SeaBios, Drive::Cd)],
        &isolinux_loaded(MARKER),
    );
}
