//! Hostile ISO images (sample.iso with bytes changed at known structures) give an error that
//! names the image, the structure and the offset: never a panic, a hang or a huge allocation.
//! Through the library and through the CLI (`isofish: error: ...`, exit status 1).

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use isofish::fs::walk::{walk, Limits};

use crate::common::{fixture, isofish, scratch};
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
    fn record(&self, dir: usize, iso_name: &str) -> usize {
        let mut pos = dir;
        loop {
            let len = self.0[pos] as usize;
            assert!(len > 0, "{iso_name} not found");
            let name_len = self.0[pos + 32] as usize;
            if &self.0[pos + 33..pos + 33 + name_len] == iso_name.as_bytes() {
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

/// Like [`must_fail`], and the CLI fails on `cmd` with exit status 1 and `isofish: error:`.
fn cli_fails(img: &Image, cmd: &[&str], expect: &str) {
    let dir = scratch();
    let path = img.write(dir.path());
    let out = isofish()
        .args(["--ro", "-a", path.to_str().expect("utf-8")])
        .args(cmd)
        .timeout(Duration::from_secs(10))
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
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

#[test]
fn directory_pointing_at_an_ancestor_is_a_loop() {
    let mut img = Image::sample();
    let root_lba = (img.root() / SECTOR) as u32;
    let docs = img.docs();
    set_both32(&mut img.0[docs + 2..], root_lba);
    let msg = must_fail("docs -> root", &img);
    assert!(msg.contains("directory loop"), "{msg}");
    cli_fails(&img, &["ls", "/docs"], "directory loop");

    let mut img = Image::sample();
    let docs_extent = img.extent_of(img.docs());
    let guide = img.record(docs_extent, "GUIDE");
    set_both32(&mut img.0[guide + 2..], (docs_extent / SECTOR) as u32);
    let msg = must_fail("guide -> docs", &img);
    assert!(msg.contains("directory loop"), "{msg}");

    // Two directories sharing an extent (not a loop, but a walk could grow exponentially).
    let mut img = Image::sample();
    let docs_extent = img.extent_of(img.docs());
    let isolinux = img.extent_of(img.record(img.root(), "ISOLINUX"));
    let guide = img.record(docs_extent, "GUIDE");
    set_both32(&mut img.0[guide + 2..], (isolinux / SECTOR) as u32);
    let msg = must_fail("guide -> isolinux", &img);
    assert!(msg.contains("is also the directory of the record"), "{msg}");
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
fn unusable_rock_ridge_names_are_rejected() {
    // NM is rejected rather than rewritten: a name with `/` or NUL, or `.`/`..`, fails its
    // directory with a corrupt-record error naming the record.
    let cases: &[(&str, &Mutation)] = &[
        ("slash", &|b, nm| b[nm + 5..nm + 8].copy_from_slice(b"../")),
        ("nul", &|b, nm| b[nm + 7] = 0),
        ("dot flag", &|b, nm| b[nm + 4] = 0x02),
        ("dot-dot flag", &|b, nm| b[nm + 4] = 0x04),
        ("literal dot-dot", &|b, nm| {
            // NM of 7 bytes naming "..", then a PD entry padding the rest of the old NM.
            let old = b[nm + 2] as usize;
            b[nm + 2] = 7;
            b[nm + 5..nm + 7].copy_from_slice(b"..");
            b[nm + 7..nm + 11].copy_from_slice(&[b'P', b'D', (old - 7) as u8, 1]);
        }),
    ];
    for (what, mutate) in cases {
        let mut img = Image::sample();
        let readme = img.readme();
        let nm = img.entry(readme, b"NM");
        mutate(&mut img.0, nm);
        let msg = must_fail(what, &img);
        assert!(msg.contains("not a usable file name"), "{what}: {msg}");
        assert!(msg.contains(&format!("offset {readme}")), "{what}: {msg}");
        cli_fails(&img, &["ls", "/"], "not a usable file name");
    }
}

#[test]
fn symlink_loop_is_too_many_levels() {
    // links/loop-a -> loop-b -> loop-a, made by genisoimage and xorriso (make.sh).
    for name in ["level3-rr.iso", "rr112.iso"] {
        let out = isofish()
            .args(["--ro", "-a", fixture(name).to_str().expect("utf-8")])
            .args(["cat", "/links/loop-a"])
            .timeout(Duration::from_secs(10))
            .assert()
            .code(1)
            .get_output()
            .stderr
            .clone();
        let err = String::from_utf8_lossy(&out);
        assert!(
            err.starts_with("isofish: error: ")
                && err.contains("too many levels of symbolic links"),
            "{err}"
        );
    }
}
