//! `tar-out` (and its `tgz-out` and `txz-out` forms): a directory tree as a tar archive (see
//! [`super::tar`]), optionally compressed, to a host file or the output. One thread walks the
//! tree and reads the files while this one writes (and compresses); an uncompressed archive
//! takes large ranges of host files straight into the output descriptor
//! ([`crate::data::Direct`]).

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::io::Write;
use std::os::fd::AsFd;

use anyhow::Context;
use indicatif::ProgressBar;

use super::format::escape_name;
use super::sink::{progress, Sink};
use super::tar::{kind, pipeline, xattr_records, Header, Piece, Sparse, TarWriter};
use super::{arg, option, ArgKind, Command, Ctx, Opt, Value, XDEV};
use crate::data::to_stream::widen_pipe;
use crate::data::{Direct, FileData};
use crate::error::Error;
use crate::fs::FileKind;
use crate::vfs::{walk, Node, Target};

/// `excludes:` of `tar-out` and its compressed forms.
const EXCLUDES: Opt = option(
    "excludes",
    Value::Word("PATTERN,..."),
    "leave out the members matching these wildcard patterns",
);

/// `root:` of `tar-out` and its compressed forms.
const ROOT: Opt = option(
    "root",
    Value::Bool,
    "add a `./` member for the directory itself (its mode and date land on the extraction directory)",
);

pub const COMMANDS: &[Command] = &[
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
            ROOT,
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
        options: &[EXCLUDES, ROOT],
        run: |ctx, args| tar_out_compressed(ctx, args, "gzip"),
    },
    Command {
        name: "txz-out",
        aliases: &[],
        args: &[
            arg("DIRECTORY", ArgKind::Path),
            arg("TARBALL", ArgKind::Output),
        ],
        options: &[EXCLUDES, ROOT],
        run: |ctx, args| tar_out_compressed(ctx, args, "xz"),
    },
];

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
    // xattrs:true adds each member's extended attributes, as GNU tar's --xattrs.
    let xattrs = opts.flag("xattrs");
    let walk = Walk {
        excludes,
        xdev: opts.flag("xdev"),
        xattrs,
        root: opts.flag("root"),
    };
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
            write_tree(vfs, &start, &walk, &mut tar)?;
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
                    Piece::Span(span) => {
                        let direct = direct.as_mut().expect("spans only come for a descriptor");
                        out.flush()?;
                        direct.copy(&span)?;
                        bar.inc(span.len());
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

/// The name a sparse member's header carries (its pax header names the file): the file's
/// name in a `GNUSparseFile.0` directory beside it, as GNU tar does, within the 100 bytes of
/// the header's field.
fn sparse_stand_in(name: &[u8]) -> Vec<u8> {
    let split = name.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    let (dir, file) = name.split_at(split);
    let out = [dir, b"GNUSparseFile.0/", file].concat();
    if out.len() <= 100 {
        out
    } else {
        b"./GNUSparseFile.0/sparse".to_vec()
    }
}

/// What `tar-out`'s options ask of the walk.
struct Walk {
    excludes: Vec<glob::Pattern>,
    /// `xdev:true`: leave out the mounts below the start.
    xdev: bool,
    /// `xattrs:true`: each member's extended attributes.
    xattrs: bool,
    /// `root:true`: a `./` member for the start itself.
    root: bool,
}

/// Writes the tree at `start` into `tar`, as `tar-out` lays it out.
fn write_tree(
    vfs: &crate::vfs::Vfs,
    start: &Node,
    options: &Walk,
    tar: &mut TarWriter,
) -> anyhow::Result<()> {
    let &Walk {
        ref excludes,
        xdev,
        xattrs,
        root,
    } = options;
    let mut links: HashMap<(usize, u64), Vec<u8>> = HashMap::new();
    let mut name: Vec<u8> = Vec::with_capacity(256);
    walk::walk(vfs, start, |item| {
        if item.depth > 0 && excluded(excludes, item.rel) {
            return Ok(false);
        }
        if xdev && item.depth > 0 && !walk::same_fs(item.fs(), start.fs()) {
            return Ok(false);
        }
        // Without root:true the start itself has no member, so `tar x` into a directory
        // leaves that directory's own mode and date alone.
        if item.depth == 0 && !root {
            return Ok(true);
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
                    escape_name(item.rel)
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
        // A hard link's attributes travel with the first name, as its data does.
        let mut records = Vec::new();
        if let (true, Some((fs, ino)), false) = (xattrs, fs_file, h.kind == kind::HARDLINK) {
            xattr_records(&fs.xattrs(ino)?, &mut records);
        }
        let data = match fs_file {
            Some((fs, ino)) if h.size > 0 => Some(FileData::open(fs, ino, meta.size)?),
            _ => None,
        };
        let sparse = data.as_ref().and_then(Sparse::of);
        let stand_in;
        h.name = &name;
        if let Some(sparse) = &sparse {
            sparse.records(&name, &mut records);
            stand_in = sparse_stand_in(&name);
            h.name = &stand_in;
            h.size = sparse.stored_size();
        }
        if !records.is_empty() {
            tar.pax(&records, h.mtime)?;
        }
        match sparse {
            Some(_) => tar.sparse_header(&h)?,
            None => tar.header(&h)?,
        }
        if let Some(data) = &data {
            match &sparse {
                Some(sparse) => tar.sparse_data(data, sparse)?,
                None => tar.data(data)?,
            }
            tar.pad(h.size)?;
        }
        Ok(true)
    })
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
        // No `./` member for the directory itself without root:true.
        assert_eq!(lines.len(), 4, "{listing}");
        assert!(
            lines[0].ends_with(&format!("./link -> {target}")),
            "{listing}"
        );
        assert!(
            lines[1].starts_with("-rwxr-xr-x 3000000/0 5 2023-11-14 22:13:20 ./nnn"),
            "{listing}"
        );
        assert!(lines[2].starts_with("crwxr-xr-x 0/0 1,3 "), "{listing}");
        assert!(
            lines[3].ends_with(&format!("./second link to ./{long}")),
            "{listing}"
        );
    }
}
