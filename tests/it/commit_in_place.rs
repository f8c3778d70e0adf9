//! `commit` back into the opened image, patched in place when the changes fit (isocp's job):
//! every reader (xorriso, isoinfo in all three name spaces, 7z, bsdtar) reads the new content,
//! checkisomd5 passes the re-implanted sum, only the expected sectors change, the result reads
//! like a rewrite of the same session, and a commit killed after any of its writes leaves an
//! image that the next open rolls back to the old content, never a mix.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::boot_md5::checkisomd5;
use crate::common::{isofish, scratch, tool, xorriso_extract};

/// The kickstart file of the test images, as written.
const KICKSTART: &[u8] = b"# kickstart\nlang en_US.UTF-8\nkeyboard us\n";

/// An image made by `xorriso -as mkisofs -R -J` with a kickstart file, 2 MB of other data
/// (past the size under which isomd5sum's fragment sums go wrong) and a directory, with
/// implantisomd5's sum in it.
fn installer(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("isolinux")).unwrap();
    std::fs::write(tree.join("ks.cfg"), KICKSTART).unwrap();
    let data: Vec<u8> = (0..2_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(tree.join("data.bin"), data).unwrap();
    std::fs::write(tree.join("isolinux/isolinux.cfg"), b"default linux\n").unwrap();
    let image = dir.join("installer.iso");
    let (t, i) = (tree.to_str().unwrap(), image.to_str().unwrap());
    tool(
        "xorriso",
        &[
            "-as",
            "mkisofs",
            "-quiet",
            "-R",
            "-J",
            "-V",
            "INSTALLER",
            "-o",
            i,
            t,
        ],
        None,
    );
    tool("implantisomd5", &[i], None);
    image
}

/// Runs isofish with `words` on `image` (changes commit at the end of the run); its stdout.
fn edit(image: &Path, words: &[&str]) -> String {
    let out = isofish().arg("-a").arg(image).args(words).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `DIR/tree` holding the kickstart file `ks.cfg`.
fn kickstart_tree(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("ks.cfg"), KICKSTART).unwrap();
    tree
}

/// `genisoimage -quiet -R -J EXTRA -o IMAGE TREE`; the image's path as a string.
fn genisoimage<'i>(extra: &[&str], tree: &Path, image: &'i Path) -> &'i str {
    let i = image.to_str().unwrap();
    let mut args = vec!["-quiet", "-R", "-J"];
    args.extend_from_slice(extra);
    args.extend(["-o", i, tree.to_str().unwrap()]);
    tool("genisoimage", &args, None);
    i
}

/// Writes `new` as `/ks.cfg` of `image`, runs `more` (words ending in ":"), `changes` and
/// `commit --in-place`; the output.
fn write_ks_in_place(image: &Path, new: &[u8], more: &[&str]) -> String {
    let mut words = vec!["write", "/ks.cfg", std::str::from_utf8(new).unwrap(), ":"];
    words.extend_from_slice(more);
    words.extend(["changes", ":", "commit", "--in-place"]);
    edit(image, &words)
}

/// What each reader reads as `/ks.cfg` of `image`, by reader.
fn read_everywhere(image: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let i = image.to_str().unwrap();
    let dir = scratch();
    let x = dir.path().join("x");
    xorriso_extract(image, "/ks.cfg", &x);
    vec![
        ("xorriso", std::fs::read(&x).unwrap()),
        (
            "isoinfo -R",
            tool("isoinfo", &["-R", "-i", i, "-x", "/ks.cfg"], None),
        ),
        (
            "isoinfo -J",
            tool("isoinfo", &["-J", "-i", i, "-x", "/ks.cfg"], None),
        ),
        (
            "isoinfo",
            tool("isoinfo", &["-i", i, "-x", "/KS.CFG;1"], None),
        ),
        ("7z", tool("7z", &["e", "-so", i, "ks.cfg"], None)),
        ("bsdtar", tool("bsdtar", &["-xOf", i, "ks.cfg"], None)),
    ]
}

/// Asserts that every reader reads `want` as `/ks.cfg` of `image`.
fn all_read(image: &Path, want: &[u8]) {
    for (reader, got) in read_everywhere(image) {
        assert_eq!(
            got,
            want,
            "{reader} reads {}",
            String::from_utf8_lossy(&got)
        );
    }
}

/// The sectors (2048 bytes) that differ between two images (a longer one's tail included).
fn changed_sectors(a: &Path, b: &Path) -> Vec<u64> {
    let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    let sectors = a.len().max(b.len()).div_ceil(2048);
    (0..sectors as u64)
        .filter(|&s| {
            let r = |v: &Vec<u8>| {
                v.get(s as usize * 2048..(s as usize + 1) * 2048)
                    .map(<[u8]>::to_vec)
            };
            r(&a) != r(&b)
        })
        .collect()
}

/// The data extents of the files at or below `path` in `image`, as xorriso reports them
/// (`-find PATH -exec report_lba`): block ranges.
fn report_lba(image: &Path, path: &str) -> Vec<std::ops::Range<u64>> {
    let i = image.to_str().unwrap();
    let out = tool(
        "xorriso",
        &["-indev", i, "-find", path, "-exec", "report_lba"],
        None,
    );
    // "Report layout: xt , Startlba ,   Blocks , Filesize , ISO image path"
    // "File data lba:  0 ,       35 ,        1 ,       41 , '/ks.cfg'"
    String::from_utf8(out)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("File data lba:"))
        .map(|l| {
            let f: Vec<u64> = l
                .split(',')
                .take(3)
                .map(|s| s.trim().parse().unwrap())
                .collect();
            f[1]..f[1] + f[2]
        })
        .collect()
}

/// The blocks of the file `path` in `image`.
fn blocks_of(image: &Path, path: &str) -> std::ops::Range<u64> {
    report_lba(image, path).remove(0)
}

/// The block after the last file data of `image`.
fn data_end(image: &Path) -> u64 {
    report_lba(image, "/")
        .into_iter()
        .map(|r| r.end)
        .max()
        .unwrap()
}

/// The blocks of the root directory of each tree: from the root directory record of each
/// volume descriptor (ECMA-119 8.4.18: byte 156; its extent at +2, its size at +10, both
/// little-endian first).
fn root_directories(image: &Path) -> Vec<std::ops::Range<u64>> {
    let bytes = std::fs::read(image).unwrap();
    let mut out = Vec::new();
    for s in 16.. {
        let d = &bytes[s * 2048..(s + 1) * 2048];
        if d[0] == 255 {
            break;
        }
        if d[0] == 1 || d[0] == 2 {
            let le = |at: usize| u32::from_le_bytes(d[at..at + 4].try_into().unwrap()) as u64;
            let (extent, size) = (le(156 + 2), le(156 + 10));
            out.push(extent..extent + size.div_ceil(2048));
        }
    }
    out
}

/// The volume size isoinfo reports, in blocks.
fn volume_blocks(image: &Path) -> u64 {
    let out = String::from_utf8(tool(
        "isoinfo",
        &["-d", "-i", image.to_str().unwrap()],
        None,
    ))
    .unwrap();
    let line = out
        .lines()
        .find(|l| l.starts_with("Volume size is:"))
        .unwrap();
    line[15..].trim().parse().unwrap()
}

/// The tree xorriso extracts from `image`, as (path, mode, bytes), and the listing `bsdtar
/// -tv` gives (modes, owners, times).
fn extracted(image: &Path) -> (Vec<(String, Vec<u8>)>, String) {
    let dir = scratch();
    let out = dir.path().join("x");
    xorriso_extract(image, "/", &out);
    let mut files = Vec::new();
    for e in walkdir(&out) {
        let rel = e.strip_prefix(&out).unwrap().display().to_string();
        files.push((rel, std::fs::read(&e).unwrap_or_default()));
    }
    files.sort();
    let listing = tool("bsdtar", &["-tvf", image.to_str().unwrap()], None);
    (files, String::from_utf8(listing).unwrap())
}

/// Every path under `dir`.
fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walkdir(&p));
        }
        out.push(p);
    }
    out
}

#[test]
fn a_same_size_and_a_smaller_kickstart_patch_only_their_sectors() {
    let dir = scratch();
    let image = installer(dir.path());
    let before = dir.path().join("before.iso");
    std::fs::copy(&image, &before).unwrap();
    let file = blocks_of(&image, "/ks.cfg");
    let roots = root_directories(&image);
    let same: Vec<u8> = KICKSTART.iter().map(|b| b.to_ascii_uppercase()).collect();
    let host = dir.path().join("ks.cfg");
    for (i, new) in [same, b"# smaller\n".to_vec()].into_iter().enumerate() {
        std::fs::write(&host, &new).unwrap();
        let rewritten = dir.path().join(format!("rewritten-{i}.iso"));
        let out = edit(
            &image,
            &[
                "upload",
                host.to_str().unwrap(),
                "/ks.cfg",
                ":",
                "changes",
                ":",
                "commit",
                "--rewrite",
                rewritten.to_str().unwrap(),
                ":",
                "commit",
                "--in-place",
            ],
        );
        assert!(out.contains("commit: in place"), "{out}");
        all_read(&image, &new);
        assert!(
            checkisomd5(&image),
            "checkisomd5 passes the re-implanted sum"
        );
        assert_eq!(
            std::fs::metadata(&image).unwrap().len(),
            std::fs::metadata(&before).unwrap().len()
        );
        let changed = changed_sectors(&before, &image);
        let expected =
            |s: &u64| s == &16 || file.contains(s) || roots.iter().any(|r| r.contains(s));
        assert!(
            changed.iter().all(expected),
            "{changed:?} outside the file {file:?}, the roots {roots:?} and the PVD"
        );
        assert!(
            changed.contains(&file.start),
            "the file's first sector changed: {changed:?}"
        );
        // The smaller file's size changes in the records of every tree (the same size may
        // leave them as they were, within the second the image was made).
        for r in roots.iter().filter(|_| i == 1) {
            assert!(
                changed.iter().any(|s| r.contains(s)),
                "the records of every tree: {changed:?} {r:?}"
            );
        }
        // The same session rewritten reads the same.
        assert_eq!(extracted(&image), extracted(&rewritten));
        assert_eq!(read_everywhere(&rewritten), read_everywhere(&image));
    }
}

/// The installer image, a copy of it as it was, its volume's blocks, the end of its data and
/// the blocks of `/ks.cfg`: what the growth tests compare against.
struct Grown {
    image: PathBuf,
    before: PathBuf,
    old_blocks: u64,
    data_end: u64,
    file: std::ops::Range<u64>,
}

impl Grown {
    fn new(dir: &Path) -> Grown {
        let image = installer(dir);
        let before = dir.join("before.iso");
        std::fs::copy(&image, &before).unwrap();
        Grown {
            old_blocks: volume_blocks(&image),
            data_end: data_end(&image),
            file: blocks_of(&image, "/ks.cfg"),
            image,
            before,
        }
    }
}

#[test]
fn a_larger_file_grows_the_image_at_its_end() {
    let dir = scratch();
    let Grown {
        image,
        before,
        old_blocks,
        data_end,
        file,
    } = Grown::new(dir.path());
    let roots = root_directories(&image);
    // Larger than the free space inside the volume (xorriso's 300 KiB of padding).
    let big: Vec<u8> = (0..60_000u32)
        .flat_map(|i| format!("part {i}\n").into_bytes())
        .collect();
    let host = dir.path().join("ks.cfg");
    std::fs::write(&host, &big).unwrap();
    let rewritten = dir.path().join("rewritten.iso");
    edit(
        &image,
        &[
            "upload",
            host.to_str().unwrap(),
            "/ks.cfg",
            ":",
            "commit",
            rewritten.to_str().unwrap(),
            ":",
            "commit",
            "--in-place",
        ],
    );
    all_read(&image, &big);
    assert!(checkisomd5(&image));
    let new_blocks = volume_blocks(&image);
    assert_eq!(new_blocks, old_blocks + (big.len() as u64).div_ceil(2048));
    assert_eq!(std::fs::metadata(&image).unwrap().len(), new_blocks * 2048);
    let start = blocks_of(&image, "/ks.cfg").start;
    assert!(
        start >= data_end,
        "placed past the old data ({start} < {data_end})"
    );
    let changed = changed_sectors(&before, &image);
    let descriptors = 16..19;
    let expected =
        |s: &u64| descriptors.contains(s) || *s >= data_end || roots.iter().any(|r| r.contains(s));
    assert!(changed.iter().all(expected), "{changed:?}");
    assert!(
        !changed.iter().any(|s| file.contains(s)),
        "the old sectors are left alone"
    );
    assert_eq!(extracted(&image), extracted(&rewritten));
}

/// A file that outgrows its sectors but fits the zeros inside the volume that nothing uses
/// (xorriso's padding after the data) goes there: the image keeps its size.
#[test]
fn a_larger_file_that_fits_free_space_inside_the_volume_goes_there() {
    let dir = scratch();
    let Grown {
        image,
        before,
        old_blocks,
        data_end,
        file,
    } = Grown::new(dir.path());
    let grown: Vec<u8> = (0..5_000u32)
        .flat_map(|i| format!("part {i}\n").into_bytes())
        .collect();
    let host = dir.path().join("ks.cfg");
    std::fs::write(&host, &grown).unwrap();
    let upload = |image: &Path| {
        let words = [
            "upload",
            host.to_str().unwrap(),
            "/ks.cfg",
            ":",
            "changes",
            "-v",
        ];
        let said = edit(image, &words);
        all_read(image, &grown);
        said
    };
    let said = upload(&image);
    assert!(said.contains("in free space inside the volume"), "{said}");
    assert!(checkisomd5(&image));
    assert_eq!(volume_blocks(&image), old_blocks);
    assert_eq!(
        std::fs::metadata(&image).unwrap().len(),
        std::fs::metadata(&before).unwrap().len()
    );
    let now = blocks_of(&image, "/ks.cfg");
    assert!(
        now.start >= data_end && now.end <= old_blocks,
        "{now:?} lies in the padding ({data_end}..{old_blocks})"
    );
    assert!(!changed_sectors(&before, &image)
        .iter()
        .any(|s| file.contains(s)));

    // Where the padding holds data (something no tree knows of), it is not taken: the file
    // goes after the volume, which grows.
    let dirty = dir.path().join("dirty.iso");
    std::fs::copy(&before, &dirty).unwrap();
    let mut bytes = std::fs::read(&dirty).unwrap();
    for block in data_end..old_blocks {
        bytes[(block * 2048) as usize] = 0x5a;
    }
    std::fs::write(&dirty, &bytes).unwrap();
    let said = upload(&dirty);
    assert!(said.contains("after the volume"), "{said}");
    assert!(volume_blocks(&dirty) > old_blocks);
    // The marked blocks moved after the new data with the rest of the tail, none lost.
    let fresh = std::fs::read(&dirty).unwrap();
    let marked = fresh.chunks(2048).filter(|b| b[0] == 0x5a).count() as u64;
    assert!(
        marked >= old_blocks - data_end,
        "{marked} marked blocks left"
    );
}

#[test]
fn modes_owners_times_and_the_label_patch_in_place_as_a_rewrite_writes_them() {
    let dir = scratch();
    let image = installer(dir.path());
    let rewritten = dir.path().join("rewritten.iso");
    let out = edit(
        &image,
        &[
            "chmod",
            "0600",
            "/ks.cfg",
            ":",
            "chown",
            "1000",
            "100",
            "/isolinux/isolinux.cfg",
            ":",
            "utimens",
            "/data.bin",
            "1000000000",
            "0",
            "1200000000",
            "0",
            ":",
            "set-label",
            "/dev/sda",
            "REMASTERED",
            ":",
            "changes",
            ":",
            "commit",
            rewritten.to_str().unwrap(),
            ":",
            "commit",
            "--in-place",
        ],
    );
    assert!(out.contains("commit: in place"), "{out}");
    assert_eq!(extracted(&image), extracted(&rewritten));
    let listing = extracted(&image).1;
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("-rw-------") && l.ends_with("ks.cfg")),
        "{listing}"
    );
    assert!(
        listing
            .lines()
            .any(|l| l.contains("1000") && l.contains("100") && l.ends_with("isolinux.cfg")),
        "{listing}"
    );
    for args in [&["-d"][..], &["-d", "-J"]] {
        let mut a = args.to_vec();
        a.extend(["-i", image.to_str().unwrap()]);
        let d = String::from_utf8(tool("isoinfo", &a, None)).unwrap();
        assert!(d.contains("Volume id: REMASTERED"), "{d}");
    }
    assert!(checkisomd5(&image));
}

#[test]
fn tree_changes_rewrite_and_in_place_says_why() {
    let dir = scratch();
    let image = installer(dir.path());
    let before = std::fs::read(&image).unwrap();
    let out = isofish()
        .arg("-a")
        .arg(&image)
        .args([
            "write",
            "/new.txt",
            "x",
            ":",
            "changes",
            ":",
            "commit",
            "--in-place",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stdout.contains("commit: rewrite (/new.txt: added"),
        "{stdout}"
    );
    assert!(
        stderr.contains("commit --in-place: /new.txt: added"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&image).unwrap(), before, "nothing written");
    // Without --in-place the same change is a rewrite.
    edit(&image, &["write", "/new.txt", "x"]);
    assert_eq!(
        tool(
            "bsdtar",
            &["-xOf", image.to_str().unwrap(), "new.txt"],
            None
        ),
        b"x"
    );
    assert!(checkisomd5(&image));
}

#[test]
fn killed_after_any_write_the_next_open_rolls_back_to_old_or_new() {
    let dir = scratch();
    let image = installer(dir.path());
    let before = dir.path().join("before.iso");
    std::fs::copy(&image, &before).unwrap();
    let big: Vec<u8> = (0..3_000u32)
        .flat_map(|i| format!("line {i}\n").into_bytes())
        .collect();
    let host = dir.path().join("ks.cfg");
    std::fs::write(&host, &big).unwrap();
    let mut finished = false;
    for step in 1..40 {
        std::fs::copy(&before, &image).unwrap();
        let out = isofish()
            .env("ISOFISH_DEBUG_INPLACE_KILL", step.to_string())
            .arg("-a")
            .arg(&image)
            .args([
                "upload",
                host.to_str().unwrap(),
                "/ks.cfg",
                ":",
                "commit",
                "--in-place",
            ])
            .output()
            .unwrap();
        finished = out.status.success();
        if !finished {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                out.status.signal(),
                Some(9),
                "killed at step {step}: {out:?}"
            );
        }
        let journal = PathBuf::from(format!("{}.isofish-undo", image.display()));
        if journal.exists() {
            // A read-only session writes nothing, so it cannot roll back: it says so.
            let ro = isofish()
                .arg("--ro")
                .arg("-a")
                .arg(&image)
                .args(["ls", "/"])
                .output()
                .unwrap();
            assert_eq!(ro.status.code(), Some(1));
            assert!(String::from_utf8_lossy(&ro.stderr).contains("was interrupted"));
        }
        // The next open rolls back (a session with nothing staged commits nothing).
        let opened = isofish()
            .arg("-a")
            .arg(&image)
            .args(["cat", "/ks.cfg"])
            .output()
            .unwrap();
        assert!(opened.status.success(), "{opened:?}");
        assert!(!journal.exists());
        let seen = opened.stdout;
        assert!(
            seen == KICKSTART || seen == big,
            "step {step}: a mix: {}",
            String::from_utf8_lossy(&seen)
        );
        all_read(&image, &seen);
        assert!(checkisomd5(&image), "step {step}");
        if seen == KICKSTART {
            assert_eq!(
                std::fs::read(&image).unwrap(),
                std::fs::read(&before).unwrap(),
                "step {step}: the old image, byte for byte"
            );
        }
        if finished {
            assert_eq!(seen, big);
            break;
        }
    }
    assert!(finished, "the commit finished once no step killed it");
}

#[test]
fn a_commit_in_progress_locks_out_another() {
    let dir = scratch();
    let image = installer(dir.path());
    let before = std::fs::read(&image).unwrap();
    // A rewrite that stalls mid-commit, holding the image's commit lock.
    let mut first = Command::new(assert_cmd::cargo::cargo_bin("isofish"))
        .env("ISOFISH_DEBUG_COMMIT_STALL", "1")
        .arg("-a")
        .arg(&image)
        .args([
            "write",
            "/ks.cfg",
            "first",
            ":",
            "echo",
            "committing",
            ":",
            "commit",
            "--rewrite",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(first.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "committing\n");
    // It stalls once its temporary file has bytes: the lock is held from before.
    let stalled = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".tmp"))
    };
    for _ in 0..600 {
        if stalled() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(stalled(), "the first commit reached its stall");
    let second = isofish()
        .arg("-a")
        .arg(&image)
        .args(["write", "/ks.cfg", "second", ":", "commit"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&second.stderr).to_string();
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(err.contains("another process is committing"), "{err}");
    assert_eq!(second.status.code(), Some(1));
    assert_eq!(std::fs::read(&image).unwrap(), before);
}

#[test]
fn an_image_changed_on_disk_since_it_was_opened_is_refused() {
    let dir = scratch();
    let image = installer(dir.path());
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("isofish"))
        .arg("-a")
        .arg(&image)
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "write /ks.cfg mine\necho staged").unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "staged\n");
    // Another program rewrites the image meanwhile.
    let theirs = std::fs::read(&image).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&image, &theirs).unwrap();
    let stamp = std::fs::metadata(&image).unwrap().modified().unwrap();
    writeln!(stdin, "commit").unwrap();
    drop(stdin);
    let done = child.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(1));
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(err.contains("changed on disk since it was opened"), "{err}");
    assert_eq!(std::fs::read(&image).unwrap(), theirs);
    assert_eq!(
        std::fs::metadata(&image).unwrap().modified().unwrap(),
        stamp
    );
}

#[test]
fn an_image_on_a_read_only_filesystem_is_a_clear_error() {
    let dir = scratch();
    let image = installer(dir.path());
    let mnt = dir.path().join("ro");
    std::fs::create_dir(&mnt).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("isofish");
    // A private mount namespace (unshare, util-linux): a tmpfs holding a copy, remounted
    // read-only, where the commit runs.
    let script = format!(
        "mount -t tmpfs tmpfs {m} && cp {i} {m}/a.iso && mount -o remount,ro {m} && \
         {b} -a {m}/a.iso write /ks.cfg x : commit 2>&1; echo rc=$?; cmp {i} {m}/a.iso && echo same",
        m = mnt.display(),
        i = image.display(),
        b = bin.display()
    );
    let out = tool("unshare", &["-rm", "sh", "-c", &script], None);
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("rc=1") && out.contains("same"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
}

#[test]
fn a_bridge_image_has_its_udf_file_entry_patched_too() {
    let dir = scratch();
    let tree = kickstart_tree(dir.path());
    std::fs::write(tree.join("readme.txt"), b"a bridge disc\n").unwrap();
    let image = dir.path().join("bridge.iso");
    let i = genisoimage(&["-udf"], &tree, &image);
    let before = std::fs::read(&image).unwrap();
    let new = b"# kickstart, patched\n";
    let out = write_ks_in_place(&image, new, &["chmod", "0600", "/ks.cfg", ":"]);
    assert!(out.contains("commit: in place"), "{out}");
    assert_eq!(
        std::fs::metadata(&image).unwrap().len(),
        before.len() as u64
    );
    // 7z reads the UDF side of a bridge disc; isoinfo the ISO 9660 side.
    let slt = String::from_utf8(tool("7z", &["l", "-slt", i], None)).unwrap();
    assert!(slt.contains("Type = Udf"), "{slt}");
    assert_eq!(tool("7z", &["e", "-so", i, "ks.cfg"], None), new);
    assert_eq!(
        tool("isoinfo", &["-R", "-i", i, "-x", "/ks.cfg"], None),
        new
    );
    assert_eq!(
        tool("isoinfo", &["-J", "-i", i, "-x", "/ks.cfg"], None),
        new
    );
    // Both trees show the new mode; the UDF entry's tag checks (isofish verifies its CRC).
    for fs in ["udf", "iso9660"] {
        let ll = isofish()
            .args([
                "--ro",
                "-a",
                i,
                "-m",
                &format!("/dev/sda:/:{fs}"),
                "ll",
                "/ks.cfg",
            ])
            .output()
            .unwrap();
        assert!(ll.status.success(), "{ll:?}");
        let text = String::from_utf8(ll.stdout).unwrap();
        assert!(text.starts_with("-rw------- "), "{fs}: {text}");
    }
}

#[test]
fn implant_md5_alone_patches_in_place_as_implantisomd5_does() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let data: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(tree.join("data.bin"), data).unwrap();
    let image = dir.path().join("plain.iso");
    let (t, i) = (tree.to_str().unwrap(), image.to_str().unwrap());
    tool(
        "xorriso",
        &["-as", "mkisofs", "-quiet", "-R", "-o", i, t],
        None,
    );
    let by_tool = dir.path().join("tool.iso");
    std::fs::copy(&image, &by_tool).unwrap();
    tool("implantisomd5", &["-f", by_tool.to_str().unwrap()], None);
    edit(&image, &["commit", "--implant-md5"]);
    assert!(checkisomd5(&image));
    assert_eq!(
        std::fs::read(&image).unwrap(),
        std::fs::read(&by_tool).unwrap(),
        "the bytes implantisomd5 -f writes"
    );
}

#[test]
fn a_file_with_a_name_outside_the_tree_commits_in_place() {
    // genisoimage records the host's link count: 2 for a file with a second name that the
    // image does not hold. Its data has one name on the disc, and changes in place.
    let dir = scratch();
    let tree = kickstart_tree(dir.path());
    std::fs::hard_link(tree.join("ks.cfg"), dir.path().join("outside")).unwrap();
    std::fs::write(tree.join("a.txt"), b"linked\n").unwrap();
    std::fs::hard_link(tree.join("a.txt"), tree.join("b.txt")).unwrap();
    let image = dir.path().join("linked.iso");
    let i = genisoimage(&[], &tree, &image);
    let ll = edit(&image, &["stat", "/ks.cfg", ":", "stat", "/a.txt"]);
    assert_eq!(ll.matches("nlink: 2").count(), 2, "{ll}");
    let before = std::fs::read(&image).unwrap();
    let new = b"# kickstart, changed\n";
    let out = write_ks_in_place(&image, new, &[]);
    assert!(out.contains("commit: in place"), "{out}");
    assert_eq!(std::fs::read(&image).unwrap().len(), before.len());
    all_read(&image, new);
    // Two names of one file on the disc: the data is theirs together, a rewrite.
    let out = edit(&image, &["write", "/a.txt", "x", ":", "changes"]);
    assert!(
        out.contains("commit: rewrite (/a.txt: its data is shared with another file)"),
        "{out}"
    );
    assert_eq!(
        tool("isoinfo", &["-R", "-i", i, "-x", "/b.txt"], None),
        b"x"
    );
}
