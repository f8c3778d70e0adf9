//! Fuzz target: the bytes are an ISO image (in memory); it is opened with the default view
//! and with each mount option, and walked with the library's bounded walk (every directory
//! listed, every name looked up, every file read). Errors are fine; panics, hangs and
//! unbounded allocations are the bugs.

#![no_main]

use std::sync::Arc;

use isofish::fs::walk::{walk, Limits};
use isofish::fs::{iso9660::IsoFs, FileSystem, MountOptions};
use isofish::source::{MemSource, Source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let src: Arc<dyn Source> = Arc::new(MemSource::new(data.to_vec(), "fuzz.iso"));
    let limits = Limits {
        entries: 10_000,
        bytes: 16 << 20,
        depth: 64,
    };
    for options in ["", "norock", "joliet", "plain"] {
        if let Ok(fs) = IsoFs::open(src.clone(), &MountOptions::parse(options)) {
            let _ = walk(&fs, limits, false, &mut |_| Ok(()));
            let _ = fs.info();
            let _ = fs.label();
        }
    }
});
