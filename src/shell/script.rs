//! Scripts: the lines of a file (`-f SCRIPT`, a `#!/usr/bin/env -S isofish -f` file) or of
//! standard input, run in order. The first error stops the script; it is reported as
//! `NAME:LINE: isofish: error: …`, where NAME is the script's path as given, or `stdin`.

use std::io::BufRead;

use anyhow::anyhow;

use super::exec::{report, Failed, Flow, Shell};
use super::line::Line;

/// The name standard input has in error messages.
pub const STDIN: &str = "stdin";

/// Runs every line of `input`, a script called `name`.
pub fn run(shell: &mut Shell, mut input: impl BufRead, name: &str) -> Result<Flow, Failed> {
    let mut buf = Vec::new();
    for number in 1.. {
        let place = format!("{name}:{number}");
        buf.clear();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                report(Some(&place), &anyhow!(e).context(format!("reading {name}")));
                return Err(Failed);
            }
        }
        let parsed = std::str::from_utf8(&buf)
            .map_err(|_| anyhow!("the line is not valid UTF-8"))
            .and_then(Line::parse);
        match parsed {
            Ok(None) => {}
            Ok(Some(line)) => {
                if shell.run(&line, Some(&place))? == Flow::Quit {
                    return Ok(Flow::Quit);
                }
            }
            Err(e) => {
                report(Some(&place), &e);
                return Err(Failed);
            }
        }
    }
    Ok(Flow::Continue)
}
