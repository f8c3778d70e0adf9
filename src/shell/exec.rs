//! Runs parsed lines against the session: isofish commands with their output on stdout or piped
//! into a host command, `!` host commands, and `<!` host commands whose output is run as
//! commands; reports errors (`[FILE:LINE: ]isofish: error: …`) and says whether the run may go
//! on. A closed stdout ends the run quietly; a host command that stops reading its pipe early
//! is not an error. A line during which Ctrl-C was pressed ends as interrupted
//! ([`crate::cancel`]), whatever it returned.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};

use anyhow::{bail, Context};

use super::line::{Action, Line};
use crate::commands::format::escape_controls;
use crate::commands::{self, shell_cmds::Quit, Ctx};
use crate::session::Session;

/// What the run does after a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// `quit`, or stdout was closed: stop with status 0.
    Quit,
}

/// A line failed; its error has been reported.
#[derive(Debug, PartialEq, Eq)]
pub struct Failed;

/// The session and the shell's settings.
pub struct Shell {
    pub session: Session,
    /// `-x`: echo each command to stderr before running it.
    pub echo: bool,
    /// The interactive shell: an interrupted line says only `interrupted`.
    pub interactive: bool,
}

/// The error of a `<!` line whose generated command failed: already reported.
#[derive(Debug, thiserror::Error)]
#[error("a command of the host command's output failed")]
struct Reported;

/// Prints an error to stderr, after `place` (`FILE:LINE`) when there is one.
pub fn report(place: Option<&str>, e: &anyhow::Error) {
    let prefix = place.map(|p| format!("{p}: ")).unwrap_or_default();
    let message = message(e);
    let _ = writeln!(
        io::stderr(),
        "{prefix}isofish: error: {}",
        escape_controls(message.as_bytes())
    );
}

/// The error and its causes joined with `: `, leaving out a cause whose text the message
/// already ends with (errors that carry their source's text in their own).
fn message(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.ends_with(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

impl Shell {
    /// Runs one line; on an error, reports it and fails unless the line ignores errors.
    pub fn run(&mut self, line: &Line, place: Option<&str>) -> Result<Flow, Failed> {
        if self.echo {
            let _ = writeln!(io::stderr(), "{}", line.text);
        }
        let result = self.execute(&line.action, place);
        // What the command set aside is freed while the next line is read.
        crate::aside::sweep();
        // A `<!` line whose command failed has said all there is to say.
        let reported = result.as_ref().is_err_and(|e| e.is::<Reported>());
        if crate::cancel::requested() {
            if reported {
                return Err(Failed);
            }
            let _ = match (self.interactive, place) {
                (true, _) => writeln!(io::stderr(), "interrupted"),
                (false, Some(p)) => writeln!(io::stderr(), "{p}: isofish: interrupted"),
                (false, None) => writeln!(io::stderr(), "isofish: interrupted"),
            };
            return Err(Failed);
        }
        match result {
            Ok(flow) => Ok(flow),
            Err(e) if e.downcast_ref::<Quit>().is_some() => Ok(Flow::Quit),
            Err(_) if reported && !line.ignore_errors => Err(Failed),
            Err(_) if reported => Ok(Flow::Continue),
            Err(e) => {
                report(place, &e);
                if line.ignore_errors {
                    Ok(Flow::Continue)
                } else {
                    Err(Failed)
                }
            }
        }
    }

    fn execute(&mut self, action: &Action, place: Option<&str>) -> anyhow::Result<Flow> {
        match action {
            Action::Host(cmd) => {
                let status = host_shell(cmd)
                    .status()
                    .with_context(|| format!("!{cmd}"))?;
                check(cmd, status)
            }
            Action::HostCommands(cmd) => self.host_commands(cmd, place),
            Action::Command { words, pipe: None } => {
                let stdout = io::stdout();
                let tty = stdout.is_terminal();
                let mut out = Watched::new(BufWriter::new(stdout.lock()));
                let result = self.command(words, &mut out, stdout.as_fd(), tty);
                if out.broken || broken_pipe(&result) {
                    return Ok(Flow::Quit);
                }
                result.map(|()| Flow::Continue)
            }
            Action::Command {
                words,
                pipe: Some(cmd),
            } => {
                let mut child = host_shell(cmd)
                    .stdin(Stdio::piped())
                    .spawn()
                    .with_context(|| format!("| {cmd}"))?;
                let stdin = child.stdin.take().context("host command without stdin")?;
                let mut out = Watched::new(BufWriter::new(&stdin));
                let result = self.command(words, &mut out, stdin.as_fd(), false);
                let broken = out.broken || broken_pipe(&result);
                drop(out);
                drop(stdin);
                let status = child.wait().with_context(|| format!("| {cmd}"))?;
                if !broken {
                    result?;
                }
                check(cmd, status)
            }
        }
    }

    /// `<! cmd`: runs `cmd` with the host shell (its standard error the shell's), then each line
    /// of its output as a line of a script; the first error stops them.
    fn host_commands(&mut self, cmd: &str, place: Option<&str>) -> anyhow::Result<Flow> {
        let output = host_shell(cmd)
            .stdin(Stdio::inherit())
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("<! {cmd}"))?;
        if check(cmd, output.status)? == Flow::Quit {
            return Ok(Flow::Quit);
        }
        let text = String::from_utf8(output.stdout)
            .map_err(|_| anyhow::anyhow!("<! {cmd}: the output is not valid UTF-8"))?;
        for text in text.lines() {
            let line = Line::parse(text).with_context(|| format!("<! {cmd}: {text}"))?;
            let Some(line) = line else { continue };
            match self.run(&line, place) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Quit) => return Ok(Flow::Quit),
                Err(Failed) => return Err(Reported.into()),
            }
        }
        Ok(Flow::Continue)
    }

    /// Runs an isofish command with its output to `out` (a buffer in front of `fd`), flushed
    /// at the end.
    fn command(
        &mut self,
        words: &[String],
        out: &mut dyn Write,
        fd: BorrowedFd,
        tty: bool,
    ) -> anyhow::Result<()> {
        let mut ctx = Ctx {
            session: &mut self.session,
            out,
            out_fd: Some(fd),
            tty,
        };
        commands::run(&mut ctx, &words[0], &words[1..])?;
        ctx.out.flush()?;
        Ok(())
    }
}

/// `sh -c CMD`, with the shell's stdio.
fn host_shell(cmd: &str) -> std::process::Command {
    let mut c = std::process::Command::new("sh");
    c.arg("-c").arg(cmd);
    c
}

/// Fails when a host command did not succeed. One that was killed by SIGPIPE (by itself, or
/// as `sh` reports it, 128 + 13) lost its stdout, which is ours: the run ends quietly.
fn check(cmd: &str, status: ExitStatus) -> anyhow::Result<Flow> {
    const SIGPIPE: i32 = 13;
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok(Flow::Continue),
        (Some(code), _) if code == 128 + SIGPIPE => Ok(Flow::Quit),
        (None, Some(SIGPIPE)) => Ok(Flow::Quit),
        (Some(code), _) => bail!("host command '{cmd}' exited with status {code}"),
        (None, Some(sig)) => bail!("host command '{cmd}' was killed by signal {sig}"),
        (None, None) => bail!("host command '{cmd}' failed ({status})"),
    }
}

/// Whether a command failed because its reader went away (EPIPE) while it wrote to the
/// output descriptor directly, past [`Watched`].
fn broken_pipe(result: &anyhow::Result<()>) -> bool {
    result.as_ref().is_err_and(|e| {
        e.chain().any(|cause| {
            cause
                .downcast_ref::<io::Error>()
                .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
        })
    })
}

/// A writer that remembers whether its reader went away (EPIPE).
struct Watched<W: Write> {
    inner: W,
    broken: bool,
}

impl<W: Write> Watched<W> {
    fn new(inner: W) -> Self {
        Watched {
            inner,
            broken: false,
        }
    }

    fn watch<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &r {
            self.broken |= e.kind() == io::ErrorKind::BrokenPipe;
        }
        r
    }
}

impl<W: Write> Write for Watched<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.watch(r)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let r = self.inner.write_all(buf);
        self.watch(r)
    }
    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.watch(r)
    }
}
