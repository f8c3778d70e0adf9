//! `tar-in`, `tgz-in`, `txz-in`: a tar archive (GNU, ustar or pax; plain or compressed; a
//! host file or standard input) unpacked into a directory of the session; and [`Unpack`],
//! which places objects below one directory with their metadata (shared with `copy-in`):
//! never outside it, never through a symlink, directories' times set last.
//!
//! The data of the members of a plain (uncompressed) host tar file is staged as ranges of
//! that file, taken at commit as uploads are; members of a compressed archive or of standard
//! input are held in memory.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};

use super::tree_edit::DIR_MODE;
use super::{arg, option, ArgKind, Command, Ctx, Value};
use crate::data::Span;
use crate::error::Error;
use crate::fs::{FileKind, Metadata, Timestamp, Xattr};
use crate::overlay::{fresh, Content, HostFile};
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
    let mut raw: Box<dyn Read> = match input {
        "-" => Box::new(io::stdin().lock()),
        file => Box::new(File::open(file).map_err(|e| Error::io(file, e))?),
    };
    // As GNU tar, a compressed archive is known by its first bytes.
    let mut head = Vec::new();
    (&mut raw)
        .take(MAGIC_MAX)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(input, e))?;
    let compress = compress.or_else(|| sniff(&head));
    let result = if input == "-" || compress.is_some() {
        let raw = io::Cursor::new(head).chain(raw);
        let reader: Box<dyn Read> = match compress {
            None => Box::new(raw),
            Some("gzip") => Box::new(flate2::read::MultiGzDecoder::new(raw)),
            Some("xz") => Box::new(liblzma::read::XzDecoder::new_multi_decoder(raw)),
            Some("zstd") => Box::new(zstd::stream::read::Decoder::new(raw)?),
            Some("bzip2") => Box::new(bzip2::read::MultiBzDecoder::new(raw)),
            Some(other) => bail!("compress:{other}: not a compression tar-in reads"),
        };
        let mut archive = tar::Archive::new(reader);
        let entries = archive.entries().map_err(|e| Error::io(input, e))?;
        members(ctx, &mut unpack, input, entries, None, xattrs)
    } else {
        // A plain host file: the members' data stays where it lies.
        let (host, whole) = HostFile::open(Path::new(input))?;
        let file = File::open(input).map_err(|e| Error::io(input, e))?;
        let mut archive = tar::Archive::new(file);
        let entries = archive
            .entries_with_seek()
            .map_err(|e| Error::io(input, e))?;
        members(
            ctx,
            &mut unpack,
            input,
            entries,
            Some((&host, &whole)),
            xattrs,
        )
    };
    // What was placed before a damaged member stays staged, as GNU tar leaves it.
    let finished = unpack.finish(ctx, "tar-in");
    result.and(finished)
}

/// What [`sniff`] looks at: a tar header block.
const MAGIC_MAX: u64 = 512;

/// The compression whose magic number starts `head`, if any; none for a tar header (whose
/// member name could start like a magic number).
fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.get(257..262) == Some(b"ustar") {
        return None;
    }
    [
        (&b"\x1f\x8b"[..], "gzip"),
        (b"\xfd7zXZ\0", "xz"),
        (b"\x28\xb5\x2f\xfd", "zstd"),
        (b"BZh", "bzip2"),
    ]
    .into_iter()
    .find(|(magic, _)| head.starts_with(magic))
    .map(|(_, name)| name)
}

/// Places every member of `entries`; `host` is the plain host file they are read from, whose
/// ranges become the files' data; with `xattrs`, the members' extended attributes too.
fn members<R: Read>(
    ctx: &mut Ctx,
    unpack: &mut Unpack,
    input: &str,
    entries: tar::Entries<'_, R>,
    host: Option<(&HostFile, &Content)>,
    xattrs: bool,
) -> anyhow::Result<()> {
    for entry in entries {
        let mut entry = entry.map_err(|e| Error::io(input, e))?;
        let name = entry.path_bytes().into_owned();
        let shown = format!("{input}: {}", String::from_utf8_lossy(&name));
        let member = member(&mut entry, host).and_then(|m| Ok((member_names(&name)?, m)));
        match member {
            Ok((names, Some((meta, obj, found)))) => {
                let kept = if xattrs { found } else { Vec::new() };
                unpack.place(ctx, &names, (meta, obj), kept);
            }
            Ok((_, None)) => {}
            Err(e) => unpack.fail(&shown, &e),
        }
    }
    Ok(())
}

/// A member's metadata, object and extended attributes (pax `SCHILY.xattr.NAME` records);
/// `None` for the headers that describe no file (pax global headers, GNU volume labels).
fn member<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    host: Option<(&HostFile, &Content)>,
) -> anyhow::Result<Option<(Metadata, Object, Vec<Xattr>)>> {
    use tar::EntryType as T;
    let t = entry.header().entry_type();
    let kind = match t {
        T::Regular | T::Continuous | T::GNUSparse => FileKind::File,
        T::Directory => FileKind::Dir,
        T::Symlink => FileKind::Symlink,
        T::Link => FileKind::File,
        T::Char => FileKind::CharDevice,
        T::Block => FileKind::BlockDevice,
        T::Fifo => FileKind::Fifo,
        _ => return Ok(None),
    };
    let h = entry.header();
    let mut uid = h.uid()?;
    let mut gid = h.gid()?;
    let mut mtime = Timestamp {
        secs: h.mtime()? as i64,
        nanos: 0,
    };
    let mut atime = None;
    let mut xattrs = Vec::new();
    let mode = h.mode()?;
    let link = entry.link_name_bytes().map(|l| l.into_owned());
    let rdev = match kind {
        FileKind::CharDevice | FileKind::BlockDevice => Some((
            h.device_major()?.unwrap_or(0),
            h.device_minor()?.unwrap_or(0),
        )),
        _ => None,
    };
    if let Some(pax) = entry.pax_extensions()? {
        for ext in pax {
            let ext = ext?;
            if let Some(name) = ext.key_bytes().strip_prefix(b"SCHILY.xattr.") {
                xattrs.push(Xattr {
                    name: name.to_vec(),
                    value: ext.value_bytes().to_vec(),
                });
                continue;
            }
            let (Ok(key), Ok(value)) = (ext.key(), ext.value()) else {
                continue;
            };
            match key {
                "mtime" => mtime = pax_time(value).unwrap_or(mtime),
                "atime" => atime = pax_time(value),
                "uid" => uid = value.parse().unwrap_or(uid),
                "gid" => gid = value.parse().unwrap_or(gid),
                _ => {}
            }
        }
    }
    let owner = (
        u32::try_from(uid).map_err(|_| anyhow!("uid {uid} is over 32 bits"))?,
        u32::try_from(gid).map_err(|_| anyhow!("gid {gid} is over 32 bits"))?,
    );
    // As GNU tar: the access time is the archive's, else the modification time.
    let mut meta = placed_meta(kind, mode, owner, (mtime, atime.unwrap_or(mtime)));
    meta.rdev = rdev;
    let obj = match t {
        T::Link => {
            let target = link.ok_or_else(|| anyhow!("a hard link with no target"))?;
            let names = member_names(&target)
                .with_context(|| format!("hard link to {}", String::from_utf8_lossy(&target)))?;
            Object::Link(names)
        }
        T::Symlink => {
            meta.symlink = Some(link.ok_or_else(|| anyhow!("a symlink with no target"))?);
            Object::Special
        }
        T::Directory => Object::Dir,
        _ if kind == FileKind::File => file_data(entry, host, t == T::GNUSparse)?,
        _ => Object::Special,
    };
    Ok(Some((meta, obj, xattrs)))
}

/// A file member's data: a range of the plain host tar file, or (compressed archives,
/// standard input, sparse members) read into memory.
fn file_data<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    host: Option<(&HostFile, &Content)>,
    sparse: bool,
) -> anyhow::Result<Object> {
    let size = entry.size();
    if let (Some((host, whole)), false) = (host, sparse) {
        let pos = entry.raw_file_position();
        if pos.checked_add(size).is_none_or(|end| end > whole.len()) {
            bail!("the archive ends inside this member's data");
        }
        let content = match whole.spans().first() {
            Some(Span::Source { source, offset, .. }) if size > 0 => {
                Content::from_spans(vec![Span::source(source, offset + pos, size)])
            }
            _ => Content::bytes(Vec::new()),
        };
        return Ok(Object::File(content, Some(host.clone())));
    }
    let mut data = Vec::new();
    entry.read_to_end(&mut data)?;
    Ok(Object::File(Content::bytes(data), None))
}

/// A pax time, `SECONDS[.FRACTION]` (negative before 1970).
fn pax_time(value: &str) -> Option<Timestamp> {
    let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
    let secs: i64 = secs.parse().ok()?;
    let digits: String = frac.chars().take(9).collect();
    let mut nanos: u32 = if digits.is_empty() {
        0
    } else {
        format!("{digits:0<9}").parse().ok()?
    };
    let mut secs = secs;
    // -1.25 is a quarter second before -1.
    if value.starts_with('-') && nanos > 0 {
        secs -= 1;
        nanos = 1_000_000_000 - nanos;
    }
    Some(Timestamp { secs, nanos })
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
        let t = |secs, nanos| Some(Timestamp { secs, nanos });
        assert_eq!(pax_time("1700000000.5"), t(1700000000, 500_000_000));
        assert_eq!(pax_time("12"), t(12, 0));
        assert_eq!(pax_time("-1.25"), t(-2, 750_000_000));
        assert_eq!(pax_time("x"), None);
    }

    #[test]
    fn sniff_knows_compressions_and_tar_headers() {
        assert_eq!(sniff(b"\x1f\x8b\x08"), Some("gzip"));
        assert_eq!(sniff(b"\xfd7zXZ\0"), Some("xz"));
        assert_eq!(sniff(b"BZh9"), Some("bzip2"));
        let mut header = [0u8; 512];
        header[..4].copy_from_slice(b"BZh9");
        header[257..263].copy_from_slice(b"ustar\0");
        assert_eq!(sniff(&header), None);
        assert_eq!(sniff(b""), None);
    }
}
