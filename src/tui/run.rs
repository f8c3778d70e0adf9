//! The browser in a real terminal: raw mode, the alternate screen and mouse reporting on the
//! way in; the terminal restored on the way out, whether the browser quits, fails or panics.
//! Events are read in batches and the screen is drawn once per batch; an extraction runs in
//! slices between events.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::time::Duration;

use anyhow::bail;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::Terminal;

use crate::session::Session;

use super::app::App;
use super::stderr::{self, Caught};
use super::view::{self, Theme};

/// How long the idle loop waits for an event before it looks for lines caught on stderr.
const STDERR_WAKE: Duration = Duration::from_millis(250);

/// Set while the terminal is in the browser's modes (read by the panic hook).
static IN_TERMINAL: AtomicBool = AtomicBool::new(false);
/// Set while a browser runs: `browse` from the browser's `:` prompt is refused.
static RUNNING: AtomicBool = AtomicBool::new(false);

/// Leaves raw mode, the alternate screen and mouse reporting, shows the cursor, and points
/// stderr back at the terminal.
fn restore() {
    stderr::give_back();
    if IN_TERMINAL.swap(false, Ordering::SeqCst) {
        // Best effort: the terminal may already be gone.
        let _ = disable_raw_mode();
        let _ = execute!(
            io::stdout(),
            DisableMouseCapture,
            LeaveAlternateScreen,
            ratatui::crossterm::cursor::Show
        );
    }
}

/// Puts the terminal into the browser's modes; dropping it restores the terminal.
struct TerminalGuard;

/// Puts the terminal into the browser's modes.
fn take_terminal() -> io::Result<()> {
    IN_TERMINAL.store(true, Ordering::SeqCst);
    enable_raw_mode()?;
    execute!(
        io::stdout(),
        EnterAlternateScreen,
        Clear(ClearType::All),
        EnableMouseCapture
    )
}

impl TerminalGuard {
    fn enter() -> io::Result<TerminalGuard> {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
            }));
        });
        let guard = TerminalGuard;
        take_terminal()?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Clears [`RUNNING`] when the browser ends, however it ends.
struct Running;

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::SeqCst);
    }
}

/// Browses the session in the terminal, starting at `start` (default: the current directory).
/// On return the session's current directory is the one the pane showed last. When `last`
/// (the pane ends the session: `isofish --tui`), leaving with changes staged asks whether to
/// commit them.
pub fn run(session: &mut Session, start: Option<&str>, last: bool) -> anyhow::Result<()> {
    if !(io::stdin().is_terminal() && io::stdout().is_terminal()) {
        bail!("browse: needs a terminal: standard input and output must both be one");
    }
    if RUNNING.swap(true, Ordering::SeqCst) {
        bail!("browse: the browser is already open");
    }
    let _running = Running;
    let mut app = App::new(session, start)?;
    if last {
        app.ends_session();
    }
    let theme = Theme::from_env();
    let guard = TerminalGuard::enter()?;
    let mut caught = Caught::start()?;
    let result = event_loop(&mut app, &theme, &mut caught);
    drop(guard);
    caught.finish();
    app.leave();
    result
}

fn event_loop(app: &mut App, theme: &Theme, caught: &mut Caught) -> anyhow::Result<()> {
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    loop {
        app.note_stderr(caught.new_lines());
        terminal.draw(|frame| view::draw(frame, app, theme))?;
        if let Some(text) = app.take_clipboard() {
            copy_to_clipboard(&text)?;
        }
        if let Some(path) = app.take_edit() {
            // The editor gets the terminal as the shell would give it, and gives it back.
            restore();
            caught.pause();
            app.finish_edit(&path);
            caught.resume()?;
            take_terminal()?;
            terminal.clear()?;
            continue;
        }
        if let Some(to) = app.take_commit() {
            // The commit draws its progress bar on the terminal, as in the shell.
            restore();
            caught.pause();
            eprintln!("isofish: committing the staged changes...");
            app.finish_commit(&to);
            caught.resume()?;
            take_terminal()?;
            terminal.clear()?;
            continue;
        }
        if app.quitting() {
            return Ok(());
        }
        // Idle, the loop still wakes now and then: a line the stderr reader gathers after a
        // command returned shows without waiting for a key.
        let wait = if app.busy() {
            Duration::ZERO
        } else {
            STDERR_WAKE
        };
        if event::poll(wait)? {
            // Every event already waiting, then one draw.
            loop {
                app.handle(event::read()?);
                if app.quitting() || !event::poll(Duration::ZERO)? {
                    break;
                }
            }
        } else {
            app.tick();
        }
    }
}

/// Sets the clipboard with the OSC 52 sequence (xterm, kitty, tmux, iTerm2, Windows Terminal).
fn copy_to_clipboard(text: &str) -> io::Result<()> {
    let mut out = io::stdout();
    write!(out, "\x1b]52;c;{}\x07", base64(text.as_bytes()))?;
    out.flush()
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_rfc4648() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("/boot/grub", "L2Jvb3QvZ3J1Yg=="),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }
}
