//! Boot menus: a config file read with the files it includes (each one bounded to
//! [`CONFIG_LIMIT`] bytes, at most [`MAX_FILES`] of them, each once), parsed by the syntax of
//! its boot loader ([`super::syslinux`], [`super::grub`], [`super::loader`]) into the entries
//! a user picks from.

use std::collections::HashSet;

use super::tree::{clean, parent, Tree};
use crate::vfs::path::absolute;

/// The most read of one config file.
pub const CONFIG_LIMIT: usize = 1 << 20;

/// The most config files read for one menu.
pub const MAX_FILES: usize = 32;

/// The most entries kept of one menu.
pub const MAX_ENTRIES: usize = 256;

/// The longest title, path or command line kept.
const SHOWN: usize = 200;

/// One entry of a boot menu.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub title: String,
    /// The kernel (or EFI program, or COM32 module) it loads, as the config writes it.
    pub kernel: Option<String>,
    pub initrds: Vec<String>,
    /// The kernel's command line.
    pub args: String,
}

impl Entry {
    /// An entry with only a title so far.
    pub fn titled(title: &str) -> Entry {
        Entry {
            title: title.trim().to_string(),
            ..Entry::default()
        }
    }

    /// The entry with every text made printable and bounded.
    fn cleaned(self) -> Entry {
        Entry {
            title: clean(&self.title, SHOWN),
            kernel: self.kernel.map(|k| clean(&k, SHOWN)),
            initrds: self.initrds.iter().map(|i| clean(i, SHOWN)).collect(),
            args: clean(&self.args, SHOWN),
        }
    }
}

/// What a config file holds, in order.
#[derive(Clone, Debug)]
pub enum Item {
    Entry(Entry),
    /// Another config file read at this point.
    Include(String),
}

/// The boot loader whose syntax a menu is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    Syslinux,
    Grub,
    SystemdBoot,
}

impl Syntax {
    /// `syslinux`, `GRUB`, `systemd-boot`.
    pub fn name(self) -> &'static str {
        match self {
            Syntax::Syslinux => "syslinux",
            Syntax::Grub => "GRUB",
            Syntax::SystemdBoot => "systemd-boot",
        }
    }
}

/// One boot menu: the config file, the files it included, its entries.
#[derive(Clone, Debug)]
pub struct Menu {
    /// The config file, as `inspect` shows paths (`efi.img:/EFI/BOOT/grub.cfg`).
    pub config: String,
    pub syntax: Syntax,
    /// The other files read for it, in order.
    pub included: Vec<String>,
    pub entries: Vec<Entry>,
    /// Entries past [`MAX_ENTRIES`], not kept.
    pub more: usize,
    /// What could not be read: includes not found, files cut at the bound, too many files.
    pub notes: Vec<String>,
}

impl Menu {
    fn empty(config: String, syntax: Syntax) -> Menu {
        Menu {
            config,
            syntax,
            included: Vec::new(),
            entries: Vec::new(),
            more: 0,
            notes: Vec::new(),
        }
    }
}

/// Reads the config at `path` of `trees[0]` in `syntax`, with what it includes: a relative
/// include is found beside the file that includes it (syslinux) or at the root (GRUB), in the
/// same tree first, then in the others (a GRUB config in an EFI image goes on in the ISO tree).
pub fn read(trees: &[&Tree], path: &str, syntax: Syntax) -> Option<Menu> {
    let first = trees.first()?;
    first.file(path)?;
    let mut menu = Menu::empty(first.show(path), syntax);
    let mut seen = HashSet::new();
    follow(trees, 0, path, &mut menu, &mut seen);
    Some(menu)
}

/// Reads file `path` of `trees[at]` into `menu`, and what it includes in place.
fn follow(
    trees: &[&Tree],
    at: usize,
    path: &str,
    menu: &mut Menu,
    seen: &mut HashSet<(usize, String)>,
) {
    let tree = trees[at];
    if !seen.insert((at, path.to_string())) {
        return;
    }
    if seen.len() > MAX_FILES {
        menu.notes.push(format!(
            "{}: not read, over {MAX_FILES} files",
            tree.show(path)
        ));
        return;
    }
    let Some(file) = tree.read(path, CONFIG_LIMIT) else {
        return;
    };
    if seen.len() > 1 {
        menu.included.push(tree.show(path));
    }
    if file.truncated() {
        menu.notes.push(format!(
            "{}: only its first {} KiB read (of {} bytes)",
            tree.show(path),
            CONFIG_LIMIT / 1024,
            file.size
        ));
    }
    let text = file.text();
    let items = match menu.syntax {
        Syntax::Syslinux => super::syslinux::parse(&text),
        Syntax::Grub => super::grub::parse(&text),
        Syntax::SystemdBoot => Vec::new(),
    };
    for item in items {
        match item {
            Item::Entry(e) if menu.entries.len() < MAX_ENTRIES => menu.entries.push(e.cleaned()),
            Item::Entry(_) => menu.more += 1,
            Item::Include(inc) => {
                let base = match menu.syntax {
                    Syntax::Syslinux => parent(path),
                    _ => "/",
                };
                let target = absolute(base, &inc);
                // GRUB on an EFI image has set its root to the ISO (`search`) before it goes
                // on in a config: the other trees first. Syslinux stays where it is.
                let others = (0..trees.len()).filter(|&i| i != at);
                let order: Vec<usize> = match menu.syntax {
                    Syntax::Grub => others.chain([at]).collect(),
                    _ => std::iter::once(at).chain(others).collect(),
                };
                match order.into_iter().find(|&i| trees[i].has_file(&target)) {
                    Some(i) => follow(trees, i, &target, menu, seen),
                    None => menu.notes.push(format!(
                        "{}: includes {}, not found",
                        tree.show(path),
                        clean(&inc, SHOWN)
                    )),
                }
            }
        }
    }
}

/// systemd-boot's menu: the `.conf` files of `/loader/entries` in `tree`, by name.
pub fn read_loader(tree: &Tree) -> Option<Menu> {
    const DIR: &str = "/loader/entries";
    tree.dir(DIR)?;
    let mut menu = Menu::empty(tree.show(DIR), Syntax::SystemdBoot);
    let names = tree.list(DIR, MAX_FILES + 1);
    for (i, (name, _)) in names
        .iter()
        .filter(|(n, _)| n.ends_with(".conf"))
        .enumerate()
    {
        let path = format!("{DIR}/{name}");
        if i >= MAX_FILES {
            menu.notes.push(format!(
                "{}: more than {MAX_FILES} entry files, the rest not read",
                tree.show(DIR)
            ));
            break;
        }
        let Some(file) = tree.read(&path, CONFIG_LIMIT) else {
            continue;
        };
        menu.included.push(tree.show(&path));
        if menu.entries.len() < MAX_ENTRIES {
            menu.entries
                .push(super::loader::parse(name, &file.text()).cleaned());
        } else {
            menu.more += 1;
        }
    }
    Some(menu)
}
