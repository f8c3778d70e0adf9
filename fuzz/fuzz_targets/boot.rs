//! Fuzz target: the bytes are a disc image's boot equipment. `boot::Layout::read` reads it
//! (without a tree, and with the ISO tree when one opens), then every structure it decoded is
//! encoded again and every boot image is patched as it was, so the encoders face hostile
//! models too. Errors are fine; panics, hangs and unbounded allocations are the bugs.

#![no_main]

use std::sync::Arc;

use isofish::boot::Layout;
use isofish::fs::{self, MountOptions};
use isofish::source::{MemSource, Source};
use libfuzzer_sys::fuzz_target;

/// The most bytes of a boot image patched.
const MAX_IMAGE: u64 = 1 << 20;

fn encode_all(src: &dyn Source, layout: &Layout) {
    let sys = &layout.system;
    let _ = sys.encode();
    if let Some(m) = &sys.mbr {
        let _ = m.encode();
    }
    for g in [&sys.gpt, &sys.gpt_backup].into_iter().flatten() {
        let _ = g.encode_header();
        let _ = g.backup().encode_header();
    }
    if let Some(a) = &sys.apm {
        a.driver_map.encode_into(&mut [0u8; 512]);
        for e in &a.entries {
            let _ = e.encode();
        }
    }
    if let Some(br) = &layout.boot_record {
        let _ = br.encode();
    }
    if let Some(Ok(cat)) = &layout.catalog {
        let _ = cat.encode();
    }
    for img in &layout.images {
        let len = img.whole_len().min(MAX_IMAGE) as usize;
        if let Ok(mut bytes) = src.read_vec(img.start(), len, "boot image") {
            let _ = img.patches.apply(&mut bytes, 16, img.entry.load_rba);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let src: Arc<dyn Source> = Arc::new(MemSource::new(data.to_vec(), "fuzz.img"));
    if let Ok(layout) = Layout::read(src.as_ref(), None) {
        encode_all(src.as_ref(), &layout);
    }
    if let Ok(iso) = fs::open_as(src.clone(), "iso9660", &MountOptions::default()) {
        if let Ok(layout) = Layout::read(src.as_ref(), Some(iso.as_ref())) {
            encode_all(src.as_ref(), &layout);
        }
    }
});
