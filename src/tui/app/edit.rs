//! The browser's editing keys: edit a file in the user's editor, remove, make a directory,
//! rename or move, upload a host file, revert, the list of staged changes, commit. Each runs
//! the shell command that does the same (`edit`, `rm-rf`, `mkdir`, `mv`, `upload`, `revert`,
//! `changes`, `commit`) on the session, so the pane stages in the same overlay and a `changes`
//! after leaving it shows what it did. A read-only session refuses every one of them in the
//! status line. Also the one-key questions the pane asks ([`Action`]): before a removal, before
//! leaving `isofish --tui` with changes staged, before making the host directory `x` names.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::{last_name, parent_of, Action, App, ChangeList, Mode, Prompt};
use crate::commands::changes;
use crate::tui::extract::count;
use crate::tui::listing;
use crate::vfs::{path, Node};

/// Entries counted below a directory the pane asks to remove, at most.
const COUNT_LIMIT: usize = 100_000;

impl App<'_> {
    /// Refuses an editing key in a read-only session, saying why; true when refused.
    fn refused(&mut self, what: &str) -> bool {
        match self.session.refuse_readonly(what) {
            Ok(()) => false,
            Err(e) => {
                self.fail(format!("{e}: {what} is an editing key"));
                true
            }
        }
    }

    /// Opens prompt `prompt` with `text` typed in, unless the session is read-only.
    pub(super) fn ask(&mut self, prompt: Prompt, text: String) {
        let key = match prompt {
            Prompt::Mkdir => "m",
            Prompt::Rename => "r",
            Prompt::Upload => "u",
            Prompt::Commit => "w",
            _ => "",
        };
        if self.refused(key) {
            return;
        }
        self.mode = Mode::Input { prompt, text };
    }

    /// Reads the staged letters of the session's entries.
    pub(super) fn read_marks(&mut self) {
        self.marks = match changes::marks(self.session) {
            Ok(marks) => marks.into_iter().collect(),
            Err(e) => {
                self.fail(format!("changes: {e:#}"));
                Default::default()
            }
        };
    }

    /// Runs shell command `name` from the directory shown; then shows the directory again
    /// (or, when it is gone, the nearest one above), selecting `select`, or the entry selected
    /// before. True when the command succeeded; its error is in the status line otherwise.
    fn act(&mut self, name: &str, args: &[String], select: Option<Vec<u8>>) -> bool {
        let here = self.dir.path.clone();
        let select = select.or_else(|| self.current().map(|e| e.name.clone()));
        if let Err(e) = self.session.set_cwd(&here) {
            self.fail(e.to_string());
            return false;
        }
        let (result, _) = self.command(name, args);
        self.cache.clear();
        self.generation = self.session.generation();
        self.read_marks();
        let mut dir = here;
        let node = loop {
            match self.session.resolve(&dir) {
                Ok(node) if node.is_dir() => break Some(node),
                _ if dir == "/" => break None,
                _ => dir = parent_of(&dir),
            }
        };
        if let Some(node) = node {
            self.enter(node, select.as_deref());
        }
        match result {
            Ok(()) => true,
            Err(e) => {
                self.fail(format!("{e:#}"));
                false
            }
        }
    }

    /// The selected entry's session path, or a message that there is none.
    fn selection(&mut self) -> Option<Node> {
        let node = self.current().map(|e| e.node.clone());
        if node.is_none() {
            self.fail("nothing selected".into());
        }
        node
    }

    // ----- e: the editor -----

    pub(super) fn ask_edit(&mut self) {
        if self.refused("e") {
            return;
        }
        let Some(node) = self.selection() else { return };
        if node.is_dir() {
            return self.fail(format!("{}: a directory: e edits a file", node.path));
        }
        self.edit = Some(node.path);
    }

    /// The file `e` asked to edit, taken once: the terminal is handed to the editor, then
    /// [`App::finish_edit`] runs it.
    pub fn take_edit(&mut self) -> Option<String> {
        self.edit.take()
    }

    /// Runs `edit PATH` (the editor owns the terminal meanwhile) and says what it staged.
    pub fn finish_edit(&mut self, path: &str) {
        let before = self.session.generation();
        if self.act("edit", &[path.to_string()], None) {
            match self.session.generation() == before {
                true => self.say(format!("{path}: unchanged, nothing staged")),
                false => self.say(format!("{path}: edited, staged (s lists, w commits)")),
            }
        }
    }

    // ----- d, m, r, u, z -----

    pub(super) fn ask_remove(&mut self) {
        if self.refused("d") {
            return;
        }
        let Some(node) = self.selection() else { return };
        let question = match node.is_dir() {
            false => format!("remove {}? [y/N]", node.path),
            true => match count_below(self, &node) {
                Some(n) => format!(
                    "remove {}/ and the {} in it? [y/N]",
                    node.path,
                    count(n as u64, "entry", "entries")
                ),
                None => format!(
                    "remove {}/ and the more than {COUNT_LIMIT} entries in it? [y/N]",
                    node.path
                ),
            },
        };
        self.mode = Mode::Confirm {
            question,
            action: Action::Remove(node.path),
        };
    }

    /// Marks the pane as the end of the session (`isofish --tui`): leaving it with changes
    /// staged asks whether to commit them, as the shell's `quit` does.
    pub fn ends_session(&mut self) {
        self.last = true;
    }

    /// Leaves the pane, or, when that would drop staged changes, asks first.
    pub(super) fn ask_leave(&mut self) {
        if !self.last || self.session.readonly || self.session.pending() == 0 {
            self.quit = true;
            return;
        }
        self.mode = Mode::Confirm {
            question: "changes not committed to the image: commit, discard or cancel? [c/d/a]"
                .into(),
            action: Action::Leave,
        };
    }

    pub(super) fn confirm_key(&mut self, key: KeyEvent) {
        let Mode::Confirm { action, .. } = std::mem::replace(&mut self.mode, Mode::Browse) else {
            return;
        };
        let answer = match key.code {
            KeyCode::Char(c) => c.to_ascii_lowercase(),
            _ => 'a',
        };
        match (action, answer) {
            (Action::Remove(path), 'y') => {
                if self.act("rm-rf", std::slice::from_ref(&path), None) {
                    self.say(format!("removed {path}"));
                }
            }
            (Action::Remove(path), _) => self.say(format!("{path}: kept")),
            (Action::MakeHostDir(dir), 'y') => match std::fs::create_dir_all(&dir) {
                Ok(()) => self.start_extract(&dir),
                Err(e) => self.fail(format!("{dir}: {e}")),
            },
            (Action::MakeHostDir(dir), _) => {
                self.say(format!("{dir}: not made, nothing extracted"))
            }
            (Action::Leave, 'c') => {
                self.finish_commit("");
                self.quit = !self.message.as_ref().is_some_and(|m| m.error);
            }
            (Action::Leave, 'd') => self.quit = true,
            (Action::Leave, _) => self.say("staying: nothing committed, nothing dropped".into()),
        }
    }

    pub(super) fn mkdir(&mut self, name: &str) {
        if name.is_empty() {
            return;
        }
        let made = path::normalize(&path::absolute(&self.dir.path, name));
        if self.act("mkdir", std::slice::from_ref(&made), Some(last_name(&made))) {
            self.say(format!("{made}/: made, staged"));
        }
    }

    pub(super) fn ask_rename(&mut self) {
        if let Some(e) = self.current() {
            let name = String::from_utf8_lossy(&e.name).into_owned();
            self.ask(Prompt::Rename, name);
        }
    }

    pub(super) fn rename(&mut self, to: &str) {
        let Some(node) = self.current().map(|e| e.node.clone()) else {
            return;
        };
        if to.is_empty() {
            return;
        }
        let dest = path::absolute(&self.dir.path, to);
        let moved = crate::commands::tree_edit::destination(self.session, &node.path, &dest);
        if self.act("mv", &[node.path.clone(), dest], Some(last_name(&moved))) {
            self.say(format!("{} -> {moved}: staged", node.path));
        }
    }

    pub(super) fn upload(&mut self, host: &str) {
        let host = host.trim();
        let Some(name) = std::path::Path::new(host).file_name() else {
            return self.fail(format!("{host}: names no host file"));
        };
        let name = name.to_string_lossy().into_owned();
        let dest = path::child(&self.dir.path, name.as_bytes());
        if self.act(
            "upload",
            &[host.to_string(), dest.clone()],
            Some(name.into()),
        ) {
            self.say(format!("{host} -> {dest}: staged"));
        }
    }

    pub(super) fn revert_selected(&mut self) {
        if self.refused("z") {
            return;
        }
        let Some(node) = self.selection() else { return };
        self.revert(&node.path);
    }

    fn revert(&mut self, path: &str) {
        if self.act("revert", &[path.to_string()], None) {
            self.say(format!("{path}: staged changes reverted"));
        }
    }

    // ----- s: the staged changes -----

    pub(super) fn show_changes(&mut self) {
        let mut out = Vec::new();
        let mut paths = Vec::new();
        if let Err(e) = changes::list(self.session, false, &mut out, &mut paths) {
            return self.fail(format!("changes: {e:#}"));
        }
        if paths.is_empty() {
            return self.say("nothing staged".into());
        }
        let lines = String::from_utf8_lossy(&out)
            .lines()
            .map(str::to_string)
            .collect();
        let selected = paths.iter().position(Option::is_some).unwrap_or(0);
        self.mode = Mode::Changes(ChangeList {
            lines,
            paths,
            selected,
        });
    }

    pub(super) fn changes_key(&mut self, key: KeyEvent) {
        let Mode::Changes(list) = &mut self.mode else {
            return;
        };
        let last = list.lines.len().saturating_sub(1);
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => list.selected = list.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => list.selected = (list.selected + 1).min(last),
            KeyCode::Home | KeyCode::Char('g') => list.selected = 0,
            KeyCode::End | KeyCode::Char('G') => list.selected = last,
            KeyCode::Enter | KeyCode::Char('z') => {
                let Some(path) = list.paths.get(list.selected).cloned().flatten() else {
                    return;
                };
                if key.code == KeyCode::Enter {
                    self.mode = Mode::Browse;
                    return self.jump(&path);
                }
                if self.refused("z") {
                    return;
                }
                self.revert(&path);
                let message = self.message.take();
                self.show_changes();
                self.message = message;
            }
            _ => self.mode = Mode::Browse,
        }
    }

    /// Shows the directory of session path `path`, selecting it when it is there.
    fn jump(&mut self, to: &str) {
        match self.session.resolve(&parent_of(to)) {
            Ok(dir) if dir.is_dir() => self.enter(dir, Some(&last_name(to))),
            Ok(dir) => self.fail(format!("{}: not a directory", dir.path)),
            Err(e) => self.fail(e.to_string()),
        }
    }

    // ----- w: commit -----

    pub(super) fn ask_commit(&mut self) {
        if self.refused("w") {
            return;
        }
        let (way, rebuilds) = changes::commit_way(self.session, false);
        let rebuilds = match rebuilds.is_empty() {
            true => String::new(),
            false => format!(" ({})", rebuilds.join("; ")),
        };
        self.note = Some(format!(
            "{} staged; Enter: {way}{rebuilds}; or a new image's path (Tab completes)",
            self.staged_count()
        ));
        self.ask(Prompt::Commit, String::new());
    }

    /// Where `w` asked to commit, taken once: the terminal is given back to the shell for
    /// the commit's progress bar, then [`App::finish_commit`] runs it.
    pub fn take_commit(&mut self) -> Option<String> {
        self.commit.take()
    }

    /// Runs `commit` (to `to`, or back into the image when it is empty) and says how it went.
    pub fn finish_commit(&mut self, to: &str) {
        let (way, _) = changes::commit_way(self.session, false);
        let args: Vec<String> = match to {
            "" => Vec::new(),
            path => vec![path.to_string()],
        };
        if self.act("commit", &args, None) {
            match to {
                "" => self.say(format!("committed into the image ({way})")),
                path => self.say(format!("committed to {path}")),
            }
        }
    }
}

/// The entries below directory `dir` (not counting what is mounted below it), or `None` past
/// [`COUNT_LIMIT`].
fn count_below(app: &App, dir: &Node) -> Option<usize> {
    let mut count = 0;
    let mut todo = vec![dir.clone()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = listing::read(&app.session.vfs, &d) else {
            continue;
        };
        for e in entries.iter() {
            count += 1;
            if count > COUNT_LIMIT {
                return None;
            }
            if e.node.is_dir() && !e.mountpoint {
                todo.push(e.node.clone());
            }
        }
    }
    Some(count)
}
