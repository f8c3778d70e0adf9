//! Mounts that know their origin: nested images of tests/fixtures/nested.iso and of images
//! made here (a gzip'd cpio, an xz'd squashfs, a partitioned disk) mounted through the shell and
//! through the session; which mount each one is read from; `umount` refusing, with a message
//! naming the mount that depends on it, to take away what another mount is read from; and the
//! browser pane reading a directory again only when the session's generation moved.

use std::path::Path;

use isofish::fs::MountOptions;
use isofish::session::Session;
use isofish::vfs::{MountId, Origin};
use ratatui::crossterm::event::KeyCode;

use crate::common::{fixture, isofish, scratch, tool};
use crate::nested_util::{run, run_err};
use crate::tui::{key, session, typed};

/// Runs isofish on `image` mounted at `/iso` (not `/`), expecting failure; returns stderr.
fn run_err_at_iso(image: &Path, words: &[&str]) -> String {
    let out = isofish()
        .args(["--ro", "-a"])
        .arg(image)
        .args(["-m", "/dev/sda:/iso"])
        .args(words)
        .output()
        .unwrap();
    assert!(!out.status.success(), "isofish {words:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn umount_names_the_mount_read_from_a_file_of_it() {
    let iso = fixture("nested.iso");
    let chain = [
        "mount-loop",
        "/LiveOS/squashfs.img",
        "/sqsh",
        ":",
        "mount-loop",
        "/sqsh/LiveOS/rootfs.img",
        "/sysroot",
        ":",
    ];
    let mut words = chain.to_vec();
    words.extend(["umount", "/sqsh"]);
    let err = run_err(&iso, &words);
    assert_eq!(
        err,
        "isofish: error: /sqsh: busy: /sysroot is mounted from /sqsh/LiveOS/rootfs.img\n"
    );
    // `-` lets the script go on after an error: the refusal changed nothing.
    let mut words = chain.to_vec();
    words.extend(["-umount", "/sqsh", ":", "mounts"]);
    let out = isofish()
        .args(["--ro", "-a"])
        .arg(&iso)
        .args(&words)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "/dev/sda on / (iso9660)\n\
         /LiveOS/squashfs.img on /sqsh (squashfs, xz)\n\
         /sqsh/LiveOS/rootfs.img on /sysroot (ext4)\n"
    );
    let mut words = chain.to_vec();
    words.extend(["umount", "/sysroot", ":", "umount", "/sqsh", ":", "mounts"]);
    assert_eq!(
        String::from_utf8(run(&iso, &words)).unwrap(),
        "/dev/sda on / (iso9660)\n"
    );
}

#[test]
fn umount_refuses_a_mount_with_one_below_it_or_none_at_all() {
    let iso = fixture("nested.iso");
    let err = run_err(&iso, &["mount", "/dev/sda", "/cd", ":", "umount", "/"]);
    assert_eq!(err, "isofish: error: /: busy: /cd is mounted below it\n");
    let err = run_err(&iso, &["umount", "/nowhere"]);
    assert_eq!(err, "isofish: error: /nowhere: not mounted\n");
}

#[test]
fn a_mount_read_from_a_file_is_found_by_its_origin_wherever_it_is_mounted() {
    let iso = fixture("nested.iso");
    // The ISO is at /iso: the mount read from its file lies outside it, found by its origin.
    let err = run_err_at_iso(
        &iso,
        &["mount-loop", "/iso/root.sqfs", "/r", ":", "umount", "/iso"],
    );
    assert_eq!(
        err,
        "isofish: error: /iso: busy: /r is mounted from /iso/root.sqfs\n"
    );
}

/// A GPT disk image holding one FAT partition (number 1), in an ISO as `/disk.img`.
fn disk_in_an_iso(d: &Path) -> std::path::PathBuf {
    tool(
        "sh",
        &[
            "-c",
            "mkdir -p iso && mkfs.fat -C p1.img 4096 >/dev/null && truncate -s 8M iso/disk.img \
             && printf 'label: gpt\\nstart=2048, size=8192\\n' | sfdisk -q iso/disk.img \
             && dd if=p1.img of=iso/disk.img bs=512 seek=2048 conv=notrunc status=none \
             && xorriso -as mkisofs -quiet -R -o disk.iso iso 2>/dev/null",
        ],
        Some(d),
    );
    d.join("disk.iso")
}

#[test]
fn the_partitions_of_a_nested_disk_image_keep_its_mount_busy() {
    let dir = scratch();
    let disk = disk_in_an_iso(dir.path());
    let err = run_err_at_iso(
        &disk,
        &["mount-loop", "/iso/disk.img", "/d", ":", "umount", "/iso"],
    );
    assert_eq!(
        err,
        "isofish: error: /iso: busy: /d/1 is mounted from /dev/sdb1, on the disk image \
         /iso/disk.img\n"
    );

    let mut s = Session::new(true);
    s.add_drive(&disk).unwrap();
    let iso = s
        .mount("/dev/sda", "/iso", MountOptions::default())
        .unwrap();
    let ids = s
        .mount_loop("/iso/disk.img", "/d", None, MountOptions::default())
        .unwrap();
    assert_eq!(ids.len(), 1);
    let part = s.mount_by_id(ids[0]).unwrap();
    assert_eq!(
        *part.origin,
        Origin::Partition {
            drive: 1,
            number: 1
        }
    );
    let image = s.drives()[1]
        .image
        .clone()
        .expect("the drive came from a file");
    assert_eq!((image.mount, image.path.as_str()), (iso, "/disk.img"));
    let chain: Vec<MountId> = s.origin_chain(ids[0]).iter().map(|m| m.id).collect();
    assert_eq!(chain, [ids[0], iso]);
    s.umount("/d/1").unwrap();
    s.umount("/iso").unwrap();
}

#[test]
fn a_compressed_image_is_a_decoded_stream_of_its_file() {
    let dir = scratch();
    let d = dir.path();
    tool(
        "sh",
        &[
            "-c",
            "mkdir -p iso t && echo hello > t/hello \
             && (cd t && echo hello | cpio --quiet -o -H newc | gzip -n) > iso/initrd.gz \
             && mksquashfs t sq.img -quiet -noappend >/dev/null && xz -c sq.img > iso/sq.img.xz \
             && xorriso -as mkisofs -quiet -R -o c.iso iso 2>/dev/null",
        ],
        Some(d),
    );
    let mut s = session(&d.join("c.iso"));
    let root = s.vfs.topmost("/").unwrap().id;
    for (file, at, codec) in [("/initrd.gz", "/i", "gzip"), ("/sq.img.xz", "/s", "xz")] {
        let id = s
            .mount_loop(file, at, None, MountOptions::default())
            .unwrap()[0];
        match s.mount_by_id(id).unwrap().origin {
            Origin::Decoded { file: f, codec: c } => {
                assert_eq!((f.mount, f.path.as_str(), *c), (root, file, codec));
            }
            other => panic!("{file}: {other:?}"),
        }
        assert_eq!(s.resolve(&format!("{at}/hello")).unwrap().meta().size, 6);
    }
    let ids: Vec<MountId> = s.children(root).iter().map(|m| m.id).collect();
    assert_eq!(ids.len(), 2);
}

#[test]
fn the_pane_reads_a_directory_again_only_when_the_generation_moved() {
    let iso = fixture("nested.iso");
    let mut s = session(&iso);
    let mut app = isofish::tui::App::new(&mut s, None).unwrap();
    let first = |app: &isofish::tui::App| app.rows().next().map(|e| e as *const _);
    let before = first(&app);
    // A command that changes no mount: the listing is the one read before.
    key(&mut app, KeyCode::Char(':'));
    typed(&mut app, "pwd");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Esc);
    assert_eq!(first(&app), before, "read again though nothing changed");
    // A mount: read again, with the new mountpoint.
    key(&mut app, KeyCode::Char(':'));
    typed(&mut app, "mount-loop /root.sqfs /r");
    key(&mut app, KeyCode::Enter);
    assert_ne!(first(&app), before, "not read again after a mount");
    assert!(app.rows().any(|e| e.display == "r" && e.mountpoint));
}
