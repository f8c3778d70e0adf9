//! The small regular expressions `grep` understands: a subset of POSIX basic regular
//! expressions over bytes: literal characters, `.`, bracket expressions (`[abc]`, `[a-z]`,
//! `[^0-9]`), `*` after an atom, `^` and `$` anchors at the ends of the pattern, and `\` to
//! take the next character literally. Matching is by backtracking, line by line.

use anyhow::bail;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Byte(u8),
    Any,
    /// 256 bits: which bytes the bracket expression admits.
    Set(Box<[bool; 256]>),
}

impl Atom {
    fn matches(&self, b: u8) -> bool {
        match self {
            Atom::Byte(c) => *c == b,
            Atom::Any => true,
            Atom::Set(set) => set[b as usize],
        }
    }
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Regex {
    atoms: Vec<(Atom, bool)>,
    anchored_start: bool,
    anchored_end: bool,
}

impl Regex {
    /// Compiles `pattern`; an unterminated `[` or a trailing `\` is an error.
    pub fn new(pattern: &str) -> anyhow::Result<Regex> {
        let mut p = pattern.as_bytes();
        let anchored_start = p.first() == Some(&b'^');
        if anchored_start {
            p = &p[1..];
        }
        let anchored_end = p.last() == Some(&b'$') && !p.ends_with(b"\\$");
        if anchored_end {
            p = &p[..p.len() - 1];
        }
        let mut atoms: Vec<(Atom, bool)> = Vec::new();
        let mut i = 0;
        while i < p.len() {
            let atom = match p[i] {
                b'*' if !atoms.is_empty() => {
                    if let Some(last) = atoms.last_mut() {
                        last.1 = true;
                    }
                    i += 1;
                    continue;
                }
                b'.' => Atom::Any,
                b'\\' => {
                    i += 1;
                    match p.get(i) {
                        Some(&c) => Atom::Byte(c),
                        None => bail!("{pattern}: trailing backslash"),
                    }
                }
                b'[' => {
                    let (set, end) = bracket(p, i + 1)
                        .ok_or_else(|| anyhow::anyhow!("{pattern}: unmatched [ or [^"))?;
                    i = end;
                    Atom::Set(set)
                }
                c => Atom::Byte(c),
            };
            atoms.push((atom, false));
            i += 1;
        }
        Ok(Regex {
            atoms,
            anchored_start,
            anchored_end,
        })
    }

    /// True when the pattern matches somewhere in `line` (without its newline).
    pub fn is_match(&self, line: &[u8]) -> bool {
        if self.anchored_start {
            return self.here(0, line);
        }
        (0..=line.len()).any(|start| self.here(0, &line[start..]))
    }

    fn here(&self, at: usize, text: &[u8]) -> bool {
        let Some((atom, star)) = self.atoms.get(at) else {
            return !self.anchored_end || text.is_empty();
        };
        if *star {
            let run = text.iter().take_while(|&&b| atom.matches(b)).count();
            return (0..=run).rev().any(|n| self.here(at + 1, &text[n..]));
        }
        match text.first() {
            Some(&b) if atom.matches(b) => self.here(at + 1, &text[1..]),
            _ => false,
        }
    }
}

/// Parses a bracket expression whose body starts at `p[start]`; returns the set and the index
/// of the closing `]`.
fn bracket(p: &[u8], start: usize) -> Option<(Box<[bool; 256]>, usize)> {
    let mut set = Box::new([false; 256]);
    let mut i = start;
    let negate = p.get(i) == Some(&b'^');
    if negate {
        i += 1;
    }
    let first = i;
    loop {
        let c = *p.get(i)?;
        if c == b']' && i > first {
            break;
        }
        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|&e| e != b']') {
            let end = p[i + 2];
            for b in c..=end {
                set[b as usize] = true;
            }
            i += 3;
        } else {
            set[c as usize] = true;
            i += 1;
        }
    }
    if negate {
        for b in set.iter_mut() {
            *b = !*b;
        }
    }
    Some((set, i))
}

#[cfg(test)]
mod tests {
    use super::Regex;

    fn m(p: &str, s: &str) -> bool {
        Regex::new(p).unwrap().is_match(s.as_bytes())
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
        assert!(Regex::new("[abc").is_err());
    }
}
