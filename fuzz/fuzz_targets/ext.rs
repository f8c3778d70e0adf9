//! Fuzz target: the bytes are an ext2/3/4 image (in memory); it is opened and walked with the
//! library's bounded walk (every directory listed, every name looked up, every file read and
//! its extents asked for), and every entry's extended attributes are read. Errors are fine;
//! panics, hangs and unbounded allocations are the bugs.

#![no_main]

use std::sync::Arc;

use isofish::fs::walk::{walk, Limits};
use isofish::fs::{ext::ExtFs, FileSystem};
use isofish::source::{MemSource, Source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let src: Arc<dyn Source> = Arc::new(MemSource::new(data.to_vec(), "fuzz.ext"));
    let limits = Limits {
        entries: 10_000,
        bytes: 16 << 20,
        depth: 64,
    };
    if let Ok(fs) = ExtFs::open(src) {
        let _ = fs.xattrs(fs.root());
        let _ = walk(&fs, limits, false, &mut |visit| {
            let _ = fs.xattrs(visit.entry.ino);
            Ok(())
        });
        let _ = fs.info();
        let _ = fs.label();
    }
});
