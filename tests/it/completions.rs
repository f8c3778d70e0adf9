//! Shell completion scripts and the man page: the checked-in files are what `isofish
//! completions SHELL` and `isofish --man-page` print; bash, zsh and fish, given the script,
//! complete the first word to isofish's commands, a command's words after it and after each
//! `:` (its flags and `name:value` options, and paths inside the images given with `-a`, read
//! by calling isofish); `man` renders the page.

use std::collections::BTreeSet;
use std::process::Command;

use crate::common::{fixture, isofish, root, tool};

/// (what prints it, checked-in file)
const GENERATED: &[(&[&str], &str)] = &[
    (&["completions", "bash"], "completions/isofish.bash"),
    (&["completions", "zsh"], "completions/_isofish"),
    (&["completions", "fish"], "completions/isofish.fish"),
    (&["--man-page"], "completions/isofish.1"),
];

#[test]
fn checked_in_completions_and_man_page_match_the_generator() {
    for (args, file) in GENERATED {
        let generated = isofish().args(*args).output().unwrap();
        assert!(generated.status.success());
        let checked_in = std::fs::read(root().join(file)).unwrap_or_default();
        assert!(
            generated.stdout == checked_in,
            "{file} is not what `isofish {}` prints; regenerate it with\n    \
             cargo run -q -- {} > {file}",
            args.join(" "),
            args.join(" "),
        );
    }
}

/// `PATH` with the built isofish first: the scripts call `isofish` as the user's shell would.
fn path_with_isofish() -> String {
    let bin = assert_cmd::cargo::cargo_bin("isofish");
    let dir = bin.parent().expect("the binary has a directory");
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Runs `program ARGS` from the repository root with isofish on `PATH`; returns its output
/// lines, sorted.
fn shell_lines(program: &str, args: &[&str]) -> Vec<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(root())
        .env("PATH", path_with_isofish())
        .output()
        .unwrap_or_else(|e| panic!("{program} could not run ({e}); tests/run installs it"));
    assert!(
        out.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut found: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    found.sort();
    found
}

/// What bash offers for the command line `line` with the cursor at its end: the script's
/// registered function runs with `COMP_LINE`, `COMP_POINT` and `COMP_WORDS` set as bash sets
/// them (a `:` or `=` is a word of its own there).
fn bash_complete(line: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for token in line.split_whitespace() {
        let mut word = String::new();
        for c in token.chars() {
            if c == ':' || c == '=' {
                words.extend((!word.is_empty()).then(|| std::mem::take(&mut word)));
                words.push(c.to_string());
            } else {
                word.push(c);
            }
        }
        words.extend((!word.is_empty()).then_some(word));
    }
    if line.ends_with(' ') {
        words.push(String::new());
    }
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source completions/isofish.bash\n\
         function=$(complete -p isofish | sed 's/.*-F \\([^ ]*\\) .*/\\1/')\n\
         COMP_LINE='{line}'\n\
         COMP_POINT=${{#COMP_LINE}}\n\
         COMP_WORDS=({words})\n\
         COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n\
         $function isofish \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\" 2>/dev/null\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        words = quoted.join(" "),
    );
    shell_lines("bash", &["-c", &script])
}

/// What zsh offers for `line`: the script's function runs with `words`, `CURRENT` and
/// `PREFIX` set as zsh sets them, `compadd` and `_files` replaced by functions that print what
/// they are given (`<files>` for host file names), and clap's own function (the options and
/// the first command's name) by one that prints `<clap>`.
fn zsh_complete(line: &str) -> Vec<String> {
    let script = format!(
        "compdef() {{ : }}\n\
         source completions/_isofish\n\
         _isofish() {{ print -r -- '<clap>' }}\n\
         _files() {{ print -r -- '<files>' }}\n\
         compadd() {{ while [[ $1 != -- ]]; do shift; done; shift; print -rl -- \"$@\" }}\n\
         line='{line}'\n\
         words=(${{(z)line}})\n\
         [[ $line == *' ' ]] && words+=('')\n\
         CURRENT=$#words\n\
         PREFIX=$words[-1]\n\
         _isofish_line\n"
    );
    shell_lines("zsh", &["-f", "-c", &script])
}

/// What fish offers for `line` (`complete -C`), without the descriptions.
fn fish_complete(line: &str) -> Vec<String> {
    let script = format!("source completions/isofish.fish\ncomplete -C '{line}'\n");
    shell_lines("fish", &["--no-config", "-c", &script])
        .into_iter()
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .collect()
}

/// The entries of the root of `image` as `bsdtar -tv` lists them, directories with a `/`
/// after them, each as an absolute path.
fn root_entries(image: &str) -> Vec<String> {
    let listing = tool("bsdtar", &["-tvf", fixture(image).to_str().unwrap()], None);
    let mut roots = BTreeSet::new();
    for line in String::from_utf8_lossy(&listing).lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(mode), Some(name)) = (fields.first(), fields.last()) else {
            continue;
        };
        let name = name.trim_start_matches("./");
        if name.contains('/') || name == "." || name.is_empty() {
            continue;
        }
        let slash = if mode.starts_with('d') { "/" } else { "" };
        roots.insert(format!("/{name}{slash}"));
    }
    roots.into_iter().collect()
}

/// The command names `isofish help` lists (the lines under each group's title).
fn listed_commands() -> Vec<String> {
    let help = isofish().arg("help").output().unwrap();
    let mut listed: Vec<String> = String::from_utf8_lossy(&help.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    listed.sort();
    listed
}

#[test]
fn bash_completes_the_first_word_to_the_commands_help_lists() {
    let listed = listed_commands();
    assert!(listed.contains(&"help".to_string()));
    let offered: Vec<String> = bash_complete("isofish ")
        .into_iter()
        .filter(|w| !w.starts_with('-'))
        .collect();
    assert_eq!(offered, listed);
    assert_eq!(bash_complete("isofish complet"), ["completions"]);
}

#[test]
fn bash_completes_options_and_image_files() {
    let flags = bash_complete("isofish --r");
    assert_eq!(flags, ["--ro", "--rw"]);
    // -a takes a host file: the repository's own Cargo.toml is offered.
    assert_eq!(bash_complete("isofish -a Cargo.t"), ["Cargo.toml"]);
}

#[test]
fn bash_completes_a_commands_flags_and_options() {
    assert_eq!(bash_complete("isofish boot-info --a"), ["--as"]);
    assert_eq!(bash_complete("isofish boot-info --as "), ["mkisofs"]);
    assert_eq!(
        bash_complete("isofish tar-out / x.tar xa"),
        ["xattrs:false", "xattrs:true"]
    );
    // Readline replaces what follows the `:`: the rest of the word is offered.
    assert_eq!(bash_complete("isofish tar-out / x.tar xattrs:t"), ["true"]);
    assert_eq!(bash_complete("isofish tgz-out / x.tgz e"), ["excludes:"]);
    // The tarball is a host file.
    assert_eq!(bash_complete("isofish tar-out / Cargo.t"), ["Cargo.toml"]);
}

#[test]
fn bash_completes_after_a_colon() {
    let sample = "isofish -a tests/fixtures/sample.iso ls /";
    let names: Vec<String> = bash_complete(&format!("{sample} : "));
    assert_eq!(
        names
            .iter()
            .filter(|n| listed_commands().contains(n))
            .count(),
        listed_commands().len()
    );
    assert_eq!(
        bash_complete(&format!("{sample} : complet")),
        ["completions"]
    );
    assert_eq!(
        bash_complete(&format!("{sample} : boot-info --a")),
        ["--as"]
    );
    assert_eq!(
        bash_complete(&format!("{sample} : tar-out / x.tar xattrs:f")),
        ["false"]
    );
    // A leading `-` (go on after an error) stays.
    assert_eq!(
        bash_complete(&format!("{sample} : -complet")),
        ["-completions"]
    );
}

#[test]
fn bash_completes_paths_inside_the_image() {
    let roots = root_entries("sample.iso");
    assert!(roots.contains(&"/README.TXT".to_string()));
    assert_eq!(
        bash_complete("isofish -a tests/fixtures/sample.iso cat /"),
        roots
    );
    assert_eq!(
        bash_complete("isofish --ro -a tests/fixtures/sample.iso ls / : cat /R"),
        ["/README.TXT"]
    );
    assert_eq!(
        bash_complete("isofish --add=tests/fixtures/sample.iso ll /is"),
        ["/isolinux/"]
    );
    // Without an image there is nothing to offer, and no host file either.
    assert!(bash_complete("isofish cat /R").is_empty());
}

#[test]
fn zsh_completes_after_a_colon_and_inside_the_image() {
    let sample = "isofish -a tests/fixtures/sample.iso";
    // The options and the first command's name are clap's part of the script.
    assert_eq!(zsh_complete(&format!("{sample} c")), ["<clap>"]);
    assert_eq!(
        zsh_complete(&format!("{sample} ls / : complet")),
        ["completions"]
    );
    assert_eq!(zsh_complete("isofish boot-info --as "), ["mkisofs"]);
    assert_eq!(
        zsh_complete("isofish tar-out / x.tar xattrs:t"),
        ["xattrs:true"]
    );
    assert_eq!(zsh_complete("isofish tar-out / x"), ["<files>"]);
    assert_eq!(
        zsh_complete(&format!("{sample} cat /")),
        root_entries("sample.iso")
    );
    assert_eq!(
        zsh_complete(&format!("{sample} ls / : cat /R")),
        ["/README.TXT"]
    );
}

#[test]
fn fish_completes_after_a_colon_and_inside_the_image() {
    let sample = "isofish -a tests/fixtures/sample.iso";
    assert!(fish_complete(&format!("{sample} c")).contains(&"cat".to_string()));
    assert!(fish_complete("isofish --r").contains(&"--ro".to_string()));
    assert_eq!(fish_complete("isofish -a Cargo.t"), ["Cargo.toml"]);
    assert_eq!(
        fish_complete(&format!("{sample} ls / : complet")),
        ["completions"]
    );
    assert_eq!(fish_complete("isofish boot-info --as "), ["mkisofs"]);
    assert_eq!(
        fish_complete("isofish tar-out / x.tar xattrs:t"),
        ["xattrs:true"]
    );
    assert_eq!(fish_complete("isofish tar-out / Cargo.t"), ["Cargo.toml"]);
    let mut roots = root_entries("sample.iso");
    roots.sort_by_key(|r| r.to_lowercase());
    let mut offered = fish_complete(&format!("{sample} cat /"));
    offered.sort_by_key(|r| r.to_lowercase());
    assert_eq!(offered, roots);
    assert_eq!(
        fish_complete(&format!("{sample} ls / : cat /R")),
        ["/README.TXT"]
    );
}

#[test]
fn man_renders_the_man_page_with_the_commands() {
    let out = Command::new("man")
        .args(["-l", "completions/isofish.1"])
        .current_dir(root())
        .env("MANWIDTH", "100")
        .env("MAN_KEEP_FORMATTING", "")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
        .expect("man runs (tests/run installs man-db)");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for heading in ["NAME", "SYNOPSIS", "OPTIONS", "COMMANDS", "SEE ALSO"] {
        assert!(
            text.lines().any(|l| l == heading),
            "no {heading} section:\n{text}"
        );
    }
    // Every command, with its page's summary line.
    let help = isofish().arg("help").output().unwrap();
    let listing = String::from_utf8_lossy(&help.stdout).into_owned();
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let man_flat = flat(&text);
    for name in listed_commands() {
        let page = isofish().args(["help", &name]).output().unwrap();
        let page = String::from_utf8_lossy(&page.stdout).into_owned();
        let summary = page
            .lines()
            .nth(2)
            .unwrap_or_default()
            .trim()
            .replace('`', "");
        assert!(
            man_flat.contains(&flat(&summary)),
            "{name}: {summary:?} not in the man page"
        );
    }
    assert!(listing.contains("Reading:") && text.contains("   Reading\n"));
    // The options, as --help gives them.
    for flag in [
        "--add <IMAGE>",
        "--ro",
        "--mount",
        "--file <SCRIPT>",
        "--tui",
    ] {
        assert!(text.contains(flag), "{flag}");
    }
}
