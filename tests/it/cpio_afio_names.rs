//! cpio archives beyond the common formats: afio's large ASCII headers (`070727`, which afio
//! mixes with odc headers for files with big ids), read as libarchive (bsdtar) extracts them;
//! member names longer than Linux's PATH_MAX, as GNU cpio and bsdtar list them, up to a bound
//! (a 1 MiB name is refused).

use std::path::Path;

use isofish::fs::cpio::newc::Newc;

use crate::common::{scratch, tool};
use crate::host_tree::{assert_same, snapshot};
use crate::nested_cpio::{libarchive_extract, sh};
use crate::nested_util::{extract, make_tree, run, run_err, write, Kinds};

#[test]
fn afio_large_headers_read_as_libarchive_extracts_them() {
    let dir = scratch();
    let d = dir.path();
    let tree = d.join("tree");
    make_tree(
        &tree,
        Kinds {
            special: true,
            hard_links: true,
            owners: true,
            many: 20,
            large: 200_000,
        },
    );
    // Ids past 65535 need afio's large header; hard links of them too.
    write(&tree.join("big-ids"), b"owned by a big uid\n");
    std::os::unix::fs::chown(tree.join("big-ids"), Some(70_000), Some(70_001)).unwrap();
    std::fs::hard_link(tree.join("big-ids"), tree.join("dir/big-ids-link")).unwrap();
    sh(&format!(
        "find '{}' -exec touch -h -d '2023-11-14 22:13:20 UTC' {{}} +",
        tree.display()
    ));
    let image = d.join("archive.afio");
    sh(&format!(
        "cd '{}' && find . | LC_ALL=C sort | afio -o - 2>/dev/null > '{}'",
        tree.display(),
        image.display()
    ));
    let bytes = std::fs::read(&image).unwrap();
    let count = |magic: &[u8]| bytes.windows(6).filter(|w| *w == magic).count();
    assert!(count(b"070727") >= 2 && count(b"070707") > 10);
    let theirs = d.join("theirs");
    libarchive_extract(&image, &theirs);
    let ours = d.join("ours");
    extract(&image, &[], "/", &ours);
    let expected = snapshot(&theirs);
    assert_eq!(expected.nodes["big-ids"].uid, 70_000);
    assert!(!expected.links.is_empty());
    assert_same(&expected, &snapshot(&ours), "afio");
    let mounts = String::from_utf8(run(&image, &["mounts"])).unwrap();
    assert_eq!(mounts, "/dev/sda on / (cpio, odc, afio)\n");
}

/// A newc archive of the file `name` holding `data`, then the trailer.
fn newc_archive(name: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, mode, data) in [(name, 0o100644, data), (&b"TRAILER!!!"[..], 0, &[][..])] {
        let header = Newc {
            crc: false,
            ino: 1,
            mode,
            uid: 0,
            gid: 0,
            nlink: 1,
            mtime: 1_700_000_000,
            filesize: data.len() as u32,
            dev_major: 0,
            dev_minor: 0,
            rdev_major: 0,
            rdev_minor: 0,
            namesize: name.len() as u32 + 1,
            check: 0,
        };
        out.extend_from_slice(&header.encode());
        out.extend_from_slice(name);
        out.push(0);
        out.resize(out.len().next_multiple_of(4), 0);
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    out
}

/// A path of `len` bytes: directories of 100-byte names, then a file name.
fn long_path(len: usize) -> String {
    let mut p = String::new();
    let mut i = 0;
    while p.len() + 101 < len {
        p.push_str(&format!("{:0>100}/", i));
        i += 1;
    }
    p.push_str(&"f".repeat(len - p.len()));
    p
}

fn listed(tool_cmd: &str, image: &Path) -> String {
    let out = tool(
        "sh",
        &[
            "-c",
            &format!("{tool_cmd} < \"$1\"",),
            "sh",
            image.to_str().unwrap(),
        ],
        None,
    );
    String::from_utf8(out).unwrap()
}

#[test]
fn names_past_path_max_read_up_to_a_bound() {
    let dir = scratch();
    let d = dir.path();
    let name = long_path(5029);
    assert_eq!(name.len(), 5029);
    let image = d.join("long.cpio");
    std::fs::write(&image, newc_archive(name.as_bytes(), b"far down\n")).unwrap();
    // GNU cpio and bsdtar list the member as it is.
    assert_eq!(listed("cpio --quiet -t", &image), format!("{name}\n"));
    assert_eq!(listed("bsdtar -tf -", &image), format!("{name}\n"));
    let found = String::from_utf8(run(&image, &["find", "/"])).unwrap();
    assert_eq!(found.lines().last(), Some(name.as_str()));
    assert_eq!(run(&image, &["cat", &format!("/{name}")]), b"far down\n");
    // A 1 MiB name is refused, at the header that claims it.
    let huge = d.join("huge.cpio");
    std::fs::write(&huge, newc_archive(long_path(1 << 20).as_bytes(), b"x")).unwrap();
    let err = run_err(&huge, &["find", "/"]);
    assert!(
        err.contains("corrupt cpio header at offset 0")
            && err.contains(&format!("name size {}", (1 << 20) + 1)),
        "{err}"
    );
}
