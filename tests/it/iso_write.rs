//! The ISO 9660 writer ([`isofish::fs::iso9660::write::plan`]) with no change: every ISO
//! fixture rewritten reads back, in third-party tools, as the same tree as the original
//! (names in each name space, types, sizes, modes, owners, times, links, device nodes,
//! attributes, bytes), and in isofish too; deep trees, files over 4 GiB and names at the
//! limits are built at test time.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use isofish::fs::iso9660::volume::Kind;
use isofish::fs::iso9660::{write, IsoFs};
use isofish::fs::{FileSystem, MountOptions};
use isofish::overlay::Provenance;
use isofish::plan::Plan;
use isofish::source::{FileSource, Source};

use crate::commands_xattr::getfattr;
use crate::common::{fixture, scratch, tool, xorriso};
use crate::iso_aaip;
use crate::iso_oracle::{
    assert_same, bsdtar_tree, isoinfo_names, ours, project, xorriso_extract, Tree,
};

/// Opens an image as isofish shows it by default.
fn open(image: &Path) -> IsoFs {
    let src: Arc<dyn Source> = Arc::new(FileSource::open(image).unwrap());
    IsoFs::open(src, &MountOptions::default()).unwrap()
}

/// Writes a plan's spans, in order, into `out`.
fn write_plan(plan: &Plan, out: &Path) {
    let mut f = File::create(out).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    for s in plan.spans() {
        let mut at = 0;
        while at < s.len() {
            let want = buf.len().min((s.len() - at) as usize);
            let n = s.read_at(at, &mut buf[..want]).unwrap();
            assert!(n > 0, "a span ends early: {s:?}");
            f.write_all(&buf[..n]).unwrap();
            at += n as u64;
        }
    }
    assert_eq!(f.metadata().unwrap().len(), plan.len());
}

/// The image rewritten with no change, as `DIR/NAME`.
fn rewrite(image: &Path, dir: &Path) -> PathBuf {
    let fs = open(image);
    let plan = write::plan(&fs, &fs, &|_| Provenance::UNCHANGED, &Default::default()).unwrap();
    let out = dir.join(image.file_name().unwrap());
    write_plan(&plan, &out);
    out
}

/// The ISO fixtures the reader is tested on (the boot ones wait for boot replay): those of
/// `info`, and more.
fn fixtures() -> impl Iterator<Item = &'static str> {
    let more = ["rational-rr.iso", "joliet-long.iso", "nested.iso"];
    crate::iso_info::FIXTURES.iter().copied().chain(more)
}

/// Each fixture and its rewrite (kept in `dir`).
fn rewritten(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    fixtures()
        .map(|f| {
            let original = fixture(f);
            let new = rewrite(&original, dir);
            (original, new)
        })
        .collect()
}

/// `xorriso -find / -exec lsdl`: type, mode, links, owners, size, date, name, target; the
/// `rr_moved` that genisoimage stamps with the time it ran is left out.
fn lsdl(img: &Path) -> Vec<String> {
    let out = xorriso(&[
        "-indev",
        img.to_str().unwrap(),
        "-find",
        "/",
        "-exec",
        "lsdl",
    ]);
    String::from_utf8_lossy(&out)
        .lines()
        .filter(|l| !l.contains("rr_moved"))
        .map(String::from)
        .collect()
}

#[test]
fn rewrites_list_the_same_in_xorriso() {
    let dir = scratch();
    for (original, new) in rewritten(dir.path()) {
        assert_eq!(lsdl(&new), lsdl(&original), "{}", original.display());
    }
}

/// What xorriso extracts of `img`, but for the times it sets itself: those of symlinks (it
/// does not restore them) and of genisoimage's `rr_moved` (stamped with the time it ran; a
/// rewrite gives it its root's).
fn extracted(img: &Path) -> Tree {
    let mut t = xorriso_extract(img);
    t.remove("rr_moved");
    for item in t.values_mut() {
        if item.kind == Some('l') {
            item.mtime = None;
        }
    }
    t
}

#[test]
fn rewrites_extract_the_same_with_xorriso() {
    let dir = scratch();
    for (original, new) in rewritten(dir.path()) {
        let what = format!("xorriso -extract of {}", original.display());
        assert_same(&what, &extracted(&new), &extracted(&original));
    }
}

#[test]
fn rewrites_extract_the_same_with_bsdtar() {
    let dir = scratch();
    for (original, new) in rewritten(dir.path()) {
        let what = format!("bsdtar -x of {}", original.display());
        assert_same(&what, &bsdtar_tree(&new), &bsdtar_tree(&original));
    }
}

/// A path with each component cut to Joliet's 64 characters (genisoimage cuts longer names
/// at 103 characters where xorriso keeps the extension; isofish does as xorriso).
fn cut_components(path: &str) -> String {
    path.split('/')
        .map(|c| c.chars().take(64).collect::<String>())
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn rewrites_have_the_same_names_in_each_name_space() {
    let dir = scratch();
    for (original, new) in rewritten(dir.path()) {
        let joliet = has_joliet(&original);
        assert_eq!(has_joliet(&new), joliet, "{}", original.display());
        let spaces: &[&[&str]] = if joliet {
            &[&[], &["-J"], &["-R"]]
        } else {
            &[&[], &["-R"]]
        };
        for &space in spaces {
            let names = |img: &Path| -> Vec<String> {
                isoinfo_names(img, space)
                    .iter()
                    .map(|n| cut_components(n))
                    .collect()
            };
            assert_eq!(
                names(&new),
                names(&original),
                "isoinfo -f {space:?} of {}",
                original.display()
            );
        }
    }
}

/// `7z l`: size and name of each entry (7-Zip reads no Rock Ridge continuation area, so a
/// long name shows as much of it as its record holds: compared on 64 characters).
fn seven_zip(img: &Path) -> Vec<(String, String)> {
    let out = tool("7z", &["l", img.to_str().unwrap()], None);
    let text = String::from_utf8_lossy(&out);
    let mut rows: Vec<(String, String)> = text
        .lines()
        .skip_while(|l| !l.starts_with("------"))
        .skip(1)
        .take_while(|l| !l.starts_with("------"))
        .map(|l| {
            let size = l.get(26..38).unwrap_or("").trim().to_string();
            let name = l.get(53..).unwrap_or("").chars().take(64).collect();
            (size, name)
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn rewrites_list_the_same_in_7z() {
    let dir = scratch();
    for (original, new) in rewritten(dir.path()) {
        assert_eq!(
            seven_zip(&new),
            seven_zip(&original),
            "{}",
            original.display()
        );
    }
}

#[test]
fn rewrites_read_back_the_same_in_isofish() {
    let dir = scratch();
    for (original, new) in rewritten(dir.path()) {
        let what = format!("isofish's tree of {}", original.display());
        // Inode numbers are where the data is: only equal between hard links.
        let strip = |t: &Tree| project(t, |_, i| i.clone());
        assert_same(&what, &strip(&ours(&new, "")), &strip(&ours(&original, "")));
        for view in ["joliet", "plain", "iso1999"] {
            let what = format!("isofish's {view} tree of {}", original.display());
            let (a, b) = (open_tree(&original, view), open_tree(&new, view));
            if let (Some(a), Some(b)) = (a, b) {
                assert_same(&what, &b, &a);
            }
        }
    }
}

/// isofish's tree of `img` under mount option `view`, when the image has that view (Joliet
/// names cut as [`cut_components`] does).
fn open_tree(img: &Path, view: &str) -> Option<Tree> {
    if view == "joliet" && !has_joliet(img) {
        return None;
    }
    let mut tree = ours(img, view);
    tree.remove("RR_MOVED"); // genisoimage's is stamped with the time it ran
    Some(
        tree.into_iter()
            .map(|(k, v)| (cut_components(&k), v))
            .collect(),
    )
}

/// Whether the image has a Joliet descriptor.
fn has_joliet(img: &Path) -> bool {
    open(img)
        .descriptors()
        .iter()
        .any(|d| matches!(d.kind, Kind::Joliet(_)))
}

#[test]
fn rewrites_keep_the_descriptors() {
    let dir = scratch();
    for (original, new) in rewritten(dir.path()) {
        let d = |img: &Path| -> Vec<String> {
            let out = tool("isoinfo", &["-d", "-i", img.to_str().unwrap()], None);
            String::from_utf8_lossy(&out)
                .lines()
                .filter(|l| !l.starts_with("Volume size is"))
                .map(String::from)
                .collect()
        };
        assert_eq!(
            d(&new),
            d(&original),
            "isoinfo -d of {}",
            original.display()
        );
    }
}

/// Calls `check` with a scratch directory on tmpfs (attributes on the host), and each image
/// of the attribute tree of the AAIP tests (one per way xorriso records them), by name.
fn with_attribute_images(check: impl Fn(&Path, &str, &Path)) {
    let dir = crate::commands_xattr::tmpfs_scratch();
    let tree = dir.path().join("tree");
    iso_aaip::make_tree(&tree);
    for (name, writer) in iso_aaip::WRITERS {
        let image = dir.path().join(format!("{name}.iso"));
        iso_aaip::make_image(&tree, &image, writer);
        check(dir.path(), name, &image);
    }
}

/// The attributes `getfattr` reads from xorriso's extraction of `img` (into `dir/as_`), and
/// that there are some.
fn extracted_attrs(dir: &Path, img: &Path, as_: &str) -> crate::commands_xattr::Attrs {
    let attrs = getfattr(&iso_aaip::xorriso_extract(img, dir, as_));
    assert!(
        attrs.values().any(|a| !a.is_empty()),
        "{as_}: no attributes"
    );
    attrs
}

#[test]
fn rewrites_keep_attributes_and_acls() {
    with_attribute_images(|dir, name, image| {
        let out = dir.join("out");
        std::fs::create_dir_all(&out).unwrap();
        let new = rewrite(image, &out);
        assert_eq!(
            extracted_attrs(dir, &new, &format!("{name}-b")),
            extracted_attrs(dir, image, &format!("{name}-a")),
            "{name}: attributes after a rewrite"
        );
        std::fs::remove_file(&new).unwrap();
    });
}

/// A tree of `depth` nested directories `d1/d2/...` with a file at the bottom and one at
/// level 9, under `top`.
fn deep_tree(top: &Path, depth: usize) {
    let mut p = top.to_path_buf();
    for i in 1..=depth {
        p.push(format!("d{i}"));
        std::fs::create_dir_all(&p).unwrap();
        if i == 8 {
            std::fs::write(p.join("nine.txt"), b"level 9\n").unwrap();
        }
    }
    std::fs::write(p.join("deep.txt"), b"deep\n").unwrap();
}

/// Everything the tools say about a rewrite of `image` equals what they say about `image`.
fn assert_rewrite_same(image: &Path, dir: &Path) -> PathBuf {
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let new = rewrite(image, &out);
    let what = image.display().to_string();
    assert_eq!(lsdl(&new), lsdl(image), "lsdl of {what}");
    assert_same(&what, &extracted(&new), &extracted(image));
    assert_same(&what, &bsdtar_tree(&new), &bsdtar_tree(image));
    for space in [&[][..], &["-R"]] {
        assert_eq!(
            isoinfo_names(&new, space),
            isoinfo_names(image, space),
            "isoinfo -f {space:?} of {what}"
        );
    }
    if has_joliet(image) {
        assert_eq!(isoinfo_names(&new, &["-J"]), isoinfo_names(image, &["-J"]));
    }
    assert_same(&what, &ours(&new, ""), &ours(image, ""));
    new
}

/// The Rock Ridge entries of the record of `path` (by its visible name) in `img`.
fn entries_of(img: &Path, path: &[&[u8]]) -> Vec<Vec<u8>> {
    let fs = open(img);
    let mut ino = fs.root();
    for name in path {
        ino = fs
            .lookup(ino, name)
            .unwrap()
            .expect("the path is there")
            .ino;
    }
    fs.original_record(ino).unwrap().entries
}

#[test]
fn deep_trees_are_relocated_as_the_original_was() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    deep_tree(&tree, 12);
    let t = tree.to_str().unwrap();
    // genisoimage relocates past 8 levels (CL, RE, PL into rr_moved); so does the rewrite.
    let gen = dir.path().join("genisoimage.iso");
    tool(
        "genisoimage",
        &["-quiet", "-R", "-J", "-o", gen.to_str().unwrap(), t],
        None,
    );
    let new = assert_rewrite_same(&gen, dir.path());
    let path: Vec<Vec<u8>> = (1..=8).map(|i| format!("d{i}").into_bytes()).collect();
    let path: Vec<&[u8]> = path.iter().map(Vec::as_slice).collect();
    let stub = entries_of(&new, &path);
    assert!(
        stub.iter().any(|e| e.starts_with(b"CL")),
        "d8 stands in d7 as a CL record"
    );
    assert!(isoinfo_names(&new, &[])
        .iter()
        .any(|n| n.starts_with("RR_MOVED/")));
    // xorriso writes deep trees as they are (ECMA-119 relaxed); so does the rewrite.
    let xor = dir.path().join("xorriso.iso");
    crate::common::xorriso_rr(&tree, &xor);
    let new = assert_rewrite_same(&xor, dir.path());
    assert!(!isoinfo_names(&new, &[])
        .iter()
        .any(|n| n.contains("RR_MOVED")));
}

#[test]
fn names_at_the_limits_are_kept() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    let rr_max = "r".repeat(251) + ".txt";
    let joliet_64 = "j".repeat(60) + ".txt";
    let joliet_103 = "k".repeat(99) + ".dat";
    for (i, name) in [&rr_max, &joliet_64, &joliet_103].into_iter().enumerate() {
        std::fs::write(tree.join(name), format!("{i}\n")).unwrap();
    }
    let link = tree.join("l".repeat(255));
    std::os::unix::fs::symlink("segment/".repeat(60) + "end", &link).unwrap();
    let t = tree.to_str().unwrap();
    for (name, long) in [("joliet.iso", false), ("joliet-long.iso", true)] {
        let img = dir.path().join(name);
        let mut args = vec!["-as", "mkisofs", "-quiet", "-R", "-J"];
        if long {
            args.push("-joliet-long");
        }
        args.extend(["-o", img.to_str().unwrap(), t]);
        tool("xorriso", &args, None);
        let new = assert_rewrite_same(&img, dir.path());
        let names = isoinfo_names(&new, &["-R"]);
        assert!(names.contains(&rr_max), "{names:?}");
        let fs = open(&img);
        let fit = write::check_name(&fs, joliet_103.as_bytes(), false).unwrap();
        let expect = if long {
            joliet_103.clone()
        } else {
            "k".repeat(60) + ".dat"
        };
        assert_eq!(fit.joliet, Some((expect, !long)));
        assert_eq!(fit.rock_ridge.as_ref(), Some(&joliet_103));
        assert!(write::check_name(&fs, "n".repeat(256).as_bytes(), false).is_err());
    }
}

/// The PX entry of the root's `.` record of `img`, as its length says: 44 bytes with a serial
/// number, 36 without.
fn root_px_len(img: &Path) -> u8 {
    let fs = open(img);
    let root = fs.original_record(fs.root()).unwrap();
    let px = root.entries.iter().find(|e| e.starts_with(b"PX")).unwrap();
    px[2]
}

#[test]
fn rock_ridge_keeps_its_version() {
    let dir = scratch();
    for (f, len) in [("sample.iso", 44), ("rr112.iso", 44), ("level3-rr.iso", 36)] {
        assert_eq!(root_px_len(&fixture(f)), len, "{f}");
        let new = rewrite(&fixture(f), dir.path());
        assert_eq!(root_px_len(&new), len, "{f} rewritten");
        let er = |img: &Path| {
            let fs = open(img);
            let root = fs.original_record(fs.root()).unwrap();
            root.entries_of(b"ER").cloned().collect::<Vec<_>>()
        };
        assert_eq!(er(&new), er(&fixture(f)), "{f}: ER entries");
    }
}

#[test]
fn zisofs_files_stay_compressed() {
    let dir = scratch();
    let original = fixture("zisofs.iso");
    let new = rewrite(&original, dir.path());
    let stored = |img: &Path| -> Vec<(String, Option<u64>)> {
        let fs = open(img);
        let mut out = Vec::new();
        let mut dirs = vec![(fs.root(), String::new())];
        while let Some((d, path)) = dirs.pop() {
            for e in fs.read_dir(d).unwrap() {
                let p = format!("{path}/{}", String::from_utf8_lossy(&e.name));
                if e.meta.is_dir() {
                    dirs.push((e.ino, p));
                    continue;
                }
                let r = fs.original_record(e.ino).unwrap();
                let zf = r.entries.iter().any(|e| e.starts_with(b"ZF"));
                assert_eq!(zf, r.zisofs_stored.is_some(), "{p}");
                let len = r.zisofs_stored.map(|s| s.iter().map(|s| s.len()).sum());
                out.push((p, len));
            }
        }
        out.sort();
        out
    };
    let kept = stored(&new);
    assert_eq!(kept, stored(&original));
    assert!(kept.iter().filter(|(_, len)| len.is_some()).count() >= 2);
    // The new image is smaller than the data decompressed.
    assert!(std::fs::metadata(&new).unwrap().len() < 100_000);
}

/// `tree`'s files written as new ones (nothing of them in `original`) in `original`'s style.
fn write_as_new(original: &Path, tree: &Path, dir: &Path) -> PathBuf {
    let base = open(original);
    let other = open(tree);
    let plan = write::plan(&base, &other, &|_| Provenance::New, &Default::default()).unwrap();
    let out = dir.join(format!(
        "{}-as-{}",
        tree.file_name().unwrap().to_string_lossy(),
        original.file_name().unwrap().to_string_lossy()
    ));
    write_plan(&plan, &out);
    out
}

#[test]
fn new_files_are_written_whole() {
    let dir = scratch();
    // Devices, fifos, symlinks, hard links, deep dirs, a 211-byte name (level3-rr); data the
    // tree decompresses (zisofs); into images with and without Rock Ridge and Joliet.
    for tree in ["level3-rr.iso", "zisofs.iso", "rr112.iso"] {
        for style in ["sample.iso", "rr112.iso", "level3-rr.iso"] {
            let new = write_as_new(&fixture(style), &fixture(tree), dir.path());
            let what = format!("{tree} written as new into {style}");
            assert_same(&what, &extracted(&new), &extracted(&fixture(tree)));
            // isofish reads it back the same, but for the inode numbers.
            assert_same(&what, &ours(&new, ""), &ours(&fixture(tree), ""));
            let label = open(&fixture(tree)).label();
            assert_eq!(open(&new).label(), label, "{what}: volume id from the tree");
        }
    }
    // Without Rock Ridge: the names the ISO 9660 tree can hold.
    let new = write_as_new(&fixture("level1.iso"), &fixture("sample.iso"), dir.path());
    let names = isoinfo_names(&new, &[]);
    assert!(
        names.contains(&"DOCS/GUIDE/INTRO.TXT;1".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"DOCS/INTRO_HA.TXT;1".to_string()),
        "8.3: {names:?}"
    );
}

#[test]
fn hidden_flags_are_kept() {
    let dir = scratch();
    let new = rewrite(&fixture("level1.iso"), dir.path());
    let flags = |img: &Path, name: &[u8]| {
        let fs = open(img);
        let e = fs.lookup(fs.root(), name).unwrap().expect("listed");
        fs.original_record(e.ino).unwrap().flags
    };
    assert_eq!(flags(&new, b"HIDDEN.TXT") & 1, 1);
    assert_eq!(flags(&new, b"FILE1.TXT") & 1, 0);
    // isoinfo shows the flags byte after the extent.
    let listing = tool("isoinfo", &["-l", "-i", new.to_str().unwrap()], None);
    let line = String::from_utf8_lossy(&listing)
        .lines()
        .find(|l| l.contains("HIDDEN.TXT"))
        .unwrap()
        .to_string();
    assert!(line.contains(" 01]"), "{line}");
}

/// pycdlib (strict about ECMA-119: path tables, record sizes, descriptors) opens the image and
/// lists every path of each name space; or says why it refuses it.
const PYCDLIB_WALK: &str = r#"
import sys, pycdlib
p = pycdlib.PyCdlib()
try:
    p.open(sys.argv[1])
except pycdlib.pycdlibexception.PyCdlibException as e:
    print("refused:", e)
    sys.exit(0)
spaces = ["iso_path"]
if p.has_joliet():
    spaces.append("joliet_path")
if p.has_rock_ridge():
    spaces.append("rr_path")
for kind in spaces:
    for root, dirs, files in p.walk(**{kind: "/"}):
        for name in sorted(dirs + files):
            print(kind, root.rstrip("/") + "/" + name)
"#;

#[test]
fn rewrites_open_the_same_in_pycdlib() {
    let dir = scratch();
    for (original, new) in rewritten(dir.path()) {
        let walk = |img: &Path| {
            let out = tool(
                "python3",
                &["-c", PYCDLIB_WALK, img.to_str().unwrap()],
                None,
            );
            String::from_utf8_lossy(&out)
                .lines()
                .map(cut_components)
                .collect::<Vec<_>>()
        };
        let theirs = walk(&original);
        assert_eq!(walk(&new), theirs, "pycdlib on {}", original.display());
        // (It refuses xorriso's images with two ER entries or zisofs: so it does the originals.)
        if !theirs[0].starts_with("refused") {
            assert!(theirs.len() > 3, "{theirs:?}");
        }
    }
}

#[test]
fn a_directory_larger_than_the_listing_cache_is_rewritten() {
    // 20000 files in one directory (over the reader's 16384-entry listing cache) and 2000
    // more in 20 directories, a few with data.
    let dir = scratch();
    let tree = dir.path().join("tree");
    let flat = tree.join("flat");
    std::fs::create_dir_all(&flat).unwrap();
    for i in 0..20_000 {
        std::fs::write(flat.join(format!("f{i:05}")), b"").unwrap();
    }
    for d in 0..20 {
        let sub = tree.join(format!("d{d}"));
        std::fs::create_dir(&sub).unwrap();
        for i in 0..100 {
            std::fs::write(sub.join(format!("file-{i}.txt")), format!("{d}/{i}\n")).unwrap();
        }
    }
    let img = dir.path().join("many.iso");
    let (i, t) = (img.to_str().unwrap(), tree.to_str().unwrap());
    tool(
        "xorriso",
        &["-as", "mkisofs", "-quiet", "-R", "-J", "-o", i, t],
        None,
    );
    std::fs::remove_dir_all(&tree).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let new = rewrite(&img, &out);
    assert_eq!(lsdl(&new), lsdl(&img));
    assert_same("isofish", &ours(&new, ""), &ours(&img, ""));
    assert_eq!(isoinfo_names(&new, &["-J"]), isoinfo_names(&img, &["-J"]));
}

#[test]
fn attributes_of_new_files_are_encoded() {
    with_attribute_images(|dir, name, image| {
        // Into an image whose original has no AAIP (genisoimage's): its ER is added.
        for style in ["level3-rr.iso", "rr112.iso"] {
            let new = write_as_new(&fixture(style), image, dir);
            let fs = open(&new);
            let root = fs.original_record(fs.root()).unwrap();
            let aaip = root
                .entries_of(b"ER")
                .filter(|e| e.windows(9).any(|w| w == b"AAIP_0200"));
            assert_eq!(aaip.count(), 1, "{name} into {style}: one AAIP ER");
            assert_eq!(
                extracted_attrs(dir, &new, &format!("{name}-{style}-b")),
                extracted_attrs(dir, image, &format!("{name}-{style}-a")),
                "{name} written as new into {style}"
            );
            std::fs::remove_file(&new).unwrap();
        }
    });
}

#[test]
fn name_checks_follow_the_original() {
    let cases = [
        // (image, name, ISO 9660 identifier, Rock Ridge, Joliet, kept as given)
        (
            "level1.iso",
            "a-long-name.html",
            "A_LONG_N.HTM;1",
            false,
            false,
            false,
        ),
        (
            "level3-rr.iso",
            "a-long-name.html",
            "A_LONG_NAME.HTML;1",
            true,
            true,
            true,
        ),
        (
            "level2-joliet.iso",
            "a-long-name.html",
            "A_LONG_NAME.HTML;1",
            false,
            true,
            true,
        ),
        (
            "level2-joliet.iso",
            "what?.txt",
            "WHAT_.TXT;1",
            false,
            true,
            false,
        ),
    ];
    for (img, name, iso, rr, joliet, kept) in cases {
        let fs = open(&fixture(img));
        let fit = write::check_name(&fs, name.as_bytes(), false).unwrap();
        assert_eq!(fit.iso, iso, "{img} {name}");
        assert_eq!(fit.rock_ridge.is_some(), rr, "{img} {name}");
        assert_eq!(fit.joliet.is_some(), joliet, "{img} {name}");
        assert_eq!(fit.kept(name.as_bytes()), kept, "{img} {name}");
    }
    let fs = open(&fixture("level1.iso"));
    for bad in [&b""[..], b".", b"..", b"a/b", b"a\0b"] {
        assert!(write::check_name(&fs, bad, false).is_err(), "{bad:?}");
    }
}
