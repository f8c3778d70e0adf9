//! The cpio header encoders against the bytes GNU cpio writes: every header of archives made
//! with `-H newc`, `-H crc`, `-H odc` and `-H bin` is decoded, encoded back and compared with
//! the archive's bytes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use isofish::fs::cpio::bin::{self, Bin};
use isofish::fs::cpio::header::Header;
use isofish::fs::cpio::newc::{self, Newc};
use isofish::fs::cpio::odc::{self, Odc};

use crate::common;

/// Files of every kind cpio stores without privileges: regular (empty, small, odd-sized),
/// directories, a symlink, a hard link, a FIFO.
fn tree(dir: &Path) -> Vec<&'static str> {
    std::fs::create_dir_all(dir.join("d/e")).unwrap();
    std::fs::write(dir.join("empty"), "").unwrap();
    std::fs::write(dir.join("small"), "hello\n").unwrap();
    std::fs::write(dir.join("d/odd"), vec![b'x'; 1001]).unwrap();
    std::fs::write(dir.join("d/e/long-name-of-a-file-deep-down.txt"), "deep\n").unwrap();
    std::os::unix::fs::symlink("small", dir.join("link")).unwrap();
    std::fs::hard_link(dir.join("small"), dir.join("d/hard")).unwrap();
    common::tool("mkfifo", &[dir.join("fifo").to_str().unwrap()], None);
    vec![
        "d",
        "d/e",
        "d/e/long-name-of-a-file-deep-down.txt",
        "d/hard",
        "d/odd",
        "empty",
        "fifo",
        "link",
        "small",
    ]
}

/// The archive `cpio -o -H format` writes of `names` in `dir`.
fn archive(dir: &Path, names: &[&str], format: &str) -> Vec<u8> {
    let mut child = Command::new("cpio")
        .args(["-o", "--quiet", "-H", format])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cpio runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(names.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Walks the headers of `bytes`: decodes each with `decode`, checks that `encode` gives the
/// recorded bytes back, and returns the names seen, sorted (newc puts the members of a
/// hard-link group together), the trailer last.
fn walk<T: Copy + std::fmt::Debug + PartialEq, const LEN: usize>(
    bytes: &[u8],
    decode: fn(&[u8; LEN]) -> Option<T>,
    encode: fn(&T) -> [u8; LEN],
    header: fn(&T) -> Header,
) -> Vec<String> {
    let mut names = Vec::new();
    let mut at = 0usize;
    loop {
        let raw: &[u8; LEN] = bytes[at..at + LEN].try_into().unwrap();
        let h = decode(raw).unwrap_or_else(|| panic!("no header at {at}"));
        assert_eq!(&encode(&h), raw, "header at {at} re-encodes differently");
        assert_eq!(decode(&encode(&h)), Some(h));
        let common = header(&h);
        let align = common.align as usize;
        let name_at = at + LEN;
        let name = &bytes[name_at..name_at + common.namesize as usize - 1];
        names.push(String::from_utf8(name.to_vec()).unwrap());
        if name == b"TRAILER!!!" {
            let trailer = names.pop();
            names.sort();
            names.extend(trailer);
            return names;
        }
        let data = (name_at + common.namesize as usize).next_multiple_of(align);
        at = (data + common.filesize as usize).next_multiple_of(align);
    }
}

#[test]
fn gnu_cpio_headers_encode_as_recorded() {
    let dir = common::scratch();
    let names = tree(dir.path());
    let mut want: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    want.push("TRAILER!!!".into());
    for format in ["newc", "crc"] {
        let bytes = archive(dir.path(), &names, format);
        let seen = walk::<Newc, { newc::LEN }>(&bytes, Newc::decode, Newc::encode, Newc::header);
        assert_eq!(seen, want, "{format}");
    }
    let bytes = archive(dir.path(), &names, "odc");
    let encode = |h: &Odc| h.encode().expect("a decoded header fits");
    let seen = walk::<Odc, { odc::LEN }>(&bytes, Odc::decode, encode, Odc::header);
    assert_eq!(seen, want, "odc");
    let bytes = archive(dir.path(), &names, "bin");
    let seen = walk::<Bin, { bin::LEN }>(&bytes, Bin::decode, Bin::encode, Bin::header);
    assert_eq!(seen, want, "bin");
}
