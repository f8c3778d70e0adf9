//! Fuzz target: the bytes are an ext2/3/4 image; see common.rs.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::exercise(data, Some("ext4"), &[""]));
