//! The writer's choices on archives made here: names keep the recorded style (`./d/f`), new
//! ones take it, and a directory the archive only implies (a root with no `.` member) gets no
//! member when only its listing changed.

use std::sync::Arc;

use super::super::newc::{self, Newc};
use super::super::tests::member;
use super::super::CpioFs;
use crate::fs::{FileKind, FileSystem, MountOptions};
use crate::overlay::{fresh, Content, Overlay};
use crate::source::MemSource;

/// The member names of a newc archive, in order, up to its trailer.
fn names_in(bytes: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut at = 0;
    loop {
        let head: &[u8; newc::LEN] = bytes[at..at + newc::LEN].try_into().unwrap();
        let h = Newc::decode(head).unwrap();
        let name_at = at + newc::LEN;
        let name = &bytes[name_at..name_at + h.namesize as usize - 1];
        names.push(String::from_utf8(name.to_vec()).unwrap());
        if name == b"TRAILER!!!" {
            return names;
        }
        let data_at = (name_at + h.namesize as usize).next_multiple_of(4);
        at = (data_at + h.filesize as usize).next_multiple_of(4);
    }
}

#[test]
fn names_keep_their_style_and_implied_directories_stay_implied() {
    let mut a = Vec::new();
    member(&mut a, "./d", 0o040755, b"");
    member(&mut a, "./d/f", 0o100644, b"abc");
    member(&mut a, "TRAILER!!!", 0, b"");
    let fs: Arc<dyn FileSystem> = Arc::new(
        CpioFs::open(Arc::new(MemSource::new(a, "mem")), &MountOptions::default()).unwrap(),
    );
    let o = Overlay::new(fs.clone());
    let file = fresh(FileKind::File, 0o644);
    o.create("/d/g", file.clone(), Some(Content::bytes(b"xy".to_vec())))
        .unwrap();
    o.create("/top", file, Some(Content::bytes(b"top".to_vec())))
        .unwrap();
    let cpio = (fs.as_ref() as &dyn std::any::Any)
        .downcast_ref::<CpioFs>()
        .unwrap();
    let plan = super::plan(cpio, &o, &|ino| o.provenance(ino)).unwrap();
    let len = plan.len();
    let src = plan.into_source("new".into());
    let bytes = src.read_vec(0, len as usize, "test").unwrap();
    assert_eq!(
        names_in(&bytes),
        ["./d", "./d/f", "./d/g", "./top", "TRAILER!!!"]
    );
    assert_eq!(bytes.len() % 512, 0);
}
