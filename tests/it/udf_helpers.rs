//! Helpers of the UDF tests: the images made on demand by `tests/fixtures/make-udf.sh`, a walk
//! of a UDF tree through the library, and the oracles' views of the same tree (7z, udfclient,
//! pycdlib, udfinfo).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use isofish::fs::{self, DirEntry, FileKind, FileSystem, Ino, Metadata, MountOptions};
use isofish::ondisk::crc::udf16;
use isofish::source::FileSource;

use crate::common;

/// The directory holding the larger images, built once per test run (and reused while
/// `make-udf.sh` is unchanged).
pub fn big(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("udf-fixtures");
        let script = common::root().join("tests/fixtures/make-udf.sh");
        let text = std::fs::read(&script).expect("make-udf.sh");
        let stamp = dir.join("make-udf.sh.stamp");
        if std::fs::read(&stamp).ok().as_deref() != Some(&text[..]) {
            let _ = std::fs::remove_dir_all(&dir);
            common::tool(
                script.to_str().expect("utf-8 path"),
                &[dir.to_str().expect("utf-8 path")],
                None,
            );
            std::fs::write(&stamp, &text).expect("stamp");
        }
        dir
    });
    dir.join(name)
}

/// Opens `image` through the library with mount options `opts`.
pub fn open(image: &Path, opts: &str) -> Arc<dyn FileSystem> {
    let src = Arc::new(FileSource::open(image).expect("image opens"));
    fs::open(src, &MountOptions::parse(opts)).expect("filesystem opens")
}

/// One file as the walk saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub meta: Metadata,
    pub ino: Ino,
    /// The bytes of a regular file.
    pub data: Option<Vec<u8>>,
}

/// Every path below the root (`a/b`, no leading slash) with its metadata and file bytes.
pub fn walk(fs: &dyn FileSystem) -> BTreeMap<String, Seen> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(String::new(), fs.root())];
    while let Some((prefix, dir)) = stack.pop() {
        for e in fs.read_dir(dir).expect("read_dir") {
            let name = String::from_utf8(e.name.clone()).expect("utf-8 name");
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let data = (e.meta.kind == FileKind::File).then(|| read_all(fs, e.ino, e.meta.size));
            if e.meta.is_dir() {
                stack.push((path.clone(), e.ino));
            }
            out.insert(
                path,
                Seen {
                    meta: e.meta,
                    ino: e.ino,
                    data,
                },
            );
        }
    }
    out
}

/// The entry at the '/'-separated `path` below the root; panics when a step is missing or fails.
pub fn entry(fs: &dyn FileSystem, path: &str) -> DirEntry {
    let mut ino = fs.root();
    let mut found = None;
    for name in path.split('/') {
        let e = fs
            .lookup(ino, name.as_bytes())
            .expect("lookup")
            .unwrap_or_else(|| panic!("{path}: {name} not found"));
        ino = e.ino;
        found = Some(e);
    }
    found.expect("a non-empty path")
}

/// Recomputes checksum and CRC of the descriptor at `at` (its CRC length unchanged).
pub fn fix_tag(img: &mut [u8], at: usize) {
    let len = usize::from(u16::from_le_bytes([img[at + 10], img[at + 11]]));
    let crc = udf16(&img[at + 16..at + 16 + len]);
    img[at + 8..at + 10].copy_from_slice(&crc.to_le_bytes());
    img[at + 4] = img[at..at + 16]
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != 4)
        .fold(0u8, |s, (_, &b)| s.wrapping_add(b));
}

/// A whole file through `read_at`, in odd-sized pieces to cross extent edges.
pub fn read_all(fs: &dyn FileSystem, ino: Ino, size: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0; 3000];
    loop {
        let n = fs
            .read_at(ino, out.len() as u64, &mut buf)
            .expect("read_at");
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    assert_eq!(out.len() as u64, size, "bytes read = size");
    out
}

/// `YYYY-MM-DD HH:MM:SS` of a Unix time, UTC.
pub fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    // Civil from days (proleptic Gregorian).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// 7z's view of one entry: directory or not, size, packed size, modification time, links.
#[derive(Debug, PartialEq, Eq)]
pub struct SevenZip {
    pub dir: bool,
    pub size: Option<u64>,
    pub packed: Option<u64>,
    pub modified: String,
    pub links: Option<u32>,
}

/// `7z l -tudf -slt IMAGE`, by path, times in UTC to the second.
pub fn seven_zip_list(image: &Path) -> BTreeMap<String, SevenZip> {
    let out = Command::new("7z")
        .args(["l", "-tudf", "-slt"])
        .arg(image)
        .env("TZ", "UTC")
        .output()
        .expect("7z runs (.ci/run installs p7zip-full)");
    assert!(
        out.status.success(),
        "7z l failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let body = text.split_once("\n----------\n").expect("7z entry list").1;
    let mut map = BTreeMap::new();
    for block in body.split("\n\n").filter(|b| b.contains("Path = ")) {
        let field = |k: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{k} = ")).map(str::to_string))
        };
        let num = |k: &str| field(k).and_then(|v| v.parse().ok());
        let path = field("Path").expect("path");
        let modified = field("Modified").unwrap_or_default();
        map.insert(
            path,
            SevenZip {
                dir: field("Folder").as_deref() == Some("+"),
                size: num("Size"),
                packed: num("Packed Size"),
                modified: modified.get(..19).unwrap_or(&modified).to_string(),
                links: num("Links").map(|n: u64| n as u32),
            },
        );
    }
    map
}

/// Extracts `image` with `7z x -tudf` into a new scratch directory.
pub fn seven_zip_extract(image: &Path) -> tempfile::TempDir {
    let dir = common::scratch();
    let out = format!("-o{}", dir.path().display());
    common::tool(
        "7z",
        &["x", "-tudf", "-y", &out, image.to_str().expect("utf-8")],
        None,
    );
    dir
}

/// Holds the walk of `image` (mounted with `opts`) against 7z: the same paths, kinds, sizes,
/// packed sizes, modification times and link counts, and the same bytes in every file.
pub fn assert_matches_7z(image: &Path, opts: &str) -> BTreeMap<String, Seen> {
    let fs = open(image, opts);
    let ours = walk(fs.as_ref());
    let theirs = seven_zip_list(image);
    let ours_view: BTreeMap<String, SevenZip> = ours
        .iter()
        .map(|(p, s)| {
            let dir = s.meta.is_dir();
            (
                p.clone(),
                SevenZip {
                    dir,
                    size: (!dir).then_some(s.meta.size),
                    packed: (!dir).then_some(s.meta.allocated),
                    modified: utc(s.meta.mtime.secs),
                    links: Some(s.meta.nlink),
                },
            )
        })
        .collect();
    assert_eq!(
        ours_view,
        theirs,
        "{}: the tree as 7z lists it",
        image.display()
    );
    assert_extents_hold_the_data(image, fs.as_ref(), &ours);
    let extracted = seven_zip_extract(image);
    for (path, seen) in &ours {
        if let Some(data) = &seen.data {
            let want = std::fs::read(extracted.path().join(path)).expect("7z extracted the file");
            assert!(
                data == &want,
                "{}: {path} differs from 7z's",
                image.display()
            );
        }
    }
    ours
}

/// udfclient's `ls` of each directory: name → (mode string, uid, gid, size). Names with
/// characters beyond ASCII are mangled by udfclient (`caf_#7BB7.txt`); they are keyed by
/// [`udfclient_name`].
pub fn udfclient_list(
    image: &Path,
    block_size: u32,
    dirs: &[&str],
) -> BTreeMap<String, (String, i64, i64, u64)> {
    let bs = block_size.to_string();
    let run = |script: String| {
        let mut child = Command::new("udfclient")
            .args(["-b", &bs])
            .arg(image)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("udfclient runs (.ci/run installs it)");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(script.as_bytes())
            .expect("script");
        let out = child.wait_with_output().expect("udfclient");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let top = run("ls\nquit\n".into());
    let volume = top
        .lines()
        .find(|l| l.starts_with('d'))
        .and_then(|l| l.split_whitespace().last())
        .expect("udfclient shows the volume")
        .to_string();
    let mut map = BTreeMap::new();
    for dir in dirs {
        let cd = if dir.is_empty() {
            String::new()
        } else {
            format!("cd {dir}\n")
        };
        let text = run(format!("cd {volume}\n{cd}ls\nquit\n"));
        // The last listing is the directory's (udfclient lists the volumes on start).
        let listing = text
            .rsplit("Directory listing of")
            .next()
            .unwrap_or_default();
        for line in listing.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 5 || !f[0].starts_with(['-', 'd', 'l']) || f[4] == "." || f[4] == ".." {
                if line.contains("UDF>") {
                    break;
                }
                continue;
            }
            let name = f[4..].join(" ");
            let path = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            map.insert(
                path,
                (
                    f[0].to_string(),
                    f[1].parse().expect("uid"),
                    f[2].parse().expect("gid"),
                    f[3].parse().expect("size"),
                ),
            );
        }
    }
    map
}

/// Our name of `path` as udfclient's listing is keyed: udfclient mangles names with
/// characters beyond ASCII (`€uro.txt` becomes `_uro#EE33.txt`), so such a name is keyed by
/// its ASCII characters other than `_`, without its extension, and a `#`.
pub fn udfclient_name(path: &str) -> String {
    let (dir, name) = path.rsplit_once('/').map_or(("", path), |(d, n)| (d, n));
    if name.is_ascii() {
        return path.to_string();
    }
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let kept: String = stem.chars().filter(|c| c.is_ascii() && *c != '_').collect();
    if dir.is_empty() {
        format!("{kept}#")
    } else {
        format!("{dir}/{kept}#")
    }
}

/// A path of udfclient's listing, keyed as [`udfclient_name`] keys ours.
pub fn udfclient_key(path: &str) -> String {
    match path.split_once('#') {
        Some((head, _)) => {
            let (dir, name) = head.rsplit_once('/').map_or(("", head), |(d, n)| (d, n));
            let kept: String = name.chars().filter(|&c| c != '_').collect();
            if dir.is_empty() {
                format!("{kept}#")
            } else {
                format!("{dir}/{kept}#")
            }
        }
        None => path.to_string(),
    }
}

/// `ls -l`-style mode string of our metadata, as udfclient prints it.
pub fn mode_string(meta: &Metadata) -> String {
    let mut s = String::from(if meta.is_dir() { "d" } else { "-" });
    for shift in [6, 3, 0] {
        let bits = (meta.mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// `udfinfo IMAGE` as key → value.
pub fn udfinfo(image: &Path) -> BTreeMap<String, String> {
    let out = common::tool("udfinfo", &[image.to_str().expect("utf-8")], None);
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| !k.contains(' ') && !k.starts_with("start"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Every regular file's extents, read straight from the image (holes as zeros), give the
/// bytes `read_at` gave; returns how many files had extents.
pub fn assert_extents_hold_the_data(
    image: &Path,
    fs: &dyn FileSystem,
    seen: &BTreeMap<String, Seen>,
) -> usize {
    use std::os::unix::fs::FileExt;
    let img = std::fs::File::open(image).expect("image");
    let mut with = 0;
    for (path, s) in seen {
        let Some(data) = &s.data else { continue };
        let Some(extents) = fs.spans(s.ino).expect("extents") else {
            continue;
        };
        with += 1;
        let mut bytes = Vec::new();
        for e in extents {
            let start = bytes.len();
            bytes.resize(start + e.len() as usize, 0);
            if let Some(off) = e.source_offset() {
                img.read_exact_at(&mut bytes[start..], off)
                    .expect("extent in the image");
            }
        }
        assert!(
            &bytes == data,
            "{}: {path}: extents hold other bytes",
            image.display()
        );
    }
    with
}
