//! Fuzz target: the bytes are an EROFS image (in memory), opened through erofs-rs and walked
//! with the library's bounded walk (every directory listed, every name looked up, every file
//! read), with every entry's extended attributes read too. Errors are fine; panics, hangs and
//! unbounded allocations are the bugs.

#![no_main]

use std::sync::Arc;

use isofish::fs::walk::{walk, Limits};
use isofish::fs::{erofs::ErofsFs, FileSystem};
use isofish::source::{MemSource, Source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let src: Arc<dyn Source> = Arc::new(MemSource::new(data.to_vec(), "fuzz.erofs"));
    let limits = Limits {
        entries: 10_000,
        bytes: 16 << 20,
        depth: 64,
    };
    if let Ok(fs) = ErofsFs::open(src) {
        let _ = fs.xattrs(fs.root());
        let _ = walk(&fs, limits, false, &mut |v| {
            let _ = fs.xattrs(v.entry.ino);
            Ok(())
        });
        let _ = fs.info();
        let _ = fs.label();
        let _ = fs.detail();
    }
});
