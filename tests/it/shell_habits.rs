//! Guestfish habits of issue 19's small items: `tar-out / - | tar x` leaves the directory it
//! unpacks into alone (`root:true` keeps the `./` member), `mounts` names a type once, `info`
//! and `vfs-label` of a file inside the image, and the `version`, `lcd` and `clear` commands.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::common::{fixture, isofish, scratch, tool};

/// The members `tar -tvf` lists of `tarball`, with full UTC times.
fn tar_listing(tarball: &Path) -> Vec<String> {
    let out = std::process::Command::new("tar")
        .args(["--numeric-owner", "--full-time", "-tvf"])
        .arg(tarball)
        .env("TZ", "UTC")
        .output()
        .expect("tar runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// A fresh directory under `parent` with mode 0700 (the image's root has 0755) and a 2001
/// modification time.
fn fresh_target(parent: &Path, name: &str) -> std::path::PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    tool(
        "touch",
        &["-d", "2001-02-03 04:05:06 UTC", dir.to_str().unwrap()],
        None,
    );
    dir
}

/// (mode, mtime) of a host path.
fn mode_and_mtime(path: &Path) -> (u32, i64) {
    let m = std::fs::metadata(path).unwrap();
    (m.mode() & 0o7777, m.mtime())
}

#[test]
fn tar_out_leaves_the_extraction_directory_alone_unless_root_true() {
    let dir = scratch();
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for (options, with_root) in [(&[][..], false), (&["root:true"][..], true)] {
        let name = if with_root { "root" } else { "plain" };
        let tarball = dir.path().join(format!("{name}.tar"));
        let mut args = vec!["--ro", "-a", "tests/fixtures/sample.iso", "tar-out", "/"];
        args.push(tarball.to_str().unwrap());
        args.extend(options);
        isofish().args(&args).assert().success().stderr("");
        let listing = tar_listing(&tarball);
        let top: Vec<&String> = listing.iter().filter(|l| l.ends_with(" ./")).collect();
        assert_eq!(top.len(), usize::from(with_root), "{name}: {listing:?}");
        // Every other member is there either way.
        assert!(
            listing.iter().any(|l| l.ends_with(" ./README.TXT")),
            "{listing:?}"
        );

        let target = fresh_target(dir.path(), name);
        let before = mode_and_mtime(&target);
        // As the README has it: `tar-out / - | tar x` in the directory to fill.
        let status = std::process::Command::new("bash")
            .arg("-c")
            .arg("\"$ISOFISH\" --ro -a \"$IMAGE\" tar-out / - \"$@\" | tar xpf -")
            .arg("bash")
            .args(options)
            .env("ISOFISH", assert_cmd::cargo::cargo_bin("isofish"))
            .env("IMAGE", fixture("sample.iso"))
            .current_dir(&target)
            .status()
            .unwrap();
        assert!(status.success());
        assert!(target.join("README.TXT").exists());
        let after = mode_and_mtime(&target);
        if with_root {
            // The `./` member's mode and time, as tar lists them, land on the directory.
            let stat = std::process::Command::new("stat")
                .args(["-c", "%A %y"])
                .arg(&target)
                .env("TZ", "UTC")
                .output()
                .unwrap();
            let stat = String::from_utf8(stat.stdout).unwrap();
            let (perms, time) = stat.split_once(' ').unwrap();
            let member: Vec<&str> = top[0].split_whitespace().collect();
            assert_eq!(perms, member[0], "{stat} vs {}", top[0]);
            let listed = format!("{} {}", member[3], member[4]);
            assert!(time.starts_with(&listed), "{stat} vs {}", top[0]);
        } else {
            // The mode stays; the time is the host's, of the entries tar added, not the
            // image root's.
            assert_eq!(
                after.0, before.0,
                "the directory unpacked into keeps its mode"
            );
            assert!(
                after.1 >= started,
                "{after:?}: not the time of the extraction"
            );
            // And it is still writable by its owner.
            std::fs::write(target.join("touched"), b"").unwrap();
        }
    }
}

#[test]
fn mounts_names_a_udf_mount_type_once() {
    let image = fixture("udf-102-bridge.iso");
    let blkid = tool(
        "blkid",
        &["-p", "-o", "value", "-s", "TYPE", image.to_str().unwrap()],
        None,
    );
    let blkid = String::from_utf8(blkid).unwrap();
    let out = isofish()
        .arg("--ro")
        .arg("-a")
        .arg(&image)
        .args(["-m", "/dev/sda:/:udf", "mounts"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let line = String::from_utf8(out.stdout).unwrap();
    let words = line
        .trim_end()
        .strip_prefix("/dev/sda on / (")
        .and_then(|w| w.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{line}"));
    let words: Vec<&str> = words.split(", ").flat_map(|w| w.split(',')).collect();
    assert_eq!(words.first().copied(), Some(blkid.trim()), "{line}");
    let mut unique = words.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), words.len(), "a word repeated: {line}");
}

/// `isofish --ro -a nested.iso WORDS...`'s output, which must succeed quietly.
fn nested(words: &[&str]) -> String {
    let out = isofish()
        .args(["--ro", "-a", "tests/fixtures/nested.iso"])
        .args(words)
        .output()
        .unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn info_and_vfs_label_take_a_file_inside_the_image() {
    let dir = scratch();
    let iso = fixture("nested.iso");
    let sfs = dir.path().join("airootfs.sfs");
    crate::nested_chain::xorriso_extract(&iso, "/arch/x86_64/airootfs.sfs", &sfs);
    let theirs =
        String::from_utf8(tool("unsquashfs", &["-s", sfs.to_str().unwrap()], None)).unwrap();
    let field = |text: &str, key: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {text}"))
            .trim_start_matches(':')
            .trim()
            .to_string()
    };
    // A relative path from the current directory too.
    for (pre, path) in [
        (&[][..], "/arch/x86_64/airootfs.sfs"),
        (&["cd", "/arch", ":"][..], "x86_64/airootfs.sfs"),
    ] {
        let mut words = pre.to_vec();
        words.extend(["info", path]);
        let ours = nested(&words);
        assert_eq!(field(&ours, "Type"), "squashfs", "{ours}");
        assert_eq!(
            field(&ours, "Compression"),
            field(&theirs, "Compression "),
            "{ours}"
        );
        assert_eq!(
            field(&ours, "Block size"),
            field(&theirs, "Block size "),
            "{ours}"
        );
        assert_eq!(
            field(&ours, "Inodes"),
            field(&theirs, "Number of inodes "),
            "{ours}"
        );
    }

    let efi = dir.path().join("efiboot.img");
    crate::nested_chain::xorriso_extract(&iso, "/EFI/BOOT/efiboot.img", &efi);
    let label = tool(
        "blkid",
        &["-p", "-o", "value", "-s", "LABEL", efi.to_str().unwrap()],
        None,
    );
    let label = String::from_utf8(label).unwrap();
    assert!(!label.trim().is_empty());
    assert_eq!(nested(&["vfs-label", "/EFI/BOOT/efiboot.img"]), label);
    assert_eq!(
        field(&nested(&["info", "/EFI/BOOT/efiboot.img"]), "Label"),
        label.trim()
    );
    // A device is still a device, and a missing file is named.
    let volume = tool(
        "blkid",
        &["-p", "-o", "value", "-s", "LABEL", iso.to_str().unwrap()],
        None,
    );
    assert_eq!(nested(&["vfs-label", "/dev/sda"]).as_bytes(), volume);
    isofish()
        .args([
            "--ro",
            "-a",
            "tests/fixtures/nested.iso",
            "info",
            "/no/such.img",
        ])
        .assert()
        .code(1)
        .stderr("isofish: error: /no/such.img: no such file or directory\n");
}

#[test]
fn version_prints_the_package_version_as_guestfish_does() {
    let out = isofish().arg("version").output().unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let fields: Vec<(&str, &str)> = text
        .lines()
        .map(|l| l.split_once(": ").or_else(|| l.split_once(':')).unwrap())
        .collect();
    let keys: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, ["major", "minor", "release", "extra"], "{text}");
    let (v, extra) = (
        fields[..3].iter().map(|(_, v)| *v).collect::<Vec<_>>(),
        fields[3].1,
    );
    // Cargo's version of the package, as `--version` prints it too.
    let joined = format!("{}{extra}", v.join("."));
    assert_eq!(joined, env!("CARGO_PKG_VERSION"));
    let long = isofish().arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8(long.stdout).unwrap(),
        format!("isofish {joined}\n")
    );
}

/// What a pseudo-terminal shows while `isofish ARGS...` runs in it (python3's `pty`).
fn in_a_terminal(args: &[&str]) -> Vec<u8> {
    const SPAWN: &str = "import os, pty, sys\n\
        pid, fd = pty.fork()\n\
        if pid == 0:\n    os.execv(sys.argv[1], sys.argv[1:])\n\
        out = b''\n\
        while True:\n    try:\n        d = os.read(fd, 4096)\n    except OSError:\n        break\n    if not d:\n        break\n    out += d\n\
        os.waitpid(pid, 0)\n\
        sys.stdout.buffer.write(out)\n";
    let binary = assert_cmd::cargo::cargo_bin("isofish");
    let mut argv = vec!["-c", SPAWN, binary.to_str().unwrap()];
    argv.extend(args);
    tool("python3", &argv, None)
}

#[test]
fn clear_clears_a_terminal_and_writes_nothing_into_a_pipe() {
    // The terminal's own clear sequence, without the scrollback extension.
    let clear = tool("tput", &["-x", "-T", "xterm", "clear"], None);
    let shown = in_a_terminal(&["clear", ":", "echo", "after"]);
    let mut expected = clear.clone();
    expected.extend_from_slice(b"after\r\n");
    assert_eq!(
        String::from_utf8_lossy(&shown),
        String::from_utf8_lossy(&expected)
    );
    isofish()
        .args(["clear", ":", "echo", "after"])
        .assert()
        .success()
        .stdout("after\n")
        .stderr("");
}

#[test]
fn lcd_moves_relative_host_paths_but_not_the_opened_image_or_staged_uploads() {
    let dir = scratch();
    let d = dir.path();
    std::fs::copy(fixture("sample.iso"), d.join("copy.iso")).unwrap();
    std::fs::write(d.join("before.txt"), b"staged before lcd\n").unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    std::fs::write(d.join("sub/after.txt"), b"staged after lcd\n").unwrap();
    // The same names in the wrong places: taking one of these would be the bug.
    std::fs::write(d.join("sub/before.txt"), b"wrong\n").unwrap();
    std::fs::write(d.join("after.txt"), b"wrong\n").unwrap();
    std::fs::create_dir(d.join("out")).unwrap();
    std::fs::create_dir(d.join("sub/out")).unwrap();
    isofish()
        .current_dir(d)
        .args(["-a", "copy.iso", "-m", "/dev/sda"])
        .args(["upload", "before.txt", "/before.txt", ":"])
        .args(["lcd", "sub", ":"])
        .args(["upload", "after.txt", "/after.txt", ":"])
        .args(["download", "/README.TXT", "readme.txt", ":"])
        .args(["copy-out", "/docs", "out"])
        .assert()
        .success()
        .stderr("");
    let theirs = d.join("xorriso");
    tool(
        "xorriso",
        &[
            "-osirrox",
            "on",
            "-indev",
            d.join("copy.iso").to_str().unwrap(),
            "-extract",
            "/",
            theirs.to_str().unwrap(),
        ],
        None,
    );
    // The commit at the end wrote the opened image, with the files staged from where they were.
    assert!(!d.join("sub/copy.iso").exists());
    assert_eq!(
        std::fs::read(theirs.join("before.txt")).unwrap(),
        b"staged before lcd\n"
    );
    assert_eq!(
        std::fs::read(theirs.join("after.txt")).unwrap(),
        b"staged after lcd\n"
    );
    // download and copy-out wrote under the new directory.
    assert_eq!(
        std::fs::read(d.join("sub/readme.txt")).unwrap(),
        std::fs::read(theirs.join("README.TXT")).unwrap()
    );
    assert!(!d.join("readme.txt").exists());
    assert!(d.join("sub/out/docs").is_dir());
    assert_eq!(std::fs::read_dir(d.join("out")).unwrap().count(), 0);
    // A missing directory is an error naming it.
    isofish()
        .args(["lcd", "no/such/dir"])
        .assert()
        .code(1)
        .stderr(predicates::str::starts_with(
            "isofish: error: no/such/dir: ",
        ));
}
