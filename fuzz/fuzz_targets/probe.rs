//! Fuzz target: the bytes are anything: the probe picks the filesystem, decoding compressed images first; see common.rs.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::exercise(data, None, &[""]));
