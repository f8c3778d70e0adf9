//! The shell as a user meets it: one-liners with ':', scripts and standard input with
//! FILE:LINE errors, '-' to go on after an error, '!' host commands and '| host' pipes, -x,
//! '--', a shebang script, and the interactive shell driven through a pseudo-terminal.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{isofish, scratch, tool, xorriso_rr};

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes a script file in `dir` and returns its path.
fn script(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("script written");
    path
}

/// Makes the script at `path` executable and runs it with `args`, with isofish's directory
/// first on PATH so its `#!/usr/bin/env -S isofish ...` line finds the binary under test.
fn run_shebang(path: &Path, args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_isofish"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path_var = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(path)
        .args(args)
        .env("PATH", path_var)
        .output()
        .unwrap()
}

#[test]
fn one_liner_runs_commands_separated_by_colons() {
    isofish()
        .args(["echo", "a", ":", "pwd", ":", "echo", "b", "c"])
        .assert()
        .success()
        .stdout("a\n/\nb c\n")
        .stderr("");
}

#[test]
fn first_error_stops_a_one_liner_with_status_1() {
    isofish()
        .args(["echo", "a", ":", "nosuch", ":", "echo", "b"])
        .assert()
        .code(1)
        .stdout("a\n")
        .stderr("isofish: error: nosuch: unknown command (try 'help')\n");
}

#[test]
fn leading_dash_reports_the_error_and_goes_on() {
    // The first command needs '--' so that '-nosuch' is not read as a flag.
    isofish()
        .args(["--", "-nosuch", ":", "echo", "ok", ":", "-echo", "fine"])
        .assert()
        .success()
        .stdout("ok\nfine\n")
        .stderr("isofish: error: nosuch: unknown command (try 'help')\n");
}

#[test]
fn double_dash_ends_the_options() {
    isofish()
        .args(["--", "echo", "-x", "--ro", "-a"])
        .assert()
        .success()
        .stdout("-x --ro -a\n")
        .stderr("");
    // Words after the first command are its arguments, even without '--'.
    isofish()
        .args(["echo", "-x", "--ro"])
        .assert()
        .success()
        .stdout("-x --ro\n");
}

#[test]
fn bad_flags_and_version() {
    let out = isofish().arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("--bogus"), "{}", stderr_of(&out));
    isofish()
        .arg("-V")
        .assert()
        .success()
        .stdout(format!("isofish {}\n", env!("CARGO_PKG_VERSION")));
    let help = isofish().arg("--help").output().unwrap();
    assert!(help.status.success());
    for flag in ["--add", "--ro", "--mount", "--file", "-x", "--version"] {
        assert!(stdout_of(&help).contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn x_echoes_each_command_to_stderr() {
    isofish()
        .args(["-x", "echo", "a b", ":", "pwd"])
        .assert()
        .success()
        .stdout("a b\n/\n")
        .stderr("echo 'a b'\npwd\n");
    isofish()
        .arg("-x")
        .write_stdin("echo one   # said\n\n# nothing\npwd\n")
        .assert()
        .success()
        .stdout("one\n/\n")
        .stderr("echo one   # said\npwd\n");
}

#[test]
fn script_error_names_the_file_and_line_and_stops() {
    let dir = scratch();
    let path = script(
        dir.path(),
        "bad.fish",
        "# a comment\necho one\n\n-nosuch ignored\nnosuch stops\necho never\n",
    );
    let out = isofish().arg("-f").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_of(&out), "one\n");
    let p = path.display();
    assert_eq!(
        stderr_of(&out),
        format!(
            "{p}:4: isofish: error: nosuch: unknown command (try 'help')\n\
             {p}:5: isofish: error: nosuch: unknown command (try 'help')\n"
        )
    );
}

#[test]
fn script_syntax_errors_stop_too() {
    isofish()
        .write_stdin("echo ok\necho 'unterminated\necho never\n")
        .assert()
        .code(1)
        .stdout("ok\n")
        .stderr("stdin:2: isofish: error: unterminated ' quote\n");
}

#[test]
fn quoting_and_comments_follow_the_shell() {
    isofish()
        .write_stdin("echo \"a  b\" 'c#d' e\\ f g#h # the comment\n   # indented comment\n")
        .assert()
        .success()
        .stdout("a  b c#d e f g#h\n");
}

#[test]
fn stdin_is_a_script_when_it_is_not_a_terminal() {
    isofish()
        .write_stdin("pwd\n")
        .assert()
        .success()
        .stdout("/\n");
    isofish()
        .args(["-f", "-"])
        .write_stdin("echo from stdin\nnosuch\necho never\n")
        .assert()
        .code(1)
        .stdout("from stdin\n")
        .stderr("stdin:2: isofish: error: nosuch: unknown command (try 'help')\n");
}

#[test]
fn quit_ends_a_script_with_status_0() {
    isofish()
        .write_stdin("echo a\nquit\necho b\n")
        .assert()
        .success()
        .stdout("a\n");
    isofish()
        .args(["echo", "a", ":", "exit", ":", "echo", "b"])
        .assert()
        .success()
        .stdout("a\n");
}

#[test]
fn file_and_command_line_commands_do_not_mix() {
    isofish()
        .args(["-f", "-", "pwd"])
        .assert()
        .code(1)
        .stderr("isofish: error: -f SCRIPT and commands on the command line cannot be combined\n");
    isofish()
        .args(["-f", "/nonexistent/script"])
        .assert()
        .code(1)
        .stderr(predicates::str::starts_with(
            "isofish: error: -f /nonexistent/script: ",
        ));
}

#[test]
fn bang_runs_a_host_command() {
    isofish()
        .write_stdin("!echo hi | tr a-z A-Z\necho after\n")
        .assert()
        .success()
        .stdout("HI\nafter\n");
    isofish()
        .args(["!echo", "from", "argv"])
        .assert()
        .success()
        .stdout("from argv\n");
    isofish()
        .write_stdin("-!exit 3\n!exit 4\necho never\n")
        .assert()
        .code(1)
        .stderr(
            "stdin:1: isofish: error: host command 'exit 3' exited with status 3\n\
             stdin:2: isofish: error: host command 'exit 4' exited with status 4\n",
        );
}

#[test]
fn pipe_feeds_a_host_command() {
    let help = isofish().arg("help").output().unwrap();
    let lines = stdout_of(&help).lines().count();
    let summaries = stdout_of(&help)
        .lines()
        .filter(|l| l.contains("shell"))
        .count();
    isofish()
        .write_stdin("help | wc -l\nhelp | grep -c shell # count\n")
        .assert()
        .success()
        .stdout(format!("{lines}\n{summaries}\n"));
}

#[test]
fn a_host_command_that_stops_reading_is_not_an_error() {
    // 200 KiB: more than a pipe holds, so isofish does write into a closed pipe.
    let word = "x".repeat(50 * 1024);
    let input = format!("echo {word} {word} {word} {word} | head -c 5\necho after\n");
    isofish()
        .write_stdin(input)
        .assert()
        .success()
        .stdout("xxxxxafter\n")
        .stderr("");
}

#[test]
fn a_failing_pipe_reader_is_an_error() {
    isofish()
        .write_stdin("echo a | grep -q b\necho never\n")
        .assert()
        .code(1)
        .stdout("")
        .stderr("stdin:1: isofish: error: host command 'grep -q b' exited with status 1\n");
}

#[test]
fn closed_stdout_exits_quietly() {
    // 300 KiB of output into 'head -c 3': isofish's writes meet a closed pipe.
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_isofish"));
    let line = format!(
        "set -o pipefail; w=$(head -c 61440 /dev/zero | tr '\\0' y)
         '{}' echo $w $w $w $w : echo $w | head -c 3",
        bin.display()
    );
    let out = Command::new("bash").args(["-c", &line]).output().unwrap();
    assert_eq!(stdout_of(&out), "yyy");
    assert_eq!(stderr_of(&out), "", "no panic, no error message");
    assert!(out.status.success(), "{:?}", out.status);
}

#[test]
fn shebang_script_runs_with_options_from_its_caller() {
    let dir = scratch();
    let path = script(
        dir.path(),
        "run.fish",
        "#!/usr/bin/env -S isofish -f\necho from shebang\npwd\nnosuch\n",
    );
    let out = run_shebang(&path, &["-x".as_ref()]);
    assert_eq!(stdout_of(&out), "from shebang\n/\n");
    assert_eq!(
        stderr_of(&out),
        format!(
            "echo from shebang\npwd\nnosuch\n{}:4: isofish: error: nosuch: unknown command (try 'help')\n",
            path.display()
        )
    );
    assert_eq!(out.status.code(), Some(1));
}

/// Drives a program through a pseudo-terminal (python3's pty module): for each step, types
/// `send`, then waits until `expect` shows after what the previous step saw (ANSI sequences
/// and carriage returns removed); finally waits for the program to exit. A step that runs a
/// command expects the next prompt too: rustyline drops what is typed before it. Prints the raw transcript and exits with the
/// program's status; 99 when an expectation is not met in time.
const PTY_DRIVER: &str = r#"
import fcntl, os, pty, re, select, struct, sys, termios, time
n = int(sys.argv[1])
steps = [(sys.argv[2 + 2 * i], sys.argv[3 + 2 * i]) for i in range(n)]
argv = sys.argv[2 + 2 * n:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
    os.execvp(argv[0], argv)
TIMEOUT = 20
ansi = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
seen = b""
def read(deadline):
    global seen
    r, _, _ = select.select([fd], [], [], max(0, deadline - time.monotonic()))
    if not r:
        return True
    try:
        data = os.read(fd, 65536)
    except OSError:
        return False
    seen += data
    return bool(data)
def fail(why):
    sys.stderr.write(why + "\n--- transcript ---\n" + text() + "\n")
    os.kill(pid, 9)
    sys.exit(99)
def text():
    return ansi.sub("", seen.decode("utf-8", "replace"))
at = 0
for send, expect in steps:
    os.write(fd, send.encode())
    deadline = time.monotonic() + TIMEOUT
    while text().find(expect, at) < 0:
        if time.monotonic() > deadline or not read(deadline):
            fail("did not see %r after typing %r" % (expect, send))
    at = text().find(expect, at) + len(expect)
deadline = time.monotonic() + TIMEOUT
while read(deadline):
    if time.monotonic() > deadline:
        fail("the program did not exit")
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(seen)
sys.exit(os.waitstatus_to_exitcode(status))
"#;

/// The interactive shell's transcript and exit status.
struct Repl {
    transcript: String,
    status: Option<i32>,
}

/// Runs `isofish ARGS` on a terminal, typing `steps` (send, expect); the history lives in
/// `state` (XDG_STATE_HOME).
fn repl(args: &[&str], state: &Path, env: &[(&str, &str)], steps: &[(&str, &str)]) -> Repl {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_isofish"));
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(PTY_DRIVER).arg(steps.len().to_string());
    for (send, expect) in steps {
        cmd.arg(send).arg(expect);
    }
    cmd.arg(bin).args(args);
    cmd.current_dir(crate::common::root())
        .env("TERM", "xterm")
        .env("XDG_STATE_HOME", state)
        .env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("python3 runs");
    assert_ne!(out.status.code(), Some(99), "{}", stderr_of(&out));
    Repl {
        transcript: stdout_of(&out),
        status: out.status.code(),
    }
}

/// Runs `repl` with `args` and `steps` in a fresh history directory and checks that the
/// session ends with status 0.
fn repl_exits_0(args: &[&str], steps: &[(&str, &str)]) {
    let state = scratch();
    let r = repl(args, state.path(), &[], steps);
    assert_eq!(r.status, Some(0), "{}", r.transcript);
}

/// The banner and the first prompt.
const WELCOME: (&str, &str) = ("", "'quit' to quit the shell\n\n><iso> ");

#[test]
fn repl_completes_command_names_and_host_files_with_tab() {
    // 'hel' alone is no command: the help listing proves Tab completed it to 'help'.
    repl_exits_0(
        &[],
        &[
            WELCOME,
            ("hel\t", "><iso> help "),
            ("\r", "help COMMAND shows a command's page.\n><iso> "),
            // Command names as arguments of help, host files as arguments of open.
            ("help complet\t", "><iso> help completions "),
            ("\x15open Cargo.t\t", "><iso> open Cargo.toml"),
            ("\x15quit\r", ""),
        ],
    );
}

#[test]
fn repl_shows_errors_and_goes_on_until_end_of_input() {
    repl_exits_0(
        &[],
        &[
            WELCOME,
            (
                "nosuch\r",
                "isofish: error: nosuch: unknown command (try 'help')\n><iso> ",
            ),
            ("echo 'unterminated\r", "unterminated ' quote\n><iso> "),
            ("echo still here\r", "\nstill here\n><iso> "),
            ("\x04", ""),
        ],
    );
}

#[test]
fn repl_hints_the_synopsis_of_the_command_being_typed() {
    repl_exits_0(
        &[],
        &[
            WELCOME,
            ("mount", "mount DEVICE MOUNTPOINT"),
            (" /dev/sda", "mount /dev/sda MOUNTPOINT"),
            // Ctrl-U clears the line; the hint was never inserted.
            ("\x15echo done\r", "\ndone\n><iso> "),
            ("exit\r", ""),
        ],
    );
}

#[test]
fn repl_prompt_is_coloured_unless_no_color() {
    let green = "\x1b[1;32m><iso> ";
    for (env, coloured) in [(&[][..], true), (&[("NO_COLOR", "1")][..], false)] {
        let state = scratch();
        let r = repl(&[], state.path(), env, &[WELCOME, ("quit\r", "")]);
        assert_eq!(r.status, Some(0));
        assert_eq!(r.transcript.contains(green), coloured, "{env:?}");
        assert!(r.transcript.contains("><iso> "));
    }
}

#[test]
fn repl_keeps_history_across_sessions() {
    let state = scratch();
    let first = repl(
        &[],
        state.path(),
        &[],
        &[
            WELCOME,
            ("echo remembered\r", "\nremembered\n><iso> "),
            ("quit\r", ""),
        ],
    );
    assert_eq!(first.status, Some(0));
    let history = std::fs::read_to_string(state.path().join("isofish/history"))
        .expect("the history file is written");
    assert!(history.contains("echo remembered"), "{history}");
    // Up arrow twice (past 'quit') brings the command back.
    let second = repl(
        &[],
        state.path(),
        &[],
        &[
            WELCOME,
            ("\x1b[A\x1b[A", "><iso> echo remembered"),
            ("\r", "\nremembered\n><iso> "),
            ("quit\r", ""),
        ],
    );
    assert_eq!(second.status, Some(0), "{}", second.transcript);
}

#[test]
fn repl_survives_an_unwritable_history() {
    let dir = scratch();
    // A state "directory" that is a file: the history cannot be written there.
    let state = script(dir.path(), "not-a-dir", "");
    let r = repl(&[], &state, &[], &[WELCOME, ("quit\r", "")]);
    assert_eq!(r.status, Some(0));
    assert!(
        r.transcript
            .contains("isofish: warning: could not save the history"),
        "{}",
        r.transcript
    );
}

/// An image built by xorriso (Rock Ridge) from a tree holding a 1 MiB file `big.bin`, a name
/// with a space, and a directory; returns the scratch dir, the tree and the image.
fn built_image() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = scratch();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("some dir/inner")).unwrap();
    let big: Vec<u8> = (0u32..1 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(tree.join("big.bin"), big).unwrap();
    std::fs::write(tree.join("with space.txt"), "spaced out\n").unwrap();
    std::fs::write(tree.join("some dir/inner/deep.txt"), "deep inside\n").unwrap();
    let image = dir.path().join("built.iso");
    xorriso_rr(&tree, &image);
    (dir, tree, image)
}

#[test]
fn ls_piped_to_wc_counts_what_bsdtar_lists() {
    let image = crate::common::fixture("sample.iso");
    let listing = tool("bsdtar", &["-tf", image.to_str().unwrap()], None);
    let top = String::from_utf8(listing)
        .unwrap()
        .lines()
        .filter(|p| *p != "." && !p.trim_end_matches('/').contains('/'))
        .count();
    isofish()
        .arg("-a")
        .arg(&image)
        .write_stdin("ls / | wc -l\n")
        .assert()
        .success()
        .stdout(format!("{top}\n"));
}

#[test]
fn cat_of_a_big_file_into_a_closed_stdout_exits_quietly() {
    let (_dir, tree, image) = built_image();
    let line = format!(
        "set -o pipefail; '{}' -a '{}' cat /big.bin | head -c 10",
        env!("CARGO_BIN_EXE_isofish"),
        image.display()
    );
    let out = Command::new("bash").args(["-c", &line]).output().unwrap();
    assert_eq!(stderr_of(&out), "", "no panic, no error message");
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(
        out.stdout,
        std::fs::read(tree.join("big.bin")).unwrap()[..10]
    );
    // Inside a script, a host command that stops reading early does not stop the script.
    isofish()
        .arg("-a")
        .arg(&image)
        .write_stdin("cat /big.bin | head -c 4 | wc -c\necho after\n")
        .assert()
        .success()
        .stdout("4\nafter\n");
}

#[test]
fn mount_flag_places_the_image() {
    let image = crate::common::fixture("sample.iso");
    let at_root = isofish().arg("-a").arg(&image).args(["ls", "/"]).output();
    let root_listing = stdout_of(&at_root.unwrap());
    assert!(root_listing.contains("README.TXT"));
    isofish()
        .arg("--ro")
        .arg("-a")
        .arg(&image)
        .args(["-m", "/dev/sda:/cd", "ls", "/cd", ":", "ls", "/"])
        .assert()
        .success()
        .stdout(format!("{root_listing}cd\n"));
}

#[test]
fn shebang_script_gets_its_image_from_the_caller() {
    let image = crate::common::fixture("sample.iso");
    let readme = tool(
        "bsdtar",
        &["-xOf", image.to_str().unwrap(), "README.TXT"],
        None,
    );
    let dir = scratch();
    let path = script(
        dir.path(),
        "show.fish",
        "#!/usr/bin/env -S isofish -f\ncat /README.TXT\n",
    );
    let out = run_shebang(&path, &["-a".as_ref(), image.as_os_str()]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(out.stdout, readme);
}

#[test]
fn repl_completes_paths_inside_the_image() {
    let image = crate::common::fixture("sample.iso");
    let intro = tool(
        "bsdtar",
        &["-xOf", image.to_str().unwrap(), "docs/guide/intro.txt"],
        None,
    );
    let intro = String::from_utf8(intro).unwrap();
    repl_exits_0(
        &["--ro", "-a", image.to_str().unwrap()],
        &[
            WELCOME,
            ("cat /do\t", "><iso> cat /docs/"),
            ("gu\t", "><iso> cat /docs/guide/"),
            ("in\t", "><iso> cat /docs/guide/intro.txt "),
            ("\r", &format!("\n{intro}><iso> ")),
            // Relative to the current directory.
            ("cd /docs\r", "><iso> "),
            ("cat guide/i\t", "><iso> cat guide/intro.txt "),
            ("\r", &format!("\n{intro}><iso> ")),
            // Devices.
            ("vfs-type /dev/s\t", "><iso> vfs-type /dev/sda "),
            ("\r", "\niso9660\n><iso> "),
            ("quit\r", ""),
        ],
    );
}

#[test]
fn repl_completion_quotes_names_with_spaces() {
    let (_dir, _tree, image) = built_image();
    repl_exits_0(
        &["-a", image.to_str().unwrap()],
        &[
            WELCOME,
            ("cat /wi\t", "><iso> cat /with\\ space.txt "),
            ("\r", "\nspaced out\n><iso> "),
            ("cat /so\tin\td\t", "><iso> cat /some\\ dir/inner/deep.txt "),
            ("\r", "\ndeep inside\n><iso> "),
            ("quit\r", ""),
        ],
    );
}

#[test]
fn a_missing_image_is_named_once_with_the_reason_the_host_gives() {
    let dir = scratch();
    let path = dir.path().join("missing.iso");
    let reason = std::fs::File::open(&path).unwrap_err().to_string();
    let out = isofish()
        .args(["-a", path.to_str().unwrap(), "ls", "/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr_of(&out),
        format!("isofish: error: {}: {reason}\n", path.display())
    );
}
