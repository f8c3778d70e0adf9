//! A command page (`commands/NAME.md`) rendered for reading: parsed with pulldown-cmark, laid
//! out as a man page is (section headings at the margin, text indented and wrapped to the
//! width, examples indented further and never wrapped, tables in columns), with headings, strong
//! text and inline code marked by terminal styles, or left as plain text for a pipe (inline
//! code then keeps its backquotes).

use nu_ansi_term::{Color, Style};
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// How the rendered text may mark things.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Look {
    /// No escape sequences at all (a pipe, a file).
    Plain,
    /// Bold, underline (a terminal with `NO_COLOR` set).
    Styled,
    /// Bold, underline and colour.
    Colored,
}

/// How far body text is indented from the headings.
const BODY: usize = 4;
/// How much further examples and other code are indented.
const CODE: usize = 4;
/// The marker `commands/*.md` examples carry for the docs test (a command expected to fail):
/// no use to a reader.
const FAILED_MARK: &str = "? failed";

/// Renders `markdown` for a screen `width` columns wide.
pub fn render(markdown: &str, width: usize, look: Look) -> String {
    let mut r = Renderer {
        look,
        width: width.max(20),
        out: String::new(),
        words: String::new(),
        marks: Vec::new(),
        lists: Vec::new(),
        item_prefix: None,
        code: None,
        table: None,
        quote: 0,
    };
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES);
    for event in parser {
        r.event(event);
    }
    let trimmed = r.out.trim_end().len();
    r.out.truncate(trimmed);
    r.out.push('\n');
    r.out
}

/// A style that is active over inline text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Heading,
    Strong,
    Emphasis,
}

struct Renderer {
    look: Look,
    width: usize,
    out: String,
    /// The inline text of the block being read, styled word by word.
    words: String,
    marks: Vec<Mark>,
    /// The open lists: the next number of an ordered one, `None` for bullets.
    lists: Vec<Option<u64>>,
    /// The bullet or number of a list item whose first line is not written yet.
    item_prefix: Option<String>,
    /// The lines of the code block being read, and whether it is a console example.
    code: Option<(String, bool)>,
    table: Option<Table>,
    /// How deep in block quotes.
    quote: usize,
}

/// A table being read: rows of cells, each cell its styled text and its width.
#[derive(Default)]
struct Table {
    rows: Vec<Vec<(String, usize)>>,
    in_head: bool,
}

impl Renderer {
    fn event(&mut self, event: Event) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => match &mut self.code {
                Some((lines, _)) => lines.push_str(&text),
                None => self.inline(&text, None),
            },
            Event::Code(text) => {
                let text = match self.look {
                    Look::Plain => format!("`{text}`"),
                    _ => text.to_string(),
                };
                let style = match self.look {
                    Look::Colored => Color::Cyan.normal(),
                    _ => Style::new().bold(),
                };
                self.inline(&text, Some(style));
            }
            Event::SoftBreak | Event::HardBreak => self.words.push(' '),
            Event::Rule => self.block(&"-".repeat(self.width.min(40))),
            _ => {}
        }
    }

    fn start(&mut self, tag: Tag) {
        match tag {
            Tag::Heading { .. } => self.marks.push(Mark::Heading),
            Tag::Strong => self.marks.push(Mark::Strong),
            Tag::Emphasis => self.marks.push(Mark::Emphasis),
            Tag::CodeBlock(kind) => {
                self.flush();
                let console = matches!(kind, CodeBlockKind::Fenced(ref l) if &**l == "console");
                self.code = Some((String::new(), console));
            }
            Tag::List(first) => {
                self.flush();
                self.lists.push(first);
            }
            Tag::Item => {
                self.flush();
                let prefix = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        format!("{}. ", *n - 1)
                    }
                    _ => "- ".to_string(),
                };
                self.item_prefix = Some(prefix);
            }
            Tag::BlockQuote(_) => {
                self.flush();
                self.quote += 1;
            }
            Tag::Table(_) => self.table = Some(Table::default()),
            Tag::TableHead => {
                if let Some(t) = &mut self.table {
                    t.in_head = true;
                    t.rows.push(Vec::new());
                }
            }
            Tag::TableRow => {
                if let Some(t) = &mut self.table {
                    t.rows.push(Vec::new());
                }
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(level) => {
                self.marks.pop();
                let text = std::mem::take(&mut self.words);
                let indent = if level <= HeadingLevel::H2 {
                    0
                } else {
                    BODY / 2
                };
                self.block(&format!("{}{}", " ".repeat(indent), text.trim()));
            }
            TagEnd::Strong | TagEnd::Emphasis => {
                self.marks.pop();
            }
            TagEnd::Paragraph => self.flush(),
            TagEnd::Item => {
                self.flush();
                self.item_prefix = None;
            }
            TagEnd::List(_) => {
                self.lists.pop();
                self.separate();
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.quote = self.quote.saturating_sub(1);
            }
            TagEnd::CodeBlock => {
                if let Some((lines, console)) = self.code.take() {
                    self.code_block(&lines, console);
                }
            }
            TagEnd::TableCell => {
                let text = std::mem::take(&mut self.words);
                let text = text.trim().to_string();
                let width = textwrap::core::display_width(&text);
                if let Some(row) = self.table.as_mut().and_then(|t| t.rows.last_mut()) {
                    row.push((text, width));
                }
            }
            TagEnd::TableHead => {
                if let Some(t) = &mut self.table {
                    t.in_head = false;
                }
            }
            TagEnd::Table => {
                if let Some(t) = self.table.take() {
                    self.table_block(&t);
                }
            }
            _ => {}
        }
    }

    /// Adds inline text, each word styled on its own so that a line break never falls inside
    /// a styled run (the indentation of the next line stays unstyled).
    fn inline(&mut self, text: &str, code: Option<Style>) {
        let head = self.table.as_ref().is_some_and(|t| t.in_head);
        let mut style = code.unwrap_or_default();
        for mark in &self.marks {
            style = match mark {
                Mark::Heading | Mark::Strong => style.bold(),
                Mark::Emphasis => style.underline(),
            };
        }
        if head {
            style = style.bold();
        }
        for (i, word) in text.split(' ').enumerate() {
            if i > 0 {
                self.words.push(' ');
            }
            if self.look == Look::Plain || style == Style::default() || word.is_empty() {
                self.words.push_str(word);
            } else {
                self.words.push_str(&style.paint(word).to_string());
            }
        }
    }

    /// The indentation of body text here (lists and quotes add to it).
    fn indent(&self) -> usize {
        BODY + 2 * self.lists.len().saturating_sub(1) + 2 * self.quote
    }

    /// Writes the pending inline text as a wrapped paragraph (or a list item's text).
    fn flush(&mut self) {
        let text = std::mem::take(&mut self.words);
        if text.trim().is_empty() {
            return;
        }
        let pad = " ".repeat(self.indent());
        let (first, rest) = match self.item_prefix.take() {
            Some(prefix) => (
                format!("{pad}{prefix}"),
                format!("{pad}{}", " ".repeat(prefix.len())),
            ),
            None => (pad.clone(), pad),
        };
        let options = textwrap::Options::new(self.width)
            .initial_indent(&first)
            .subsequent_indent(&rest)
            .break_words(false)
            .word_splitter(textwrap::WordSplitter::NoHyphenation);
        let filled = textwrap::fill(text.trim(), options);
        if self.lists.is_empty() {
            self.block(&filled);
        } else {
            self.out.push_str(&filled);
            self.out.push('\n');
        }
    }

    /// Writes a block of lines followed by one blank line.
    fn block(&mut self, lines: &str) {
        self.out.push_str(lines);
        self.out.push('\n');
        self.separate();
    }

    /// Ends a block with one blank line (never two).
    fn separate(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// An example or a synopsis: the lines as they are, indented further than the text.
    fn code_block(&mut self, lines: &str, console: bool) {
        let pad = " ".repeat(self.indent() + CODE);
        let mut shown = String::new();
        for line in lines.trim_end().lines() {
            if console && line == FAILED_MARK {
                continue;
            }
            let line = match (self.look, line.strip_prefix("$ ")) {
                (Look::Plain, _) | (_, None) => line.to_string(),
                (_, Some(_)) if console => Style::new().bold().paint(line).to_string(),
                _ => line.to_string(),
            };
            if line.is_empty() {
                shown.push('\n');
            } else {
                shown.push_str(&format!("{pad}{line}\n"));
            }
        }
        self.block(shown.trim_end_matches('\n'));
    }

    /// A table: its columns aligned, the last one wrapped to the width.
    fn table_block(&mut self, table: &Table) {
        let columns = table.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; columns];
        for row in &table.rows {
            for (i, (_, w)) in row.iter().enumerate() {
                widths[i] = widths[i].max(*w);
            }
        }
        let indent = self.indent();
        let lead: usize = indent
            + widths.iter().take(columns.saturating_sub(1)).sum::<usize>()
            + 2 * columns.saturating_sub(1);
        let mut text = String::new();
        for row in &table.rows {
            let mut line = " ".repeat(indent);
            for (i, (cell, w)) in row.iter().enumerate() {
                if i + 1 == columns {
                    let rest = " ".repeat(lead);
                    let options = textwrap::Options::new(self.width.max(lead + 20))
                        .initial_indent(&line)
                        .subsequent_indent(&rest)
                        .break_words(false)
                        .word_splitter(textwrap::WordSplitter::NoHyphenation);
                    line = textwrap::fill(cell, options);
                } else {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(widths[i] - w + 2));
                }
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        self.block(text.trim_end_matches('\n'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "# cat\n\nPrint a file's contents.\n\n## Synopsis\n\n    cat PATH\n\n\
        ## Description\n\nWrites the whole contents of the file at `PATH` to the output, byte for \
        byte (binary files too). Symlinks are followed.\n\n- one item\n- two\n\n\
        | Keys | What |\n| --- | --- |\n| g G | first, last |\n| q | quit |\n\n\
        ## Examples\n\n```console\n$ isofish cat /x\n? failed\nisofish: error: /x: no such file\n```\n";

    #[test]
    fn plain_text_has_no_markup_and_fits_the_width() {
        let text = render(PAGE, 40, Look::Plain);
        assert!(!text.contains('#') && !text.contains("```") && !text.contains('\x1b'));
        assert!(!text.contains(FAILED_MARK) && !text.contains('|'));
        assert!(text.lines().all(|l| l.chars().count() <= 40), "{text}");
        assert!(text
            .starts_with("cat\n\n    Print a file's contents.\n\nSynopsis\n\n        cat PATH\n"));
        assert!(text.contains("    - one item\n    - two\n"), "{text}");
        assert!(
            text.contains("    g G   first, last\n    q     quit\n"),
            "{text}"
        );
        assert!(text.contains("        $ isofish cat /x\n        isofish: error"));
        assert!(text.contains("`PATH`"));
    }

    #[test]
    fn a_terminal_gets_bold_headings_and_marked_code() {
        let text = render(PAGE, 80, Look::Styled);
        let bold = |s: &str| Style::new().bold().paint(s).to_string();
        assert!(text.contains(&bold("Synopsis")));
        assert!(text.contains(&format!("at {} to", bold("PATH"))));
        let colored = render(PAGE, 80, Look::Colored);
        assert!(colored.contains(&Color::Cyan.paint("PATH").to_string()));
    }
}
