//! Fuzz target: the bytes are an EROFS image, its metadata read through erofs-rs and its file
//! data in-house (src/fs/erofs/data.rs); see common.rs.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::exercise(data, Some("erofs"), &[""]));
