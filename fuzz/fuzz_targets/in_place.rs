//! Fuzz target: the bytes are an ISO image. When isofish opens it, the first regular file of
//! its root is given new content and a new mode in an overlay, and the in-place planner decides
//! how a commit goes (its census walks every tree of the image, the UDF side of a bridge, the
//! boot layout, xorriso's checksum array (`isofs.ca`, `isofs.cx`), the free space inside the
//! volume, and a grown image's tail); the patch, when there is one, is applied to a copy
//! in a temporary file, which is then opened again. The same bytes are also taken as an undo
//! journal and rolled back over a small image. Errors are fine; panics, hangs and unbounded
//! allocations are the bugs.

#![no_main]

use std::sync::Arc;

use isofish::fs::iso9660::inplace::{fit, Fit};
use isofish::fs::iso9660::IsoFs;
use isofish::fs::{FileKind, FileSystem, MountOptions};
use isofish::overlay::{Content, Overlay};
use isofish::plan::{in_place, journal};
use isofish::source::{FileSource, Source};
use libfuzzer_sys::fuzz_target;

/// Patches over this many bytes are not applied (a mutated size can claim gigabytes).
const APPLY_MAX: u64 = 64 << 20;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temp dir");
    let image = dir.path().join("fuzz.iso");
    std::fs::write(&image, data).expect("the image written");
    in_place_commit(&image);
    // The bytes as a journal beside a small image.
    let small = dir.path().join("small.iso");
    std::fs::write(&small, [0u8; 4096]).expect("an image");
    std::fs::write(journal::path_of(&small), data).expect("a journal");
    let _ = journal::roll_back(&small);
});

fn in_place_commit(image: &std::path::Path) {
    let Ok(file) = FileSource::open(image) else {
        return;
    };
    let src: Arc<dyn Source> = Arc::new(file);
    let Ok(iso) = IsoFs::open(src, &MountOptions::default()) else {
        return;
    };
    let iso: Arc<dyn FileSystem> = Arc::new(iso);
    let Ok(entries) = iso.read_dir(iso.root()) else {
        return;
    };
    let Some(first) = entries
        .iter()
        .take(64)
        .find(|e| e.meta.kind == FileKind::File)
    else {
        return;
    };
    let path = format!("/{}", String::from_utf8_lossy(&first.name));
    let overlay = Overlay::new(iso.clone());
    if overlay
        .set_content(&path, Content::bytes(b"fuzzed content\n".to_vec()))
        .is_err()
    {
        return;
    }
    let _ = overlay.change_meta(&path, |m| {
        m.mode = 0o600;
        Ok(())
    });
    let below: &dyn std::any::Any = iso.as_ref();
    let Some(original) = below.downcast_ref::<IsoFs>() else {
        return;
    };
    let Ok(Fit::InPlace(patch)) = fit(original, None, &overlay) else {
        return;
    };
    if patch.new_len > APPLY_MAX || patch.bytes() > APPLY_MAX {
        return;
    }
    drop(overlay);
    let _ = in_place::apply(image, &patch, &mut |_| Ok(Vec::new()), &|_| {});
    if let Ok(again) = FileSource::open(image) {
        let _ = IsoFs::open(Arc::new(again), &MountOptions::default());
    }
}
