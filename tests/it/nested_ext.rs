//! ext2, ext3 and ext4 images made by `mke2fs -d` read by isofish exactly as debugfs sees them:
//! every entry (names, kinds, modes, owners, times, symlink targets, device numbers, hard
//! links) and every file's bytes against `debugfs rdump`, `ls -p` and `stat`; the feature
//! variants (64bit or not, metadata_csum or not, meta_bg, 1 KiB and 64 KiB blocks, inline_data,
//! large_dir with a two-level htree, block maps up to triple indirect with holes); extended
//! attributes against `debugfs ea_list`/`ea_get` and ACLs against `getfattr` on the tree
//! mke2fs copied; damaged and hostile images (extent loops, too deep trees, bad record
//! lengths, inode numbers past the count, huge sizes, truncation) refused with errors naming
//! the image, the structure and the offset, without a panic or a hang.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use isofish::fs::{self, FileSystem, Ino, MountOptions};
use isofish::source::{FileSource, Source};

use crate::common::{scratch, tool};
use crate::host_tree::{assert_same, snapshot, Node, Tree};
use crate::nested_util::{extract, make_tree, noise, run, run_err, Kinds};

pub(crate) const KINDS: Kinds = Kinds {
    special: true,
    hard_links: true,
    owners: true,
    many: 1000,
    large: 3 << 20,
};

pub(crate) fn mke2fs_sized(tree: &Path, image: &Path, kind: &str, extra: &[&str], size: &str) {
    let mut args = vec!["-q", "-F", "-t", kind];
    args.extend(extra);
    args.extend(["-d", tree.to_str().unwrap(), image.to_str().unwrap(), size]);
    tool("mke2fs", &args, None);
}

fn mke2fs(tree: &Path, image: &Path, kind: &str, extra: &[&str]) {
    mke2fs_sized(tree, image, kind, extra, "32M");
}

/// Rebuilds the directories of `image` with htree indexes (`e2fsck -fD`).
fn index_directories(image: &Path) {
    let fsck = std::process::Command::new("e2fsck")
        .args(["-f", "-y", "-D", image.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        fsck.status.code().is_some_and(|c| c <= 1),
        "e2fsck -fD {}: {}",
        image.display(),
        String::from_utf8_lossy(&fsck.stdout)
    );
}

/// Runs the debugfs commands `script` on `image`; returns what it printed.
pub(crate) fn debugfs(image: &Path, script: &str) -> String {
    let cmds = image.with_extension("debugfs");
    std::fs::write(&cmds, script).unwrap();
    let out = tool(
        "debugfs",
        &["-f", cmds.to_str().unwrap(), image.to_str().unwrap()],
        None,
    );
    String::from_utf8(out).unwrap()
}

/// Extracts `image` with `debugfs rdump` and with isofish's tar-out, and compares the two
/// trees, completed from debugfs's `ls -p` and `stat`; returns the number of entries.
pub(crate) fn same_as_debugfs(image: &Path, what: &str) -> usize {
    same_as_debugfs_of(image, image, what)
}

/// [`same_as_debugfs`] with isofish reading `image` and debugfs reading `theirs` (the same
/// filesystem as another tool left it).
pub(crate) fn same_as_debugfs_of(image: &Path, theirs_image: &Path, what: &str) -> usize {
    let theirs = image.with_extension("debugfs-tree");
    std::fs::create_dir(&theirs).unwrap();
    let cmd = format!("rdump / {}", theirs.display());
    tool(
        "debugfs",
        &["-R", &cmd, theirs_image.to_str().unwrap()],
        None,
    );
    let ours = image.with_extension("isofish-tree");
    extract(image, &[], "/", &ours);
    let mut expected = snapshot(&theirs);
    fix_from_debugfs(theirs_image, &mut expected);
    assert_same(&expected, &snapshot(&ours), what);
    expected.nodes.len()
}

/// The kind letter of an `st_mode`, as [`Node::kind`] has it.
fn kind_of(mode: u32) -> char {
    match mode & 0o170000 {
        0o040000 => 'd',
        0o120000 => 'l',
        0o020000 => 'c',
        0o060000 => 'b',
        0o010000 => 'p',
        0o140000 => 's',
        _ => '-',
    }
}

/// `rdump` pads inline files, leaves symlinks with the extractor's owner and time, drops set-id bits (its chown
/// comes after its chmod), skips devices and FIFOs and writes hard links as copies: take modes,
/// owners and inode numbers from `debugfs ls -p` of every directory, the special files from
/// there too, and the times and device numbers of symlinks and special files from `stat`.
fn fix_from_debugfs(image: &Path, tree: &mut Tree) {
    let mut script = String::from("ls -p /\n");
    for (path, node) in &tree.nodes {
        if node.kind == 'd' {
            script.push_str(&format!("ls -p /{path}\n"));
        }
    }
    let mut dir = String::new();
    let mut inodes: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let mut to_stat = Vec::new();
    for line in debugfs(image, &script).lines() {
        if let Some(d) = line.strip_prefix("debugfs: ls -p /") {
            dir = d.to_string();
            continue;
        }
        if !line.starts_with('/') {
            continue;
        }
        let f: Vec<&str> = line.split('/').collect();
        let name = f[5];
        // Unused slots list as inode 0 with an empty name.
        if name == "." || name == ".." || f[1] == "0" {
            continue;
        }
        let path = if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        };
        let mode = u32::from_str_radix(f[2], 8).unwrap();
        let kind = kind_of(mode);
        if matches!(kind, 'c' | 'b' | 'p' | 's') {
            tree.nodes.insert(
                path.clone(),
                Node {
                    kind,
                    mode: 0,
                    uid: 0,
                    gid: 0,
                    mtime: 0,
                    data: Vec::new(),
                },
            );
        }
        if matches!(kind, 'l' | 'c' | 'b' | 'p' | 's') {
            to_stat.push(path.clone());
        }
        if kind == '-' {
            inodes
                .entry(f[1].parse().unwrap())
                .or_default()
                .push(path.clone());
        }
        let node = tree.nodes.get_mut(&path).unwrap();
        // debugfs 1.47 dumps inline files shorter than 60 bytes padded with zeros to 60: cut
        // them to the size `ls -p` gives.
        if kind == '-' {
            node.data.truncate(f[6].parse().unwrap());
        }
        if kind != 'l' {
            node.mode = mode & 0o7777;
        }
        node.uid = f[3].parse().unwrap();
        node.gid = f[4].parse().unwrap();
    }
    tree.links = inodes
        .into_values()
        .filter(|paths| paths.len() > 1)
        .map(|mut paths| {
            paths.sort();
            paths
        })
        .collect();
    if to_stat.is_empty() {
        return;
    }
    let script: String = to_stat.iter().map(|p| format!("stat /{p}\n")).collect();
    let mut path = String::new();
    for line in debugfs(image, &script).lines() {
        if let Some(p) = line.strip_prefix("debugfs: stat /") {
            path = p.to_string();
        } else if let Some(hex) = line.trim_start().strip_prefix("mtime: 0x") {
            let secs = i64::from_str_radix(&hex[..8], 16).unwrap();
            tree.nodes.get_mut(&path).unwrap().mtime = secs;
        } else if let Some((_, rest)) = line.split_once("Device major/minor number: ") {
            let (major, minor) = rest
                .split_whitespace()
                .next()
                .unwrap()
                .split_once(':')
                .unwrap();
            let dev = format!(
                "{},{}",
                major.parse::<u32>().unwrap(),
                minor.parse::<u32>().unwrap()
            );
            tree.nodes.get_mut(&path).unwrap().data = dev.into_bytes();
        }
    }
}

#[test]
fn ext2_ext3_ext4_read_as_debugfs_rdump_extracts() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, KINDS);
    for kind in ["ext2", "ext3", "ext4"] {
        let image = dir.path().join(format!("{kind}.img"));
        mke2fs(&tree, &image, kind, &[]);
        // Rebuild the directories with htree indexes (the crowded one needs several blocks).
        index_directories(&image);
        let n = same_as_debugfs(&image, kind);
        assert!(n > 1000, "{kind}: the tree is all there");
        let types =
            String::from_utf8(run(&image, &["vfs-type", "/dev/sda", ":", "mounts"])).unwrap();
        assert_eq!(types, format!("{kind}\n/dev/sda on / ({kind})\n"));
    }
}

/// A file with holes: data at the start, in the middle and at the end of `len` bytes.
pub(crate) fn sparse_file(path: &Path, len: u64) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::create(path).unwrap();
    for (at, seed) in [(0, 1), (len / 2, 2), (len - 5000, 3)] {
        f.write_all_at(&noise(5000, seed), at).unwrap();
    }
}

#[test]
fn feature_variants_read_as_debugfs_rdump_extracts() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, Kinds { many: 300, ..KINDS });
    sparse_file(&tree.join("dir/sparse.bin"), 6 << 20);
    // Numbers past 8 bits take the new encoding in i_block[1].
    let big = tree.join("dev/big");
    tool("mknod", &[big.to_str().unwrap(), "c", "511", "70000"], None);
    for (i, (kind, extra, size)) in [
        ("ext4", &["-O", "^64bit,^metadata_csum"][..], "32M"),
        ("ext4", &["-O", "64bit,metadata_csum"], "32M"),
        (
            "ext4",
            &["-O", "meta_bg,^resize_inode", "-b", "1024"],
            "32M",
        ),
        (
            "ext4",
            &["-O", "^extent,^flex_bg,^64bit", "-b", "2048"],
            "32M",
        ),
        ("ext4", &["-b", "65536"], "128M"),
        ("ext4", &["-O", "^filetype"], "32M"),
        ("ext3", &["-b", "1024", "-I", "128"], "32M"),
    ]
    .into_iter()
    .enumerate()
    {
        let image = dir.path().join(format!("variant{i}.img"));
        mke2fs_sized(&tree, &image, kind, extra, size);
        let features = debugfs(&image, "features\n");
        let what = format!("{kind} {extra:?}: {}", features.trim());
        same_as_debugfs(&image, &what);
    }
}

/// Reads a file of `image` through the library: its bytes by `read_at`, and by its extents
/// (holes as zeros) straight from the image.
pub(crate) fn read_both_ways(image: &Path, path: &str) -> (Vec<u8>, Vec<u8>) {
    let source: Arc<dyn Source> = Arc::new(FileSource::open(image).unwrap());
    let fs = fs::open(source.clone(), &MountOptions::default()).unwrap();
    let ino = resolve(fs.as_ref(), path);
    let size = fs.metadata(ino).unwrap().size as usize;
    let mut by_read = vec![0; size];
    let mut done = 0;
    while done < size {
        // Odd-sized reads cross block and run boundaries.
        let end = (done + 77_777).min(size);
        let n = fs
            .read_at(ino, done as u64, &mut by_read[done..end])
            .unwrap();
        assert!(n > 0);
        done += n;
    }
    let mut by_extents = Vec::new();
    for e in fs.spans(ino).unwrap().expect("ext files have extents") {
        let mut piece = vec![0; e.len() as usize];
        if let Some(at) = e.source_offset() {
            source.read_exact_at(at, &mut piece, "test").unwrap();
        }
        by_extents.extend(piece);
    }
    (by_read, by_extents)
}

/// The inode of `path` (absolute) in `fs`.
pub(crate) fn resolve(fs: &dyn FileSystem, path: &str) -> Ino {
    path.split('/')
        .filter(|c| !c.is_empty())
        .fold(fs.root(), |dir, name| {
            fs.lookup(dir, name.as_bytes()).unwrap().unwrap().ino
        })
}

#[test]
fn block_maps_with_holes_up_to_triple_indirect_read_as_debugfs_dumps() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    // With 1 KiB blocks, direct + single + double indirect blocks map 64.3 MiB: past that
    // the triple indirect block is used.
    sparse_file(&tree.join("sparse"), 70 << 20);
    std::fs::write(tree.join("double"), noise(2 << 20, 5)).unwrap();
    for (kind, extra) in [("ext2", &["-b", "1024"][..]), ("ext4", &[][..])] {
        let image = dir.path().join(format!("{kind}.img"));
        mke2fs_sized(&tree, &image, kind, extra, "16M");
        for name in ["sparse", "double"] {
            let theirs = dir.path().join(format!("{kind}-{name}"));
            let cmd = format!("dump /{name} {}", theirs.display());
            tool("debugfs", &["-R", &cmd, image.to_str().unwrap()], None);
            let theirs = std::fs::read(&theirs).unwrap();
            let (by_read, by_extents) = read_both_ways(&image, &format!("/{name}"));
            assert!(by_read == theirs, "{kind} {name}: read_at");
            assert!(by_extents == theirs, "{kind} {name}: extents");
        }
        if kind == "ext2" {
            let stat = debugfs(&image, "stat /sparse\n");
            assert!(stat.contains("(TIND)"), "a triple indirect block: {stat}");
        }
    }
}

#[test]
fn inline_data_files_symlinks_and_directories_read_as_debugfs_extracts() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, Kinds { many: 200, ..KINDS });
    // Files from empty to past what an inode holds, small directories, long symlinks.
    for len in [1, 10, 59, 60, 61, 100, 150, 200, 400, 5000] {
        std::fs::write(tree.join(format!("small-{len}")), noise(len, len as u32)).unwrap();
    }
    for n in [1, 2, 5] {
        let d = tree.join(format!("smalldir-{n}"));
        std::fs::create_dir(&d).unwrap();
        for i in 0..n {
            std::fs::write(d.join(format!("f{i}")), b"x").unwrap();
        }
    }
    std::os::unix::fs::symlink("t/".repeat(40), tree.join("inline-link")).unwrap();
    let image = dir.path().join("inline.img");
    mke2fs(&tree, &image, "ext4", &["-O", "inline_data"]);
    let stat = debugfs(
        &image,
        "stat /small-100\nstat /smalldir-2\nstat /inline-link\n",
    );
    assert_eq!(
        stat.matches("Flags: 0x10000000").count(),
        3,
        "a file, a directory and a symlink are inline: {stat}"
    );
    same_as_debugfs(&image, "inline_data");
}

#[test]
fn large_dir_with_a_two_level_htree_lists_as_debugfs() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    let crowd = tree.join("crowd");
    std::fs::create_dir_all(&crowd).unwrap();
    for i in 0..6000 {
        let name = format!("a-rather-long-name-so-that-few-fit-in-a-block-{i:05}");
        std::fs::write(crowd.join(name), format!("{i}\n")).unwrap();
    }
    let image = dir.path().join("large.img");
    mke2fs(
        &tree,
        &image,
        "ext4",
        &["-O", "large_dir", "-b", "1024", "-N", "8000"],
    );
    index_directories(&image);
    let dump = debugfs(&image, "htree_dump /crowd\n");
    assert!(
        dump.contains("Indirect levels: 1"),
        "two levels: {dump:.500}"
    );
    let n = same_as_debugfs(&image, "large_dir");
    assert!(n > 6000);
}

/// An extended attribute's name and value.
type NameValue = (Vec<u8>, Vec<u8>);

/// The extended attributes of every path of `image`, as `debugfs ea_list` names them and
/// `ea_get` dumps them (ACLs left out: debugfs writes 0 where the kernel writes 0xffffffff
/// for entries without an id), without `system.data`.
fn debugfs_xattrs(image: &Path, paths: &[&str]) -> BTreeMap<String, Vec<NameValue>> {
    let script: String = paths.iter().map(|p| format!("ea_list {p}\n")).collect();
    let mut names: Vec<(String, String)> = Vec::new();
    let mut path = String::new();
    for line in debugfs(image, &script).lines() {
        if let Some(p) = line.strip_prefix("debugfs: ea_list ") {
            path = p.to_string();
        } else if let Some(entry) = line.strip_prefix("  ") {
            let name = entry.split(" (").next().unwrap();
            if name != "system.data" && !name.starts_with("system.posix_acl") {
                names.push((path.clone(), name.to_string()));
            }
        }
    }
    let mut out: BTreeMap<String, Vec<NameValue>> = BTreeMap::new();
    for (i, (path, name)) in names.iter().enumerate() {
        let value = image.with_extension(format!("value{i}"));
        let cmd = format!("ea_get -f {} {path} {name}", value.display());
        tool("debugfs", &["-R", &cmd, image.to_str().unwrap()], None);
        out.entry(path.clone())
            .or_default()
            .push((name.clone().into_bytes(), std::fs::read(&value).unwrap()));
    }
    out
}

/// The ACL of `path` on the host, as the kernel returns it.
fn host_acl(path: &Path, name: &str) -> Vec<u8> {
    let out = tool(
        "getfattr",
        &[
            "--absolute-names",
            "-e",
            "hex",
            "-n",
            name,
            path.to_str().unwrap(),
        ],
        None,
    );
    let out = String::from_utf8(out).unwrap();
    let hex = out.lines().find_map(|l| l.split_once("=0x")).unwrap().1;
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn xattrs_read_as_debugfs_ea_get_and_acls_as_the_kernel() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("d")).unwrap();
    std::fs::write(tree.join("small"), b"tiny").unwrap();
    std::fs::write(tree.join("big"), noise(50_000, 3)).unwrap();
    let t = |p: &str| tree.join(p).to_str().unwrap().to_string();
    let set = |name: &str, value: &str, path: &str| {
        tool("setfattr", &["-n", name, "-v", value, &t(path)], None);
    };
    set("user.short", "v", "small");
    set("user.mime_type", "text/plain", "small");
    set("trusted.overlay.opaque", "y", "d");
    set("security.selinux", "system_u:object_r:etc_t:s0", "big");
    // Too long for the inode: kept in the attribute block.
    set("user.long", &"0123456789".repeat(50), "big");
    tool("setfacl", &["-m", "u:1000:rw,g:100:r", &t("big")], None);
    tool("setfacl", &["-d", "-m", "u:1000:rwx", &t("d")], None);
    let paths = ["/small", "/big", "/d"];
    for (kind, extra) in [
        ("ext4", &[][..]),
        ("ext4", &["-O", "inline_data"][..]),
        ("ext2", &["-I", "128"][..]),
    ] {
        let image = dir.path().join(format!("{kind}-{}.img", extra.len()));
        mke2fs_sized(&tree, &image, kind, extra, "8M");
        let expected = debugfs_xattrs(&image, &paths);
        let source: Arc<dyn Source> = Arc::new(FileSource::open(&image).unwrap());
        let fs = fs::open(source, &MountOptions::default()).unwrap();
        for path in paths {
            let mut ours: Vec<NameValue> = fs
                .xattrs(resolve(fs.as_ref(), path))
                .unwrap()
                .into_iter()
                .map(|x| (x.name, x.value))
                .collect();
            let mut acls: Vec<NameValue> = Vec::new();
            ours.retain(|(name, value)| {
                let acl = name.starts_with(b"system.posix_acl");
                if acl {
                    acls.push((name.clone(), value.clone()));
                }
                !acl
            });
            let mut theirs = expected.get(path).cloned().unwrap_or_default();
            ours.sort();
            theirs.sort();
            assert!(
                ours == theirs,
                "{kind} {extra:?} {path}: {ours:?} != {theirs:?}"
            );
            for (name, value) in acls {
                let name = String::from_utf8(name).unwrap();
                let host = host_acl(&tree.join(&path[1..]), &name);
                assert_eq!(value, host, "{kind} {extra:?} {path} {name}");
            }
        }
    }
}

/// The byte offset of inode `path`'s on-disk inode in `image`, from `debugfs imap`.
fn inode_offset(image: &Path, path: &str, block_size: usize) -> usize {
    let out = debugfs(image, &format!("imap {path}\n"));
    let line = out
        .lines()
        .find(|l| l.contains("located at block"))
        .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    let block: usize = words[3].trim_end_matches(',').parse().unwrap();
    let within = usize::from_str_radix(words[5].trim_start_matches("0x"), 16).unwrap();
    block * block_size + within
}

/// The first data block of `path` in `image`, from `debugfs blocks`.
fn first_block(image: &Path, path: &str) -> usize {
    let out = debugfs(image, &format!("blocks {path}\n"));
    let line = out.lines().find(|l| !l.starts_with("debugfs")).unwrap();
    line.split_whitespace().next().unwrap().parse().unwrap()
}

/// Runs `words` on `image`, expecting it refused (see [`refused_ro`]) with an error that
/// names the image, says `corrupt STRUCTURE at offset` and has `detail`.
fn refused(image: &Path, words: &[&str], structure: &str, detail: &str) {
    let (_, err) = crate::common::refused_ro(image, words);
    let name = image.to_str().unwrap();
    assert!(
        err.contains(name)
            && err.contains(&format!("corrupt {structure} at offset"))
            && err.contains(detail),
        "{words:?}: wanted {structure} / {detail}: {err}"
    );
}

#[test]
fn hostile_fields_are_refused_with_the_structure_and_offset() {
    let dir = scratch();
    let d = dir.path();
    let tree = d.join("tree");
    make_tree(&tree, Kinds::plain(100, 300_000));
    let hello = tree.join("hello.txt");
    tool(
        "setfattr",
        &["-n", "user.k", "-v", "v", hello.to_str().unwrap()],
        None,
    );
    let image = d.join("good.img");
    mke2fs(
        &tree,
        &image,
        "ext4",
        &["-O", "^metadata_csum", "-b", "4096"],
    );
    let good = std::fs::read(&image).unwrap();
    let patched = |name: &str, patch: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = good.clone();
        patch(&mut bytes);
        let path = d.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let large = inode_offset(&image, "/dir/large.bin", 4096);
    // The extent root in i_block claims a depth past the kernel's limit of 5.
    let deep = patched("deep.img", &|b| {
        b[large + 0x28 + 6..large + 0x28 + 8].copy_from_slice(&6u16.to_le_bytes());
    });
    refused(
        &deep,
        &["cat", "/dir/large.bin"],
        "ext extent tree",
        "depth 6",
    );
    // i_size_high: a size of 2^63 and more.
    let huge = patched("huge.img", &|b| {
        b[large + 0x6c..large + 0x70].copy_from_slice(&0x8000_0000u32.to_le_bytes());
    });
    refused(
        &huge,
        &["cat", "/dir/large.bin"],
        "ext inode",
        "past the largest file",
    );
    // Directory entries of /dir: the first one's record length becomes 0, or runs past
    // the block; the third one's inode number passes the inode count.
    let block = first_block(&image, "/dir") * 4096;
    let rec_len = |name: &str, len: u16| {
        patched(name, &|b: &mut Vec<u8>| {
            b[block + 4..block + 6].copy_from_slice(&len.to_le_bytes());
        })
    };
    refused(
        &rec_len("zero.img", 0),
        &["ls", "/dir"],
        "ext directory entry",
        "record length 0",
    );
    refused(
        &rec_len("past.img", 8192),
        &["ls", "/dir"],
        "ext directory entry",
        "record length 8192",
    );
    let third = {
        // `.` and `..` take 12 bytes each.
        let at = block + 24;
        patched("ino.img", &|b: &mut Vec<u8>| {
            b[at..at + 4].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
        })
    };
    refused(
        &third,
        &["ls", "/dir"],
        "ext directory entry",
        "past the inode count",
    );
    // Half the image: the superblock's block count says it was cut.
    let cut = patched("cut.img", &|b| b.truncate(good.len() / 2));
    refused(&cut, &["ls", "/"], "ext superblock", "truncated");
    // What the reader cannot read is refused by name: encrypted data and names (the
    // ENCRYPT inode flag); a value said to be kept in an inode of its own (ea_inode) that is
    // not an xattr inode.
    let flags = |path: &str| inode_offset(&image, path, 4096) + 0x20;
    let (file, dir) = (flags("/dir/large.bin"), flags("/dir"));
    for (at, words, what) in [
        (file, &["cat", "/dir/large.bin"][..], "the data of inode"),
        (dir, &["ls", "/dir"][..], "encrypted names"),
    ] {
        let encrypted = patched("encrypted.img", &|b| b[at + 1] |= 0x08);
        let err = run_err(&encrypted, words);
        assert!(
            err.contains("unsupported ext feature encrypt") && err.contains(what),
            "{err}"
        );
    }
    let hello = inode_offset(&image, "/hello.txt", 4096);
    let extra = usize::from(u16::from_le_bytes([good[hello + 0x80], good[hello + 0x81]]));
    // The first in-inode entry, after the 4-byte magic: its e_value_inum.
    let inum = hello + 128 + extra + 4 + 4;
    let ea_inode = patched("ea_inode.img", &|b| {
        b[inum..inum + 4].copy_from_slice(&13u32.to_le_bytes());
    });
    let source: Arc<dyn Source> = Arc::new(FileSource::open(&ea_inode).unwrap());
    let fs = fs::open(source, &MountOptions::default()).unwrap();
    let err = fs.xattrs(resolve(fs.as_ref(), "/hello.txt")).unwrap_err();
    // Inode 13 is a plain file, not an xattr inode holding the value.
    assert!(
        err.to_string().contains("corrupt ext inode")
            && err
                .to_string()
                .contains("in inode 13, which is no xattr inode"),
        "{err}"
    );
}

#[test]
fn damaged_images_fail_cleanly() {
    let dir = scratch();
    let tree = dir.path().join("tree");
    make_tree(&tree, Kinds::plain(200, 300_000));
    let image = dir.path().join("good.img");
    mke2fs_sized(&tree, &image, "ext4", &[], "2M");
    let good = std::fs::read(&image).unwrap();
    let mut cases = vec![good[..4096].to_vec(), good[..good.len() / 2].to_vec()];
    // Cut inside the superblock, past the magic the probe looks for (a fuzzer's find).
    cases.extend([1082, 1100, 1119, 1124].map(|n| good[..n].to_vec()));
    // Flip bytes in the metadata blocks that are in use (the first 600 KiB hold them).
    for at in (1024..600 * 1024).step_by(12 * 1024) {
        let mut bad = good.clone();
        for b in &mut bad[at..at + 16] {
            *b ^= 0xa5;
        }
        cases.push(bad);
    }
    for (i, bytes) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.img"));
        std::fs::write(&path, bytes).unwrap();
        crate::nested_util::walk_damaged(&path, i);
    }
}

#[test]
fn an_extent_tree_that_loops_is_an_error() {
    let dir = scratch();
    let d = dir.path();
    // A fragmented file: 40 files written, every other one removed, then a large one written
    // into the holes, so its extent tree needs an index block (no checksums to trip first).
    let script = "mke2fs -q -F -t ext4 -O ^metadata_csum -b 1024 e.img 4M >/dev/null 2>&1 \
        && head -c 20000 /dev/urandom > small && head -c 300000 /dev/urandom > big \
        && for i in $(seq 1 40); do debugfs -w -R \"write small f$i\" e.img >/dev/null 2>&1; done \
        && for i in $(seq 1 2 40); do debugfs -w -R \"rm f$i\" e.img >/dev/null 2>&1; done \
        && debugfs -w -R 'write big big' e.img >/dev/null 2>&1";
    tool("sh", &["-c", script], Some(d));
    let ex = String::from_utf8(tool("debugfs", &["-R", "ex big", "e.img"], Some(d))).unwrap();
    // debugfs's first line under the header is the index entry: its physical block.
    let block: usize = ex
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .nth(7)
        .unwrap()
        .parse()
        .unwrap();
    let good = std::fs::read(d.join("e.img")).unwrap();
    let at = block * 1024;
    assert_eq!(&good[at..at + 2], &[0x0a, 0xf3], "an extent block");
    // The leaf claims depth 1 and its first entry becomes an index pointing at itself.
    let mut bytes = good.clone();
    bytes[at + 6..at + 8].copy_from_slice(&1u16.to_le_bytes());
    bytes[at + 12..at + 24].copy_from_slice(&[0; 12]);
    bytes[at + 16..at + 20].copy_from_slice(&(block as u32).to_le_bytes());
    let image = d.join("loop.img");
    std::fs::write(&image, &bytes).unwrap();
    refused(&image, &["cat", "/big"], "ext extent tree", "a loop");
    // The inode's root points at the leaf twice: a block reached twice.
    let inode = inode_offset(&d.join("e.img"), "/big", 1024);
    let mut bytes = good;
    let root = inode + 0x28;
    let entries = u16::from_le_bytes([bytes[root + 2], bytes[root + 3]]);
    assert_eq!(entries, 1, "one index entry in the root");
    let (first, second) = (root + 12, root + 24);
    bytes.copy_within(first..first + 12, second);
    bytes[second..second + 4].copy_from_slice(&100_000u32.to_le_bytes());
    bytes[root + 2..root + 4].copy_from_slice(&2u16.to_le_bytes());
    let image = d.join("twice.img");
    std::fs::write(&image, &bytes).unwrap();
    refused(&image, &["cat", "/big"], "ext extent tree", "reached twice");
}
