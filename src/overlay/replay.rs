//! Staged changes carried from one overlay to another by path: what a bridge disc mounted as
//! UDF has staged, carried to its ISO 9660 tree, so that both trees of the new image hold
//! the same files (and share their data). Removals go first (deepest first), then renames,
//! new objects (parents first), new data and metadata; the label too. A change the other
//! tree cannot take (its parent is missing there, a name it cannot hold) is left out, and
//! said in the warnings returned.

use super::changes::Kind;
use super::{Content, Overlay};
use crate::error::Result;
use crate::fs::FileKind;

impl Overlay {
    /// Stages in `self` what `from` has staged (see the module doc); returns the changes
    /// not carried, as warnings.
    pub fn replay(&self, from: &Overlay) -> Result<Vec<String>> {
        let changes = from.changes()?;
        let mut items: Vec<_> = changes.items.iter().collect();
        // Removals deepest first, then renames, additions and the rest in path order.
        let rank = |k: &Kind| match k {
            Kind::Removed => 0,
            Kind::Renamed { .. } => 1,
            Kind::Added => 2,
            Kind::Modified => 3,
            Kind::Metadata => 4,
        };
        items.sort_by(|a, b| {
            let depth = |p: &str| p.matches('/').count();
            rank(&a.kind)
                .cmp(&rank(&b.kind))
                .then_with(|| match a.kind {
                    Kind::Removed => depth(&b.path).cmp(&depth(&a.path)),
                    _ => a.path.cmp(&b.path),
                })
        });
        let mut notes = Vec::new();
        for c in items {
            let carried = match &c.kind {
                Kind::Removed => match self.find(&c.path) {
                    Ok(_) => self.remove(&c.path),
                    Err(_) => Ok(()),
                },
                Kind::Renamed { from: old } => self
                    .rename(old, &c.path)
                    .and_then(|()| self.same_as(from, &c.path, c.content)),
                Kind::Added => {
                    let e = from.find(&c.path)?;
                    let content = match e.meta.kind {
                        FileKind::File => Some(from.content(&c.path)?),
                        _ => None,
                    };
                    self.create(&c.path, e.meta.clone(), content)
                        .and_then(|_| self.restore_meta(&c.path, &e.meta))
                }
                Kind::Modified | Kind::Metadata => self.same_as(from, &c.path, c.content),
            };
            if let Err(e) = carried {
                notes.push(format!("{}: {e}", c.line(|p| p.to_string())));
            }
        }
        if let Some((_, label)) = &changes.label {
            self.set_label(label);
        }
        Ok(notes)
    }

    /// Gives the object at `path` the metadata it has in `from`, and its data when `content`.
    /// A file with more names here than in `from` (a hard link in this tree only: genisoimage
    /// links the ISO 9660 records of a host file's names, its UDF tree gives each name a file
    /// entry) is first made a file of its own here, so that its other names keep their data,
    /// as they do in `from`.
    fn same_as(&self, from: &Overlay, path: &str, content: bool) -> Result<()> {
        let e = from.find(path)?;
        if content {
            let data: Content = from.content(path)?;
            if self.find(path)?.meta.nlink > e.meta.nlink.max(1) {
                self.remove(path)?;
                self.create(path, e.meta.clone(), Some(data))?;
            } else {
                self.set_content(path, data)?;
            }
        }
        self.restore_meta(path, &e.meta)
    }
}
