//! `copy-out` gives what bsdtar extracts whatever the host target is like: a directory on
//! another filesystem than the image (a tmpfs, where the kernel refuses `copy_file_range`),
//! a set-group-id directory owned by another group (whose group and bit new entries would
//! inherit), and a strict umask (which the modes of the image must not feel).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::{fixture, run_ro as isofish_ok, scratch, tool};
use crate::host_tree::{assert_same, reference_extract, snapshot};

/// Images with plain, sparse-free files, devices, links and modes of every kind.
const IMAGES: &[&str] = &["sample.iso", "rr112.iso", "zisofs.iso"];

/// Extracts `image` with bsdtar into `dir/bsdtar` and with `copy-out` into `target` (made by
/// the caller as it wants it; isofish run under `umask` when given), then holds the two
/// against each other.
fn same_as_bsdtar(image: &Path, dir: &Path, target: &Path, umask: Option<&str>) {
    let expected = dir.join("bsdtar");
    let skipped = reference_extract(image, &expected);
    match umask {
        None => {
            isofish_ok(image, &["copy-out", "/", target.to_str().unwrap()]);
        }
        Some(mask) => {
            let line = format!(
                "umask {mask} && exec '{}' --ro -a '{}' copy-out / '{}'",
                assert_cmd::cargo::cargo_bin("isofish").display(),
                image.display(),
                target.display()
            );
            tool("sh", &["-c", &line], None);
        }
    }
    assert_same(
        &snapshot(&expected),
        &snapshot(target).without(&skipped),
        &image.display().to_string(),
    );
}

#[test]
fn copy_out_into_a_tmpfs_gives_what_bsdtar_extracts() {
    for name in IMAGES {
        let dir = scratch();
        let shm = tempfile::tempdir_in("/dev/shm").unwrap();
        same_as_bsdtar(&fixture(name), dir.path(), shm.path(), None);
    }
}

#[test]
fn copy_out_into_a_set_group_id_directory_gives_the_images_groups() {
    for name in IMAGES {
        let dir = scratch();
        let target = dir.path().join("sgid");
        std::fs::create_dir(&target).unwrap();
        std::os::unix::fs::chown(&target, None, Some(4242)).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o2775)).unwrap();
        same_as_bsdtar(&fixture(name), dir.path(), &target, None);
    }
}

#[test]
fn copy_out_under_a_strict_umask_keeps_the_images_modes() {
    for name in IMAGES {
        let dir = scratch();
        let target = dir.path().join("umask");
        std::fs::create_dir(&target).unwrap();
        same_as_bsdtar(&fixture(name), dir.path(), &target, Some("077"));
    }
}
