//! Fuzz target: the bytes are a UDF image, opened with and without `unhide`; see common.rs.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::exercise(data, Some("udf"), &["", "unhide"]));
