//! cpio archives and Linux initrds (in-house): newc, crc, odc and old binary headers; plain or
//! afio's large ASCII headers among odc ones; plain or
//! compressed with gzip, xz, lzma, zstd, lz4 or bzip2; several archives one after another (an
//! early-microcode cpio, padding, then a compressed one). Members are laid into one tree as the
//! kernel unpacks them: later members replace earlier ones of the same path, hard links share
//! the data of the link that carries it, names with `..` are left out with a warning
//! ([`crate::fs::left_out`]).

pub mod afio;
mod archive;
pub mod bin;
pub mod header;
pub mod newc;
pub mod odc;
pub mod write;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{lock_cache as lock, Error, Result};
use crate::fs::left_out::{At, LeftOut};
use crate::fs::{
    Attribute, DirEntry, FileKind, FileSystem, Ino, Metadata, MountOptions, Span, Timestamp,
};
use crate::source::decoded::Limits;
use crate::source::stream::StreamSource;
use crate::source::Source;
pub use archive::Catalog;
use archive::{Cut, Member, Walker};

/// The longest symlink target read.
const MAX_TARGET: u64 = 4096;

/// Where a file's data lies.
#[derive(Clone, Copy, Debug)]
struct Data {
    segment: usize,
    offset: u64,
}

#[derive(Clone)]
struct Node {
    meta: Metadata,
    data: Option<Data>,
    /// Children by name, in the order they first appeared.
    children: Vec<(Vec<u8>, usize)>,
}

/// An opened cpio archive or initrd.
pub struct CpioFs {
    source: Arc<dyn Source>,
    /// The tree as far as the walk has gone.
    tree: Mutex<Tree>,
    /// The members left out (their paths leave the tree, or lie past the limit).
    left_out: LeftOut,
    /// The compression level a rebuilt stream takes (`level=N`), if the user set one.
    level: Option<u32>,
}

/// One member as the walk met it, in archive order: what the writer copies or replaces.
#[derive(Clone)]
struct Recorded {
    unit: usize,
    segment: usize,
    header_at: u64,
    /// Where the member ends in its segment, padding included.
    end: u64,
    format: &'static str,
    name: Vec<u8>,
    header: header::Header,
    /// The node it was laid at (`None`: left out of the tree).
    node: Option<usize>,
}

/// The members found so far, laid out as the kernel would.
struct Tree {
    walker: Walker,
    /// The walk reached its end (or the limit) and hard links were resolved.
    finished: bool,
    nodes: Vec<Node>,
    /// (directory, name) -> node, so a crowded directory is not searched name by name.
    index: HashMap<(usize, Vec<u8>), usize>,
    formats: Vec<&'static str>,
    skipped: usize,
    /// Files with more than one link, by (device, inode): resolved at the end of the walk.
    links: HashMap<(u32, u32, u64), Vec<usize>>,
    /// The damaged structure the walk stopped at: (image, structure, offset, detail).
    broken: Option<(String, &'static str, u64, String)>,
    /// Every member walked, in order.
    members: Vec<Recorded>,
}

/// Decoded bytes the walk goes through when the archive is opened; the rest is walked when a
/// listing or a name not yet found needs it.
const EAGER: u64 = 64 << 20;

/// Reads the `memory=SIZE` and `limit=SIZE` mount options (K, M, G suffixes).
pub fn limits(image: &str, options: &MountOptions) -> Result<Limits> {
    let mut limits = Limits::default();
    for opt in &options.0 {
        let Some((key, value)) = opt.split_once('=') else {
            continue;
        };
        let slot = match key {
            "memory" => &mut limits.memory,
            "limit" => &mut limits.total,
            _ => continue,
        };
        *slot = parse_size(value).ok_or_else(|| {
            Error::Usage(format!(
                "{image}: option {key}={value}: not a size (e.g. 64M)"
            ))
        })?;
    }
    Ok(limits)
}

/// A size in bytes with an optional K, M or G suffix (`64M`).
pub(crate) fn parse_size(s: &str) -> Option<u64> {
    let (digits, shift) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 10),
        b'M' | b'm' => (&s[..s.len() - 1], 20),
        b'G' | b'g' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// The path components of a member name, or `None` when it climbs with `..`.
fn components(name: &[u8]) -> Option<Vec<&[u8]>> {
    let parts: Vec<&[u8]> = name
        .split(|b| *b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .collect();
    (!parts.iter().any(|c| *c == b"..")).then_some(parts)
}

impl CpioFs {
    /// Opens the archive (or initrd) in `source`: walks its members as far as the first 64 MiB
    /// decoded bytes take it, and the rest on demand.
    pub fn open(source: Arc<dyn Source>, options: &MountOptions) -> Result<Self> {
        Self::open_with(source, options, None)
    }

    /// [`open`](Self::open) for the cpio payload of a package, whose header's file list
    /// (`catalog`) names the members of a stripped payload and corrects their metadata.
    pub fn open_with(
        source: Arc<dyn Source>,
        options: &MountOptions,
        catalog: Option<Arc<dyn Catalog>>,
    ) -> Result<Self> {
        let limits = limits(source.name(), options)?;
        let mut tree = Tree {
            walker: Walker::new(source.clone(), limits, catalog),
            finished: false,
            nodes: vec![Node {
                meta: Metadata::synthetic_dir(0),
                data: None,
                children: Vec::new(),
            }],
            index: HashMap::new(),
            formats: Vec::new(),
            skipped: 0,
            links: HashMap::new(),
            broken: None,
            members: Vec::new(),
        };
        let left_out = LeftOut::default();
        while !tree.finished && tree.walker.decoded() + tree.walker.next_cost() <= EAGER {
            tree.step(&left_out)?;
        }
        Ok(CpioFs {
            level: options.level(source.name())?,
            source,
            tree: Mutex::new(tree),
            left_out,
        })
    }

    /// The tree, walked to its end first.
    fn complete(&self) -> Result<MutexGuard<'_, Tree>> {
        let mut tree = lock(&self.tree);
        while !tree.finished {
            tree.step(&self.left_out)?;
        }
        Ok(tree)
    }

    /// The tree as walked so far, after checking that `ino` is in it.
    fn walked(&self, ino: Ino) -> Result<MutexGuard<'_, Tree>> {
        let tree = lock(&self.tree);
        tree.node(ino, &self.source)?;
        Ok(tree)
    }
}

impl Tree {
    /// Walks one member further; false at the end. A damaged structure stops the walk there:
    /// every later step says so again.
    fn step(&mut self, left_out: &LeftOut) -> Result<bool> {
        if let Some((image, structure, offset, detail)) = &self.broken {
            return Err(Error::corrupt(image, structure, *offset, detail.clone()));
        }
        let stepped = self.walk_one(left_out);
        if let Err(Error::Corrupt {
            image,
            structure,
            offset,
            detail,
        }) = &stepped
        {
            self.broken = Some((image.clone(), structure, *offset, detail.clone()));
        }
        stepped
    }

    fn walk_one(&mut self, left_out: &LeftOut) -> Result<bool> {
        let Some(m) = self.walker.next()? else {
            self.finish(left_out);
            return Ok(false);
        };
        self.add(&m, left_out)?;
        Ok(true)
    }

    fn add(&mut self, m: &Member, left_out: &LeftOut) -> Result<()> {
        if !self.formats.contains(&m.format) {
            self.formats.push(m.format);
        }
        let mut recorded = Recorded {
            unit: m.unit,
            segment: m.segment,
            header_at: m.header_at,
            end: m.end,
            format: m.format,
            name: m.name.clone(),
            header: m.header.clone(),
            node: None,
        };
        let Some(parts) = components(&m.name) else {
            self.members.push(recorded);
            let at = At {
                image: self.walker.segments[m.segment].source.name(),
                structure: "cpio header",
                offset: m.header_at,
            };
            let why = "a path with a `..` component leaves the tree";
            left_out.entry(&at, &m.name, why);
            self.skipped += 1;
            return Ok(());
        };
        let mut meta = self.member_meta(m)?;
        if let Some(catalog) = &self.walker.catalog {
            catalog.amend(&m.name, &mut meta);
        }
        let is_file = meta.kind == FileKind::File;
        let data = is_file.then_some(Data {
            segment: m.segment,
            offset: m.data_offset,
        });
        let idx = self.insert(&parts, meta, data);
        recorded.node = Some(idx);
        self.members.push(recorded);
        if is_file && m.header.nlink > 1 {
            let (maj, min) = m.header.dev;
            self.links
                .entry((maj, min, m.header.ino))
                .or_default()
                .push(idx);
        }
        Ok(())
    }

    /// The end of the walk: hard links resolved, and a cut at the limit said.
    fn finish(&mut self, left_out: &LeftOut) {
        self.finished = true;
        // Hard links: the archive carries the data once (with the last link for newc).
        for group in self.links.values() {
            let carrier = group
                .iter()
                .rev()
                .find(|i| self.nodes[**i].meta.size > 0)
                .map(|i| (self.nodes[*i].meta.size, self.nodes[*i].data));
            if let Some((size, data)) = carrier {
                for i in group {
                    self.nodes[*i].meta.size = size;
                    self.nodes[*i].meta.allocated = size;
                    self.nodes[*i].data = data;
                }
            }
        }
        if let Some(cut) = &self.walker.cut {
            let at = At {
                image: &cut.image,
                structure: "cpio header",
                offset: cut.at,
            };
            let name = match &cut.member {
                Some(m) => format!("(the members after {})", String::from_utf8_lossy(m)),
                None => "(the rest of the stream)".into(),
            };
            left_out.entry(&at, name.as_bytes(), &cut_said(cut));
        }
    }

    fn member_meta(&self, m: &Member) -> Result<Metadata> {
        let source = &self.walker.segments[m.segment].source;
        let h = &m.header;
        let kind = FileKind::from_mode(h.mode).ok_or_else(|| {
            Error::corrupt(
                source.name(),
                "cpio header",
                m.data_offset,
                format!("mode {:o} names no file type", h.mode),
            )
        })?;
        let symlink = if kind == FileKind::Symlink {
            if h.filesize > MAX_TARGET {
                return Err(Error::corrupt(
                    source.name(),
                    "cpio symlink",
                    m.data_offset,
                    format!("target of {} bytes", h.filesize),
                ));
            }
            Some(source.read_vec(m.data_offset, h.filesize as usize, "cpio symlink")?)
        } else {
            None
        };
        let time = Timestamp {
            secs: h.mtime,
            nanos: 0,
        };
        let device = matches!(kind, FileKind::CharDevice | FileKind::BlockDevice);
        Ok(Metadata {
            kind,
            mode: h.mode & 0o7777,
            uid: h.uid,
            gid: h.gid,
            size: h.filesize,
            nlink: h.nlink,
            ino: h.ino,
            mtime: time,
            atime: time,
            ctime: time,
            rdev: device.then_some(h.rdev),
            symlink,
            allocated: h.filesize,
        })
    }

    /// Puts a member at `parts`, creating missing directories; a later member replaces an
    /// earlier one (a directory keeps its children when replaced by a directory).
    fn insert(&mut self, parts: &[&[u8]], meta: Metadata, data: Option<Data>) -> usize {
        let mut dir = 0;
        let Some((last, parents)) = parts.split_last() else {
            // "." itself: the root's own metadata.
            let ino = self.nodes[0].meta.ino;
            self.nodes[0].meta = Metadata { ino, ..meta };
            return 0;
        };
        for part in parents {
            dir = match self.child(dir, part) {
                Some(c) if self.nodes[c].meta.is_dir() => c,
                Some(c) => {
                    self.nodes[c] = Node {
                        meta: Metadata::synthetic_dir(0),
                        data: None,
                        children: Vec::new(),
                    };
                    c
                }
                None => self.push(dir, part, Metadata::synthetic_dir(0), None),
            };
        }
        match self.child(dir, last) {
            Some(c) => {
                let keep = self.nodes[c].meta.is_dir() && meta.is_dir();
                let mut children = std::mem::take(&mut self.nodes[c].children);
                if !keep {
                    for (name, _) in children.drain(..) {
                        self.index.remove(&(c, name));
                    }
                }
                self.nodes[c] = Node {
                    meta,
                    data,
                    children,
                };
                c
            }
            None => self.push(dir, last, meta, data),
        }
    }

    fn child(&self, dir: usize, name: &[u8]) -> Option<usize> {
        self.index.get(&(dir, name.to_vec())).copied()
    }

    fn push(&mut self, dir: usize, name: &[u8], meta: Metadata, data: Option<Data>) -> usize {
        let idx = self.nodes.len();
        self.nodes.push(Node {
            meta,
            data,
            children: Vec::new(),
        });
        self.nodes[dir].children.push((name.to_vec(), idx));
        self.index.insert((dir, name.to_vec()), idx);
        idx
    }

    fn node(&self, ino: Ino, source: &Arc<dyn Source>) -> Result<&Node> {
        self.nodes
            .get(ino as usize)
            .ok_or_else(|| Error::NotFound(format!("{}: inode {ino}", source.name())))
    }

    /// Whether node `i` is as the end of the walk leaves it: anything but a hard-linked file,
    /// whose size and data come with the link that carries them, maybe later.
    fn settled(&self, i: usize) -> bool {
        let meta = &self.nodes[i].meta;
        self.finished || meta.kind != FileKind::File || meta.nlink <= 1
    }

    fn entry(&self, name: &[u8], i: usize) -> DirEntry {
        DirEntry {
            name: name.to_vec(),
            ino: i as u64,
            meta: self.nodes[i].meta.clone(),
        }
    }

    /// What `mounts` says: the formats and the compressed streams.
    fn detail(&self) -> Option<String> {
        let mut parts: Vec<String> = self.formats.iter().map(|f| f.to_string()).collect();
        parts.extend(
            self.streams()
                .map(|s| format!("{} decoded on demand", s.codec().name())),
        );
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// The compressed streams.
    fn streams(&self) -> impl Iterator<Item = &Arc<StreamSource>> {
        self.walker
            .segments
            .iter()
            .filter_map(|s| s.stream.as_ref())
    }
}

/// What the warning and `info` say of a walk the limit cut short.
fn cut_said(cut: &Cut) -> String {
    let what = match &cut.member {
        Some(name) => format!(
            "the data of {} passes the limit of {} decoded bytes (it reads up to there): \
             nothing after it is read",
            String::from_utf8_lossy(name),
            cut.limit
        ),
        None => format!(
            "nothing past the limit of {} decoded bytes is read",
            cut.limit
        ),
    };
    format!("{what} (a decompression bomb?); mount-loop's limit= option raises it")
}

impl FileSystem for CpioFs {
    fn type_name(&self) -> &'static str {
        "cpio"
    }
    fn left_out(&self) -> Option<String> {
        self.left_out.said()
    }
    fn refuses(&self, what: Attribute) -> Option<String> {
        (what == Attribute::Xattrs).then(|| "cpio archives record no extended attributes".into())
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
        let tree = self.walked(ino)?;
        if !tree.settled(ino as usize) {
            // A hard link's size comes with the link that carries the data.
            drop(tree);
            return Ok(self.complete()?.nodes[ino as usize].meta.clone());
        }
        Ok(tree.nodes[ino as usize].meta.clone())
    }
    fn read_dir(&self, dir: Ino) -> Result<Vec<DirEntry>> {
        let tree = self.complete()?;
        let node = tree.node(dir, &self.source)?;
        Ok(node
            .children
            .iter()
            .map(|(name, i)| tree.entry(name, *i))
            .collect())
    }
    /// A name already walked is answered at once (a member later in a stream may still replace
    /// it, as a listing would show); one not yet found walks on until it is, or to the end.
    fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Option<DirEntry>> {
        let mut tree = self.walked(dir)?;
        loop {
            if let Some(i) = tree.child(dir as usize, name) {
                if tree.settled(i) {
                    return Ok(Some(tree.entry(name, i)));
                }
            } else if tree.finished {
                return Ok(None);
            }
            tree.step(&self.left_out)?;
        }
    }
    fn read_at(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let meta = self.metadata(ino)?;
        let (src, data) = {
            let tree = lock(&self.tree);
            let Some(data) = tree.nodes[ino as usize].data else {
                return Ok(0);
            };
            (tree.walker.segments[data.segment].source.clone(), data)
        };
        if offset >= meta.size {
            return Ok(0);
        }
        let want = buf.len().min((meta.size - offset) as usize);
        src.read_exact_at(data.offset + offset, &mut buf[..want], "cpio member data")?;
        Ok(want)
    }
    fn spans(&self, ino: Ino) -> Result<Option<Vec<Span>>> {
        let meta = self.metadata(ino)?;
        let tree = lock(&self.tree);
        Ok(match tree.nodes[ino as usize].data {
            Some(d) if d.segment == 0 => {
                Some(vec![Span::source(&self.source, d.offset, meta.size)])
            }
            _ => None,
        })
    }
    fn detail(&self) -> Option<String> {
        lock(&self.tree).detail()
    }
    fn info(&self) -> Vec<(String, String)> {
        let tree = match self.complete() {
            Ok(tree) => tree,
            Err(e) => {
                let tree = lock(&self.tree);
                let mut v = self.info_of(&tree);
                v.push(("Unread".into(), format!("the walk stopped: {e}")));
                return v;
            }
        };
        self.info_of(&tree)
    }
}

impl CpioFs {
    /// `info`'s lines for the tree as walked.
    fn info_of(&self, tree: &Tree) -> Vec<(String, String)> {
        let mut v = vec![
            ("Filesystem".into(), "cpio".into()),
            ("Formats".into(), tree.formats.join(", ")),
            ("Entries".into(), (tree.nodes.len() - 1).to_string()),
            ("Segments".into(), tree.walker.segments.len().to_string()),
        ];
        if let Some(d) = tree.detail() {
            v.push(("Storage".into(), d));
        }
        for s in tree.streams() {
            v.push(("Stream".into(), format!("{}: {}", s.name(), stream_said(s))));
        }
        if tree.skipped > 0 {
            v.push(("Unsafe names left out".into(), tree.skipped.to_string()));
        }
        if let Some(cut) = &tree.walker.cut {
            v.push((
                "Left out".into(),
                format!("{} from offset {}: {}", cut.image, cut.at, cut_said(cut)),
            ));
        }
        if let Some((name, at)) = &tree.walker.trailing {
            v.push((
                "Trailing bytes left unread".into(),
                format!("{name} from offset {at}"),
            ));
        }
        v
    }
}

/// What `info` says of one stream: its decoded size, its limit, its checkpoints.
fn stream_said(s: &StreamSource) -> String {
    let size = match s.known_len() {
        Some(len) => format!("{len} bytes decoded"),
        None => format!("{} bytes decoded so far", s.decoded()),
    };
    let c = s.checkpoints();
    let points = if c.possible {
        format!(
            "{} checkpoints ({} bytes of the {}-byte cap, one per {} bytes)",
            c.count, c.bytes, c.cap, c.interval
        )
    } else {
        format!(
            "no checkpoints ({} cannot resume midway): reads decode from the start or \
             from where the last read ended",
            s.codec().name()
        )
    };
    format!("{size} (limit {}), {points}", s.limit())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::CpioFs;
    use crate::fs::{FileSystem, MountOptions};
    use crate::source::MemSource;

    /// One newc member (the trailer when `name` is `TRAILER!!!`).
    pub(super) fn member(out: &mut Vec<u8>, name: &str, mode: u32, data: &[u8]) {
        out.extend_from_slice(b"070701");
        let fields = [
            1,
            mode,
            0,
            0,
            1,
            0,
            data.len() as u32,
            0,
            0,
            0,
            0,
            name.len() as u32 + 1,
            0,
        ];
        for f in fields {
            out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend_from_slice(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }

    fn names(fs: &CpioFs, dir: u64) -> Vec<String> {
        fs.read_dir(dir)
            .unwrap()
            .into_iter()
            .map(|e| String::from_utf8(e.name).unwrap())
            .collect()
    }

    #[test]
    fn a_stream_is_walked_as_far_as_asked_and_stops_for_good_at_damage() {
        use std::io::Write;
        let mut a = Vec::new();
        member(&mut a, "f", 0o100644, b"early");
        member(
            &mut a,
            "big",
            0o100644,
            &vec![0; (super::EAGER + (1 << 20)) as usize],
        );
        member(&mut a, "f", 0o100644, b"late");
        a.extend_from_slice(b"070701 not a header");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&a).unwrap();
        let src = Arc::new(MemSource::new(gz.finish().unwrap(), "mem"));
        let fs = CpioFs::open(src, &MountOptions::default()).unwrap();
        // The walk stopped before the big member's data: `f` is the first one.
        let f = fs.lookup(0, b"f").unwrap().unwrap();
        let mut buf = [0u8; 8];
        let n = fs.read_at(f.ino, 0, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"early");
        // A listing walks on: the later `f` replaces it, then the damage stops the walk.
        let first = fs.read_dir(0).unwrap_err().to_string();
        assert!(first.contains("corrupt cpio header"), "{first}");
        assert_eq!(fs.read_dir(0).unwrap_err().to_string(), first);
        let n = fs.read_at(f.ino, 0, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"late");
    }

    #[test]
    fn later_members_replace_earlier_ones() {
        let mut a = Vec::new();
        member(&mut a, "d", 0o040755, b"");
        member(&mut a, "d/old", 0o100644, b"old");
        member(&mut a, "f", 0o100644, b"first");
        member(&mut a, "x", 0o040755, b"");
        member(&mut a, "x/inside", 0o100644, b"gone");
        member(&mut a, "TRAILER!!!", 0, b"");
        // A second archive after padding: a directory re-declared keeps its children, a file
        // replaces a file, a file replacing a directory drops what was below it.
        a.extend_from_slice(&[0; 512]);
        member(&mut a, "./d", 0o040700, b"");
        member(&mut a, "f", 0o100600, b"second");
        member(&mut a, "x", 0o100644, b"now a file");
        member(&mut a, "TRAILER!!!", 0, b"");
        let fs =
            CpioFs::open(Arc::new(MemSource::new(a, "mem")), &MountOptions::default()).unwrap();
        assert_eq!(names(&fs, 0), ["d", "f", "x"]);
        let d = fs.lookup(0, b"d").unwrap().unwrap();
        assert_eq!(d.meta.mode, 0o700);
        assert_eq!(names(&fs, d.ino), ["old"]);
        let f = fs.lookup(0, b"f").unwrap().unwrap();
        let mut buf = [0u8; 16];
        let n = fs.read_at(f.ino, 0, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"second");
        let x = fs.lookup(0, b"x").unwrap().unwrap();
        assert!(!x.meta.is_dir());
        assert!(fs.lookup(x.ino, b"inside").unwrap().is_none());
    }
}
