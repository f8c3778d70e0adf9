//! `grep` and its variants print what GNU grep (`grep`, `grep -E -F -i -v -c`) and the
//! host's `zgrep`, `xzgrep`, `bzgrep` and `zstdgrep` print on the same files, with basic and
//! extended regular expressions read the same way; a hostile line or pattern ends quickly, in
//! output or a clear error, never a hang.

use std::path::Path;
use std::process::Command;

use crate::common::{isofish, run_ro, scratch, tool, xorriso_rr};

/// Lines that tell basic from extended regular expressions and fixed strings apart.
const TEXT: &str = "\
default live
Label Live
label rescue
  append initrd=/boot/initrd.img boot=live quiet
a+b (x) {2} a|b what?
aab xx abab ababab
ab
aaa.b a*b a.b
\\backslash [brackets] ^caret$ dollar
MIXED case Mixed CASE
12345 678 90
caf\u{e9} na\u{ef}ve \u{e0} la carte

end
";

/// The patterns the comparisons try, each under every flag set.
const PATTERNS: &[&str] = &[
    "live",
    "^label",
    "e$",
    "a+b",
    "a\\+b",
    "(x)",
    "\\(x\\)",
    "\\(ab\\)\\{2\\}",
    "(ab){2}",
    "a|b",
    "live\\|rescue",
    "live|rescue",
    "what?",
    "a\\?b",
    "{2}",
    "a.b",
    "a*b",
    "*b",
    "[[:digit:]]\\{3\\}",
    "[[:upper:]][a-z]",
    "[^a-z ]",
    "[]x]",
    "\\[brackets\\]",
    "\\^caret\\$",
    "^$",
    "mixed",
    "\\<ab",
    "ab\\>",
    "\\bcase\\b",
    "a**",
    "\u{e9}",
    "[\u{e9}\u{ef}]",
    "[^ -~]",
    "caf.$",
    "caf. ",
    "x|*b",
    "(*b)",
    "\\(*b\\)",
    "x\\|*b",
    "^*b",
    "\\+b",
    "\\{2\\}b",
    "a{",
    "x{1,2",
    "a\\{1,\\}b",
    "[a-c]\\{2,3\\}",
];

/// The flag sets `grep` is run with, here and on the host.
const FLAGS: &[&[&str]] = &[
    &[],
    &["-E"],
    &["-F"],
    &["-i"],
    &["-v"],
    &["-c"],
    &["-i", "-E", "-v"],
    &["-F", "-i", "-c"],
];

/// An image holding `text.txt` (and `text.txt.gz`, `.xz`, `.bz2`, `.zst`) and `long.txt`, a
/// 100 KB line; also the host directory it was made of.
fn image() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("text.txt"), TEXT).unwrap();
    let text = tree.join("text.txt");
    for (program, ext) in [
        ("gzip", "gz"),
        ("xz", "xz"),
        ("bzip2", "bz2"),
        ("zstd", "zst"),
    ] {
        let packed = tool(program, &["-c", "-q", text.to_str().unwrap()], None);
        std::fs::write(tree.join(format!("text.txt.{ext}")), packed).unwrap();
    }
    std::fs::write(tree.join("long.txt"), "a".repeat(100_000) + "\n").unwrap();
    let iso = dir.path().join("grep.iso");
    xorriso_rr(&tree, &iso);
    (dir, tree, iso)
}

/// What a host grep prints (any exit status: no match is status 1), in the C locale.
fn host(program: &str, args: &[&str], file: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .arg(file)
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|e| panic!("{program} could not run ({e}); tests/run installs it"));
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn ours(iso: &Path, words: &[&str]) -> String {
    String::from_utf8(run_ro(iso, words)).unwrap()
}

/// Where `isofish COMMAND... PATTERN TAIL...` (TAIL: the path, then any `name:value` options)
/// and `PROGRAM FLAGS -e PATTERN FILE` (FILE the host's copy of the path) print differently, for
/// each of `patterns`.
fn differences(
    iso: &Path,
    command: &[&str],
    tail: &[&str],
    (program, flags, file): (&str, &[&str], &Path),
    patterns: &[&str],
) -> Vec<String> {
    let mut wrong = Vec::new();
    for pattern in patterns {
        let mut words = command.to_vec();
        words.push(pattern);
        words.extend(tail);
        let mut theirs = flags.to_vec();
        theirs.extend(["-e", pattern]);
        let (a, b) = (ours(iso, &words), host(program, &theirs, file));
        if a != b {
            wrong.push(format!("{words:?}:\n{a}--- vs {program} {theirs:?}:\n{b}"));
        }
    }
    wrong
}

#[test]
fn grep_and_its_flags_agree_with_gnu_grep() {
    let (_keep, tree, iso) = image();
    let text = tree.join("text.txt");
    let mut wrong = Vec::new();
    for flags in FLAGS {
        let mut command = vec!["grep"];
        command.extend(flags.iter());
        let host = ("grep", *flags, text.as_path());
        wrong.extend(differences(&iso, &command, &["/text.txt"], host, PATTERNS));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn guestfish_options_agree_with_gnu_grep_and_zgrep() {
    let (_keep, tree, iso) = image();
    let cases: &[(&[&str], &str, &[&str], &str)] = &[
        (&["extended:true"], "grep", &["-E"], ""),
        (
            &["fixed:true", "insensitive:true"],
            "grep",
            &["-F", "-i"],
            "",
        ),
        (&["extended:false", "insensitive:false"], "grep", &[], ""),
        (&["compressed:true"], "zgrep", &[], ".gz"),
        (
            &["compressed:true", "extended:true", "insensitive:true"],
            "xzgrep",
            &["-E", "-i"],
            ".xz",
        ),
    ];
    let mut wrong = Vec::new();
    for (options, program, flags, suffix) in cases {
        let name = format!("text.txt{suffix}");
        let file = tree.join(&name);
        let path = format!("/{name}");
        let mut tail = vec![path.as_str()];
        tail.extend(options.iter());
        let host = (*program, *flags, file.as_path());
        wrong.extend(differences(&iso, &["grep"], &tail, host, PATTERNS));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_variants_agree_with_gnu_grep_and_zgrep() {
    let (_keep, tree, iso) = image();
    // (variant, host program, its flags, file suffix)
    let cases: &[(&str, &str, &[&str], &str)] = &[
        ("egrep", "grep", &["-E"], ""),
        ("fgrep", "grep", &["-F"], ""),
        ("grepi", "grep", &["-i"], ""),
        ("egrepi", "grep", &["-E", "-i"], ""),
        ("fgrepi", "grep", &["-F", "-i"], ""),
        ("zgrep", "zgrep", &[], ".gz"),
        ("zegrep", "zgrep", &["-E"], ".gz"),
        ("zfgrep", "xzgrep", &["-F"], ".xz"),
        ("zgrepi", "xzgrep", &["-i"], ".xz"),
        ("zegrepi", "bzgrep", &["-E", "-i"], ".bz2"),
        ("zfgrepi", "zstdgrep", &["-F", "-i"], ".zst"),
        ("zgrep", "zstdgrep", &[], ".zst"),
        ("zegrep", "bzgrep", &["-E"], ".bz2"),
        ("zgrep", "grep", &[], ""),
    ];
    let mut wrong = Vec::new();
    for (variant, program, flags, suffix) in cases {
        let name = format!("text.txt{suffix}");
        let file = tree.join(&name);
        let host = (*program, *flags, file.as_path());
        let path = format!("/{name}");
        wrong.extend(differences(&iso, &[variant], &[&path], host, PATTERNS));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A 100 KB line and patterns a backtracking matcher takes exponential or cubic time on (the
/// old one took 13 s for `.*.*b` on 3000 bytes): the answers are GNU grep's, and come at all.
#[test]
fn a_hostile_line_is_matched_in_linear_time() {
    let (_keep, tree, iso) = image();
    let long = tree.join("long.txt");
    // (command, GNU grep's flags, patterns)
    let cases: &[(&[&str], &[&str], &[&str])] = &[
        (&["grep"], &[], &[".*.*.*b", "\\(a*\\)*b"]),
        (&["grep", "-c"], &["-c"], &[".*.*.*a", ".*.*.*b"]),
        (&["egrep"], &["-E"], &["(a|aa)*c", "(.*)*.*b"]),
    ];
    let mut wrong = Vec::new();
    for (command, flags, patterns) in cases {
        let host = ("grep", *flags, long.as_path());
        wrong.extend(differences(&iso, command, &["/long.txt"], host, patterns));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_huge_pattern_is_a_clear_error() {
    let (_keep, _tree, iso) = image();
    let out = isofish()
        .args(["--ro", "-a"])
        .arg(&iso)
        .args(["egrep", "(a{1000}){1000}", "/text.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("(a{1000}){1000}") && err.contains("too large"),
        "{err}"
    );
}

#[test]
fn bad_patterns_are_errors_that_name_the_pattern() {
    let (_keep, _tree, iso) = image();
    for words in [
        &["grep", "[abc", "/text.txt"][..],
        &["grep", "\\(a", "/text.txt"],
        &["grep", "\\(a\\)\\1", "/text.txt"],
        &["egrep", "(a", "/text.txt"],
    ] {
        let out = isofish()
            .args(["--ro", "-a"])
            .arg(&iso)
            .args(words)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{words:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(words[1]), "{words:?}: {err}");
    }
}
