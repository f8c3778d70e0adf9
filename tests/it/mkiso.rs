//! `mkiso`: images made from host directories, read back by the third-party readers (bsdtar and
//! xorriso as the reference extraction, isoinfo's Rock Ridge and Joliet listings, 7-Zip) as the
//! same tree with the same bytes; booted by qemu (isolinux and GRUB trees, SeaBIOS and OVMF, as
//! CD and as hard disk) with the boot entries xorriso reports; rebuilt from the options
//! `boot-info --as mkisofs` prints; and bad input refused with nothing left as the output.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::boot_images::{image, values, xorriso};
use crate::boot_qemu::{
    assert_efi_partitions_hold_the_loader, boot_all, isolinux_loaded, BIOS, BIOS_AND_UEFI, MARKER,
};
use crate::common::{isofish, scratch, tool};
use crate::host_tree::{assert_same, reference, snapshot};

/// `isofish mkiso DIR OUT ARGS...`, which must succeed; its standard output.
fn mkiso(dir: &Path, out: &Path, args: &[&str]) -> Vec<u8> {
    let run = isofish().arg("mkiso").arg(dir).arg(out).args(args).assert();
    run.success().get_output().stdout.clone()
}

/// Sets the modification time of `p` (not following a symlink).
fn touch(p: &Path, when: &str) {
    tool("touch", &["-h", "-d", when, p.to_str().unwrap()], None);
}

/// A tree with what a distribution's tree has and what trips writers up: odd names and modes,
/// old times, symlinks, hard links, a FIFO, names of 255 bytes, a deep tree.
fn host_tree(top: &Path) {
    let dir = top.join("sub dir/ünïcödé");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(top.join("README"), b"hello\n").unwrap();
    std::fs::write(
        dir.join("data.bin"),
        (0..70_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    std::fs::write(top.join("empty"), b"").unwrap();
    std::fs::write(top.join("script.sh"), b"#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(
        top.join("script.sh"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    std::fs::set_permissions(dir.join("data.bin"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink("sub dir/ünïcödé/data.bin", top.join("link")).unwrap();
    std::os::unix::fs::symlink("/nowhere/at/all", top.join("dangling")).unwrap();
    std::fs::hard_link(top.join("README"), dir.join("README.hard")).unwrap();
    tool("mkfifo", &[top.join("fifo").to_str().unwrap()], None);
    let long = "n".repeat(250);
    std::fs::write(top.join(format!("{long}.text")), b"a long name\n").unwrap();
    std::fs::create_dir(top.join("d".repeat(255))).unwrap();
    let mut deep = top.join("deep");
    for i in 0..12 {
        deep = deep.join(format!("level{i}"));
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("bottom.txt"), b"at the bottom\n").unwrap();
    for (p, when) in [
        (top.join("README"), "2001-02-03 04:05:06"),
        (top.join("link"), "1999-12-31 23:59:59"),
        (dir.join("data.bin"), "2030-06-07 08:09:10"),
    ] {
        touch(&p, when);
    }
    // Directories last: what was made in them changed their times.
    for p in [dir.clone(), top.join("sub dir"), deep] {
        touch(&p, "2010-10-10 10:10:10");
    }
}

#[test]
fn mkiso_tree_reads_back_the_same_in_every_reader() {
    let s = scratch();
    let top = s.path().join("tree");
    host_tree(&top);
    let iso = s.path().join("new.iso");
    mkiso(&top, &iso, &["label:MKISO_TEST"]);
    // bsdtar (and xorriso for symlinks) extract the same tree: names, types, modes, owners,
    // times, targets, bytes and hard links.
    let (_x, extracted) = reference(&iso);
    assert_same(
        &snapshot(&top),
        &snapshot(&extracted),
        "bsdtar/xorriso extraction",
    );
    // isoinfo lists every name through Rock Ridge, and Joliet names cut at 64 characters.
    let rr = String::from_utf8(tool(
        "isoinfo",
        &["-R", "-f", "-i", iso.to_str().unwrap()],
        None,
    ))
    .unwrap();
    for path in snapshot(&top).nodes.keys() {
        assert!(
            rr.lines().any(|l| l == format!("/{path}")),
            "isoinfo -R lacks /{path}:\n{rr}"
        );
    }
    // (isoinfo prints Joliet names in Latin-1.)
    let joliet: String = tool("isoinfo", &["-J", "-f", "-i", iso.to_str().unwrap()], None)
        .into_iter()
        .map(char::from)
        .collect();
    assert!(
        joliet.lines().any(|l| l == "/sub dir/ünïcödé/data.bin"),
        "{joliet}"
    );
    // The 255-byte name cut to Joliet's 64 characters, its extension kept.
    let cut = format!("/{}.text", "n".repeat(59));
    assert!(joliet.lines().any(|l| l == cut), "{joliet}");
    let info =
        String::from_utf8(tool("isoinfo", &["-d", "-i", iso.to_str().unwrap()], None)).unwrap();
    assert!(info.contains("Volume id: MKISO_TEST"), "{info}");
    assert!(info.contains("Joliet with UCS level 3 found"), "{info}");
    assert!(
        info.contains("Rock Ridge signatures version 1 found"),
        "{info}"
    );
    // 7-Zip reads the files' bytes.
    let out = s.path().join("7z");
    tool(
        "7z",
        &[
            "x",
            "-y",
            &format!("-o{}", out.display()),
            iso.to_str().unwrap(),
        ],
        None,
    );
    let data = std::fs::read(out.join("sub dir/ünïcödé/data.bin")).unwrap();
    assert_eq!(
        data,
        std::fs::read(top.join("sub dir/ünïcödé/data.bin")).unwrap()
    );
    let bottom = out.join("deep").join(
        (0..12)
            .map(|i| format!("level{i}"))
            .collect::<Vec<_>>()
            .join("/"),
    );
    assert_eq!(
        std::fs::read(bottom.join("bottom.txt")).unwrap(),
        b"at the bottom\n"
    );
}

#[test]
fn mkiso_to_standard_output_is_the_same_image() {
    let s = scratch();
    let top = s.path().join("tree");
    std::fs::create_dir_all(top.join("a")).unwrap();
    std::fs::write(top.join("a/file"), vec![7u8; 100_000]).unwrap();
    // Read once, and the directories listed once, so that the first mkiso's reading changes
    // no access time the second records (relatime).
    std::fs::read(top.join("a/file")).unwrap();
    for dir in [top.clone(), top.join("a")] {
        assert!(std::fs::read_dir(dir).unwrap().count() > 0);
    }
    let file = s.path().join("file.iso");
    // A volume date given, so both runs make the same image.
    let date = "mkisofs:--modification-date=2024010203040500";
    mkiso(&top, &file, &[date]);
    let stdout = mkiso(&top, Path::new("-"), &[date]);
    assert!(
        stdout == std::fs::read(&file).unwrap(),
        "mkiso - and mkiso FILE differ"
    );
    let listed = String::from_utf8(tool(
        "isoinfo",
        &["-R", "-f", "-i", file.to_str().unwrap()],
        None,
    ))
    .unwrap();
    assert_eq!(listed, "/a\n/a/file\n");
}

#[test]
fn mkiso_sparse_file_over_4gib() {
    let s = scratch();
    let top = s.path().join("tree");
    std::fs::create_dir(&top).unwrap();
    let big = top.join("big.img");
    let len: u64 = (4 << 30) + 4096 + 100;
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(len).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, b"the end", len - 7).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, b"the start", 0).unwrap();
    drop(f);
    let iso = s.path().join("big.iso");
    mkiso(&top, &iso, &[]);
    let lsdl = String::from_utf8(tool(
        "xorriso",
        &[
            "-no_rc",
            "-indev",
            iso.to_str().unwrap(),
            "-find",
            "/big.img",
            "-exec",
            "lsdl",
        ],
        None,
    ))
    .unwrap();
    assert!(lsdl.contains(&format!(" {len} ")), "{lsdl}");
    // bsdtar reads the multi-extent file whole: its first and last bytes are the host's.
    let mut child = Command::new("bsdtar")
        .args(["-xOf", iso.to_str().unwrap(), "big.img"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (mut total, mut first, mut last) = (0u64, Vec::new(), Vec::new());
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = stdout.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        if first.len() < 9 {
            first.extend_from_slice(&buf[..n.min(9 - first.len())]);
        }
        last.extend_from_slice(&buf[..n]);
        let keep = last.len().saturating_sub(7);
        last.drain(..keep);
        total += n as u64;
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(
        (total, first.as_slice(), last.as_slice()),
        (len, &b"the start"[..], &b"the end"[..])
    );
}

/// The tree of image `name` extracted by xorriso into `dir/tree` (writable), its boot catalog
/// file left out (mkiso makes its own).
fn tree_of(name: &str, dir: &Path, catalog: &str) -> PathBuf {
    let tree = dir.join("tree");
    tool(
        "xorriso",
        &[
            "-no_rc",
            "-osirrox",
            "on",
            "-indev",
            image(name).to_str().unwrap(),
            "-extract",
            "/",
            tree.to_str().unwrap(),
        ],
        None,
    );
    tool("chmod", &["-R", "u+w", tree.to_str().unwrap()], None);
    std::fs::remove_file(tree.join(catalog)).unwrap();
    tree
}

/// Fails unless `xorriso -report_el_torito as_mkisofs` of `iso` says each of `wanted`.
fn assert_xorriso_says(iso: &Path, wanted: &[&str]) {
    let iso = iso.to_str().unwrap();
    let args = ["-no_rc", "-indev", iso, "-report_el_torito", "as_mkisofs"];
    let report = String::from_utf8(tool("xorriso", &args, None)).unwrap();
    for want in wanted {
        assert!(report.contains(want), "{want} missing from:\n{report}");
    }
}

#[test]
fn mkiso_isolinux_tree_boots_as_cd_and_hard_disk() {
    let s = scratch();
    let tree = tree_of("boot-isolinux", s.path(), "isolinux/boot.cat");
    let config = format!("SERIAL 0 115200\nDEFAULT marker\nLABEL marker\n  KERNEL /{MARKER}\n");
    std::fs::write(tree.join("isolinux/isolinux.cfg"), config).unwrap();
    std::fs::write(tree.join(MARKER), b"not a kernel\n").unwrap();
    let iso = s.path().join("isolinux.iso");
    mkiso(
        &tree,
        &iso,
        &[
            "bios:isolinux/isolinux.bin",
            "efi:boot/grub/efi.img",
            "hybrid:gpt",
            "label:ISOLINUX",
        ],
    );
    let report = xorriso(&iso);
    let images = values(&report, "El Torito boot img");
    assert_eq!(images.len(), 2, "{images:?}");
    assert!(
        images[0].contains("BIOS") && images[1].contains("UEFI"),
        "{images:?}"
    );
    assert_xorriso_says(
        &iso,
        &[
            "-isohybrid-mbr",
            "-b '/isolinux/isolinux.bin'",
            "-boot-load-size 4",
            "-boot-info-table",
            "-e '/boot/grub/efi.img'",
            "-V 'ISOLINUX'",
        ],
    );
    assert_efi_partitions_hold_the_loader(&iso);
    boot_all(&iso, BIOS, &isolinux_loaded(MARKER));
}

#[test]
fn mkiso_grub_tree_boots_under_seabios_and_ovmf() {
    let s = scratch();
    let tree = tree_of("boot-grub", s.path(), "boot.catalog");
    let config = format!(
        "serial --unit=0 --speed=115200\nterminal_input serial\nterminal_output serial\n\
         echo {MARKER}\nsleep 60\n"
    );
    std::fs::write(tree.join("boot/grub/grub.cfg"), config).unwrap();
    let iso = s.path().join("grub.iso");
    mkiso(
        &tree,
        &iso,
        &[
            "bios:/boot/grub/i386-pc/eltorito.img",
            "efi:/efi.img",
            "hybrid:gpt",
        ],
    );
    assert_xorriso_says(
        &iso,
        &[
            "--grub2-mbr",
            "--grub2-boot-info",
            "-boot-info-table",
            "-e '/efi.img'",
        ],
    );
    assert_efi_partitions_hold_the_loader(&iso);
    boot_all(&iso, BIOS_AND_UEFI, MARKER);
}

/// `boot-info --as mkisofs` of `iso`, the image path in its readers replaced by `FROM`.
fn as_mkisofs(iso: &Path) -> String {
    let out = crate::boot_images::run(iso, &["boot-info", "--as", "mkisofs", "/dev/sda"]);
    out.replace(iso.to_str().unwrap(), "FROM")
}

#[test]
fn mkisofs_options_printed_by_boot_info_rebuild_the_image() {
    let s = scratch();
    // genisoimage's image (no system area, a catalog file), and mkiso's own hybrid image.
    let tree = tree_of("boot-eltorito", s.path(), "isolinux/boot.cat");
    let from = image("boot-eltorito");
    let printed = as_mkisofs(&from);
    let opts = printed
        .lines()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("FROM", from.to_str().unwrap());
    let rebuilt = s.path().join("rebuilt.iso");
    mkiso(&tree, &rebuilt, &[&format!("mkisofs:{opts}")]);
    assert_eq!(as_mkisofs(&rebuilt), printed);

    let hybrid = s.path().join("hybrid.iso");
    mkiso(
        &tree,
        &hybrid,
        &[
            "bios:isolinux/isolinux.bin",
            "efi:EFI/efiboot.img",
            "hybrid:gpt",
            "label:HYB",
        ],
    );
    let printed = as_mkisofs(&hybrid);
    let opts = printed
        .lines()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("FROM", hybrid.to_str().unwrap());
    let again = s.path().join("again.iso");
    mkiso(&tree, &again, &[&format!("mkisofs:{opts}")]);
    assert_eq!(as_mkisofs(&again), printed);
    let report = |p: &Path| crate::boot_images::run(p, &["boot-info", "/dev/sda"]);
    assert_eq!(report(&again), report(&hybrid));
}

/// Runs mkiso and returns its stderr, checking it failed with status 1 and left no output.
fn refused(cmd: &mut Command, out: &Path) -> String {
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(!out.exists(), "{} was left", out.display());
    let dir = out.parent().unwrap();
    if dir.exists() {
        let left: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            left.iter()
                .all(|n| !n.to_string_lossy().contains("isofish")),
            "{left:?}"
        );
    }
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn isofish_cmd() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("isofish"))
}

#[test]
fn mkiso_bad_input_is_refused_and_nothing_is_left() {
    let s = scratch();
    std::fs::set_permissions(s.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let top = s.path().join("tree");
    std::fs::create_dir(&top).unwrap();
    std::fs::write(top.join("ok"), b"fine").unwrap();
    let secret = top.join("secret");
    std::fs::write(&secret, b"no").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(&top, std::fs::Permissions::from_mode(0o755)).unwrap();
    let outdir = s.path().join("out");
    std::fs::create_dir(&outdir).unwrap();
    std::fs::set_permissions(&outdir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = outdir.join("new.iso");
    // An unreadable file (as a user who cannot read it: root reads anything).
    let mut cmd = match rustix::process::geteuid().is_root() {
        true => {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
            c.arg(assert_cmd::cargo::cargo_bin("isofish"));
            c
        }
        false => isofish_cmd(),
    };
    cmd.arg("mkiso").arg(&top).arg(&out);
    let err = refused(&mut cmd, &out);
    assert!(
        err.contains("secret") && err.contains("ermission denied"),
        "{err}"
    );
    std::fs::remove_file(&secret).unwrap();
    // An output in a directory that does not exist.
    let missing = s.path().join("no/such/dir/new.iso");
    let err = refused(isofish_cmd().arg("mkiso").arg(&top).arg(&missing), &missing);
    assert!(err.contains("no/such/dir"), "{err}");
    // Not a directory.
    let err = refused(
        isofish_cmd().arg("mkiso").arg(top.join("ok")).arg(&out),
        &out,
    );
    assert!(err.contains("ok"), "{err}");
    // A file that changes once the image is being written: the first bytes read from the pipe
    // mean the tree is staged; the writer is held by the full pipe in the first file's data
    // (new files' data is laid out in name order).
    std::fs::write(top.join("a-first"), vec![1u8; 4 << 20]).unwrap();
    std::fs::write(top.join("b-second"), b"before").unwrap();
    let mut child = isofish_cmd()
        .arg("mkiso")
        .arg(&top)
        .arg("-")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).unwrap();
    std::fs::write(top.join("b-second"), b"after, and longer").unwrap();
    std::io::copy(&mut stdout, &mut std::io::sink()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("b-second") && err.contains("changed"), "{err}");
}

#[test]
fn mkisofs_options_mkiso_cannot_follow_are_refused() {
    let s = scratch();
    let out = s.path().join("x.iso");
    let err = refused(
        isofish_cmd()
            .arg("mkiso")
            .arg(s.path())
            .arg(&out)
            .arg("mkisofs:-R -J -hfsplus"),
        &out,
    );
    assert!(
        err.contains("-hfsplus") && err.contains("not supported"),
        "{err}"
    );
}

#[test]
fn mkiso_joliet_long_keeps_names_up_to_103_characters() {
    let s = scratch();
    let top = s.path().join("tree");
    std::fs::create_dir(&top).unwrap();
    let name = format!("{}.txt", "j".repeat(86));
    std::fs::write(top.join(&name), b"long").unwrap();
    let joliet = |args: &[&str]| {
        let iso = s.path().join("j.iso");
        mkiso(&top, &iso, args);
        String::from_utf8(tool(
            "isoinfo",
            &["-J", "-f", "-i", iso.to_str().unwrap()],
            None,
        ))
        .unwrap()
    };
    assert_eq!(
        joliet(&["mkisofs:-r -J -joliet-long"]),
        format!("/{name}\n")
    );
    assert_eq!(joliet(&[]), format!("/{}.txt\n", "j".repeat(60)));
}

#[test]
fn mkiso_hybrid_mbr_is_an_isohybrid_mbr_without_gpt() {
    let s = scratch();
    let tree = tree_of("boot-eltorito", s.path(), "isolinux/boot.cat");
    let iso = s.path().join("mbr.iso");
    let args = [
        "bios:isolinux/isolinux.bin",
        "efi:EFI/efiboot.img",
        "hybrid:mbr",
    ];
    mkiso(&tree, &iso, &args);
    let report = xorriso(&iso);
    assert_eq!(
        crate::boot_images::value(&report, "System area summary"),
        "MBR isohybrid cyl-align-off"
    );
    let parts = crate::boot_images::value_fields(&report, "MBR partition");
    // Partition 1 (bootable, 0x17) holds the image; partition 2 (0xef) the EFI image.
    assert_eq!(
        (parts[0][1], parts[0][2], parts[0][3]),
        ("0x80", "0x17", "0")
    );
    assert_eq!(parts[1][2], "0xef");
    let fdisk = String::from_utf8(tool("fdisk", &["-l", iso.to_str().unwrap()], None)).unwrap();
    assert!(fdisk.contains("Disklabel type: dos"), "{fdisk}");
}

/// An image written into another filesystem than its tree's (a tmpfs here) has its space
/// reserved while the tree is planned; written anywhere, it gets its files' data copied while
/// the rest is encoded (`-v` says both; how much depends on how fast the planning is, which
/// the unit tests of the reservation and of the copy cover). It is byte for byte the image written
/// beside the tree, where nothing is reserved, and the image written to standard output,
/// where nothing is copied ahead; it reads back as the tree.
#[test]
fn mkiso_into_another_filesystem_reserves_its_space_and_makes_the_same_image() {
    use std::os::unix::fs::MetadataExt;
    let s = scratch();
    let shm = tempfile::tempdir_in("/dev/shm").unwrap();
    let dev = |p: &Path| std::fs::metadata(p).unwrap().dev();
    assert_ne!(
        dev(s.path()),
        dev(shm.path()),
        "the scratch directory is in /dev/shm's filesystem"
    );
    let top = s.path().join("tree");
    std::fs::create_dir_all(top.join("big")).unwrap();
    // 40 MiB of data in files of 10 MiB (more than a step of the reservation), and small
    // files between them.
    for i in 0..4u32 {
        let data: Vec<u8> = (0..10u32 << 20)
            .map(|j| (j.wrapping_mul(31) ^ i) as u8)
            .collect();
        std::fs::write(top.join(format!("big/part{i}")), data).unwrap();
        std::fs::write(top.join(format!("note{i}.txt")), format!("note {i}\n")).unwrap();
    }
    // Each file read once, so that the first mkiso's reading changes no access time the
    // second records (relatime).
    for e in std::fs::read_dir(&top)
        .unwrap()
        .chain(std::fs::read_dir(top.join("big")).unwrap())
    {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::read(&p).unwrap();
        }
    }
    let date = "mkisofs:--modification-date=2024010203040500";
    let beside = s.path().join("beside.iso");
    let away = shm.path().join("away.iso");
    let said = |out: &Path| {
        let run = isofish()
            .arg("-v")
            .arg("mkiso")
            .arg(&top)
            .arg(out)
            .arg(date)
            .assert();
        String::from_utf8(run.success().get_output().stderr.clone()).unwrap()
    };
    let copied = "bytes of data copied into the new image while it was planned";
    let msg = said(&beside);
    assert!(!msg.contains("reserved") && msg.contains(copied), "{msg}");
    let msg = said(&away);
    assert!(
        msg.contains("bytes of the new image reserved while planning") && msg.contains(copied),
        "{msg}"
    );
    assert!(std::fs::read(&beside).unwrap() == std::fs::read(&away).unwrap());
    let streamed = isofish().arg("mkiso").arg(&top).arg("-").arg(date).assert();
    assert!(streamed.success().get_output().stdout == std::fs::read(&away).unwrap());
    let (_x, extracted) = reference(&beside);
    assert_same(&snapshot(&top), &snapshot(&extracted), "bsdtar extraction");
}
