"""Drives `isofish --tui` in a pseudo-terminal for tests/it/tui_pty.rs.

usage: drive.py SCENARIO BINARY ARGS...

Scenario `nested` (run with `--tui -a IMAGE`): opens an 80x24 pty, keeps a small model of the screen (enough of VT100 for what ratatui
sends: cursor positioning, text, erase; attributes ignored), starts the binary on it as the session leader, waits for the listing,
filters to nested.sqfs, enters it (mount in place), enters inner/, waits for hello.txt, goes back
up twice (unmount), quits with q, and checks: exit status 0, the alternate screen left after it
was entered, mouse reporting switched off, and the pty's termios as it was before (no raw mode
left behind). Prints what went wrong and exits 1 otherwise.

Scenario `repl` (run with `-a IMAGE`, the interactive shell): types `browse`, opens `docs`,
quits the pane with q, and checks that the shell's `pwd` then says `/docs`.

Scenario `quit` (run with `-a IMAGE`, a copy the test can change): stages a file, types `quit`,
cancels at the question about staged changes, types `quit` again and answers `c`: isofish
commits and exits 0 (the test then checks the image).

Scenario `edit` (run with `-a IMAGE browse : changes`, a copy the test can change): filters to
notes.txt, presses `e` with EDITOR set to a sed that rewrites line 7, waits for the status line to
say it was staged, quits the pane with q, and checks that the `changes` after `browse` lists
`M /notes.txt` (the one-liner then commits it; the test reads the image).

Scenario `commit` (run with `--tui -a IMAGE`, a copy): edits notes.txt as `edit` does, then `w`
commits to IMAGE.new.iso (on the terminal given back, where its progress bar draws); q asks about the changes not committed to the image, d leaves them (the
test reads both images).

Scenario `leave` (run with `--tui -a IMAGE`, a copy): makes directory `fromtui` with `m`; q asks
about the staged change, a cancels, q again and c commits into the image and leaves (the test
reads the image).

Scenario `nested-edit` (run with `--tui -a IMAGE`, a copy): enters nested.sqfs and inner/, edits
hello.txt with `e`, checks that `s` lists it under the squashfs's path, closes the list, and
leaves with q and d (the changes are not committed).

Scenario `stderr` (run with `--tui -a IMAGE`): runs `:copy-out /nope /notes.txt DIR`, which
reports `/nope` on stderr and copies the rest, and checks that the report shows in the status
line, is not written raw over the pane, and reaches the terminal once the pane is left.
"""
import os
import sys
import termios
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pty_spawn import read, spawn  # noqa: E402

scenario, binary, *args = sys.argv[1:]
# The editor of `edit`, `commit` and `nested-edit`: rewrites line 7 of notes.txt, or the line of
# hello.txt, in place.
EDITOR = {
    "EDITOR": "sed -i -e 's/^line 7$/line SEVEN/' -e 's/^hello from/HELLO from/'",
    "VISUAL": "",
}
env = EDITOR if scenario in ("edit", "commit", "nested-edit") else {}
master, slave, before, proc = spawn([binary, *args], env)
out = b""
ROWS, COLS = 24, 80
screen = [[" "] * COLS for _ in range(ROWS)]
cursor = [0, 0]
pending = b""


def feed(data):
    """Applies terminal output to the screen model."""
    global pending
    text = (pending + data).decode("utf-8", errors="replace")
    pending = b""
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\x1b":
            if i + 1 >= len(text):
                pending = text[i:].encode()
                return
            if text[i + 1] == "[":
                j = i + 2
                while j < len(text) and not ("@" <= text[j] <= "~"):
                    j += 1
                if j >= len(text):
                    pending = text[i:].encode()
                    return
                params, final = text[i + 2 : j], text[j]
                if final == "n" and params == "6":
                    os.write(master, f"\x1b[{cursor[0] + 1};{cursor[1] + 1}R".encode())
                elif final == "H" and not params.startswith("?"):
                    parts = (params.split(";") + ["1", "1"])[:2]
                    cursor[0] = max(int(parts[0] or 1) - 1, 0)
                    cursor[1] = max(int(parts[1] or 1) - 1, 0)
                elif final == "J" and params == "2":
                    for row in screen:
                        row[:] = [" "] * COLS
                i = j + 1
            elif text[i + 1] == "]":
                end = text.find("\x07", i)
                if end < 0:
                    pending = text[i:].encode()
                    return
                i = end + 1
            else:
                i += 2
            continue
        if c == "\r":
            cursor[1] = 0
        elif c == "\n":
            cursor[0] = min(cursor[0] + 1, ROWS - 1)
        elif c >= " ":
            if cursor[0] < ROWS and cursor[1] < COLS:
                screen[cursor[0]][cursor[1]] = c
            cursor[1] += 1
        i += 1


def shown():
    return "\n".join("".join(row) for row in screen)


def fail(why):
    proc.kill()
    sys.exit(f"{why}\n--- screen ---\n{shown()}\n--- last output ---\n{out[-1500:]!r}")


def pump(seconds):
    global out
    data = read(master, seconds)
    out += data
    feed(data)


def wait_for(text, timeout=20):
    deadline = time.time() + timeout
    while text not in shown():
        if time.time() > deadline:
            fail(f"timed out waiting for {text!r}")
        if proc.poll() is not None:
            fail(f"isofish exited ({proc.returncode}) while waiting for {text!r}")
        pump(0.1)


def written_since(mark, data, why):
    """Waits until isofish wrote `data` after byte offset `mark` of its output."""
    deadline = time.time() + 20
    while data not in out[mark:]:
        if time.time() > deadline:
            fail(why)
        pump(0.1)


def quit_pane():
    """Presses q and waits for the pane to leave the alternate screen; returns where its
    output after that starts."""
    mark = len(out)
    os.write(master, b"q")
    written_since(mark, b"\x1b[?1049l", "the pane did not close after q")
    return mark


def send(keys, expect):
    os.write(master, keys)
    wait_for(expect)


if scenario == "nested":
    wait_for("> bin/")
    wait_for("  notes.txt")
    send(b"/nested", "/nested ")
    send(b"\r", "1/1 of 3 matching /nested")  # the filter is kept: one match
    send(b"\r", "squashfs image /nested.sqfs, opened in place")  # mount-loop: a directory now
    wait_for("> inner/")
    send(b"\r", "> hello.txt")
    wait_for("hello from squashfs")
    send(b"\x1b[D", "> inner/")  # Left: back to the image's root
    send(b"\x1b[D", "> nested.sqfs")  # Left: out of the image, unmounted
    wait_for("/dev/sda on / (iso9660) │ /nested.sqfs │ 4.0 KiB")
elif scenario == "repl":
    wait_for("><")
    os.write(master, b"browse\r")
    wait_for("> docs/")
    send(b"\r", "> guide/")
    quit_pane()
    mark = len(out)
    os.write(master, b"pwd\r")
    written_since(mark, b"/docs\r\n", "pwd did not say /docs after the pane left /docs")
    os.write(master, b"quit\r")
elif scenario in ("edit", "commit"):
    wait_for("> bin/")
    send(b"/notes", "/notes ")
    send(b"\r", "1/1 of 3 matching /notes")
    send(b"e", "/notes.txt: edited, staged")
    wait_for("line SEVEN")  # the preview shows the staged content
    if scenario == "commit":
        target = args[-1] + ".new.iso"
        send(b"w", "Enter: commit: ")
        mark = len(out)
        send(target.encode() + b"\r", f"committed to {target}"[:60])
        # The pane gave the terminal back for the commit's progress, as the shell has it.
        written_since(mark, b"isofish: committing the staged changes",
                      "the commit did not run on the terminal given back")
    if scenario == "commit":
        send(b"q", "[c/d/a]")
        os.write(master, b"d")
    else:
        mark = quit_pane()
    if scenario == "edit":
        why = "changes after the pane did not list M /notes.txt"
        written_since(mark, b"M /notes.txt", why)
elif scenario == "nested-edit":
    wait_for("> bin/")
    send(b"/nested\r", "1/1 of 3 matching /nested")
    send(b"\r", "squashfs image /nested.sqfs, opened in place")
    send(b"\r", "> hello.txt")
    send(b"e", "/nested.sqfs/inner/hello.txt: edited, staged")
    wait_for("HELLO from squashfs")
    send(b"s", "M /nested.sqfs/inner/hello.txt")
    os.write(master, b"q")  # closes the list
    send(b"q", "[c/d/a]")
    os.write(master, b"d")
elif scenario == "leave":
    wait_for("> bin/")
    send(b"m", "new directory: ")
    send(b"fromtui\r", "/fromtui/: made, staged")
    send(b"q", "[c/d/a]")
    send(b"a", "staying: nothing committed")
    send(b"q", "[c/d/a]")
    os.write(master, b"c")
elif scenario == "stderr":
    import tempfile

    dest = tempfile.mkdtemp()
    wait_for("> bin/")
    os.write(master, f":copy-out /nope /notes.txt {dest}\r".encode())
    wait_for("error: /nope: no such file or directory")
    if not os.path.exists(os.path.join(dest, "notes.txt")):
        fail("copy-out did not copy the path it could")
elif scenario == "quit":
    # Waits for `text` in what isofish writes after the byte offset `mark`.
    def after(mark, text):
        deadline = time.time() + 60
        while text not in out[mark:]:
            if time.time() > deadline or proc.poll() is not None:
                fail(f"isofish did not write {text!r}")
            pump(0.1)

    # A line is read from `\x1b[?2004h` (bracketed paste on) to `\x1b[?2004l` (off).
    def line(text, expect):
        after(0, b"\x1b[?2004h")
        mark = len(out)
        os.write(master, text)
        after(mark, b"\x1b[?2004l")
        mark = out.rindex(b"\x1b[?2004l")
        for e in expect:
            after(mark, e)
        after(mark, b"\x1b[?2004h")  # the next line is being read

    line(b"write /QUIT.TXT hello\r", [])
    line(b"quit\r", [b"1 staged change is not committed", b"[c/d/a]"])
    line(b"a\r", [b"><iso> "])  # cancel: the shell goes on
    line(b"quit\r", [b"[c/d/a]"])
    os.write(master, b"c\r")  # commit, then leave
    deadline = time.time() + 60
    while proc.poll() is None:
        if time.time() > deadline:
            fail("isofish did not exit after committing")
        pump(0.1)
    if proc.returncode != 0:
        fail(f"exit status {proc.returncode}")
    print("ok")
    sys.exit(0)
else:
    sys.exit(f"unknown scenario {scenario}")
if scenario in ("nested", "stderr"):
    os.write(master, b"q")
deadline = time.time() + 20
while proc.poll() is None:
    if time.time() > deadline:
        fail("isofish did not exit after q")
    pump(0.1)
for _ in range(5):
    pump(0.05)
if proc.returncode != 0:
    fail(f"exit status {proc.returncode}")
enter, leave = out.rfind(b"\x1b[?1049h"), out.rfind(b"\x1b[?1049l")
if leave < 0 or leave < enter:
    fail("the alternate screen was not left")
if out.rfind(b"\x1b[?1000l") < out.rfind(b"\x1b[?1000h"):
    fail("mouse reporting was left on")
if scenario == "stderr":
    report = b"isofish: error: /nope: no such file or directory"
    if report in out[:leave]:
        fail("stderr was written over the pane")
    if report not in out[leave:]:
        fail("what stderr caught was not repeated once the pane was left")
after = termios.tcgetattr(slave)
if after != before:
    fail(f"termios not restored: before {before}, after {after}")
print("ok")
