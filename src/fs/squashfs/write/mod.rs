//! The squashfs 4.0 writer: the new image of a squashfs whose tree changed, keeping what can be
//! seen of how the original was made (compressor and its options, block size, fragment and
//! uncompressed-table flags, the id table's order, the export table if it had one, the
//! modification time) and copying what did not change: the data blocks and fragment blocks of
//! files whose data is the original's are ranges of the original image, never decoded; only
//! new or changed data is compressed. The inode, directory, fragment, export, id and xattr
//! tables are encoded again. In-house rather than backhand's `FilesystemWriter`, which drops
//! extended attributes and compresses every block again.
//!
//! The image is laid out as `mksquashfs` lays it out: superblock, compressor options, data and
//! fragment blocks, inode table, directory table, fragment table, export table, id table, xattr
//! table, padding to 4 KiB. Listings split as `mksquashfs` splits them, with the directory index
//! of each 8 KiB split in the extended directory inode (the kernel looks names up through it).

mod compress;
mod data;
mod directory;
mod export;
mod fragment;
mod id;
mod inode;
mod metadata;
mod tree;
mod xattr;

use std::collections::BTreeMap;

use super::data::STORED;
use super::inode::NO_FRAGMENT;
use super::superblock::{
    self, Superblock, COMPRESSOR_OPTIONS, EXPORTABLE, NOT_SET, NO_XATTRS, UNCOMPRESSED_IDS,
    UNCOMPRESSED_INODES, UNCOMPRESSED_XATTRS,
};
use super::SquashFs;
use crate::data::Span;
use crate::error::{Error, Result};
use crate::fs::{FileKind, FileSystem, Ino, Metadata};
use crate::overlay::Provenance;
use crate::plan::Plan;
use compress::Encoder;
use data::{Copies, FileLayout, NewData};
use directory::Entry;
use fragment::Fragment;
use inode::{Body, Inode};
use metadata::MetadataWriter;

/// The image is padded to a multiple of this (`mksquashfs` without `-nopad`).
const PAD: u64 = 4096;

/// The new bytes of the squashfs image `original` was read from, holding `tree`;
/// `provenance` says which files' data is the original's (copied as stored).
pub fn plan(
    original: &SquashFs,
    tree: &dyn FileSystem,
    provenance: &dyn Fn(Ino) -> Provenance,
) -> Result<Plan> {
    let source = original.source.clone();
    let image = source.name().to_string();
    let sb = &original.superblock;
    let options = compress::options_block(&*source, sb.has(COMPRESSOR_OPTIONS))?;
    let encoder = Encoder::new(
        &image,
        sb.compressor,
        sb.block_size,
        options.as_ref().map(|o| &o.2[..]),
    )?;
    let (nodes, order) = tree::collect(tree, &image)?;
    let count = u32::try_from(order.len())
        .ok()
        .filter(|&n| n < u32::MAX)
        .ok_or_else(|| Error::unsupported(&image, "more than 2^32 - 2 inodes in a squashfs"))?;
    let mut number = vec![0u32; nodes.len()];
    for (i, &n) in order.iter().enumerate() {
        number[n] = i as u32 + 1;
    }

    let mut plan = Plan::new();
    plan.push_bytes(sb.encode()); // patched once the tables are placed
    if let Some((at, len, _)) = &options {
        plan.push(Span::source(&source, *at, *len));
    }

    let (mut layouts, fragments) = data(
        &mut plan,
        original,
        tree,
        provenance,
        (sb, &encoder),
        &nodes,
        &order,
    )?;

    // Inodes and listings, each directory after what it holds.
    let mut ids = id::Ids::new(original.ids.iter().copied());
    let mut xattrs = xattr::Xattrs::default();
    let uncompressed = sb.has(UNCOMPRESSED_INODES);
    let mut inode_table = MetadataWriter::new(&encoder, uncompressed);
    let mut dir_table = MetadataWriter::new(&encoder, uncompressed);
    let mut refs = vec![0u64; nodes.len()];
    let mut types = vec![0u16; nodes.len()];
    for &n in &order {
        let node = &nodes[n];
        let m = &node.meta;
        let body = match m.kind {
            FileKind::Dir => {
                let entries: Vec<Entry> = node
                    .children
                    .iter()
                    .map(|(name, c)| Entry {
                        name: name.clone(),
                        block: (refs[*c] >> 16) as u32,
                        offset: refs[*c] as u16,
                        number: number[*c],
                        kind: types[*c],
                    })
                    .collect();
                let listing = directory::encode(&entries);
                let (block, offset) = dir_table.position();
                let from = dir_table.written();
                dir_table.write(&listing.bytes)?;
                let index = listing
                    .splits
                    .into_iter()
                    .map(|(at, name)| {
                        let start = dir_table.block_of(from + u64::from(at));
                        Ok((at, table_offset(start, &image, "directory")?, name))
                    })
                    .collect::<Result<Vec<_>>>()?;
                if index.len() > usize::from(u16::MAX) {
                    return Err(Error::unsupported(
                        &image,
                        "a directory index past 65535 entries",
                    ));
                }
                let subdirs = node
                    .children
                    .iter()
                    .filter(|(_, c)| nodes[*c].meta.is_dir())
                    .count() as u32;
                Body::Dir {
                    nlink: 2 + subdirs,
                    block: table_offset(block, &image, "directory")?,
                    offset,
                    size: u32::try_from(listing.bytes.len() + 3).map_err(|_| {
                        Error::unsupported(&image, "a directory listing past 4 GiB")
                    })?,
                    parent: if n == 0 {
                        count + 1
                    } else {
                        number[node.parent]
                    },
                    index,
                }
            }
            FileKind::File => {
                let l = layouts[n].take().unwrap_or_default();
                Body::File {
                    nlink: node.links,
                    blocks_start: l.blocks_start,
                    size: m.size,
                    sparse: l.sparse,
                    fragment: l.fragment,
                    fragment_offset: l.fragment_offset,
                    blocks: l.blocks,
                }
            }
            FileKind::Symlink => Body::Symlink {
                nlink: node.links,
                target: m.symlink.clone().unwrap_or_default(),
            },
            FileKind::BlockDevice | FileKind::CharDevice => {
                let (major, minor) = m.rdev.unwrap_or((0, 0));
                Body::Device {
                    nlink: node.links,
                    block: m.kind == FileKind::BlockDevice,
                    rdev: inode::encode_dev(major, minor),
                }
            }
            FileKind::Fifo | FileKind::Socket => Body::Ipc {
                nlink: node.links,
                socket: m.kind == FileKind::Socket,
            },
        };
        let inode = Inode {
            mode: (m.mode & 0o7777) as u16,
            uid: ids.index(m.uid, &image)?,
            gid: ids.index(m.gid, &image)?,
            mtime: mtime(m),
            number: number[n],
            xattr: xattrs.id(tree.xattrs(node.ino)?),
            body,
        };
        let (block, offset) = inode_table.position();
        table_offset(block, &image, "inode")?;
        refs[n] = (block << 16) | u64::from(offset);
        types[n] = inode.basic_type();
        inode_table.write(&inode.encode())?;
    }

    // The tables, in mksquashfs's order.
    let mut out = sb.clone();
    out.inode_table = plan.push_bytes(inode_table.finish()?);
    out.dir_table = plan.push_bytes(dir_table.finish()?);
    out.frag_count = fragments.len() as u32;
    out.frag_table = fragment::write(
        &mut plan,
        &encoder,
        sb.has(superblock::UNCOMPRESSED_FRAGMENTS),
        &fragments,
    )?;
    out.export_table = if sb.export_table != NOT_SET || sb.has(EXPORTABLE) {
        let mut by_number = vec![0u64; order.len()];
        for &n in &order {
            by_number[number[n] as usize - 1] = refs[n];
        }
        export::write(&mut plan, &encoder, uncompressed, &by_number)?
    } else {
        NOT_SET
    };
    out.id_table = ids.write(&mut plan, &encoder, sb.has(UNCOMPRESSED_IDS))?;
    out.id_count = ids.count();
    // The flag that says no attributes are stored stays as it was unless there are some
    // (mksquashfs sets it for -no-xattrs only).
    out.xattr_table = if xattrs.is_empty() {
        NOT_SET
    } else {
        out.flags &= !NO_XATTRS;
        xattrs.write(&mut plan, &encoder, sb.has(UNCOMPRESSED_XATTRS))?
    };
    out.inode_count = count;
    out.root_inode = refs[0];
    out.bytes_used = plan.len();
    plan.pad_to(PAD);
    plan.patch(0, &out.encode());
    if let Some(note) = &encoder.note {
        plan.warn(format!("{image}: {note}"));
    }
    if !xattrs.dropped.is_empty() {
        let mut names = xattrs.dropped.clone();
        names.sort();
        names.dedup();
        plan.warn(format!(
            "{image}: squashfs stores only user., trusted. and security. attributes; left \
             out: {}",
            names.join(", ")
        ));
    }
    Ok(plan)
}

/// Lays out the file data after what `plan` holds: the blocks and fragment blocks of the
/// files whose data is kept, copied in their order in the original, then the new files'
/// data. Returns each file node's layout and the fragment blocks.
fn data(
    plan: &mut Plan,
    original: &SquashFs,
    tree: &dyn FileSystem,
    provenance: &dyn Fn(Ino) -> Provenance,
    (sb, encoder): (&Superblock, &Encoder),
    nodes: &[tree::Node],
    order: &[usize],
) -> Result<(Vec<Option<FileLayout>>, Vec<Fragment>)> {
    let files: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&n| nodes[n].meta.kind == FileKind::File)
        .collect();
    let mut kept = BTreeMap::new();
    for &n in &files {
        let node = &nodes[n];
        if provenance(node.ino).data_kept() {
            if let Some(k) = kept_file(original, node.ino, node.meta.size)? {
                kept.insert(n, k);
            }
        }
    }
    // The fragment blocks kept files use, by place and size word, numbered in their order.
    let mut old_fragments: BTreeMap<(u64, u32), u32> = BTreeMap::new();
    let mut ranges = Vec::new();
    for k in kept.values() {
        if k.len > 0 {
            ranges.push((k.blocks_start, k.blocks_start + k.len));
        }
        if let Some((f, _)) = k.fragment {
            old_fragments.insert(f, 0);
        }
    }
    let mut fragments = Vec::with_capacity(old_fragments.len());
    for (new, (&(start, size_word), slot)) in old_fragments.iter_mut().enumerate() {
        *slot = new as u32;
        ranges.push((start, start + u64::from(size_word & !STORED)));
        fragments.push(Fragment { start, size_word });
    }
    let area_start = plan.len();
    let copies = Copies::copy(plan, &original.source, (area_start, sb.inode_table), ranges)?;
    for f in &mut fragments {
        f.start = copies.moved(f.start);
    }
    let mut layouts: Vec<Option<FileLayout>> = vec![None; nodes.len()];
    for (&n, k) in &kept {
        layouts[n] = Some(FileLayout {
            blocks_start: if k.len > 0 {
                copies.moved(k.blocks_start)
            } else {
                area_start
            },
            blocks: k.words.clone(),
            fragment: k.fragment.map_or(NO_FRAGMENT, |(f, _)| old_fragments[&f]),
            fragment_offset: k.fragment.map_or(0, |(_, o)| o),
            sparse: k.sparse,
        });
    }
    let mut new_data = NewData::new(encoder, sb, fragments);
    for &n in &files {
        if layouts[n].is_none() {
            let node = &nodes[n];
            layouts[n] = Some(new_data.add(plan, tree, node.ino, node.meta.size)?);
        }
    }
    new_data.flush(plan)?;
    Ok((layouts, new_data.fragments))
}

/// A kept file's data as the original stores it.
struct Kept {
    blocks_start: u64,
    words: Vec<u32>,
    /// The bytes its blocks take.
    len: u64,
    /// The fragment block holding its tail (start, size word) and the tail's offset in it.
    fragment: Option<((u64, u32), u32)>,
    sparse: u64,
}

/// The original's layout of file `ino`, when it is a regular file of `size` bytes there.
fn kept_file(original: &SquashFs, ino: Ino, size: u64) -> Result<Option<Kept>> {
    let Ok(inode) = original.inode(ino) else {
        return Ok(None);
    };
    if !matches!(inode.body, super::inode::Body::File(_)) {
        return Ok(None);
    }
    let data = original.file_data(&inode)?;
    if data.size != size {
        return Ok(None);
    }
    Ok(Some(Kept {
        blocks_start: data.blocks_start,
        words: data.block_sizes.iter().map(|s| s.0).collect(),
        len: data.block_sizes.iter().map(|s| u64::from(s.size())).sum(),
        fragment: data
            .fragment
            .map(|(f, offset)| ((f.start, f.size.0), offset)),
        sparse: data.sparse,
    }))
}

/// A table position as a directory header or inode reference holds it (32 bits).
fn table_offset(block: u64, image: &str, table: &str) -> Result<u32> {
    u32::try_from(block)
        .map_err(|_| Error::unsupported(image, format!("a squashfs {table} table past 4 GiB")))
}

/// The modification time as squashfs records it (unsigned 32-bit seconds).
fn mtime(m: &Metadata) -> u32 {
    m.mtime.secs.clamp(0, i64::from(u32::MAX)) as u32
}
