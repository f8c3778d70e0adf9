//! The UDF encoders against the bytes real tools write: every descriptor of volumes made by
//! genisoimage, mkudffs (with udfclient filling them), and pycdlib is decoded, encoded back,
//! and compared with the image's bytes; the encoding decodes to the same value.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use isofish::fs::udf::ad::{ExtentType, LbAddr};
use isofish::fs::udf::anchor::{self, AnchorDescriptor, ExtentAd};
use isofish::fs::udf::fid::Fid;
use isofish::fs::udf::file_entry::{Data, FileEntry};
use isofish::fs::udf::file_set::FileSet;
use isofish::fs::udf::icb;
use isofish::fs::udf::implementation_use::ImplementationUse;
use isofish::fs::udf::integrity::IntegrityDescriptor;
use isofish::fs::udf::logical_volume::LogicalVolume;
use isofish::fs::udf::partition::Volume;
use isofish::fs::udf::partition_descriptor::PartitionDescriptor;
use isofish::fs::udf::primary::PrimaryVolume;
use isofish::fs::udf::tag::{id, Tag};
use isofish::fs::udf::terminating::Terminating;
use isofish::fs::udf::unallocated::UnallocatedSpace;
use isofish::fs::udf::volume;
use isofish::source::{FileSource, Source};

use crate::common;
use crate::udf_helpers::big;

/// What one image held, by kind of structure.
#[derive(Default, Debug)]
struct Count {
    descriptors: usize,
    entries: usize,
    fids: usize,
}

/// Asserts that `encoded` is what the image holds at the start of `recorded`, and that it
/// decodes to `value` again.
fn same<T: PartialEq + std::fmt::Debug>(
    what: &str,
    recorded: &[u8],
    encoded: &[u8],
    again: T,
    value: &T,
) {
    assert!(
        recorded.len() >= encoded.len(),
        "{what}: {} bytes encoded, {} recorded",
        encoded.len(),
        recorded.len()
    );
    assert_eq!(
        &recorded[..encoded.len()],
        encoded,
        "{what}: the encoding differs from the recorded bytes"
    );
    assert_eq!(&again, value, "{what}: the encoding decodes differently");
}

/// `encoded` in a block of `bs` bytes: a descriptor's CRC may cover the zeros after it.
fn in_block(encoded: &[u8], bs: u32) -> Vec<u8> {
    let mut b = encoded.to_vec();
    b.resize(b.len().max(bs as usize), 0);
    b
}

/// Re-encodes the descriptors of one volume descriptor sequence.
fn sequence(src: &dyn Source, bs: u32, extent: ExtentAd, count: &mut Count) {
    let image = src.name();
    for block in extent.block..extent.block + extent.len / bs {
        let offset = u64::from(block) * u64::from(bs);
        let buf = src.read_vec(offset, bs as usize, "test").unwrap();
        let tag = Tag::parse(&buf, image, "test", offset).unwrap();
        let what = format!("{image}: descriptor {} at block {block}", tag.ident);
        match tag.ident {
            id::PRIMARY_VOLUME => {
                let d = PrimaryVolume::decode(&buf, image, offset).unwrap();
                let e = d.encode();
                same(
                    &what,
                    &buf,
                    &e,
                    PrimaryVolume::decode(&in_block(&e, bs), image, 0).unwrap(),
                    &d,
                );
            }
            id::IMPLEMENTATION_USE => {
                let d = ImplementationUse::decode(&buf, image, offset).unwrap();
                let e = d.encode();
                same(
                    &what,
                    &buf,
                    &e,
                    ImplementationUse::decode(&in_block(&e, bs), image, 0).unwrap(),
                    &d,
                );
            }
            id::PARTITION => {
                let d = PartitionDescriptor::decode(&buf, image, offset).unwrap();
                let e = d.encode();
                same(
                    &what,
                    &buf,
                    &e,
                    PartitionDescriptor::decode(&in_block(&e, bs), image, 0).unwrap(),
                    &d,
                );
            }
            id::LOGICAL_VOLUME => {
                let d = LogicalVolume::decode(&buf, image, offset).unwrap();
                let e = d.encode();
                same(
                    &what,
                    &buf,
                    &e,
                    LogicalVolume::decode(&in_block(&e, bs), image, 0).unwrap(),
                    &d,
                );
            }
            id::UNALLOCATED_SPACE => {
                let d = UnallocatedSpace::decode(&buf, image, offset).unwrap();
                let e = d.encode();
                same(
                    &what,
                    &buf,
                    &e,
                    UnallocatedSpace::decode(&in_block(&e, bs), image, 0).unwrap(),
                    &d,
                );
            }
            id::TERMINATING => {
                let d = Terminating::decode(&buf, image, offset).unwrap();
                let e = d.encode();
                same(
                    &what,
                    &buf,
                    &e,
                    Terminating::decode(&in_block(&e, bs), image, 0).unwrap(),
                    &d,
                );
                count.descriptors += 1;
                return;
            }
            other => panic!("{what}: descriptor {other} in the sequence"),
        }
        count.descriptors += 1;
    }
}

/// The block holding byte `pos` of a directory whose data lies in `extents` (data offset,
/// first block), or in the entry at `entry` when embedded.
fn block_of(extents: &[(u64, LbAddr)], entry: LbAddr, bs: u64, pos: usize) -> u32 {
    let pos = pos as u64;
    match extents.iter().rev().find(|(start, _)| *start <= pos) {
        Some((start, loc)) => loc.block + ((pos - start) / bs) as u32,
        None => entry.block,
    }
}

/// Re-encodes the file entry at `loc`, and below a directory its FIDs and their entries.
fn tree(vol: &Volume, loc: LbAddr, seen: &mut HashSet<LbAddr>, count: &mut Count) {
    if !seen.insert(loc) {
        return;
    }
    let image = vol.image().to_string();
    let (buf, offset) = vol.read_block(loc, "test").unwrap();
    let what = format!("{image}: file entry at {loc:?}");
    let fe = FileEntry::decode(&buf, loc.block, loc.part, &image, offset).unwrap();
    let e = fe.encode();
    let again = FileEntry::decode(
        &in_block(&e, vol.block_size),
        loc.block,
        loc.part,
        &image,
        0,
    )
    .unwrap();
    same(&what, &buf, &e, again, &fe);
    count.entries += 1;
    if fe.kind() != isofish::fs::FileKind::Dir {
        return;
    }
    let data = vol.file_data(&fe, 64 << 20, "test").unwrap();
    let mut extents = Vec::new();
    if let Some(ads) = icb::allocation(vol, &fe).unwrap() {
        let mut pos = 0;
        for ad in ads.iter().filter(|a| a.kind == ExtentType::Recorded) {
            extents.push((pos, ad.loc));
            pos += u64::from(ad.len);
        }
    }
    let bs = u64::from(vol.block_size);
    let mut pos = 0;
    let mut children = Vec::new();
    while pos < data.len() && data[pos..].iter().any(|&b| b != 0) {
        let location = block_of(&extents, loc, bs, pos);
        let fid = Fid::decode(&data[pos..], location, &image, 0).unwrap();
        let e = fid.encode();
        let again = Fid::decode(&e, location, &image, 0).unwrap();
        same(
            &format!("{what}: FID at +{pos}"),
            &data[pos..],
            &e,
            again,
            &fid,
        );
        count.fids += 1;
        if fid.characteristics & (4 | 8) == 0 {
            children.push(fid.icb.loc);
        }
        pos += fid.recorded_len();
    }
    for child in children {
        tree(vol, child, seen, count);
    }
}

/// Re-encodes every structure of the UDF volume in `path`.
fn image(path: &Path) -> Count {
    let src: Arc<dyn Source> = Arc::new(FileSource::open(path).unwrap());
    let image = src.name().to_string();
    let found = anchor::find(src.as_ref()).unwrap();
    let bs = found.block_size;
    let mut count = Count::default();

    let offset = 256 * u64::from(bs);
    let buf = src.read_vec(offset, 512, "test").unwrap();
    let d = AnchorDescriptor::decode(&buf, 256, &image, offset).unwrap();
    let e = d.encode();
    same(
        "anchor",
        &buf,
        &e,
        AnchorDescriptor::decode(&in_block(&e, bs), 256, &image, 0).unwrap(),
        &d,
    );

    sequence(src.as_ref(), bs, found.main, &mut count);
    sequence(src.as_ref(), bs, found.reserve, &mut count);

    let desc = volume::read_sequence(src.as_ref(), bs, found.main).unwrap();
    let lvid = desc.logical.integrity;
    let offset = u64::from(lvid.block) * u64::from(bs);
    let buf = src.read_vec(offset, bs as usize, "test").unwrap();
    let d = IntegrityDescriptor::decode(&buf, lvid.block, &image, offset).unwrap();
    let e = d.encode();
    let again = IntegrityDescriptor::decode(&in_block(&e, bs), lvid.block, &image, 0).unwrap();
    same("integrity descriptor", &buf, &e, again, &d);
    count.descriptors += 1;

    let vol = Volume::new(src.clone(), bs, &desc).unwrap();
    let fsd = desc.logical.file_set.loc;
    let (buf, offset) = vol.read_block(fsd, "test").unwrap();
    let d = FileSet::decode(&buf, fsd.block, &image, offset).unwrap();
    let e = d.encode();
    same(
        "file set",
        &buf,
        &e,
        FileSet::decode(&in_block(&e, bs), fsd.block, &image, 0).unwrap(),
        &d,
    );
    count.descriptors += 1;

    tree(&vol, d.root.loc, &mut HashSet::new(), &mut count);
    count
}

/// A tree with files of a few sizes (embedded, one block, several), nested directories and
/// names in 8- and 16-bit CS0.
fn host_tree(dir: &Path) {
    std::fs::create_dir_all(dir.join("docs/deep")).unwrap();
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    std::fs::write(dir.join("hello.txt"), "hello, udf\n").unwrap();
    std::fs::write(dir.join("docs/café.txt"), "latin\n").unwrap();
    std::fs::write(dir.join("docs/€uro.txt"), "euro\n").unwrap();
    std::fs::write(dir.join("docs/deep/big.bin"), vec![7u8; 100_000]).unwrap();
    for i in 0..80 {
        std::fs::write(dir.join(format!("docs/file-{i:03}.txt")), format!("{i}\n")).unwrap();
    }
}

#[test]
fn genisoimage_udf_descriptors_entries_and_fids_encode_as_recorded() {
    let dir = common::scratch();
    let tree_dir = dir.path().join("tree");
    host_tree(&tree_dir);
    let iso = dir.path().join("udf.iso");
    common::tool(
        "genisoimage",
        &[
            "-quiet",
            "-udf",
            "-R",
            "-o",
            iso.to_str().unwrap(),
            tree_dir.to_str().unwrap(),
        ],
        None,
    );
    let count = image(&iso);
    assert!(count.entries >= 87 && count.fids >= 90, "{count:?}");
}

#[test]
fn mkudffs_volumes_encode_as_recorded() {
    let dir = common::scratch();
    for (rev, media, extra) in [
        ("1.02", "hd", &[][..]),
        ("2.01", "hd", &["--ad=long"][..]),
        ("2.01", "hd", &["--noefe", "--strategy=4096"][..]),
        ("2.50", "bdr", &[][..]),
        ("2.60", "dvdr", &[][..]),
    ] {
        let img = dir.path().join(format!("{rev}-{media}.img"));
        let mut args = vec![
            "--new-file",
            "-m",
            media,
            "-b",
            "2048",
            "-r",
            rev,
            "--label=ENCODE",
        ];
        args.extend(extra);
        args.extend([img.to_str().unwrap(), "6000"]);
        common::tool("mkudffs", &args, None);
        let count = image(&img);
        assert!(
            count.descriptors >= 8 && count.entries >= 1,
            "{rev} {media}: {count:?}"
        );
    }
}

#[test]
fn populated_and_fixture_volumes_encode_as_recorded() {
    for name in [
        "mkudffs-102.img",
        "mkudffs-150.img",
        "mkudffs-201.img",
        "mkudffs-201-s4096.img",
        "mkudffs-201-noefe.img",
        "mkudffs-150-cdrw.img",
        "mkudffs-201-b512.img",
        "mkudffs-201-b4096.img",
    ] {
        let count = image(&big(name));
        assert!(count.entries >= 1, "{name}: {count:?}");
    }
    for name in [
        "udf-102-bridge.iso",
        "udf-260-pycdlib.iso",
        "udf-windows-like.iso",
    ] {
        let count = image(&common::fixture(name));
        assert!(count.entries > 10 && count.fids > 10, "{name}: {count:?}");
    }
}

#[test]
fn embedded_data_survives_the_round_trip() {
    // mkudffs embeds a small root directory in its entry (ICB flags type 3).
    let dir = common::scratch();
    let img = dir.path().join("embedded.img");
    common::tool(
        "mkudffs",
        &[
            "--new-file",
            "-m",
            "hd",
            "-b",
            "2048",
            "-r",
            "2.01",
            img.to_str().unwrap(),
            "3000",
        ],
        None,
    );
    let src: Arc<dyn Source> = Arc::new(FileSource::open(&img).unwrap());
    let found = anchor::find(src.as_ref()).unwrap();
    let desc = volume::read_sequence(src.as_ref(), found.block_size, found.main).unwrap();
    let vol = Volume::new(src.clone(), found.block_size, &desc).unwrap();
    let (buf, _) = vol.read_block(desc.logical.file_set.loc, "test").unwrap();
    let fsd = FileSet::decode(&buf, desc.logical.file_set.loc.block, "x", 0).unwrap();
    let fe = icb::read_entry(&vol, fsd.root.loc).unwrap();
    let Data::Embedded { bytes, .. } = &fe.data else {
        panic!("the root directory's data is not embedded: {:?}", fe.data);
    };
    assert!(!bytes.is_empty());
    let again =
        FileEntry::decode(&in_block(&fe.encode(), 2048), fsd.root.loc.block, 0, "x", 0).unwrap();
    assert_eq!(again, fe);
}
