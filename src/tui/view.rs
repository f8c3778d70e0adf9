//! Drawing the browser with ratatui: the directory list on the left, the preview on the right
//! (hidden when the terminal is narrower than [`SPLIT_WIDTH`]), the status line, the hint or
//! prompt line, and popups (help, info, command output, file viewer). Only the rows that fit
//! are turned into widgets, so a directory of any size draws in the same time. Nothing from
//! an image reaches the terminal raw: names and paths are escaped as `ls -b` does, and every
//! other text drawn has its control characters escaped ([`escape_controls`]).

use std::borrow::Cow;

use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, LineGauge, Paragraph};
use ratatui::Frame;

use crate::commands::format::{escape_controls, escape_name};

use super::app::{App, ChangeList, Mode, Popup};
use super::keys::HINT;
use super::listing::Entry;
use super::preview::{self, card_lines, human, Preview};

/// Below this width the preview pane is left out.
pub const SPLIT_WIDTH: u16 = 60;

/// The styles, with or without colour (`NO_COLOR` set and not empty means without: reverse
/// video and bold still mark the selection and directories).
#[derive(Clone, Copy, Debug)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to something.
    pub fn from_env() -> Self {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(&self, style: Style, color: Color) -> Style {
        if self.color {
            style.fg(color)
        } else {
            style
        }
    }

    fn entry(&self, e: &Entry) -> Style {
        let base = Style::new();
        if e.mountpoint {
            self.fg(base.add_modifier(Modifier::BOLD), Color::Magenta)
        } else if e.node.is_dir() {
            self.fg(base.add_modifier(Modifier::BOLD), Color::Blue)
        } else if e.marker() == "@" {
            self.fg(base, Color::Cyan)
        } else {
            base
        }
    }

    fn selected(&self) -> Style {
        if self.color {
            Style::new().bg(Color::Blue).fg(Color::White)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    fn status(&self) -> Style {
        if self.color {
            Style::new().bg(Color::DarkGray).fg(Color::White)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    fn error(&self) -> Style {
        if self.color {
            Style::new().bg(Color::Red).fg(Color::White)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    fn dim(&self) -> Style {
        self.fg(Style::new(), Color::DarkGray)
    }
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &mut App, theme: &Theme) {
    let area = frame.area();
    let [body, status, bottom] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    if area.width >= SPLIT_WIDTH {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)])
                .areas(body);
        draw_list(frame, app, theme, left);
        draw_preview(frame, app, theme, right);
    } else {
        draw_list(frame, app, theme, body);
    }
    draw_status(frame, app, theme, status);
    draw_bottom(frame, app, theme, bottom);
    match app.mode() {
        Mode::Popup(popup) => draw_popup(frame, popup, theme, body),
        Mode::Changes(list) => draw_changes(frame, list, theme, body),
        _ => {}
    }
}

/// `name/` padded, then the size column when there is room.
fn row_text(e: &Entry, width: usize) -> String {
    let name = format!("{}{}", e.display, e.marker());
    let size = if e.mountpoint {
        "mounted".to_string()
    } else if e.node.is_dir() {
        String::new()
    } else {
        human(e.node.meta().size)
    };
    if width < 24 {
        return truncate(&name, width);
    }
    let name_width = width - 11;
    format!("{:<name_width$} {size:>10}", truncate(&name, name_width))
}

/// `text` with its control characters escaped ([`escape_controls`]): messages and file text
/// that may hold bytes from the image. Names already escaped pass unchanged.
fn safe(text: &str) -> Cow<'_, str> {
    escape_controls(text.as_bytes())
}

/// A session path as the pane shows it: escaped as its names are.
fn shown_path(path: &str) -> Cow<'_, str> {
    escape_name(path.as_bytes())
}

/// The first `width` characters of `s` made [`safe`], with `…` when cut.
fn truncate(s: &str, width: usize) -> String {
    let s = safe(s);
    if s.chars().count() <= width {
        s.into_owned()
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn draw_list(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let path = shown_path(&app.dir().path);
    let title = match app.filter() {
        Some(f) => format!("{path} [/{f}]"),
        None => path.into_owned(),
    };
    let block =
        Block::bordered().title(truncate(&title, usize::from(area.width.saturating_sub(2))));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    app.set_list_area(inner);
    let width = usize::from(inner.width);
    let selected = app.selected();
    // A column of staged letters (A, M, R, m) when an entry shown has one.
    let shown: Vec<(usize, &Entry)> = app
        .rows()
        .enumerate()
        .skip(app.offset())
        .take(usize::from(inner.height))
        .collect();
    let marked = shown.iter().any(|(_, e)| app.mark(&e.node.path).is_some());
    let lines: Vec<Line> = shown
        .iter()
        .map(|&(i, e)| {
            let mark = app.mark(&e.node.path);
            let style = match (i == selected, mark) {
                (true, _) => theme.selected(),
                (false, Some(_)) => theme.fg(theme.entry(e), Color::Yellow),
                (false, None) => theme.entry(e),
            };
            let mut gutter = String::from(if i == selected { "> " } else { "  " });
            if marked {
                gutter.push(mark.unwrap_or(' '));
                gutter.push(' ');
            }
            let room = width.saturating_sub(gutter.chars().count());
            Line::styled(format!("{gutter}{}", row_text(e, room)), style)
        })
        .collect();
    let lines = if lines.is_empty() {
        let what = if app.total() == 0 {
            "(empty directory)"
        } else {
            "(nothing matches the filter)"
        };
        vec![Line::styled(what, theme.dim())]
    } else {
        lines
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_preview(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let title = app
        .current()
        .map(|e| format!("{}{}", e.display, e.marker()))
        .unwrap_or_default();
    let height = usize::from(area.height.saturating_sub(2));
    let (kind, lines): (&str, Vec<Line>) = match app.preview() {
        Preview::Nothing => ("", Vec::new()),
        Preview::Directory(entries) if entries.is_empty() => (
            "directory",
            vec![Line::styled("(empty directory)", theme.dim())],
        ),
        Preview::Directory(entries) => (
            "directory",
            entries
                .iter()
                .take(height)
                .map(|e| Line::styled(format!("{}{}", e.display, e.marker()), theme.entry(e)))
                .collect(),
        ),
        Preview::Text(text) if text.is_empty() => {
            ("text", vec![Line::styled("(empty file)", theme.dim())])
        }
        Preview::Text(text) => ("text", plain(text, height)),
        Preview::Hex(hex) => ("hex", plain(hex, height)),
        Preview::Card(rows) => ("image", plain(&card_lines(rows), height)),
        Preview::Note(note) => ("", vec![Line::styled(safe(note).into_owned(), theme.dim())]),
    };
    let title = if kind.is_empty() {
        title
    } else {
        format!("{title} ({kind})")
    };
    let block =
        Block::bordered().title(truncate(&title, usize::from(area.width.saturating_sub(2))));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(lines), inner);
}

fn plain(lines: &[String], height: usize) -> Vec<Line<'static>> {
    lines
        .iter()
        .take(height)
        .map(|l| Line::raw(safe(l).into_owned()))
        .collect()
}

/// `image │ mount │ path │ size │ position`; the image and then the mount are left out when
/// the line would not fit in `width`.
fn context_line(app: &App, width: usize) -> String {
    let session = app.session();
    let here = app
        .current()
        .map(|e| e.node.path.clone())
        .unwrap_or_else(|| app.dir().path.clone());
    let mut optional = Vec::new();
    if let Some(m) = preview::mount_of(session.vfs.mounts(), &here) {
        let image = session
            .drives()
            .iter()
            .find(|d| d.device == m.device)
            .and_then(|d| d.path.file_name())
            .map(|n| n.to_string_lossy().into_owned());
        optional.extend(image);
        optional.push(match m.device == m.mountpoint {
            // An image mounted over its own path (Enter on it): said once.
            true => format!(
                "{} image {}, opened in place",
                m.fs.type_name(),
                m.mountpoint
            ),
            false => format!("{} on {} ({})", m.device, m.mountpoint, m.fs.type_name()),
        });
    }
    let mut parts = vec![shown_path(&here).into_owned()];
    if let Some(e) = app.current() {
        if !e.node.is_dir() {
            parts.push(human(e.node.meta().size));
        }
    }
    let rows = app.rows().len();
    let position = if rows == 0 { 0 } else { app.selected() + 1 };
    parts.push(match app.filter() {
        Some(f) => format!("{position}/{rows} of {} matching /{f}", app.total()),
        None => format!("{position}/{rows}"),
    });
    if app.staged_count() > 0 {
        parts.push(format!("{} staged", app.staged_count()));
    }
    let mut line = parts.join(" │ ");
    while let Some(part) = optional.pop() {
        let longer = format!("{part} │ {line}");
        if longer.chars().count() > width {
            break;
        }
        line = longer;
    }
    line
}

fn draw_status(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let (text, style) = match (app.message(), app.job()) {
        (Some(m), _) => (
            m.text.clone(),
            if m.error {
                theme.error()
            } else {
                theme.status()
            },
        ),
        (None, Some(job)) => (
            format!("extracting {}: {}", job.title, job.progress()),
            theme.status(),
        ),
        (None, None) => (
            match (app.mode(), app.note()) {
                (Mode::Input { .. }, Some(note)) => note.to_string(),
                _ => context_line(app, usize::from(area.width).saturating_sub(1)),
            },
            theme.status(),
        ),
    };
    let text = format!(
        " {}",
        truncate(&text, usize::from(area.width).saturating_sub(1))
    );
    frame.render_widget(Paragraph::new(text).style(style), area);
}

fn draw_bottom(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    if let Mode::Input { prompt, text } = app.mode() {
        let line = Line::from(vec![
            Span::styled(prompt.label(), theme.dim()),
            Span::raw(text.as_str()),
        ]);
        let x = area.x + (prompt.label().chars().count() + text.chars().count()) as u16;
        frame.render_widget(Paragraph::new(line), area);
        frame.set_cursor_position(Position::new(x.min(area.right().saturating_sub(1)), area.y));
        return;
    }
    if let Mode::Confirm { question, .. } = app.mode() {
        let text = truncate(question, usize::from(area.width));
        let x = area.x + text.chars().count() as u16;
        frame.render_widget(Paragraph::new(text).style(theme.error()), area);
        frame.set_cursor_position(Position::new(x.min(area.right().saturating_sub(1)), area.y));
        return;
    }
    if let Some(job) = app.job() {
        let ratio = if job.bytes_total == 0 {
            1.0
        } else {
            job.bytes_done as f64 / job.bytes_total as f64
        };
        let gauge = LineGauge::default()
            .ratio(ratio.clamp(0.0, 1.0))
            .label("Esc stops ")
            .filled_style(theme.fg(Style::new(), Color::Green))
            .unfilled_style(theme.dim());
        frame.render_widget(gauge, area);
        return;
    }
    frame.render_widget(
        Paragraph::new(truncate(HINT, usize::from(area.width))).style(theme.dim()),
        area,
    );
}

/// The box popups are drawn in, over most of the panes, cleared, with `title` and `hint`.
fn popup_box(frame: &mut Frame, title: &str, hint: &str, theme: &Theme, body: Rect) -> Rect {
    let width = (body.width * 9 / 10).max(body.width.min(30));
    let height = (body.height * 9 / 10).max(body.height.min(5));
    let area = Rect::new(
        body.x + (body.width - width) / 2,
        body.y + (body.height - height) / 2,
        width,
        height,
    );
    let block = Block::bordered()
        .title(truncate(title, usize::from(width.saturating_sub(2))))
        .title_bottom(Line::styled(hint.to_string(), theme.dim()));
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    inner
}

fn draw_popup(frame: &mut Frame, popup: &Popup, theme: &Theme, body: Rect) {
    let inner = popup_box(frame, &popup.title, "j/k scroll, q close", theme, body);
    let lines: Vec<Line> = popup
        .lines
        .iter()
        .skip(popup.scroll)
        .take(usize::from(inner.height))
        .map(|l| Line::raw(safe(l)))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_changes(frame: &mut Frame, list: &ChangeList, theme: &Theme, body: Rect) {
    let hint = "Enter go to, z revert, q close";
    let inner = popup_box(frame, "staged changes", hint, theme, body);
    let height = usize::from(inner.height).max(1);
    let offset = (list.selected + 1).saturating_sub(height);
    let lines: Vec<Line> = list
        .lines
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, l)| match i == list.selected {
            true => Line::styled(safe(l), theme.selected()),
            false => Line::raw(safe(l)),
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
