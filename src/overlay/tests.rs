//! The overlay operations the tree commands are built on, over an in-memory filesystem:
//! moves of directories that hold staged changes, removal and re-creation, replacing a file
//! with a directory, hard links and their counts, metadata changes, and refusals.

use std::sync::Arc;

use super::*;
use crate::vfs::walk::tests::{meta, MemFs};

/// `/d/f` ("abc"), `/g` ("xy"), and the empty directory `/e`.
fn overlay() -> Overlay {
    let fs = MemFs {
        nodes: vec![
            (
                meta(FileKind::Dir, 0, 0),
                vec![(b"d".to_vec(), 1), (b"g".to_vec(), 3), (b"e".to_vec(), 4)],
                Vec::new(),
            ),
            (
                meta(FileKind::Dir, 1, 0),
                vec![(b"f".to_vec(), 2)],
                Vec::new(),
            ),
            (meta(FileKind::File, 2, 3), Vec::new(), b"abc".to_vec()),
            (meta(FileKind::File, 3, 2), Vec::new(), b"xy".to_vec()),
            (meta(FileKind::Dir, 4, 0), Vec::new(), Vec::new()),
        ],
    };
    Overlay::new(Arc::new(fs))
}

/// The data of the file at `path`, read through the overlay.
fn data(o: &Overlay, path: &str) -> Vec<u8> {
    let e = o.find(path).unwrap();
    let mut buf = vec![0; e.meta.size as usize];
    let n = o.read_at(e.ino, 0, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn names(o: &Overlay, path: &str) -> Vec<String> {
    let dir = o.find(path).map(|e| e.ino).unwrap_or(o.root());
    let mut v: Vec<String> = o
        .read_dir(dir)
        .unwrap()
        .into_iter()
        .map(|e| String::from_utf8(e.name).unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn a_renamed_directory_keeps_the_changes_staged_inside_it() {
    let o = overlay();
    o.set_content("/d/f", Content::bytes(b"new".to_vec()))
        .unwrap();
    o.create("/d/n", fresh(FileKind::File, 0o644), None)
        .unwrap();
    o.rename("/d", "/e/moved").unwrap();
    assert_eq!(data(&o, "/e/moved/f"), b"new");
    assert_eq!(names(&o, "/e/moved"), ["f", "n"]);
    assert!(matches!(o.find("/d"), Err(Error::NotFound(_))));
    assert_eq!(names(&o, "/"), ["e", "g"]);
}

#[test]
fn a_removed_file_can_be_made_again_as_a_directory() {
    let o = overlay();
    o.remove("/g").unwrap();
    assert!(matches!(o.find("/g"), Err(Error::NotFound(_))));
    o.create("/g", fresh(FileKind::Dir, 0o755), None).unwrap();
    o.create(
        "/g/inner",
        fresh(FileKind::File, 0o644),
        Some(Content::bytes(b"i".to_vec())),
    )
    .unwrap();
    assert!(o.find("/g").unwrap().meta.is_dir());
    assert_eq!(data(&o, "/g/inner"), b"i");
}

#[test]
fn a_directory_cannot_move_into_itself_and_names_must_be_free() {
    let o = overlay();
    assert!(o.rename("/d", "/d/x").is_err());
    assert!(o.rename("/g", "/d/f").is_err());
    assert!(o.create("/g", fresh(FileKind::Dir, 0o755), None).is_err());
    assert!(matches!(o.rename("/none", "/x"), Err(Error::NotFound(_))));
    assert!(o.is_clean());
}

#[test]
fn a_hard_link_counts_and_is_uncounted() {
    let o = overlay();
    o.link("/g", "/d/g2").unwrap();
    assert_eq!(o.find("/g").unwrap().meta.nlink, 2);
    assert_eq!(o.find("/d/g2").unwrap().ino, o.find("/g").unwrap().ino);
    o.remove("/g").unwrap();
    assert_eq!(o.find("/d/g2").unwrap().meta.nlink, 1);
    assert_eq!(data(&o, "/d/g2"), b"xy");
    assert!(matches!(o.link("/d", "/d2"), Err(Error::IsADirectory(_))));
}

#[test]
fn metadata_changes_are_seen_and_set_the_change_time() {
    let o = overlay();
    o.change_meta("/g", |m| {
        m.mode = 0o4711;
        (m.uid, m.gid) = (7, 8);
        Ok(())
    })
    .unwrap();
    let m = o.find("/g").unwrap().meta;
    assert_eq!((m.mode, m.uid, m.gid), (0o4711, 7, 8));
    assert!(m.ctime.secs > 0);
    // A failing change leaves nothing behind.
    assert!(o
        .change_meta("/d/f", |_| Err(Error::Usage("no".into())))
        .is_err());
    assert_eq!(o.find("/d/f").unwrap().meta.mode, 0o755);
}

#[test]
fn symlinks_and_device_nodes_are_made_as_described() {
    let o = overlay();
    let link = Metadata {
        symlink: Some(b"../g".to_vec()),
        ..fresh(FileKind::Symlink, 0o777)
    };
    o.create("/d/l", link, None).unwrap();
    let m = o.find("/d/l").unwrap().meta;
    assert_eq!((m.kind, m.size), (FileKind::Symlink, 4));
    let dev = Metadata {
        rdev: Some((1, 3)),
        ..fresh(FileKind::CharDevice, 0o644)
    };
    o.create("/null", dev, None).unwrap();
    assert_eq!(o.find("/null").unwrap().meta.rdev, Some((1, 3)));
}

#[test]
fn revert_all_drops_everything() {
    let o = overlay();
    o.remove("/d").unwrap();
    o.set_label("L");
    assert!(!o.is_clean());
    o.revert_all();
    assert!(o.is_clean());
    assert_eq!(names(&o, "/"), ["d", "e", "g"]);
    assert_eq!(data(&o, "/d/f"), b"abc");
}

/// `/a` and `/b`: two names of one file below (two objects recording inode number 9).
fn hard_linked() -> Overlay {
    let file = |ino| Metadata {
        nlink: 2,
        ..meta(FileKind::File, ino, 1)
    };
    let (mut a, mut b) = (file(1), file(2));
    (a.ino, b.ino) = (9, 9);
    let fs = MemFs {
        nodes: vec![
            (
                meta(FileKind::Dir, 0, 0),
                vec![(b"a".to_vec(), 1), (b"b".to_vec(), 2)],
                Vec::new(),
            ),
            (a, Vec::new(), b"x".to_vec()),
            (b, Vec::new(), b"x".to_vec()),
        ],
    };
    Overlay::new(Arc::new(fs))
}

#[test]
fn the_names_a_file_has_below_share_one_link_count() {
    let o = hard_linked();
    o.remove("/a").unwrap();
    assert_eq!(o.find("/b").unwrap().meta.nlink, 1);
    let b = o.find("/b").unwrap().ino;
    assert_eq!(o.metadata(b).unwrap().nlink, 1);
    o.link("/b", "/c").unwrap();
    assert_eq!(o.find("/b").unwrap().meta.nlink, 2);
    assert_eq!(o.find("/c").unwrap().meta.nlink, 2);
    let o = hard_linked();
    o.link("/a", "/c").unwrap();
    for name in ["/a", "/b", "/c"] {
        assert_eq!(o.find(name).unwrap().meta.nlink, 3, "{name}");
    }
}

#[test]
fn objects_made_in_a_directory_found_once_are_as_made_by_path() {
    let o = overlay();
    let d = o.parent("/d").unwrap();
    let ino = o
        .create_in(&d, b"n", fresh(FileKind::File, 0o640), None)
        .unwrap();
    o.create_in(&d, b"sub", fresh(FileKind::Dir, 0o755), None)
        .unwrap();
    assert_eq!(names(&o, "/d"), ["f", "n", "sub"]);
    let n = o.find("/d/n").unwrap();
    assert_eq!((n.ino, n.meta.mode, n.meta.nlink), (ino, 0o640, 1));
    // The directory and the ones above it are on the path of a change, as with `create`.
    let by_path = overlay();
    by_path
        .create("/d/n", fresh(FileKind::File, 0o640), None)
        .unwrap();
    assert_eq!(o.read().touched, by_path.read().touched);
    // A name taken is refused, naming its path; so is a directory that is not one.
    let msg = o
        .create_in(&d, b"f", fresh(FileKind::File, 0o644), None)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("/d/f: file exists"), "{msg}");
    assert!(matches!(o.parent("/g"), Err(Error::NotADirectory(_))));
    assert!(o.parent("/nothing").is_err());
    let root = o.parent("/").unwrap();
    o.create_in(&root, b"top", fresh(FileKind::File, 0o644), None)
        .unwrap();
    assert!(names(&o, "/").contains(&"top".to_string()));
}

#[test]
fn a_file_linked_by_its_number_in_a_directory_found_once_is_as_linked_by_path() {
    let (o, by_path) = (overlay(), overlay());
    for o in [&o, &by_path] {
        o.create("/d/n", fresh(FileKind::File, 0o640), None)
            .unwrap();
        o.create("/x", fresh(FileKind::Dir, 0o755), None).unwrap();
    }
    let n = o.find("/d/n").unwrap().ino;
    let e = o.parent("/x").unwrap();
    o.link_in(n, &e, b"m").unwrap();
    by_path.link("/d/n", "/x/m").unwrap();
    for o in [&o, &by_path] {
        let (first, second) = (o.find("/d/n").unwrap(), o.find("/x/m").unwrap());
        assert_eq!((second.ino, second.meta.nlink), (first.ino, 2));
        assert_eq!(first.meta.nlink, 2);
    }
    assert_eq!(o.read().touched, by_path.read().touched);
    // A name taken is refused, naming its path; a directory is not linked.
    let msg = o.link_in(n, &e, b"m").unwrap_err().to_string();
    assert!(msg.contains("/x/m: file exists"), "{msg}");
    let dir = o.find("/x").unwrap().ino;
    assert!(matches!(
        o.link_in(dir, &e, b"x"),
        Err(Error::IsADirectory(_))
    ));
}
