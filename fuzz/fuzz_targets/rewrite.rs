//! Fuzz target: the bytes are an ISO image; when isofish opens it, the writer rewrites it with
//! no change into memory, which must end in an error or a plan whose bytes can be read back,
//! never in a panic.

#![no_main]

use std::sync::Arc;

use isofish::fs::iso9660::{write, IsoFs};
use isofish::fs::MountOptions;
use isofish::overlay::Provenance;
use isofish::source::{MemSource, Source};
use libfuzzer_sys::fuzz_target;

/// Plans over this size are not read back (a mutated size can claim gigabytes).
const READ_MAX: u64 = 64 << 20;

fuzz_target!(|data: &[u8]| {
    let src: Arc<dyn Source> = Arc::new(MemSource::new(data.to_vec(), "fuzz.iso"));
    let Ok(original) = IsoFs::open(src, &MountOptions::default()) else {
        return;
    };
    let Ok(plan) = write::plan(
        &original,
        &original,
        &|_| Provenance::UNCHANGED,
        &Default::default(),
    ) else {
        return;
    };
    if plan.len() <= READ_MAX {
        let mut buf = vec![0u8; plan.len() as usize];
        let _ = plan.into_layout().read_at(0, &mut buf);
    }
});
