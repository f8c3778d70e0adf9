//! Shell completion for bash, zsh and fish: the scripts `isofish completions SHELL` prints,
//! and `isofish --complete`, which those scripts call for the words of a command.
//!
//! A script is clap's, generated from the flag table with every shell command as a subcommand
//! (its name and summary): that completes the options and the first command's name. Past the
//! command name, and after each `:`, the script's own function hands the command's words to
//! `isofish [-a IMAGE]... [-m MOUNT]... --complete -- WORDS... PARTIAL` (as git's completion
//! calls git), which answers with the same engine as the interactive shell's Tab: command
//! names, a command's flags and `name:value` options, and paths inside the images on the
//! command line, read only and within a time limit (0.3 s).

use std::io::{self, Write};
use std::sync::mpsc;
use std::time::Duration;

use clap::{Arg, CommandFactory};

use super::cli::Cli;
use super::complete::{self, Candidate, WordAt};
use super::line::unquote_partial;
use crate::commands::{self, ArgKind};

/// How long `--complete` may spend opening the images and reading a directory: past it, it
/// answers without the paths (a shell waits for its completion function).
const TIME_LIMIT: Duration = Duration::from_millis(300);

/// The exit status of `--complete` when host file names complete the word too (an argument
/// that is a host path, or a command isofish does not know).
const HOST_FILES: i32 = 1;

/// Writes the completion script for `shell`.
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn Write) -> io::Result<()> {
    let subcommands = commands::all().iter().map(|c| {
        clap::Command::new(c.name)
            .about(c.summary())
            .aliases(c.aliases.iter().copied())
            .disable_help_flag(true)
    });
    let mut cmd = Cli::command()
        .mut_arg("commands", |a| a.hide(true))
        .subcommands(subcommands);
    let mut generated = Vec::new();
    clap_complete::generate(shell, &mut cmd, "isofish", &mut generated);
    let generated = String::from_utf8_lossy(&generated);
    let options = TopOptions::of(&Cli::command());
    let text = match shell {
        clap_complete::Shell::Bash => bash(&generated, &options),
        clap_complete::Shell::Zsh => zsh(&generated, &options),
        clap_complete::Shell::Fish => format!("{generated}{}", fish(&options)),
        _ => generated.into_owned(),
    };
    out.write_all(text.as_bytes())
}

/// The spellings of isofish's own options the scripts need, as shell patterns: those the
/// scripts pass on to `--complete` (`-a`, `-m`), and the others that take a value.
struct TopOptions {
    /// `-a|--add|-m|--mount`
    passed: String,
    /// `--add=*|--mount=*`
    passed_joined: String,
    /// `-f|--file` (none: a pattern that matches no word).
    valued: String,
}

impl TopOptions {
    fn of(cmd: &clap::Command) -> Self {
        let spellings = |a: &Arg| {
            let short = a.get_short().map(|s| format!("-{s}"));
            let long = a.get_long().map(|l| format!("--{l}"));
            short.into_iter().chain(long).collect::<Vec<_>>()
        };
        let takes_value = |a: &&Arg| !a.is_positional() && a.get_action().takes_values();
        let (passed, valued): (Vec<&Arg>, Vec<&Arg>) = cmd
            .get_arguments()
            .filter(takes_value)
            .partition(|a| ["add", "mount"].contains(&a.get_id().as_str()));
        let joined = |list: Vec<String>| match list.is_empty() {
            true => "--no-such-option".to_string(),
            false => list.join("|"),
        };
        TopOptions {
            passed: joined(passed.iter().flat_map(|a| spellings(a)).collect()),
            passed_joined: joined(
                passed
                    .iter()
                    .filter_map(|a| a.get_long().map(|l| format!("--{l}=*")))
                    .collect(),
            ),
            valued: joined(valued.iter().flat_map(|a| spellings(a)).collect()),
        }
    }
}

/// Bash: clap's script, with a function in front of clap's that hands the words of a command
/// to `isofish --complete`. The words are split from the line itself, not taken from
/// `COMP_WORDS`, where bash cuts `xattrs:true` at the colon.
fn bash(generated: &str, o: &TopOptions) -> String {
    let function = format!(
        r#"
# The words of a command (past its name, and after each ':') are completed by isofish itself:
# `isofish [-a IMAGE]... [-m MOUNT]... --complete -- WORDS... PARTIAL` prints the candidates,
# and exits with status 1 when host file names complete the word too.
_isofish_line() {{
    local line=${{COMP_LINE:0:COMP_POINT}} cur i w start=-1 words=() pass=()
    read -ra words <<< "$line"
    if [[ -z $line || $line == *[[:space:]] ]]; then
        cur=''
    else
        cur=${{words[-1]}}
        unset 'words[-1]'
    fi
    for (( i = 1; i < ${{#words[@]}}; i++ )); do
        w=${{words[i]}}
        if (( start < 0 )); then
            case $w in
                {passed}) pass+=("$w" "${{words[i+1]}}"); (( i++ )); continue ;;
                {passed_joined}) pass+=("$w"); continue ;;
                {valued}) (( i++ )); continue ;;
                --) start=$(( i + 1 )); continue ;;
                -*) continue ;;
            esac
            start=$i
        elif [[ $w == : ]]; then
            start=$(( i + 1 ))
        fi
    done
    if (( start < 0 )); then
        _isofish "$@"
        return
    fi
    local out st
    out=$("${{words[0]/#\~/$HOME}}" "${{pass[@]}}" --complete -- "${{words[@]:start}}" "$cur" 2>/dev/null)
    st=$?
    COMPREPLY=()
    [[ -n $out ]] && mapfile -t COMPREPLY <<< "$out"
    if (( st != 0 )); then
        mapfile -t -O "${{#COMPREPLY[@]}}" COMPREPLY < <(compgen -f -- "$cur")
    elif (( ${{#COMPREPLY[@]}} == 0 )); then
        compopt +o default +o bashdefault 2>/dev/null
    fi
    compopt -o filenames 2>/dev/null
    if (( ${{#COMPREPLY[@]}} == 1 )) && [[ $COMPREPLY == */ || $COMPREPLY == *: ]]; then
        compopt -o nospace 2>/dev/null
    fi
    # Readline replaces only the text after the last ':' or '=' of the word.
    if [[ $cur == *[:=]* ]]; then
        local head=${{cur%"${{cur##*[:=]}}"}}
        COMPREPLY=("${{COMPREPLY[@]#"$head"}}")
    fi
}}
"#,
        passed = o.passed,
        passed_joined = o.passed_joined,
        valued = o.valued,
    );
    let registration = generated
        .rfind("\nif [[ \"${BASH_VERSINFO")
        .unwrap_or(generated.len());
    let (head, tail) = generated.split_at(registration);
    format!(
        "{head}\n{}{}",
        function.trim_start_matches('\n'),
        tail.replace("complete -F _isofish ", "complete -F _isofish_line ")
    )
}

/// Zsh: clap's script, with a function that hands the words of a command to `isofish
/// --complete` registered in front of clap's.
fn zsh(generated: &str, o: &TopOptions) -> String {
    let function = format!(
        r#"# The words of a command (past its name, and after each ':') are completed by isofish itself:
# `isofish [-a IMAGE]... [-m MOUNT]... --complete -- WORDS... PARTIAL` prints the candidates,
# and exits with status 1 when host file names complete the word too.
_isofish_line() {{
    local i w out st start=0
    local -a pass found finished unfinished
    for (( i = 2; i < CURRENT; i++ )); do
        w=${{(Q)words[i]}}
        if (( start == 0 )); then
            case $w in
                ({passed}) pass+=("$w" "${{(Q)words[i+1]}}"); (( i++ )); continue ;;
                ({passed_joined}) pass+=("$w"); continue ;;
                ({valued}) (( i++ )); continue ;;
                (--) start=$(( i + 1 )); continue ;;
                (-*) continue ;;
            esac
            start=$i
        elif [[ $w == : ]]; then
            start=$(( i + 1 ))
        fi
    done
    if (( start == 0 )); then
        _isofish "$@"
        return
    fi
    out=$("${{(Q)words[1]/#\~/$HOME}}" "${{pass[@]}}" --complete -- "${{(@Q)words[start,CURRENT-1]}}" "${{(Q)PREFIX}}" 2>/dev/null)
    st=$?
    found=(${{(f)out}})
    for w in $found; do
        if [[ $w == */ || $w == *: ]]; then
            unfinished+=("$w")
        else
            finished+=("$w")
        fi
    done
    (( $#finished )) && compadd -- "${{finished[@]}}"
    (( $#unfinished )) && compadd -S '' -- "${{unfinished[@]}}"
    (( st != 0 )) && _files
    return 0
}}

"#,
        passed = o.passed,
        passed_joined = o.passed_joined,
        valued = o.valued,
    );
    let registration = generated
        .rfind("if [ \"$funcstack[1]\" = \"_isofish\" ]")
        .unwrap_or(generated.len());
    let (head, tail) = generated.split_at(registration);
    let tail = tail
        .replace("    _isofish \"$@\"", "    _isofish_line \"$@\"")
        .replace("compdef _isofish isofish", "compdef _isofish_line isofish");
    format!("{head}{function}{tail}")
}

/// Fish: after clap's rules (the options and the first command's name), one rule for the
/// words of a command, from `isofish --complete`.
fn fish(o: &TopOptions) -> String {
    let case = |pattern: &str| {
        let quoted: Vec<String> = pattern.split('|').map(|p| format!("'{p}'")).collect();
        quoted.join(" ")
    };
    format!(
        r#"
# The words of a command (past its name, and after each ':') are completed by isofish itself:
# `isofish [-a IMAGE]... [-m MOUNT]... --complete -- WORDS... PARTIAL` prints the candidates,
# and exits with status 1 when host file names complete the word too.
# __fish_isofish_scan prints where the command under the cursor starts (0: no command yet),
# then the options to pass on, one a line.
function __fish_isofish_scan
    set -l tokens (commandline -opc)
    set -l pass
    set -l start 0
    set -l i 2
    while test $i -le (count $tokens)
        set -l w $tokens[$i]
        if test $start -eq 0
            switch $w
                case {passed}
                    set -a pass $w $tokens[(math $i + 1)]
                    set i (math $i + 1)
                case {passed_joined}
                    set -a pass $w
                case {valued}
                    set i (math $i + 1)
                case --
                    set start (math $i + 1)
                case '-*'
                case '*'
                    set start $i
            end
        else if test "$w" = :
            set start (math $i + 1)
        end
        set i (math $i + 1)
    end
    printf '%s\n' $start $pass
end

function __fish_isofish_in_command
    set -l scan (__fish_isofish_scan)
    test $scan[1] -gt 0
end

function __fish_isofish_words
    set -l scan (__fish_isofish_scan)
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    set -l program $tokens[1]
    test $scan[1] -gt 0; or return
    $program $scan[2..-1] --complete -- $tokens[$scan[1]..-1] $current 2>/dev/null
    or __fish_complete_path $current
end

complete -c isofish -n "__fish_isofish_needs_command" -f
complete -c isofish -n "__fish_isofish_in_command" -f -a "(__fish_isofish_words)"
"#,
        passed = case(&o.passed),
        passed_joined = case(&o.passed_joined),
        valued = case(&o.valued),
    )
}

/// `isofish --complete -- WORDS... PARTIAL`: prints the words that complete PARTIAL, the last
/// word of a command whose first words are WORDS, one a line, as plain text (the shell quotes
/// them). Returns the exit status: 0, or 1 when host file names complete the word
/// too.
pub fn complete(cli: &Cli, out: &mut dyn Write) -> io::Result<i32> {
    let Some((partial, before)) = cli.commands.split_last() else {
        return Ok(0);
    };
    let Some((name, args)) = before.split_first() else {
        // The command's name: `-` in front (ignore its error) stays in front.
        let (dash, partial) = match partial.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", partial.as_str()),
        };
        for word in words(complete::candidates(&empty(), ArgKind::Command, partial)) {
            writeln!(out, "{dash}{word}")?;
        }
        return Ok(0);
    };
    let command = commands::find(name.strip_prefix('-').unwrap_or(name));
    let at = WordAt {
        start: 0,
        partial: partial.clone(),
        index: before.len(),
        before: args.to_vec(),
        in_word: true,
        command,
    };
    let mut found = words(at.options());
    let status = match (command, at.kind()) {
        (None, _) | (_, Some(ArgKind::HostPath | ArgKind::Output)) => HOST_FILES,
        (_, Some(ArgKind::Command)) => {
            found.extend(words(complete::candidates(
                &empty(),
                ArgKind::Command,
                partial,
            )));
            0
        }
        (_, Some(kind @ (ArgKind::Path | ArgKind::Device))) => {
            found.extend(in_images(cli, kind, partial));
            0
        }
        _ => 0,
    };
    for word in found {
        writeln!(out, "{word}")?;
    }
    Ok(status)
}

/// A session with nothing in it, for the candidates that need none.
fn empty() -> crate::session::Session {
    crate::session::Session::new(true)
}

/// The candidates as the words a shell inserts: unescaped, without the space after a
/// finished word.
fn words(candidates: Vec<Candidate>) -> Vec<String> {
    candidates
        .into_iter()
        .map(|c| unquote_partial(c.replacement.trim_end_matches(' ')))
        .collect()
}

/// The paths or devices of the images on the command line (opened read-only, mounted as the
/// run would mount them) that complete `partial`, or none when that takes longer than
/// [`TIME_LIMIT`].
fn in_images(cli: &Cli, kind: ArgKind, partial: &str) -> Vec<String> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let add = cli
        .add
        .iter()
        .map(|p| match (p.strip_prefix("~"), &home) {
            (Ok(rest), Some(home)) => home.join(rest),
            _ => p.clone(),
        })
        .collect();
    let opened = Cli {
        add,
        mount: cli.mount.clone(),
        ro: true,
        ..Cli::default()
    };
    let partial = partial.to_string();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let found = super::setup(&opened)
            .map(|session| words(complete::candidates(&session, kind, &partial)))
            .unwrap_or_default();
        let _ = send.send(found);
    });
    receive.recv_timeout(TIME_LIMIT).unwrap_or_default()
}
