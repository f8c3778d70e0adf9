//! Layouts other mastering tools write (or a one-field change to a tool-made image makes), read
//! as the other readers read them: a primary volume descriptor whose root record says 68
//! bytes, Rock Ridge SL entries with root components inside the path (mkisofs, genisoimage
//! and xorriso write `.///file` so), a recording date that cannot be (read as unset, and said
//! so), and a ZF entry that cannot announce zisofs (the file read as stored, and said so).
//! Each image is made by xorriso or genisoimage in the test; what a user sees (`ll`, `stat`,
//! `readlink`, `cat`, `copy-out`, `tar-out`, exit status, warnings) is held against xorriso's
//! reader where it agrees.

use std::path::{Path, PathBuf};

use isofish::fs::iso9660::rockridge::Sl;
use isofish::fs::iso9660::susp::Entry;

use crate::common::{isofish, scratch, tool, xorriso_rr};
use crate::iso_zisofs2::xorriso_zisofs;

const SECTOR: usize = 2048;
/// The primary volume descriptor's root directory record (ECMA-119 §8.4.18).
const PVD_ROOT: usize = 16 * SECTOR + 156;

fn le32(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// A tool-made image and its bytes, in a scratch directory.
struct Image {
    work: tempfile::TempDir,
    bytes: Vec<u8>,
}

impl Image {
    /// The image `make` writes from the tree `fill` builds.
    fn new(fill: impl Fn(&Path), make: impl Fn(&Path, &Path)) -> Image {
        let work = scratch();
        let tree = work.path().join("tree");
        std::fs::create_dir(&tree).unwrap();
        fill(&tree);
        let image = work.path().join("good.iso");
        make(&tree, &image);
        let bytes = std::fs::read(&image).unwrap();
        Image { work, bytes }
    }

    fn tree(&self) -> PathBuf {
        self.work.path().join("tree")
    }

    /// Writes the image changed by `change` as `NAME.iso`.
    fn changed(&self, name: &str, change: impl Fn(&mut Vec<u8>)) -> PathBuf {
        let mut b = self.bytes.clone();
        change(&mut b);
        let path = self.work.path().join(format!("{name}.iso"));
        std::fs::write(&path, b).unwrap();
        path
    }

    /// The records of the root directory: (offset, length, recorded name).
    fn root_records(&self) -> Vec<(usize, usize, Vec<u8>)> {
        let b = &self.bytes;
        let (start, len) = (le32(b, PVD_ROOT + 2) * SECTOR, le32(b, PVD_ROOT + 10));
        let mut out = Vec::new();
        let mut pos = start;
        while pos < start + len {
            let rec_len = usize::from(b[pos]);
            if rec_len == 0 {
                pos = (pos / SECTOR + 1) * SECTOR;
                continue;
            }
            let name_len = usize::from(b[pos + 32]);
            out.push((pos, rec_len, b[pos + 33..pos + 33 + name_len].to_vec()));
            pos += rec_len;
        }
        out
    }

    /// The root directory record whose recorded name starts with `prefix` (`FILE.;1`).
    fn record(&self, prefix: &str) -> usize {
        let hits: Vec<usize> = self
            .root_records()
            .into_iter()
            .filter(|(_, _, name)| name.starts_with(prefix.as_bytes()))
            .map(|(at, _, _)| at)
            .collect();
        assert_eq!(hits.len(), 1, "one record {prefix}");
        hits[0]
    }

    /// The record holding the image offset `at` in its system use area.
    fn record_around(&self, at: usize) -> usize {
        let (rec, _, _) = self
            .root_records()
            .into_iter()
            .find(|(rec, len, _)| (*rec..rec + len).contains(&at))
            .expect("a root record around it");
        rec
    }

    /// The offset of the SUSP entry `sig` in the system use area of the record at `rec`.
    fn entry(&self, rec: usize, sig: &[u8; 2]) -> usize {
        let (len, name_len) = (
            usize::from(self.bytes[rec]),
            usize::from(self.bytes[rec + 32]),
        );
        let start = rec + ((33 + name_len + 1) & !1);
        let area = &self.bytes[start..rec + len];
        let mut pos = 0;
        while let Some(e) = Entry::decode("t", area, pos, start as u64).unwrap() {
            if &e.signature == sig {
                return start + pos;
            }
            pos += 4 + e.data.len();
        }
        panic!("no {} entry", String::from_utf8_lossy(sig))
    }

    /// Every offset where `what` occurs.
    fn find_all(&self, what: &[u8]) -> Vec<usize> {
        let hits = self.bytes.windows(what.len()).enumerate();
        hits.filter(|(_, w)| *w == what).map(|(at, _)| at).collect()
    }
}

/// `isofish --ro -a IMAGE ARGS` (TZ=UTC): exit status, stdout, stderr.
fn run(image: &Path, args: &[&str]) -> (Option<i32>, Vec<u8>, String) {
    let out = isofish()
        .env("TZ", "UTC")
        .arg("--ro")
        .arg("-a")
        .arg(image)
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), out.stdout, err)
}

/// [`run`] that must exit 0 without a word on stderr; stdout as text.
fn quiet(image: &Path, args: &[&str]) -> String {
    let (code, out, err) = run(image, args);
    assert_eq!((code, err.as_str()), (Some(0), ""), "{args:?}");
    String::from_utf8(out).unwrap()
}

/// `xorriso -indev IMAGE -lsl PATH`: one line per file, as `ls -l` shows them.
fn xorriso_lsl(image: &Path, path: &str) -> String {
    let out = tool(
        "xorriso",
        &["-no_rc", "-indev", image.to_str().unwrap(), "-lsl", path],
        None,
    );
    String::from_utf8(out).unwrap()
}

#[test]
fn a_root_record_longer_than_its_field_reads() {
    let img = Image::new(
        |t| {
            std::fs::create_dir_all(t.join("d/inner")).unwrap();
            std::fs::write(t.join("file"), b"hello\n").unwrap();
            std::fs::write(t.join("d/inner/deep"), b"deep\n").unwrap();
            std::os::unix::fs::symlink("d/inner/deep", t.join("link")).unwrap();
        },
        xorriso_rr,
    );
    assert_eq!(img.bytes[PVD_ROOT], 34, "xorriso's root record");
    let good = img.work.path().join("good.iso");
    let long = img.changed("root-68", |b| b[PVD_ROOT] = 68);
    // The whole tree reads, as from the unchanged image.
    let tree = quiet(&good, &["find", "/"]);
    assert_eq!(quiet(&long, &["find", "/"]), tree);
    assert_eq!(quiet(&long, &["ll", "/"]), quiet(&good, &["ll", "/"]));
    assert_eq!(quiet(&long, &["cat", "/link"]), "deep\n");
    // Rock Ridge is still found on the root's own `.` record.
    let info = quiet(&long, &["info", "/dev/sda"]);
    assert!(info.contains("Rock Ridge"), "{info}");
    // xorriso reads it too, and lists the same names.
    let theirs = xorriso_lsl(&long, "/");
    for name in ["d", "file", "link"] {
        assert!(theirs.contains(&format!("'{name}'")), "{theirs}");
        assert!(tree.lines().any(|l| l == name), "{tree}");
    }
}

/// The symlink targets the tree holds: mkisofs 2.01's examples (root components inside the
/// path) and plain ones.
const TARGETS: &[(&str, &str)] = &[
    ("dots", ".///file"),
    ("tmp", "/tmp//.."),
    ("twice", "a//b"),
    ("rel", "./x/file"),
    ("abs", "/usr/lib"),
    ("up", "../.."),
];

fn symlink_tree(t: &Path) {
    std::fs::write(t.join("file"), b"x").unwrap();
    for (name, target) in TARGETS {
        std::os::unix::fs::symlink(target, t.join(name)).unwrap();
    }
}

fn genisoimage_rr(tree: &Path, image: &Path) {
    let (t, i) = (tree.to_str().unwrap(), image.to_str().unwrap());
    tool("genisoimage", &["-quiet", "-R", "-o", i, t], None);
}

#[test]
fn root_components_inside_a_symlink_keep_its_slashes() {
    for (tool_name, make) in [
        ("xorriso", xorriso_rr as fn(&Path, &Path)),
        ("genisoimage", genisoimage_rr),
    ] {
        let img = Image::new(symlink_tree, make);
        let image = img.work.path().join("good.iso");
        // The tool writes `.///file` as `.`, root, root, `file`: a root inside the path.
        let sl = img.entry(img.record("DOTS"), b"SL");
        let area = &img.bytes[sl..sl + usize::from(img.bytes[sl + 2])];
        let entry = Entry::decode("t", area, 0, 0).unwrap().unwrap();
        let flags: Vec<u8> = Sl::decode("t", &entry)
            .unwrap()
            .components
            .iter()
            .map(|c| c.flags)
            .collect();
        assert_eq!(flags, [0x02, 0x08, 0x08, 0], "{tool_name}");

        let theirs = xorriso_lsl(&image, "/");
        let out = img.work.path().join("out");
        std::fs::create_dir(&out).unwrap();
        quiet(&image, &["copy-out", "/", out.to_str().unwrap()]);
        for (name, target) in TARGETS {
            let path = format!("/{name}");
            assert_eq!(
                quiet(&image, &["readlink", &path]),
                format!("{target}\n"),
                "{tool_name}: {name}"
            );
            // As the host recorded it, as xorriso reads it, as copy-out makes it.
            let host = std::fs::read_link(img.tree().join(name)).unwrap();
            assert_eq!(host.to_str(), Some(*target));
            assert!(
                theirs.contains(&format!("'{name}' -> '{target}'")),
                "{tool_name}: {theirs}"
            );
            let copied = std::fs::read_link(out.join(name)).unwrap();
            assert_eq!(copied.to_str(), Some(*target), "{tool_name}: {name}");
        }
    }
}

#[test]
fn impossible_dates_are_unset_and_said_so() {
    let img = Image::new(
        |t| {
            std::fs::write(t.join("file"), b"dated\n").unwrap();
            std::fs::write(t.join("other"), b"fine\n").unwrap();
        },
        xorriso_rr,
    );
    let good = img.work.path().join("good.iso");
    let stat = |image: &Path, args: &[&str]| {
        let (code, out, err) = run(image, args);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        let out = String::from_utf8(out).unwrap();
        let field = |name: &str| {
            let line = out.lines().find(|l| l.starts_with(&format!("{name}: ")));
            line.unwrap().split_once(": ").unwrap().1.to_string()
        };
        (field("mtime"), field("atime"), field("ctime"), err)
    };
    let (mtime, atime, ctime, _) = stat(&good, &["stat", "/file"]);
    assert_ne!(mtime, "0");

    // The Rock Ridge TF entry's modification time: month 165 (2039 when counted on).
    let rec = img.record("FILE");
    let tf = img.entry(rec, b"TF");
    assert_eq!(
        img.bytes[tf + 4] & 0x80,
        0,
        "xorriso writes the 7-byte form"
    );
    assert_eq!(img.bytes[tf + 4] & 0x0e, 0x0e, "modify, access, change");
    let bad_tf = img.changed("tf-month", |b| b[tf + 5 + 1] = 165);
    let (m, a, c, err) = stat(&bad_tf, &["stat", "/file"]);
    assert_eq!((m.as_str(), a, c), ("0", atime.clone(), ctime.clone()));
    let image = bad_tf.to_str().unwrap();
    assert!(
        err.contains(&format!(
            "isofish: warning: {image}: Rock Ridge TF entry at offset {tf}: its modification time is not a date (month 165): read as unset"
        )),
        "{err}"
    );
    let ll = quiet_but(&bad_tf, &["ll", "/file"]);
    assert!(ll.contains(" Jan  1  1970 /file"), "{ll}");
    // The other file, and xorriso, read on.
    assert_eq!(quiet_but(&bad_tf, &["cat", "/other"]), "fine\n");
    assert!(xorriso_lsl(&bad_tf, "/file").contains("'/file'"));

    // The record's own date (shown without Rock Ridge): an hour of 24.
    let bad_rec = img.changed("record-hour", |b| b[rec + 18 + 3] = 24);
    let norock = ["mount-options", "norock", "/dev/sda", "/", ":", "stat"];
    let (m, a, c, err) = stat(&bad_rec, &[&norock[..], &["/FILE"]].concat());
    assert_eq!((m.as_str(), a.as_str(), c.as_str()), ("0", "0", "0"));
    let image = bad_rec.to_str().unwrap();
    assert!(
        err.contains(&format!(
            "{image}: directory record at offset {rec}: its recording date is not a date (hour 24): read as unset"
        )),
        "{err}"
    );
    // With Rock Ridge, the TF entry dates the file: nothing to say.
    assert_eq!(
        stat(&bad_rec, &["stat", "/file"]),
        (mtime, atime, ctime, String::new())
    );
}

/// [`run`] that must exit 0; stdout as text (stderr may warn).
fn quiet_but(image: &Path, args: &[&str]) -> String {
    let (code, out, err) = run(image, args);
    assert_eq!(code, Some(0), "{args:?}: {err}");
    String::from_utf8(out).unwrap()
}

/// Compressible text: numbered lines.
fn text(len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = (0..)
        .flat_map(|i| format!("line {i} of some compressible text\n").into_bytes())
        .take(len)
        .collect();
    v.truncate(len);
    v
}

/// xorriso's copy of a file's stored bytes, its filters removed.
fn xorriso_stored(image: &Path, path: &str, to: &Path) -> Vec<u8> {
    tool(
        "xorriso",
        &[
            "-no_rc",
            "-indev",
            image.to_str().unwrap(),
            "-osirrox",
            "on",
            "-set_filter",
            "--remove-all-filters",
            path,
            "--",
            "-extract",
            path,
            to.to_str().unwrap(),
        ],
        None,
    );
    std::fs::read(to).unwrap()
}

#[test]
fn a_zf_entry_that_is_not_zisofs_reads_as_stored() {
    // zisofs with 2^2-byte blocks (v1 allows 2^15..2^17), zisofs2 with 2^21 (2^15..2^20).
    for (settings, zf_head, log2, range) in [
        ("default", &b"ZF\x10\x01pz"[..], 2u8, "2^15..2^17"),
        (
            "version_2=on:block_size_v2=32k",
            &b"ZF\x10\x02PZ"[..],
            21,
            "2^15..2^20",
        ),
    ] {
        let content = text(200_000);
        let img = Image::new(
            |t| {
                std::fs::write(t.join("big"), &content).unwrap();
                std::fs::write(t.join("small"), b"small\n").unwrap();
            },
            |t, i| xorriso_zisofs(t, i, settings),
        );
        let good = img.work.path().join("good.iso");
        assert_eq!(quiet(&good, &["cat", "/big"]).as_bytes(), content);
        let hits = img.find_all(zf_head);
        assert_eq!(hits.len(), 1, "{settings}: one compressed file");
        let zf = hits[0];
        let rec = img.record_around(zf);
        let stored = le32(&img.bytes, rec + 10);
        let bad = img.changed("zf-log2", |b| b[zf + 7] = log2);
        let image = bad.to_str().unwrap();
        let warning = format!(
            "isofish: warning: {image}: directory record at offset {rec}: its ZF entry does not announce zisofs (block size 2^{log2} is not {range}): the file is read as its {stored} stored bytes"
        );

        // xorriso's copy of the stored bytes: the compressed file, as it is on the image.
        let raw = xorriso_stored(&bad, "/big", &img.work.path().join("raw"));
        assert_eq!(raw.len(), stored, "{settings}");
        assert_ne!(raw, content);

        let (code, out, err) = run(&bad, &["stat", "/big"]);
        assert_eq!(code, Some(0), "{err}");
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains(&format!("\nsize: {stored}\n")), "{out}");
        assert!(err.contains(&warning), "{settings}: {err}");
        assert_eq!(err.lines().count(), 1, "said once: {err}");

        let (code, out, err) = run(&bad, &["cat", "/big"]);
        assert_eq!((code, out == raw), (Some(0), true), "{settings}: {err}");
        assert!(err.contains(&warning), "{err}");
        assert_eq!(quiet_but(&bad, &["cat", "/small"]), "small\n");

        let out = img.work.path().join("out");
        std::fs::create_dir(&out).unwrap();
        quiet_but(&bad, &["copy-out", "/", out.to_str().unwrap()]);
        assert!(std::fs::read(out.join("big")).unwrap() == raw, "{settings}");
        assert_eq!(std::fs::read(out.join("small")).unwrap(), b"small\n");

        let tar = img.work.path().join("out.tar");
        quiet_but(&bad, &["tar-out", "/", tar.to_str().unwrap()]);
        let untar = img.work.path().join("untar");
        std::fs::create_dir(&untar).unwrap();
        let (t, u) = (tar.to_str().unwrap(), untar.to_str().unwrap());
        tool("tar", &["-xf", t, "-C", u], None);
        assert!(
            std::fs::read(untar.join("big")).unwrap() == raw,
            "{settings}"
        );
    }
}
