//! The man page `isofish.1` (`isofish --man-page`): clap_mangen's sections from the flag
//! table, and a COMMANDS section listing every shell command by group with its synopsis and
//! the summary line of its page (`commands/NAME.md`).

use std::io::{self, Write};

use clap::CommandFactory;
use clap_mangen::roff::{bold, roman, Inline, Roff};

use super::cli::Cli;
use crate::commands::help;

/// Writes the man page as roff.
pub fn write_man_page(out: &mut dyn Write) -> io::Result<()> {
    let man = clap_mangen::Man::new(Cli::command())
        .manual("isofish manual")
        .source(format!("isofish {}", env!("CARGO_PKG_VERSION")));
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    commands_section().to_writer(out)?;
    see_also_section().to_writer(out)
}

fn commands_section() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    roff.text([roman(
        "Commands follow the options on the command line, separated by ':' words; a script \
         (-f) or the interactive prompt takes one a line. 'help COMMAND' shows a command's \
         whole page.",
    )]);
    for (title, commands) in help::groups() {
        roff.control("SS", [title]);
        for c in commands {
            roff.control("TP", []);
            let synopsis = c.synopsis();
            let rest = synopsis.strip_prefix(c.name).unwrap_or_default();
            roff.text([bold(c.name), roman(rest)]);
            roff.text(marked(c.summary()));
            if !c.aliases.is_empty() {
                roff.control("br", []);
                roff.text([roman(format!("Alias: {}.", c.aliases.join(", ")))]);
            }
        }
    }
    roff
}

/// Markdown's inline code (`` `word` ``) in bold, the rest as it is.
fn marked(text: &str) -> Vec<Inline> {
    text.split('`')
        .enumerate()
        .filter(|(_, part)| !part.is_empty())
        .map(|(i, part)| match i % 2 {
            1 => bold(part),
            _ => roman(part),
        })
        .collect()
}

fn see_also_section() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["SEE ALSO"]);
    roff.text([
        roman("The page of each command: "),
        bold("isofish help COMMAND"),
        roman(". Shell completion scripts: "),
        bold("isofish completions bash|zsh|fish"),
        roman(". "),
        bold("guestfish"),
        roman("(1), "),
        bold("xorriso"),
        roman("(1)."),
    ]);
    roff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_code_is_bold() {
        let roff = |inlines: Vec<Inline>| {
            let mut r = Roff::new();
            r.text(inlines);
            r.to_roff()
        };
        assert_eq!(
            roff(marked("as `isoinfo -d` does")),
            roff(vec![roman("as "), bold("isoinfo -d"), roman(" does")])
        );
    }
}
