//! The ISO 9660 encoders against xorriso and genisoimage: every structure isofish will write
//! (volume descriptors, path table records, directory records, Joliet names, SUSP and Rock
//! Ridge entries, ZF), decoded from an image the tool made and encoded again, gives the bytes
//! the tool wrote.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use isofish::fs::iso9660::joliet;
use isofish::fs::iso9660::pathtable::{self, Order};
use isofish::fs::iso9660::record::{self, Record};
use isofish::fs::iso9660::rockridge::{self, Link, Nm, Pn, Px, Sl, Tf};
use isofish::fs::iso9660::susp::{self, Ce, Entry, Er, Sp};
use isofish::fs::iso9660::volume::{Body, Descriptor, Kind, Volume};
use isofish::fs::iso9660::zisofs::Zf;
use isofish::fs::iso9660::SECTOR;

use crate::common::{scratch, tool};
use crate::iso_zisofs2::xorriso_zisofs;

const BLOCK: usize = SECTOR as usize;
const LABEL: &str = "ISOFISH_ENCODE";

/// A tree with what makes the tools write every Rock Ridge entry: non-ASCII and long names (NM
/// over several entries and CE), symlinks to `/`, `..`, `.` and, with `long_symlink`, a long
/// target (SL over several entries), a FIFO and a device (PN, when we may make one),
/// directories deeper than 8 levels (RE/CL/PL), a directory over several sectors, and a boot
/// image (the boot record). True when the device could be made.
fn tree(root: &Path, long_symlink: bool) -> bool {
    let dir = |p: &str| std::fs::create_dir_all(root.join(p)).unwrap();
    let file = |p: &str, data: &[u8]| std::fs::write(root.join(p), data).unwrap();
    let link = |target: &str, p: &str| std::os::unix::fs::symlink(target, root.join(p)).unwrap();
    dir("files");
    file("files/a.txt", b"hello\n");
    file("files/été-日本語.txt", b"unicode\n");
    file(&format!("files/{}", "n".repeat(240)), b"long name\n");
    dir("many");
    for i in 0..80 {
        file(&format!("many/file-with-a-long-name-{i:03}.txt"), b"x");
    }
    dir("links");
    link("/usr/share/doc", "links/abs");
    link("../files/a.txt", "links/rel");
    link("./a/../b", "links/dots");
    if long_symlink {
        let long: Vec<String> = (0..4).map(|i| format!("{i}{}", "c".repeat(150))).collect();
        link(&long.join("/"), &format!("links/{}", "l".repeat(200)));
    }
    dir("d1/d2/d3/d4/d5/d6/d7/d8/d9/d10");
    file("d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/deep.txt", b"deep\n");
    dir("special");
    tool(
        "mkfifo",
        &[root.join("special/fifo").to_str().unwrap()],
        None,
    );
    file("boot.img", &[0u8; 2048]);
    // Device nodes need root; without it the PN entry is left out.
    std::process::Command::new("mknod")
        .args([root.join("special/null").to_str().unwrap(), "c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success())
}

/// An image of `tree` by `program` (xorriso, genisoimage) with `args` and the options both
/// share: Rock Ridge, Joliet, El Torito bootable; its bytes, and whether it holds a device
/// node.
fn image_by(program: &str, args: &[&str]) -> (Vec<u8>, bool) {
    let dir = scratch();
    let t = dir.path().join("tree");
    // genisoimage cuts a symlink component that does not fit an SL entry without marking
    // it continued (the component's length passes the entry): it gets short targets only.
    let device = tree(&t, program != "genisoimage");
    let image = dir.path().join("rr.iso");
    let (i, t) = (image.to_str().unwrap(), t.to_str().unwrap());
    let common = [
        "-quiet",
        "-R",
        "-J",
        "-joliet-long",
        "-V",
        LABEL,
        "-publisher",
        "ISOFISH TESTS",
        "-p",
        "iso_encode",
        "-A",
        "isofish",
        "-b",
        "boot.img",
        "-no-emul-boot",
        "-o",
        i,
        t,
    ];
    tool(program, &[args, &common].concat(), None);
    (std::fs::read(&image).unwrap(), device)
}

/// xorriso's image, deep directories relocated (which its mkisofs emulation leaves to
/// `-compliance deep_paths_off`).
fn rock_ridge_joliet_image() -> (Vec<u8>, bool) {
    image_by(
        "xorriso",
        &["-compliance", "deep_paths_off", "-as", "mkisofs"],
    )
}

fn bytes(img: &[u8], offset: u64, len: usize) -> &[u8] {
    let at = offset as usize;
    &img[at..at + len]
}

/// The descriptors from sector 16 to the terminator, each checked to encode to its sector.
fn descriptors(img: &[u8]) -> Vec<Descriptor> {
    let mut out = Vec::new();
    for index in 16.. {
        let offset = index * SECTOR;
        let raw = bytes(img, offset, BLOCK);
        let d = Descriptor::decode(raw, offset, "rr.iso")
            .unwrap()
            .unwrap_or_else(|| panic!("no descriptor in sector {index}"));
        assert_eq!(d.encode(), raw, "descriptor in sector {index}");
        let end = d.kind == Kind::Terminator;
        out.push(d);
        if end {
            return out;
        }
    }
    unreachable!()
}

fn volume(ds: &[Descriptor], kind: Kind) -> &Volume {
    ds.iter()
        .find(|d| d.kind == kind)
        .and_then(Descriptor::volume)
        .unwrap_or_else(|| panic!("no {kind:?} descriptor"))
}

#[test]
fn descriptors_encode_as_xorriso_wrote_them() {
    let (img, _) = rock_ridge_joliet_image();
    let ds = descriptors(&img);
    let kinds: Vec<Kind> = ds.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [Kind::Primary, Kind::Boot, Kind::Joliet(3), Kind::Terminator]
    );
    let primary = volume(&ds, Kind::Primary);
    assert_eq!(primary.volume_id.get(false), LABEL);
    assert_eq!(primary.publisher_id.get(false), "ISOFISH TESTS");
    assert_eq!(volume(&ds, Kind::Joliet(3)).volume_id.get(true), LABEL);
    let Body::Boot(boot) = &ds[1].body else {
        panic!("sector 17 is not a boot record")
    };
    assert_eq!(boot.boot_system_id.get(false), "EL TORITO SPECIFICATION");
    assert!(boot.el_torito_catalog().is_some());
}

/// The records of both path tables of `v`, checked to encode to the tables' bytes; the number
/// of directories.
fn path_tables(img: &[u8], v: &Volume) -> usize {
    let len = v.path_table_size as usize;
    let mut tables = Vec::new();
    for (order, block) in [
        (Order::Little, v.path_table_l),
        (Order::Big, v.path_table_m),
    ] {
        let offset = u64::from(block) * SECTOR;
        let table = bytes(img, offset, len);
        let recs: Vec<pathtable::Record> = pathtable::records(table, order, "rr.iso", offset)
            .collect::<Result<_, _>>()
            .unwrap();
        let again: Vec<u8> = recs.iter().flat_map(|r| r.encode(order).unwrap()).collect();
        assert_eq!(again, table, "{order:?} path table at block {block}");
        tables.push(recs);
    }
    assert_eq!(tables[0], tables[1], "the L and M tables list the same");
    tables[0].len()
}

/// Signatures of the SUSP entries seen, each checked to encode to its bytes.
#[derive(Default)]
struct Seen {
    signatures: BTreeSet<String>,
    directories: usize,
    records: usize,
}

impl Seen {
    /// Checks every entry of the system use area `area` at `offset`, and of the continuation
    /// areas it chains to.
    fn susp_area(&mut self, img: &[u8], area: &[u8], offset: u64) {
        let mut pos = 0;
        let mut next = None;
        while let Some(e) = Entry::decode("rr.iso", area, pos, offset).unwrap() {
            let raw = &area[pos..pos + susp::HEADER + e.data.len()];
            let again = encode_again(&e, raw);
            let sig = String::from_utf8_lossy(&e.signature).into_owned();
            assert_eq!(again, raw, "{sig} entry at {}", e.offset);
            if &e.signature == b"CE" {
                next = Some(Ce::decode("rr.iso", &e).unwrap());
            }
            self.signatures.insert(sig);
            if &e.signature == b"ST" {
                break;
            }
            pos += raw.len();
        }
        if let Some(ce) = next {
            let at = u64::from(ce.block) * SECTOR + u64::from(ce.offset);
            self.susp_area(img, bytes(img, at, ce.len as usize), at);
        }
    }

    /// Walks the tree whose root record is `root`: every directory record encodes to its bytes
    /// (and, with `rock_ridge`, every SUSP entry; without, every Joliet name).
    fn tree(&mut self, img: &[u8], root_record: &[u8; 34], rock_ridge: bool) {
        let root = Record::decode(root_record, 0, "rr.iso").unwrap();
        assert_eq!(root.encode().unwrap(), root_record, "root directory record");
        let mut todo = vec![(root.extent, root.size)];
        let mut done = HashSet::new();
        while let Some((extent, size)) = todo.pop() {
            if !done.insert(extent) {
                continue;
            }
            self.directories += 1;
            let offset = u64::from(extent) * SECTOR;
            let dir = bytes(img, offset, size as usize);

            for rec in record::records(dir, offset, "rr.iso") {
                let rec = rec.unwrap();
                let raw = bytes(img, rec.offset, usize::from(img[rec.offset as usize]));
                assert_eq!(
                    rec.encode().unwrap(),
                    raw,
                    "directory record at {}",
                    rec.offset
                );
                self.records += 1;
                if rock_ridge {
                    self.susp_area(img, rec.system_use, rec.system_use_offset);
                } else if !rec.is_self_or_parent() {
                    let name = joliet::decode(rec.name);
                    assert_eq!(joliet::encode(&name), rec.name, "Joliet name {name:?}");
                }
                if rec.is_dir() && !rec.is_self_or_parent() {
                    todo.push((rec.extent, rec.size));
                }
            }
        }
    }
}

/// The entry `e` (whose bytes are `raw`) decoded by its own type and encoded again.
fn encode_again(e: &Entry, raw: &[u8]) -> Vec<u8> {
    let image = "rr.iso";
    match &e.signature {
        b"SP" => Sp::find(raw).expect("an SP entry").encode(),
        b"CE" => Ce::decode(image, e).unwrap().encode(),
        b"ST" => susp::encode_st(),
        b"ER" => Er::decode(image, e).unwrap().encode().unwrap(),
        b"PX" => Px::decode(image, e).unwrap().encode(),
        b"PN" => Pn::decode(image, e).unwrap().encode(),
        b"SL" => Sl::decode(image, e).unwrap().encode().unwrap(),
        b"NM" => Nm::decode(image, e).unwrap().encode().unwrap(),
        b"TF" => Tf::decode(image, e).unwrap().encode().unwrap(),
        b"CL" | b"PL" => Link::decode(image, e).unwrap().encode(),
        b"RE" => rockridge::encode_re(),
        b"ZF" | b"Z2" => Zf::decode(image, e).unwrap().encode(),
        _ => e.encode().unwrap(),
    }
}

/// Every directory record, path table record and SUSP entry of both trees of `img` encodes to
/// its bytes, and the Rock Ridge tree has entries of every signature of `want` (and PN with a
/// `device`).
fn trees_encode_as_written(img: &[u8], device: bool, want: &[&str]) {
    let ds = descriptors(img);
    for (kind, rock_ridge) in [(Kind::Primary, true), (Kind::Joliet(3), false)] {
        let v = volume(&ds, kind);
        let mut seen = Seen::default();
        seen.tree(img, &v.root_record, rock_ridge);
        assert_eq!(path_tables(img, v), seen.directories, "{kind:?}");
        assert!(seen.records > 100, "{kind:?}: {} records", seen.records);
        if rock_ridge {
            let mut want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
            if device {
                want.insert("PN".into());
            }
            let missing: Vec<_> = want.difference(&seen.signatures).collect();
            assert!(
                missing.is_empty(),
                "no {missing:?} entries in {:?}",
                seen.signatures
            );
        }
    }
}

#[test]
fn directory_records_path_tables_and_rock_ridge_encode_as_xorriso_wrote_them() {
    let (img, device) = rock_ridge_joliet_image();
    let want = ["SP", "CE", "ER", "PX", "SL", "NM", "TF", "CL", "PL", "RE"];
    trees_encode_as_written(&img, device, &want);
}

#[test]
fn directory_records_path_tables_and_rock_ridge_encode_as_genisoimage_wrote_them() {
    let (img, device) = image_by("genisoimage", &[]);
    let ds = descriptors(&img);
    let kinds: Vec<Kind> = ds.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [Kind::Primary, Kind::Boot, Kind::Joliet(3), Kind::Terminator]
    );
    // genisoimage writes RRIP 1.09 with its RR entry, and relocates deep directories.
    let want = [
        "SP", "CE", "ER", "RR", "PX", "SL", "NM", "TF", "CL", "PL", "RE",
    ];
    trees_encode_as_written(&img, device, &want);
}

#[test]
fn zf_entries_encode_as_xorriso_wrote_them() {
    let dir = scratch();
    let t = dir.path().join("tree");
    std::fs::create_dir(&t).unwrap();
    let text: Vec<u8> = (0..200_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect();
    std::fs::write(t.join("big"), &text).unwrap();
    std::fs::write(t.join("small"), b"a few bytes, compressed or not").unwrap();
    for (settings, signature) in [("default", "ZF"), ("version_2=on:susp_z2=on", "Z2")] {
        let image = dir.path().join(format!("{signature}.iso"));
        xorriso_zisofs(&t, &image, settings);
        let img = std::fs::read(&image).unwrap();
        let ds = descriptors(&img);
        let mut seen = Seen::default();
        seen.tree(&img, &volume(&ds, Kind::Primary).root_record, true);
        assert!(
            seen.signatures.contains(signature),
            "{settings}: no {signature} entry in {:?}",
            seen.signatures
        );
    }
}
