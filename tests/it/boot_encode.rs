//! The boot structures' encoders held against the bytes the real tools write: each test builds
//! an image with the tool (sgdisk, genisoimage, xorriso), decodes its structures, encodes them
//! again and compares byte for byte, CRCs and checksums included; the boot-info table and
//! GRUB2 boot info patches against the images the tools patched; and the system area replayed
//! from its decoded tables.

use std::path::Path;
use std::sync::Arc;

use isofish::boot::{apm, bootinfo, eltorito, gpt, mbr, Layout, MbrCode};
use isofish::fs::{self, MountOptions};
use isofish::ondisk::Fields;
use isofish::source::{FileSource, Source};

use crate::common::{scratch, tool};

const ISOLINUX: &str = "/usr/lib/ISOLINUX/isolinux.bin";
const ISOHDPFX: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The layout of the image at `path`, boot images named by its ISO tree when it opens.
fn layout(path: &Path) -> (Vec<u8>, Layout) {
    let src: Arc<dyn Source> = Arc::new(FileSource::open(path).unwrap());
    let iso = fs::open(src.clone(), &MountOptions::default()).ok();
    let layout = Layout::read(src.as_ref(), iso.as_deref()).unwrap();
    (std::fs::read(path).unwrap(), layout)
}

/// `len` bytes that are not all alike (so a checksum over them means something).
fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn at(bytes: &[u8], offset: u64, len: usize) -> &[u8] {
    &bytes[offset as usize..offset as usize + len]
}

/// Encodes `g` and compares its header sector and entry array with `disk`'s.
fn check_gpt(disk: &[u8], g: &gpt::Gpt) {
    assert!(g.valid(), "{:?}", g.problems);
    let header = g.encode_header().unwrap();
    assert_eq!(
        header,
        at(disk, g.header_sector * 512, 512),
        "header at sector {}",
        g.header_sector
    );
    let array = g.encode_array().unwrap();
    assert_eq!(array, at(disk, g.array_sector * 512, array.len()));
}

#[test]
fn boot_encode_gpt_matches_sgdisk() {
    let dir = scratch();
    let disk = dir.path().join("disk.img");
    std::fs::File::create(&disk)
        .unwrap()
        .set_len(4 << 20)
        .unwrap();
    tool(
        "sgdisk",
        &[
            "-o",
            "-n",
            "1:2048:+1M",
            "-t",
            "1:ef00",
            "-c",
            "1:EFI system",
            "-n",
            "2:0:0",
            "-t",
            "2:8300",
            "-c",
            "2:root ünïcode",
            "-A",
            "2:set:60",
            s(&disk),
        ],
        None,
    );
    let bytes = std::fs::read(&disk).unwrap();
    let src = FileSource::open(&disk).unwrap();
    let (primary, backup) = gpt::read(&src).unwrap();
    let (primary, backup) = (primary.unwrap(), backup.unwrap());
    assert_eq!(primary.entries.len(), 2);
    assert_eq!(primary.entries[1].name(), "root ünïcode");
    check_gpt(&bytes, &primary);
    check_gpt(&bytes, &backup);
    // The backup made from the primary is the one sgdisk wrote.
    check_gpt(&bytes, &primary.backup());
    // And the protective MBR in front of them.
    let m = mbr::read(&src).unwrap().unwrap();
    assert!(m.protective());
    assert_eq!(m.encode(), at(&bytes, 0, 512));
}

/// A tree with a boot file of `len` bytes at `boot/boot.bin` (and a second one, `efi.img`);
/// returns the boot file's bytes before a tool patches it.
fn boot_tree(dir: &Path, len: usize) -> Vec<u8> {
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("boot")).unwrap();
    let boot = noise(len, 7);
    std::fs::write(tree.join("boot/boot.bin"), &boot).unwrap();
    std::fs::write(tree.join("boot/efi.img"), noise(64 * 1024, 9)).unwrap();
    std::fs::write(tree.join("readme.txt"), b"hello\n").unwrap();
    boot
}

/// The boot record and the catalog encode to the bytes at their blocks.
fn check_eltorito(bytes: &[u8], layout: &Layout) -> eltorito::Catalog {
    let br = layout.boot_record.as_ref().unwrap();
    assert_eq!(br.encode(), at(bytes, br.block * 2048, 2048));
    let cat = layout.catalog.clone().unwrap().unwrap();
    assert!(cat.problems.is_empty(), "{:?}", cat.problems);
    let encoded = cat.encode();
    let block = at(bytes, u64::from(br.catalog) * 2048, 2048);
    assert_eq!(encoded, block[..encoded.len()]);
    assert!(block[encoded.len()..].iter().all(|&b| b == 0));
    cat
}

/// Patches `original` the way the image at catalog entry `index` was patched and compares with
/// what the tool wrote there.
fn check_patches(bytes: &[u8], layout: &Layout, index: usize, original: &[u8]) {
    let img = &layout.images[index];
    let mut patched = original.to_vec();
    img.patches
        .apply(&mut patched, 16, img.entry.load_rba)
        .unwrap();
    assert_eq!(patched, at(bytes, img.start(), original.len()));
    if let Some(t) = &img.patches.table {
        assert_eq!(t.checksum_ok, Some(true));
        assert_eq!(t.checksum, bootinfo::checksum(&patched));
    }
}

#[test]
fn boot_encode_catalog_and_boot_info_table_match_genisoimage() {
    let dir = scratch();
    let original = boot_tree(dir.path(), 6000);
    let iso = dir.path().join("g.iso");
    tool(
        "genisoimage",
        &[
            "-quiet",
            "-o",
            s(&iso),
            "-b",
            "boot/boot.bin",
            "-c",
            "boot/boot.cat",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            s(&dir.path().join("tree")),
        ],
        None,
    );
    let (bytes, layout) = layout(&iso);
    let cat = check_eltorito(&bytes, &layout);
    assert_eq!(cat.entries.len(), 1);
    let img = &layout.images[0];
    assert!(img.patches.table.is_some() && !img.patches.grub2);
    check_patches(&bytes, &layout, 0, &original);
}

#[test]
fn boot_encode_multi_platform_catalog_matches_xorriso() {
    let dir = scratch();
    let original = boot_tree(dir.path(), 5000);
    let iso = dir.path().join("x.iso");
    tool(
        "xorriso",
        &[
            "-as",
            "mkisofs",
            "-quiet",
            "-o",
            s(&iso),
            "-c",
            "boot/boot.cat",
            "-b",
            "boot/boot.bin",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "--grub2-boot-info",
            "-eltorito-id",
            "vendor",
            "-eltorito-alt-boot",
            "-e",
            "boot/efi.img",
            "-no-emul-boot",
            "-eltorito-selcrit",
            "01aabbccddeeff00112233445566778899aabbcc",
            "-eltorito-alt-boot",
            "-eltorito-platform",
            "0xef",
            "-b",
            "boot/efi.img",
            "-no-emul-boot",
            s(&dir.path().join("tree")),
        ],
        None,
    );
    let (bytes, layout) = layout(&iso);
    let cat = check_eltorito(&bytes, &layout);
    assert_eq!(cat.entries.len(), 3);
    assert!(cat.entries[1].has_criteria());
    let img = &layout.images[0];
    assert!(img.patches.table.is_some() && img.patches.grub2);
    check_patches(&bytes, &layout, 0, &original);
}

#[test]
fn boot_encode_isohybrid_mbr_gpt_and_apm_match_xorriso() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("isolinux")).unwrap();
    std::fs::copy(ISOLINUX, tree.join("isolinux/isolinux.bin")).unwrap();
    std::fs::write(tree.join("efi.img"), noise(256 * 1024, 3)).unwrap();
    let iso = dir.path().join("h.iso");
    tool(
        "xorriso",
        &[
            "-as",
            "mkisofs",
            "-quiet",
            "-o",
            s(&iso),
            "-isohybrid-mbr",
            ISOHDPFX,
            "-c",
            "isolinux/boot.cat",
            "-b",
            "isolinux/isolinux.bin",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "-eltorito-alt-boot",
            "-e",
            "efi.img",
            "-no-emul-boot",
            "-isohybrid-gpt-basdat",
            "-isohybrid-apm-hfsplus",
            s(&tree),
        ],
        None,
    );
    let (bytes, layout) = layout(&iso);
    check_eltorito(&bytes, &layout);
    check_patches(&bytes, &layout, 0, &std::fs::read(ISOLINUX).unwrap());
    let sys = &layout.system;
    assert_eq!(sys.bytes, at(&bytes, 0, 32 * 1024));

    // The MBR, and its pointer at the BIOS boot image written anew.
    let m = sys.mbr.clone().unwrap();
    assert_eq!(m.encode(), at(&bytes, 0, 512));
    let (chain, index) = layout.mbr_code.chain().unwrap();
    assert_eq!(layout.mbr_code, MbrCode::Isohybrid(index));
    let mut moved = m.clone();
    moved.code[mbr::BOOT_IMAGE_POINTER..mbr::BOOT_IMAGE_POINTER + 8].fill(0);
    moved.set_boot_image(chain, layout.images[index].entry.load_rba);
    assert_eq!(moved, m);

    // The GPTs.
    assert!(!sys.gpt.as_ref().unwrap().entries.is_empty());
    check_gpt(&bytes, sys.gpt.as_ref().unwrap());
    check_gpt(&bytes, sys.gpt_backup.as_ref().unwrap());

    // The APM: each entry fills its block, the rest of which is zeros; the driver map's fields
    // are written over the MBR code they share block 0 with.
    let a = sys.apm.as_ref().unwrap();
    assert!(a.entries.len() >= 2 && a.problems.is_empty());
    let bs = usize::from(a.block_size());
    for e in &a.entries {
        let block = at(&bytes, (e.number * bs) as u64, bs);
        assert_eq!(e.encode(), block[..apm::ENTRY_FIELDS], "entry {}", e.number);
        assert!(block[apm::ENTRY_FIELDS..].iter().all(|&b| b == 0));
    }
    let mut block0 = at(&bytes, 0, 512).to_vec();
    block0[..18 + 8 * a.driver_map.drivers.len()].fill(0);
    a.driver_map.encode_into(&mut block0);
    assert_eq!(block0, at(&bytes, 0, 512));

    // The whole system area, replayed over zeros: every table encoded where it was.
    let zeroed = isofish::boot::SystemArea {
        bytes: vec![0; sys.bytes.len()],
        ..sys.clone()
    };
    assert_eq!(zeroed.encode().unwrap(), sys.bytes);
}

/// The MBR `isohybrid` writes over a genisoimage image decodes and encodes back.
#[test]
fn boot_encode_mbr_matches_isohybrid() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("isolinux")).unwrap();
    std::fs::copy(ISOLINUX, tree.join("isolinux/isolinux.bin")).unwrap();
    let iso = dir.path().join("i.iso");
    tool(
        "genisoimage",
        &[
            "-quiet",
            "-o",
            s(&iso),
            "-b",
            "isolinux/isolinux.bin",
            "-c",
            "isolinux/boot.cat",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            s(&tree),
        ],
        None,
    );
    tool("isohybrid", &[s(&iso)], None);
    let (bytes, layout) = layout(&iso);
    let m = layout.system.mbr.clone().unwrap();
    assert_eq!(m.encode(), at(&bytes, 0, 512));
    let f = Fields::new(at(&bytes, 0, 512), "i.iso", "MBR", 0);
    assert_eq!(mbr::Mbr::decode(&f).unwrap(), Some(m.clone()));
    let (chain, index) = layout.mbr_code.chain().unwrap();
    let mut moved = m.clone();
    moved.set_boot_image(chain, layout.images[index].entry.load_rba + 1);
    moved.set_boot_image(chain, layout.images[index].entry.load_rba);
    assert_eq!(moved, m);
}

/// Every structure of `path` encodes back to the bytes the tool wrote, and every patched boot
/// image patched again is unchanged.
fn check_replay(path: &Path) {
    let (bytes, layout) = layout(path);
    let name = path.display();
    let sys = &layout.system;
    assert_eq!(sys.bytes, at(&bytes, 0, sys.bytes.len()), "{name}");
    assert_eq!(sys.encode().unwrap(), sys.bytes, "{name}: system area");
    if let Some(m) = &sys.mbr {
        assert_eq!(m.encode(), at(&bytes, 0, 512), "{name}: MBR");
    }
    let src = FileSource::open(path).unwrap();
    for l in sys.logical.iter().flat_map(|c| &c.partitions) {
        let ebr = mbr::read_at(&src, l.record * 512).unwrap().unwrap();
        assert_eq!(ebr.encode(), at(&bytes, l.record * 512, 512), "{name}: EBR");
    }
    for g in [&sys.gpt, &sys.gpt_backup].into_iter().flatten() {
        check_gpt(&bytes, g);
    }
    if let Some(a) = &sys.apm {
        let bs = usize::from(a.block_size());
        for e in &a.entries {
            let o = e.number * bs;
            assert_eq!(
                e.encode(),
                bytes[o..o + apm::ENTRY_FIELDS],
                "{name}: APM entry"
            );
        }
        let mut block0 = at(&bytes, 0, 512).to_vec();
        a.driver_map.encode_into(&mut block0);
        assert_eq!(block0, at(&bytes, 0, 512), "{name}: APM driver map");
    }
    if layout.boot_record.is_some() {
        check_eltorito(&bytes, &layout);
    }
    for img in &layout.images {
        let len = match &img.patches.table {
            Some(t) if t.checksum_ok == Some(true) => t.image_len as usize,
            Some(_) => continue,
            None if img.patches.grub2 => img.whole_len() as usize,
            None => continue,
        };
        let stored = at(&bytes, img.start(), len);
        let mut again = stored.to_vec();
        img.patches
            .apply(&mut again, 16, img.entry.load_rba)
            .unwrap();
        assert_eq!(
            again, stored,
            "{name}: boot image at block {}",
            img.entry.load_rba
        );
    }
}

#[test]
fn boot_encode_every_boot_fixture_replays() {
    let names = crate::boot_images::ISO_LAYOUTS
        .iter()
        .chain(&["boot-extended"]);
    for name in names {
        check_replay(&crate::boot_images::image(name));
    }
    check_replay(&crate::common::fixture("partition-offset.iso"));
}
