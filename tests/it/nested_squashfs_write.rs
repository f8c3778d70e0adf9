//! The squashfs writer (`fs::squashfs::write`), driven through the library as the session's
//! commit drives it: images made by mksquashfs (gzip, xz, zstd, lz4, lzma; xattrs set with
//! setfattr, devices, FIFOs and sockets from pseudo definitions, hard links, symlinks, a sparse
//! file), changed through an `Overlay` or not at all, rebuilt, written to a file and checked
//! with squashfs-tools: `unsquashfs -s` (compressor, block size, options and flags kept),
//! `-lln`, `-cat`, and `-d` extraction compared with the expected tree (the original's
//! extraction with the same changes made by the host's tools), xattrs read back by getfattr.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use isofish::fs::squashfs::SquashFs;
use isofish::fs::{rebuild, FileKind, FileSystem, Xattr};
use isofish::overlay::{fresh, Content, Overlay, Provenance};
use isofish::source::{FileSource, Source};

use crate::commands_xattr::{getfattr, unsquashfs, Attrs};
use crate::common::{scratch, tool};
use crate::host_tree::{assert_same, snapshot, Tree};
use crate::nested_squashfs::mksquashfs_with;
use crate::nested_util::{make_tree, noise, write, Kinds};

/// The pseudo definitions of the special files (the tests need not run as root to make them).
const PSEUDO: [&str; 5] = [
    "dev d 755 0 0",
    "dev/null c 666 0 0 1 3",
    "dev/sda1 b 660 0 6 8 1",
    "dev/fifo i 600 0 0 f",
    "dev/socket i 600 0 0 s",
];

/// A source tree with every kind of entry, a sparse file and attributes; returns its path.
fn source_tree(dir: &Path) -> PathBuf {
    let top = dir.join("tree");
    make_tree(
        &top,
        Kinds {
            special: false,
            hard_links: true,
            owners: true,
            many: 300,
            large: 400_000,
        },
    );
    // Sparse: a hole of three blocks of 128 KiB, then data.
    let mut sparse = vec![0u8; 3 << 17];
    sparse.extend_from_slice(b"after the hole\n");
    write(&top.join("sparse.bin"), &sparse);
    write(&top.join("dup-a.bin"), &noise(200_000, 3));
    write(&top.join("dup-b.bin"), &noise(200_000, 3));
    let set = |name: &str, value: &str, path: &str| {
        let p = top.join(path);
        tool(
            "setfattr",
            &["-h", "-n", name, "-v", value, p.to_str().unwrap()],
            None,
        );
    };
    set("user.mime", "text/plain", "hello.txt");
    set("user.shared", "same", "dir/large.bin");
    set("user.shared", "same", "dir/sub/deep.txt");
    set("trusted.tag", "t", "dir");
    top
}

/// mksquashfs of `tree` into `image` with `comp` and `extra` options, the special files
/// made by pseudo definitions.
fn mksquashfs(tree: &Path, image: &Path, comp: &str, extra: &[&str]) {
    let mut args = extra.to_vec();
    for p in PSEUDO {
        args.extend_from_slice(&["-p", p]);
    }
    mksquashfs_with(tree, image, comp, &args);
}

fn open(image: &Path) -> Arc<SquashFs> {
    let source: Arc<dyn Source> = Arc::new(FileSource::open(image).unwrap());
    Arc::new(SquashFs::open(source).unwrap())
}

/// Rebuilds `fs` holding `tree` into `out`; returns the writer's warnings.
fn rebuild_into(
    fs: &SquashFs,
    tree: &dyn FileSystem,
    provenance: &dyn Fn(u64) -> Provenance,
    out: &Path,
) -> Vec<String> {
    let plan = rebuild::plan(fs, tree, provenance).unwrap();
    let file = std::fs::File::create(out).unwrap();
    isofish::plan::to_file::write(&plan, &file, &|_| {}).unwrap();
    plan.warnings().to_vec()
}

/// `unsquashfs -s` without the lines that change with the content (sizes, counts).
fn settings(image: &Path) -> Vec<String> {
    let out = tool("unsquashfs", &["-s", image.to_str().unwrap()], None);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .filter(|l| {
            !["Filesystem size", "Number of", "Found a valid"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .map(String::from)
        .collect()
}

/// `unsquashfs -lln` of `image`: one line per entry with numeric owners.
fn listing(image: &Path) -> String {
    String::from_utf8(tool("unsquashfs", &["-lln", image.to_str().unwrap()], None)).unwrap()
}

/// What a user sees of the tree extracted at `top`: every name with its kind, permissions,
/// owners, content, target or device numbers, the hard-link groups, and the attributes
/// getfattr reads; modification times but those of directories and of the `touched` paths.
fn describe(top: &Path, touched: &[&str]) -> (Tree, Attrs) {
    let mut tree = snapshot(top);
    for (path, node) in &mut tree.nodes {
        if node.kind == 'd' || touched.contains(&path.as_str()) {
            node.mtime = 0;
        }
    }
    (tree, getfattr(top))
}

/// Asserts that the trees extracted at `got` and `want` are the same, as [`describe`] sees them.
fn assert_trees(got: &Path, want: &Path, touched: &[&str], what: &str) {
    let ((got_tree, got_attrs), (want_tree, want_attrs)) =
        (describe(got, touched), describe(want, touched));
    assert_same(&want_tree, &got_tree, what);
    assert_eq!(got_attrs, want_attrs, "{what}");
}

/// Asserts that two listings are the same, showing the lines that differ.
fn same(got: &str, want: &str, what: &str) {
    let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
    let extra: Vec<&&str> = g.iter().filter(|l| !w.contains(l)).collect();
    let missing: Vec<&&str> = w.iter().filter(|l| !g.contains(l)).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{what}: unexpected {extra:#?}\nmissing {missing:#?}"
    );
    assert_eq!(g.len(), w.len(), "{what}: {got}");
}

#[test]
fn an_unchanged_image_rebuilds_to_the_same_tree_with_its_data_copied() {
    let dir = scratch();
    let tree = source_tree(dir.path());
    for comp in ["gzip", "xz", "zstd", "lz4"] {
        let image = dir.path().join(format!("{comp}.sqfs"));
        mksquashfs(&tree, &image, comp, &[]);
        let fs = open(&image);
        let out = dir.path().join(format!("{comp}-same.sqfs"));
        let warnings = rebuild_into(&fs, &*fs, &|_| Provenance::UNCHANGED, &out);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(settings(&out), settings(&image), "{comp}");
        same(&listing(&out), &listing(&image), comp);
        let want = unsquashfs(&image, dir.path(), &format!("{comp}-want"));
        let got = unsquashfs(&out, dir.path(), &format!("{comp}-got"));
        let (tree, attrs) = describe(&want, &[]);
        assert_eq!(tree.nodes["dev/sda1"].data, b"8,1");
        assert_eq!(
            attrs["hello.txt"],
            [("user.mime".into(), b"text/plain".to_vec())]
        );
        assert_trees(&got, &want, &[], comp);
        // The data blocks are copied, not compressed again: the image keeps its size (the
        // tables may pack a little differently).
        let (old, new) = (
            std::fs::metadata(&image).unwrap().len(),
            std::fs::metadata(&out).unwrap().len(),
        );
        assert!(new.abs_diff(old) <= old / 50, "{comp}: {old} -> {new}");
    }
}

/// The changes made to the tree, in the overlay and on the host alike, and the paths whose
/// modification time they set to now.
const TOUCHED: [&str; 7] = [
    "hello.txt",
    "dir/hard-link",
    "new/added.bin",
    "new/holes.bin",
    "new/link",
    "new/pipe",
    "dev/tty",
];

/// A file of a hole of `blocks` blocks of 128 KiB and a few bytes.
fn holes() -> Vec<u8> {
    let mut v = vec![0u8; 300_000];
    v.extend_from_slice(b"x");
    v
}

fn xattr(name: &str, value: &str) -> Xattr {
    Xattr {
        name: name.as_bytes().to_vec(),
        value: value.as_bytes().to_vec(),
    }
}

/// Stages the changes in `o`.
fn stage(o: &Overlay) {
    use isofish::fs::Metadata;
    o.create("/new", fresh(FileKind::Dir, 0o755), None).unwrap();
    let file = |path: &str, data: Vec<u8>| {
        o.create(
            path,
            fresh(FileKind::File, 0o644),
            Some(Content::bytes(data)),
        )
        .unwrap();
    };
    file("/new/added.bin", noise(300_000, 11));
    file("/new/holes.bin", holes());
    o.set_content("/hello.txt", Content::bytes(b"changed\n".to_vec()))
        .unwrap();
    o.remove("/dir/odd-size.bin").unwrap();
    o.rename("/dir/sub", "/moved-sub").unwrap();
    o.change_meta("/empty", |m| {
        m.mode = 0o640;
        m.uid = 1234;
        Ok(())
    })
    .unwrap();
    let symlink = Metadata {
        symlink: Some(b"../hello.txt".to_vec()),
        ..fresh(FileKind::Symlink, 0o777)
    };
    o.create("/new/link", symlink, None).unwrap();
    o.link("/dir/large.bin", "/new/large-link").unwrap();
    let tty = Metadata {
        rdev: Some((5, 0)),
        ..fresh(FileKind::CharDevice, 0o620)
    };
    o.create("/dev/tty", tty, None).unwrap();
    o.create("/new/pipe", fresh(FileKind::Fifo, 0o600), None)
        .unwrap();
    o.set_xattrs(
        "/dir/large.bin",
        vec![xattr("user.shared", "changed"), xattr("user.more", "x")],
    )
    .unwrap();
    o.set_xattrs("/hello.txt", Vec::new()).unwrap();
}

/// Makes the same changes in the extracted tree `top` with the host's tools.
fn mirror(top: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let p = |rel: &str| top.join(rel);
    let s = |rel: &str| p(rel).to_str().unwrap().to_string();
    std::fs::create_dir(p("new")).unwrap();
    std::fs::set_permissions(p("new"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(p("new/added.bin"), noise(300_000, 11)).unwrap();
    std::fs::write(p("new/holes.bin"), holes()).unwrap();
    for f in ["new/added.bin", "new/holes.bin"] {
        std::fs::set_permissions(p(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::write(p("hello.txt"), b"changed\n").unwrap();
    std::fs::remove_file(p("dir/odd-size.bin")).unwrap();
    std::fs::rename(p("dir/sub"), p("moved-sub")).unwrap();
    std::fs::set_permissions(p("empty"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::chown(p("empty"), Some(1234), None).unwrap();
    std::os::unix::fs::symlink("../hello.txt", p("new/link")).unwrap();
    std::fs::hard_link(p("dir/large.bin"), p("new/large-link")).unwrap();
    tool("mknod", &["-m", "620", &s("dev/tty"), "c", "5", "0"], None);
    tool("mkfifo", &["-m", "600", &s("new/pipe")], None);
    tool(
        "setfattr",
        &["-n", "user.shared", "-v", "changed", &s("dir/large.bin")],
        None,
    );
    tool(
        "setfattr",
        &["-n", "user.more", "-v", "x", &s("dir/large.bin")],
        None,
    );
    tool("setfattr", &["-x", "user.mime", &s("hello.txt")], None);
}

#[test]
fn changes_through_an_overlay_are_written_with_the_images_settings() {
    let dir = scratch();
    let tree = source_tree(dir.path());
    for (comp, extra) in [
        (
            "gzip",
            &["-b", "64K", "-no-fragments", "-Xcompression-level", "6"][..],
        ),
        ("xz", &["-Xbcj", "x86", "-Xdict-size", "50%", "-noI"][..]),
        (
            "zstd",
            &[
                "-Xcompression-level",
                "19",
                "-always-use-fragments",
                "-no-exports",
            ][..],
        ),
        ("lz4", &["-Xhc"][..]),
        ("lzma", &[][..]),
    ] {
        let image = dir.path().join(format!("{comp}.sqfs"));
        mksquashfs(&tree, &image, comp, extra);
        let fs = open(&image);
        let o = Overlay::new(fs.clone());
        stage(&o);
        let out = dir.path().join(format!("{comp}-changed.sqfs"));
        let warnings = rebuild_into(&fs, &o, &|ino| o.provenance(ino), &out);
        if comp == "lz4" {
            assert!(warnings.iter().any(|w| w.contains("-Xhc")), "{warnings:?}");
        } else {
            assert!(warnings.is_empty(), "{warnings:?}");
        }
        assert_eq!(settings(&out), settings(&image), "{comp} {extra:?}");
        let cat = tool(
            "unsquashfs",
            &["-cat", out.to_str().unwrap(), "dir/hard-link"],
            None,
        );
        assert_eq!(cat, b"changed\n");
        let want = unsquashfs(&image, dir.path(), &format!("{comp}-want"));
        mirror(&want);
        let got = unsquashfs(&out, dir.path(), &format!("{comp}-got"));
        let what = format!("{comp} {extra:?}");
        assert!(describe(&want, &TOUCHED).0.links.contains(&vec![
            "dir/large.bin".to_string(),
            "new/large-link".to_string()
        ]));
        assert_trees(&got, &want, &TOUCHED, &what);
    }
}

#[test]
fn an_lzo_image_is_refused_by_name() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, Kinds::plain(3, 1000));
    let image = dir.path().join("lzo.sqfs");
    mksquashfs(&tree, &image, "lzo", &[]);
    let source: Arc<dyn Source> = Arc::new(FileSource::open(&image).unwrap());
    let err = SquashFs::open(source).err().unwrap().to_string();
    assert!(err.contains("lzo"), "{err}");
}

/// Seeded damage to the inode, directory and fragment tables of an image stored plainly: each
/// mutant the reader opens is rebuilt; the writer fails or writes, never panics.
#[test]
fn damaged_images_the_reader_opens_never_make_the_writer_panic() {
    use crate::mutants::{damage, Rng};
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, Kinds::plain(40, 300_000));
    let image = dir.path().join("plain.sqfs");
    mksquashfs(&tree, &image, "gzip", &["-noI", "-noD", "-noF", "-noX"]);
    let base = std::fs::read(&image).unwrap();
    let le64 = |at: usize| u64::from_le_bytes(base[at..at + 8].try_into().unwrap()) as usize;
    // From the inode table to the id table: inodes, listings, fragment and export tables.
    let (from, to) = (le64(64), le64(48));
    let mut rng = Rng(0x5a5f_7717);
    let (mut written, mut refused) = (0, 0);
    for i in 0..300 {
        let mut img = base.clone();
        for _ in 0..1 + rng.below(3) {
            damage(&mut img, from + rng.below(to - from), &mut rng);
        }
        let path = dir.path().join("mutant.sqfs");
        std::fs::write(&path, &img).unwrap();
        let source: Arc<dyn Source> = Arc::new(FileSource::open(&path).unwrap());
        let Ok(fs) = SquashFs::open(source) else {
            continue;
        };
        let out = dir.path().join("rebuilt.sqfs");
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let plan = rebuild::plan(&fs, &fs, &|_| Provenance::UNCHANGED)?;
            let file = std::fs::File::create(&out).unwrap();
            isofish::plan::to_file::write(&plan, &file, &|_| {})
                .map_err(|e| isofish::error::Error::Usage(e.to_string()))
        }));
        match result {
            Ok(Ok(())) => written += 1,
            Ok(Err(_)) => refused += 1,
            Err(_) => panic!("mutant {i} made the writer panic"),
        }
    }
    assert!(
        written > 0 && refused > 0,
        "{written} written, {refused} refused"
    );
}

/// The growth of the image at `image` when the files `names` are added with the same data.
fn growth(dir: &Path, image: &Path, names: &[&str]) -> u64 {
    let fs = open(image);
    let o = Overlay::new(fs.clone());
    for name in names {
        o.create(
            name,
            fresh(FileKind::File, 0o644),
            Some(Content::bytes(noise(300_000, 5))),
        )
        .unwrap();
    }
    let out = dir.join("grown.sqfs");
    rebuild_into(&fs, &o, &|ino| o.provenance(ino), &out);
    // No attributes in this tree: the flags stay as mksquashfs set them.
    assert_eq!(settings(&out), settings(image));
    let got = unsquashfs(&out, dir, "grown");
    for name in names {
        assert_eq!(
            std::fs::read(got.join(&name[1..])).unwrap(),
            noise(300_000, 5)
        );
    }
    std::fs::remove_dir_all(&got).unwrap();
    std::fs::metadata(&out).unwrap().len() - std::fs::metadata(image).unwrap().len()
}

#[test]
fn new_files_with_the_same_data_share_it_where_the_image_deduplicates() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, Kinds::plain(3, 1000));
    for (extra, shared) in [(&[][..], true), (&["-no-duplicates"][..], false)] {
        let image = dir.path().join("base.sqfs");
        mksquashfs(&tree, &image, "gzip", extra);
        let one = growth(dir.path(), &image, &["/one"]);
        let two = growth(dir.path(), &image, &["/one", "/two"]);
        assert!(one > 100_000, "{one}");
        if shared {
            assert!(two < one + 20_000, "{extra:?}: {one} then {two}");
        } else {
            assert!(two > 2 * one - 20_000, "{extra:?}: {one} then {two}");
        }
    }
}
