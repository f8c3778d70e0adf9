//! One directory as the browser shows it: its entries read once through the session's VFS
//! (mounts laid over the filesystem), sorted directories first, with names made safe to print,
//! and the filter that narrows them.

use std::rc::Rc;

use crate::commands::format::escape_name;
use crate::error::Result;
use crate::fs::FileKind;
use crate::vfs::{Node, Vfs};

/// One name in a directory.
pub struct Entry {
    /// The name as the image stores it.
    pub name: Vec<u8>,
    /// The name as the terminal shows it: escaped as `ls -b` does
    /// ([`crate::commands::format::escape_name`]).
    pub display: String,
    pub node: Node,
    /// True when a filesystem is mounted at this entry.
    pub mountpoint: bool,
}

impl Entry {
    /// The `ls -F` marker after the name: `/` for directories, `@` symlinks, `|` fifos, `=`
    /// sockets.
    pub fn marker(&self) -> &'static str {
        match self.node.kind() {
            FileKind::Dir => "/",
            FileKind::Symlink => "@",
            FileKind::Fifo => "|",
            FileKind::Socket => "=",
            _ => "",
        }
    }
}

/// A directory's entries, shared between the cache and the pane.
pub type Listing = Rc<Vec<Entry>>;

/// Reads `dir` through `vfs` and sorts it: directories first, then by name.
pub fn read(vfs: &Vfs, dir: &Node) -> Result<Listing> {
    let mut entries: Vec<Entry> = vfs
        .read_dir(dir)?
        .into_iter()
        .map(|(name, node)| Entry {
            display: escape_name(&name).into_owned(),
            mountpoint: vfs.mounts().iter().any(|m| m.mountpoint == node.path),
            name,
            node,
        })
        .collect();
    entries.sort_by(|a, b| (!a.node.is_dir(), &a.name).cmp(&(!b.node.is_dir(), &b.name)));
    Ok(Rc::new(entries))
}

/// A filter pattern: a substring, matched without regard to case unless the pattern has an
/// upper-case letter (vim's and less's smart case).
pub struct Pattern {
    text: String,
    fold: bool,
}

impl Pattern {
    pub fn new(text: &str) -> Self {
        let fold = !text.chars().any(char::is_uppercase);
        Pattern {
            text: if fold {
                text.to_lowercase()
            } else {
                text.to_string()
            },
            fold,
        }
    }

    /// True when `name` contains the pattern.
    pub fn matches(&self, name: &str) -> bool {
        if self.fold {
            name.to_lowercase().contains(&self.text)
        } else {
            name.contains(&self.text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smart_case() {
        assert!(Pattern::new("read").matches("README.md"));
        assert!(!Pattern::new("Read").matches("README.md"));
        assert!(Pattern::new("READ").matches("README.md"));
    }
}
