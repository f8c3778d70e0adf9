//! The tree to write, gathered once from the [`FileSystem`] given to the writer: one [`Obj`]
//! per file entry to record (hard links are one object named by several entries), in the
//! order their data will lie (directories breadth first, each in its listed order), with the
//! original's file entry for objects of the original and the unique id each keeps or gets.

use std::collections::{HashMap, VecDeque};

use super::super::file_entry::{Data, FileEntry};
use super::super::{cs0, path, UdfFs};
use crate::error::{Error, Result};
use crate::fs::iso9660::write::file_spans;
use crate::fs::{FileKind, FileSystem, Ino, Metadata, Span};
use crate::overlay::Provenance;

/// The longest name a file identifier records, in bytes of CS0 (its length field is a byte).
pub const NAME_MAX: usize = 255;
/// The first unique id a file other than the root may have (UDF 3.2.1.1: 0-15 are reserved).
const FIRST_UNIQUE: u64 = 16;

/// One file entry to record.
pub(super) struct Obj {
    /// Its inode in the tree written from.
    pub(super) ino: Ino,
    /// Its path from the root (`/a/b`; `/` for the root).
    pub(super) path: String,
    pub(super) meta: Metadata,
    pub(super) prov: Provenance,
    /// The original's file entry, for objects of the original.
    pub(super) fe: Option<FileEntry>,
    /// Parent directory (the root's is itself).
    pub(super) parent: usize,
    /// Directories: the entries, as CS0 names and the objects they name.
    pub(super) children: Vec<(Vec<u8>, usize)>,
    /// The data recorded: a file's, or a symlink's path components.
    pub(super) data: Vec<Span>,
    /// The data as the original's entry embeds it, kept there while it did not change.
    pub(super) embedded: Option<Vec<u8>>,
    /// On a bridge image, the block of the ISO 9660 file whose data it shares.
    pub(super) shared: Option<u32>,
    pub(super) size: u64,
    /// File identifiers naming it (a directory's own parent entries included).
    pub(super) links: u16,
    /// The unique id (UDF 3.2.1.1), the root's 0.
    pub(super) unique: u64,
}

/// The objects, the root first.
pub(super) struct Tree {
    pub(super) objs: Vec<Obj>,
    /// The unique id after the highest one given.
    pub(super) next_unique: u64,
}

/// The original's entry an object of the tree starts from (its ino, provenance and path), if
/// any: by inode when the tree is the UDF tree, by path when it is the ISO 9660 tree of a
/// bridge image.
pub(super) type Template<'a> = dyn Fn(Ino, Provenance, &str) -> Result<Option<FileEntry>> + 'a;

/// The CS0 identifier `name` is recorded as, or why it cannot be.
pub fn cs0_name(name: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let text = std::str::from_utf8(name).map_err(|_| "the name is not UTF-8".to_string())?;
    let ident = cs0::encode(text);
    if ident.len() > NAME_MAX {
        return Err(format!(
            "{} bytes of CS0 (one per character below U+0100, else two, and one more), over \
             the {NAME_MAX} a UDF file identifier holds",
            ident.len()
        ));
    }
    Ok(ident)
}

/// What [`Tree::gather`] walks and asks.
struct Ctx<'a> {
    original: &'a UdfFs,
    tree: &'a dyn FileSystem,
    provenance: &'a dyn Fn(Ino) -> Provenance,
    template: &'a Template<'a>,
}

/// The original's entry of an object of its own UDF tree (by inode).
pub(super) fn by_ino(
    original: &UdfFs,
) -> impl Fn(Ino, Provenance, &str) -> Result<Option<FileEntry>> + '_ {
    move |ino, prov, _| match prov {
        Provenance::Base { .. } => Ok(Some(original.node(ino)?.fe.clone())),
        Provenance::New => Ok(None),
    }
}

/// The original's entry of the file at the same path, for an object of the original's ISO
/// 9660 tree of a bridge image.
pub(super) fn by_path(
    original: &UdfFs,
) -> impl Fn(Ino, Provenance, &str) -> Result<Option<FileEntry>> + '_ {
    move |_, prov, path| match prov {
        Provenance::Base { .. } => match original.ino_at(path)? {
            Some(ino) => Ok(Some(original.node(ino)?.fe.clone())),
            None => Ok(None),
        },
        Provenance::New => Ok(None),
    }
}

impl Tree {
    /// Walks `tree` from its root. `inode_is_entry`: the tree's inodes are file entries (the
    /// UDF tree; not the ISO 9660 tree of a bridge, where files without Rock Ridge share
    /// inode numbers). `next_unique` is the original's next unique id.
    pub(super) fn gather(
        original: &UdfFs,
        tree: &dyn FileSystem,
        provenance: &dyn Fn(Ino) -> Provenance,
        template: &Template,
        inode_is_entry: bool,
        next_unique: u64,
    ) -> Result<Tree> {
        let image = original.image().to_string();
        let mut t = Tree {
            objs: Vec::new(),
            next_unique: next_unique.max(FIRST_UNIQUE),
        };
        let root = tree.root();
        let ctx = Ctx {
            original,
            tree,
            provenance,
            template,
        };
        t.add(&ctx, root, tree.metadata(root)?, 0, "/".into())?;
        let mut links: HashMap<Ino, usize> = HashMap::new();
        let mut queue = VecDeque::from([0usize]);
        while let Some(dir) = queue.pop_front() {
            let ino = t.objs[dir].ino;
            for e in tree.read_dir(ino)? {
                let name = cs0_name(&e.name).map_err(|why| Error::CannotStoreName {
                    path: String::from_utf8_lossy(&e.name).into_owned(),
                    format: "UDF",
                    why,
                })?;
                // UDF inodes are ICB addresses: one inode, one file entry, whatever its
                // link count says (pycdlib records 1 for hard links).
                let linked = e.meta.kind != FileKind::Dir && (e.meta.nlink > 1 || inode_is_entry);
                let obj = match links.get(&e.ino).filter(|_| linked) {
                    Some(&obj) => obj,
                    None => {
                        let parent = &t.objs[dir].path;
                        let path = format!(
                            "{}/{}",
                            parent.trim_end_matches('/'),
                            String::from_utf8_lossy(&e.name)
                        );
                        let obj = t.add(&ctx, e.ino, e.meta, dir, path)?;
                        if linked {
                            links.insert(e.ino, obj);
                        }
                        if t.objs[obj].meta.is_dir() {
                            queue.push_back(obj);
                        }
                        obj
                    }
                };
                let o = &mut t.objs[obj];
                o.links = o.links.checked_add(1).ok_or_else(|| {
                    Error::unsupported(&image, "a file with over 65535 names in UDF")
                })?;
                t.objs[dir].children.push((name, obj));
                if t.objs[obj].meta.is_dir() {
                    // Its parent entry names the directory it is in.
                    t.objs[dir].links = t.objs[dir].links.saturating_add(1);
                }
            }
        }
        // The root's own parent entry names it.
        t.objs[0].links = t.objs[0].links.saturating_add(1);
        for o in t.objs.iter_mut().skip(1).filter(|o| o.unique == 0) {
            o.unique = t.next_unique;
            t.next_unique += 1;
        }
        original.check_nothing_hidden()?;
        Ok(t)
    }

    /// What of the original the writer leaves out, as warnings: named streams (a stream
    /// directory, UDF 2.00+), extended attributes held in their own ICB, and the volume's
    /// system stream directory. Extended attributes inside a file entry are kept.
    pub(super) fn dropped(&self, original: &UdfFs) -> Result<Vec<String>> {
        let image = original.image();
        let has = |fe: &FileEntry| {
            fe.extended_attribute_icb.len > 0
                || fe
                    .extended
                    .as_ref()
                    .is_some_and(|x| x.stream_directory.len > 0)
        };
        let mut with = self
            .objs
            .iter()
            .filter(|o| o.fe.as_ref().is_some_and(has))
            .map(|o| o.path.as_str());
        let mut out = Vec::new();
        if let Some(first) = with.next() {
            let more = with.count();
            out.push(format!(
                "{image}: the named streams and separately recorded extended attributes of {} \
                 ({}) are not written",
                first,
                match more {
                    0 => "one file".to_string(),
                    n => format!("{} files", n + 1),
                }
            ));
        }
        if original.file_set()?.system_stream_directory.len > 0 {
            out.push(format!(
                "{image}: the volume's system stream directory is not written"
            ));
        }
        Ok(out)
    }

    /// Adds the object `ino` of the tree under `parent`; returns its index.
    fn add(
        &mut self,
        ctx: &Ctx,
        ino: Ino,
        meta: Metadata,
        parent: usize,
        path: String,
    ) -> Result<usize> {
        let (original, tree) = (ctx.original, ctx.tree);
        let prov = (ctx.provenance)(ino);
        let fe = (ctx.template)(ino, prov, &path)?;
        let data = match meta.kind {
            FileKind::File if meta.size > 0 => file_spans(tree, ino, &meta)?,
            FileKind::Symlink => {
                let target = meta.symlink.clone().unwrap_or_default();
                let components = path::encode(&target).ok_or_else(|| {
                    Error::unsupported(
                        original.image(),
                        format!(
                            "a symbolic link to {:?}: a component over 255 bytes of CS0",
                            String::from_utf8_lossy(&target)
                        ),
                    )
                })?;
                vec![Span::Bytes(components.into())]
            }
            _ => Vec::new(),
        };
        let size = data.iter().map(Span::len).sum();
        let embedded = match &fe {
            Some(FileEntry {
                data: Data::Embedded { bytes, .. },
                ..
            }) if prov.data_kept() && bytes.len() as u64 == size => Some(bytes.clone()),
            _ => None,
        };
        // The root's is 0; the others keep theirs, or get one once all are known.
        let unique = match (&fe, self.objs.is_empty()) {
            (_, true) => 0,
            (Some(fe), false) if fe.unique_id >= FIRST_UNIQUE => fe.unique_id,
            _ => 0,
        };
        self.next_unique = self.next_unique.max(unique + 1);
        self.objs.push(Obj {
            ino,
            path,
            meta,
            prov,
            fe,
            parent,
            children: Vec::new(),
            data,
            embedded,
            shared: None,
            size,
            links: 0,
            unique,
        });
        Ok(self.objs.len() - 1)
    }
}
