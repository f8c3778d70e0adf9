//! Images inside images, reached in one isofish run: the Fedora-like chain ISO > squashfs >
//! ext4 > file and the Arch-like ISO > squashfs of tests/fixtures/nested.iso, the FAT EFI image
//! and the initrd beside them; each layer held against the real tools peeling the same layers
//! one by one (xorriso, unsquashfs, debugfs, mtools, cpio).

use std::path::{Path, PathBuf};

use crate::common::{fixture, scratch, tool};
use crate::host_tree::snapshot;
use crate::nested_util::{extract, run, run_err};

/// Extracts one file of nested.iso with xorriso.
pub(crate) fn xorriso_extract(iso: &Path, path: &str, to: &Path) {
    tool(
        "xorriso",
        &[
            "-osirrox",
            "on",
            "-indev",
            iso.to_str().unwrap(),
            "-extract",
            path,
            to.to_str().unwrap(),
        ],
        None,
    );
}

const FEDORA: &[&str] = &[
    "mount-loop",
    "/LiveOS/squashfs.img",
    "/sqsh",
    ":",
    "mount-loop",
    "/sqsh/LiveOS/rootfs.img",
    "/sysroot",
    ":",
];

/// Extracts the squashfs image at `path` of nested.iso into `d` with xorriso and unpacks
/// it with unsquashfs into `d/into`, which it returns.
fn unsquash_from_iso(iso: &Path, path: &str, d: &Path, into: &str) -> PathBuf {
    let image = d.join(path.rsplit('/').next().unwrap());
    xorriso_extract(iso, path, &image);
    let tree = d.join(into);
    tool(
        "unsquashfs",
        &[
            "-q",
            "-n",
            "-d",
            tree.to_str().unwrap(),
            image.to_str().unwrap(),
        ],
        None,
    );
    tree
}

/// Copies the tree at `from` of the ext4 image `rootfs` into the new directory `to` with
/// debugfs rdump, and returns `to`.
fn debugfs_rdump(rootfs: &Path, from: &str, to: &Path) -> PathBuf {
    std::fs::create_dir(to).unwrap();
    let cmd = format!("rdump {from} {}", to.display());
    tool("debugfs", &["-R", &cmd, rootfs.to_str().unwrap()], None);
    to.to_path_buf()
}

#[test]
fn fedora_chain_iso_squashfs_ext4_file() {
    let iso = fixture("nested.iso");
    let dir = scratch();
    let d = dir.path();
    // The tools, layer by layer.
    let sq = unsquash_from_iso(&iso, "/LiveOS/squashfs.img", d, "sq");
    let rootfs = sq.join("LiveOS/rootfs.img");
    let theirs = tool(
        "debugfs",
        &[
            "-R",
            "cat /usr/share/doc/hello/numbers.txt",
            rootfs.to_str().unwrap(),
        ],
        None,
    );
    let mut words = FEDORA.to_vec();
    words.extend(["cat", "/sysroot/usr/share/doc/hello/numbers.txt"]);
    assert_eq!(run(&iso, &words), theirs);

    // The whole ext4 tree, against debugfs rdump (kinds and bytes).
    let rd = debugfs_rdump(&rootfs, "/", &d.join("rdump"));
    let ours = d.join("ours");
    extract(&iso, FEDORA, "/sysroot", &ours);
    let view = |p: &Path| -> Vec<(String, char, Vec<u8>)> {
        snapshot(p)
            .nodes
            .into_iter()
            .map(|(k, n)| (k, n.kind, n.data))
            .collect()
    };
    assert_eq!(view(&ours), view(&rd));

    let mut words = FEDORA.to_vec();
    words.extend(["mounts"]);
    assert_eq!(
        String::from_utf8(run(&iso, &words)).unwrap(),
        "/dev/sda on / (iso9660)\n\
         /LiveOS/squashfs.img on /sqsh (squashfs, xz)\n\
         /sqsh/LiveOS/rootfs.img on /sysroot (ext4)\n"
    );
}

#[test]
fn arch_chain_and_the_rest_in_one_run() {
    let iso = fixture("nested.iso");
    let dir = scratch();
    let d = dir.path();
    let air = unsquash_from_iso(&iso, "/arch/x86_64/airootfs.sfs", d, "air");
    xorriso_extract(&iso, "/EFI/BOOT/efiboot.img", &d.join("efiboot.img"));
    let efi = tool(
        "mtype",
        &[
            "-i",
            d.join("efiboot.img").to_str().unwrap(),
            "::/EFI/BOOT/Long File Name.txt",
        ],
        None,
    );
    // Every chain in one run: Fedora's, Arch's, the EFI image and the initrd.
    let mut words = FEDORA.to_vec();
    words.extend([
        "mount-loop",
        "/arch/x86_64/airootfs.sfs",
        "/arch",
        ":",
        "mount-loop",
        "/EFI/BOOT/efiboot.img",
        "/efi",
        ":",
        "mount-loop",
        "/boot/initrd.img",
        "/initrd",
        ":",
        "cat",
        "/arch/etc/os-release",
        ":",
        "cat",
        "/efi/EFI/BOOT/Long File Name.txt",
        ":",
        "cat",
        "/sysroot/etc/os-release",
        ":",
        "cat",
        "/initrd/etc/motd",
        ":",
        "readlink",
        "/arch/etc/os-release",
    ]);
    let mut expected = std::fs::read(air.join("usr/lib/os-release")).unwrap();
    expected.extend(efi);
    expected.extend(b"NAME=\"Isofish Linux\"\nVERSION_ID=42\n");
    expected.extend(b"motd from the main archive\n");
    expected.extend(b"../usr/lib/os-release\n");
    assert_eq!(
        String::from_utf8(run(&iso, &words)).unwrap(),
        String::from_utf8(expected).unwrap()
    );

    // tar-out of the Arch mount against unsquashfs's extraction.
    let ours = d.join("ours");
    extract(
        &iso,
        &["mount-loop", "/arch/x86_64/airootfs.sfs", "/arch", ":"],
        "/arch",
        &ours,
    );
    crate::host_tree::assert_same(&snapshot(&air), &snapshot(&ours), "airootfs");
}

#[test]
fn tar_out_descends_into_the_mounts_below() {
    let iso = fixture("nested.iso");
    let mut words = FEDORA.to_vec();
    words.extend(["find", "/"]);
    let listing = String::from_utf8(run(&iso, &words)).unwrap();
    for path in [
        "LiveOS/squashfs.img",
        "sqsh/LiveOS/rootfs.img",
        "sysroot/etc/os-release",
    ] {
        assert!(listing.lines().any(|l| l == path), "{path} in\n{listing}");
    }
    let dir = scratch();
    let ours = dir.path().join("all");
    extract(&iso, FEDORA, "/", &ours);
    assert_eq!(
        std::fs::read(ours.join("sysroot/etc/os-release")).unwrap(),
        b"NAME=\"Isofish Linux\"\nVERSION_ID=42\n"
    );
}

#[test]
fn vfs_type_names_nested_images_and_their_compression() {
    let iso = fixture("nested.iso");
    let mut words = FEDORA.to_vec();
    for p in [
        "/LiveOS/squashfs.img",
        "/arch/x86_64/airootfs.sfs",
        "/sqsh/LiveOS/rootfs.img",
        "/EFI/BOOT/efiboot.img",
        "/boot/initrd.img",
    ] {
        words.extend(["vfs-type", p, ":"]);
    }
    words.pop();
    assert_eq!(
        String::from_utf8(run(&iso, &words)).unwrap(),
        "squashfs (xz)\nsquashfs (zstd)\next4\nvfat\ncpio (newc)\n"
    );
}

#[test]
fn umount_refuses_while_an_image_inside_is_mounted() {
    let iso = fixture("nested.iso");
    let mut words = FEDORA.to_vec();
    words.extend(["umount", "/sqsh"]);
    let err = run_err(&iso, &words);
    assert!(
        err.contains("busy: /sysroot is mounted from /sqsh/LiveOS/rootfs.img"),
        "{err}"
    );
    let mut words = FEDORA.to_vec();
    words.extend(["umount", "/sysroot", ":", "umount", "/sqsh", ":", "mounts"]);
    assert_eq!(
        String::from_utf8(run(&iso, &words)).unwrap(),
        "/dev/sda on / (iso9660)\n"
    );
}

#[test]
fn a_file_that_holds_no_image_is_refused() {
    let iso = fixture("nested.iso");
    let err = run_err(
        &iso,
        &[
            "mount-loop",
            "/root.sqfs",
            "/r",
            ":",
            "mount-loop",
            "/r/etc/motd",
            "/x",
        ],
    );
    assert!(err.contains("no filesystem found"), "{err}");
    let err = run_err(&iso, &["mount-loop", "/LiveOS", "/x"]);
    assert!(err.contains("LiveOS"), "{err}");
}

#[test]
fn a_squashfs_in_the_iso_is_read_straight_from_the_iso_file() {
    let iso = fixture("nested.iso");
    let listing = String::from_utf8(tool(
        "isoinfo",
        &["-R", "-l", "-i", iso.to_str().unwrap()],
        None,
    ))
    .unwrap();
    let line = listing
        .lines()
        .find(|l| l.trim_end().ends_with(" squashfs.img"))
        .expect("isoinfo lists squashfs.img");
    let lba: u64 = line
        .split('[')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("an LBA in brackets");
    let mut session = isofish::session::Session::new(true);
    session.add_drive(&iso).unwrap();
    session
        .mount("/dev/sda", "/", isofish::fs::MountOptions::default())
        .unwrap();
    let source = session.file_source("/LiveOS/squashfs.img").unwrap();
    let (_, base) = source
        .host_file()
        .expect("one contiguous extent of the host file");
    assert_eq!(base, lba * 2048);
}

#[test]
fn a_partitioned_disk_image_in_an_iso_mounts_its_partitions() {
    let dir = scratch();
    let d = dir.path();
    let sh = |script: &str| tool("sh", &["-c", script], Some(d));
    // A GPT disk: FAT at sector 2048, ext4 at sector 10240, laid in by dd; the ISO carries it.
    sh("mkdir -p iso t e && echo fatfile > t/fat.txt && echo extfile > e/ext.txt \
        && mkfs.fat -C p1.img 4096 >/dev/null && MTOOLS_SKIP_CHECK=1 mcopy -i p1.img t/fat.txt ::/ \
        && mke2fs -q -t ext4 -d e p2.img 4M >/dev/null && truncate -s 10M iso/disk.img \
        && printf 'label: gpt\\nstart=2048, size=8192\\nstart=10240, size=8192\\n' | sfdisk -q iso/disk.img \
        && dd if=p1.img of=iso/disk.img bs=512 seek=2048 conv=notrunc status=none \
        && dd if=p2.img of=iso/disk.img bs=512 seek=10240 conv=notrunc status=none \
        && xorriso -as mkisofs -quiet -R -o disk.iso iso 2>/dev/null");
    let disk = d.join("iso/disk.img");
    let fat = tool(
        "mtype",
        &[
            "-i",
            &format!("{}@@{}", disk.display(), 2048 * 512),
            "::/fat.txt",
        ],
        None,
    );
    sh("dd if=iso/disk.img of=part2.img bs=512 skip=10240 count=8192 status=none");
    let ext = tool(
        "debugfs",
        &["-R", "cat /ext.txt", d.join("part2.img").to_str().unwrap()],
        None,
    );
    let out = run(
        &d.join("disk.iso"),
        &[
            "mount-loop",
            "/disk.img",
            "/d",
            ":",
            "mounts",
            ":",
            "cat",
            "/d/1/fat.txt",
            ":",
            "cat",
            "/d/2/ext.txt",
        ],
    );
    let mut expected =
        b"/dev/sda on / (iso9660)\n/dev/sdb1 on /d/1 (vfat, FAT12)\n/dev/sdb2 on /d/2 (ext4)\n"
            .to_vec();
    expected.extend(fat);
    expected.extend(ext);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        String::from_utf8(expected).unwrap()
    );
}

#[test]
fn both_chains_in_one_scripted_session() {
    let iso = fixture("nested.iso");
    let script = "mount-loop /LiveOS/squashfs.img /sqsh\n\
                  mount-loop /sqsh/LiveOS/rootfs.img /sysroot\n\
                  mount-loop /arch/x86_64/airootfs.sfs /arch\n\
                  cat /sysroot/etc/hello-link\n\
                  cat /arch/etc/hostname\n";
    let out = crate::common::isofish()
        .args(["--ro", "-a", iso.to_str().unwrap()])
        .write_stdin(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "#!/bin/sh\necho hello from the nested ext4\narchiso\n"
    );
}

#[test]
fn an_iso_inside_an_iso_mounts() {
    let dir = scratch();
    let d = dir.path();
    let sh = |script: &str| tool("sh", &["-c", script], Some(d));
    sh(
        "mkdir -p inner/docs outer && echo inner file > inner/docs/readme.txt \
        && xorriso -as mkisofs -quiet -R -J -o outer/inner.iso inner 2>/dev/null \
        && xorriso -as mkisofs -quiet -R -o outer.iso outer 2>/dev/null",
    );
    let theirs = tool(
        "isoinfo",
        &[
            "-R",
            "-i",
            d.join("outer/inner.iso").to_str().unwrap(),
            "-x",
            "/docs/readme.txt",
        ],
        None,
    );
    let out = run(
        &d.join("outer.iso"),
        &[
            "mount-loop",
            "/inner.iso",
            "/in",
            ":",
            "mounts",
            ":",
            "cat",
            "/in/docs/readme.txt",
        ],
    );
    let mut expected = b"/dev/sda on / (iso9660)\n/inner.iso on /in (iso9660)\n".to_vec();
    expected.extend(theirs);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        String::from_utf8(expected).unwrap()
    );
}

#[test]
fn tar_out_and_copy_out_xdev_stay_on_one_filesystem_like_gnu_tar() {
    let iso = fixture("nested.iso");
    let dir = scratch();
    let d = dir.path();
    // xdev's listing is xorriso's listing of the ISO alone; the full one adds the mount and
    // unsquashfs's listing of the squashfs below it. tar-out's members are listed by GNU tar,
    // copy-out's files by find.
    let mount = ["mount-loop", "/root.sqfs", "/r", ":"];
    let sorted = |out: Vec<u8>| -> Vec<String> {
        let mut v: Vec<String> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| l.trim_start_matches("./").trim_end_matches('/').to_string())
            .filter(|l| !l.is_empty() && l != ".")
            .collect();
        v.sort();
        v
    };
    let tar_out = |words: &[&str]| -> Vec<String> {
        let tarball = d.join("t.tar");
        let mut w = mount.to_vec();
        w.extend(["tar-out", "/", tarball.to_str().unwrap()]);
        w.extend(words);
        run(&iso, &w);
        sorted(tool("tar", &["-tf", tarball.to_str().unwrap()], None))
    };
    let copy_out = |words: &[&str]| -> Vec<String> {
        let out = tempfile::tempdir_in(d).unwrap();
        let mut w = mount.to_vec();
        w.extend(["copy-out", "/", out.path().to_str().unwrap()]);
        w.extend(words);
        run(&iso, &w);
        sorted(tool("find", &["."], Some(out.path())))
    };
    let iso_only = String::from_utf8(tool(
        "xorriso",
        &[
            "-indev",
            iso.to_str().unwrap(),
            "-find",
            "/",
            "-exec",
            "echo",
        ],
        None,
    ))
    .unwrap();
    let mut iso_only: Vec<String> = iso_only
        .lines()
        .map(|l| l.trim_matches('\'').trim_start_matches('/').to_string())
        .filter(|l| !l.is_empty())
        .collect();
    iso_only.sort();
    assert_eq!(tar_out(&["xdev:true"]), iso_only);
    assert_eq!(copy_out(&["xdev:true"]), iso_only);
    xorriso_extract(&iso, "/root.sqfs", &d.join("root.sqfs"));
    let sq = String::from_utf8(tool(
        "unsquashfs",
        &["-l", "-n", d.join("root.sqfs").to_str().unwrap()],
        None,
    ))
    .unwrap();
    let mut all = iso_only.clone();
    all.push("r".to_string());
    all.extend(
        sq.lines()
            .filter_map(|l| l.strip_prefix("squashfs-root/"))
            .map(|p| format!("r/{p}")),
    );
    all.sort();
    assert_eq!(tar_out(&[]), all);
    assert_eq!(copy_out(&[]), all);
    assert_eq!(copy_out(&["xdev:false"]), all);
}

#[test]
fn read_commands_work_inside_nested_mounts() {
    let iso = fixture("nested.iso");
    let dir = scratch();
    let d = dir.path();
    let sq = unsquash_from_iso(&iso, "/LiveOS/squashfs.img", d, "sq");
    let rootfs = sq.join("LiveOS/rootfs.img");
    let hello = d.join("hello.debugfs");
    let dump = format!("dump /usr/bin/hello {}", hello.display());
    tool("debugfs", &["-R", &dump, rootfs.to_str().unwrap()], None);
    let sum = String::from_utf8(tool("sha256sum", &[hello.to_str().unwrap()], None)).unwrap();
    let downloaded = d.join("hello.isofish");
    let copied = d.join("copied");
    std::fs::create_dir(&copied).unwrap();
    let mut words = FEDORA.to_vec();
    words.extend([
        "checksum",
        "sha256",
        "/sysroot/usr/bin/hello",
        ":",
        "download",
        "/sysroot/usr/bin/hello",
        downloaded.to_str().unwrap(),
        ":",
        "copy-out",
        "/sysroot/usr",
        copied.to_str().unwrap(),
        ":",
        "ls",
        "/sysroot/usr/bin",
    ]);
    let out = String::from_utf8(run(&iso, &words)).unwrap();
    assert_eq!(
        out,
        format!("{}\nhello\n", sum.split_whitespace().next().unwrap())
    );
    assert_eq!(
        std::fs::read(&downloaded).unwrap(),
        std::fs::read(&hello).unwrap()
    );
    let rd = debugfs_rdump(&rootfs, "/usr", &d.join("rdump"));
    let view = |p: &Path| -> Vec<(String, char, u32, Vec<u8>)> {
        snapshot(p)
            .nodes
            .into_iter()
            .map(|(k, n)| (k, n.kind, n.mode, n.data))
            .collect()
    };
    assert_eq!(view(&copied), view(&rd));
}

#[test]
fn compressed_images_that_are_not_cpio_are_decoded_and_probed() {
    let dir = scratch();
    let d = dir.path();
    let sh = |script: &str| tool("sh", &["-c", script], Some(d));
    sh("mkdir -p t iso && echo inside the ext4 > t/f \
        && mke2fs -q -t ext4 -d t e.img 2M >/dev/null \
        && gzip -n -c e.img > iso/e.img.gz && xz -c e.img > iso/e.img.xz \
        && xorriso -as mkisofs -quiet -R -o g.iso iso 2>/dev/null");
    let theirs = tool(
        "debugfs",
        &["-R", "cat /f", d.join("e.img").to_str().unwrap()],
        None,
    );
    let out = run(
        &d.join("g.iso"),
        &[
            "mount-loop",
            "/e.img.gz",
            "/a",
            ":",
            "mount-loop",
            "/e.img.xz",
            "/b",
            "memory=0",
            ":",
            "mounts",
            ":",
            "cat",
            "/a/f",
            ":",
            "cat",
            "/b/f",
            ":",
            "vfs-type",
            "/e.img.xz",
        ],
    );
    let mut expected = b"/dev/sda on / (iso9660)\n\
        /e.img.gz on /a (ext4, gzip decoded in memory)\n\
        /e.img.xz on /b (ext4, xz decoded to a temporary file, memory=0)\n"
        .to_vec();
    expected.extend(&theirs);
    expected.extend(&theirs);
    expected.extend(b"ext4 (xz)\n");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        String::from_utf8(expected).unwrap()
    );
}
