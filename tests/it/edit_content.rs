//! The commands that stage file content and trees (`upload`, `copy-in`, `tar-in` and its
//! compressed forms, `edit`, `touch`, `truncate`, `truncate-size`, with `write` and
//! `write-append`) stage what guestfish's would leave in the filesystem: read back through
//! isofish's own read commands in the same run, on a copy of a fixture. Hostile archives place
//! nothing outside the target directory, every command is refused under `--ro`, and uploads
//! are staged by reference (a sparse file of gigabytes costs nothing; a host file that went
//! away is caught by the overlay's check).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{fixture, isofish, scratch, tool};

/// A copy of `sample.iso` in a scratch directory (edits are never run on a fixture).
struct Scene {
    dir: tempfile::TempDir,
    image: PathBuf,
}

impl Scene {
    fn new() -> Scene {
        let dir = scratch();
        let image = dir.path().join("sample.iso");
        std::fs::copy(fixture("sample.iso"), &image).unwrap();
        Scene { dir, image }
    }

    /// A path in the scratch directory, as text.
    fn host(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    /// `isofish -a IMAGE ARGS : quit!` with `env`, in UTC: each run starts from the image as
    /// it was (its changes are dropped, not committed at its end).
    fn run_env(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = isofish();
        cmd.env("TZ", "UTC").arg("-a").arg(&self.image).args(args);
        cmd.args([":", "quit!"]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// Runs `args`; their standard output, or a panic with standard error.
    fn ok(&self, args: &[&str]) -> String {
        self.ok_env(&[], args)
    }

    fn ok_env(&self, env: &[(&str, &str)], args: &[&str]) -> String {
        let out = self.run_env(env, args);
        assert!(
            out.status.success(),
            "isofish {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `args`, which must fail; their standard output and standard error.
    fn fails(&self, args: &[&str]) -> (String, String) {
        self.fails_env(&[], args)
    }

    fn fails_env(&self, env: &[(&str, &str)], args: &[&str]) -> (String, String) {
        let out = self.run_env(env, args);
        assert_eq!(out.status.code(), Some(1), "isofish {args:?} should fail");
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }
}

/// The value of `key: ` in `stat` output.
fn field(stat: &str, key: &str) -> u64 {
    stat.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no {key} in {stat}"))
        .parse()
        .unwrap()
}

/// Now, in seconds since the epoch.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The output of each `stat PATH` run in one session, split per path.
fn stats(scene: &Scene, before: &[&str], paths: &[&str]) -> Vec<String> {
    let mut args: Vec<&str> = before.to_vec();
    for p in paths {
        if !args.is_empty() {
            args.push(":");
        }
        args.extend(["lstat", p, ":", "echo", "--"]);
    }
    let out = scene.ok(&args);
    let parts: Vec<String> = out
        .split("--\n")
        .map(String::from)
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(parts.len(), paths.len(), "{out}");
    parts
}

#[test]
fn upload_then_write_append_reads_back() {
    let scene = Scene::new();
    let host = scene.host("data");
    std::fs::write(&host, "first\n").unwrap();
    let out = scene.ok(&[
        "upload",
        &host,
        "/docs/up.txt",
        ":",
        "write-append",
        "/docs/up.txt",
        "second\n",
        ":",
        "cat",
        "/docs/up.txt",
        ":",
        "ll",
        "/docs/up.txt",
    ]);
    assert!(
        out.starts_with("first\nsecond\n-rw-r--r-- 1 0 0 13 "),
        "{out}"
    );
    // Over an existing file: its data replaced, its mode and owner kept.
    let out = scene.ok(&[
        "upload",
        &host,
        "/docs/guide/intro.txt",
        ":",
        "cat",
        "/docs/guide/intro.txt",
        ":",
        "checksum",
        "md5",
        "/docs/guide/intro.txt",
    ]);
    let md5 = String::from_utf8(tool("md5sum", &[&host], None)).unwrap();
    assert_eq!(out, format!("first\n{}\n", &md5[..32]));
}

#[test]
fn upload_reads_standard_input() {
    let scene = Scene::new();
    let mut cmd = isofish();
    cmd.arg("-a")
        .arg(&scene.image)
        .args(["upload", "-", "/in.txt", ":", "cat", "/in.txt"])
        .write_stdin("from a pipe\n");
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"from a pipe\n");
}

#[test]
fn upload_of_a_large_sparse_file_is_staged_by_reference() {
    let scene = Scene::new();
    let host = scene.host("big");
    let size: u64 = 5 << 30;
    std::fs::File::create(&host).unwrap().set_len(size).unwrap();
    let start = std::time::Instant::now();
    let out = scene.ok(&[
        "upload",
        &host,
        "/big",
        ":",
        "stat",
        "/big",
        ":",
        "truncate-size",
        "/big",
        "7",
        ":",
        "stat",
        "/big",
    ]);
    // Reading 5 GiB of zeros through user space would take far longer on any machine.
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    let (before, after) = out.split_at(out.rfind("dev: ").unwrap());
    assert_eq!(field(before, "size"), size);
    assert_eq!(field(after, "size"), 7);
}

#[test]
fn an_uploaded_file_that_changed_or_went_away_fails_the_check() {
    // The check commit runs before it takes an upload's bytes (commit itself comes with the
    // writer; its end-to-end test belongs there).
    let dir = scratch();
    let path = dir.path().join("f");
    std::fs::write(&path, "v1").unwrap();
    let (host, content) = isofish::overlay::HostFile::open(&path).unwrap();
    assert_eq!(content.len(), 2);
    host.check().unwrap();
    std::fs::write(&path, "version 2").unwrap();
    let e = host.check().unwrap_err().to_string();
    assert!(e.contains("changed since it was staged"), "{e}");
    std::fs::remove_file(&path).unwrap();
    let e = host.check().unwrap_err().to_string();
    assert!(e.contains("gone since it was staged"), "{e}");
}

#[test]
fn upload_refuses_what_is_not_a_file() {
    let scene = Scene::new();
    let (_, err) = scene.fails(&["upload", &scene.host(""), "/x"]);
    assert!(err.contains("is a directory"), "{err}");
    let (_, err) = scene.fails(&["upload", &scene.host("missing"), "/x"]);
    assert!(err.contains("missing"), "{err}");
    let data = scene.host("data");
    std::fs::write(&data, "x").unwrap();
    let (_, err) = scene.fails(&["upload", &data, "/docs"]);
    assert!(err.contains("/docs: not a regular file"), "{err}");
    // A symlink to nothing: said so, with the path as typed.
    let (_, err) = scene.fails(&[
        "ln-s",
        "/nowhere/x",
        "/dangling",
        ":",
        "upload",
        &data,
        "/dangling",
    ]);
    assert!(
        err.contains("/dangling: a symlink whose target does not exist"),
        "{err}"
    );
}

#[test]
fn touch_makes_a_file_or_sets_its_times() {
    let scene = Scene::new();
    let before = now();
    let s = stats(
        &scene,
        &["touch", "/new", ":", "touch", "/README.TXT"],
        &["/new", "/README.TXT"],
    );
    assert_eq!(field(&s[0], "size"), 0);
    assert_eq!(field(&s[0], "mode"), 0o100644);
    assert!(field(&s[1], "mtime") >= before && field(&s[1], "atime") >= before);
    assert_eq!(field(&s[1], "size"), 69, "the data is kept");
    let (_, err) = scene.fails(&["touch", "/docs"]);
    assert!(
        err.contains("/docs: touch can only be used on regular files"),
        "{err}"
    );
    let (_, err) = scene.fails(&["touch", "/docs/readme-link"]);
    assert!(err.contains("regular files"), "{err}");
}

#[test]
fn truncate_and_truncate_size() {
    let scene = Scene::new();
    let out = scene.ok(&[
        "truncate-size",
        "/README.TXT",
        "7",
        ":",
        "cat",
        "/README.TXT",
        ":",
        "echo",
        ":",
        "truncate-size",
        "/README.TXT",
        "9",
        ":",
        "hexdump",
        "/README.TXT",
        ":",
        "truncate",
        "/docs/guide/intro.txt",
        ":",
        "ll",
        "/docs/guide/intro.txt",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "isofish");
    assert_eq!(
        lines[1],
        "00000000  69 73 6f 66 69 73 68 00  00                       |isofish..|"
    );
    // Emptied, its mode, owner and second name kept.
    assert!(lines[3].starts_with("-rw-r----- 2 1000 1000 0 "), "{out}");
    let (_, err) = scene.fails(&["truncate", "/nothing"]);
    assert!(err.contains("/nothing"), "{err}");
    let (_, err) = scene.fails(&["truncate-size", "/README.TXT", "-1"]);
    assert!(err.contains("not a size"), "{err}");
}

/// A host tree with every kind of object, modes and times: `tree/` with `sub/` (0750,
/// 2001-02-03), `sub/file` (0604, times of 2010 and 2011), `hard` a second name of it,
/// `sym -> sub/file`, `fifo`, `exec` (04755).
fn host_tree(root: &Path) -> PathBuf {
    let tree = root.join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    let file = tree.join("sub/file");
    std::fs::write(&file, "content\n").unwrap();
    std::fs::hard_link(&file, tree.join("hard")).unwrap();
    std::os::unix::fs::symlink("sub/file", tree.join("sym")).unwrap();
    tool("mkfifo", &[tree.join("fifo").to_str().unwrap()], None);
    std::fs::write(tree.join("exec"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(tree.join("exec"), std::fs::Permissions::from_mode(0o4755)).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o604)).unwrap();
    let f = file.to_str().unwrap();
    tool("touch", &["-m", "-d", "2010-01-01 00:00:00Z", f], None);
    tool("touch", &["-a", "-d", "2011-01-01 00:00:00Z", f], None);
    std::fs::set_permissions(tree.join("sub"), std::fs::Permissions::from_mode(0o750)).unwrap();
    let sub = tree.join("sub");
    tool(
        "touch",
        &["-d", "2001-02-03 00:00:00Z", sub.to_str().unwrap()],
        None,
    );
    tree
}

/// Checks the tree of [`host_tree`] as staged at `at` in `scene`'s session (after `before`).
fn check_tree(scene: &Scene, before: &[&str], at: &str) {
    let p = |n: &str| format!("{at}/{n}");
    let names = ["sub", "sub/file", "hard", "sym", "fifo", "exec"].map(p);
    let s = stats(
        scene,
        before,
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(field(&s[0], "mode"), 0o040750);
    assert_eq!(field(&s[0], "mtime"), 981158400);
    assert_eq!(field(&s[1], "mode"), 0o100604);
    assert_eq!(field(&s[1], "size"), 8);
    assert_eq!(field(&s[1], "mtime"), 1262304000);
    assert_eq!(field(&s[1], "nlink"), 2);
    assert_eq!(field(&s[1], "ino"), field(&s[2], "ino"), "hard links");
    assert_eq!(field(&s[3], "mode"), 0o120777);
    assert_eq!(field(&s[4], "mode"), 0o010644);
    assert_eq!(field(&s[5], "mode"), 0o104755);
    let mut args = before.to_vec();
    let (hard, sym) = (p("hard"), p("sym"));
    args.extend([":", "cat", &hard, ":", "readlink", &sym, ":", "cat", &sym]);
    let out = scene.ok(&args);
    assert!(out.ends_with("content\nsub/file\ncontent\n"), "{out}");
}

#[test]
fn copy_in_keeps_kinds_modes_times_and_links() {
    let scene = Scene::new();
    let tree = host_tree(scene.dir.path());
    let t = tree.to_str().unwrap();
    // First: reading the copy reads the host file, which may change its access time.
    let s = stats(&scene, &["copy-in", t, "/docs"], &["/docs/tree/sub/file"]);
    assert_eq!(field(&s[0], "atime"), 1293840000, "access time kept");
    check_tree(&scene, &["copy-in", t, "/docs"], "/docs/tree");
    // Owners are kept, as tar run as root keeps them.
    let file = tree.join("sub/file");
    if std::os::unix::fs::chown(&file, Some(1234), Some(5678)).is_ok() {
        let s = stats(&scene, &["copy-in", t, "/"], &["/tree/sub/file"]);
        assert_eq!((field(&s[0], "uid"), field(&s[0], "gid")), (1234, 5678));
    }
}

#[test]
fn copy_in_merges_and_replaces() {
    let scene = Scene::new();
    let src = scene.dir.path().join("docs");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("empty.txt"), "now full\n").unwrap();
    std::fs::write(src.join("added"), "added\n").unwrap();
    let readme = scene.host("README.TXT");
    std::fs::write(&readme, "replaced\n").unwrap();
    let out = scene.ok(&[
        "copy-in",
        src.to_str().unwrap(),
        &readme,
        "/",
        ":",
        "cat",
        "/docs/empty.txt",
        ":",
        "cat",
        "/docs/added",
        ":",
        "cat",
        "/README.TXT",
        ":",
        "cat",
        "/docs/guide/intro.txt",
    ]);
    assert!(out.starts_with("now full\nadded\nreplaced\n"), "{out}");
    assert!(
        out.len() > "now full\nadded\nreplaced\n".len(),
        "the rest is kept"
    );
    // A directory in the way of a file: said, the rest copied, the command fails.
    let guide = src.join("guide");
    std::fs::write(&guide, "a file\n").unwrap();
    let (_, err) = scene.fails(&["copy-in", src.to_str().unwrap(), "/"]);
    assert!(err.contains("/docs/guide: is a directory"), "{err}");
    assert!(err.contains("copy-in: 1 not placed"), "{err}");
}

/// Makes `NAME` in the scratch directory with GNU tar from `tree` (`-C tree .`), with `flags`.
fn gnu_tar(scene: &Scene, tree: &Path, name: &str, flags: &[&str]) -> String {
    let out = scene.host(name);
    let mut args = vec!["-C", tree.to_str().unwrap(), "-cf", &out];
    args.extend(flags);
    args.push(".");
    tool("tar", &args, None);
    out
}

/// A GNU tar archive `NAME` (made with `flags`) of one file, `file` holding `data`.
fn one_file_tar(scene: &Scene, file: &str, data: &[u8], name: &str, flags: &[&str]) -> String {
    let root = scene.dir.path().join(format!("{name}.d"));
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join(file), data).unwrap();
    gnu_tar(scene, &root, name, flags)
}

#[test]
fn tar_in_keeps_kinds_modes_times_and_links() {
    let scene = Scene::new();
    let root = scene.dir.path().join("root");
    host_tree(&root);
    let root = root.as_path();
    for (i, (name, flags, opt)) in [
        ("gnu.tar", &["--format=gnu"][..], None),
        ("pax.tar", &["--format=pax"][..], None),
        ("a.tgz", &["-z"][..], Some("compress:gzip")),
        ("a.txz", &["-J"][..], Some("compress:xz")),
        ("a.tzst", &["--zstd"][..], Some("compress:zstd")),
        ("a.tbz", &["-j"][..], Some("compress:bzip2")),
        // Known by its first bytes, as GNU tar knows it.
        ("c.tgz", &["-z"][..], None),
        ("c.tzst", &["--zstd"][..], None),
    ]
    .into_iter()
    .enumerate()
    {
        // A directory of its own for each: a run without --ro commits what it staged.
        let tar = gnu_tar(&scene, root, name, flags);
        let dir = format!("/t{i}");
        let mut before = vec!["mkdir", &dir, ":", "tar-in", &tar, &dir];
        before.extend(opt);
        check_tree(&scene, &before, &format!("{dir}/tree"));
    }
    let tgz = gnu_tar(&scene, root, "b.tgz", &["-z"]);
    check_tree(&scene, &["tgz-in", &tgz, "/empty"], "/empty/tree");
    let txz = gnu_tar(&scene, root, "b.txz", &["-J"]);
    check_tree(&scene, &["txz-in", &txz, "/empty"], "/empty/tree");
}

#[test]
fn tar_in_reads_long_names_and_standard_input() {
    let scene = Scene::new();
    let root = scene.dir.path().join("long");
    let deep = root.join("d".repeat(120)).join("e".repeat(120));
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("f".repeat(150)), "deep\n").unwrap();
    std::os::unix::fs::symlink("t".repeat(200), root.join("link")).unwrap();
    for format in ["--format=gnu", "--format=pax"] {
        let tar = gnu_tar(&scene, &root, "long.tar", &[format]);
        let file = format!(
            "/{}/{}/{}",
            "d".repeat(120),
            "e".repeat(120),
            "f".repeat(150)
        );
        let mut cmd = isofish();
        cmd.arg("-a")
            .arg(&scene.image)
            .args([
                "tar-in", "-", "/", ":", "cat", &file, ":", "readlink", "/link",
            ])
            .write_stdin(std::fs::read(&tar).unwrap());
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{format}: {out:?}");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!("deep\n{}\n", "t".repeat(200))
        );
    }
}

#[test]
fn tar_in_then_edit() {
    let scene = Scene::new();
    let tar = one_file_tar(&scene, "conf", b"a = a\n", "conf.tar", &[]);
    let out = scene.ok_env(
        &[("EDITOR", "sed -i s/a/b/g"), ("VISUAL", "")],
        &[
            "tar-in",
            &tar,
            "/docs",
            ":",
            "edit",
            "/docs/conf",
            ":",
            "cat",
            "/docs/conf",
        ],
    );
    assert_eq!(out, "b = b\n");
    // VISUAL comes before EDITOR.
    let out = scene.ok_env(
        &[("EDITOR", "false"), ("VISUAL", "sed -i s/a/c/g")],
        &[
            "tar-in",
            &tar,
            "/docs",
            ":",
            "vi",
            "/docs/conf",
            ":",
            "cat",
            "/docs/conf",
        ],
    );
    assert_eq!(out, "c = c\n");
}

#[test]
fn edit_unchanged_or_failed_stages_nothing() {
    let scene = Scene::new();
    let unchanged = scene.ok_env(
        &[("EDITOR", "true"), ("VISUAL", "")],
        &["emacs", "/README.TXT", ":", "ll", "/README.TXT"],
    );
    assert!(
        unchanged.contains(" Nov 14  2023 /README.TXT"),
        "{unchanged}"
    );
    let (out, err) = scene.fails_env(
        &[("EDITOR", "sed -i s/a/b/ && false"), ("VISUAL", "")],
        &["edit", "/README.TXT"],
    );
    assert!(out.is_empty());
    assert!(
        err.contains("/README.TXT: the editor (sed -i s/a/b/ && false) failed"),
        "{err}"
    );
    // `-` goes on after the failure: the file is as it was.
    let out = scene.ok_env(
        &[("EDITOR", "sed -i s/a/b/ && false"), ("VISUAL", "")],
        &[
            "--",
            "-edit",
            "/README.TXT",
            ":",
            "head-n",
            "1",
            "/README.TXT",
        ],
    );
    assert_eq!(out, "isofish sample image\n");
    let (_, err) = scene.fails_env(&[("EDITOR", "true")], &["edit", "/nothing"]);
    assert!(err.contains("/nothing"), "{err}");
}

/// Writes a GNU tar archive of `members` (name, type flag, link target, data) with Python's
/// tarfile, which writes what it is told (GNU tar would not write these).
fn hostile_tar(scene: &Scene, members: &[(&str, &str, &str, &str)]) -> String {
    let out = scene.host("hostile.tar");
    let mut py = String::from(
        "import io, sys, tarfile\nt = tarfile.open(sys.argv[1], 'w', format=tarfile.GNU_FORMAT)\n",
    );
    for (name, kind, link, data) in members {
        py.push_str(&format!(
            "i = tarfile.TarInfo({name:?}); i.type = {kind:?}.encode(); i.linkname = {link:?}; \
             i.size = {}; t.addfile(i, io.BytesIO({data:?}.encode()))\n",
            data.len()
        ));
    }
    py.push_str("t.close()\n");
    tool("python3", &["-c", &py, &out], None);
    out
}

#[test]
fn tar_in_places_nothing_outside_dir() {
    let scene = Scene::new();
    let tar = hostile_tar(
        &scene,
        &[
            ("../evil", "0", "", "evil"),
            ("/abs-evil", "0", "", "evil"),
            ("ok/../../dotdot-evil", "0", "", "evil"),
            ("lnk", "2", "/docs", ""),
            ("lnk/through-evil", "0", "", "evil"),
            ("up", "2", "..", ""),
            ("up/up-evil", "0", "", "evil"),
            ("hl", "1", "../README.TXT", ""),
            ("hl2", "1", "lnk/intro-hardlink.txt", ""),
            ("good", "0", "", "fine\n"),
        ],
    );
    // `-tar-in` goes on after the failure, so the tree can be looked at.
    let out = scene.ok(&[
        "mkdir-p", "/dir", ":", "-tar-in", &tar, "/dir", ":", "find", "/",
    ]);
    assert!(!out.contains("evil"), "{out}");
    assert!(!out.contains("hl"), "{out}");
    let dir: Vec<&str> = out.lines().filter(|l| l.starts_with("dir/")).collect();
    assert_eq!(dir, ["dir/good", "dir/lnk", "dir/up"]);
    let (_, err) = scene.fails(&["mkdir-p", "/dir", ":", "tar-in", &tar, "/dir"]);
    for said in [
        "../evil: `..` leads outside DIR: refused",
        "/abs-evil: an absolute name: refused",
        "ok/../../dotdot-evil: `..` leads outside DIR",
        "/dir/lnk/through-evil: /dir/lnk is a symlink: refused to go through it",
        "/dir/up/up-evil: /dir/up is a symlink",
        "hl: hard link to ../README.TXT: `..` leads outside DIR",
        "/dir/hl2: /dir/lnk is a symlink",
        "tar-in: 7 not placed",
    ] {
        assert!(err.contains(said), "{said}\n{err}");
    }
}

#[test]
fn tar_in_refuses_a_damaged_archive() {
    let scene = Scene::new();
    let tar = one_file_tar(&scene, "f", &[b'x'; 5000], "cut.tar", &[]);
    let bytes = std::fs::read(&tar).unwrap();
    std::fs::write(&tar, &bytes[..2048]).unwrap();
    let (_, err) = scene.fails(&["tar-in", &tar, "/docs"]);
    assert!(
        err.contains("claims 5000 bytes of data, but the archive ends at 2048"),
        "{err}"
    );
    let (_, err) = scene.fails(&["tar-in", &tar, "/docs", "compress:gzip"]);
    assert!(err.contains("cut.tar"), "{err}");
}

#[test]
fn every_command_is_refused_under_ro() {
    let scene = Scene::new();
    let f = scene.host("f");
    std::fs::write(&f, "x").unwrap();
    let ran = scene.dir.path().join("editor-ran");
    let editor = format!("touch {}", ran.display());
    for cmd in [
        vec!["upload", f.as_str(), "/x"],
        vec!["upload", "-", "/x"],
        vec!["copy-in", f.as_str(), "/"],
        vec!["tar-in", f.as_str(), "/"],
        vec!["tgz-in", f.as_str(), "/"],
        vec!["txz-in", f.as_str(), "/"],
        vec!["edit", "/README.TXT"],
        vec!["vi", "/README.TXT"],
        vec!["touch", "/x"],
        vec!["truncate", "/README.TXT"],
        vec!["truncate-size", "/README.TXT", "1"],
        vec!["write", "/x", "y"],
        vec!["write-append", "/README.TXT", "y"],
    ] {
        let out = isofish()
            .env("EDITOR", &editor)
            .arg("--ro")
            .arg("-a")
            .arg(&scene.image)
            .args(&cmd)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{cmd:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("the session was opened with --ro"),
            "{cmd:?}: {err}"
        );
    }
    assert!(!ran.exists(), "the editor ran under --ro");
    assert_eq!(
        std::fs::metadata(&scene.image).unwrap().size(),
        std::fs::metadata(fixture("sample.iso")).unwrap().size()
    );
}

#[test]
fn copy_in_and_tar_in_keep_device_nodes() {
    let scene = Scene::new();
    let dev = scene.dir.path().join("dev");
    std::fs::create_dir(&dev).unwrap();
    let made = std::process::Command::new("mknod")
        .args([dev.join("null").to_str().unwrap(), "c", "1", "3"])
        .status()
        .unwrap();
    if !made.success() {
        // Device nodes can be made by root only (CI runs as root).
        eprintln!("skipped: mknod needs root");
        return;
    }
    let node = dev.join("sda1");
    tool("mknod", &[node.to_str().unwrap(), "b", "8", "1"], None);
    let tar = gnu_tar(&scene, &dev, "dev.tar", &[]);
    let out = scene.ok(&[
        "copy-in",
        dev.to_str().unwrap(),
        "/",
        ":",
        "mkdir",
        "/t",
        ":",
        "tar-in",
        &tar,
        "/t",
        ":",
        "ll",
        "/dev/null",
        ":",
        "ll",
        "/dev/sda1",
        ":",
        "ll",
        "/t/null",
        ":",
        "ll",
        "/t/sda1",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    let expected = ["crw-r--r-- 1 0 0 1, 3 ", "brw-r--r-- 1 0 0 8, 1 "].repeat(2);
    for (line, start) in lines.iter().zip(&expected) {
        assert!(line.starts_with(start), "{out}");
    }
    assert_eq!(lines.len(), 4, "{out}");
}

#[test]
fn tar_in_of_a_plain_file_stages_ranges_of_it() {
    let scene = Scene::new();
    let tar = one_file_tar(&scene, "f", b"AAAA\n", "plain.tar", &[]);
    let tgz = one_file_tar(&scene, "f", b"AAAA\n", "packed.tgz", &["-z"]);
    // The member's data (after `./`'s and `./f`'s headers) overwritten in place between the
    // commands: the compressed one's was read into memory, the plain archive's member is read
    // where it lies, so reading it finds the archive changed (as commit's check would).
    let script = format!(
        "tar-in {tar} /docs\ntar-in {tgz} /empty\n\
         !printf BBBB | dd of={tar} bs=1 seek=1024 conv=notrunc status=none\n\
         cat /empty/f\ncat /docs/f\n"
    );
    let out = isofish()
        .arg("-a")
        .arg(&scene.image)
        .write_stdin(script)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "AAAA\n", "{err}");
    assert!(
        err.contains(&format!("{tar}: uploaded file changed since it was staged")),
        "{err}"
    );
}

#[test]
fn tar_in_restores_extended_attributes_with_xattrs_true() {
    let scene = Scene::new();
    let tar = scene.host("x.tar");
    crate::common::run_ro(
        &fixture("xattrs.sqfs"),
        &["tar-out", "/etc", &tar, "xattrs:true"],
    );
    let expected =
        crate::common::run_ro_utc(&fixture("xattrs.sqfs"), &["lgetxattrs", "/etc/motd-link"]);
    let out = scene.ok(&[
        "tar-in",
        &tar,
        "/docs",
        "xattrs:true",
        ":",
        "lgetxattrs",
        "/docs/motd-link",
        ":",
        "tar-in",
        &tar,
        "/empty",
        ":",
        "lgetxattrs",
        "/empty/motd-link",
    ]);
    assert!(expected.contains("trusted.origin"), "{expected}");
    // Without the option none are restored, as with GNU tar.
    assert_eq!(out, expected);
}
