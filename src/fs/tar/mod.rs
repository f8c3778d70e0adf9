//! tar archives as filesystems (in-house): v7, ustar, GNU and pax headers; long names and
//! links, hard links (sharing the data of the member they name), symlinks, devices, FIFOs,
//! directories implied by member paths, later members replacing earlier ones, sparse members
//! (GNU old, pax 0.0, 0.1 and 1.0) read with their holes as zeros. Plain or compressed (gzip,
//! xz, zstd, bzip2, lzma, lz4, compress, lzip): a compressed archive is read through a
//! [`StreamSource`], decoded again from its checkpoints on each read, never spooled whole.
//! The archive is indexed in one pass when opened (the headers read in a thread of their own
//! while this one builds the tree); members are read by offset. Names that
//! climb out with `..` are left out with a warning ([`crate::fs::left_out`]). The deb reader
//! builds its tree from two archives with [`TarFs::from_parts`].

pub mod gnu;
pub mod header;
pub mod pax;
pub mod walk;

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::Arc;

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::error::{Error, Result};
use crate::fs::left_out::{At, LeftOut};
use crate::fs::{DirEntry, FileKind, FileSystem, Ino, Metadata, MountOptions, Span, Timestamp};
use crate::source::decoded::Codec;
use crate::source::stream::StreamSource;
use crate::source::Source;
use gnu::Extent;
use walk::{Member, Walker};

/// One archive of the tree: its bytes (decoded when compressed) and its codec.
struct Part {
    data: Arc<dyn Source>,
    codec: Option<Codec>,
}

/// Where a file's data lies: in which part, from where, and for a sparse file its extents
/// (offset in the file, length, offset of its data from `at`).
#[derive(Clone, Debug)]
struct Data {
    part: usize,
    at: u64,
    extents: Option<Arc<Vec<(u64, u64, u64)>>>,
}

struct Node {
    meta: Metadata,
    data: Option<Data>,
    /// Its directory, its name in [`TarFs::names`], and the hash of both in the index.
    parent: usize,
    name: Range<usize>,
    hash: u64,
    children: Vec<usize>,
}

/// An archive to lay into the tree, under `prefix` (path components).
pub struct PartSpec {
    pub source: Arc<dyn Source>,
    pub prefix: Vec<Vec<u8>>,
}

/// An opened tar archive (or the archives of a deb).
pub struct TarFs {
    source: Arc<dyn Source>,
    kind: &'static str,
    parts: Vec<Part>,
    nodes: Vec<Node>,
    /// The nodes' names, one after another.
    names: Vec<u8>,
    /// The nodes by (directory, name), hashed with `hasher`.
    index: HashTable<usize>,
    hasher: DefaultHashBuilder,
    /// The directory the last member went into, by its path components (each followed by
    /// `/`): the members of one directory follow each other, and find it without a look-up.
    /// Forgotten when a node is replaced.
    last_dir: Option<(Vec<u8>, usize)>,
    formats: Vec<&'static str>,
    info: Vec<(String, String)>,
    left_out: LeftOut,
    skipped: usize,
}

/// Inode numbers of hard-linked files start here (others are their node's index).
const LINKED: u64 = 1 << 40;

/// Entries the tree may hold for each block of archive walked, and beyond that ratio.
const NODES_PER_BLOCK: u64 = 16;
const NODES_SLACK: u64 = 4096;

/// Members the walk hands over at a time, and batches it may be ahead.
const BATCH: usize = 256;
const BATCHES: usize = 4;

/// The longest symlink target kept.
const MAX_TARGET: usize = 64 << 10;

impl TarFs {
    /// Opens the tar archive in `source` (compressed or not).
    pub fn open(source: Arc<dyn Source>, options: &MountOptions) -> Result<Self> {
        let part = PartSpec {
            source: source.clone(),
            prefix: Vec::new(),
        };
        Self::from_parts(source, vec![part], "tar", Vec::new(), options)
    }

    /// The tree of the archives `parts` (each compressed or not) of the file `source`, of type
    /// `kind`, with `info` lines of its own.
    pub fn from_parts(
        source: Arc<dyn Source>,
        parts: Vec<PartSpec>,
        kind: &'static str,
        info: Vec<(String, String)>,
        options: &MountOptions,
    ) -> Result<Self> {
        let limits = crate::fs::cpio::limits(source.name(), options)?;
        let mut fs = TarFs {
            source,
            kind,
            parts: Vec::new(),
            nodes: vec![Node {
                meta: Metadata::synthetic_dir(0),
                data: None,
                parent: 0,
                name: 0..0,
                hash: 0,
                children: Vec::new(),
            }],
            names: Vec::new(),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            last_dir: None,
            formats: Vec::new(),
            info,
            left_out: LeftOut::default(),
            skipped: 0,
        };
        // Archive bytes walked in the parts before this one.
        let mut walked = 0;
        for spec in parts {
            let head = spec
                .source
                .read_vec(0, 6.min(spec.source.len() as usize), "tar")?;
            let codec = Codec::sniff(&head);
            let data: Arc<dyn Source> = match codec {
                Some(c) => {
                    let name = format!("{} ({} decoded)", spec.source.name(), c.name());
                    Arc::new(StreamSource::new(&spec.source, 0, c, limits, name))
                }
                None => spec.source.clone(),
            };
            fs.parts.push(Part {
                data: data.clone(),
                codec,
            });
            fs.last_dir = None;
            let walker = fs.lay_in(Walker::new(data, codec.is_none()), &spec.prefix, walked)?;
            walked += walker.position();
            for f in walker.formats {
                if !fs.formats.contains(&f) {
                    fs.formats.push(f);
                }
            }
        }
        fs.count_links();
        Ok(fs)
    }

    /// Lays the members `walker` yields into the tree under `prefix` (`walked` archive bytes
    /// went before); gives the walk back at its end. The walk goes on in a thread of its own
    /// (the headers' reads), [`BATCH`] members at a time and a few batches ahead, while this
    /// one builds the tree; a damaged header ends it with its error, after the members before.
    fn lay_in(&mut self, mut walker: Walker, prefix: &[Vec<u8>], walked: u64) -> Result<Walker> {
        /// Members (their paths taken out, into `paths`, so that their memory is freed
        /// in the thread that took it) with where the walk was after each.
        #[derive(Default)]
        struct Batch {
            members: Vec<(Member, Range<usize>, u64)>,
            paths: Vec<u8>,
        }
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Batch>>(BATCHES);
            let walk = scope.spawn(move || {
                loop {
                    let mut batch = Batch::default();
                    let mut failed = None;
                    while batch.members.len() < BATCH {
                        match walker.next_member() {
                            Ok(Some(mut m)) => {
                                let start = batch.paths.len();
                                batch.paths.extend(std::mem::take(&mut m.path));
                                let path = start..batch.paths.len();
                                batch.members.push((m, path, walker.position()));
                            }
                            Ok(None) => break,
                            Err(e) => {
                                failed = Some(e);
                                break;
                            }
                        }
                    }
                    let end = batch.members.len() < BATCH;
                    // A send fails when the tree was refused: the walk stops there too.
                    if tx.send(Ok(batch)).is_err() {
                        break;
                    }
                    if let Some(e) = failed {
                        let _ = tx.send(Err(e));
                        break;
                    }
                    if end {
                        break;
                    }
                }
                walker
            });
            for batch in rx {
                let batch = batch?;
                for (m, path, position) in batch.members {
                    let at = m.header_at;
                    self.add(m, &batch.paths[path], prefix)?;
                    self.check_growth(walked + position, at)?;
                }
            }
            Ok(walk
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        })
    }

    /// Refuses a tree grown past [`NODES_PER_BLOCK`] nodes a block of the `walked` archive
    /// bytes (the member at `at` made the last ones): the directories that deep names imply
    /// cost memory that the archive's size does not pay for.
    fn check_growth(&self, walked: u64, at: u64) -> Result<()> {
        let allowed = NODES_SLACK + NODES_PER_BLOCK * walked / header::BLOCK;
        if self.nodes.len() as u64 > allowed {
            let part = &self.parts[self.parts.len() - 1].data;
            return Err(Error::corrupt(
                part.name(),
                "tar header",
                at,
                format!(
                    "its path makes the tree {} entries for {walked} bytes of archive: \
                     more directories than real archives imply",
                    self.nodes.len()
                ),
            ));
        }
        Ok(())
    }

    /// The same tree with more `info` lines (after the type).
    pub fn with_info(mut self, more: Vec<(String, String)>) -> Self {
        self.info.extend(more);
        self
    }

    /// Lays member `m` of the last part into the tree under `prefix`.
    fn add(&mut self, mut m: Member, path: &[u8], prefix: &[Vec<u8>]) -> Result<()> {
        let part = self.parts.len() - 1;
        let name = self.parts[part].data.name().to_string();
        let Some(parts) = components(path, prefix) else {
            let at = At {
                image: &name,
                structure: "tar header",
                offset: m.header_at,
            };
            let why = "an absolute path or one with a `..` component leaves the tree";
            self.left_out.entry(&at, path, why);
            self.skipped += 1;
            return Ok(());
        };
        let kind = match m.typeflag {
            b'1' => return self.hard_link(&m, path, &parts, prefix, &name),
            b'2' => FileKind::Symlink,
            b'3' => FileKind::CharDevice,
            b'4' => FileKind::BlockDevice,
            b'5' | b'D' => FileKind::Dir,
            b'6' => FileKind::Fifo,
            _ if path.ends_with(b"/") => FileKind::Dir,
            _ => FileKind::File,
        };
        let time = Timestamp {
            secs: m.mtime.0,
            nanos: m.mtime.1,
        };
        let symlink = (kind == FileKind::Symlink).then(|| {
            let mut t = std::mem::take(&mut m.link);
            t.truncate(MAX_TARGET);
            t
        });
        let size = match &symlink {
            Some(t) => t.len() as u64,
            None => m.size,
        };
        let owner = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        let meta = Metadata {
            kind,
            mode: m.mode,
            uid: owner(m.uid),
            gid: owner(m.gid),
            size,
            nlink: if kind == FileKind::Dir { 2 } else { 1 },
            ino: 0,
            mtime: time,
            atime: time,
            ctime: time,
            rdev: matches!(kind, FileKind::CharDevice | FileKind::BlockDevice).then_some(m.dev),
            symlink,
            allocated: size,
        };
        let data = (kind == FileKind::File).then(|| Data {
            part,
            at: m.data_at,
            extents: m.sparse.as_deref().map(|map| Arc::new(stored_at(map))),
        });
        let allocated = match &data {
            Some(Data {
                extents: Some(e), ..
            }) => e.iter().map(|x| x.1).sum(),
            _ => size,
        };
        self.insert(&parts, Metadata { allocated, ..meta }, data);
        Ok(())
    }

    /// A hard link: the node it names (as the tree holds it now) shares its data and
    /// metadata; a link to nothing, or to a directory, is left out.
    fn hard_link(
        &mut self,
        m: &Member,
        path: &[u8],
        parts: &[&[u8]],
        prefix: &[Vec<u8>],
        image: &str,
    ) -> Result<()> {
        let target = components(&m.link, prefix).and_then(|t| self.find(&t));
        let Some(t) = target.filter(|t| self.nodes[*t].meta.kind != FileKind::Dir) else {
            let at = At {
                image,
                structure: "tar header",
                offset: m.header_at,
            };
            let why = format!(
                "a hard link to {}, which the archive does not hold before it",
                String::from_utf8_lossy(&m.link)
            );
            self.left_out.entry(&at, path, &why);
            self.skipped += 1;
            return Ok(());
        };
        let meta = self.nodes[t].meta.clone();
        let data = self.nodes[t].data.clone();
        let i = self.insert(parts, meta, data);
        // The link and its target share one inode number: the target's node.
        let ino = if self.nodes[t].meta.ino == 0 {
            LINKED + t as u64
        } else {
            self.nodes[t].meta.ino
        };
        self.nodes[t].meta.ino = ino;
        self.nodes[i].meta.ino = ino;
        Ok(())
    }

    /// Sets each node's inode number (its own index unless a hard link shares one) and link
    /// count.
    fn count_links(&mut self) {
        let mut counts: HashMap<u64, u32> = HashMap::new();
        for (i, n) in self.nodes.iter_mut().enumerate() {
            if n.meta.ino == 0 || n.meta.kind == FileKind::Dir {
                n.meta.ino = i as u64;
            } else {
                *counts.entry(n.meta.ino).or_default() += 1;
            }
        }
        for n in &mut self.nodes {
            if let Some(c) = counts.get(&n.meta.ino) {
                n.meta.nlink = *c;
            }
        }
    }

    fn find(&self, parts: &[&[u8]]) -> Option<usize> {
        parts.iter().try_fold(0, |dir, p| self.child(dir, p))
    }

    /// The node named `name` in directory `dir`.
    fn child(&self, dir: usize, name: &[u8]) -> Option<usize> {
        let hash = self.hasher.hash_one((dir, name));
        self.index
            .find(hash, |&i| {
                let n = &self.nodes[i];
                n.hash == hash && n.parent == dir && self.names[n.name.clone()] == *name
            })
            .copied()
    }

    /// The directory `parents` name (made, or made a directory, where missing).
    fn dir_of(&mut self, parents: &[&[u8]]) -> usize {
        if let Some((path, dir)) = &self.last_dir {
            if same_path(path, parents) {
                return *dir;
            }
        }
        let mut dir = 0;
        for p in parents {
            dir = match self.child(dir, p) {
                Some(c) if self.nodes[c].meta.is_dir() => c,
                Some(c) => {
                    self.nodes[c].meta = Metadata::synthetic_dir(0);
                    self.nodes[c].data = None;
                    c
                }
                None => self.push(dir, p, Metadata::synthetic_dir(0), None),
            };
        }
        let mut path = Vec::new();
        for p in parents {
            path.extend_from_slice(p);
            path.push(b'/');
        }
        self.last_dir = Some((path, dir));
        dir
    }

    /// Puts a member at `parts`, creating missing directories; a later member replaces an
    /// earlier one (a directory keeps its children when replaced by a directory).
    fn insert(&mut self, parts: &[&[u8]], meta: Metadata, data: Option<Data>) -> usize {
        let Some((last, parents)) = parts.split_last() else {
            self.nodes[0].meta = Metadata { ino: 0, ..meta };
            self.last_dir = None;
            return 0;
        };
        let dir = self.dir_of(parents);
        match self.child(dir, last) {
            Some(c) => {
                self.last_dir = None;
                if !(self.nodes[c].meta.is_dir() && meta.is_dir()) {
                    for i in std::mem::take(&mut self.nodes[c].children) {
                        if let Ok(e) = self.index.find_entry(self.nodes[i].hash, |&x| x == i) {
                            e.remove();
                        }
                    }
                }
                let n = &mut self.nodes[c];
                n.meta = meta;
                n.data = data;
                c
            }
            None => self.push(dir, last, meta, data),
        }
    }

    fn push(&mut self, dir: usize, name: &[u8], meta: Metadata, data: Option<Data>) -> usize {
        let i = self.nodes.len();
        let start = self.names.len();
        self.names.extend_from_slice(name);
        let hash = self.hasher.hash_one((dir, name));
        self.nodes.push(Node {
            meta,
            data,
            parent: dir,
            name: start..self.names.len(),
            hash,
            children: Vec::new(),
        });
        self.nodes[dir].children.push(i);
        let nodes = &self.nodes;
        self.index.insert_unique(hash, i, |&x| nodes[x].hash);
        i
    }

    fn node(&self, ino: Ino) -> Result<&Node> {
        self.nodes
            .get(ino as usize)
            .ok_or_else(|| Error::NotFound(format!("{}: inode {ino}", self.source.name())))
    }

    fn entry(&self, i: usize) -> DirEntry {
        DirEntry {
            name: self.names[self.nodes[i].name.clone()].to_vec(),
            ino: i as u64,
            meta: self.nodes[i].meta.clone(),
        }
    }

    /// What `mounts` says: the header formats and the compression of each archive.
    fn storage(&self) -> String {
        let mut parts: Vec<String> = self.formats.iter().map(|f| f.to_string()).collect();
        for p in &self.parts {
            if let Some(c) = p.codec {
                let said = format!("{} decoded on demand", c.name());
                if !parts.contains(&said) {
                    parts.push(said);
                }
            }
        }
        parts.join(", ")
    }
}

/// The extents of a sparse map with where each one's data is stored, from the member's data
/// start: (offset in the file, length, offset of its data).
pub fn stored_at(map: &[Extent]) -> Vec<(u64, u64, u64)> {
    let mut at = 0;
    map.iter()
        .map(|(offset, len)| {
            let e = (*offset, *len, at);
            at += len;
            e
        })
        .collect()
}

/// The spans of a file of `size` bytes: whole, or for a sparse file its `extents` (from
/// [`stored_at`]) with the holes between them as zeros; the bytes of each piece are the span
/// `stored(offset from the member's data start, length)` gives.
pub fn file_spans(
    size: u64,
    extents: Option<&[(u64, u64, u64)]>,
    mut stored: impl FnMut(u64, u64) -> Result<Span>,
) -> Result<Vec<Span>> {
    let Some(extents) = extents else {
        return Ok(vec![stored(0, size)?]);
    };
    let mut spans = Vec::new();
    let mut pos = 0;
    for &(start, len, at) in extents {
        if start > pos {
            spans.push(Span::Zeros(start - pos));
        }
        if len > 0 {
            spans.push(stored(at, len)?);
        }
        pos = start + len;
    }
    if size > pos {
        spans.push(Span::Zeros(size - pos));
    }
    Ok(spans)
}

/// Whether `path` (components each followed by `/`) names the components `parts`.
fn same_path(path: &[u8], parts: &[&[u8]]) -> bool {
    let mut rest = path;
    for p in parts {
        match rest.strip_prefix(*p).and_then(|r| r.strip_prefix(b"/")) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

/// The path components of a member name under `prefix`, or `None` when it is absolute or
/// climbs with `..`.
fn components<'a>(name: &'a [u8], prefix: &'a [Vec<u8>]) -> Option<Vec<&'a [u8]>> {
    if name.starts_with(b"/") {
        return None;
    }
    let parts: Vec<&[u8]> = name
        .split(|b| *b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .collect();
    if parts.contains(&&b".."[..]) {
        return None;
    }
    Some(prefix.iter().map(|p| p.as_slice()).chain(parts).collect())
}

impl FileSystem for TarFs {
    fn type_name(&self) -> &'static str {
        self.kind
    }
    fn source(&self) -> &Arc<dyn Source> {
        &self.source
    }
    fn label(&self) -> Option<String> {
        None
    }
    fn root(&self) -> Ino {
        0
    }
    fn metadata(&self, ino: Ino) -> Result<Metadata> {
        Ok(self.node(ino)?.meta.clone())
    }
    fn read_dir(&self, dir: Ino) -> Result<Vec<DirEntry>> {
        Ok(self
            .node(dir)?
            .children
            .iter()
            .map(|i| self.entry(*i))
            .collect())
    }
    fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Option<DirEntry>> {
        self.node(dir)?;
        Ok(self.child(dir as usize, name).map(|i| self.entry(i)))
    }
    fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let node = self.node(ino)?;
        let Some(data) = &node.data else {
            return Ok(0);
        };
        let size = node.meta.size;
        if offset >= size {
            return Ok(0);
        }
        let want = buf.len().min((size - offset) as usize);
        let src = &self.parts[data.part].data;
        let Some(extents) = &data.extents else {
            src.read_exact_at(data.at + offset, &mut buf[..want], "tar member data")?;
            return Ok(want);
        };
        // Holes read as zeros; each extent's bytes from where they are stored.
        let buf = &mut buf[..want];
        buf.fill(0);
        let end = offset + want as u64;
        let first = extents.partition_point(|e| e.0 + e.1 <= offset);
        for &(start, len, stored) in &extents[first..] {
            if start >= end {
                break;
            }
            let from = start.max(offset);
            let to = (start + len).min(end);
            let into = &mut buf[(from - offset) as usize..(to - offset) as usize];
            src.read_exact_at(data.at + stored + (from - start), into, "tar member data")?;
        }
        Ok(want)
    }
    fn spans(&self, ino: Ino) -> Result<Option<Vec<Span>>> {
        let node = self.node(ino)?;
        let Some(data) = &node.data else {
            return Ok(None);
        };
        let part = &self.parts[data.part];
        if part.codec.is_some() {
            return Ok(None);
        }
        let src = &part.data;
        let spans = file_spans(
            node.meta.size,
            data.extents.as_deref().map(|e| &e[..]),
            |at, len| Ok(Span::source(src, data.at + at, len)),
        )?;
        Ok(Some(spans))
    }
    fn left_out(&self) -> Option<String> {
        self.left_out.said()
    }
    fn detail(&self) -> Option<String> {
        Some(self.storage())
    }
    fn info(&self) -> Vec<(String, String)> {
        let mut v = vec![("Filesystem".to_string(), self.kind.to_string())];
        v.extend(self.info.iter().cloned());
        v.push(("Formats".into(), self.formats.join(", ")));
        v.push(("Entries".into(), (self.nodes.len() - 1).to_string()));
        for p in &self.parts {
            if let Some(c) = p.codec {
                let len = p.data.len();
                v.push((
                    "Stream".into(),
                    format!("{}: {} bytes decoded ({})", p.data.name(), len, c.name()),
                ));
            }
        }
        if self.skipped > 0 {
            v.push(("Unsafe names left out".into(), self.skipped.to_string()));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use std::sync::atomic::{AtomicU64, Ordering};

    use super::walk::Walker;
    use super::TarFs;
    use crate::fs::{FileSystem, MountOptions};
    use crate::source::{MemSource, Source};

    /// A ustar header block for `name` of type `flag` and `size`, checksum set.
    fn header(name: &str, flag: u8, size: u64, link: &str) -> Vec<u8> {
        let mut b = vec![0u8; 512];
        b[..name.len()].copy_from_slice(name.as_bytes());
        b[100..108].copy_from_slice(b"0000644\0");
        b[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
        b[136..148].copy_from_slice(b"14523241200\0");
        b[156] = flag;
        b[157..157 + link.len()].copy_from_slice(link.as_bytes());
        b[257..265].copy_from_slice(b"ustar\x0000");
        b[148..156].copy_from_slice(b"        ");
        let sum: u32 = b.iter().map(|c| u32::from(*c)).sum();
        b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        b
    }

    fn member(out: &mut Vec<u8>, name: &str, flag: u8, data: &[u8], link: &str) {
        out.extend(header(name, flag, data.len() as u64, link));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }

    fn read(fs: &TarFs, path: &[&str]) -> Vec<u8> {
        let mut ino = 0;
        for p in path {
            ino = fs.lookup(ino, p.as_bytes()).unwrap().unwrap().ino;
        }
        let mut buf = vec![0u8; 100];
        let n = fs.read_at(ino, 0, &mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    /// Bytes in memory that count the reads made of them and the bytes asked for.
    struct Counted {
        bytes: MemSource,
        reads: AtomicU64,
        asked: AtomicU64,
    }

    impl Source for Counted {
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> crate::error::Result<usize> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            self.asked.fetch_add(buf.len() as u64, Ordering::Relaxed);
            self.bytes.read_at(offset, buf)
        }
        fn len(&self) -> u64 {
            self.bytes.len()
        }
        fn name(&self) -> &str {
            self.bytes.name()
        }
    }

    /// The reads a walk of `archive` (its end blocks added) makes, and the bytes it asks for.
    fn walk_reads(mut archive: Vec<u8>) -> (u64, u64) {
        archive.resize(archive.len() + 1024, 0);
        let src = Arc::new(Counted {
            bytes: MemSource::new(archive, "mem"),
            reads: AtomicU64::new(0),
            asked: AtomicU64::new(0),
        });
        let mut walk = Walker::new(src.clone(), true);
        while walk.next_member().unwrap().is_some() {}
        (
            src.reads.load(Ordering::Relaxed),
            src.asked.load(Ordering::Relaxed),
        )
    }

    #[test]
    fn small_members_share_a_read_and_large_ones_are_read_a_header_at_a_time() {
        let mut small = Vec::new();
        for i in 0..64 {
            member(&mut small, &format!("f{i}"), b'0', &[b'x'; 100], "");
        }
        let (reads, _) = walk_reads(small);
        assert!(reads <= 16, "{reads} reads for 64 small members");
        let mut large = Vec::new();
        for i in 0..8 {
            member(&mut large, &format!("l{i}"), b'0', &vec![7; 1 << 20], "");
        }
        // Eight headers and the end: a block each, none of the data.
        assert_eq!(walk_reads(large), (9, 9 * 512));
    }

    #[test]
    fn members_replace_link_and_imply_directories() {
        let mut a = Vec::new();
        member(&mut a, "d/f", b'0', b"first", "");
        member(&mut a, "d/link", b'1', b"", "d/f");
        member(&mut a, "d/f", b'0', b"second", "");
        member(&mut a, "../evil", b'0', b"x", "");
        a.resize(a.len() + 1024, 0);
        let src = Arc::new(MemSource::new(a, "mem"));
        let fs = TarFs::open(src, &MountOptions::default()).unwrap();
        assert_eq!(read(&fs, &["d", "f"]), b"second");
        assert_eq!(read(&fs, &["d", "link"]), b"first");
        assert!(fs.lookup(0, b"evil").unwrap().is_none());
        assert!(fs.left_out().is_some());
    }

    #[test]
    fn deep_names_cannot_grow_the_tree_past_what_the_archive_pays_for() {
        let mut a = Vec::new();
        let deep = "a/".repeat(6000);
        member(&mut a, "././@LongLink", b'L', deep.as_bytes(), "");
        member(&mut a, "x", b'0', b"data", "");
        let src = Arc::new(MemSource::new(a, "mem"));
        let err = TarFs::open(src, &MountOptions::default())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("tar header at offset 0") && err.contains("more directories"),
            "{err}"
        );
    }

    /// The walk hands members over in batches from a thread of its own: a later member still
    /// replaces an earlier one in another batch, a hard link still finds its target, and a
    /// damaged header far in still fails the whole archive, naming its offset.
    #[test]
    fn members_across_batches_keep_their_order() {
        let mut a = Vec::new();
        member(&mut a, "d/f", b'0', b"first", "");
        for i in 0..3 * super::BATCH {
            member(&mut a, &format!("d/{}/x{i}", i % 7), b'0', b"x", "");
        }
        member(&mut a, "d/link", b'1', b"", "d/f");
        member(&mut a, "d/f", b'0', b"second", "");
        let good = a.len();
        a.resize(a.len() + 1024, 0);
        let fs = TarFs::open(
            Arc::new(MemSource::new(a.clone(), "mem")),
            &Default::default(),
        );
        let fs = fs.unwrap();
        assert_eq!(read(&fs, &["d", "f"]), b"second");
        assert_eq!(read(&fs, &["d", "link"]), b"first");
        assert_eq!(read(&fs, &["d", "3", "x703"]), b"x");
        assert_eq!(fs.read_dir(0).unwrap().len(), 1);
        let d = fs.lookup(0, b"d").unwrap().unwrap().ino;
        assert_eq!(fs.read_dir(d).unwrap().len(), 7 + 2);
        a[good - 1024 + 148] = b'7';
        let err = TarFs::open(Arc::new(MemSource::new(a, "mem")), &Default::default())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains(&format!("tar header at offset {}", good - 1024)),
            "{err}"
        );
    }

    #[test]
    fn a_bad_checksum_is_an_error_naming_the_offset() {
        let mut a = Vec::new();
        member(&mut a, "f", b'0', b"data", "");
        member(&mut a, "g", b'0', b"data", "");
        a[1024 + 148] = b'7';
        let src = Arc::new(MemSource::new(a, "mem"));
        let err = TarFs::open(src, &MountOptions::default())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("tar header at offset 1024"), "{err}");
    }
}
