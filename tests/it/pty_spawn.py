"""Starts a program on a new 80x24 pseudo-terminal, as the session leader with the pty as its
controlling terminal (so typed Ctrl-C sends it SIGINT), for the drivers of tests/it/tui_pty.rs
and tests/it/shell_repl.rs.

spawn(argv, env) -> (master fd, slave fd, the slave's termios before the start, Popen)
read(master, seconds) -> what the program wrote within `seconds` (b"" for nothing)
"""
import fcntl
import os
import pty
import select
import struct
import subprocess
import termios


def spawn(argv, env):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    before = termios.tcgetattr(slave)
    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=dict(os.environ, TERM="xterm-256color", **env),
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )
    return master, slave, before, proc


def read(master, seconds):
    r, _, _ = select.select([master], [], [], seconds)
    if not r:
        return b""
    try:
        return os.read(master, 65536)
    except OSError:
        return b""
