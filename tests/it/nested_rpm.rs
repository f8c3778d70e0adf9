//! RPM packages built by rpmbuild from a small spec (modes and owners set with `%attr`, a
//! symlink, a hard link, an owned directory, a `%ghost`), with every payload compressor rpm
//! writes (gzip, xz, zstd, bzip2, lzma, none), read by isofish as rpm describes them (`rpm -qp`:
//! the header's name, version, release, arch, compressor, owner names, modes, times and symlink
//! targets) and as `rpm2cpio | cpio` and libarchive extract them; an installer-like ISO with a
//! `Packages/` folder walked ISO → RPM → file; a package with a file over 4 GiB, whose payload
//! is stripped (`07070X`), read through its header's file list as rpm2archive reads it; a
//! header whose PAYLOADCOMPRESSOR lies, the payload decoded as its magic says.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::{scratch, tool, xorriso_rr};
use crate::host_tree::{assert_same, snapshot, Tree};
use crate::nested_cpio::{cpio_extract, libarchive_extract, reference, sh};
use crate::nested_util::{extract, noise, run, write};

/// (name, rpm's `_binary_payload`): every compressor rpm writes payloads with.
const PAYLOADS: &[(&str, &str)] = &[
    ("gzip", "w9.gzdio"),
    ("xz", "w6.xzdio"),
    ("zstd", "w19.zstdio"),
    ("bzip2", "w9.bzdio"),
    ("lzma", "w6.lzdio"),
    ("none", "w0.ufdio"),
];

/// The spec of the test package; `TREE` is replaced by the prepared build root's contents.
pub const SPEC: &str = r#"Name: hello
Version: 1.2
Release: 3
Summary: a package built by isofish's tests
License: MIT
BuildArch: noarch
%description
A package built by isofish's tests.
%install
cp -a TREE/. %{buildroot}/
%files
%attr(0755,root,root) /usr/bin/hello
%dir %attr(0750,nobody,nogroup) /usr/share/hello
%attr(0600,daemon,bin) /usr/share/hello/secret
%dir /usr/share/hello/sub
/usr/share/hello/sub/deep.txt
/usr/share/hello/a.txt
/usr/share/hello/hard
/usr/share/hello/link
/usr/share/hello/large.bin
%ghost /var/log/hello.log
"#;

/// The files the spec packs, under `top`.
pub fn make_tree(top: &Path) {
    write(&top.join("usr/bin/hello"), b"#!/bin/sh\necho hello\n");
    write(&top.join("usr/share/hello/secret"), b"secret\n");
    write(&top.join("usr/share/hello/sub/deep.txt"), b"deep inside\n");
    write(&top.join("usr/share/hello/a.txt"), b"hello, package\n");
    write(&top.join("usr/share/hello/large.bin"), &noise(300_000, 3));
    write(&top.join("var/log/hello.log"), b"");
    std::fs::hard_link(
        top.join("usr/share/hello/a.txt"),
        top.join("usr/share/hello/hard"),
    )
    .unwrap();
    std::os::unix::fs::symlink("a.txt", top.join("usr/share/hello/link")).unwrap();
}

/// Builds `spec` (its `TREE` being `tree`) with `payload` in `dir`; returns the package,
/// renamed `NAME.rpm`.
pub fn rpmbuild(dir: &Path, spec: &str, tree: &Path, payload: &str, name: &str) -> PathBuf {
    let spec_path = dir.join(format!("{name}.spec"));
    std::fs::write(&spec_path, spec.replace("TREE", tree.to_str().unwrap())).unwrap();
    let top = dir.join(format!("{name}-top"));
    let define = |k: &str, v: &str| format!("{k} {v}");
    tool(
        "rpmbuild",
        &[
            "-bb",
            "--quiet",
            "--define",
            &define("_topdir", top.to_str().unwrap()),
            "--define",
            &define("_binary_payload", payload),
            "--define",
            &define("__spec_install_post", "%{nil}"),
            "--define",
            &define("_build_id_links", "none"),
            spec_path.to_str().unwrap(),
        ],
        None,
    );
    let built = std::fs::read_dir(top.join("RPMS/noarch"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let out = dir.join(format!("{name}.rpm"));
    std::fs::rename(built, &out).unwrap();
    out
}

/// `rpm -qp --qf FORMAT PACKAGE`.
fn query(package: &Path, format: &str) -> String {
    let out = tool(
        "rpm",
        &[
            "-qp",
            "--nodigest",
            "--nosignature",
            "--qf",
            format,
            package.to_str().unwrap(),
        ],
        None,
    );
    String::from_utf8(out).unwrap()
}

/// The value of `key` in isofish's `info` output.
fn info_value<'a>(info: &'a str, key: &str) -> &'a str {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in {info}"))
        .trim()
}

/// The members `rpm2cpio | cpio -t` lists, without `./`.
fn cpio_members(package: &Path) -> BTreeSet<String> {
    let out = tool(
        "sh",
        &[
            "-c",
            "rpm2cpio \"$1\" | cpio --quiet -t",
            "sh",
            package.to_str().unwrap(),
        ],
        None,
    );
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| l.trim_start_matches("./").to_string())
        .collect()
}

/// `tree` without the directories the payload implies but does not hold (`usr`...), which
/// extractors create with the time of the extraction; they must be directories.
fn members_only(mut tree: Tree, members: &BTreeSet<String>, what: &str) -> Tree {
    tree.nodes.retain(|path, node| {
        let kept = members.contains(path);
        assert!(
            kept || node.kind == 'd',
            "{what}: {path} is not in the payload"
        );
        kept
    });
    tree
}

#[test]
fn every_payload_reads_as_rpm_describes_and_rpm2cpio_extracts() {
    let dir = scratch();
    let d = dir.path();
    let tree = d.join("tree");
    make_tree(&tree);
    for (codec, payload) in PAYLOADS {
        let package = rpmbuild(d, SPEC, &tree, payload, codec);
        // The header, as rpm reads it.
        let info = String::from_utf8(run(&package, &["info", "/dev/sda"])).unwrap();
        let fields = query(
            &package,
            "%{NAME}\n%{VERSION}\n%{RELEASE}\n%{ARCH}\n%{PAYLOADCOMPRESSOR}\n",
        );
        let fields: Vec<&str> = fields.lines().collect();
        for (key, value) in ["Name", "Version", "Release", "Architecture"]
            .iter()
            .zip(&fields)
        {
            assert_eq!(info_value(&info, key), *value, "{codec}: {key}");
        }
        let compressor = info_value(&info, "Payload compressor");
        match fields[4] {
            "(none)" => assert!(compressor.starts_with(codec), "{codec}: {compressor}"),
            tag => assert_eq!(compressor, tag, "{codec}"),
        }
        let mut users: Vec<String> = Vec::new();
        for u in query(&package, "[%{FILEUSERNAME}\n]").lines() {
            if !users.iter().any(|x| x == u) {
                users.push(u.to_string());
            }
        }
        assert_eq!(info_value(&info, "Owners"), users.join(", "), "{codec}");
        assert!(info_value(&info, "Files").contains("1 %ghost"), "{codec}");
        // The tree, as rpm2cpio | cpio and libarchive extract it.
        let members = cpio_members(&package);
        let gnu = d.join(format!("{codec}-cpio"));
        cpio_extract(&package, "rpm2cpio", &gnu);
        let theirs = d.join(format!("{codec}-libarchive"));
        libarchive_extract(&package, &theirs);
        let ours = d.join(format!("{codec}-isofish"));
        extract(&package, &[], "/", &ours);
        let expected = members_only(reference(&theirs, &gnu), &members, codec);
        let ours = members_only(snapshot(&ours), &members, codec);
        assert!(!expected.links.is_empty(), "{codec}");
        assert!(!members.contains("var/log/hello.log"), "{codec}");
        assert_same(&expected, &ours, codec);
        // The modes, times and symlink targets the header records.
        let listed = query(
            &package,
            "[%{FILENAMES}\t%{FILEMODES:octal}\t%{FILEMTIMES}\t%{FILELINKTOS}\n]",
        );
        for line in listed.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            let Some(node) = ours.nodes.get(f[0].trim_start_matches('/')) else {
                assert_eq!(f[0], "/var/log/hello.log", "{codec}: {line}");
                continue;
            };
            let mode = u32::from_str_radix(f[1], 8).unwrap();
            match node.kind {
                'l' => assert_eq!(node.data, f[3].as_bytes(), "{codec}: {line}"),
                _ => assert_eq!(node.mode, mode & 0o7777, "{codec}: {line}"),
            }
            assert_eq!(node.mtime.to_string(), f[2], "{codec}: {line}");
        }
        let mounts = String::from_utf8(run(&package, &["mounts"])).unwrap();
        let detail = match *codec {
            "none" => "rpm, newc".to_string(),
            c => format!("rpm, newc, {c} decoded on demand"),
        };
        assert_eq!(mounts, format!("/dev/sda on / ({detail})\n"), "{codec}");
    }
}

#[test]
fn an_installer_iso_walks_from_the_disc_to_a_file_in_a_package() {
    let dir = scratch();
    let d = dir.path();
    let tree = d.join("tree");
    make_tree(&tree);
    let package = rpmbuild(d, SPEC, &tree, "w9.gzdio", "hello");
    let disc = d.join("disc");
    let name = format!("{}.rpm", query(&package, "%{NEVRA}").trim());
    write(
        &disc.join("Packages").join(&name),
        &std::fs::read(&package).unwrap(),
    );
    write(&disc.join("repodata/repomd.xml"), b"<repomd/>\n");
    let iso = d.join("installer.iso");
    xorriso_rr(&disc, &iso);
    let gnu = d.join("gnu");
    cpio_extract(&package, "rpm2cpio", &gnu);
    let inside = format!("/Packages/{name}");
    let large = run(
        &iso,
        &[
            "mount-loop",
            &inside,
            "/r",
            ":",
            "cat",
            "/r/usr/share/hello/large.bin",
        ],
    );
    assert_eq!(
        large,
        std::fs::read(gnu.join("usr/share/hello/large.bin")).unwrap()
    );
    // copy-out from the package's mount, byte for byte what rpm2cpio | cpio gives.
    let copied = d.join("copied");
    std::fs::create_dir(&copied).unwrap();
    run(
        &iso,
        &[
            "mount-loop",
            &inside,
            "/r",
            ":",
            "copy-out",
            "/r/usr/share/hello",
            copied.to_str().unwrap(),
        ],
    );
    for f in ["a.txt", "hard", "secret", "sub/deep.txt", "large.bin"] {
        assert_eq!(
            std::fs::read(copied.join("hello").join(f)).unwrap(),
            std::fs::read(gnu.join("usr/share/hello").join(f)).unwrap(),
            "{f}"
        );
    }
    // What the probe says of the package file: file(1)'s words, the type and compression.
    let file = String::from_utf8(run(&iso, &["file", &inside])).unwrap();
    let theirs = tool("file", &["-b", package.to_str().unwrap()], None);
    assert_eq!(file, String::from_utf8(theirs).unwrap());
    let vfs = String::from_utf8(run(&iso, &["vfs-type", &inside])).unwrap();
    let compressor = query(&package, "%{PAYLOADCOMPRESSOR}");
    assert_eq!(vfs, format!("rpm ({compressor})\n"));
    let info = String::from_utf8(run(&iso, &["info", &inside])).unwrap();
    assert_eq!(info_value(&info, "Type"), "rpm");
    assert_eq!(info_value(&info, "Name"), query(&package, "%{NAME}"));
}

#[test]
fn a_package_with_a_file_over_4_gib_reads_through_its_stripped_payload() {
    let dir = scratch();
    let d = dir.path();
    let tree = d.join("tree");
    std::fs::create_dir_all(tree.join("data/d")).unwrap();
    write(&tree.join("data/small"), b"small\n");
    std::os::unix::fs::symlink("small", tree.join("data/link")).unwrap();
    let huge = std::fs::File::create(tree.join("data/huge")).unwrap();
    huge.set_len((4 << 30) + 1).unwrap();
    let spec = r#"Name: big
Version: 1
Release: 1
Summary: a package with a file over 4 GiB
License: MIT
BuildArch: noarch
%description
A package with a file over 4 GiB.
%install
cp -a --sparse=always TREE/. %{buildroot}/
%files
/data
"#;
    let package = rpmbuild(d, spec, &tree, "w1.zstdio", "big");
    // rpm2cpio refuses it; rpm2archive gives a tar.
    let tar = d.join("big.tar");
    sh(&format!(
        "rpm2archive -n < '{}' > '{}'",
        package.display(),
        tar.display()
    ));
    let listed = tool(
        "tar",
        &["-tvf", tar.to_str().unwrap(), "--numeric-owner"],
        None,
    );
    let mut theirs: Vec<(String, String)> = String::from_utf8(listed)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let path = f[5].trim_start_matches("./").trim_end_matches('/');
            (path.to_string(), f[2].to_string())
        })
        .collect();
    theirs.sort();
    let found = String::from_utf8(run(&package, &["find", "/"])).unwrap();
    let paths: Vec<String> = found.lines().map(|p| format!("/{p}")).collect();
    let mut words = Vec::new();
    for p in &paths {
        words.extend([":", "lstat", p.as_str()]);
    }
    let stats = String::from_utf8(run(&package, &words[1..])).unwrap();
    let sizes = stats.lines().filter_map(|l| l.strip_prefix("size: "));
    let mut ours: Vec<(String, String)> = paths
        .iter()
        .map(|p| p[1..].to_string())
        .zip(sizes.map(str::to_string))
        .collect();
    ours.sort();
    // tar lists a symlink with size 0; rpm's header gives the target's length.
    for (path, size) in &mut theirs {
        if path == "data/link" {
            *size = "5".into();
        }
    }
    assert_eq!(ours, theirs);
    let small = tool(
        "tar",
        &["-xOf", tar.to_str().unwrap(), "./data/small"],
        None,
    );
    let out = run(
        &package,
        &[
            "cat",
            "/data/small",
            ":",
            "readlink",
            "/data/link",
            ":",
            "info",
            "/dev/sda",
        ],
    );
    let out = String::from_utf8(out).unwrap();
    let (cat, rest) = out.split_at(small.len());
    assert_eq!(cat.as_bytes(), small);
    assert!(rest.starts_with("small\n"), "{rest}");
    assert_eq!(info_value(rest, "Payload formats"), "stripped");
}

#[test]
fn the_payload_is_decoded_as_its_magic_says_whatever_the_header_claims() {
    let dir = scratch();
    let d = dir.path();
    let tree = d.join("tree");
    make_tree(&tree);
    let package = rpmbuild(d, SPEC, &tree, "w9.gzdio", "hello");
    // The header says zstd; the payload is gzip'd.
    let mut bytes = std::fs::read(&package).unwrap();
    let at = bytes
        .windows(5)
        .position(|w| w == b"gzip\0")
        .expect("PAYLOADCOMPRESSOR's value");
    assert_eq!(bytes.windows(5).filter(|w| *w == b"gzip\0").count(), 1);
    bytes[at..at + 4].copy_from_slice(b"zstd");
    let lying = d.join("lying.rpm");
    std::fs::write(&lying, bytes).unwrap();
    let said = query(&lying, "%{PAYLOADCOMPRESSOR}");
    assert_eq!(said, "zstd");
    let info = String::from_utf8(run(&lying, &["info", "/dev/sda"])).unwrap();
    assert_eq!(
        info_value(&info, "Payload compressor"),
        "zstd (the payload's magic says gzip)"
    );
    let gnu = d.join("gnu");
    cpio_extract(&package, "rpm2cpio", &gnu);
    assert_eq!(
        run(&lying, &["cat", "/usr/share/hello/large.bin"]),
        std::fs::read(gnu.join("usr/share/hello/large.bin")).unwrap()
    );
}
