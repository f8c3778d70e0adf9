//! Hostile ISO images (sample.iso with bytes changed at known structures) give an error that
//! names the image, the structure and the offset: never a panic, a hang or a huge allocation.
//! Through the library and through the CLI (`isofish: error: ...`, exit status 1).

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use isofish::fs::walk::{walk, Limits};

use crate::common::{fixture, isofish, scratch, tool};
use crate::hostile_left_out::{reads_but_for, Damaged};
use crate::iso_oracle::open;

const SECTOR: usize = 2048;

/// sample.iso's bytes with helpers to find its structures (ECMA-119 offsets).
struct Image(Vec<u8>);

fn le32(b: &[u8]) -> usize {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
}

fn set_both32(b: &mut [u8], v: u32) {
    b[..4].copy_from_slice(&v.to_le_bytes());
    b[4..8].copy_from_slice(&v.to_be_bytes());
}

impl Image {
    fn sample() -> Image {
        Image(std::fs::read(fixture("sample.iso")).expect("sample.iso"))
    }

    /// Byte offset of the root directory's extent (from the PVD's root record).
    fn root(&self) -> usize {
        le32(&self.0[16 * SECTOR + 156 + 2..]) * SECTOR
    }

    /// Byte offset of the record named `iso_name` (as recorded: `README.TXT;1`, `DOCS`) in the
    /// directory extent at `dir`.
    fn record(&self, dir: usize, iso_name: impl AsRef<[u8]>) -> usize {
        let iso_name = iso_name.as_ref();
        let mut pos = dir;
        loop {
            let len = self.0[pos] as usize;
            assert!(len > 0, "{} not found", String::from_utf8_lossy(iso_name));
            let name_len = self.0[pos + 32] as usize;
            if &self.0[pos + 33..pos + 33 + name_len] == iso_name {
                return pos;
            }
            pos += len;
        }
    }

    /// Byte offset of the directory extent a record points to.
    fn extent_of(&self, rec: usize) -> usize {
        le32(&self.0[rec + 2..]) * SECTOR
    }

    /// Byte offset and length of a record's system use area.
    fn system_use(&self, rec: usize) -> (usize, usize) {
        let len = self.0[rec] as usize;
        let name_len = self.0[rec + 32] as usize;
        let start = (33 + name_len + 1) & !1;
        (rec + start, len - start)
    }

    /// Byte offset of the SUSP entry `sig` of a record.
    fn entry(&self, rec: usize, sig: &[u8; 2]) -> usize {
        let (mut pos, len) = self.system_use(rec);
        let end = pos + len;
        while pos + 4 <= end {
            if &self.0[pos..pos + 2] == sig {
                return pos;
            }
            pos += self.0[pos + 2] as usize;
        }
        panic!("no {} entry", String::from_utf8_lossy(sig));
    }

    fn readme(&self) -> usize {
        self.record(self.root(), "README.TXT;1")
    }

    fn docs(&self) -> usize {
        self.record(self.root(), "DOCS")
    }

    fn write(&self, dir: &Path) -> std::path::PathBuf {
        let p = dir.join("bad.iso");
        std::fs::write(&p, &self.0).expect("write bad.iso");
        p
    }
}

/// Opens and walks an image in a thread; returns the error text. Fails the test on success,
/// on a panic, and when it takes more than 10 seconds.
fn must_fail(what: &str, img: &Image) -> String {
    let dir = scratch();
    let path = img.write(dir.path());
    let (tx, rx) = mpsc::channel();
    let p = path.clone();
    std::thread::spawn(move || {
        let r = open(&p, "")
            .and_then(|fs| walk(fs.as_ref(), Limits::default(), false, &mut |_| Ok(())));
        let _ = tx.send(r.map_err(|e| e.to_string()));
    });
    let msg = match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(_)) => panic!("{what}: the hostile image was read without error"),
        Ok(Err(msg)) => msg,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: hangs"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    };
    assert!(
        msg.contains(&path.display().to_string()),
        "{what}: the error does not name the image: {msg}"
    );
    // The CLI: `ls -R`-like listing is not there yet, so list the root and cat a file.
    for cmd in [&["ls", "/docs"][..], &["cat", "/README.TXT"]] {
        isofish()
            .args(["--ro", "-a", path.to_str().expect("utf-8")])
            .args(cmd)
            .timeout(Duration::from_secs(10))
            .assert()
            .code(predicates::ord::eq(1).or(predicates::ord::eq(0)));
    }
    msg
}

/// The standard error of isofish run with `args`, which ends with exit status 1.
fn fails(args: &[&str]) -> String {
    let out = isofish()
        .args(args)
        .timeout(Duration::from_secs(20))
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    String::from_utf8_lossy(&out).into_owned()
}

/// Like [`must_fail`], and the CLI fails on `cmd` with exit status 1 and `isofish: error:`.
fn cli_fails(img: &Image, cmd: &[&str], expect: &str) {
    let dir = scratch();
    let path = img.write(dir.path());
    let err = fails(&[&["--ro", "-a", path.to_str().expect("utf-8")], cmd].concat());
    assert!(err.starts_with("isofish: error: "), "{err}");
    assert!(err.contains(expect), "{cmd:?}: {err}");
}

use predicates::prelude::*;

#[test]
fn truncated_images_fail() {
    let full = Image::sample();
    for len in [
        100,
        16 * SECTOR + 100,
        full.root() + 10,
        full.extent_of(full.readme()) + 10,
    ] {
        let img = Image(full.0[..len].to_vec());
        let msg = must_fail(&format!("truncated to {len}"), &img);
        assert!(
            msg.contains("corrupt") || msg.contains("no filesystem"),
            "{msg}"
        );
    }
}

#[test]
fn zeroed_descriptors_fail() {
    // The whole primary descriptor zeroed: no descriptor set at all.
    let mut img = Image::sample();
    img.0[16 * SECTOR..17 * SECTOR].fill(0);
    let dir = scratch();
    let path = img.write(dir.path());
    let src: std::sync::Arc<dyn isofish::source::Source> =
        std::sync::Arc::new(isofish::source::FileSource::open(&path).expect("open"));
    let err = isofish::fs::iso9660::IsoFs::open(src, &Default::default())
        .err()
        .expect("fails");
    assert!(
        err.to_string()
            .contains("volume descriptor at offset 32768"),
        "{err}"
    );
    // Its body zeroed behind a valid header.
    let mut img = Image::sample();
    img.0[16 * SECTOR + 7..17 * SECTOR].fill(0);
    let msg = must_fail("zeroed PVD body", &img);
    assert!(
        msg.contains("block size 0") || msg.contains("corrupt"),
        "{msg}"
    );
}

/// What isoinfo lists of sample.iso (`-R`: the Rock Ridge tree, `-J`: the Joliet tree), as
/// paths without their leading `/`.
fn isoinfo_tree(tree: &str) -> Vec<String> {
    let sample = fixture("sample.iso");
    let out = tool(
        "isoinfo",
        &[tree, "-f", "-i", sample.to_str().unwrap()],
        None,
    );
    let text = String::from_utf8(out).unwrap();
    text.lines().map(|l| l[1..].to_string()).collect()
}

/// The damaged image reads but for one entry (see [`reads_but_for`]): the library walks it
/// without error, and the CLI (with the mount options `options`) lists what isoinfo lists of
/// the undamaged sample (`tree`: `-R` or `-J`) without `gone`, with a warning naming the
/// record at `offset` and the entry as `shown`. A commit would lose the entry: it is refused,
/// and the image left as it was.
fn left_out(
    what: &str,
    img: &Image,
    options: &str,
    tree: &str,
    gone: &str,
    offset: usize,
    shown: &str,
) {
    let dir = scratch();
    let path = img.write(dir.path());
    let fs = open(&path, options).unwrap_or_else(|e| panic!("{what}: {e}"));
    walk(fs.as_ref(), Limits::default(), false, &mut |_| Ok(()))
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    // `find`'s names listing leaves out the same entry.
    crate::iso_names::names_match_read_dir(&path, options);
    // isoinfo extracts the undamaged sample (it crashes on some of these images).
    let sample = fixture("sample.iso");
    let cfg = [
        "-x",
        "/ISOLINUX/ISOLINUX.CFG;1",
        "-i",
        sample.to_str().unwrap(),
    ];
    reads_but_for(&Damaged {
        image: &path,
        options,
        tree: isoinfo_tree(tree),
        gone,
        structure: "directory record",
        offset: offset as u64,
        shown,
        kept: ("isolinux/isolinux.cfg", tool("isoinfo", &cfg, None)),
    });
    let copy = dir.path().join("copy.iso");
    std::fs::copy(&path, &copy).unwrap();
    let mount = format!("/dev/sda:/:{options}");
    let err = fails(&["-a", copy.to_str().unwrap(), "-m", &mount, "mkdir", "/new"]);
    assert!(
        err.contains("entries that cannot be read") && err.contains("nothing written"),
        "{what}: {err}"
    );
    assert!(
        std::fs::read(&copy).unwrap() == img.0,
        "{what}: the image changed"
    );
}

#[test]
fn a_looping_directory_is_left_out_and_the_rest_reads() {
    // DOCS pointing at the root: a loop.
    let mut img = Image::sample();
    let root_lba = (img.root() / SECTOR) as u32;
    let docs = img.docs();
    set_both32(&mut img.0[docs + 2..], root_lba);
    left_out("docs -> root", &img, "", "-R", "docs", docs, "docs");

    // docs/GUIDE pointing at docs (a loop), or at isolinux's extent (two directories
    // sharing one: not a loop, but a walk could grow exponentially; the one met second is
    // left out).
    let sample = Image::sample();
    let docs_extent = sample.extent_of(sample.docs());
    let isolinux = sample.extent_of(sample.record(sample.root(), "ISOLINUX"));
    let guide = sample.record(docs_extent, "GUIDE");
    for (what, extent) in [
        ("guide -> docs", docs_extent),
        ("guide -> isolinux", isolinux),
    ] {
        let mut img = Image::sample();
        set_both32(&mut img.0[guide + 2..], (extent / SECTOR) as u32);
        left_out(what, &img, "", "-R", "docs/guide", guide, "guide");
    }
}

#[test]
fn extents_past_the_end_fail() {
    let mut img = Image::sample();
    let readme = img.readme();
    set_both32(&mut img.0[readme + 2..], 0x00ff_ff00);
    let msg = must_fail("file extent past the end", &img);
    assert!(msg.contains("file extent"), "{msg}");
    cli_fails(&img, &["cat", "/README.TXT"], "end of the image");

    let mut img = Image::sample();
    let docs = img.docs();
    set_both32(&mut img.0[docs + 2..], 0x00ff_ff00);
    let msg = must_fail("directory extent past the end", &img);
    assert!(msg.contains("directory"), "{msg}");
}

#[test]
fn absurd_sizes_fail() {
    let mut img = Image::sample();
    let docs = img.docs();
    set_both32(&mut img.0[docs + 10..], u32::MAX);
    let msg = must_fail("directory of 4 GiB", &img);
    assert!(msg.contains("directory"), "{msg}");
    cli_fails(&img, &["ls", "/docs"], "corrupt directory");

    let mut img = Image::sample();
    let readme = img.readme();
    set_both32(&mut img.0[readme + 10..], u32::MAX);
    let msg = must_fail("file of 4 GiB", &img);
    assert!(msg.contains("end of the image"), "{msg}");

    let mut img = Image::sample();
    let readme = img.readme();
    img.0[readme + 32] = 250;
    let msg = must_fail("name length past the record", &img);
    assert!(
        msg.contains("directory record") && msg.contains("name length 250"),
        "{msg}"
    );
    cli_fails(&img, &["ls", "/"], "name length 250");
}

#[test]
fn continuation_area_loop_fails() {
    let mut img = Image::sample();
    let readme = img.readme();
    let (su, len) = img.system_use(readme);
    assert!(len >= 32);
    // CE pointing at the record's own system use area, then ST.
    let mut ce = vec![b'C', b'E', 28, 1];
    let mut field = [0u8; 8];
    set_both32(&mut field, (su / SECTOR) as u32);
    ce.extend_from_slice(&field);
    set_both32(&mut field, (su % SECTOR) as u32);
    ce.extend_from_slice(&field);
    set_both32(&mut field, len as u32);
    ce.extend_from_slice(&field);
    ce.extend_from_slice(b"ST\x04\x01");
    img.0[su..su + ce.len()].copy_from_slice(&ce);
    let msg = must_fail("CE loop", &img);
    assert!(msg.contains("continuation area loop"), "{msg}");
    cli_fails(&img, &["ls", "/"], "continuation area loop");
}

/// A change to an image's bytes at a structure's offset.
type Mutation = dyn Fn(&mut Vec<u8>, usize);

#[test]
fn an_unusable_rock_ridge_name_is_left_out_and_the_rest_reads() {
    // NM is not rewritten: a name with `/` or NUL, or `.`/`..`, leaves its entry out.
    let cases: &[(&str, &Mutation, &str)] = &[
        (
            "slash",
            &|b, nm| b[nm + 5..nm + 8].copy_from_slice(b"../"),
            "../DME.TXT",
        ),
        ("nul", &|b, nm| b[nm + 7] = 0, "RE\0DME.TXT"),
        ("dot flag", &|b, nm| b[nm + 4] = 0x02, "README.TXT"),
        ("dot-dot flag", &|b, nm| b[nm + 4] = 0x04, "README.TXT"),
        (
            "literal dot-dot",
            &|b, nm| {
                // NM of 7 bytes naming "..", then a PD entry padding the rest of the old NM.
                let old = b[nm + 2] as usize;
                b[nm + 2] = 7;
                b[nm + 5..nm + 7].copy_from_slice(b"..");
                b[nm + 7..nm + 11].copy_from_slice(&[b'P', b'D', (old - 7) as u8, 1]);
            },
            "..",
        ),
    ];
    for (what, mutate, shown) in cases {
        let mut img = Image::sample();
        let readme = img.readme();
        let nm = img.entry(readme, b"NM");
        mutate(&mut img.0, nm);
        left_out(what, &img, "", "-R", "README.TXT", readme, shown);
    }
}

/// The Joliet tree's root directory extent (from the supplementary descriptor).
fn joliet_root(img: &Image) -> usize {
    let svd = (17..32)
        .map(|s| s * SECTOR)
        .find(|&at| img.0[at] == 2)
        .expect("a Joliet descriptor");
    le32(&img.0[svd + 156 + 2..]) * SECTOR
}

/// `s` in UCS-2 big-endian, as Joliet records names.
fn ucs2(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

#[test]
fn an_unusable_joliet_name_is_left_out_and_the_rest_reads() {
    let cases: &[(&str, &Mutation, &str)] = &[
        ("slash", &|b, rec| b[rec + 33 + 5] = b'/', "RE/DME.TXT"),
        ("nul", &|b, rec| b[rec + 33 + 5] = 0, "RE\0DME.TXT"),
        (
            "dot-dot",
            &|b, rec| {
                b[rec + 32] = 4;
                b[rec + 33..rec + 37].copy_from_slice(&[0, b'.', 0, b'.']);
            },
            "..",
        ),
    ];
    for (what, mutate, shown) in cases {
        let mut img = Image::sample();
        let root = joliet_root(&img);
        let readme = img.record(root, ucs2("README.TXT"));
        mutate(&mut img.0, readme);
        left_out(what, &img, "joliet", "-J", "README.TXT", readme, shown);
    }
}

#[test]
fn symlink_loop_is_too_many_levels() {
    // links/loop-a -> loop-b -> loop-a, made by genisoimage and xorriso (make.sh).
    for name in ["level3-rr.iso", "rr112.iso"] {
        let image = fixture(name);
        let err = fails(&[
            "--ro",
            "-a",
            image.to_str().expect("utf-8"),
            "cat",
            "/links/loop-a",
        ]);
        assert!(
            err.starts_with("isofish: error: ")
                && err.contains("too many levels of symbolic links"),
            "{err}"
        );
    }
}
