//! Fuzz target: the bytes are a .deb package (an ar archive of control and data tarballs); see common.rs.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::exercise(data, Some("deb"), &[""]));
