//! The tree edit commands (`mkdir`, `rm` and its kin, `mv`, `cp` and its kin, `ln`, `ln-s`,
//! `chmod`, `chown`, `utimens`, `set-label`), alone and together, read back through isofish's
//! own read commands in the same one-liner, on a copy of a fixture; their refusals under
//! `--ro`; and their errors (exit status 1, the path named).

use std::path::PathBuf;

use crate::common::{fixture, isofish, scratch};

/// A copy of fixture `name` in a scratch directory (removed when the first is dropped).
fn copy_of(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = scratch();
    let image = dir.path().join(name);
    std::fs::copy(fixture(name), &image).unwrap();
    (dir, image)
}

/// Runs `isofish -a COPY ARGS` on a copy of fixture `name` (times in UTC): exit status,
/// stdout, stderr.
fn run(name: &str, args: &[&str]) -> (i32, String, String) {
    let (_dir, image) = copy_of(name);
    run_on(&image, args)
}

/// Runs `isofish -a IMAGE ARGS` (times in UTC): exit status, stdout, stderr.
fn run_on(image: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = isofish()
        .env("TZ", "UTC")
        .arg("-a")
        .arg(image)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The words of a one-liner written as one string (words split at spaces).
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Runs the one-liner on a copy of `name` and returns stdout; it must succeed.
fn ok(name: &str, line: &str) -> String {
    let (status, out, err) = run(name, &words(line));
    assert_eq!(status, 0, "{line} failed: {err}");
    out
}

/// Runs the one-liner on a copy of `name`; it must fail with status 1. Returns stderr.
fn fails(name: &str, line: &str) -> String {
    let (status, _, err) = run(name, &words(line));
    assert_eq!(status, 1, "{line} should fail with status 1: {err}");
    err
}

/// The `name: value` line `field` of `stat` output.
fn field(stat: &str, field: &str) -> String {
    stat.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}: ")))
        .unwrap_or_else(|| panic!("no {field} in {stat}"))
        .to_string()
}

const SAMPLE: &str = "sample.iso";

#[test]
fn mkdir_and_mkdir_p_make_directories_the_readers_see() {
    let out = ok(
        SAMPLE,
        "mkdir /new : mkdir-p /new/a/b : mkdir-p /docs/guide : find /new : stat /new/a",
    );
    assert!(out.starts_with("a\na/b\n"), "{out}");
    assert_eq!(field(&out, "mode"), (0o40755).to_string());
    assert_eq!(field(&out, "uid"), "0");
}

#[test]
fn rm_and_its_kin_remove_what_they_may() {
    let out = ok(
        SAMPLE,
        "rm /docs/readme-link : rm-f /docs/empty.txt : rm-f /not/there
         : rm-rf /isolinux : rm-rf /not-there : rmdir /empty : ls / : ls /docs",
    );
    assert_eq!(out, "README.TXT\ndocs\nguide\nintro-hardlink.txt\n");
    // The target of a removed symlink is still there.
    let out = ok(SAMPLE, "rm /docs/readme-link : cat /README.TXT");
    assert!(out.starts_with("isofish sample image"), "{out}");
}

#[test]
fn rmdir_takes_a_directory_emptied_in_the_session() {
    let out = ok(
        SAMPLE,
        "rm /isolinux/isolinux.cfg : rmdir /isolinux : exists /isolinux",
    );
    assert_eq!(out, "false\n");
}

#[test]
fn a_renamed_directory_keeps_the_changes_inside_it() {
    let out = ok(
        SAMPLE,
        "write /docs/guide/intro.txt changed : mkdir /docs/new : rm /docs/empty.txt
         : mv /docs /manual : cat /manual/guide/intro.txt : echo : ls /manual : exists /docs",
    );
    let want = "changed\nguide\nintro-hardlink.txt\nnew\nreadme-link\nfalse\n";
    assert_eq!(out, want);
}

#[test]
fn removed_names_can_be_made_again_and_a_file_replaced_by_a_directory() {
    let out = ok(
        SAMPLE,
        "rm /README.TXT : write /README.TXT again : cat /README.TXT : echo
         : rm-rf /docs : mkdir /docs : ls /docs
         : rm /README.TXT : mkdir /README.TXT : is-dir /README.TXT",
    );
    assert_eq!(out, "again\ntrue\n");
}

#[test]
fn mv_renames_moves_into_directories_and_replaces() {
    // Into a directory, a rename across directories, a file over a file, a directory onto
    // an empty directory.
    let out = ok(
        SAMPLE,
        "mv /README.TXT /docs/guide : mv /docs/guide/intro.txt /empty/renamed.txt
         : ls /docs/guide : ls /empty
         : mv /empty/renamed.txt /docs/empty.txt : cat /docs/empty.txt
         : mkdir /docs/isolinux : mv /isolinux /docs : ls /docs/isolinux",
    );
    let want = "README.TXT\nrenamed.txt\nA nested text file.\nisolinux.cfg\n";
    assert_eq!(out, want);
}

/// Each one-liner fails on a copy of `name` with status 1 and says its message.
fn all_fail(name: &str, cases: &[(&str, &str)]) {
    for (line, message) in cases {
        let err = fails(name, line);
        assert!(err.contains(message), "{line}: {err}");
    }
}

#[test]
fn mv_refuses_what_mv_refuses() {
    all_fail(
        SAMPLE,
        &[
            (
                "mv /docs /docs/guide",
                "cannot move /docs to a subdirectory of itself, /docs/guide/docs",
            ),
            (
                "mkdir-p /x/isolinux/full : mv /isolinux /x",
                "/x/isolinux: directory not empty",
            ),
            (
                "mv /docs /README.TXT",
                "/README.TXT: cannot overwrite a non-directory with a directory",
            ),
            (
                "mkdir /x : mkdir /x/README.TXT : mv /README.TXT /x",
                "/x/README.TXT: cannot overwrite a directory with a non-directory",
            ),
            (
                "mv /docs/intro-hardlink.txt /docs/intro-hardlink.txt",
                "are the same file",
            ),
            ("mv /nope /x", "/nope: no such file or directory"),
        ],
    );
}

#[test]
fn cp_copies_a_file_into_a_directory_or_over_a_file() {
    let out = ok(
        SAMPLE,
        "chmod 0600 /docs/empty.txt : cp /README.TXT /docs
         : cp /docs/guide/intro.txt /docs/empty.txt : cp /docs/readme-link /empty
         : cat /docs/README.TXT : cat /docs/empty.txt : ll /docs/empty.txt
         : is-symlink /empty/readme-link : ll /empty/readme-link",
    );
    assert!(out.starts_with("isofish sample image\n"), "{out}");
    assert!(out.contains("A nested text file.\n"), "{out}");
    // The file copied over keeps its own mode and owner.
    assert!(out.contains("-rw------- 1 1000 1000 20 "), "{out}");
    // A symlink given to cp is followed: the copy is a file, root's, with the data.
    assert!(out.contains("false\n-rw-r--r-- 1 0 0 69 "), "{out}");
}

/// The entries of an `ll` listing, without its `total` line and `.` and `..`, with the
/// columns' padding dropped.
fn entries(ll: &str) -> Vec<String> {
    ll.lines()
        .skip(3)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn cp_a_keeps_symlinks_device_nodes_hard_links_modes_owners_and_times() {
    let name = "rr112.iso";
    let original = ok(name, "ll /links");
    let out = ok(
        name,
        "mkdir /t : cp-a /links /t : cp-a /char-dev /t : cp-a /setuid /t : cp-a /big.txt /t
         : ll /t/links : ll /t : checksum sha256 /t/big.txt : checksum sha256 /big.txt",
    );
    let copy = &out[..out.match_indices("total").nth(1).unwrap().0];
    assert_eq!(entries(copy), entries(&original));
    for line in [
        "crw-r--r-- 1    0    0  1, 3 Nov 14  2023 char-dev",
        "-rwsr-xr-x 1    0    0    10 Nov 14  2023 setuid",
        "-rw-r--r-- 1 1234 5678 30000 Nov 14  2023 big.txt",
    ] {
        assert!(out.contains(line), "{out}");
    }
    let sums: Vec<&str> = out.lines().rev().take(2).collect();
    assert_eq!(sums[0], sums[1]);
}

#[test]
fn cp_r_makes_new_objects_and_cp_a_keeps_them_old() {
    let out = ok(
        "rr112.iso",
        "cp-r /links /r : cp-r /block-dev /r : cp-r /setuid /r : ll /r",
    );
    // Symlinks and device nodes as such; root's; set-id dropped; times now (not 2023).
    for line in [
        "lrwxrwxrwx 1 0 0   10 ",
        "relative -> target.txt",
        "brw-r--r-- 1 0 0 7, 0 ",
        "-rwxr-xr-x 1 0 0   10 ",
    ] {
        assert!(out.contains(line), "{out}");
    }
    assert!(!out.contains("2023"), "{out}");
}

// Squashfs is not written yet (issue 11 writes ISO 9660 only): the one-liners that change one
// end with `quit!`, which drops the changes instead of committing them.

#[test]
fn cp_a_keeps_extended_attributes() {
    let out = ok(
        "xattrs.sqfs",
        "mount /dev/sda / : cp-a /etc /etc2
         : getxattrs /etc/motd : echo -- : getxattrs /etc2/motd : quit!",
    );
    let (a, b) = out.split_once("--\n").unwrap();
    assert!(a.contains("user.mime_type"), "{out}");
    assert_eq!(a, b);
}

#[test]
fn copies_and_moves_cross_mounted_filesystems() {
    let out = ok(
        "nested.iso",
        "mount-loop /root.sqfs /sq : cp /sq/etc/motd /motd : cat /motd
         : cp-a /sq /sqcopy : find /sqcopy
         : mv /sq/etc /etc2 : ls /sq : ls /etc2
         : cp /motd /sq/bin/motd : ls /sq/bin : quit!",
    );
    let want = "Welcome to the nested root.\nbin\nbin/hi\netc\netc/motd\nbin\nmotd\nhi\nmotd\n";
    assert_eq!(out, want);
}

#[test]
fn copying_a_directory_into_itself_is_refused() {
    let into_itself = "cannot copy /docs to a subdirectory of itself, /docs/guide/docs";
    all_fail(
        SAMPLE,
        &[
            ("cp-r /docs /docs/guide", into_itself),
            ("cp-a /docs /docs/guide", into_itself),
            ("cp /docs /x", "/docs: is a directory"),
            (
                "cp /README.TXT /",
                "/README.TXT and /README.TXT are the same file",
            ),
        ],
    );
}

#[test]
fn a_hard_link_and_the_removal_of_one_name() {
    let out = ok(
        SAMPLE,
        "ln /README.TXT /docs/again : stat /README.TXT : rm /README.TXT : stat /docs/again
         : rm /docs/intro-hardlink.txt : stat /docs/guide/intro.txt",
    );
    let nlinks: Vec<&str> = out.lines().filter(|l| l.starts_with("nlink:")).collect();
    assert_eq!(nlinks, ["nlink: 2", "nlink: 1", "nlink: 1"]);
    let inos: Vec<&str> = out.lines().filter(|l| l.starts_with("ino:")).collect();
    assert_eq!(inos[0], inos[1]);
    let err = fails(SAMPLE, "ln /docs /docs2");
    assert!(
        err.contains("/docs: hard link not allowed for a directory"),
        "{err}"
    );
}

#[test]
fn ln_s_makes_links_that_resolve() {
    let out = ok(
        SAMPLE,
        "ln-s guide/intro.txt /docs/link : ln-s ../README.TXT /empty
         : readlink /docs/link : cat /docs/link : readlink /empty/README.TXT
         : lstat /docs/link",
    );
    let want = "guide/intro.txt\nA nested text file.\n../README.TXT\n";
    assert!(out.starts_with(want), "{out}");
    assert_eq!(field(&out, "mode"), (0o120777).to_string());
    let err = fails(SAMPLE, "ln-s x /README.TXT");
    assert!(err.contains("/README.TXT: file exists"), "{err}");
}

#[test]
fn chmod_chown_and_utimens_read_back_by_stat_and_ll() {
    let out = ok(
        SAMPLE,
        "chmod 4711 /README.TXT : chown 12 34 /README.TXT : chmod 01777 /empty
         : utimens /empty 1000 500 2000000000 0
         : stat /README.TXT : ll / : stat /empty",
    );
    // chown drops the set-user-id bit, as Linux does.
    assert_eq!(field(&out, "mode"), (0o100711).to_string());
    assert_eq!(field(&out, "uid"), "12");
    assert_eq!(field(&out, "gid"), "34");
    assert!(
        out.contains("-rwx--x--x 1   12   34   69 Nov 14  2023 README.TXT"),
        "{out}"
    );
    assert!(
        out.contains("drwxrwxrwt 1    0    0 2048 May 18  2033 empty"),
        "{out}"
    );
    let empty = &out[out.rfind("dev:").unwrap()..];
    assert_eq!(field(empty, "atime"), "1000");
    assert_eq!(field(empty, "mtime"), "2000000000");
    assert_ne!(field(empty, "ctime"), "1700000000");
}

#[test]
fn utimens_now_and_omit() {
    let out = ok(SAMPLE, "utimens /README.TXT 0 -1 5 -2 : stat /README.TXT");
    assert_eq!(field(&out, "mtime"), "1700000000");
    assert!(field(&out, "atime").parse::<i64>().unwrap() > 1_700_000_000);
}

#[test]
fn numbers_that_are_not_a_mode_an_id_or_a_time_are_refused() {
    all_fail(
        SAMPLE,
        &[
            ("chmod 0999 /README.TXT", "not an octal mode"),
            ("chmod 10000 /README.TXT", "not an octal mode"),
            ("chown x 0 /README.TXT", "is not a number"),
            ("chown -5 0 /README.TXT", "is not a user or group id"),
            ("utimens /README.TXT 0 1000000000 0 0", "ATNSECS"),
        ],
    );
}

#[test]
fn set_label_is_read_back_by_vfs_label_and_checked_against_the_format() {
    let (status, out, err) = run(
        SAMPLE,
        &[
            "vfs-label",
            "/dev/sda",
            ":",
            "set-label",
            "/dev/sda",
            "Mixed Case 1",
            ":",
            "vfs-label",
            "/dev/sda",
        ],
    );
    assert_eq!(status, 0, "{err}");
    assert_eq!(out.lines().nth(1), Some("Mixed Case 1"));
    let long = format!("set-label /dev/sda {}", "L".repeat(33));
    all_fail(
        SAMPLE,
        &[
            (&long, "iso9660 cannot hold the label \"LLL"),
            (&long, "33 characters, over the 32 it holds"),
            (
                "set-label /dev/sda é",
                "'é' is not a printable ASCII character",
            ),
        ],
    );
    all_fail(
        "nested.iso",
        &[(
            "mount-loop /root.sqfs /sq : set-label /root.sqfs X",
            "squashfs cannot hold the label \"X\": the format records no label",
        )],
    );
}

#[test]
fn errors_name_the_path_and_exit_with_status_1() {
    let missing = "/nope: no such file or directory";
    all_fail(
        SAMPLE,
        &[
            ("rm /docs", "/docs: is a directory"),
            ("rm-f /docs", "/docs: is a directory"),
            ("rmdir /docs", "/docs: directory not empty"),
            ("rmdir /README.TXT", "/README.TXT: not a directory"),
            ("rm /nope", missing),
            ("rmdir /nope", missing),
            ("cp /nope /x", missing),
            ("cp-a /nope /x", missing),
            ("cp /README.TXT /nope/x", missing),
            ("ln /nope /x", missing),
            ("chmod 0644 /nope", missing),
            ("chown 0 0 /nope", missing),
            ("utimens /nope 0 0 0 0", missing),
            ("mkdir /nope/x", missing),
            ("rm /", "/: busy: it is a mountpoint"),
            ("set-label /dev/sdb X", "/dev/sdb: no such device"),
        ],
    );
}

#[test]
fn every_edit_command_is_refused_under_ro() {
    let lines = [
        "mkdir /new",
        "mkdir-p /new/a",
        "rm /README.TXT",
        "rm-f /nope",
        "rm-rf /docs",
        "rmdir /empty",
        "mv /README.TXT /x",
        "cp /README.TXT /x",
        "cp-r /docs /x",
        "cp-a /docs /x",
        "chmod 0600 /README.TXT",
        "chown 1 1 /README.TXT",
        "ln /README.TXT /x",
        "ln-s README.TXT /x",
        "utimens /README.TXT 0 0 0 0",
        "set-label /dev/sda X",
    ];
    for line in lines {
        let out = isofish()
            .args(["--ro", "-a"])
            .arg(fixture(SAMPLE))
            .args(words(line))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{line}: {err}");
        assert!(
            err.contains("read-only: the session was opened with --ro"),
            "{line}: {err}"
        );
    }
    // Every command of these files is in the list.
    for group in [
        isofish::commands::tree_edit::COMMANDS,
        isofish::commands::tree_copy::COMMANDS,
        isofish::commands::attrs::COMMANDS,
    ] {
        for c in group {
            let tried = lines.iter().any(|l| words(l)[0] == c.name);
            assert!(tried, "{} is not tried under --ro", c.name);
        }
    }
}

/// True for an `ll` line of a directory (`drwxr-xr-x ...`).
fn is_dir_line(l: &str) -> bool {
    l.starts_with('d')
        && l.get(1..10)
            .is_some_and(|m| m.chars().all(|c| "rwxsStT-".contains(c)))
}

/// `ll` lines of everything but directories (whose sizes and times the writer sets), padding
/// dropped.
fn non_dirs(ll: &str) -> Vec<String> {
    ll.lines()
        .filter(|l| !is_dir_line(l) && !l.starts_with("total"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// What the session shows after the edits is what the image committed at the end of the
/// one-liner holds: the tree, the files' metadata and links, the label.
#[test]
fn the_committed_image_holds_what_the_session_showed() {
    let (_dir, image) = copy_of("rr112.iso");
    let edits = "mkdir /t : cp-a /links /t : cp-a /char-dev /t : mv /a /t/a
        : rm /links/hardlink.txt : ln /big.txt /t/big2 : chmod 0600 /big.txt
        : chown 5 6 /empty.txt : ln-s x /t/sym : utimens /t/sym 1000 0 1000 0
        : rm-rf /sticky : rmdir /emptydir : set-label /dev/sda NEWLBL";
    let show = "find / : ll / : ll /t : ll /t/links : ll /links : vfs-label /dev/sda";
    let (status, before, err) = run_on(&image, &words(&format!("{edits} : {show}")));
    assert_eq!(status, 0, "{err}");
    let (status, after, err) = run_on(
        &image,
        &["--ro"].into_iter().chain(words(show)).collect::<Vec<_>>(),
    );
    assert_eq!(status, 0, "{err}");
    assert_eq!(non_dirs(&after), non_dirs(&before));
    assert!(
        after.contains("-rw-r--r-- 1 0 0    5 Nov 14  2023 target.txt"),
        "{after}"
    );
    assert!(after.ends_with("NEWLBL\n"), "{after}");
}
