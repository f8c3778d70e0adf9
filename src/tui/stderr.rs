//! What is written to stderr while the browser owns the terminal (a reader's warning, an error
//! a `:` command reports on its way): caught in a pipe instead of drawn over the screen, shown
//! in the status line as it comes, and written to the real stderr once the terminal is given
//! back, so nothing is lost and nothing scribbles on the pane.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::error::lock_cache;

/// The real stderr while the pipe stands in for it (taken back by [`give_back`], also from the
/// panic hook, so a panic's message reaches the terminal).
static SAVED: Mutex<Option<OwnedFd>> = Mutex::new(None);

/// Points stderr back at the terminal, if it was caught.
pub fn give_back() {
    if let Some(saved) = lock_cache(&SAVED).take() {
        // Best effort: if this fails, stderr stays the pipe, which the reader drains.
        let _ = rustix::stdio::dup2_stderr(&saved);
    }
}

/// Stderr caught in a pipe, read by a thread into lines.
pub struct Caught {
    /// The pipe's write end, to point stderr at again after [`Caught::pause`].
    write: Option<OwnedFd>,
    lines: Arc<Mutex<Vec<String>>>,
    shown: usize,
    reader: Option<JoinHandle<()>>,
}

impl Caught {
    /// Points stderr at a new pipe whose lines a thread gathers.
    pub fn start() -> io::Result<Caught> {
        let (read, write) = rustix::pipe::pipe()?;
        let saved = rustix::io::dup(io::stderr().as_fd())?;
        rustix::stdio::dup2_stderr(&write)?;
        *lock_cache(&SAVED) = Some(saved);
        let lines = Arc::new(Mutex::new(Vec::new()));
        let gathered = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(File::from(read)).split(b'\n') {
                let Ok(line) = line else { break };
                lock_cache(&gathered).push(String::from_utf8_lossy(&line).into_owned());
            }
        });
        Ok(Caught {
            write: Some(write),
            lines,
            shown: 0,
            reader: Some(reader),
        })
    }

    /// The lines caught since the last call.
    pub fn new_lines(&mut self) -> Vec<String> {
        let lines = lock_cache(&self.lines);
        let new = lines[self.shown..].to_vec();
        self.shown = lines.len();
        new
    }

    /// Gives stderr back to the terminal for a while (an editor runs on it).
    pub fn pause(&self) {
        give_back();
    }

    /// Points stderr at the pipe again after [`Caught::pause`].
    pub fn resume(&self) -> io::Result<()> {
        let Some(write) = &self.write else {
            return Ok(());
        };
        let saved = rustix::io::dup(io::stderr().as_fd())?;
        rustix::stdio::dup2_stderr(write)?;
        *lock_cache(&SAVED) = Some(saved);
        Ok(())
    }

    /// Gives stderr back and writes everything caught to it.
    pub fn finish(mut self) {
        give_back();
        // The last write end goes, so the reader sees the end of the pipe.
        drop(self.write.take());
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let mut err = io::stderr().lock();
        for line in lock_cache(&self.lines).iter() {
            let _ = writeln!(err, "{line}");
        }
    }
}
