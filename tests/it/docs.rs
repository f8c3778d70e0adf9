//! The command pages (`commands/NAME.md`) are complete and true: every registry command has a
//! page in the house format whose synopsis is the registry's, and every example in them runs and
//! prints what the page shows.
//!
//! An example is a ```console block: lines starting with `$ ` are run with `sh -c` from the
//! repository root (with the built `isofish` first on `PATH`, `TZ=UTC`, `NO_COLOR=1`); the
//! lines after one, up to the next `$ ` line, are its expected output (standard output and
//! standard error together). In expected output, `...` alone on a line stands for any number
//! of lines and `[..]` inside a line for any text. A command is expected to succeed unless its
//! expected output starts with the line `? failed` (as trycmd writes it).

use std::path::PathBuf;
use std::process::Command;

use crate::common::root;

fn pages() -> Vec<(String, String)> {
    let mut pages: Vec<(String, String)> = std::fs::read_dir(root().join("commands"))
        .expect("commands/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            (name, text)
        })
        .collect();
    pages.sort();
    pages
}

#[test]
fn every_command_has_a_page() {
    let names: Vec<String> = pages().into_iter().map(|(n, _)| n).collect();
    let missing: Vec<&str> = isofish::commands::all()
        .iter()
        .map(|c| c.name)
        .filter(|n| !names.iter().any(|p| p == n))
        .collect();
    assert!(missing.is_empty(), "commands without a page: {missing:?}");
}

#[test]
fn every_page_has_the_house_sections() {
    for (name, text) in pages() {
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.first().copied(),
            Some(format!("# {name}").as_str()),
            "{name}.md: title"
        );
        let summary = lines.iter().skip(1).find(|l| !l.trim().is_empty());
        assert!(
            summary.is_some_and(|s| !s.starts_with('#')),
            "{name}.md: a one-line summary follows the title"
        );
        let mut at = 0;
        for section in ["## Synopsis", "## Description", "## Examples"] {
            let pos = lines
                .iter()
                .position(|l| *l == section)
                .unwrap_or_else(|| panic!("{name}.md: no {section}"));
            assert!(pos > at, "{name}.md: {section} out of order");
            at = pos;
        }
        assert!(
            !examples(&text).is_empty(),
            "{name}.md: no runnable example under ## Examples"
        );
    }
}

/// The code lines (indented four spaces) of a page's `## Synopsis` section, unindented.
fn synopsis_lines(page: &str) -> Vec<&str> {
    page.lines()
        .skip_while(|l| *l != "## Synopsis")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("    "))
        .collect()
}

/// The first synopsis line of each page is exactly what the registry (`help`, the usage errors,
/// completion) says; further lines may show other forms (`isofish --tui`, a second kind of
/// argument).
#[test]
fn every_page_synopsis_is_the_registry_synopsis() {
    let pages = pages();
    let mut wrong = Vec::new();
    for command in isofish::commands::all() {
        let Some((_, text)) = pages.iter().find(|(n, _)| n == command.name) else {
            continue; // every_command_has_a_page says so
        };
        let registry = command.synopsis();
        let page = synopsis_lines(text).first().copied().unwrap_or_default();
        if page != registry {
            wrong.push(format!(
                "{}.md: the synopsis is\n    {page}\nbut the registry says\n    {registry}",
                command.name
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// One example: the command line, the expected output lines, and whether it must fail.
struct Example {
    command: String,
    expected: Vec<String>,
    fails: bool,
}

fn examples(page: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut in_block = false;
    for line in page.lines() {
        if !in_block {
            in_block = line.trim_end() == "```console";
            continue;
        }
        if line.trim_end() == "```" {
            in_block = false;
        } else if let Some(cmd) = line.strip_prefix("$ ") {
            out.push(Example {
                command: cmd.to_string(),
                expected: Vec::new(),
                fails: false,
            });
        } else if let Some(ex) = out.last_mut() {
            if line == "? failed" && ex.expected.is_empty() && !ex.fails {
                ex.fails = true;
            } else {
                ex.expected.push(line.to_string());
            }
        }
    }
    // Blank lines closing an example (before the next one or the block's end) are layout.
    for ex in &mut out {
        while ex.expected.last().is_some_and(|l| l.is_empty()) {
            ex.expected.pop();
        }
    }
    out
}

/// True when `text` matches `pattern`, where `[..]` stands for any text.
fn line_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split("[..]").collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let Some(mut rest) = text.strip_prefix(parts[0]) else {
        return false;
    };
    for (i, part) in parts.iter().enumerate().skip(1) {
        if i == parts.len() - 1 {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// True when the actual lines match the expected ones (`...` lines match any run of lines).
fn lines_match(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| line_matches(first, a) && lines_match(rest, more)),
    }
}

fn binary_dir() -> PathBuf {
    let bin = assert_cmd::cargo::cargo_bin("isofish");
    bin.parent()
        .expect("the binary has a directory")
        .to_path_buf()
}

#[test]
fn page_examples_run_as_shown() {
    let path = format!(
        "{}:{}",
        binary_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut failures = Vec::new();
    let mut count = 0;
    for (name, text) in pages() {
        for ex in examples(&text) {
            count += 1;
            let output = Command::new("sh")
                .arg("-c")
                .arg(format!("exec 2>&1; {}", ex.command))
                .current_dir(root())
                .env("PATH", &path)
                .env("TZ", "UTC")
                .env("NO_COLOR", "1")
                .output()
                .expect("sh runs");
            let text = String::from_utf8_lossy(&output.stdout);
            let actual: Vec<&str> = text.lines().collect();
            if !lines_match(&ex.expected, &actual) || output.status.success() == ex.fails {
                failures.push(format!(
                    "{name}.md: $ {}\n--- expected\n{}\n--- got ({})\n{text}",
                    ex.command,
                    ex.expected.join("\n"),
                    output.status
                ));
            }
        }
    }
    assert!(count > 0, "no examples found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_matcher_understands_wildcards() {
    let e = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(lines_match(&e(&["a", "...", "z"]), &["a", "b", "c", "z"]));
    assert!(lines_match(&e(&["a", "..."]), &["a"]));
    assert!(!lines_match(&e(&["a"]), &["a", "b"]));
    assert!(line_matches("-rw [..] 12 [..] x", "-rw r 12 Nov 14 x"));
    assert!(!line_matches("a[..]b", "ac"));
}
