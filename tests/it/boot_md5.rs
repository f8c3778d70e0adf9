//! The MD5s images carry about themselves, against the tools that write and check them:
//! `implantisomd5`/`checkisomd5` (isomd5sum) for the sum in the primary volume descriptor,
//! `xorriso -md5 on` for libisofs's checksum tags, and the `verify` command over all of an
//! image's checksums.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use isofish::boot::{isomd5, md5tags};
use isofish::data::Span;
use isofish::plan::Plan;
use isofish::source::{FileSource, Source};

use crate::common::{scratch, tool};

/// An ISO of about 2 MiB (past the 688 KiB under which isomd5sum's fragment sums go wrong)
/// with a file of pseudo-random bytes, made by xorriso in `dir`.
fn iso(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let tree = dir.join(format!("{name}-tree"));
    std::fs::create_dir_all(&tree).unwrap();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let data: Vec<u8> = (0..2_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(tree.join("data.bin"), data).unwrap();
    std::fs::write(tree.join("hello.txt"), b"hello\n").unwrap();
    let image = dir.join(name);
    let mut args = vec!["-as", "mkisofs", "-quiet", "-R"];
    args.extend_from_slice(extra);
    args.extend(["-o", image.to_str().unwrap(), tree.to_str().unwrap()]);
    tool("xorriso", &args, None);
    image
}

/// An ISO with `implantisomd5 -f`'s sum in it.
fn implanted(dir: &Path, name: &str) -> PathBuf {
    let image = iso(dir, name, &[]);
    tool("implantisomd5", &["-f", image.to_str().unwrap()], None);
    image
}

/// Whether `checkisomd5` passes the image.
pub(crate) fn checkisomd5(image: &Path) -> bool {
    Command::new("checkisomd5")
        .arg(image)
        .output()
        .expect("checkisomd5 runs (tests/run installs isomd5sum)")
        .status
        .success()
}

/// The sum `checkisomd5 --md5sumonly` prints.
fn implanted_by_tool(image: &Path) -> String {
    let out = String::from_utf8(tool(
        "checkisomd5",
        &["--md5sumonly", image.to_str().unwrap()],
        None,
    ))
    .unwrap();
    out.split_whitespace().nth(1).unwrap().to_string()
}

fn open(image: &Path) -> FileSource {
    FileSource::open(image).unwrap()
}

/// Flips one byte of the image at `offset`.
fn flip(image: &Path, offset: u64) {
    let mut bytes = std::fs::read(image).unwrap();
    bytes[offset as usize] ^= 0x55;
    std::fs::write(image, bytes).unwrap();
}

#[test]
fn implantisomd5_sums_are_read_and_verified() {
    let dir = scratch();
    let image = implanted(dir.path(), "a.iso");
    let fields = isomd5::read(&open(&image))
        .unwrap()
        .expect("an implanted MD5");
    assert_eq!(fields.md5, implanted_by_tool(&image));
    assert_eq!(fields.skip_sectors, isomd5::DEFAULT_SKIP_SECTORS);
    assert_eq!(fields.fragment_count, isomd5::DEFAULT_FRAGMENT_COUNT);
    assert!(checkisomd5(&image));
    let verdict = isomd5::verify(&open(&image)).unwrap().unwrap();
    assert!(verdict.ok(), "{verdict:?}");
}

#[test]
fn a_flipped_byte_fails_like_checkisomd5() {
    let dir = scratch();
    let image = implanted(dir.path(), "a.iso");
    // In the file's data, past the first fragment.
    flip(&image, 1_000_000);
    assert!(!checkisomd5(&image));
    let verdict = isomd5::verify(&open(&image)).unwrap().unwrap();
    assert!(!verdict.ok(), "{verdict:?}");
    assert!(verdict.bad_fragment.is_some(), "{verdict:?}");
}

#[test]
fn no_implant_is_none() {
    let dir = scratch();
    let image = iso(dir.path(), "plain.iso", &[]);
    assert_eq!(isomd5::read(&open(&image)).unwrap(), None);
    assert_eq!(isomd5::verify(&open(&image)).unwrap(), None);
}

/// A plan that copies `image` whole.
fn plan_of(image: &Path) -> Plan {
    let src: Arc<dyn Source> = Arc::new(open(image));
    let mut plan = Plan::new();
    plan.push(Span::source(&src, 0, src.len()));
    plan
}

/// Writes the plan to `out`.
fn write(plan: Plan, out: &Path) {
    let layout = plan.into_layout();
    let mut bytes = vec![0u8; layout.len() as usize];
    layout.read_at(0, &mut bytes).unwrap();
    std::fs::write(out, bytes).unwrap();
}

#[test]
fn implant_writes_what_implantisomd5_writes_and_checkisomd5_passes_it() {
    let dir = scratch();
    let plain = iso(dir.path(), "plain.iso", &[]);
    let by_tool = dir.path().join("tool.iso");
    std::fs::copy(&plain, &by_tool).unwrap();
    tool("implantisomd5", &["-f", by_tool.to_str().unwrap()], None);

    let mut plan = plan_of(&plain);
    let fields = isomd5::implant(&mut plan, "plain.iso", None).unwrap();
    let ours = dir.path().join("ours.iso");
    write(plan, &ours);
    assert!(checkisomd5(&ours));
    assert_eq!(fields.md5, implanted_by_tool(&ours));
    assert_eq!(
        std::fs::read(&ours).unwrap(),
        std::fs::read(&by_tool).unwrap(),
        "the same bytes as implantisomd5 -f"
    );

    // Again over an implanted image, keeping its fields, after a change to its data.
    flip(&by_tool, 1_000_000);
    let like = isomd5::read(&open(&by_tool)).unwrap().unwrap();
    let mut plan = plan_of(&by_tool);
    isomd5::implant(&mut plan, "tool.iso", Some(&like)).unwrap();
    let again = dir.path().join("again.iso");
    write(plan, &again);
    assert!(checkisomd5(&again));

    // Kept without fragments, and with other skipped sectors.
    let like = isomd5::Implanted {
        fragment_count: 0,
        skip_sectors: 3,
        ..like
    };
    let mut plan = plan_of(&plain);
    isomd5::implant(&mut plan, "plain.iso", Some(&like)).unwrap();
    write(plan, &again);
    assert!(checkisomd5(&again));
    let read = isomd5::read(&open(&again)).unwrap().unwrap();
    assert_eq!((read.fragment_count, read.skip_sectors), (0, 3));
}

/// Writes `text` into the application-use area of a copy of `image`.
fn with_area(image: &Path, text: &[u8], out: &Path) {
    let mut bytes = std::fs::read(image).unwrap();
    let at = (isomd5::PVD_OFFSET + isomd5::APPDATA_OFFSET) as usize;
    bytes[at..at + isomd5::APPDATA_LEN].fill(b' ');
    bytes[at..at + text.len()].copy_from_slice(text);
    std::fs::write(out, bytes).unwrap();
}

#[test]
fn hostile_application_use_areas_are_absent_or_errors() {
    let dir = scratch();
    let image = iso(dir.path(), "plain.iso", &[]);
    let out = dir.path().join("hostile.iso");
    let md5 = "ISO MD5SUM = 0123456789abcdef0123456789abcdef;";
    let garbage: Vec<u8> = (0..isomd5::APPDATA_LEN)
        .map(|i| (i * 37 % 251) as u8)
        .collect();
    with_area(&image, &garbage, &out);
    assert_eq!(isomd5::read(&open(&out)).unwrap(), None);
    for text in [
        format!("{md5}SKIPSECTORS = 4000000000;"),
        format!("{md5}SKIPSECTORS = 15;FRAGMENT COUNT = 99999999999999;"),
        "ISO MD5SUM = not hex;SKIPSECTORS = 15;".to_string(),
    ] {
        with_area(&image, text.as_bytes(), &out);
        let err = isomd5::verify(&open(&out)).unwrap_err().to_string();
        assert!(err.contains("hostile.iso"), "{err}");
        let (lines, ok) = verify(&out);
        assert!(!ok);
        assert_eq!(status(&lines, "Implanted MD5"), "MISMATCH");
    }
    // Sums that are merely wrong are a mismatch, as checkisomd5 says.
    with_area(
        &image,
        format!("{md5}SKIPSECTORS = 15;FRAGMENT COUNT = 0;").as_bytes(),
        &out,
    );
    assert!(!checkisomd5(&out));
    assert!(!isomd5::verify(&open(&out)).unwrap().unwrap().ok());
}

/// What `xorriso -md5 on -check_media` says of each tag range: `(start, size, matches)`, and
/// the kinds of tag it found matching.
fn xorriso_tags(image: &Path) -> (Vec<(u64, u64, bool)>, Vec<String>) {
    let out = Command::new("xorriso")
        .args(["-no_rc", "-md5", "on", "-indev"])
        .arg(image)
        .args(["-check_media", "--"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let ranges = text
        .lines()
        .filter_map(|l| l.strip_prefix("MD5 tag range:"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].ends_with("md5_match"),
            )
        })
        .collect();
    let matching = text
        .lines()
        .filter_map(|l| l.split_once("Found matching MD5 ")?.1.split_once(" tag"))
        .map(|(kind, _)| kind.to_string())
        .collect();
    (ranges, matching)
}

#[test]
fn xorriso_md5_tags_are_found_and_checked() {
    let dir = scratch();
    let as_mkisofs = iso(dir.path(), "mkisofs.iso", &["--md5"]);
    // Written to a file by xorriso itself: the session at block 32, the superblock relocated.
    let native = dir.path().join("native.iso");
    let tree = dir.path().join("mkisofs.iso-tree");
    crate::common::xorriso(&[
        "-md5",
        "on",
        "-outdev",
        native.to_str().unwrap(),
        "-map",
        tree.to_str().unwrap(),
        "/",
        "-commit",
    ]);
    for image in [&as_mkisofs, &native] {
        let src = open(image);
        let tags = md5tags::read(&src).unwrap();
        let (ranges, matching) = xorriso_tags(image);
        let kinds: Vec<&str> = tags
            .iter()
            .map(|t| t.kind.name())
            .filter(|k| *k != "relocated superblock")
            .collect();
        assert_eq!(kinds, matching, "{}", image.display());
        let checks = md5tags::verify(&src, &tags).unwrap();
        assert!(checks.iter().all(md5tags::Check::ok), "{checks:?}");
        let session = checks
            .iter()
            .find(|c| c.tag.kind == md5tags::Kind::Session)
            .unwrap();
        assert_eq!(
            ranges,
            [(session.tag.range_start, session.tag.range_size, true)]
        );
        // A flipped byte in the file data: the session tag fails, for xorriso too.
        flip(image, 100 * 2048 + 7);
        let (ranges, _) = xorriso_tags(image);
        assert!(!ranges[0].2);
        let checks = md5tags::verify(&src, &tags).unwrap();
        let failed: Vec<md5tags::Kind> = checks
            .iter()
            .filter(|c| !c.ok())
            .map(|c| c.tag.kind)
            .collect();
        assert_eq!(failed, [md5tags::Kind::Session]);
    }
    assert!(md5tags::read(&open(&iso(dir.path(), "plain.iso", &[])))
        .unwrap()
        .is_empty());
}

/// `isofish --ro -a IMAGE verify`: its lines and whether it succeeded (exit status 0 or 1).
fn verify(image: &Path) -> (Vec<(String, String)>, bool) {
    let out = crate::common::isofish()
        .args(["--ro", "-a"])
        .arg(image)
        .arg("verify")
        .output()
        .unwrap();
    let code = out.status.code();
    assert!(matches!(code, Some(0 | 1)), "{out:?}");
    if code == Some(1) {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("does not match") || err.contains("do not match"),
            "{err}"
        );
    }
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (label, status) = l.split_once(" : ").unwrap();
            (label.trim().to_string(), status.to_string())
        })
        .collect();
    (lines, code == Some(0))
}

/// The status word (`ok`, `MISMATCH`, `absent`) of the line labelled `label`.
fn status<'a>(lines: &'a [(String, String)], label: &str) -> &'a str {
    let (_, s) = lines
        .iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("no {label} line in {lines:?}"));
    s.split_whitespace().next().unwrap()
}

#[test]
fn verify_agrees_with_checkisomd5() {
    let dir = scratch();
    let good = implanted(dir.path(), "good.iso");
    let damaged = implanted(dir.path(), "damaged.iso");
    flip(&damaged, 1_500_000);
    // Near the end of the hashed bytes: only the whole sum can tell.
    let tail = implanted(dir.path(), "tail.iso");
    let total = isomd5::read(&open(&tail))
        .unwrap()
        .unwrap()
        .hashed_len()
        .unwrap();
    flip(&tail, total - 100);
    // A small image, whose fragment sums implantisomd5 misplaces.
    let small = dir.path().join("small.iso");
    std::fs::copy(crate::common::fixture("sample.iso"), &small).unwrap();
    tool("implantisomd5", &["-f", small.to_str().unwrap()], None);
    // In the skipped sectors: neither looks there.
    let skipped = implanted(dir.path(), "skipped.iso");
    flip(&skipped, std::fs::metadata(&skipped).unwrap().len() - 100);
    for image in [&good, &damaged, &tail, &small, &skipped] {
        let passes = checkisomd5(image);
        let (lines, ok) = verify(image);
        assert_eq!(ok, passes, "{}: {lines:?}", image.display());
        let want = if passes { "ok" } else { "MISMATCH" };
        assert_eq!(status(&lines, "Implanted MD5"), want, "{}", image.display());
    }
    let plain = iso(dir.path(), "plain.iso", &[]);
    let (lines, ok) = verify(&plain);
    assert!(ok);
    assert_eq!(status(&lines, "Implanted MD5"), "absent");
}

#[test]
fn verify_checks_xorriso_md5_tags() {
    let dir = scratch();
    let image = iso(dir.path(), "tags.iso", &["--md5"]);
    let (lines, ok) = verify(&image);
    assert!(ok, "{lines:?}");
    for label in ["MD5 tag superblock", "MD5 tag tree", "MD5 tag session"] {
        assert_eq!(status(&lines, label), "ok");
    }
    flip(&image, 200 * 2048 + 3);
    let (ranges, _) = xorriso_tags(&image);
    assert!(!ranges[0].2, "xorriso sees the damage");
    let (lines, ok) = verify(&image);
    assert!(!ok);
    assert_eq!(status(&lines, "MD5 tag session"), "MISMATCH");
    assert_eq!(status(&lines, "MD5 tag tree"), "ok");

    // implantisomd5 writes into the superblock the tags cover: xorriso then refuses the tree.
    let both = iso(dir.path(), "both.iso", &["--md5"]);
    tool("implantisomd5", &["-f", both.to_str().unwrap()], None);
    let (lines, ok) = verify(&both);
    assert!(!ok);
    assert_eq!(status(&lines, "Implanted MD5"), "ok");
    assert_eq!(status(&lines, "MD5 tag superblock"), "MISMATCH");
    let out = Command::new("xorriso")
        .args(["-no_rc", "-md5", "on", "-indev"])
        .arg(&both)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("MD5 mismatch"));
}

#[test]
fn verify_checks_gpt_crcs_like_sgdisk_and_the_boot_checksums() {
    let dir = scratch();
    let image = dir.path().join("boot.iso");
    std::fs::copy(crate::common::fixture("boot-appended.iso"), &image).unwrap();
    let (lines, ok) = verify(&image);
    assert!(ok, "{lines:?}");
    for label in [
        "GPT header",
        "GPT array",
        "GPT backup header",
        "GPT backup array",
    ] {
        assert_eq!(status(&lines, label), "ok");
    }
    assert_eq!(status(&lines, "El Torito checksum"), "ok");
    assert_eq!(status(&lines, "Boot-info table 1"), "ok");

    // A byte of the backup entry array, where the backup header says it is.
    let src = open(&image);
    let (_, backup) = isofish::boot::gpt::read(&src).unwrap();
    let array = backup.unwrap().array_sector * 512;
    flip(&image, array + 5);
    let sgdisk = Command::new("sgdisk")
        .arg("-v")
        .arg(&image)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&sgdisk.stdout);
    assert!(said.contains("backup partition table is invalid"), "{said}");
    let (lines, ok) = verify(&image);
    assert!(!ok);
    assert_eq!(status(&lines, "GPT backup array"), "MISMATCH");
    assert_eq!(status(&lines, "GPT array"), "ok");

    // A byte of the boot image past its table, then of the validation entry's id string.
    let layout = isofish::boot::Layout::read(&open(&image), None).unwrap();
    flip(&image, layout.images[0].start() + 100);
    let catalog = u64::from(layout.boot_record.unwrap().catalog) * 2048;
    flip(&image, catalog + 10);
    let (lines, _) = verify(&image);
    assert_eq!(status(&lines, "Boot-info table 1"), "MISMATCH");
    assert_eq!(status(&lines, "El Torito checksum"), "MISMATCH");
}

/// `isofish -a IMAGE write /hello.txt … : commit [extra] OUT`, with standard error.
fn commit_changed(image: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "-a",
        image.to_str().unwrap(),
        "write",
        "/hello.txt",
        "changed",
        ":",
    ];
    args.push("commit");
    args.extend_from_slice(extra);
    args.push(out.to_str().unwrap());
    let run = crate::common::isofish().args(&args).assert().success();
    String::from_utf8_lossy(&run.get_output().stderr).into_owned()
}

#[test]
fn commit_implants_the_md5_again_and_on_request() {
    let dir = scratch();
    // An implanted image keeps its implant, computed for the new bytes.
    let original = implanted(dir.path(), "implanted.iso");
    let new = dir.path().join("new.iso");
    assert_eq!(commit_changed(&original, &new, &[]), "");
    assert!(checkisomd5(&new), "checkisomd5 passes the remaster");
    let (before, after) = (
        isomd5::read(&open(&original)).unwrap().unwrap(),
        isomd5::read(&open(&new)).unwrap().unwrap(),
    );
    assert_ne!(before.md5, after.md5);
    assert_eq!(
        (before.skip_sectors, before.fragment_count),
        (after.skip_sectors, after.fragment_count)
    );
    assert!(verify(&new).1);
    // A plain image gets one with --implant-md5, with nothing else changed too.
    let plain = iso(dir.path(), "plain.iso", &[]);
    let with = dir.path().join("with.iso");
    assert_eq!(commit_changed(&plain, &with, &["--implant-md5"]), "");
    assert!(checkisomd5(&with));
    let copy = dir.path().join("copy.iso");
    std::fs::copy(&plain, &copy).unwrap();
    crate::common::isofish()
        .args(["-a", copy.to_str().unwrap(), "commit", "--implant-md5"])
        .assert()
        .success();
    assert!(
        checkisomd5(&copy),
        "commit --implant-md5 with nothing staged"
    );
}

#[test]
fn commit_drops_xorriso_md5_tags_with_a_warning() {
    let dir = scratch();
    let tagged = iso(dir.path(), "tagged.iso", &["--md5"]);
    // A rewrite, and a copy with the change patched in (the way a commit to a new file goes
    // when the change fits in place; an in-place commit writes the same bytes).
    for (route, kept) in [(&["--rewrite"][..], false), (&[], true)] {
        let new = dir.path().join("new.iso");
        let err = commit_changed(&tagged, &new, route);
        assert!(err.contains("MD5 tags") && err.contains("dropped"), "{err}");
        assert!(md5tags::read(&open(&new)).unwrap().is_empty());
        xorriso_md5s_hold(&new, kept);
    }
    // In place: the same patch, into the image itself.
    let patched = dir.path().join("patched.iso");
    std::fs::copy(&tagged, &patched).unwrap();
    let run = crate::common::isofish()
        .args([
            "-a",
            patched.to_str().unwrap(),
            "write",
            "/hello.txt",
            "changed",
            ":",
        ])
        .args(["commit", "--in-place"])
        .assert()
        .success();
    let err = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    assert!(err.contains("MD5 tags") && err.contains("dropped"), "{err}");
    xorriso_md5s_hold(&patched, true);
}

/// xorriso, told to check the MD5s of `image`, finds nothing stale to trip on: the checksum
/// attributes are gone with the tags (a rewrite), or the changed file's checksum is its new
/// data's (a patched copy, `kept`: xorriso then checks every file against its checksum).
fn xorriso_md5s_hold(new: &Path, kept: bool) {
    let out = std::process::Command::new("xorriso")
        .args([
            "-md5",
            "on",
            "-indev",
            new.to_str().unwrap(),
            "-check_md5_r",
            "sorry",
            "/",
            "--",
        ])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !text.contains("MD5 MISMATCH") && !text.to_lowercase().contains("mismatch"),
        "{text}"
    );
    assert_eq!(text.contains("checksums match"), kept, "{text}");
    assert!(verify(new).1);
}
