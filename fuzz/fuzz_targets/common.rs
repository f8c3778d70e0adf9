//! What every fuzz target does with its input: the bytes are an image held in memory, opened
//! as one filesystem type with each of the given mount options and walked with the library's
//! bounded walk (every directory listed, every name looked up, every file read and its extents
//! and extended attributes asked for), then asked for `info()`, its label and its detail. Errors are fine;
//! panics, hangs and unbounded allocations are the bugs.

use std::sync::Arc;

use isofish::fs::walk::{walk, Limits};
use isofish::fs::{self, MountOptions};
use isofish::source::{MemSource, Source};

/// Opens `data` as `fstype` (`None`: as the probe identifies it) with each of `options` and
/// walks what opens.
pub fn exercise(data: &[u8], fstype: Option<&str>, options: &[&str]) {
    let src: Arc<dyn Source> = Arc::new(MemSource::new(data.to_vec(), "fuzz.img"));
    let limits = Limits {
        entries: 10_000,
        bytes: 16 << 20,
        depth: 64,
    };
    for o in options {
        let options = MountOptions::parse(o);
        let opened = match fstype {
            Some(t) => fs::open_as(src.clone(), t, &options),
            None => fs::open(src.clone(), &options),
        };
        if let Ok(fs) = opened {
            let _ = walk(fs.as_ref(), limits, false, &mut |_| Ok(()));
            let _ = fs.info();
            let _ = fs.label();
            let _ = fs.detail();
        }
    }
}
