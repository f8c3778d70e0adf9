//! Fuzz target: the bytes are an ISO image, opened with each view (default, norock, joliet, plain); see common.rs.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::exercise(
    data,
    Some("iso9660"),
    &["", "norock", "joliet", "plain"]
));
