//! What an [`Overlay`] has staged, as a list like `git status` ([`Changes`]): objects added,
//! modified (new data), removed, renamed and changed in their metadata only, the label and
//! the size of a rebuilt image.
//! Found by walking the tree as it is now and as it was below, each only through the
//! directories on the path of a change (`touched`), and matching objects by number: an object
//! of the filesystem below that sits at another name than it had was moved (or linked).

use std::collections::{HashMap, HashSet};
use std::fmt;

use super::{refreshed, Content, Overlay, State, NEW};
use crate::error::Result;
use crate::fs::{DirEntry, Ino, Metadata};
use crate::vfs::path;

/// Files up to this size whose data was staged anew are compared with their old data, so
/// data written back as it was is no change.
pub const COMPARED: u64 = 8 << 20;

/// What happened to an object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Removed from `path` (listed before anything added at the same path).
    Removed,
    /// New at `path` (made in the overlay, or a new name of an existing file).
    Added,
    /// New data (or a new object of the same kind in place of the one removed).
    Modified,
    /// Moved from `from` to `path`.
    Renamed { from: String },
    /// Only metadata changed (mode, owner, times, extended attributes).
    Metadata,
}

/// One staged change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub kind: Kind,
    /// Where the object is (for [`Kind::Removed`], where it was), from the filesystem's root.
    pub path: String,
    pub dir: bool,
    /// True when the file's data changed ([`Kind::Modified`], or a renamed file with new data).
    pub content: bool,
    /// What changed in the metadata, as shown: `mode 0644 -> 0755`, `owner 0:0 -> 1000:1000`,
    /// `times`, `xattrs`.
    pub meta: Vec<String>,
}

/// Everything staged in one overlay, in path order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// The volume label, before and after, when it was set.
    pub label: Option<(Option<String>, String)>,
    /// The size in bytes of the image, before and after, when `resize-fat` changed it.
    pub size: Option<(u64, u64)>,
    /// Changes to the boot setup.
    pub boot: crate::boot::edits::BootEdits,
    pub items: Vec<Change>,
}

impl Changes {
    /// True when nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.label.is_none() && self.size.is_none() && self.boot.is_empty() && self.items.is_empty()
    }
}

impl Change {
    /// The path the object had in the filesystem below, if it had one.
    pub fn old_path(&self) -> Option<&str> {
        match &self.kind {
            Kind::Added => None,
            Kind::Renamed { from } => Some(from),
            _ => Some(&self.path),
        }
    }

    /// The path the object has now, if it still exists.
    pub fn new_path(&self) -> Option<&str> {
        (self.kind != Kind::Removed).then_some(self.path.as_str())
    }

    /// The letter `changes` starts the line with, as `git status -s`: A, D, M, m (metadata
    /// only), R.
    pub fn letter(&self) -> char {
        match &self.kind {
            Kind::Added => 'A',
            Kind::Removed => 'D',
            Kind::Modified => 'M',
            Kind::Metadata => 'm',
            Kind::Renamed { .. } => 'R',
        }
    }

    /// The line `changes` prints, with `shown` turning a path of the filesystem into a path of
    /// the session: `A /new/`, `M /file (mode 0644 -> 0755)`, `R /old -> /new`, `m /f (times)`.
    pub fn line(&self, shown: impl Fn(&str) -> String) -> String {
        let slash = if self.dir { "/" } else { "" };
        let path = format!("{}{slash}", shown(&self.path));
        let letter = self.letter();
        let what = match &self.kind {
            Kind::Renamed { from } => format!("{}{slash} -> {path}", shown(from)),
            _ => path,
        };
        let mut notes = self.meta.clone();
        if self.content && matches!(self.kind, Kind::Renamed { .. }) {
            notes.insert(0, "modified".into());
        }
        match notes.is_empty() {
            true => format!("{letter} {what}"),
            false => format!("{letter} {what} ({})", notes.join(", ")),
        }
    }
}

/// Where an object has a name: its directory, the name, and the path.
#[derive(Clone, Debug)]
pub(crate) struct Place {
    pub(crate) dir: Ino,
    pub(crate) name: Vec<u8>,
    pub(crate) path: String,
    /// True when the object is a directory.
    pub(crate) is_dir: bool,
}

impl Place {
    /// True for the same name in the same directory.
    pub(crate) fn same(&self, other: &Place) -> bool {
        self.dir == other.dir && self.name == other.name
    }
}

/// Names found by a walk, by object.
pub(crate) type Census = HashMap<Ino, Vec<Place>>;

/// The metadata differences `changes` shows between `old` and `new`; `times` says whether
/// modification and access times count (not where they follow new data or a new listing).
pub(crate) fn meta_diff(old: &Metadata, new: &Metadata, times: bool) -> Vec<String> {
    let mut out = Vec::new();
    if old.mode & 0o7777 != new.mode & 0o7777 {
        out.push(format!(
            "mode {:04o} -> {:04o}",
            old.mode & 0o7777,
            new.mode & 0o7777
        ));
    }
    if (old.uid, old.gid) != (new.uid, new.gid) {
        out.push(format!(
            "owner {}:{} -> {}:{}",
            old.uid, old.gid, new.uid, new.gid
        ));
    }
    if times && (old.mtime, old.atime) != (new.mtime, new.atime) {
        out.push("times".into());
    }
    out
}

impl Overlay {
    /// What is staged, in path order (see [`Changes`]).
    pub fn changes(&self) -> Result<Changes> {
        let st = self.read();
        let old_label = self.base.label();
        let label = st
            .label
            .clone()
            .filter(|l| old_label.as_ref() != Some(l))
            .map(|l| (old_label, l));
        let old_size = self.base.source().len();
        let size = st.size.filter(|&s| s != old_size).map(|s| (old_size, s));
        let was = self.census(&st, false)?;
        let now = self.census(&st, true)?;
        let mut items = Vec::new();
        let mut renamed_from = HashSet::new();
        for (&ino, places) in &now {
            let before = was.get(&ino).map(Vec::as_slice).unwrap_or_default();
            for place in places {
                let dir = place.is_dir;
                let change = |kind, content, meta| Change {
                    kind,
                    path: place.path.clone(),
                    dir,
                    content,
                    meta,
                };
                if ino & NEW != 0 {
                    items.push(change(Kind::Added, false, Vec::new()));
                } else if before.iter().any(|p| p.same(place)) {
                    if let Some((content, meta)) = self.staged_diff(&st, ino)? {
                        let kind = if content {
                            Kind::Modified
                        } else {
                            Kind::Metadata
                        };
                        items.push(change(kind, content, meta));
                    }
                } else if let Some(from) = st
                    .moved_from
                    .contains_key(&ino)
                    .then(|| origin(before, places, &st.moved_from[&ino]))
                    .filter(|from| renamed_from.insert(from.clone()))
                {
                    let (content, meta) = self.staged_diff(&st, ino)?.unwrap_or_default();
                    items.push(change(Kind::Renamed { from }, content, meta));
                } else {
                    items.push(change(Kind::Added, false, Vec::new()));
                }
            }
        }
        for (&ino, places) in &was {
            let here = now.get(&ino).map(Vec::as_slice).unwrap_or_default();
            for place in places {
                if here.iter().any(|p| p.same(place)) || renamed_from.contains(&place.path) {
                    continue;
                }
                let meta = self.base.metadata(ino)?;
                items.push(Change {
                    kind: Kind::Removed,
                    path: place.path.clone(),
                    dir: meta.is_dir(),
                    content: false,
                    meta: Vec::new(),
                });
                if meta.is_dir() && here.is_empty() && !st.touched.contains(&ino) {
                    self.removed_below(ino, &place.path, &mut items)?;
                }
            }
        }
        Ok(Changes {
            label,
            size,
            boot: st.boot.clone(),
            items: self.merged(&st, items)?,
        })
    }

    /// Sorts `items` by path and makes a file removed and another of the same kind (a file,
    /// a symlink) added at its path one modified object.
    fn merged(&self, st: &State, mut items: Vec<Change>) -> Result<Vec<Change>> {
        items.sort_by(|a, b| (&a.path, &a.kind).cmp(&(&b.path, &b.kind)));
        let mut out: Vec<Change> = Vec::with_capacity(items.len());
        for c in items {
            if let Some(last) = out.last_mut().filter(|l| {
                (&l.kind, &l.path, l.dir, c.dir) == (&Kind::Removed, &c.path, false, false)
                    && c.kind == Kind::Added
            }) {
                let old = self.original(&c.path)?.map(|e| e.meta);
                let new = self.find_in(st, &c.path)?.map(|e| e.meta);
                if let (Some(old), Some(new)) = (old, new) {
                    if old.kind == new.kind {
                        last.meta = meta_diff(&old, &new, false);
                        (last.kind, last.content) = (Kind::Modified, true);
                        continue;
                    }
                }
            }
            out.push(c);
        }
        Ok(out)
    }

    /// Lists everything below the removed directory `dir` (at `at`) as removed.
    fn removed_below(&self, dir: Ino, at: &str, items: &mut Vec<Change>) -> Result<()> {
        for e in self.base.read_dir(dir)? {
            if is_dot(&e.name) {
                continue;
            }
            let path = path::child(at, &e.name);
            items.push(Change {
                kind: Kind::Removed,
                path: path.clone(),
                dir: e.meta.is_dir(),
                content: false,
                meta: Vec::new(),
            });
            if e.meta.is_dir() {
                self.removed_below(e.ino, &path, items)?;
            }
        }
        Ok(())
    }

    /// For an object of the filesystem below: whether its data changed, and its metadata
    /// differences; `None` when it is as it was.
    fn staged_diff(&self, st: &State, ino: Ino) -> Result<Option<(bool, Vec<String>)>> {
        let Some(s) = st.nodes.get(&ino) else {
            return Ok(None);
        };
        let old = self.base.metadata(ino)?;
        let content = match &s.content {
            Some(c) => !self.same_data(ino, old.size, c)?,
            None => false,
        };
        let times = !content && s.entries.is_none();
        let mut meta = meta_diff(&old, &s.meta, times);
        if let Some(x) = &s.xattrs {
            if *x != self.base.xattrs(ino)? {
                meta.push("xattrs".into());
            }
        }
        Ok((content || !meta.is_empty()).then_some((content, meta)))
    }

    /// True when `new` holds the data of file `ino` below (`size` bytes), as far as a
    /// comparison up to [`COMPARED`] bytes can tell (larger files count as changed).
    fn same_data(&self, ino: Ino, size: u64, new: &Content) -> Result<bool> {
        if new.len() != size || size > COMPARED {
            return Ok(false);
        }
        let (mut a, mut b) = (vec![0; 64 << 10], vec![0; 64 << 10]);
        let mut at = 0;
        while at < size {
            let n = self.base.read_at(ino, at, &mut a)?;
            if n == 0 || new.read_at(at, &mut b[..n])? != n || a[..n] != b[..n] {
                return Ok(false);
            }
            at += n as u64;
        }
        Ok(true)
    }

    /// The object at `path` in the filesystem below (not followed if a symlink), if any.
    pub fn original(&self, path: &str) -> Result<Option<DirEntry>> {
        let mut at = self.base.root();
        let comps: Vec<&[u8]> = path::components(path.as_bytes()).collect();
        let Some((last, dirs)) = comps.split_last() else {
            let meta = self.base.metadata(at)?;
            return Ok(Some(DirEntry {
                name: Vec::new(),
                ino: at,
                meta,
            }));
        };
        for comp in dirs {
            match self.base.lookup(at, comp)? {
                Some(e) if e.meta.is_dir() => at = e.ino,
                _ => return Ok(None),
            }
        }
        self.base.lookup(at, last)
    }

    /// The object at `path` now, if any, read with the state already held.
    pub(crate) fn find_in(&self, st: &State, path: &str) -> Result<Option<DirEntry>> {
        if path::components(path.as_bytes()).next().is_none() {
            let root = self.base.root();
            let meta = st.nodes.get(&root).map(|s| s.meta.clone());
            let meta = meta.map_or_else(|| self.base.metadata(root), Ok)?;
            return Ok(Some(DirEntry {
                name: Vec::new(),
                ino: root,
                meta,
            }));
        }
        match self.parent_chain(st, path) {
            Ok((chain, name)) => self.entry(st, *chain.last().expect("root"), &name),
            Err(crate::error::Error::NotFound(_) | crate::error::Error::NotADirectory(_)) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Directory `dir`'s entries now (`current`) or below, without `.` and `..`.
    pub(crate) fn listing(&self, st: &State, dir: Ino, current: bool) -> Result<Vec<DirEntry>> {
        let entries = match st.nodes.get(&dir).and_then(|s| s.entries.as_deref()) {
            Some(entries) if current => entries.iter().map(|e| refreshed(st, e.clone())).collect(),
            _ if current && dir & NEW != 0 => Vec::new(),
            _ => self.base.read_dir(dir)?,
        };
        Ok(entries.into_iter().filter(|e| !is_dot(&e.name)).collect())
    }

    /// The names of the tree now (`current`) or below, through the touched directories (and,
    /// now, the new ones: all they hold is new), by object.
    pub(crate) fn census(&self, st: &State, current: bool) -> Result<Census> {
        let mut out = Census::new();
        let mut todo = vec![(self.base.root(), "/".to_string())];
        while let Some((dir, at)) = todo.pop() {
            for e in self.listing(st, dir, current)? {
                let path = path::child(&at, &e.name);
                let open = st.touched.contains(&e.ino) || (current && e.ino & NEW != 0);
                if e.meta.is_dir() && open {
                    todo.push((e.ino, path.clone()));
                }
                out.entry(e.ino).or_default().push(Place {
                    dir,
                    name: e.name,
                    path,
                    is_dir: e.meta.is_dir(),
                });
            }
        }
        Ok(out)
    }
}

/// The path a moved object came from: its first name below that it no longer has (else what
/// the move recorded).
fn origin(before: &[Place], now: &[Place], recorded: &str) -> String {
    before
        .iter()
        .find(|b| !now.iter().any(|n| n.same(b)))
        .map_or_else(|| recorded.to_string(), |b| b.path.clone())
}

/// `.` and `..`, which some formats list.
fn is_dot(name: &[u8]) -> bool {
    name == b"." || name == b".."
}

impl fmt::Display for Changes {
    /// The lines of `changes` for a filesystem mounted at `/`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((old, new)) = &self.label {
            writeln!(f, "{}", label_line(old.as_deref(), new))?;
        }
        if let Some((old, new)) = self.size {
            writeln!(f, "{}", size_line(old, new))?;
        }
        for line in self.boot.lines(str::to_string) {
            writeln!(f, "{line}")?;
        }
        for c in &self.items {
            writeln!(f, "{}", c.line(str::to_string))?;
        }
        Ok(())
    }
}

/// `size OLD -> NEW bytes`.
pub fn size_line(old: u64, new: u64) -> String {
    format!("size {old} -> {new} bytes")
}

/// `label "OLD" -> "NEW"`.
pub fn label_line(old: Option<&str>, new: &str) -> String {
    format!("label {:?} -> {new:?}", old.unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::fs::{FileKind, MountOptions};
    use crate::overlay::{fresh, Content};
    use crate::source::{FileSource, Source};

    /// An overlay over the sample fixture (opened read-only; nothing is ever written to it).
    fn sample() -> Overlay {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sample.iso");
        let source: Arc<dyn Source> = Arc::new(FileSource::open(&path).unwrap());
        Overlay::new(crate::fs::open(source, &MountOptions::default()).unwrap())
    }

    /// The lines `changes` prints.
    fn lines(o: &Overlay) -> Vec<String> {
        o.changes()
            .unwrap()
            .to_string()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Reverts `path` and checks that nothing is left staged.
    fn reverted(o: &Overlay, path: &str) {
        o.revert(path).unwrap();
        assert!(o.is_clean(), "{path}: {:?}", lines(o));
    }

    fn data(o: &Overlay, path: &str) -> Vec<u8> {
        let c = o.content(path).unwrap();
        let mut buf = vec![0; c.len() as usize];
        c.read_at(0, &mut buf).unwrap();
        buf
    }

    #[test]
    fn nothing_staged_lists_nothing() {
        let o = sample();
        assert!(o.changes().unwrap().is_empty());
        o.revert("/docs").unwrap();
        assert!(o.is_clean());
    }

    #[test]
    fn a_rename_is_listed_and_reverts_by_either_name() {
        for name in ["/docs/readme.txt", "/README.TXT"] {
            let o = sample();
            o.rename("/README.TXT", "/docs/readme.txt").unwrap();
            assert_eq!(lines(&o), ["R /README.TXT -> /docs/readme.txt"]);
            o.revert(name).unwrap();
            assert!(lines(&o).is_empty(), "reverted by {name}");
            assert!(o.is_clean(), "reverted by {name}");
            assert!(o.find("/README.TXT").is_ok());
        }
    }

    #[test]
    fn a_renamed_directory_with_a_changed_file_reverts_whole() {
        let o = sample();
        let before = data(&o, "/docs/guide/intro.txt");
        o.rename("/docs", "/d").unwrap();
        o.set_content("/d/guide/intro.txt", Content::bytes(b"new\n".to_vec()))
            .unwrap();
        assert_eq!(lines(&o), ["R /docs/ -> /d/", "M /d/guide/intro.txt"]);
        reverted(&o, "/d");
        assert_eq!(data(&o, "/docs/guide/intro.txt"), before);
    }

    #[test]
    fn a_removed_directory_lists_all_it_held_and_comes_back() {
        let o = sample();
        o.remove("/docs").unwrap();
        assert_eq!(
            lines(&o),
            [
                "D /docs/",
                "D /docs/empty.txt",
                "D /docs/guide/",
                "D /docs/guide/intro.txt",
                "D /docs/intro-hardlink.txt",
                "D /docs/readme-link",
            ]
        );
        assert!(o.revert("/docs/guide").is_err(), "its directory is gone");
        o.revert("/docs").unwrap();
        assert!(o.is_clean());
        assert_eq!(o.find("/docs/guide/intro.txt").unwrap().meta.nlink, 2);
    }

    #[test]
    fn a_removed_hard_link_comes_back_with_its_link_count() {
        let o = sample();
        o.remove("/docs/intro-hardlink.txt").unwrap();
        assert_eq!(lines(&o), ["D /docs/intro-hardlink.txt"]);
        o.revert("/docs/intro-hardlink.txt").unwrap();
        assert_eq!(o.find("/docs/intro-hardlink.txt").unwrap().meta.nlink, 2);
        assert!(o.is_clean(), "{:?}", lines(&o));
    }

    #[test]
    fn a_new_link_is_added_and_reverted() {
        let o = sample();
        o.link("/README.TXT", "/again").unwrap();
        assert_eq!(lines(&o), ["A /again"]);
        reverted(&o, "/again");
        assert_eq!(o.find("/README.TXT").unwrap().meta.nlink, 1);
    }

    #[test]
    fn metadata_only_changes_say_what_changed() {
        let o = sample();
        let mode = o.find("/README.TXT").unwrap().meta.mode;
        assert_eq!(mode, 0o644);
        o.change_meta("/README.TXT", |m| {
            m.mode = 0o755;
            (m.uid, m.gid) = (1000, 100);
            Ok(())
        })
        .unwrap();
        o.change_meta("/isolinux", |m| {
            m.mtime = crate::fs::Timestamp { secs: 1, nanos: 0 };
            Ok(())
        })
        .unwrap();
        o.set_xattrs(
            "/docs/empty.txt",
            vec![crate::fs::Xattr {
                name: b"user.x".to_vec(),
                value: b"1".to_vec(),
            }],
        )
        .unwrap();
        assert_eq!(
            lines(&o),
            [
                "m /README.TXT (mode 0644 -> 0755, owner 0:0 -> 1000:100)",
                "m /docs/empty.txt (xattrs)",
                "m /isolinux/ (times)",
            ]
        );
        reverted(&o, "/");
        assert_eq!(o.find("/README.TXT").unwrap().meta.mode, 0o644);
    }

    #[test]
    fn a_file_removed_and_made_again_is_modified() {
        let o = sample();
        let before = data(&o, "/README.TXT");
        o.remove("/README.TXT").unwrap();
        let meta = fresh(FileKind::File, 0o600);
        o.create("/README.TXT", meta, Some(Content::bytes(b"x".to_vec())))
            .unwrap();
        assert_eq!(lines(&o), ["M /README.TXT (mode 0644 -> 0600)"]);
        reverted(&o, "/README.TXT");
        assert_eq!(data(&o, "/README.TXT"), before);
    }

    #[test]
    fn a_file_replaced_by_a_directory_is_removed_and_added() {
        let o = sample();
        o.remove("/README.TXT").unwrap();
        o.create("/README.TXT", fresh(FileKind::Dir, 0o755), None)
            .unwrap();
        o.create("/README.TXT/in", fresh(FileKind::File, 0o644), None)
            .unwrap();
        assert_eq!(
            lines(&o),
            ["D /README.TXT", "A /README.TXT/", "A /README.TXT/in"]
        );
        reverted(&o, "/README.TXT");
    }

    #[test]
    fn a_file_replaced_by_a_symlink_is_removed_and_added() {
        let o = sample();
        o.remove("/README.TXT").unwrap();
        let mut link = fresh(FileKind::Symlink, 0o777);
        link.symlink = Some(b"docs".to_vec());
        o.create("/README.TXT", link, None).unwrap();
        assert_eq!(lines(&o), ["D /README.TXT", "A /README.TXT"]);
        reverted(&o, "/README.TXT");
    }

    #[test]
    fn a_name_taken_since_a_move_stops_the_move_back() {
        let o = sample();
        o.rename("/README.TXT", "/moved").unwrap();
        o.create("/README.TXT", fresh(FileKind::File, 0o644), None)
            .unwrap();
        assert_eq!(lines(&o), ["A /README.TXT", "R /README.TXT -> /moved"]);
        let err = o.revert("/moved").unwrap_err().to_string();
        assert!(err.contains("/README.TXT"), "{err}");
        reverted(&o, "/README.TXT");
    }

    #[test]
    fn a_file_moved_out_of_a_moved_directory_then_removed() {
        let o = sample();
        o.rename("/docs", "/d").unwrap();
        o.rename("/d/guide/intro.txt", "/i").unwrap();
        o.remove("/d").unwrap();
        assert_eq!(
            lines(&o),
            [
                "D /docs/",
                "D /docs/empty.txt",
                "D /docs/guide/",
                "D /docs/intro-hardlink.txt",
                "D /docs/readme-link",
                "R /docs/guide/intro.txt -> /i",
            ]
        );
        let err = o.revert("/i").unwrap_err().to_string();
        assert!(err.contains("directory it was in is removed"), "{err}");
        reverted(&o, "/docs");
        assert!(o.find("/i").is_err());
        assert!(o.find("/docs/guide/intro.txt").is_ok());
    }

    #[test]
    fn moves_twice_show_the_first_place() {
        let o = sample();
        o.rename("/docs", "/d").unwrap();
        o.rename("/d/guide/intro.txt", "/d/x").unwrap();
        o.rename("/d/x", "/d/y").unwrap();
        assert_eq!(
            lines(&o),
            ["R /docs/ -> /d/", "R /docs/guide/intro.txt -> /d/y"]
        );
        o.revert("/docs/guide/intro.txt").unwrap();
        assert_eq!(lines(&o), ["R /docs/ -> /d/"]);
        assert!(o.find("/d/guide/intro.txt").is_ok());
        o.rename("/d", "/docs").unwrap();
        assert!(lines(&o).is_empty(), "moved back by hand: no change");
    }

    #[test]
    fn what_was_moved_into_a_new_directory_goes_back_when_it_is_reverted() {
        let o = sample();
        o.create("/n", fresh(FileKind::Dir, 0o755), None).unwrap();
        o.create("/n/m", fresh(FileKind::Dir, 0o755), None).unwrap();
        o.rename("/README.TXT", "/n/m/r").unwrap();
        assert_eq!(lines(&o), ["A /n/", "A /n/m/", "R /README.TXT -> /n/m/r"]);
        reverted(&o, "/n");
        assert!(o.find("/README.TXT").is_ok());
    }

    #[test]
    fn the_label_is_listed_first() {
        let o = sample();
        o.set_label("NEW");
        o.create("/a", fresh(FileKind::File, 0o644), None).unwrap();
        let old = o.base().label().unwrap_or_default();
        assert_eq!(
            lines(&o),
            [format!("label {old:?} -> \"NEW\""), "A /a".into()]
        );
        o.revert("/a").unwrap();
        assert!(!o.is_clean(), "the label stays until revert-all");
    }
}
