//! The browser's state machine: terminal events in, state out. It holds the session, the
//! directory shown, the cache of directory listings (read once per visit, per path; dropped
//! around a mountpoint when the pane mounts or unmounts there, and wholly when the session's
//! generation moved otherwise), the selection and scroll position, the filter, the mode
//! (browsing, typing into a prompt, a popup, a question, the staged changes), the running
//! extraction and the status message; the editing keys are in its `edit` module. It
//! mounts and unmounts through the session's methods, draws nothing and needs no terminal, so
//! tests drive it key by key.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;

use crate::commands::format::escape_name;
use crate::commands::{self, Ctx};
use crate::fs::probe::Content;
use crate::fs::{FileKind, MountOptions};
use crate::session::Session;
use crate::vfs::{path, MountId, Node};

use super::extract::Job;
use super::keys;
use super::listing::{self, Entry, Listing, Pattern};
use super::preview::{self, Preview};

mod edit;

/// Lines the mouse wheel moves.
const WHEEL_STEP: usize = 3;
/// Bytes of a `:` command's output kept for the popup.
const OUTPUT_LIMIT: usize = 1 << 20;
/// Bytes an extraction copies between two frames.
const TICK_BYTES: u64 = 4 << 20;

/// What the bottom line is typing into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// `/`: the filter, applied as it is typed.
    Filter,
    /// `x`: the host directory to extract into.
    Extract,
    /// `:`: a shell command.
    Command,
    /// `m`: the name of a new directory.
    Mkdir,
    /// `r`: the new name or path of the selection.
    Rename,
    /// `u`: a host file to upload into the directory shown.
    Upload,
    /// `w`: where to commit: nothing for back into the image, or a new file's path.
    Commit,
}

impl Prompt {
    /// The text before the input.
    pub fn label(self) -> &'static str {
        match self {
            Prompt::Filter => "/",
            Prompt::Extract => "extract to host directory: ",
            Prompt::Command => ":",
            Prompt::Mkdir => "new directory: ",
            Prompt::Rename => "rename or move to: ",
            Prompt::Upload => "upload host file: ",
            Prompt::Commit => "commit to (empty: back into the image): ",
        }
    }
}

/// A scrollable box over the panes: help, info, a command's output, a file's contents.
pub struct Popup {
    pub title: String,
    pub lines: Vec<String>,
    pub scroll: usize,
}

/// What the keys act on.
pub enum Mode {
    Browse,
    Input {
        prompt: Prompt,
        text: String,
    },
    Popup(Popup),
    /// A question before `action`, answered with one key.
    Confirm {
        question: String,
        action: Action,
    },
    /// `s`: the staged changes.
    Changes(ChangeList),
}

/// What a [`Mode::Confirm`] question is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `d`: the removal of this session path (`y` removes).
    Remove(String),
    /// `x` into a host directory that does not exist yet (`y` makes it and extracts there).
    MakeHostDir(String),
    /// Leaving a pane that ends the session with changes staged (`c` commits and leaves, `d`
    /// leaves them, `a` stays).
    Leave,
}

/// The staged changes as `changes` prints them, one line each, with a selection.
pub struct ChangeList {
    pub lines: Vec<String>,
    /// The session path each line names, if it names one.
    pub paths: Vec<Option<String>>,
    pub selected: usize,
}

/// A line for the status bar, in place of the usual context until the next key.
pub struct Message {
    pub text: String,
    pub error: bool,
}

/// The browser.
pub struct App<'s> {
    session: &'s mut Session,
    dir: Node,
    cache: HashMap<String, Listing>,
    /// The session's generation the cached listings were read at.
    generation: u64,
    listing: Listing,
    /// Indices into `listing` of the entries shown (all, or those matching the filter).
    visible: Vec<usize>,
    /// Index into `visible`.
    selected: usize,
    /// The first row shown.
    offset: usize,
    /// Where the list was last drawn (for the mouse) and so how many rows a page has.
    list_area: Rect,
    filter: Option<String>,
    last_pattern: Option<String>,
    mode: Mode,
    message: Option<Message>,
    preview: Option<(String, Preview)>,
    /// Nested images the browser mounted itself, in the order they were entered: the image's
    /// path (mounted over itself, or its partitions below it) and the mounts made there.
    /// Climbing out of the path unmounts them.
    auto_mounts: Vec<(String, Vec<MountId>)>,
    job: Option<Job>,
    clipboard: Option<String>,
    /// The file to hand to the editor (the terminal must be given up first: see
    /// [`App::take_edit`]).
    edit: Option<String>,
    /// Where `w` commits (empty: back into the image), once the terminal is given up for the
    /// commit's progress bar (see [`App::take_commit`]).
    commit: Option<String>,
    /// The letter of each staged entry (`changes`' A, M, R, m, D) by session path.
    marks: HashMap<String, char>,
    /// What the prompt open is about, for the status line.
    note: Option<String>,
    /// True when leaving the pane ends the session (`isofish --tui`): leaving with changes
    /// staged asks first.
    last: bool,
    quit: bool,
}

impl<'s> App<'s> {
    /// Opens the browser at `start` (a directory, or a file to select in its directory),
    /// or at the session's current directory.
    pub fn new(session: &'s mut Session, start: Option<&str>) -> anyhow::Result<Self> {
        let start = start.unwrap_or(".");
        let node = session.resolve(start)?;
        let (dir, select) = if node.is_dir() {
            (node, None)
        } else {
            let parent = session.resolve(&parent_of(&node.path))?;
            (parent, Some(last_name(&node.path)))
        };
        let listing = listing::read(&session.vfs, &dir)?;
        let generation = session.generation();
        let mut app = App {
            session,
            dir: dir.clone(),
            cache: HashMap::new(),
            generation,
            listing: listing.clone(),
            visible: Vec::new(),
            selected: 0,
            offset: 0,
            list_area: Rect::default(),
            filter: None,
            last_pattern: None,
            mode: Mode::Browse,
            message: None,
            preview: None,
            auto_mounts: Vec::new(),
            job: None,
            clipboard: None,
            edit: None,
            commit: None,
            marks: HashMap::new(),
            note: None,
            last: false,
            quit: false,
        };
        app.read_marks();
        app.cache.insert(dir.path.clone(), listing);
        app.show(dir, select.as_deref());
        Ok(app)
    }

    // ----- what the view reads -----

    /// The directory shown.
    pub fn dir(&self) -> &Node {
        &self.dir
    }
    /// The session (for the status line).
    pub fn session(&self) -> &Session {
        self.session
    }
    /// The entries shown, after the filter.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &Entry> + '_ {
        self.visible.iter().map(|&i| &self.listing[i])
    }
    /// The number of entries in the directory, before the filter.
    pub fn total(&self) -> usize {
        self.listing.len()
    }
    /// Index of the selection among the rows.
    pub fn selected(&self) -> usize {
        self.selected
    }
    /// The first row drawn.
    pub fn offset(&self) -> usize {
        self.offset
    }
    /// The selected entry.
    pub fn current(&self) -> Option<&Entry> {
        self.visible.get(self.selected).map(|&i| &self.listing[i])
    }
    /// The filter in force.
    pub fn filter(&self) -> Option<&str> {
        self.filter.as_deref()
    }
    pub fn mode(&self) -> &Mode {
        &self.mode
    }
    pub fn message(&self) -> Option<&Message> {
        self.message.as_ref()
    }
    /// The extraction running.
    pub fn job(&self) -> Option<&Job> {
        self.job.as_ref()
    }
    /// True while there is work to do between key presses.
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }
    /// True once the user asked to leave.
    pub fn quitting(&self) -> bool {
        self.quit
    }
    /// The staged letter of the entry at session path `path`, if it has one.
    pub fn mark(&self, path: &str) -> Option<char> {
        self.marks.get(path).copied()
    }
    /// The number of staged changes.
    pub fn staged_count(&self) -> usize {
        self.marks.len()
    }
    /// What the prompt open is about.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
    /// A path the user asked to copy to the clipboard (taken once).
    pub fn take_clipboard(&mut self) -> Option<String> {
        self.clipboard.take()
    }

    /// The preview of the selection, computed when the selection changed since last time.
    pub fn preview(&mut self) -> &Preview {
        let path = self.current().map(|e| e.node.path.clone());
        let stale = self.preview.as_ref().map(|(p, _)| Some(p)) != Some(path.as_ref());
        if stale {
            let preview = match self.current().map(|e| e.node.clone()) {
                None => Preview::Nothing,
                Some(node) if node.is_dir() => match self.listing_of(&node) {
                    Ok(l) => Preview::Directory(l),
                    Err(e) => Preview::Note(e.to_string()),
                },
                Some(node) => preview::of(&node),
            };
            self.preview = Some((path.unwrap_or_default(), preview));
        }
        &self.preview.as_ref().expect("set above").1
    }

    /// Tells the app where the list is drawn: pages are that tall, the mouse clicks there, and
    /// the scroll position follows the selection.
    pub fn set_list_area(&mut self, area: Rect) {
        self.list_area = area;
        let height = usize::from(area.height).max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        self.offset = self.offset.min(self.visible.len().saturating_sub(height));
    }

    fn page(&self) -> usize {
        usize::from(self.list_area.height).max(1)
    }

    // ----- events -----

    /// Handles one terminal event.
    pub fn handle(&mut self, event: Event) {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.key(key),
            Event::Mouse(mouse) => self.mouse(mouse),
            _ => {}
        }
    }

    /// Handles one key (press or repeat).
    pub fn key(&mut self, key: KeyEvent) {
        self.message = None;
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            // A second Ctrl-C at the question about staged changes leaves them.
            match self.mode {
                Mode::Confirm {
                    action: Action::Leave,
                    ..
                } => self.quit = true,
                _ => self.ask_leave(),
            }
            return;
        }
        match &mut self.mode {
            Mode::Browse => self.browse_key(key),
            Mode::Input { .. } => self.input_key(key),
            Mode::Confirm { .. } => self.confirm_key(key),
            Mode::Changes(_) => self.changes_key(key),
            Mode::Popup(popup) => {
                let page = usize::from(self.list_area.height).max(1);
                let last = popup.lines.len().saturating_sub(1);
                match key.code {
                    KeyCode::Up | KeyCode::Char('k') => {
                        popup.scroll = popup.scroll.saturating_sub(1)
                    }
                    KeyCode::Down | KeyCode::Char('j') => {
                        popup.scroll = (popup.scroll + 1).min(last)
                    }
                    KeyCode::PageUp => popup.scroll = popup.scroll.saturating_sub(page),
                    KeyCode::PageDown | KeyCode::Char(' ') => {
                        popup.scroll = (popup.scroll + page).min(last)
                    }
                    KeyCode::Home | KeyCode::Char('g') => popup.scroll = 0,
                    KeyCode::End | KeyCode::Char('G') => popup.scroll = last,
                    _ => self.mode = Mode::Browse,
                }
            }
        }
    }

    fn browse_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.move_by(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_by(1),
            KeyCode::PageUp => self.move_by(-(self.page() as isize)),
            KeyCode::PageDown => self.move_by(self.page() as isize),
            KeyCode::Home | KeyCode::Char('g') => self.select(0),
            KeyCode::End | KeyCode::Char('G') => self.select(self.visible.len().saturating_sub(1)),
            KeyCode::Right | KeyCode::Enter | KeyCode::Char('l') => self.open_selected(),
            KeyCode::Left | KeyCode::Backspace | KeyCode::Char('h') => self.climb(),
            KeyCode::Char('/') => {
                self.mode = Mode::Input {
                    prompt: Prompt::Filter,
                    text: self.filter.clone().unwrap_or_default(),
                }
            }
            KeyCode::Char('n') => self.next_match(true),
            KeyCode::Char('N') => self.next_match(false),
            KeyCode::Char('i') => self.show_info(),
            KeyCode::Char('x') => self.ask_extract(),
            KeyCode::Char('c') => {
                if let Some(path) = self.current().map(|e| e.node.path.clone()) {
                    self.say(format!("copied {path}"));
                    self.clipboard = Some(path);
                }
            }
            KeyCode::Char('e') | KeyCode::F(4) => self.ask_edit(),
            KeyCode::Char('d') | KeyCode::F(8) | KeyCode::Delete => self.ask_remove(),
            KeyCode::Char('m') | KeyCode::F(7) => self.ask(Prompt::Mkdir, String::new()),
            KeyCode::Char('r') | KeyCode::F(6) => self.ask_rename(),
            KeyCode::Char('u') => self.ask(Prompt::Upload, String::new()),
            KeyCode::Char('z') => self.revert_selected(),
            KeyCode::Char('s') => self.show_changes(),
            KeyCode::Char('w') => self.ask_commit(),
            KeyCode::Char(':') => {
                self.mode = Mode::Input {
                    prompt: Prompt::Command,
                    text: String::new(),
                }
            }
            KeyCode::Char('?') | KeyCode::F(1) => {
                self.mode = Mode::Popup(Popup {
                    title: "keys".into(),
                    lines: keys::help_lines(),
                    scroll: 0,
                })
            }
            KeyCode::Esc if self.job.is_some() => {
                if let Some(job) = self.job.take() {
                    self.fail(format!("extraction stopped: {}", job.summary()));
                }
            }
            KeyCode::Esc if self.filter.is_some() => self.set_filter(None),
            KeyCode::Esc | KeyCode::Char('q') => self.ask_leave(),
            _ => {}
        }
    }

    fn input_key(&mut self, key: KeyEvent) {
        let Mode::Input { prompt, text } = &mut self.mode else {
            return;
        };
        let prompt = *prompt;
        match key.code {
            KeyCode::Esc => {
                self.mode = Mode::Browse;
                self.note = None;
                if prompt == Prompt::Filter {
                    self.set_filter(None);
                }
                return;
            }
            KeyCode::Enter => {
                let text = std::mem::take(text);
                self.mode = Mode::Browse;
                self.note = None;
                match prompt {
                    Prompt::Filter => {
                        if text.is_empty() {
                            self.set_filter(None)
                        }
                    }
                    Prompt::Extract => self.start_extract(&text),
                    Prompt::Command => self.run_command(&text),
                    Prompt::Mkdir => self.mkdir(&text),
                    Prompt::Rename => self.rename(&text),
                    Prompt::Upload => self.upload(&text),
                    Prompt::Commit => self.commit = Some(text.trim().to_string()),
                }
                return;
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Tab if matches!(prompt, Prompt::Upload | Prompt::Extract | Prompt::Commit) => {
                let (completed, names) = super::host_path::complete(text);
                *text = completed;
                self.note = (!names.is_empty()).then(|| names.join("  "));
                return;
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
            _ => return,
        }
        if prompt == Prompt::Filter {
            let text = text.clone();
            self.set_filter((!text.is_empty()).then_some(text));
        }
    }

    fn mouse(&mut self, mouse: MouseEvent) {
        if !matches!(self.mode, Mode::Browse) {
            match mouse.kind {
                MouseEventKind::ScrollUp => self.key(KeyCode::Up.into()),
                MouseEventKind::ScrollDown => self.key(KeyCode::Down.into()),
                _ => {}
            }
            return;
        }
        match mouse.kind {
            MouseEventKind::ScrollUp => self.move_by(-(WHEEL_STEP as isize)),
            MouseEventKind::ScrollDown => self.move_by(WHEEL_STEP as isize),
            MouseEventKind::Down(MouseButton::Left) => {
                let a = self.list_area;
                let inside = mouse.column >= a.x
                    && mouse.column < a.x + a.width
                    && mouse.row >= a.y
                    && mouse.row < a.y + a.height;
                if !inside {
                    return;
                }
                let index = self.offset + usize::from(mouse.row - a.y);
                if index == self.selected {
                    self.open_selected();
                } else if index < self.visible.len() {
                    self.select(index);
                }
            }
            _ => {}
        }
    }

    /// Runs a slice of the extraction.
    pub fn tick(&mut self) {
        let Some(job) = self.job.as_mut() else {
            return;
        };
        job.step(TICK_BYTES);
        if job.finished() {
            let job = self.job.take().expect("checked above");
            if job.problems.is_empty() {
                self.say(job.summary());
            } else {
                self.fail(job.summary());
                self.mode = Mode::Popup(Popup {
                    title: "extraction problems".into(),
                    lines: job.problems,
                    scroll: 0,
                });
            }
        }
    }

    /// Hands the session back as the pane leaves it: the current directory is the one shown.
    pub fn leave(self) {
        let path = self.dir.path.clone();
        // The directory was resolved a moment ago; a failure leaves the old one in place.
        let _ = self.session.set_cwd(&path);
    }

    /// Lines written to stderr while the pane draws (caught by [`super::stderr`]): the last
    /// one goes to the status line, without the program's name, as an error; all of them are
    /// printed when the pane closes.
    pub fn note_stderr(&mut self, lines: Vec<String>) {
        let Some(last) = lines.last() else {
            return;
        };
        let text = last.strip_prefix("isofish: ").unwrap_or(last);
        let more = match lines.len() {
            1 => String::new(),
            n => format!(" ({} more lines)", n - 1),
        };
        self.fail(format!("{text}{more} [stderr, repeated on leaving]"));
    }

    // ----- actions -----

    fn say(&mut self, text: String) {
        self.message = Some(Message { text, error: false });
    }

    fn fail(&mut self, text: String) {
        self.message = Some(Message { text, error: true });
    }

    fn select(&mut self, index: usize) {
        self.selected = index.min(self.visible.len().saturating_sub(1));
    }

    fn move_by(&mut self, delta: isize) {
        let target = self.selected.saturating_add_signed(delta);
        self.select(target);
    }

    /// The listing of a directory, from the cache or read now.
    fn listing_of(&mut self, dir: &Node) -> crate::Result<Listing> {
        self.follow_session();
        if let Some(l) = self.cache.get(&dir.path) {
            return Ok(l.clone());
        }
        let l = listing::read(&self.session.vfs, dir)?;
        self.cache.insert(dir.path.clone(), l.clone());
        Ok(l)
    }

    /// Catches up with changes the pane did not make itself (a `:` command mounted, unmounted
    /// or edited something): when the session's generation moved, the cached listings are
    /// dropped and the nested images the pane mounted that are gone are forgotten.
    fn follow_session(&mut self) {
        let now = self.session.generation();
        if now == self.generation {
            return;
        }
        self.generation = now;
        self.cache.clear();
        self.read_marks();
        let vfs = &self.session.vfs;
        for (_, ids) in &mut self.auto_mounts {
            ids.retain(|&id| vfs.get(id).is_some());
        }
        self.auto_mounts.retain(|(_, ids)| !ids.is_empty());
    }

    /// Drops the cached listings the pane's own mount change at `mountpoint` affects: its own,
    /// everything below it, and its parent's (whose entry changes kind); the rest stays good.
    fn invalidate_around(&mut self, mountpoint: &str) {
        let parent = parent_of(mountpoint);
        self.cache
            .retain(|p, _| p != &parent && path::relative_to(p, mountpoint).is_none());
        self.generation = self.session.generation();
    }

    /// Shows directory `dir`, selecting the entry called `select` if there is one.
    fn enter(&mut self, dir: Node, select: Option<&[u8]>) {
        match self.listing_of(&dir) {
            Ok(l) => {
                self.listing = l;
                self.show(dir, select);
            }
            Err(e) => self.fail(e.to_string()),
        }
    }

    fn show(&mut self, dir: Node, select: Option<&[u8]>) {
        self.dir = dir;
        self.preview = None;
        self.filter = None;
        self.visible = (0..self.listing.len()).collect();
        self.offset = 0;
        self.selected = select
            .and_then(|name| self.listing.iter().position(|e| e.name == name))
            .unwrap_or(0);
    }

    fn set_filter(&mut self, filter: Option<String>) {
        let keep = self.current().map(|e| e.name.clone());
        match &filter {
            Some(text) => {
                let pattern = Pattern::new(text);
                self.visible = (0..self.listing.len())
                    .filter(|&i| pattern.matches(&self.listing[i].display))
                    .collect();
                self.last_pattern = Some(text.clone());
            }
            None => self.visible = (0..self.listing.len()).collect(),
        }
        self.filter = filter;
        self.selected = keep
            .and_then(|name| self.rows().position(|e| e.name == name))
            .unwrap_or(0);
    }

    fn next_match(&mut self, forward: bool) {
        let Some(text) = self.last_pattern.clone() else {
            self.fail("no filter yet: / starts one".into());
            return;
        };
        let pattern = Pattern::new(&text);
        let n = self.visible.len();
        let found = (1..=n)
            .map(|step| {
                if forward {
                    (self.selected + step) % n
                } else {
                    (self.selected + n - step % n) % n
                }
            })
            .find(|&i| pattern.matches(&self.listing[self.visible[i]].display));
        match found {
            Some(i) => self.selected = i,
            None => self.fail(format!("no entry matches {text}")),
        }
    }

    fn open_selected(&mut self) {
        let Some(entry) = self.current() else {
            return;
        };
        let mut node = entry.node.clone();
        if node.kind() == FileKind::Symlink {
            match self.session.resolve(&node.path) {
                Ok(target) => node = target,
                Err(e) => return self.fail(e.to_string()),
            }
        }
        if node.is_dir() {
            return self.enter(node, None);
        }
        if node.kind() != FileKind::File {
            return self.fail(format!("{}: not a file or directory", node.path));
        }
        match preview::probe(&node) {
            Err(e) => self.fail(e.to_string()),
            Ok(Content::Unknown) => {
                let (title, lines) = preview::viewer(&node);
                self.mode = Mode::Popup(Popup {
                    title,
                    lines,
                    scroll: 0,
                });
            }
            Ok(_) => self.mount_nested(&node.path),
        }
    }

    /// Runs a command on the session with its output captured, up to [`OUTPUT_LIMIT`] bytes:
    /// past that the command is stopped as by a closed pipe and the output says where it was cut.
    fn command(&mut self, name: &str, args: &[String]) -> (anyhow::Result<()>, Vec<u8>) {
        let mut out = Capped(Vec::new());
        let result = commands::run(
            &mut Ctx {
                session: self.session,
                out: &mut out,
                out_fd: None,
                tty: false,
            },
            name,
            args,
        );
        crate::aside::sweep();
        let mut bytes = out.0;
        if bytes.len() >= OUTPUT_LIMIT {
            bytes.extend_from_slice(
                format!(
                    "\n(output cut at {})\n",
                    preview::human(OUTPUT_LIMIT as u64)
                )
                .as_bytes(),
            );
            return (Ok(()), bytes);
        }
        (result, bytes)
    }

    /// Mounts the image at `path` over its own path (so it opens like a directory) and enters.
    fn mount_nested(&mut self, path: &str) {
        self.follow_session();
        match self
            .session
            .mount_loop(path, path, None, MountOptions::default())
        {
            Ok(ids) => self.auto_mounts.push((path.to_string(), ids)),
            Err(e) => return self.fail(format!("mount-loop {path}: {e}")),
        }
        self.invalidate_around(path);
        match self.session.resolve(path) {
            Ok(node) if node.is_dir() => self.enter(node, None),
            Ok(_) => self.fail(format!("{path}: mounted, but not as a directory")),
            Err(e) => self.fail(e.to_string()),
        }
    }

    /// Goes to the parent directory; leaving a nested image the browser mounted unmounts it.
    fn climb(&mut self) {
        let path = self.dir.path.clone();
        if path == "/" {
            return;
        }
        self.follow_session();
        if let Some(i) = self.auto_mounts.iter().rposition(|(p, _)| *p == path) {
            let (_, ids) = self.auto_mounts.remove(i);
            // The last mount made first: partitions of a disk image, in reverse.
            let mut left = Vec::new();
            for &id in ids.iter().rev() {
                if let Err(e) = self.session.unmount(id) {
                    self.fail(format!("umount {path}: {e}"));
                    left.insert(0, id);
                }
            }
            if !left.is_empty() {
                self.auto_mounts.insert(i, (path.clone(), left));
            }
            self.invalidate_around(&path);
        }
        match self.session.resolve(&parent_of(&path)) {
            Ok(parent) => self.enter(parent, Some(&last_name(&path))),
            Err(e) => self.fail(e.to_string()),
        }
    }

    fn show_info(&mut self) {
        let node = match self.current() {
            Some(e) => e.node.clone(),
            None => self.dir.clone(),
        };
        self.mode = Mode::Popup(Popup {
            title: format!("info: {}", escape_name(node.path.as_bytes())),
            lines: preview::info(self.session, &node),
            scroll: 0,
        });
    }

    fn ask_extract(&mut self) {
        if self.job.is_some() {
            return self.fail("an extraction is running (Esc stops it)".into());
        }
        if self.current().is_some() {
            self.mode = Mode::Input {
                prompt: Prompt::Extract,
                text: ".".into(),
            };
        }
    }

    pub(super) fn start_extract(&mut self, dest: &str) {
        let Some(entry) = self.current() else {
            return;
        };
        let dest = if dest.trim().is_empty() {
            "."
        } else {
            dest.trim()
        };
        if !Path::new(dest).exists() {
            self.mode = Mode::Confirm {
                question: format!("{dest}: no such host directory: make it? [y/N]"),
                action: Action::MakeHostDir(dest.to_string()),
            };
            return;
        }
        match Job::plan(&self.session.vfs, &entry.node, &entry.name, Path::new(dest)) {
            Ok(job) => {
                self.job = Some(job);
                self.tick();
            }
            Err(e) => self.fail(format!("{e:#}")),
        }
    }

    /// Runs one shell command from the current directory; the pane then follows the session
    /// (a `cd` moves it, mounts appear) and the output shows in a popup.
    fn run_command(&mut self, line: &str) {
        let Some(words) = shlex::split(line) else {
            return self.fail(format!("{line}: unbalanced quotes"));
        };
        let Some((name, args)) = words.split_first() else {
            return;
        };
        let select = self.current().map(|e| e.name.clone());
        let here = self.dir.path.clone();
        if let Err(e) = self.session.set_cwd(&here) {
            return self.fail(e.to_string());
        }
        let (result, out) = self.command(name, args);
        // What the command changed in the tree, the session's generation tells.
        self.follow_session();
        let cwd = self.session.cwd().to_string();
        let target = self
            .session
            .resolve(&cwd)
            .or_else(|_| self.session.resolve("/"));
        match target {
            Ok(node) => {
                let select = select.filter(|_| node.path == here);
                self.enter(node, select.as_deref());
            }
            Err(e) => return self.fail(e.to_string()),
        }
        let mut lines = preview::text_lines(&out);
        match result {
            Ok(()) if lines.is_empty() => return self.say(format!("{line}: done")),
            Ok(()) => self.say(format!("{line}: done")),
            Err(e) => {
                self.fail(format!("{e:#}"));
                if lines.is_empty() {
                    return;
                }
                lines.push(format!("error: {e:#}"));
            }
        }
        self.mode = Mode::Popup(Popup {
            title: format!(":{line}"),
            lines,
            scroll: 0,
        });
    }
}

/// A writer that takes [`OUTPUT_LIMIT`] bytes, then fails like a closed pipe.
struct Capped(Vec<u8>);

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = OUTPUT_LIMIT - self.0.len();
        if room == 0 {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        let n = buf.len().min(room);
        self.0.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The parent of an absolute, normalised path.
fn parent_of(path: &str) -> String {
    path::normalize(&format!("{path}/.."))
}

/// The last component of a path.
fn last_name(path: &str) -> Vec<u8> {
    path::components(path.as_bytes())
        .next_back()
        .unwrap_or_default()
        .to_vec()
}
