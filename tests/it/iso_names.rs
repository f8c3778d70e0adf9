//! `find`'s names listing of ISO 9660 (`FileSystem::names`, which decodes only names and
//! kinds) lists the same entries, in the same order, as the full listing (`read_dir`) in every
//! view: Rock Ridge with directories relocated to `rr_moved` (genisoimage), Joliet only,
//! plain ISO 9660, and the hostile images whose damaged entries are left out (`iso_hostile`).
//! Each listing comes from an image opened on its own, so neither reuses the other's cache.

use std::path::Path;

use isofish::fs::{FileSystem, Ino, NameKind};

use crate::common::fixture;
use crate::iso_oracle::open;

/// Every directory's names listing from one opening of `img` equals its full listing from
/// another (directories entered as the names listing says); returns how many entries there
/// are and how deep the deepest directory lies.
pub fn names_match_read_dir(img: &Path, options: &str) -> (usize, usize) {
    let by_names = open(img, options).unwrap_or_else(|e| panic!("{}: {e}", img.display()));
    let by_read_dir = open(img, options).unwrap();
    let mut todo: Vec<(Ino, String)> = vec![(by_names.root(), "/".into())];
    let (mut seen, mut deepest) = (0, 0);
    while let Some((dir, path)) = todo.pop() {
        deepest = deepest.max(path.matches('/').count() - 1);
        let names = by_names
            .names(dir)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let full: Vec<NameKind> = listed(by_read_dir.as_ref(), dir, &path);
        assert_eq!(names, full, "{}: {path}", img.display());
        seen += names.len();
        for n in names.into_iter().filter(|n| n.is_dir) {
            todo.push((
                n.ino,
                format!("{path}{}/", String::from_utf8_lossy(&n.name)),
            ));
        }
    }
    (seen, deepest)
}

/// The full listing of `dir`, as names and kinds.
fn listed(fs: &dyn FileSystem, dir: Ino, path: &str) -> Vec<NameKind> {
    let entries = fs.read_dir(dir).unwrap_or_else(|e| panic!("{path}: {e}"));
    let names = entries.into_iter().map(|e| NameKind {
        is_dir: e.meta.is_dir(),
        name: e.name,
        ino: e.ino,
    });
    names.collect()
}

#[test]
fn relocated_deep_tree_names_are_the_full_listing() {
    // genisoimage -R relocates the levels past 8 into rr_moved (CL, RE, PL).
    let img = fixture("level3-rr.iso");
    let (_, deepest) = names_match_read_dir(&img, "");
    assert!(
        deepest > 8,
        "the relocated directories are listed at their place"
    );
    for options in ["joliet", "plain"] {
        names_match_read_dir(&img, options);
    }
}

#[test]
fn joliet_only_names_are_the_full_listing() {
    for name in ["level2-joliet.iso", "joliet-long.iso"] {
        assert!(names_match_read_dir(&fixture(name), "").0 > 0);
    }
}

#[test]
fn rock_ridge_names_are_the_full_listing() {
    for name in ["sample.iso", "rational-rr.iso", "rr112.iso", "zisofs.iso"] {
        assert!(names_match_read_dir(&fixture(name), "").0 > 0);
    }
}
