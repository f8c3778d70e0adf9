//! A deep EROFS tree made by mkfs.erofs: a chain of 1400 directories (deeper than the
//! read-ahead of `fs::erofs::listings` reaches in one go), with stretches of busier levels and
//! a directory wider than one read-ahead halfway down, so the listings come from read-aheads
//! that complete, from read-aheads cut short, and from the plain listing by path. `find` lists
//! every level as the host tree holds it, and the deepest file reads. (The walk's cost, linear
//! rather than quadratic in the depth, is measured outside the tests: issue 20, defect 7.)

use std::path::Path;

use crate::common::{run_ro, scratch, tool};

/// Levels of the chain.
const DEPTH: usize = 1400;
/// Levels holding five more files each.
const BUSY: std::ops::Range<usize> = 300..600;
/// The level holding the wide directory, and its number of files.
const WIDE_AT: usize = 700;
const WIDE: usize = 1500;

/// Every path under `top`, relative and `/`-separated, sorted.
fn host_paths(top: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![top.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(
                path.strip_prefix(top)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string(),
            );
            if path.is_dir() {
                todo.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn find_lists_every_level_of_a_1400_deep_chain() {
    let dir = scratch();
    let top = dir.path().join("tree");
    let mut level = top.clone();
    for n in 1..=DEPTH {
        level.push("d");
        std::fs::create_dir_all(&level).unwrap();
        std::fs::write(level.join("f"), format!("{n}\n")).unwrap();
        if BUSY.contains(&n) {
            for g in 1..=5 {
                std::fs::write(level.join(format!("g{g}")), b"").unwrap();
            }
        }
        if n == WIDE_AT {
            let wide = level.join("wide");
            std::fs::create_dir(&wide).unwrap();
            for w in 0..WIDE {
                std::fs::write(wide.join(format!("w{w:04}")), b"").unwrap();
            }
            std::fs::create_dir_all(wide.join("z/z/z")).unwrap();
        }
    }
    let image = dir.path().join("deep.erofs");
    tool(
        "mkfs.erofs",
        &["--quiet", image.to_str().unwrap(), top.to_str().unwrap()],
        None,
    );

    let listed = String::from_utf8(run_ro(&image, &["find", "/"])).unwrap();
    let mut listed: Vec<String> = listed.lines().map(str::to_string).collect();
    listed.sort();
    let expected = host_paths(&top);
    assert_eq!(listed.len(), expected.len());
    assert!(listed == expected, "find differs from the host tree");

    let deepest = format!("/{}f", "d/".repeat(DEPTH));
    assert_eq!(
        run_ro(&image, &["cat", &deepest]),
        format!("{DEPTH}\n").as_bytes()
    );
}
