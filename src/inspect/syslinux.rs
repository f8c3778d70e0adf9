//! ISOLINUX and SYSLINUX configs (`isolinux.cfg`, `syslinux.cfg`, the files they `INCLUDE`):
//! each `LABEL` with its menu label, kernel, initrds and `APPEND` line. Keywords are matched
//! without regard to case, as syslinux does; `TEXT HELP` blocks are skipped.

use super::menu::{Entry, Item};

/// The entries and includes of one config file, in order.
pub fn parse(text: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut current: Option<Entry> = None;
    let mut in_help = false;
    for line in text.lines().map(str::trim) {
        let (word, rest) = split(line);
        let word = word.to_ascii_lowercase();
        if in_help {
            in_help = word != "endtext";
            continue;
        }
        match word.as_str() {
            "label" => {
                items.extend(current.take().map(Item::Entry));
                current = Some(Entry::titled(rest));
            }
            "menu" => {
                let (sub, arg) = split(rest);
                match sub.to_ascii_lowercase().as_str() {
                    "label" => {
                        if let Some(e) = &mut current {
                            e.title = arg.replace('^', "");
                        }
                    }
                    "include" => {
                        items.extend(current.take().map(Item::Entry));
                        items.push(Item::Include(split(arg).0.to_string()));
                    }
                    _ => {}
                }
            }
            "text" => in_help = split(rest).0.eq_ignore_ascii_case("help"),
            "include" => {
                // What follows an include belongs to no label before it.
                items.extend(current.take().map(Item::Entry));
                items.push(Item::Include(split(rest).0.to_string()));
            }
            "kernel" | "linux" | "com32" => {
                if let Some(e) = &mut current {
                    e.kernel = Some(split(rest).0.to_string());
                }
            }
            "initrd" => {
                if let Some(e) = &mut current {
                    e.initrds.extend(list(split(rest).0));
                }
            }
            "append" => {
                if let Some(e) = &mut current {
                    e.args = rest.to_string();
                    for w in rest.split_whitespace() {
                        if let Some(paths) = w.strip_prefix("initrd=") {
                            e.initrds.extend(list(paths));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    items.extend(current.map(Item::Entry));
    items
}

/// The first word of `line` and the rest, trimmed.
fn split(line: &str) -> (&str, &str) {
    match line.split_once(char::is_whitespace) {
        Some((w, rest)) => (w, rest.trim()),
        None => (line, ""),
    }
}

/// A comma-separated list of paths.
fn list(paths: &str) -> impl Iterator<Item = String> + '_ {
    paths
        .split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_with_kernel_initrd_and_append() {
        let cfg = "DEFAULT live\nINCLUDE menu.cfg\nLABEL live\n  MENU LABEL ^Try it\n  KERNEL /casper/vmlinuz\n  APPEND initrd=/casper/initrd,/extra.img quiet ---\nTEXT HELP\nlabel fake\nENDTEXT\nlabel two\n linux /k2\n initrd /i2\n";
        let items = parse(cfg);
        assert_eq!(items.len(), 3);
        assert!(matches!(&items[0], Item::Include(p) if p == "menu.cfg"));
        let Item::Entry(e) = &items[1] else {
            panic!("an entry")
        };
        assert_eq!(e.title, "Try it");
        assert_eq!(e.kernel.as_deref(), Some("/casper/vmlinuz"));
        assert_eq!(e.initrds, ["/casper/initrd", "/extra.img"]);
        assert_eq!(e.args, "initrd=/casper/initrd,/extra.img quiet ---");
        let Item::Entry(e) = &items[2] else {
            panic!("an entry")
        };
        assert_eq!((e.title.as_str(), e.initrds.len()), ("two", 1));
    }
}
