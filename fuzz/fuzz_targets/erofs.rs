//! Fuzz target: the bytes are an EROFS image, opened through erofs-rs; see common.rs.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::exercise(data, Some("erofs"), &[""]));
