//! Moving data out of the session onto the host: `download`, `copy-out`, `tar-out` (and its
//! `tgz-out` and `txz-out` forms) and `checksums-out`. Plain file data is moved from the image
//! file with `copy_file_range` (into files) or `splice` (into pipes, see [`super::zerocopy`])
//! where the host allows it, never through a temp copy; the
//! recursive commands share [`crate::vfs::walk`], which keeps every path they write inside the
//! target.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self as host, File, FileTimes, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};

use super::inspect::file_checksum;
use super::tar::{kind, pipeline, Header, Piece, TarWriter};
use super::zerocopy::{widen_pipe, write_file, Direct};
use super::{arg, many, option, ArgKind, Command, Ctx, Opt, Value};
use crate::error::Error;
use crate::fs::{FileKind, FileSystem, Ino, Metadata, Timestamp};
use crate::vfs::{walk, Node, Target};

/// `excludes:` of `tar-out` and its compressed forms.
const EXCLUDES: Opt = option(
    "excludes",
    Value::Word("PATTERN,..."),
    "leave out the members matching these wildcard patterns",
);
/// `xdev:` of `copy-out` and `tar-out`.
const XDEV: Opt = option(
    "xdev",
    Value::Bool,
    "stay on the filesystem the walk starts on: leave out the mounts below it",
);

pub const COMMANDS: &[Command] = &[
    Command {
        name: "download",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path), arg("HOSTFILE", ArgKind::Output)],
        options: &[],
        run: download,
    },
    Command {
        name: "copy-out",
        aliases: &[],
        args: &[
            many("PATH", ArgKind::Path),
            arg("HOSTDIR", ArgKind::HostPath),
        ],
        options: &[XDEV],
        run: copy_out,
    },
    Command {
        name: "tar-out",
        aliases: &[],
        args: &[
            arg("DIRECTORY", ArgKind::Path),
            arg("TARFILE", ArgKind::Output),
        ],
        options: &[
            option(
                "compress",
                Value::OneOf(&["gzip", "xz", "zstd", "bzip2"]),
                "compress the archive",
            ),
            EXCLUDES,
            option(
                "numericowner",
                Value::Bool,
                "accepted for guestfish: owners are always numeric",
            ),
            option(
                "xattrs",
                Value::Bool,
                "add each member's extended attributes",
            ),
            XDEV,
        ],
        run: tar_out,
    },
    Command {
        name: "tgz-out",
        aliases: &[],
        args: &[
            arg("DIRECTORY", ArgKind::Path),
            arg("TARBALL", ArgKind::Output),
        ],
        options: &[EXCLUDES],
        run: |ctx, args| tar_out_compressed(ctx, args, "gzip"),
    },
    Command {
        name: "txz-out",
        aliases: &[],
        args: &[
            arg("DIRECTORY", ArgKind::Path),
            arg("TARBALL", ArgKind::Output),
        ],
        options: &[EXCLUDES],
        run: |ctx, args| tar_out_compressed(ctx, args, "xz"),
    },
    Command {
        name: "checksums-out",
        aliases: &[],
        args: &[
            arg("ALGORITHM", ArgKind::Word),
            arg("DIRECTORY", ArgKind::Path),
            arg("SUMSFILE", ArgKind::Output),
        ],
        options: &[],
        run: checksums_out,
    },
];

/// A progress bar on standard error when it is a terminal, or a hidden one.
fn progress(total: Option<u64>) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match total {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template(
                "{wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {bytes} {binary_bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
}

/// Where a command's output goes: `-` is the command's output stream, anything else a host file
/// created (or truncated) for it.
enum Sink<'a> {
    Out(&'a mut dyn Write),
    File(File),
}

impl<'a> Sink<'a> {
    fn open(out: &'a mut dyn Write, hostfile: &str) -> anyhow::Result<Sink<'a>> {
        Ok(if hostfile == "-" {
            Sink::Out(out)
        } else {
            Sink::File(
                File::create(hostfile).with_context(|| format!("{hostfile}: cannot create"))?,
            )
        })
    }
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Out(w) => w.write(buf),
            Sink::File(f) => f.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Sink::Out(w) => w.write_all(buf),
            Sink::File(f) => f.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Out(w) => w.flush(),
            Sink::File(f) => f.flush(),
        }
    }
}

/// A piece of a file's data as it lies in the filesystem's source.
#[derive(Clone, Copy, Debug)]
pub(super) struct Extent {
    /// Byte offset in the source, or `None` for a hole that reads as zeros.
    pub offset: Option<u64>,
    pub len: u64,
}

/// The plain extents of a file as `(offset in the source, length)`, checked against the
/// source's size, when the filesystem stores it plainly in its own source and they add up to
/// its size.
pub(super) fn plain_extents(
    fs: &dyn FileSystem,
    ino: Ino,
    size: u64,
) -> anyhow::Result<Option<Vec<Extent>>> {
    let Some(spans) = fs.spans(ino)? else {
        return Ok(None);
    };
    let src = fs.source();
    let mut extents = Vec::with_capacity(spans.len());
    for span in spans {
        extents.push(match span {
            crate::data::Span::Source {
                source,
                offset,
                len,
            } if std::ptr::addr_eq(Arc::as_ptr(&source), Arc::as_ptr(src)) => Extent {
                offset: Some(offset),
                len,
            },
            crate::data::Span::Zeros(len) => Extent { offset: None, len },
            _ => return Ok(None),
        });
    }
    let mut total = 0u64;
    for e in &extents {
        if let Some(off) = e.offset {
            if off.checked_add(e.len).is_none_or(|end| end > src.len()) {
                return Err(Error::corrupt(
                    src.name(),
                    "file extent",
                    off,
                    format!(
                        "{} bytes run past the end of the image ({})",
                        e.len,
                        src.len()
                    ),
                )
                .into());
            }
        }
        total += e.len;
    }
    Ok((total == size).then_some(extents))
}

/// Copies the data of a file into `out` (a new, empty host file): `copy_file_range` from the
/// image file for plain extents, holes left as holes, positioned reads and writes otherwise.
/// `buf` is scratch space for the fallback; `done` is told of every byte moved.
fn copy_data(
    fs: &dyn FileSystem,
    ino: Ino,
    size: u64,
    out: &File,
    buf: &mut [u8],
    done: &dyn Fn(u64),
) -> anyhow::Result<()> {
    let plain = plain_extents(fs, ino, size)?;
    let image = plain.as_ref().and_then(|_| fs.source().host_file());
    if let (Some(extents), Some((image, base))) = (plain, image) {
        let mut out_off = 0u64;
        let mut fast = true;
        for e in &extents {
            let Some(off) = e.offset else {
                out_off += e.len;
                done(e.len);
                continue;
            };
            let mut in_off = base + off;
            let end = out_off + e.len;
            while out_off < end {
                let want = (end - out_off).min(1 << 30) as usize;
                let r = if fast {
                    rustix::fs::copy_file_range(
                        image,
                        Some(&mut in_off),
                        out,
                        Some(&mut out_off),
                        want,
                    )
                } else {
                    Err(rustix::io::Errno::NOSYS)
                };
                match r {
                    Ok(0) => {
                        return Err(Error::corrupt(
                            fs.source().name(),
                            "file extent",
                            in_off - base,
                            "the image ends inside the file's data",
                        )
                        .into())
                    }
                    Ok(n) => done(n as u64),
                    Err(_) => {
                        // The host cannot copy between these files: move the bytes ourselves.
                        fast = false;
                        let n = buf.len().min((end - out_off) as usize);
                        fs.source()
                            .read_exact_at(in_off - base, &mut buf[..n], "file extent")?;
                        out.write_all_at(&buf[..n], out_off)?;
                        in_off += n as u64;
                        out_off += n as u64;
                        done(n as u64);
                    }
                }
            }
        }
        out.set_len(size)?;
        return Ok(());
    }
    super::read::for_each_chunk(fs, ino, 0, size, buf, |offset, data| {
        out.write_all_at(data, offset)?;
        done(data.len() as u64);
        Ok(())
    })
}

fn system_time(t: Timestamp) -> SystemTime {
    let nanos = Duration::from_nanos(u64::from(t.nanos.min(999_999_999)));
    if t.secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(t.secs as u64) + nanos
    } else {
        UNIX_EPOCH - Duration::from_secs(t.secs.unsigned_abs()) + nanos
    }
}

fn download(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let (fs, ino, meta) = super::read::open_file(ctx, &args[0])?;
    let mut buf = vec![0u8; (1 << 20).min(meta.size as usize).max(1)];
    if args[1] == "-" {
        return write_file(fs.as_ref(), ino, meta.size, ctx.out, ctx.out_fd, &mut buf);
    }
    let out = File::create(&args[1]).with_context(|| format!("{}: cannot create", args[1]))?;
    let bar = progress(Some(meta.size));
    copy_data(fs.as_ref(), ino, meta.size, &out, &mut buf, &|n| bar.inc(n))?;
    bar.finish_and_clear();
    Ok(())
}

/// True when GNU tar's `--exclude=PATTERN` (unanchored, `*` matching `/`) would drop `rel`.
fn excluded(patterns: &[glob::Pattern], rel: &[u8]) -> bool {
    if patterns.is_empty() {
        return false;
    }
    // The member's name (`./a/b`) and every tail of it after a `/`: `a/b`, `b`.
    let name = format!("./{}", String::from_utf8_lossy(rel));
    let mut suffixes = vec![name.as_str()];
    suffixes.extend(name.match_indices('/').map(|(i, _)| &name[i + 1..]));
    patterns
        .iter()
        .any(|p| suffixes.iter().any(|s| p.matches(s)))
}

fn tar_out_compressed(ctx: &mut Ctx, args: &[String], compress: &str) -> anyhow::Result<()> {
    let mut full = args[..2].to_vec();
    full.push(format!("compress:{compress}"));
    full.extend(args[2..].iter().cloned());
    tar_out(ctx, &full)
}

fn tar_out(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let opts = super::parse("tar-out", args)?;
    let excludes: Vec<glob::Pattern> = opts
        .value("excludes")
        .map(|list| {
            list.split(',')
                .filter(|p| !p.is_empty())
                .map(|p| glob::Pattern::new(p.trim_end_matches('/')))
                .collect::<Result<_, _>>()
        })
        .transpose()
        .context("excludes")?
        .unwrap_or_default();
    let xdev = opts.flag("xdev");
    // xattrs:true adds each member's extended attributes, as GNU tar's --xattrs.
    let xattrs = opts.flag("xattrs");
    let compress = opts.value("compress");
    let start = ctx.session.resolve(&args[0])?;
    if !start.is_dir() {
        return Err(Error::NotADirectory(args[0].clone()).into());
    }
    let to_file = args[1] != "-";
    if let (false, Some(fd)) = (to_file, ctx.out_fd) {
        widen_pipe(fd);
    }
    let vfs = &ctx.session.vfs;
    let out_fd = ctx.out_fd;
    let sink = Sink::open(&mut *ctx.out, &args[1])?;
    // An uncompressed archive takes large extents straight from the image into the output
    // descriptor, when there is one (the tar file, stdout, the pipe into a host command).
    let file = match &sink {
        Sink::File(f) => f.try_clone().ok(),
        Sink::Out(_) => None,
    };
    let mut direct = match (compress, &file) {
        (Some(_), _) => None,
        (None, Some(f)) => Direct::new(f.as_fd()),
        (None, None) => out_fd.and_then(Direct::new),
    };
    let mut out: Box<dyn Write + '_> = match compress {
        Some("gzip") => Box::new(flate2::write::GzEncoder::new(
            sink,
            flate2::Compression::default(),
        )),
        Some("xz") => Box::new(liblzma::write::XzEncoder::new(sink, 6)),
        Some("zstd") => Box::new(zstd::stream::write::Encoder::new(sink, 3)?.auto_finish()),
        Some("bzip2") => Box::new(bzip2::write::BzEncoder::new(
            sink,
            bzip2::Compression::default(),
        )),
        _ => Box::new(sink),
    };
    let bar = if to_file {
        progress(None)
    } else {
        ProgressBar::hidden()
    };
    // This thread writes (and compresses) while another walks the tree and reads the files.
    let (sender, blocks) = pipeline(3, direct.is_some());
    let (produced, written) = std::thread::scope(|scope| {
        let producer = scope.spawn(move || -> anyhow::Result<()> {
            let mut tar = TarWriter::new(sender);
            write_tree(vfs, &start, &excludes, xdev, xattrs, &mut tar)?;
            tar.finish()?;
            Ok(())
        });
        let written = (|| -> anyhow::Result<()> {
            for piece in blocks.full.iter() {
                match piece {
                    Piece::Block(block, len) => {
                        out.write_all(&block[..len])?;
                        bar.inc(len as u64);
                        // The producer may have stopped: then the block is not needed.
                        let _ = blocks.empty.send(block);
                    }
                    Piece::Range { fs, offset, len } => {
                        let direct = direct.as_mut().expect("ranges only come for a descriptor");
                        out.flush()?;
                        direct.copy(fs.source().as_ref(), offset, len)?;
                        bar.inc(len);
                    }
                }
            }
            Ok(out.flush()?)
        })();
        // On a write error, dropping the channel ends the producer.
        drop(blocks);
        let produced = producer
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the tar producer panicked")));
        (produced, written)
    });
    bar.finish_and_clear();
    written?;
    produced?;
    drop(out);
    Ok(())
}

/// Writes the tree at `start` into `tar`, as `tar-out` lays it out.
fn write_tree(
    vfs: &crate::vfs::Vfs,
    start: &Node,
    excludes: &[glob::Pattern],
    xdev: bool,
    xattrs: bool,
    tar: &mut TarWriter,
) -> anyhow::Result<()> {
    let mut links: HashMap<(usize, u64), Vec<u8>> = HashMap::new();
    let mut name: Vec<u8> = Vec::with_capacity(256);
    walk::walk(vfs, start, |item| {
        if item.depth > 0 && excluded(excludes, item.rel) {
            return Ok(false);
        }
        if xdev && item.depth > 0 && !walk::same_fs(item.fs(), start.fs()) {
            return Ok(false);
        }
        name.clear();
        name.extend_from_slice(b"./");
        name.extend_from_slice(item.rel);
        let meta = item.meta();
        let mut h = Header {
            name: &[],
            kind: kind::FILE,
            mode: meta.mode & 0o7777,
            uid: meta.uid,
            gid: meta.gid,
            size: 0,
            mtime: meta.mtime.secs,
            link: b"",
            dev: meta.rdev.unwrap_or((0, 0)),
        };
        let fs_file = match item.target {
            Target::Fs { fs, ino, .. } => Some((fs, *ino)),
            Target::Virtual => None,
        };
        match meta.kind {
            FileKind::Dir => {
                if item.depth > 0 {
                    name.push(b'/');
                }
                h.kind = kind::DIR;
            }
            FileKind::Symlink => {
                h.kind = kind::SYMLINK;
                h.link = meta.symlink.as_deref().unwrap_or_default();
            }
            FileKind::CharDevice => h.kind = kind::CHAR,
            FileKind::BlockDevice => h.kind = kind::BLOCK,
            FileKind::Fifo => h.kind = kind::FIFO,
            FileKind::Socket => {
                eprintln!(
                    "isofish: warning: ./{}: socket ignored",
                    String::from_utf8_lossy(item.rel)
                );
                return Ok(false);
            }
            FileKind::File => {
                let first = match fs_file {
                    Some((fs, _)) if meta.nlink > 1 => {
                        let id = walk::identity(fs, meta.ino);
                        match links.entry(id) {
                            Entry::Occupied(first) => Some(&*first.into_mut()),
                            Entry::Vacant(slot) => {
                                slot.insert(name.clone());
                                None
                            }
                        }
                    }
                    _ => None,
                };
                if let Some(first) = first {
                    h.kind = kind::HARDLINK;
                    h.link = first;
                } else {
                    h.size = meta.size;
                }
            }
        }
        h.name = &name;
        // A hard link's attributes travel with the first name, as its data does.
        if let (true, Some((fs, ino)), false) = (xattrs, fs_file, h.kind == kind::HARDLINK) {
            let list = fs.xattrs(ino)?;
            if !list.is_empty() {
                tar.xattrs(&list, h.mtime)?;
            }
        }
        tar.header(&h)?;
        if h.size > 0 {
            let (fs, ino) = fs_file.expect("regular files belong to a filesystem");
            match plain_extents(fs.as_ref(), ino, meta.size)? {
                Some(extents) => {
                    for e in extents {
                        match e.offset {
                            Some(off) => tar.extent(fs, off, e.len)?,
                            None => tar.zeros(e.len)?,
                        }
                    }
                }
                None => tar.from_file(fs.as_ref(), ino, meta.size)?,
            }
            tar.pad(meta.size)?;
        }
        Ok(true)
    })
}

fn checksums_out(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    super::checksum::Hasher::new(&args[0])?;
    let start = ctx.session.resolve(&args[1])?;
    if !start.is_dir() {
        return Err(Error::NotADirectory(args[1].clone()).into());
    }
    let session = &*ctx.session;
    let sink = Sink::open(&mut *ctx.out, &args[2])?;
    let mut out = io::BufWriter::new(sink);
    walk::walk(&session.vfs, &start, |item| {
        if let Target::Fs { fs, ino, meta } = item.target {
            if meta.kind == FileKind::File {
                let sum = file_checksum(fs.as_ref(), *ino, meta.size, &args[0])?;
                if args[0] == "crc" {
                    write!(out, "{sum} {} ./", meta.size)?;
                } else {
                    write!(out, "{sum}  ./")?;
                }
                out.write_all(item.rel)?;
                out.write_all(b"\n")?;
            }
        }
        Ok(true)
    })?;
    out.flush()?;
    Ok(())
}

/// One thing `copy-out` creates.
struct Planned {
    dest: PathBuf,
    meta: Metadata,
    /// The file's filesystem and handle (none for virtual directories).
    file: Option<(Arc<dyn FileSystem>, Ino)>,
    /// For the second and later names of a hard-linked file: the first one.
    link_to: Option<PathBuf>,
}

/// What `copy-out` will create, in creation order.
#[derive(Default)]
struct Plan {
    dirs: Vec<Planned>,
    files: Vec<Planned>,
    /// Hard links, symlinks, devices, FIFOs: made after all files exist.
    others: Vec<Planned>,
}

/// Plans the copy of `node` to `base`; `base` itself is left alone when it already exists
/// (the host directory `/` is copied into keeps its own owner, mode and times).
/// With `xdev`, mounts below `node` are left out.
fn plan_copy(
    ctx: &Ctx,
    node: &Node,
    base: &Path,
    xdev: bool,
    plan: &mut Plan,
) -> anyhow::Result<()> {
    let mut links: HashMap<(usize, u64), PathBuf> = HashMap::new();
    let keep_base = base.is_dir();
    walk::walk(&ctx.session.vfs, node, |item| {
        if xdev && item.depth > 0 && !walk::same_fs(item.fs(), node.fs()) {
            return Ok(false);
        }
        if item.rel.is_empty() && keep_base && item.is_dir() {
            return Ok(true);
        }
        // `rel` is made of single, checked components (the walk refuses anything else), so
        // `dest` cannot leave `base`.
        let dest = if item.rel.is_empty() {
            base.to_path_buf()
        } else {
            base.join(OsStr::from_bytes(item.rel))
        };
        let meta = item.meta().into_owned();
        let file = match item.target {
            Target::Fs { fs, ino, .. } => Some((fs.clone(), *ino)),
            Target::Virtual => None,
        };
        let mut p = Planned {
            dest,
            meta,
            file,
            link_to: None,
        };
        match p.meta.kind {
            FileKind::Dir => plan.dirs.push(p),
            FileKind::File => {
                if let (Some((fs, _)), true) = (&p.file, p.meta.nlink > 1) {
                    let id = walk::identity(fs, p.meta.ino);
                    if let Some(first) = links.get(&id) {
                        p.link_to = Some(first.clone());
                        plan.others.push(p);
                        return Ok(true);
                    }
                    links.insert(id, p.dest.clone());
                }
                plan.files.push(p);
            }
            _ => plan.others.push(p),
        }
        Ok(true)
    })
}

/// Makes `dest` a fresh file, replacing a file or link already there (never following one).
fn create_file(dest: &Path) -> anyhow::Result<File> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dest)
    };
    match open() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            remove_non_dir(dest)?;
            open().with_context(|| format!("{}: cannot create", dest.display()))
        }
        r => r.with_context(|| format!("{}: cannot create", dest.display())),
    }
}

/// Removes what is at `dest` unless it is a directory.
fn remove_non_dir(dest: &Path) -> anyhow::Result<()> {
    let m = host::symlink_metadata(dest)?;
    if m.is_dir() {
        bail!("{}: a directory is in the way", dest.display());
    }
    host::remove_file(dest).with_context(|| format!("{}: cannot replace", dest.display()))
}

fn mode_bits(meta: &Metadata, root: bool) -> u32 {
    if root {
        meta.mode & 0o7777
    } else {
        meta.mode & 0o777
    }
}

fn set_owner(dest: &Path, meta: &Metadata, root: bool) -> anyhow::Result<()> {
    if root {
        std::os::unix::fs::lchown(dest, Some(meta.uid), Some(meta.gid))
            .with_context(|| format!("{}: cannot change owner", dest.display()))?;
    }
    Ok(())
}

fn times(meta: &Metadata) -> FileTimes {
    let atime = if meta.atime.secs != 0 {
        meta.atime
    } else {
        meta.mtime
    };
    FileTimes::new()
        .set_accessed(system_time(atime))
        .set_modified(system_time(meta.mtime))
}

/// Creates one regular file and its data, then gives it its owner, mode and times.
fn copy_file(p: &Planned, root: bool, buf: &mut [u8], bar: &ProgressBar) -> anyhow::Result<()> {
    let out = create_file(&p.dest)?;
    if let Some((fs, ino)) = &p.file {
        copy_data(fs.as_ref(), *ino, p.meta.size, &out, buf, &|n| bar.inc(n))
            .with_context(|| format!("{}", p.dest.display()))?;
    }
    if root {
        std::os::unix::fs::fchown(&out, Some(p.meta.uid), Some(p.meta.gid))?;
    }
    out.set_permissions(host::Permissions::from_mode(mode_bits(&p.meta, root)))?;
    out.set_times(times(&p.meta))?;
    Ok(())
}

/// Files one thread takes at a time: at most this many, all in one host directory.
const BATCH: usize = 256;

/// The plan's files cut into batches of consecutive files that share a host directory, so the
/// two copying threads create files in different directories and do not queue on one
/// directory's lock in the kernel.
fn batches(files: &[Planned]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=files.len() {
        let cut = i == files.len()
            || i - start == BATCH
            || files[i].dest.parent() != files[start].dest.parent();
        if cut {
            out.push(start..i);
            start = i;
        }
    }
    out
}

/// Copies the regular files of the plan on two threads.
fn copy_files(files: &[Planned], root: bool, bar: &ProgressBar) -> anyhow::Result<()> {
    let batches = batches(files);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let mut buf = vec![0u8; 1 << 20];
                while let Some(batch) = batches.get(next.fetch_add(1, Ordering::Relaxed)) {
                    for p in &files[batch.clone()] {
                        if failed.load(Ordering::Relaxed) {
                            return;
                        }
                        if let Err(e) = copy_file(p, root, &mut buf, bar) {
                            failed.store(true, Ordering::Relaxed);
                            if let Ok(mut slot) = error.lock() {
                                slot.get_or_insert(e);
                            }
                        }
                    }
                }
            });
        }
    });
    match error.into_inner().ok().flatten() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Makes a hard link, symlink, device node or FIFO.
fn make_other(p: &Planned, root: bool) -> anyhow::Result<()> {
    let dest = &p.dest;
    if host::symlink_metadata(dest).is_ok() {
        remove_non_dir(dest)?;
    }
    let what =
        |e: io::Error| anyhow::Error::new(e).context(format!("{}: cannot create", dest.display()));
    if let Some(first) = &p.link_to {
        return host::hard_link(first, dest).map_err(what);
    }
    let perm = rustix::fs::Mode::from_raw_mode(mode_bits(&p.meta, root));
    let (file_type, needs_root) = match p.meta.kind {
        FileKind::Symlink => {
            let target = p.meta.symlink.as_deref().unwrap_or_default();
            std::os::unix::fs::symlink(OsStr::from_bytes(target), dest).map_err(what)?;
            set_owner(dest, &p.meta, root)?;
            return set_path_times(dest, &p.meta);
        }
        FileKind::CharDevice => (rustix::fs::FileType::CharacterDevice, true),
        FileKind::BlockDevice => (rustix::fs::FileType::BlockDevice, true),
        FileKind::Fifo => (rustix::fs::FileType::Fifo, false),
        FileKind::Socket | FileKind::File | FileKind::Dir => {
            eprintln!("isofish: warning: {}: socket skipped", dest.display());
            return Ok(());
        }
    };
    if needs_root && !root {
        eprintln!(
            "isofish: warning: {}: device node skipped (only root can create one)",
            dest.display()
        );
        return Ok(());
    }
    let (major, minor) = p.meta.rdev.unwrap_or((0, 0));
    rustix::fs::mknodat(
        rustix::fs::CWD,
        dest,
        file_type,
        perm,
        rustix::fs::makedev(major, minor),
    )
    .map_err(|e| what(e.into()))?;
    set_owner(dest, &p.meta, root)?;
    rustix::fs::chmodat(rustix::fs::CWD, dest, perm, rustix::fs::AtFlags::empty())
        .map_err(|e| what(e.into()))?;
    set_path_times(dest, &p.meta)
}

/// Sets the times of whatever is at `dest` without opening it (a device node, a symlink).
fn set_path_times(dest: &Path, meta: &Metadata) -> anyhow::Result<()> {
    let t = |ts: Timestamp| rustix::fs::Timespec {
        tv_sec: ts.secs,
        tv_nsec: i64::from(ts.nanos.min(999_999_999)),
    };
    let stamps = rustix::fs::Timestamps {
        last_access: t(if meta.atime.secs != 0 {
            meta.atime
        } else {
            meta.mtime
        }),
        last_modification: t(meta.mtime),
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        dest,
        &stamps,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .with_context(|| format!("{}: cannot set times", dest.display()))
}

fn copy_out(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    // Trailing `key:value` words are options; the host directory comes before them.
    let opts = super::parse("copy-out", args)?;
    let positional = opts.args.len();
    let xdev = opts.flag("xdev");
    let (paths, hostdir) = args[..positional].split_at(positional - 1);
    let hostdir = Path::new(&hostdir[0]);
    if !hostdir.is_dir() {
        bail!("{}: not a directory on the host", hostdir.display());
    }
    let root = rustix::process::geteuid().is_root();
    let mut plan = Plan::default();
    for path in paths {
        let node = ctx.session.resolve(path)?;
        // Named as the user named it (a symlink's name, not its target's), unless that name
        // is `.` or `..`: then as the directory it resolved to.
        let typed = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let name = if walk::is_safe_name(typed.as_bytes()) {
            typed
        } else {
            node.path.rsplit('/').next().unwrap_or_default()
        };
        let base = if name.is_empty() {
            hostdir.to_path_buf()
        } else if walk::is_safe_name(name.as_bytes()) {
            hostdir.join(name)
        } else {
            bail!("{path}: cannot be copied out under the name {name:?}");
        };
        plan_copy(ctx, &node, &base, xdev, &mut plan)?;
    }
    for d in &plan.dirs {
        match host::create_dir(&d.dest) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let m = host::symlink_metadata(&d.dest)?;
                if !m.is_dir() {
                    remove_non_dir(&d.dest)?;
                    host::create_dir(&d.dest)?;
                }
            }
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("{}: cannot create", d.dest.display()))
                )
            }
        }
    }
    let total = plan.files.iter().map(|p| p.meta.size).sum();
    let bar = progress(Some(total));
    copy_files(&plan.files, root, &bar)?;
    bar.finish_and_clear();
    for p in &plan.others {
        make_other(p, root)?;
    }
    // Directories last, deepest first, so their times survive the writes inside them and
    // read-only ones were writable while they were filled.
    for d in plan.dirs.iter().rev() {
        set_owner(&d.dest, &d.meta, root)?;
        host::set_permissions(
            &d.dest,
            host::Permissions::from_mode(mode_bits(&d.meta, root)),
        )?;
        File::open(&d.dest)
            .and_then(|f| f.set_times(times(&d.meta)))
            .with_context(|| format!("{}: cannot set times", d.dest.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::process::{Command as Host, Stdio};
    use std::sync::Arc;

    use crate::commands::{run, Ctx};
    use crate::fs::FileKind;
    use crate::session::Session;
    use crate::vfs::walk::tests::{meta, MemFs};
    use crate::vfs::Mount;

    /// GNU tar reads what `tar-out` writes: long names and link targets, hard links, devices.
    #[test]
    fn gnu_tar_lists_the_archive() {
        let long = "n".repeat(150);
        let target = "t/".repeat(80);
        let mut link = meta(FileKind::Symlink, 3, target.len() as u64);
        link.symlink = Some(target.clone().into_bytes());
        let mut file = meta(FileKind::File, 2, 5);
        file.nlink = 2;
        file.mtime.secs = 1_700_000_000;
        file.uid = 3_000_000;
        let mut dev = meta(FileKind::CharDevice, 4, 0);
        dev.rdev = Some((1, 3));
        let fs = MemFs {
            nodes: vec![
                (
                    meta(FileKind::Dir, 0, 0),
                    vec![
                        (long.clone().into_bytes(), 2),
                        (b"second".to_vec(), 2),
                        (b"link".to_vec(), 3),
                        (b"null".to_vec(), 4),
                    ],
                    Vec::new(),
                ),
                (meta(FileKind::Dir, 1, 0), Vec::new(), Vec::new()),
                (file, Vec::new(), b"hello".to_vec()),
                (link, Vec::new(), Vec::new()),
                (dev, Vec::new(), Vec::new()),
            ],
        };
        let mut session = Session::new(true);
        session.vfs.mount(Mount {
            mountpoint: "/".into(),
            device: "/dev/sda".into(),
            fs: Arc::new(fs),
            options: Default::default(),
        });
        let mut tarball = Vec::new();
        let mut ctx = Ctx {
            session: &mut session,
            out: &mut tarball,
            out_fd: None,
            tty: false,
        };
        run(&mut ctx, "tar-out", &["/".into(), "-".into()]).unwrap();
        let mut tar = Host::new("tar")
            .args(["--numeric-owner", "--full-time", "-tvf", "-"])
            .env("TZ", "UTC")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        tar.stdin.take().unwrap().write_all(&tarball).unwrap();
        let out = tar.wait_with_output().unwrap();
        assert!(out.status.success());
        let listing = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<String> = listing
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(lines.len(), 5, "{listing}");
        assert!(lines[0].ends_with(" ./"), "{listing}");
        assert!(
            lines[1].ends_with(&format!("./link -> {target}")),
            "{listing}"
        );
        assert!(
            lines[2].starts_with("-rwxr-xr-x 3000000/0 5 2023-11-14 22:13:20 ./nnn"),
            "{listing}"
        );
        assert!(lines[3].starts_with("crwxr-xr-x 0/0 1,3 "), "{listing}");
        assert!(
            lines[4].ends_with(&format!("./second link to ./{long}")),
            "{listing}"
        );
    }

    /// `copy-out` of a tree with `..`, `a/b` and empty names, a repeated name and a directory
    /// that contains itself writes only below the target, and only the plain names.
    #[test]
    fn copy_out_stays_inside_the_target() {
        let mut session = Session::new(true);
        session.vfs = crate::vfs::walk::tests::hostile_vfs();
        let outer = tempfile::tempdir().unwrap();
        let target = outer.path().join("target");
        std::fs::create_dir(&target).unwrap();
        let mut out = Vec::new();
        let mut ctx = Ctx {
            session: &mut session,
            out: &mut out,
            out_fd: None,
            tty: false,
        };
        let args = ["/".to_string(), target.to_str().unwrap().to_string()];
        run(&mut ctx, "copy-out", &args).unwrap();
        let names = |d: &std::path::Path| {
            let mut v: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(outer.path()), ["target"]);
        assert_eq!(names(&target), ["loop", "ok"]);
        assert_eq!(names(&target.join("loop")), ["again", "f"]);
        assert_eq!(std::fs::read(target.join("ok")).unwrap(), b"abc");
    }
}
