//! Fuzz target: the bytes are a disc image, inspected as `inspect` does (identity files, boot
//! paths, EFI images, menus, live root, initrds), and the same bytes read as a syslinux, GRUB
//! and systemd-boot config. Errors are fine; panics, hangs and unbounded allocations are the
//! bugs.

#![no_main]

use std::sync::Arc;

use isofish::inspect::{self, grub, loader, syslinux};
use isofish::source::{MemSource, Source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = syslinux::parse(&text);
    let _ = grub::parse(&text);
    let _ = loader::parse("fuzz.conf", &text);
    let src: Arc<dyn Source> = Arc::new(MemSource::new(data.to_vec(), "fuzz.img"));
    let _ = inspect::inspect(src);
});
