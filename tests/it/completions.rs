//! Shell completion scripts: the checked-in files are what `isofish completions SHELL` prints,
//! and bash, given the script, completes the first word to isofish's commands, and a command's
//! flags and `name:value` options from its table.

use std::process::Command;

use crate::common::{isofish, root};

/// (shell, checked-in file)
const SCRIPTS: &[(&str, &str)] = &[
    ("bash", "completions/isofish.bash"),
    ("zsh", "completions/_isofish"),
    ("fish", "completions/isofish.fish"),
];

#[test]
fn checked_in_completions_match_the_generator() {
    for (shell, file) in SCRIPTS {
        let generated = isofish().args(["completions", shell]).output().unwrap();
        assert!(generated.status.success());
        let checked_in = std::fs::read(root().join(file)).unwrap_or_default();
        assert!(
            generated.stdout == checked_in,
            "{file} is not what `isofish completions {shell}` prints; regenerate it with\n    \
             cargo run -q -- completions {shell} > {file}"
        );
    }
}

/// The words bash offers for `isofish WORDS...` with the cursor on the last word.
fn bash_complete(words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source completions/isofish.bash\n\
         COMP_WORDS=(isofish {words})\n\
         COMP_CWORD={cword}\n\
         _isofish isofish \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        words = quoted.join(" "),
        cword = words.len(),
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .current_dir(root())
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{}",
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

#[test]
fn bash_completes_the_first_word_to_the_commands_help_lists() {
    let help = isofish().arg("help").output().unwrap();
    let mut listed: Vec<String> = String::from_utf8_lossy(&help.stdout)
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    listed.sort();
    assert!(listed.contains(&"help".to_string()));
    let offered: Vec<String> = bash_complete(&[""])
        .into_iter()
        .filter(|w| !w.starts_with('-'))
        .collect();
    assert_eq!(offered, listed);
    assert_eq!(bash_complete(&["complet"]), ["completions"]);
}

#[test]
fn bash_completes_options_and_image_files() {
    let flags = bash_complete(&["--r"]);
    assert_eq!(flags, ["--ro", "--rw"]);
    // -a takes a host file: the repository's own Cargo.toml is offered.
    assert_eq!(bash_complete(&["-a", "Cargo.t"]), ["Cargo.toml"]);
}

#[test]
fn bash_completes_a_commands_flags_and_options() {
    assert_eq!(bash_complete(&["boot-info", "--a"]), ["--as"]);
    assert_eq!(bash_complete(&["boot-info", "--as", ""]), ["mkisofs"]);
    assert_eq!(
        bash_complete(&["tar-out", "/", "x.tar", "xa"]),
        ["xattrs:false", "xattrs:true"]
    );
    assert_eq!(
        bash_complete(&["tgz-out", "/", "x.tgz", "e"]),
        ["excludes:"]
    );
    // Words that are no option are left to bash's own (file name) completion.
    assert!(bash_complete(&["tar-out", "Cargo.t"]).is_empty());
}
