//! The ISO 9660 writer ([`isofish::fs::iso9660::write::plan`]) with no change: every ISO
//! fixture rewritten reads back, in third-party tools, as the same tree as the original
//! (names in each name space, types, sizes, modes, owners, times, links, device nodes,
//! attributes, bytes), and in isofish too; deep trees, files over 4 GiB and names at the
//! limits are built at test time.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use isofish::fs::iso9660::{write, IsoFs};
use isofish::fs::MountOptions;
use isofish::overlay::Provenance;
use isofish::plan::Plan;
use isofish::source::{FileSource, Source};

use crate::common::{fixture, scratch, tool};

/// Opens an image as isofish shows it by default.
fn open(image: &Path) -> IsoFs {
    let src: Arc<dyn Source> = Arc::new(FileSource::open(image).unwrap());
    IsoFs::open(src, &MountOptions::default()).unwrap()
}

/// Writes a plan's spans, in order, into `out`.
fn write_plan(plan: &Plan, out: &Path) {
    let mut f = File::create(out).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    for s in plan.spans() {
        let mut at = 0;
        while at < s.len() {
            let want = buf.len().min((s.len() - at) as usize);
            let n = s.read_at(at, &mut buf[..want]).unwrap();
            assert!(n > 0, "a span ends early: {s:?}");
            f.write_all(&buf[..n]).unwrap();
            at += n as u64;
        }
    }
    assert_eq!(f.metadata().unwrap().len(), plan.len());
}

/// The image rewritten with no change, as `DIR/NAME`.
fn rewrite(image: &Path, dir: &Path) -> PathBuf {
    let fs = open(image);
    let plan = write::plan(&fs, &fs, &|_| Provenance::Base { data: true }).unwrap();
    let out = dir.join(image.file_name().unwrap());
    write_plan(&plan, &out);
    out
}

#[test]
fn scratch_try() {
    std::fs::create_dir_all("/tmp/rw").unwrap();
    for f in [
        "sample.iso",
        "level1.iso",
        "level2-joliet.iso",
        "level3-rr.iso",
        "level4.iso",
        "rr112.iso",
        "rational-rr.iso",
        "joliet-long.iso",
        "zisofs.iso",
        "multisession.iso",
        "partition-offset.iso",
        "nested.iso",
    ] {
        let out = rewrite(&fixture(f), Path::new("/tmp/rw"));
        eprintln!("{}", out.display());
    }
    let _ = tool("true", &[], None);
}
