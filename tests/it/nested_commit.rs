//! Commits of changes staged inside nested images: the images rebuilt innermost first and put
//! in their files' place, the outer image written with them; the parent's staged changes as
//! they were when a commit fails; the nested mounts opened again after a commit back into the
//! opened image; writes under read-only formats refused before anything is staged. Every level
//! is checked with xorriso on the image isofish wrote.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{fixture, isofish, scratch, tool, xorriso, xorriso_extract};
use crate::nested_squashfs::mksquashfs;

/// Runs `isofish -a IMAGE WORDS` (read-write); returns stdout, panics with stderr on failure.
fn rw(image: &Path, words: &str) -> String {
    let out = isofish()
        .arg("-a")
        .arg(image)
        .args(words.split(' '))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "isofish {words}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Makes `image` of `tree` with xorriso (Rock Ridge and Joliet).
fn mkiso(tree: &Path, image: &Path) {
    let (t, i) = (tree.to_str().unwrap(), image.to_str().unwrap());
    tool(
        "xorriso",
        &["-as", "mkisofs", "-quiet", "-R", "-J", "-o", i, t],
        None,
    );
}

/// The paths xorriso finds in `image`, sorted.
fn listing(image: &Path) -> Vec<String> {
    let out = xorriso(&[
        "-indev",
        image.to_str().unwrap(),
        "-find",
        "/",
        "-exec",
        "lsdl",
    ]);
    let mut names: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .filter_map(|l| l.split('\'').nth(1).map(String::from))
        .collect();
    names.sort();
    names
}

/// outer.iso holding inner.iso (holding old.txt, keep.txt and, when `deeper`, deep.iso holding
/// deep.txt) and other.txt.
fn nested_isos(d: &Path, deeper: bool) -> std::path::PathBuf {
    let inner = d.join("inner");
    fs::create_dir_all(&inner).unwrap();
    fs::write(inner.join("old.txt"), "old\n").unwrap();
    fs::write(inner.join("keep.txt"), "kept\n").unwrap();
    if deeper {
        let deep = d.join("deep");
        fs::create_dir_all(&deep).unwrap();
        fs::write(deep.join("deep.txt"), "deep\n").unwrap();
        mkiso(&deep, &inner.join("deep.iso"));
    }
    let outer = d.join("outer");
    fs::create_dir_all(&outer).unwrap();
    mkiso(&inner, &outer.join("inner.iso"));
    fs::write(outer.join("other.txt"), "other\n").unwrap();
    let image = d.join("outer.iso");
    mkiso(&outer, &image);
    image
}

#[test]
fn an_iso_inside_an_iso_is_rebuilt_into_the_new_image() {
    let d = scratch();
    let image = nested_isos(d.path(), false);
    let before = fs::read(&image).unwrap();
    let out = d.path().join("out.iso");
    rw(
        &image,
        &format!(
            "mount-loop /inner.iso /in : write /in/hello.txt hi : rm /in/old.txt : commit {}",
            out.display()
        ),
    );
    assert!(
        fs::read(&image).unwrap() == before,
        "the opened image was modified"
    );
    assert_eq!(listing(&out), ["/", "/inner.iso", "/other.txt"]);
    let inner = d.path().join("inner.iso");
    xorriso_extract(&out, "/inner.iso", &inner);
    assert_eq!(listing(&inner), ["/", "/hello.txt", "/keep.txt"]);
    let got = d.path().join("got");
    fs::create_dir_all(&got).unwrap();
    xorriso_extract(&inner, "/hello.txt", &got.join("hello.txt"));
    xorriso_extract(&inner, "/keep.txt", &got.join("keep.txt"));
    xorriso_extract(&out, "/other.txt", &got.join("other.txt"));
    assert_eq!(fs::read_to_string(got.join("hello.txt")).unwrap(), "hi");
    assert_eq!(fs::read_to_string(got.join("keep.txt")).unwrap(), "kept\n");
    assert_eq!(
        fs::read_to_string(got.join("other.txt")).unwrap(),
        "other\n"
    );
}

#[test]
fn three_levels_are_rebuilt_innermost_first() {
    let d = scratch();
    let image = nested_isos(d.path(), true);
    let out = d.path().join("out.iso");
    rw(
        &image,
        &format!(
            "mount-loop /inner.iso /in : mount-loop /in/deep.iso /deep : write /deep/deep.txt changed : write /in/new.txt n : commit {}",
            out.display()
        ),
    );
    let inner = d.path().join("inner.iso");
    xorriso_extract(&out, "/inner.iso", &inner);
    assert_eq!(
        listing(&inner),
        ["/", "/deep.iso", "/keep.txt", "/new.txt", "/old.txt"]
    );
    let deep = d.path().join("deep.iso");
    xorriso_extract(&inner, "/deep.iso", &deep);
    let text = d.path().join("deep.txt");
    xorriso_extract(&deep, "/deep.txt", &text);
    assert_eq!(fs::read_to_string(text).unwrap(), "changed");
}

#[test]
fn a_commit_back_opens_the_nested_mounts_on_the_new_image() {
    let d = scratch();
    let image = nested_isos(d.path(), false);
    let out = rw(
        &image,
        "mount-loop /inner.iso /in : write /in/hello.txt hi : commit : cat /in/hello.txt : changes : ls /in",
    );
    assert_eq!(out, "hihello.txt\nkeep.txt\nold.txt\n");
    let inner = d.path().join("inner.iso");
    xorriso_extract(&image, "/inner.iso", &inner);
    assert_eq!(
        listing(&inner),
        ["/", "/hello.txt", "/keep.txt", "/old.txt"]
    );
}

#[test]
fn a_failed_commit_leaves_the_staged_changes_as_they_were() {
    let d = scratch();
    let image = nested_isos(d.path(), false);
    let nowhere = d.path().join("no/such/dir/out.iso");
    let out = isofish()
        .arg("-a")
        .arg(&image)
        .args(
            format!(
                "mount-loop /inner.iso /in : write /in/hello.txt hi : -commit {} : changes : revert-all",
                nowhere.display()
            )
            .split(' '),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    // The parent shows no change of its own: the rebuilt inner.iso was taken out again.
    assert!(stdout.starts_with("A /in/hello.txt\n"), "{stdout}");
    assert!(!stdout.contains("M /inner.iso"), "{stdout}");
    assert!(stdout.contains("rebuild /inner.iso: iso9660"), "{stdout}");
}

#[test]
fn writes_under_ext4_are_refused_naming_the_format() {
    let d = scratch();
    let image = d.path().join("n.iso");
    fs::copy(fixture("nested.iso"), &image).unwrap();
    let out = isofish()
        .arg("-a")
        .arg(&image)
        .args("mount-loop /LiveOS/squashfs.img /sq : mount-loop /sq/LiveOS/rootfs.img /r : write /r/etc/x hi".split(' '))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/r/etc/x: read-only: ext4 filesystems are read-only in isofish")
            && stderr.contains("copy-out"),
        "{stderr}"
    );
}

#[test]
fn an_image_file_written_over_its_staged_contents_is_refused() {
    let d = scratch();
    let image = nested_isos(d.path(), false);
    let out = d.path().join("out.iso");
    let run = isofish()
        .arg("-a")
        .arg(&image)
        .args(
            format!(
                "mount-loop /inner.iso /in : write /in/a b : write-append /inner.iso x : commit {}",
                out.display()
            )
            .split(' '),
        )
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(
            "/inner.iso was itself written while changes are staged in the image it holds (/in)"
        ),
        "{stderr}"
    );
    assert!(!out.exists());
}

/// Makes `d/in.iso` of `iso_tree`, runs `WORDS : commit d/out.iso` on it; returns the output.
fn commit_tree(d: &Path, iso_tree: &Path, words: &str) -> std::path::PathBuf {
    let image = d.join("in.iso");
    mkiso(iso_tree, &image);
    commit_image(d, &image, words)
}

/// Runs `WORDS : commit d/out.iso` on `image`; returns the output.
fn commit_image(d: &Path, image: &Path, words: &str) -> std::path::PathBuf {
    let out = d.join("out.iso");
    rw(image, &format!("{words} : commit {}", out.display()));
    out
}

/// The file `inner` of `image` and of `out`, extracted into `d` as `old.EXT` and `new.EXT`.
fn before_after(d: &Path, image: &Path, out: &Path, inner: &str) -> (PathBuf, PathBuf) {
    let ext = Path::new(inner).extension().unwrap().to_str().unwrap();
    let (old, new) = (d.join(format!("old.{ext}")), d.join(format!("new.{ext}")));
    xorriso_extract(image, inner, &old);
    xorriso_extract(out, inner, &new);
    (old, new)
}

/// `tests/fixtures/nested.iso` copied into `d`.
fn nested_copy(d: &Path) -> std::path::PathBuf {
    let image = d.join("n.iso");
    fs::copy(fixture("nested.iso"), &image).unwrap();
    image
}

/// The output of a shell pipeline `script` (sh -c).
fn sh(script: &str) -> Vec<u8> {
    tool("sh", &["-c", script], None)
}

#[test]
fn an_initrd_edit_keeps_its_early_segment_and_recompresses_the_main_one() {
    let d = scratch();
    let image = nested_copy(d.path());
    let out = commit_image(
        d.path(),
        &image,
        "mount-loop /boot/initrd.img /i : write /i/etc/motd new-motd",
    );
    let (old, new) = before_after(d.path(), &image, &out, "/boot/initrd.img");
    let (old_bytes, new_bytes) = (fs::read(&old).unwrap(), fs::read(&new).unwrap());
    // The gzip stream starts where the early archive and its padding end.
    let gz = old_bytes
        .windows(3)
        .position(|w| w == [0x1f, 0x8b, 8])
        .unwrap();
    assert!(
        new_bytes[..gz] == old_bytes[..gz],
        "the early segment changed"
    );
    let motd = sh(&format!(
        "tail -c +{} {} | gzip -dc | cpio -i --quiet --to-stdout etc/motd",
        gz + 1,
        new.display()
    ));
    assert_eq!(motd, b"new-motd");
}

#[test]
fn a_gzipped_cpio_is_compressed_again_with_gzip() {
    let d = scratch();
    let tree = d.path().join("tree");
    fs::create_dir_all(tree.join("etc")).unwrap();
    fs::write(tree.join("etc/hostname"), "old\n").unwrap();
    let iso_tree = d.path().join("iso");
    fs::create_dir_all(&iso_tree).unwrap();
    sh(&format!(
        "cd {} && find . | cpio -o -H newc --quiet | gzip -9 > {}/initrd.gz",
        tree.display(),
        iso_tree.display()
    ));
    let out = commit_tree(
        d.path(),
        &iso_tree,
        "mount-loop /initrd.gz /i : write /i/etc/hostname new",
    );
    let new = d.path().join("new.gz");
    xorriso_extract(&out, "/initrd.gz", &new);
    let text = sh(&format!(
        "gzip -dc {} | cpio -i --quiet --to-stdout etc/hostname",
        new.display()
    ));
    assert_eq!(text, b"new");
    // gzip -9's choice is read back from the stream (XFL 2) and kept.
    assert_eq!(fs::read(&new).unwrap()[8], 2);
}

#[test]
fn a_compressed_image_is_compressed_again_with_its_codec() {
    let d = scratch();
    let inner = d.path().join("inner");
    fs::create_dir_all(&inner).unwrap();
    fs::write(inner.join("keep.txt"), "kept\n").unwrap();
    let outer = d.path().join("outer");
    fs::create_dir_all(&outer).unwrap();
    mkiso(&inner, &d.path().join("inner.iso"));
    sh(&format!(
        "xz -9 --check=crc32 -c {0}/inner.iso > {0}/outer/inner.iso.xz",
        d.path().display()
    ));
    let image = d.path().join("outer.iso");
    mkiso(&outer, &image);
    let out = d.path().join("out.iso");
    let said = rw(
        &image,
        &format!(
            "mount-loop /inner.iso.xz /in : write /in/new.txt n : changes : commit {}",
            out.display()
        ),
    );
    assert!(
        said.contains("rebuild /inner.iso.xz: iso9660, compressed with xz"),
        "{said}"
    );
    let xz = d.path().join("new.iso.xz");
    xorriso_extract(&out, "/inner.iso.xz", &xz);
    let new = d.path().join("new.iso");
    sh(&format!("xz -dc {} > {}", xz.display(), new.display()));
    assert_eq!(listing(&new), ["/", "/keep.txt", "/new.txt"]);
    // The kernel's xz decoder knows CRC32 checks only: the stream keeps one.
    let info = String::from_utf8(sh(&format!("xz -lvv {}", xz.display()))).unwrap();
    assert!(info.contains("CRC32"), "{info}");
}

#[test]
fn a_fat_image_of_the_same_size_is_committed_in_place() {
    use std::os::unix::fs::MetadataExt;
    let d = scratch();
    let image = nested_copy(d.path());
    let inode = fs::metadata(&image).unwrap().ino();
    let out = rw(
        &image,
        "mount-loop /EFI/BOOT/efiboot.img /efi : write /efi/EFI/BOOT/grub.cfg set-marker=1 : changes : commit --in-place",
    );
    assert!(out.contains("rebuild /EFI/BOOT/efiboot.img: vfat"), "{out}");
    assert_eq!(
        fs::metadata(&image).unwrap().ino(),
        inode,
        "the image was replaced"
    );
    let efi = d.path().join("efi.img");
    xorriso_extract(&image, "/EFI/BOOT/efiboot.img", &efi);
    let cfg = tool(
        "mtype",
        &["-i", efi.to_str().unwrap(), "::/EFI/BOOT/grub.cfg"],
        None,
    );
    assert_eq!(cfg, b"set-marker=1");
    tool("fsck.vfat", &["-n", efi.to_str().unwrap()], None);
}

/// `unsquashfs -s`'s compression and block size lines of `image`.
fn squashfs_settings(image: &Path) -> Vec<String> {
    let out = tool("unsquashfs", &["-s", image.to_str().unwrap()], None);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("Compression") || l.starts_with("Block size"))
        .map(String::from)
        .collect()
}

#[test]
fn a_squashfs_edit_is_committed_and_unsquashfs_reads_it() {
    let d = scratch();
    let image = nested_copy(d.path());
    let out = commit_image(
        d.path(),
        &image,
        "mount-loop /root.sqfs /sq : write /sq/etc/motd hello : mkdir /sq/srv",
    );
    let (old, new) = before_after(d.path(), &image, &out, "/root.sqfs");
    let n = new.to_str().unwrap();
    assert_eq!(tool("unsquashfs", &["-cat", n, "etc/motd"], None), b"hello");
    let listed = String::from_utf8(tool("unsquashfs", &["-ll", n], None)).unwrap();
    assert!(listed.contains("squashfs-root/srv"), "{listed}");
    assert_eq!(squashfs_settings(&new), squashfs_settings(&old));
}

#[test]
fn iso_squashfs_cpio_are_rebuilt_in_one_commit() {
    let d = scratch();
    let initrd_tree = d.path().join("initrd");
    fs::create_dir_all(initrd_tree.join("etc")).unwrap();
    fs::write(initrd_tree.join("etc/x"), "old\n").unwrap();
    let sq_tree = d.path().join("sq");
    fs::create_dir_all(sq_tree.join("boot")).unwrap();
    sh(&format!(
        "cd {} && find . | cpio -o -H newc --quiet | gzip > {}/boot/initrd.img",
        initrd_tree.display(),
        sq_tree.display()
    ));
    let iso_tree = d.path().join("iso");
    fs::create_dir_all(&iso_tree).unwrap();
    let sqfs = iso_tree.join("root.sqfs");
    mksquashfs(&sq_tree, &sqfs, "xz");
    let out = commit_tree(
        d.path(),
        &iso_tree,
        "mount-loop /root.sqfs /sq : mount-loop /sq/boot/initrd.img /i : write /i/etc/x deep",
    );
    let new = d.path().join("new.sqfs");
    xorriso_extract(&out, "/root.sqfs", &new);
    let x = sh(&format!(
        "unsquashfs -cat {} boot/initrd.img | gzip -dc | cpio -i --quiet --to-stdout etc/x",
        new.display()
    ));
    assert_eq!(x, b"deep");
    assert_eq!(squashfs_settings(&new), squashfs_settings(&sqfs));
}

#[test]
fn a_fat_image_given_with_a_commits_through_its_writer() {
    let d = scratch();
    let efi = d.path().join("efi.img");
    xorriso_extract(&fixture("nested.iso"), "/EFI/BOOT/efiboot.img", &efi);
    let size = fs::metadata(&efi).unwrap().len();
    rw(&efi, "write /EFI/BOOT/added.txt from-the-drive");
    let e = efi.to_str().unwrap();
    assert_eq!(
        tool("mtype", &["-i", e, "::/EFI/BOOT/added.txt"], None),
        b"from-the-drive"
    );
    tool("fsck.vfat", &["-n", e], None);
    assert_eq!(fs::metadata(&efi).unwrap().len(), size);
}
