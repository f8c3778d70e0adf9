//! The browser pane (`browse`, `isofish --tui`): a ratatui file manager over the session, with
//! a directory list, a preview (text, hex, an info card for nested images), nested images
//! mounted in place with Enter, a filter, extraction with progress, and one-off shell commands.
//!
//! [`app`] is the state machine (keys in, state out, no terminal), [`view`] draws it,
//! [`run`](mod@run) owns the terminal.

pub mod app;
pub mod extract;
pub mod host_path;
pub mod keys;
pub mod listing;
pub mod preview;
pub mod run;
pub mod stderr;
pub mod view;

pub use app::App;
pub use run::run;
pub use view::Theme;
