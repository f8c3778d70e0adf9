//! The house rules that a reviewer would otherwise check by eye: every module says what it owns
//! in a `//!` comment on its first line, and unsafe code is allowed in exactly one module (the
//! crate root denies it; `fs/fat/locked.rs` says why it needs it).

use std::path::{Path, PathBuf};

use crate::common::root;

/// Every `.rs` file below `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("source directory") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn library() -> Vec<(String, String)> {
    let src = root().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().display().to_string();
            (rel, std::fs::read_to_string(&p).expect("source"))
        })
        .collect()
}

#[test]
fn every_module_opens_with_what_it_owns() {
    let undocumented: Vec<String> = library()
        .into_iter()
        .filter(|(_, text)| !text.starts_with("//! "))
        .map(|(rel, _)| rel)
        .collect();
    assert!(undocumented.is_empty(), "no //! comment: {undocumented:?}");
}

#[test]
fn unsafe_code_is_denied_but_in_one_module() {
    let files = library();
    let text = |rel: &str| &files.iter().find(|(r, _)| r == rel).expect(rel).1;
    assert!(text("lib.rs").contains("\n#![deny(unsafe_code)]\n"));
    assert!(text("main.rs").contains("\n#![forbid(unsafe_code)]\n"));
    let allowed: Vec<&str> = files
        .iter()
        .filter(|(_, text)| text.contains("allow(unsafe_code)"))
        .map(|(rel, _)| rel.as_str())
        .collect();
    assert_eq!(allowed, ["fs/fat/locked.rs"]);
}
