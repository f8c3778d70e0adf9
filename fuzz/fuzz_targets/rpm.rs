//! Fuzz target: the bytes are an RPM package (lead, signature and main headers, a payload,
//! plain or compressed, maybe stripped); see common.rs.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::exercise(data, Some("rpm"), &[""]));
