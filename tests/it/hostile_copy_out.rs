//! Extraction goes on past what cannot be made, as GNU tar does: `copy-out` and the browser
//! pane's `x` copy everything they can, say each failure (naming the host path and the cause),
//! and `copy-out` exits 1 at the end. Held on xorriso images with Rock Ridge names longer than
//! the host's NAME_MAX (a file and a directory; bsdtar extracts the same rest), and on an image
//! cut inside a file's data (the cut file is removed, not left short; the files before the cut
//! are what bsdtar extracts from the whole image).

use std::path::{Path, PathBuf};

use isofish::tui::extract::Job;

use crate::common::{isofish, scratch, tool, xorriso_rr};
use crate::host_tree::{assert_same, reference, snapshot, Tree};

const SECTOR: usize = 2048;

/// The bytes past NAME_MAX (255 on Linux) the long names are given: 300 bytes in all.
const PAST_NAME_MAX: usize = 45;

fn le32(b: &[u8]) -> usize {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
}

fn set_both32(b: &mut [u8], v: usize) {
    let v = u32::try_from(v).unwrap();
    b[..4].copy_from_slice(&v.to_le_bytes());
    b[4..8].copy_from_slice(&v.to_be_bytes());
}

/// The SUSP entries (offset, signature) from `pos` to `end`.
fn entries(img: &[u8], mut pos: usize, end: usize) -> Vec<(usize, [u8; 2])> {
    let mut out = Vec::new();
    while pos + 4 <= end && img[pos + 2] >= 4 {
        out.push((pos, [img[pos], img[pos + 1]]));
        pos += img[pos + 2] as usize;
    }
    out
}

/// A record of the root directory with a continuation area: where its CE entry is, where the
/// area is and how long, and where its NM entries are (in order).
struct Continued {
    ce: usize,
    area: usize,
    area_len: usize,
    nms: Vec<usize>,
}

/// The root directory's records that have a continuation area.
fn continued(img: &[u8]) -> Vec<Continued> {
    let pvd = 16 * SECTOR;
    let root = le32(&img[pvd + 156 + 2..]) * SECTOR;
    let root_end = root + le32(&img[pvd + 156 + 10..]);
    let mut out = Vec::new();
    let mut rec = root;
    while rec < root_end {
        let len = img[rec] as usize;
        if len == 0 {
            rec = (rec / SECTOR + 1) * SECTOR;
            continue;
        }
        let su = rec + ((33 + img[rec + 32] as usize + 1) & !1);
        let own = entries(img, su, rec + len);
        if let Some(&(ce, _)) = own.iter().find(|(_, sig)| sig == b"CE") {
            let area = le32(&img[ce + 4..]) * SECTOR + le32(&img[ce + 12..]);
            let area_len = le32(&img[ce + 20..]);
            let nms = own
                .into_iter()
                .chain(entries(img, area, area + area_len))
                .filter(|(_, sig)| sig == b"NM")
                .map(|(at, _)| at)
                .collect();
            out.push(Continued {
                ce,
                area,
                area_len,
                nms,
            });
        }
        rec += len;
    }
    out
}

/// Makes `PAST_NAME_MAX` bytes longer the Rock Ridge names of the root directory's records
/// whose names are made of one of `letters` only. Each such name ends in an NM entry that
/// ends the record's continuation area (xorriso puts the end of a long name there): the area
/// is copied to the free end of the block that holds the continuation areas (zeros), with its
/// last NM entry grown by as many more of the letter.
fn lengthen_names(img: &mut [u8], letters: &[u8]) {
    let records = continued(img);
    let block = records[0].area / SECTOR;
    assert!(
        records.iter().all(|r| r.area / SECTOR == block),
        "one block"
    );
    let mut spare = records.iter().map(|r| r.area + r.area_len).max().unwrap();
    let block_end = (block + 1) * SECTOR;
    assert!(img[spare..block_end].iter().all(|&b| b == 0), "free space");
    let name_of = |img: &[u8], at: usize| img[at + 5..at + img[at + 2] as usize].to_vec();
    let mut lengthened = 0;
    for r in records {
        let Some(&last) = r.nms.last() else { continue };
        let letter = img[last + 5];
        let one_letter = r
            .nms
            .iter()
            .all(|&at| name_of(img, at).iter().all(|&b| b == letter));
        if !letters.contains(&letter) || !one_letter {
            continue;
        }
        let (nm_at, nm_len) = (last - r.area, img[last + 2] as usize);
        assert_eq!(nm_at + nm_len, r.area_len, "the name ends the area");
        assert_eq!(img[last + 4], 0, "the last NM does not continue");
        let new_len = r.area_len + PAST_NAME_MAX;
        assert!(spare + new_len <= block_end, "room in the block");
        img.copy_within(r.area..r.area + r.area_len, spare);
        img[spare + r.area_len..spare + new_len].fill(letter);
        img[spare + nm_at + 2] = u8::try_from(nm_len + PAST_NAME_MAX).unwrap();
        set_both32(&mut img[r.ce + 12..], spare - block * SECTOR);
        set_both32(&mut img[r.ce + 20..], new_len);
        spare += new_len;
        lengthened += 1;
    }
    assert_eq!(lengthened, letters.len(), "one long name per letter");
}

/// Runs `copy-out / OUT` on `image`; returns the exit status and stderr.
fn copy_out(image: &Path, out: &Path) -> (Option<i32>, String) {
    let o = isofish()
        .args(["--ro", "-a", image.to_str().unwrap()])
        .args(["copy-out", "/", out.to_str().unwrap()])
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs the browser pane's extraction of the image's root to `dest/x`; returns its problems.
fn pane_extract(image: &Path, dest: &Path) -> Vec<String> {
    let session = crate::tui::session(image);
    let root = session.vfs.root().unwrap();
    let mut job = Job::plan(&session.vfs, &root, b"x", dest).unwrap();
    while !job.finished() {
        job.step(u64::MAX);
    }
    job.problems.clone()
}

/// The tree bsdtar extracts from `image` (it too goes on past a name it cannot create).
fn bsdtar_tree(image: &Path) -> (tempfile::TempDir, Tree) {
    let dir = scratch();
    std::process::Command::new("bsdtar")
        .args(["-xpf", image.to_str().unwrap(), "-C"])
        .arg(dir.path())
        .output()
        .expect("bsdtar runs");
    let tree = snapshot(dir.path());
    (dir, tree)
}

fn fresh(parent: &Path, name: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir(&dir).unwrap();
    dir
}

#[test]
fn names_past_name_max_are_said_and_everything_else_is_copied() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("d/e")).unwrap();
    std::fs::write(tree.join("a.txt"), "a\n").unwrap();
    std::fs::write(tree.join("d/b.txt"), "b\n").unwrap();
    std::os::unix::fs::symlink("a.txt", tree.join("link")).unwrap();
    let long_file = "L".repeat(255);
    let long_dir = "M".repeat(255);
    std::fs::write(tree.join(&long_file), "long\n").unwrap();
    std::fs::create_dir_all(tree.join(&long_dir).join("sub")).unwrap();
    std::fs::write(tree.join(&long_dir).join("inner.txt"), "in\n").unwrap();
    std::fs::write(tree.join(&long_dir).join("sub/x.txt"), "x\n").unwrap();
    let image = dir.path().join("long.iso");
    xorriso_rr(&tree, &image);
    let mut bytes = std::fs::read(&image).unwrap();
    lengthen_names(&mut bytes, b"LM");
    std::fs::write(&image, bytes).unwrap();
    let names = tool("bsdtar", &["-tf", image.to_str().unwrap()], None);
    let long_names: Vec<String> = ['L', 'M']
        .iter()
        .map(|c| c.to_string().repeat(255 + PAST_NAME_MAX))
        .collect();
    for name in &long_names {
        let listed = String::from_utf8_lossy(&names);
        assert!(listed.lines().any(|l| l.trim_end_matches('/') == name));
    }
    let (_keep, expected) = bsdtar_tree(&image);
    assert!(expected.nodes.contains_key("d/b.txt"), "{expected:?}");

    let out = fresh(dir.path(), "out");
    let (status, stderr) = copy_out(&image, &out);
    assert_eq!(status, Some(1), "{stderr}");
    for name in &long_names {
        let line = format!(
            "isofish: error: {}: cannot create: ",
            out.join(name).display()
        );
        assert!(stderr.contains(&line), "{stderr}");
    }
    let errors: Vec<&str> = stderr.lines().collect();
    assert_eq!(errors.len(), 3, "{stderr}");
    assert!(
        errors[2].starts_with("isofish: error: not everything was copied: 2 failures")
            && errors[2].contains("3 entries inside"),
        "{stderr}"
    );
    assert_same(&expected, &snapshot(&out), "copy-out past long names");

    let pane = fresh(dir.path(), "pane");
    let problems = pane_extract(&image, &pane);
    assert_eq!(problems.len(), 2, "{problems:?}");
    for name in &long_names {
        assert!(
            problems.iter().any(|p| p.contains(name.as_str())),
            "{problems:?}"
        );
    }
    assert_same(
        &expected,
        &snapshot(&pane.join("x")),
        "the pane past long names",
    );
}

/// The data extents xorriso reports: (start block, bytes, path without its leading `/`).
fn extents(image: &Path) -> Vec<(usize, usize, String)> {
    let report = tool(
        "xorriso",
        &[
            "-indev",
            image.to_str().unwrap(),
            "-find",
            "/",
            "-type",
            "f",
            "-exec",
            "report_lba",
        ],
        None,
    );
    String::from_utf8(report)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("File data lba:"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            let path = f[4].trim_matches('\'').trim_start_matches('/');
            (
                f[1].parse().unwrap(),
                f[3].parse().unwrap(),
                path.to_string(),
            )
        })
        .collect()
}

#[test]
fn a_file_cut_short_is_removed_and_everything_else_is_copied() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("d")).unwrap();
    for (i, name) in ["a.bin", "b.bin", "d/c.bin"].iter().enumerate() {
        let data: Vec<u8> = (0..100_000u32).map(|n| (n * 7 + i as u32) as u8).collect();
        std::fs::write(tree.join(name), data).unwrap();
    }
    std::os::unix::fs::symlink("b.bin", tree.join("link")).unwrap();
    let whole = dir.path().join("whole.iso");
    xorriso_rr(&tree, &whole);
    let extents = extents(&whole);
    let (start, size, _) = extents.iter().find(|e| e.2 == "b.bin").unwrap();
    let cut_at = start * SECTOR + size / 2;
    let cut_files: Vec<String> = extents
        .iter()
        .filter(|(start, size, _)| start * SECTOR + size > cut_at)
        .map(|e| e.2.clone())
        .collect();
    assert!(
        cut_files.len() < extents.len(),
        "a file lies before the cut"
    );
    let image = dir.path().join("cut.iso");
    std::fs::write(&image, &std::fs::read(&whole).unwrap()[..cut_at]).unwrap();
    let (_keep, reference) = reference(&whole);
    let expected = snapshot(&reference).without(&cut_files);

    let out = fresh(dir.path(), "out");
    let (status, stderr) = copy_out(&image, &out);
    assert_eq!(status, Some(1), "{stderr}");
    for name in &cut_files {
        let line = format!(
            "isofish: error: {}: {}",
            out.join(name).display(),
            image.display()
        );
        assert!(stderr.contains(&line), "{stderr}");
    }
    assert!(stderr.contains("not everything was copied"), "{stderr}");
    assert_same(&expected, &snapshot(&out), "copy-out of a cut image");

    let pane = fresh(dir.path(), "pane");
    let problems = pane_extract(&image, &pane);
    assert_eq!(problems.len(), cut_files.len(), "{problems:?}");
    for name in &cut_files {
        let dest = pane.join("x").join(name);
        assert!(problems
            .iter()
            .any(|p| p.contains(&dest.display().to_string())));
    }
    assert_same(
        &expected,
        &snapshot(&pane.join("x")),
        "the pane on a cut image",
    );
}
