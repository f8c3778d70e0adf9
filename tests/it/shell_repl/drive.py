"""Drives the interactive shell in a pseudo-terminal for tests/it/shell_repl.rs.

usage: drive.py SCENARIO BINARY ARGS...

The binary runs on an 80x24 pty as the session leader with the pty as its controlling
terminal, so Ctrl-C (byte 0x03) typed on it sends SIGINT as a terminal does. A command's
output is what isofish writes after the line is read: rustyline turns bracketed paste off
(`ESC[?2004l`) when it hands a line over, and on again (`ESC[?2004h`) at the next prompt.

Scenario `typeahead`: three lines sent in one write run in order, each printing its word.
Scenario `paste`: a bracketed paste of two lines, then Enter, runs them as two commands.
Scenario `interrupt` (`-a IMAGE`, writable, with /big.txt): stages a file, interrupts
`hexdump /big.txt`, `cat /big.txt` and `tar-out / -` with Ctrl-C once their output has
started (the pty, not read meanwhile, holds them), each time expecting `interrupted` and a
prompt, and then that the staged file and the mount are still there.
Scenario `stalled` (env ISOFISH_DEBUG_STALL_CHECK, DRIVE_COMMAND, DRIVE_WAIT_FOR): runs
DRIVE_COMMAND, waits for isofish to say it stalled (at the check the first variable names),
checks that the path DRIVE_WAIT_FOR (a glob pattern) exists then (if given), types Ctrl-C, expects
`interrupted`, prints `gone` or `left` for that path, then runs `pwd` to show the shell still
answers. DRIVE_BEFORE, when given, is a line run first; DRIVE_AFTER and DRIVE_EXPECT a line run
after the interruption and what its output must hold.
Each scenario ends with `quit` (answering `d` when asked about staged changes) and exit 0, and
prints `ok`.
"""
import glob
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pty_spawn import read, spawn  # noqa: E402

scenario, binary, *args = sys.argv[1:]
master, _, _, proc = spawn([binary, *args], {"NO_COLOR": "1"})
out = b""
ON, OFF = b"\x1b[?2004h", b"\x1b[?2004l"


def fail(why):
    proc.kill()
    sys.exit(f"{why}\n--- last output ---\n{out[-2000:]!r}")


def pump(seconds):
    global out
    out += read(master, seconds)


def after(mark, pattern, timeout=60):
    """Waits for `pattern` (bytes, or a compiled regex) in the output after offset `mark`;
    returns where it ends."""
    deadline = time.time() + timeout
    while True:
        if isinstance(pattern, bytes):
            at = out.find(pattern, mark)
            if at >= 0:
                return at + len(pattern)
        else:
            m = pattern.search(out, mark)
            if m:
                return m.end()
        if time.time() > deadline:
            fail(f"timed out waiting for {pattern!r}")
        if proc.poll() is not None:
            fail(f"isofish exited ({proc.returncode}) while waiting for {pattern!r}")
        pump(0.1)


def output_line(text):
    """A line of command output (not the echo of the typed line)."""
    return re.compile(rb"(?:^|\n)" + re.escape(text) + rb"\r\n")


seen = 0  # where the output after the latest prompt starts


def prompt_after(mark):
    """Waits for a prompt after `mark`."""
    global seen
    seen = after(mark, ON)


def line(text, expect=()):
    """Types a line at the prompt, waits for `expect` in its output and the next prompt."""
    os.write(master, text)
    start = after(seen, OFF)
    for e in expect:
        after(start, e)
    prompt_after(start)


def interrupt(command, started):
    """Types `command`, waits for `started` in its output, types Ctrl-C without reading on
    (the command is held by the full pty meanwhile), then expects `interrupted` and a prompt."""
    os.write(master, command)
    start = after(seen, OFF)
    after(start, started)
    os.write(master, b"\x03")
    prompt_after(after(start, b"interrupted\r\n", timeout=120))


def leave():
    os.write(master, b"quit\r")
    deadline = time.time() + 60
    answered = False
    while proc.poll() is None:
        if time.time() > deadline:
            fail("isofish did not exit after quit")
        if not answered and b"[c/d/a]" in out[seen:]:
            os.write(master, b"d\r")
            answered = True
        pump(0.1)
    if proc.returncode != 0:
        fail(f"exit status {proc.returncode}")


prompt_after(0)
if scenario == "typeahead":
    mark = len(out)
    os.write(master, b"echo x1\recho x2\recho x3\r")
    ends = [after(mark, output_line(w)) for w in (b"x1", b"x2", b"x3")]
    if ends != sorted(ends):
        fail("the lines did not run in order")
    prompt_after(ends[-1])
elif scenario == "paste":
    mark = len(out)
    os.write(master, b"\x1b[200~echo y1\recho y2\x1b[201~")
    os.write(master, b"\r")
    first = after(mark, output_line(b"y1"))
    second = after(mark, output_line(b"y2"))
    if second < first:
        fail("the pasted lines did not run in order")
    if b"y1 echo y2" in out[mark:]:
        fail("the pasted lines ran as one command")
    prompt_after(second)
elif scenario == "interrupt":
    line(b"write /staged.txt kept\r")
    interrupt(b"hexdump /big.txt\r", b"|line 0000")
    interrupt(b"cat /big.txt\r", b"line 000")
    interrupt(b"tar-out / -\r", b"ustar")
    line(b"cat /staged.txt\r", [b"\r\nkept"])
    line(b"mounts\r", [b"/dev/sda on / (iso9660)"])
elif scenario == "stalled":
    command = os.environ["DRIVE_COMMAND"].encode()
    wait_for = os.environ.get("DRIVE_WAIT_FOR")
    if "DRIVE_BEFORE" in os.environ:
        line(os.environ["DRIVE_BEFORE"].encode() + b"\r")
    os.write(master, command + b"\r")
    mark = after(seen, OFF)
    after(mark, b"isofish: debug: stalled")
    if wait_for and not glob.glob(wait_for):
        fail(f"{wait_for} was not made before the command stalled")
    os.write(master, b"\x03")
    prompt_after(after(mark, b"interrupted\r\n"))
    if wait_for:
        print("left" if glob.glob(wait_for) else "gone")
    line(b"pwd\r", [output_line(b"/")])
    if "DRIVE_AFTER" in os.environ:
        line(os.environ["DRIVE_AFTER"].encode() + b"\r", [os.environ["DRIVE_EXPECT"].encode()])
else:
    sys.exit(f"unknown scenario {scenario}")
leave()
print("ok")
