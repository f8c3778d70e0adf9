//! The regular expressions of `grep` and its variants: POSIX basic (`grep`) and extended
//! (`grep -E`, `egrep`) regular expressions and fixed strings (`grep -F`, `fgrep`), translated
//! as GNU grep reads them into the syntax of the `regex` crate, whose matcher runs in time
//! linear in the line (no backtracking), over bytes. A compiled pattern bigger than
//! [`SIZE_LIMIT`] is refused with an error instead of taking the memory.

use anyhow::{anyhow, bail};

/// How a pattern is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// POSIX basic regular expressions (`\(`, `\{`, `\|`, `\+`, `\?` are the operators).
    Basic,
    /// POSIX extended regular expressions (`(`, `{`, `|`, `+`, `?` are the operators).
    Extended,
    /// Fixed strings, no operators at all.
    Fixed,
}

/// The most memory a compiled pattern (and its lazy DFA) may take.
pub const SIZE_LIMIT: usize = 8 << 20;

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Regex(regex::bytes::Regex);

impl Regex {
    /// Compiles `pattern` read as `syntax`, ignoring ASCII case when `ignore_case`. As in
    /// grep, a pattern with newlines is one pattern per line, any of which may match.
    pub fn new(pattern: &str, syntax: Syntax, ignore_case: bool) -> anyhow::Result<Regex> {
        let alternatives = pattern
            .split('\n')
            .map(|p| match syntax {
                Syntax::Fixed => Ok(regex::escape(p)),
                _ => translate(p, syntax == Syntax::Extended),
            })
            .collect::<anyhow::Result<Vec<String>>>()
            .map_err(|e| anyhow!("{pattern}: {e}"))?;
        let joined = match alternatives.as_slice() {
            [one] => one.clone(),
            many => many
                .iter()
                .map(|a| format!("(?:{a})"))
                .collect::<Vec<_>>()
                .join("|"),
        };
        let re = regex::bytes::RegexBuilder::new(&joined)
            .unicode(false)
            .case_insensitive(ignore_case)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(limit) => anyhow!(
                    "{pattern}: the pattern is too large (it compiles to more than {} MiB)",
                    limit >> 20
                ),
                other => anyhow!("{pattern}: {}", first_line(&other.to_string())),
            })?;
        Ok(Regex(re))
    }

    /// True when the pattern matches somewhere in `line` (without its newline).
    pub fn is_match(&self, line: &[u8]) -> bool {
        self.0.is_match(line)
    }
}

/// The last line of the `regex` crate's message (its first lines repeat the pattern).
fn first_line(message: &str) -> String {
    let last = message.lines().rev().find(|l| !l.trim().is_empty());
    last.unwrap_or(message)
        .trim()
        .trim_start_matches("error: ")
        .to_string()
}

/// Builds the translated pattern: the text so far, and where each pending atom starts, so a
/// second repetition operator (`a**`, `(x+)?`) can wrap what it repeats in a group.
struct Out {
    text: String,
    /// Where the last atom (with its repetitions) starts, if the last thing written is one.
    atom: Option<usize>,
    /// Whether that atom already carries a repetition operator.
    repeated: bool,
    /// The starts of the open groups.
    groups: Vec<usize>,
    /// True at the start of the pattern, a group or an alternative.
    at_start: bool,
}

impl Out {
    fn atom(&mut self, text: &str) {
        self.at_start = false;
        self.atom = Some(self.text.len());
        self.repeated = false;
        self.text.push_str(text);
    }

    fn literal(&mut self, c: char) {
        self.atom(&regex::escape(c.encode_utf8(&mut [0; 4])));
    }

    /// Writes an operator that is not an atom (an anchor, `|`, an open group).
    fn operator(&mut self, text: &str) {
        self.at_start = matches!(text, "(" | "|");
        self.atom = None;
        self.text.push_str(text);
    }

    /// Applies repetition `op` to the last atom; false when there is none (the operator is
    /// then a literal, as at the start of a pattern or a group).
    fn repeat(&mut self, op: &str) -> bool {
        let Some(start) = self.atom else {
            return false;
        };
        if self.repeated {
            self.text.insert_str(start, "(?:");
            self.text.push(')');
        }
        self.text.push_str(op);
        self.repeated = true;
        true
    }

    fn open(&mut self) {
        self.groups.push(self.text.len());
        self.operator("(");
    }

    fn close(&mut self) -> anyhow::Result<()> {
        let start = self
            .groups
            .pop()
            .ok_or_else(|| anyhow!("unmatched ) or \\)"))?;
        self.text.push(')');
        self.at_start = false;
        self.atom = Some(start);
        self.repeated = false;
        Ok(())
    }
}

/// Translates one POSIX regular expression (basic, or extended when `extended`) as GNU grep
/// reads it into the `regex` crate's syntax.
fn translate(pattern: &str, extended: bool) -> anyhow::Result<String> {
    let p: Vec<char> = pattern.chars().collect();
    let mut out = Out {
        text: String::new(),
        atom: None,
        repeated: false,
        groups: Vec::new(),
        at_start: true,
    };
    let mut i = 0;
    while i < p.len() {
        let c = p[i];
        i += 1;
        // The operator this character (or escape) stands for, if any.
        let op = if c == '\\' {
            let Some(&e) = p.get(i) else {
                bail!("trailing backslash (\\)");
            };
            i += 1;
            match e {
                '(' | ')' | '{' | '}' | '|' | '+' | '?' if !extended => Some(e),
                '1'..='9' => bail!("back-references (\\{e}) are not supported"),
                'w' | 'W' | 's' | 'S' | 'b' | 'B' => {
                    out.atom(&format!("\\{e}"));
                    continue;
                }
                '<' | '>' => {
                    out.operator(&format!(
                        "\\b{{{}}}",
                        if e == '<' { "start" } else { "end" }
                    ));
                    continue;
                }
                '`' => {
                    out.operator("\\A");
                    continue;
                }
                '\'' => {
                    out.operator("\\z");
                    continue;
                }
                _ => {
                    out.literal(e);
                    continue;
                }
            }
        } else {
            match c {
                '(' | ')' | '{' | '}' | '|' | '+' | '?' if extended => Some(c),
                '*' | '^' | '$' | '.' | '[' => Some(c),
                _ => None,
            }
        };
        match op {
            None => out.literal(c),
            Some('.') => out.atom("(?s:.)"),
            Some('[') => {
                let (class, end) = bracket(&p, i)?;
                out.atom(&class);
                i = end;
            }
            Some(q @ ('*' | '+' | '?')) => {
                // With nothing to repeat, GNU grep takes the operator literally in a basic
                // expression and repeats the empty string (drops it) in an extended one.
                if !out.repeat(&q.to_string()) && !extended {
                    out.literal(q);
                }
            }
            Some('{') => match interval(&p, i, extended) {
                Some((text, end)) if out.atom.is_some() || extended => {
                    out.repeat(&text);
                    i = end;
                }
                _ if extended || out.atom.is_none() => out.literal('{'),
                _ => bail!("unmatched \\{{ or invalid interval"),
            },
            Some('}') => out.literal('}'),
            Some('^') => {
                // An anchor at the start of a pattern, a group or an alternative (and
                // anywhere in an extended one); else a literal.
                if extended {
                    // GNU grep -E repeats an anchor like an atom: `^*b` is `(^)*b`.
                    out.atom("(?:^)");
                } else if out.at_start {
                    out.operator("^");
                } else {
                    out.literal('^');
                }
            }
            Some('$') => {
                let rest = &p[i..];
                let at_end = rest.is_empty()
                    || rest.starts_with(&['\\', ')'])
                    || rest.starts_with(&['\\', '|']);
                if extended {
                    out.atom("(?:$)");
                } else if at_end {
                    out.operator("$");
                } else {
                    out.literal('$');
                }
            }
            Some('(') => out.open(),
            Some(')') => {
                if extended && out.groups.is_empty() {
                    // GNU grep -E takes a lone `)` literally.
                    out.literal(')');
                } else {
                    out.close()?;
                }
            }
            Some('|') => out.operator("|"),
            Some(other) => out.literal(other),
        }
    }
    if !out.groups.is_empty() {
        bail!("unmatched ( or \\(");
    }
    Ok(out.text)
}

/// Reads an interval whose body starts at `p[start]` (after `{` or `\{`): `m`, `m,`, `m,n`,
/// `,n`; returns it in the `regex` crate's form and the index past its closing `}` (or `\}`).
fn interval(p: &[char], start: usize, extended: bool) -> Option<(String, usize)> {
    let close = if extended { "}" } else { "\\}" };
    let mut i = start;
    let number = |i: &mut usize| {
        let from = *i;
        while p.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        p[from..*i].iter().collect::<String>()
    };
    let min = number(&mut i);
    let max = if p.get(i) == Some(&',') {
        i += 1;
        Some(number(&mut i))
    } else {
        None
    };
    let tail: String = p[i..].iter().take(close.len()).collect();
    if tail != close || (min.is_empty() && max.as_deref().is_none_or(str::is_empty)) {
        return None;
    }
    let min = if min.is_empty() { "0".to_string() } else { min };
    let text = match max {
        None => format!("{{{min}}}"),
        Some(max) => format!("{{{min},{max}}}"),
    };
    Some((text, i + close.len()))
}

/// Translates a bracket expression whose body starts at `p[start]` (after `[`): returns the
/// class in the `regex` crate's form and the index past the closing `]`. A backslash is an
/// ordinary character inside, as POSIX says.
fn bracket(p: &[char], start: usize) -> anyhow::Result<(String, usize)> {
    let unmatched = || anyhow!("unmatched [, [^, [:, [., or [=");
    let mut i = start;
    let mut class = String::from("[");
    if p.get(i) == Some(&'^') {
        class.push('^');
        i += 1;
    }
    let first = i;
    // Punctuation escaped (the `regex` crate gives `[`, `&`, `-`, `~` meanings inside a
    // class); a character beyond ASCII is its UTF-8 bytes, each a member, as in the C locale.
    let escaped = |c: char| match c {
        _ if c.is_ascii_punctuation() => format!("\\{c}"),
        _ if c.is_ascii() => c.to_string(),
        _ => c
            .encode_utf8(&mut [0; 4])
            .bytes()
            .map(|b| format!("\\x{b:02X}"))
            .collect(),
    };
    loop {
        let c = *p.get(i).ok_or_else(unmatched)?;
        if c == ']' && i > first {
            break;
        }
        if c == '[' && matches!(p.get(i + 1), Some(':' | '.' | '=')) {
            let kind = p[i + 1];
            let body_start = i + 2;
            let end = (body_start..p.len().saturating_sub(1))
                .find(|&j| p[j] == kind && p[j + 1] == ']')
                .ok_or_else(unmatched)?;
            let body: String = p[body_start..end].iter().collect();
            match kind {
                ':' => class.push_str(&format!("[:{body}:]")),
                _ if body.chars().count() == 1 => class.push_str(&escaped(p[body_start])),
                _ => bail!(
                    "[{kind}{body}{kind}]: multi-character collating elements are not supported"
                ),
            }
            i = end + 2;
            continue;
        }
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&e| e != ']') {
            class.push_str(&format!("{}-{}", escaped(c), escaped(p[i + 2])));
            i += 3;
        } else {
            class.push_str(&escaped(c));
            i += 1;
        }
    }
    class.push(']');
    Ok((class, i + 1))
}

#[cfg(test)]
mod tests {
    use super::{Regex, Syntax};

    fn m(p: &str, s: &str) -> bool {
        Regex::new(p, Syntax::Basic, false)
            .unwrap()
            .is_match(s.as_bytes())
    }

    fn e(p: &str, s: &str) -> bool {
        Regex::new(p, Syntax::Extended, false)
            .unwrap()
            .is_match(s.as_bytes())
    }

    #[test]
    fn basic_regular_expressions() {
        assert!(m("ell", "hello"));
        assert!(!m("^ell", "hello"));
        assert!(m("^h.l*o$", "hello"));
        assert!(m("^h.l*o$", "heo"));
        assert!(!m("lo$", "lol"));
        assert!(m("[0-9][0-9]*", "abc 42"));
        assert!(!m("^[^a-z]*$", "ABc"));
        assert!(m("a\\.b", "a.b"));
        assert!(!m("a\\.b", "axb"));
        assert!(m("[]x]", "]"));
        assert!(m("*a", "*a"));
        assert!(m("", "anything"));
        assert!(m("a+b", "a+b") && !m("a+b", "aab"));
        assert!(m("a\\+b", "aab"));
        assert!(m("\\(ab\\)\\{2\\}", "xabab") && !m("\\(ab\\)\\{2\\}", "xab"));
        assert!(m("(x)", "(x)") && m("a|b", "a|b") && m("x\\|y", "y"));
        assert!(m("a^b$c", "a^b$c"));
        assert!(m("[\\]", "\\"));
        assert!(Regex::new("[abc", Syntax::Basic, false).is_err());
        assert!(Regex::new("\\(a", Syntax::Basic, false).is_err());
        assert!(Regex::new("\\(a\\)\\1", Syntax::Basic, false).is_err());
    }

    #[test]
    fn extended_regular_expressions() {
        assert!(e("^(ab)+$", "abab") && !e("^(ab)+$", "aba"));
        assert!(e("a{2,}", "aa") && !e("a{2,}", "a"));
        assert!(e("a{,1}b", "b"));
        assert!(e("a{", "a{"));
        assert!(e("a**", "aa") && e("^(a+)?$", ""));
        assert!(e("x|y", "y"));
        assert!(e("\\(", "(") && !e("\\(", "x"));
        assert!(e("[[:digit:]]", "7") && !e("[[:digit:]]", "x"));
    }

    #[test]
    fn fixed_strings_and_case() {
        let f = Regex::new("a.*b", Syntax::Fixed, true).unwrap();
        assert!(f.is_match(b"xA.*By") && !f.is_match(b"ab"));
        let two = Regex::new("foo\nbar", Syntax::Fixed, false).unwrap();
        assert!(two.is_match(b"bar") && two.is_match(b"foo"));
    }

    #[test]
    fn a_huge_pattern_is_an_error() {
        let err = Regex::new("(a{1000}){1000}", Syntax::Extended, false).unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
    }
}
