//! GRUB 2 configs (`grub.cfg` and the files it `source`s or `configfile`s): each `menuentry`
//! (inside `submenu`s too, titled `Submenu > Entry`) with its `linux` kernel and command line
//! and its `initrd`s. Words are split as GRUB's shell-like script does (quotes and
//! backslashes); braces are counted to know which entry a command belongs to. `$prefix` in an
//! included path is what the last `set prefix=` said.

use super::menu::{Entry, Item};

/// What a `{` opened.
enum Frame {
    Entry(Entry),
    Submenu(String),
    Other,
}

/// The entries and includes of one config file, in order.
pub fn parse(text: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut prefix: Option<String> = None;
    for line in text.lines() {
        let words = words(line);
        let Some(first) = words.first().map(String::as_str) else {
            continue;
        };
        let opens = words.last().is_some_and(|w| w == "{");
        match first {
            "menuentry" | "submenu" if opens => {
                let title = title(&words[1..]);
                let titles: Vec<&str> = frames
                    .iter()
                    .filter_map(|f| match f {
                        Frame::Submenu(t) => Some(t.as_str()),
                        _ => None,
                    })
                    .collect();
                if first == "submenu" {
                    frames.push(Frame::Submenu(title));
                } else {
                    let full = titles
                        .into_iter()
                        .chain([title.as_str()])
                        .collect::<Vec<_>>()
                        .join(" > ");
                    frames.push(Frame::Entry(Entry::titled(&full)));
                }
                continue;
            }
            "}" => {
                if let Some(Frame::Entry(e)) = frames.pop() {
                    items.push(Item::Entry(e));
                }
                continue;
            }
            _ => {}
        }
        let entry = frames.iter_mut().rev().find_map(|f| match f {
            Frame::Entry(e) => Some(e),
            _ => None,
        });
        match (first, entry) {
            ("linux" | "linuxefi" | "linux16" | "kernel" | "chainloader", Some(e)) => {
                e.kernel = words.get(1).cloned();
                e.args = words.get(2..).unwrap_or_default().join(" ");
            }
            ("initrd" | "initrdefi" | "initrd16", Some(e)) => {
                e.initrds.extend(words[1..].iter().cloned());
            }
            ("source" | "configfile", None) => {
                if let Some(path) = words.get(1) {
                    items.push(Item::Include(expand(path, prefix.as_deref())));
                }
            }
            ("set", None) => {
                if let Some(p) = words.get(1).and_then(|w| w.strip_prefix("prefix=")) {
                    prefix = Some(expand(p, prefix.as_deref()));
                }
            }
            _ => {}
        }
        // Other braces (`function f {`, `function f { ... }`): what they open or close.
        let count = |b: &str| words.iter().filter(|w| *w == b).count();
        let (open, close) = (count("{"), count("}"));
        frames.extend((close..open).map(|_| Frame::Other));
        for _ in open..close {
            if let Some(Frame::Entry(e)) = frames.pop() {
                items.push(Item::Entry(e));
            }
        }
    }
    // Entries left open by a truncated or broken file still count.
    for f in frames {
        if let Frame::Entry(e) = f {
            items.push(Item::Entry(e));
        }
    }
    items
}

/// The title of a `menuentry` or `submenu` from the words after it: the first that is not an
/// option (`--class X`, `--hotkey=g`, `--unrestricted`).
fn title(words: &[String]) -> String {
    let mut rest = words.iter();
    while let Some(w) = rest.next() {
        match w.as_str() {
            "--class" | "--users" | "--hotkey" | "--id" => {
                rest.next();
            }
            w if w.starts_with("--") => {}
            w => return w.to_string(),
        }
    }
    String::new()
}

/// `path` with `$prefix` / `${prefix}` replaced and a leading `($root)`-style device removed.
fn expand(path: &str, prefix: Option<&str>) -> String {
    let mut p = path.to_string();
    if let Some(prefix) = prefix {
        p = p.replace("${prefix}", prefix).replace("$prefix", prefix);
    }
    without_device(&p).to_string()
}

/// `path` without a leading GRUB device (`($root)/boot/x` is `/boot/x`).
pub fn without_device(path: &str) -> &str {
    match path.strip_prefix('(').and_then(|r| r.split_once(')')) {
        Some((_, rest)) => rest,
        None => path,
    }
}

/// The words of one line of GRUB script: quotes and backslashes as GRUB reads them, a `#`
/// that starts a word begins a comment, `;` ends a command (what follows is dropped).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut started = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                started = true;
                word.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '"' => {
                started = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                started = true;
                word.extend(chars.next());
            }
            '#' if !started => break,
            ';' => break,
            c if c.is_whitespace() => {
                if started {
                    out.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                started = true;
                word.push(c);
            }
        }
    }
    if started {
        out.push(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_as_grub_does() {
        assert_eq!(
            words(r#"menuentry "Try \"it\"" --class x 'a b' {  # c"#),
            ["menuentry", "Try \"it\"", "--class", "x", "a b", "{"]
        );
        assert_eq!(words("if x; then"), ["if", "x"]);
    }

    #[test]
    fn entries_submenus_and_includes() {
        let cfg = "set prefix=($root)/boot/grub\nsource $prefix/extra.cfg\nmenuentry --hotkey=l --class os 'Live' --id x {\n  if true; then\n    linux /casper/vmlinuz quiet splash ---\n  fi\n  initrd /casper/initrd /x.img\n}\nsubmenu 'More' {\n  menuentry 'Safe' {\n    linuxefi /k nomodeset\n  }\n}\nfunction f { echo }\nconfigfile /boot/grub/loopback.cfg\n";
        let items = parse(cfg);
        assert!(matches!(&items[0], Item::Include(p) if p == "/boot/grub/extra.cfg"));
        let Item::Entry(e) = &items[1] else {
            panic!("an entry")
        };
        assert_eq!(e.title, "Live");
        assert_eq!(e.kernel.as_deref(), Some("/casper/vmlinuz"));
        assert_eq!(e.args, "quiet splash ---");
        assert_eq!(e.initrds, ["/casper/initrd", "/x.img"]);
        let Item::Entry(e) = &items[2] else {
            panic!("an entry")
        };
        assert_eq!(
            (e.title.as_str(), e.args.as_str()),
            ("More > Safe", "nomodeset")
        );
        assert!(matches!(&items[3], Item::Include(p) if p == "/boot/grub/loopback.cfg"));
        assert_eq!(items.len(), 4);
    }
}
