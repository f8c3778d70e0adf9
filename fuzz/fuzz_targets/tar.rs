//! Fuzz target: the bytes are a tar archive (plain or compressed); see common.rs.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::exercise(data, Some("tar"), &[""]));
