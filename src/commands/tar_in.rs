//! `tar-in`, `tgz-in`, `txz-in`: a tar archive (GNU, ustar or pax; plain or compressed; a
//! host file or standard input) unpacked into a directory of the session; and [`Unpack`],
//! which places objects below one directory with their metadata (shared with `copy-in`):
//! never outside it, never through a symlink, directories' times set last.
//!
//! The archive is read by the tar reader of [`crate::fs::tar`] (every header format, GNU
//! long names, sparse members of every GNU format, their holes staged as holes). The data of
//! the members of a plain (uncompressed) host tar file is staged as ranges of that file, taken
//! at commit as uploads are; members of a compressed archive or of standard input are held in
//! memory.

use std::collections::HashSet;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};

use super::tree_edit::DIR_MODE;
use super::{arg, option, ArgKind, Command, Ctx, Value};
use crate::data::Span;
use crate::error::Error;
use crate::fs::tar::walk::{Member, Walker};
use crate::fs::tar::{file_spans, stored_at};
use crate::fs::{FileKind, Metadata, Timestamp, Xattr};
use crate::overlay::{fresh, Content, HostFile};
use crate::source::decoded::{Codec, Limits};
use crate::source::stream::StreamSource;
use crate::source::{FileSource, MemSource, Source};
use crate::vfs::path;

pub const COMMANDS: &[Command] = &[
    Command {
        name: "tar-in",
        aliases: &[],
        args: &[arg("TARFILE", ArgKind::Output), arg("DIR", ArgKind::Path)],
        options: &[
            option(
                "compress",
                Value::OneOf(&["gzip", "xz", "zstd", "bzip2"]),
                "the archive is compressed with this",
            ),
            option(
                "xattrs",
                Value::Bool,
                "restore the extended attributes the archive records",
            ),
        ],
        run: tar_in,
    },
    Command {
        name: "tgz-in",
        aliases: &[],
        args: &[arg("TARBALL", ArgKind::Output), arg("DIR", ArgKind::Path)],
        options: &[],
        run: |ctx, args| unpack_archive(ctx, &args[0], &args[1], Some("gzip"), false),
    },
    Command {
        name: "txz-in",
        aliases: &[],
        args: &[arg("TARBALL", ArgKind::Output), arg("DIR", ArgKind::Path)],
        options: &[],
        run: |ctx, args| unpack_archive(ctx, &args[0], &args[1], Some("xz"), false),
    },
];

fn tar_in(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let opts = super::parse("tar-in", args)?;
    let compress = opts.value("compress");
    let xattrs = opts.flag("xattrs");
    unpack_archive(ctx, &opts.args[0], &opts.args[1], compress, xattrs)
}

/// What a placed object is, besides its metadata.
pub enum Object {
    /// A regular file, with its data and the host file the data lies in, if any.
    File(Content, Option<HostFile>),
    Dir,
    /// A symlink, device node or FIFO: all of it is in the metadata.
    Special,
    /// A second name for the object already placed at these names below the directory.
    Link(Vec<String>),
}

/// Objects being placed below one directory of the session.
pub struct Unpack {
    /// The directory, absolute in the session (symlinks followed).
    dir: String,
    /// The directories placed, with the metadata they get once everything is in (each entry
    /// added to a directory makes its times now).
    dirs: Vec<(String, Metadata)>,
    /// The host files noted, by overlay (its address) and path: a tar file is noted once in
    /// each overlay.
    noted: HashSet<(usize, PathBuf)>,
    failures: usize,
}

impl Unpack {
    /// Placing below `dir`, which must be a directory; refused under `--ro`.
    pub fn new(ctx: &mut Ctx, dir: &str) -> anyhow::Result<Unpack> {
        ctx.session.refuse_readonly(dir)?;
        let node = ctx.session.resolve(dir)?;
        if !node.is_dir() {
            return Err(Error::NotADirectory(dir.to_string()).into());
        }
        Ok(Unpack {
            dir: node.path,
            dirs: Vec::new(),
            noted: HashSet::new(),
            failures: 0,
        })
    }

    /// The session path of `names` below the directory.
    fn below(&self, names: &[String]) -> String {
        names
            .iter()
            .fold(self.dir.clone(), |at, n| path::child(&at, n.as_bytes()))
    }

    /// Says why `what` could not be placed, on standard error, and counts it.
    pub fn fail(&mut self, what: &str, e: &anyhow::Error) {
        // A host error names the file already (and carries its cause).
        match e.downcast_ref::<Error>() {
            Some(Error::Io { image, .. }) if image == what => eprintln!("isofish: error: {e}"),
            _ => eprintln!("isofish: error: {what}: {e:#}"),
        }
        self.failures += 1;
    }

    /// Places `obj` with `meta` (and extended attributes `xattrs`, when there are any) at
    /// `names` below the directory (each a plain name), making the missing directories on the
    /// way; an existing non-directory there is replaced. A failure is said on standard error
    /// and counted ([`Unpack::finish`] fails then); returns whether it was placed.
    pub fn place(
        &mut self,
        ctx: &mut Ctx,
        names: &[String],
        (meta, obj): (Metadata, Object),
        xattrs: Vec<Xattr>,
    ) -> bool {
        let placed = self.try_place(ctx, names, meta, obj, xattrs);
        if let Err(e) = &placed {
            let what = self.below(names);
            self.fail(&what, e);
        }
        placed.is_ok()
    }

    /// The directories from the directory to `names`' parent, each checked to be one and
    /// not a symlink (made when missing and `make`).
    fn route(&self, ctx: &mut Ctx, names: &[String], make: bool) -> anyhow::Result<()> {
        let mut at = self.dir.clone();
        for name in &names[..names.len().saturating_sub(1)] {
            at = path::child(&at, name.as_bytes());
            match ctx.session.resolve_nofollow(&at) {
                Ok(n) if n.kind() == FileKind::Symlink => bail!(
                    "{at} is a symlink: refused to go through it (it could lead outside {})",
                    self.dir
                ),
                Ok(n) if n.is_dir() => {}
                Ok(_) => return Err(Error::NotADirectory(at).into()),
                Err(Error::NotFound(_)) if make => {
                    let st = ctx.session.stage_new(&at)?;
                    st.overlay
                        .create(&st.path, fresh(FileKind::Dir, DIR_MODE), None)?;
                    ctx.session.staged(&st)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn try_place(
        &mut self,
        ctx: &mut Ctx,
        names: &[String],
        meta: Metadata,
        obj: Object,
        xattrs: Vec<Xattr>,
    ) -> anyhow::Result<()> {
        if names.is_empty() {
            // The archive's `./`: the directory itself is left as it is.
            return Ok(());
        }
        self.route(ctx, names, true)?;
        let full = self.below(names);
        match ctx.session.resolve_nofollow(&full) {
            Ok(n) if n.is_dir() => {
                if let Object::Dir = obj {
                    if !xattrs.is_empty() {
                        let st = ctx.session.stage_existing(&full, false)?;
                        st.overlay.set_xattrs(&st.path, xattrs)?;
                        ctx.session.staged(&st)?;
                    }
                    self.dirs.push((full, meta));
                    return Ok(());
                }
                bail!("is a directory: not replaced");
            }
            Ok(_) => {
                let st = ctx.session.stage_existing(&full, false)?;
                st.overlay.remove(&st.path)?;
                ctx.session.staged(&st)?;
            }
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let st = ctx.session.stage_new(&full)?;
        match obj {
            Object::File(content, host) => {
                st.overlay.create(&st.path, meta, Some(content))?;
                if let Some(host) = host {
                    let overlay = Arc::as_ptr(&st.overlay) as usize;
                    if self.noted.insert((overlay, host.path.clone())) {
                        st.overlay.note_host(host);
                    }
                }
            }
            Object::Dir => {
                st.overlay.create(&st.path, meta.clone(), None)?;
                self.dirs.push((full, meta));
            }
            Object::Special => {
                st.overlay.create(&st.path, meta, None)?;
            }
            Object::Link(target) => {
                self.route(ctx, &target, false)?;
                let to = self.below(&target);
                let existing = ctx.session.stage_existing(&to, false)?;
                if existing.mount != st.mount {
                    bail!("{to} is on another filesystem: a hard link cannot reach it");
                }
                // A second name of the same file: its attributes are the first name's.
                st.overlay.link(&existing.path, &st.path)?;
                return ctx.session.staged(&st).map_err(Into::into);
            }
        }
        if !xattrs.is_empty() {
            st.overlay.set_xattrs(&st.path, xattrs)?;
        }
        ctx.session.staged(&st)?;
        Ok(())
    }

    /// Gives the directories placed their metadata; fails with the count of what could not
    /// be placed, if anything.
    pub fn finish(mut self, ctx: &mut Ctx, what: &str) -> anyhow::Result<()> {
        for (dir, meta) in std::mem::take(&mut self.dirs).into_iter().rev() {
            let set = ctx.session.stage_existing(&dir, false).and_then(|st| {
                st.overlay.change_meta(&st.path, |m| {
                    keep_meta(m, &meta);
                    Ok(())
                })?;
                ctx.session.staged(&st)
            });
            if let Err(e) = set {
                self.fail(&dir, &e.into());
            }
        }
        match self.failures {
            0 => Ok(()),
            n => bail!("{what}: {n} not placed (said above)"),
        }
    }
}

/// The owner, permissions and times of `from` given to `m`.
fn keep_meta(m: &mut Metadata, from: &Metadata) {
    (m.mode, m.uid, m.gid) = (from.mode, from.uid, from.gid);
    (m.mtime, m.atime) = (from.mtime, from.atime);
}

/// The metadata of an object placed from outside: `kind`, the permission bits of `mode`, the
/// owner and times given, changed now.
pub fn placed_meta(
    kind: FileKind,
    mode: u32,
    (uid, gid): (u32, u32),
    (mtime, atime): (Timestamp, Timestamp),
) -> Metadata {
    let mut m = fresh(kind, mode);
    (m.uid, m.gid) = (uid, gid);
    (m.mtime, m.atime) = (mtime, atime);
    m
}

/// The plain names of a member's path, checked: `.` and empty names dropped; `..` and
/// absolute names refused, as they would lead outside the directory.
pub fn member_names(name: &[u8]) -> anyhow::Result<Vec<String>> {
    if name.starts_with(b"/") {
        bail!("an absolute name: refused (members are placed below DIR only)");
    }
    let text = std::str::from_utf8(name).map_err(|_| anyhow!("not UTF-8: refused"))?;
    let mut names = Vec::new();
    for n in text.split('/').filter(|n| !n.is_empty() && *n != ".") {
        if n == ".." {
            bail!("`..` leads outside DIR: refused");
        }
        names.push(n.to_string());
    }
    Ok(names)
}

/// Unpacks the archive `input` (a host file, or `-` for standard input) into `dir`.
fn unpack_archive(
    ctx: &mut Ctx,
    input: &str,
    dir: &str,
    compress: Option<&str>,
    xattrs: bool,
) -> anyhow::Result<()> {
    let mut unpack = Unpack::new(ctx, dir)?;
    let (raw, staged): (Arc<dyn Source>, _) = if input == "-" {
        let mut bytes = Vec::new();
        io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(input, e))?;
        (Arc::new(MemSource::new(bytes, "standard input")), None)
    } else {
        let (host, whole) = HostFile::open(Path::new(input))?;
        let staged = match whole.spans().first() {
            Some(Span::Source { source, offset, .. }) => Some((source.clone(), *offset, host)),
            _ => None,
        };
        (Arc::new(FileSource::open(Path::new(input))?), staged)
    };
    // As GNU tar, a compressed archive is known by its first bytes.
    let head = raw.read_vec(0, MAGIC_MAX.min(raw.len()) as usize, "tar header")?;
    let codec = match compress {
        Some(name) => Some(codec_named(name)?),
        None => sniff(&head),
    };
    let (archive, staged) = match codec {
        Some(c) => {
            let name = format!("{input} ({} decoded)", c.name());
            let limits = Limits {
                total: u64::MAX,
                ..Limits::default()
            };
            let decoded: Arc<dyn Source> = Arc::new(StreamSource::new(&raw, 0, c, limits, name));
            (decoded, None)
        }
        // A plain host file: the members' data stays where it lies.
        None => (raw, staged),
    };
    let exact = codec.is_none();
    let input = Input { archive, staged };
    let result = members(ctx, &mut unpack, &input, exact, xattrs);
    // What was placed before a damaged member stays staged, as GNU tar leaves it.
    let finished = unpack.finish(ctx, "tar-in");
    result.and(finished)
}

/// An archive being unpacked: its bytes (decoded when compressed), and for a plain host file
/// the staged source of the same bytes (from `offset` in it) that the members' data is taken
/// from, and the file to note.
struct Input {
    archive: Arc<dyn Source>,
    staged: Option<(Arc<dyn Source>, u64, HostFile)>,
}

/// What [`sniff`] looks at: a tar header block.
const MAGIC_MAX: u64 = 512;

/// The codec `--compress` names.
fn codec_named(name: &str) -> anyhow::Result<Codec> {
    Ok(match name {
        "gzip" => Codec::Gzip,
        "xz" => Codec::Xz,
        "zstd" => Codec::Zstd,
        "bzip2" => Codec::Bzip2,
        other => bail!("compress:{other}: not a compression tar-in reads"),
    })
}

/// The compression whose magic number starts `head`, if any; none for a tar header (whose
/// member name could start like a magic number).
fn sniff(head: &[u8]) -> Option<Codec> {
    if head.get(257..262) == Some(b"ustar") {
        return None;
    }
    Codec::sniff(head)
}

/// Places every member of the archive (`exact`: its length is known, not a stream decoded as
/// far as read); with `xattrs`, the members' extended attributes too. A damaged header ends
/// the walk with its error.
fn members(
    ctx: &mut Ctx,
    unpack: &mut Unpack,
    input: &Input,
    exact: bool,
    xattrs: bool,
) -> anyhow::Result<()> {
    let mut walker = Walker::new(input.archive.clone(), exact);
    while let Some(m) = walker.next_member()? {
        let shown = format!(
            "{}: {}",
            input.archive.name(),
            String::from_utf8_lossy(&m.path)
        );
        let member = member(input, &m).and_then(|x| Ok((member_names(&m.path)?, x)));
        match member {
            Ok((names, Some((meta, obj)))) => {
                let kept = match xattrs {
                    true => m
                        .xattrs
                        .into_iter()
                        .map(|(name, value)| Xattr { name, value })
                        .collect(),
                    false => Vec::new(),
                };
                unpack.place(ctx, &names, (meta, obj), kept);
            }
            Ok((_, None)) => {}
            Err(e) => unpack.fail(&shown, &e),
        }
    }
    Ok(())
}

/// A member's metadata and object; `None` for the types that describe no file tar-in places.
fn member(input: &Input, m: &Member) -> anyhow::Result<Option<(Metadata, Object)>> {
    let kind = match m.typeflag {
        b'0' | 0 | b'7' | b'S' if m.path.ends_with(b"/") => FileKind::Dir,
        b'0' | 0 | b'7' | b'S' | b'1' => FileKind::File,
        b'5' => FileKind::Dir,
        b'2' => FileKind::Symlink,
        b'3' => FileKind::CharDevice,
        b'4' => FileKind::BlockDevice,
        b'6' => FileKind::Fifo,
        _ => return Ok(None),
    };
    let owner = (
        u32::try_from(m.uid).map_err(|_| anyhow!("uid {} is over 32 bits", m.uid))?,
        u32::try_from(m.gid).map_err(|_| anyhow!("gid {} is over 32 bits", m.gid))?,
    );
    let time = |(secs, nanos)| Timestamp { secs, nanos };
    let mtime = time(m.mtime);
    // As GNU tar: the access time is the archive's, else the modification time.
    let atime = m.atime.map_or(mtime, time);
    let mut meta = placed_meta(kind, m.mode, owner, (mtime, atime));
    if matches!(kind, FileKind::CharDevice | FileKind::BlockDevice) {
        meta.rdev = Some(m.dev);
    }
    let obj = match m.typeflag {
        b'1' => {
            if m.link.is_empty() {
                bail!("a hard link with no target");
            }
            let names = member_names(&m.link)
                .with_context(|| format!("hard link to {}", String::from_utf8_lossy(&m.link)))?;
            Object::Link(names)
        }
        b'2' => {
            meta.symlink = Some(m.link.clone());
            Object::Special
        }
        _ if kind == FileKind::Dir => Object::Dir,
        _ if kind == FileKind::File => file_data(input, m)?,
        _ => Object::Special,
    };
    Ok(Some((meta, obj)))
}

/// A file member's data, a sparse one's holes kept as holes: ranges of the plain host tar
/// file, or (compressed archives, standard input) read into memory.
fn file_data(input: &Input, m: &Member) -> anyhow::Result<Object> {
    let host = input.staged.as_ref().map(|(_, _, host)| host.clone());
    if m.size == 0 {
        return Ok(Object::File(Content::bytes(Vec::new()), host));
    }
    let extents = m.sparse.as_deref().map(stored_at);
    let spans = file_spans(m.size, extents.as_deref(), |at, len| {
        let at = m.data_at + at;
        Ok(match &input.staged {
            Some((source, offset, _)) => Span::source(source, offset + at, len),
            None => {
                let len = usize::try_from(len).map_err(|_| {
                    Error::corrupt(input.archive.name(), "tar member", at, "too large")
                })?;
                Span::Bytes(input.archive.read_vec(at, len, "tar member data")?.into())
            }
        })
    })?;
    Ok(Object::File(Content::from_spans(spans), host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_refuse_leaving_the_directory() {
        assert_eq!(member_names(b"./a//b/./c").unwrap(), ["a", "b", "c"]);
        assert!(member_names(b"./").unwrap().is_empty());
        assert!(member_names(b"a/../../evil").is_err());
        assert!(member_names(b"/etc/passwd").is_err());
    }

    #[test]
    fn pax_times_keep_fractions() {
        use crate::fs::tar::pax::time;
        assert_eq!(time(b"1700000000.5"), Ok((1700000000, 500_000_000)));
        assert_eq!(time(b"12"), Ok((12, 0)));
        assert_eq!(time(b"-1.25"), Ok((-2, 750_000_000)));
        assert!(time(b"x").is_err());
    }

    #[test]
    fn sniff_knows_compressions_and_tar_headers() {
        assert_eq!(sniff(b"\x1f\x8b\x08"), Some(Codec::Gzip));
        assert_eq!(sniff(b"\xfd7zXZ\0"), Some(Codec::Xz));
        assert_eq!(sniff(b"BZh91AY&SY"), Some(Codec::Bzip2));
        let mut header = [0u8; 512];
        header[..4].copy_from_slice(b"BZh9");
        header[257..263].copy_from_slice(b"ustar\0");
        assert_eq!(sniff(&header), None);
        assert_eq!(sniff(b""), None);
    }
}
