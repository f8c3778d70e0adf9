//! Fuzz target: the bytes are a UDF image (in memory); it is opened with and without
//! `unhide` and walked with the library's bounded walk (every directory listed, every name
//! looked up, every file read and its extents asked for). Errors are fine; panics, hangs and
//! unbounded allocations are the bugs.

#![no_main]

use std::sync::Arc;

use isofish::fs::walk::{walk, Limits};
use isofish::fs::{udf::UdfFs, FileSystem, MountOptions};
use isofish::source::{MemSource, Source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let src: Arc<dyn Source> = Arc::new(MemSource::new(data.to_vec(), "fuzz.udf"));
    let limits = Limits {
        entries: 10_000,
        bytes: 16 << 20,
        depth: 64,
    };
    for options in ["", "unhide"] {
        if let Ok(fs) = UdfFs::open(src.clone(), &MountOptions::parse(options)) {
            let _ = walk(&fs, limits, false, &mut |_| Ok(()));
            let _ = fs.info();
            let _ = fs.label();
        }
    }
});
