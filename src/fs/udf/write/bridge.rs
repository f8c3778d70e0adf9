//! The UDF side of a bridge image (UDF beside ISO 9660 on one disc, as Windows install media,
//! genisoimage `-udf` and pycdlib make them), laid out by the ISO 9660 writer through
//! [`Bridge`]: the recognition sequence after the ISO terminator, from block 256 the anchor,
//! the descriptors, the file entries and directories and the data no ISO 9660 file holds,
//! and after the ISO file data the anchors at N-256 and N. A UDF file whose ISO 9660
//! counterpart (same path) has the same data points at the ISO file's extent: both trees
//! share the data. The partition spans from after the descriptors to the tail, file data
//! included.

use std::collections::HashMap;

use super::super::UdfFs;
use super::emit::emit_bridge;
use super::layout::{bridge_blocks, Frame, Layout};
use super::tree::{by_ino, by_path, Template, Tree};
use super::Style;
use crate::error::{Error, Result};
use crate::fs::iso9660::write::{Bridge, BridgeAt, BridgeSpans};
use crate::fs::{FileSystem, Ino, Span};
use crate::overlay::Provenance;
use crate::plan::Plan;

/// Blocks of the recognition sequence.
const VRS_BLOCKS: u32 = 3;

/// A bridge image's UDF side, for the ISO 9660 writer.
pub(crate) struct UdfSide<'a> {
    original: &'a UdfFs,
    style: Style,
    tree: Tree,
    /// Per object, the ISO 9660 file (index in [`Bridge::reserve`]'s list) it shares data with.
    share: Vec<Option<usize>>,
    /// Blocks reserved from 256 on and after the ISO 9660 file data.
    blocks: (u64, u64),
    warnings: Vec<String>,
}

/// The UDF side of a new bridge image holding `tree`: the original's UDF tree with the
/// changes staged in it (`by_path` false: its objects are the original's by inode), or the
/// ISO 9660 tree with its changes (`by_path`: the original's entries are found by path).
pub(crate) fn side<'a>(
    original: &'a UdfFs,
    tree: &dyn FileSystem,
    provenance: &dyn Fn(Ino) -> Provenance,
    by_path_: bool,
) -> Result<UdfSide<'a>> {
    if original.block_size != 2048 {
        return Err(Error::unsupported(
            original.image(),
            format!(
                "a bridge image of {}-byte UDF blocks (ISO 9660 sectors are 2048)",
                original.block_size
            ),
        ));
    }
    let mut notes = Plan::new();
    let mut style = Style::of(original, &mut notes)?;
    // Bridge discs are read-only media: their free space is not kept.
    style.bitmap = false;
    let next_unique = style.next_unique();
    let template: Box<Template> = if by_path_ {
        Box::new(by_path(original))
    } else {
        Box::new(by_ino(original))
    };
    let tree = Tree::gather(
        original,
        tree,
        provenance,
        &template,
        !by_path_,
        next_unique,
    )?;
    for w in tree.dropped(original)? {
        notes.warn(w);
    }
    Ok(UdfSide {
        original,
        share: vec![None; tree.objs.len()],
        style,
        tree,
        blocks: (0, 0),
        warnings: notes.warnings().to_vec(),
    })
}

/// One run of data, to compare two files' data without reading it.
#[derive(PartialEq, Eq)]
enum Run<'s> {
    Source(&'s str, u64, u64),
    Bytes(&'s [u8]),
    Zeros(u64),
}

/// The runs of `spans`, contiguous ranges of one source joined.
fn runs(spans: &[Span]) -> Vec<Run<'_>> {
    let mut out: Vec<Run> = Vec::new();
    for s in spans {
        let run = match s {
            Span::Source {
                source,
                offset,
                len,
            } => Run::Source(source.name(), *offset, *len),
            Span::Bytes(b) => Run::Bytes(b),
            Span::Zeros(n) => Run::Zeros(*n),
        };
        if let (Some(Run::Source(name, offset, len)), Run::Source(n, o, l)) = (out.last_mut(), &run)
        {
            if name == n && *offset + *len == *o {
                *len += l;
                continue;
            }
        }
        out.push(run);
    }
    out
}

impl Bridge for UdfSide<'_> {
    fn reserve(&mut self, files: &[(String, &[Span])]) -> Result<(u32, u64, u32)> {
        let by_path: HashMap<&str, usize> = files
            .iter()
            .enumerate()
            .map(|(i, (p, _))| (p.as_str(), i))
            .collect();
        for (i, o) in self.tree.objs.iter().enumerate() {
            if o.size == 0 || o.embedded.is_some() {
                continue;
            }
            let Some(&f) = by_path.get(o.path.as_str()) else {
                continue;
            };
            if runs(&o.data) == runs(files[f].1) {
                self.share[i] = Some(f);
            } else {
                self.warnings.push(format!(
                    "{}: the ISO 9660 tree keeps its own copy of {}, not the UDF tree's",
                    self.original.image(),
                    o.path
                ));
            }
        }
        let marks: Vec<Option<u32>> = self.share.iter().map(|s| s.map(|_| 0)).collect();
        self.blocks = bridge_blocks(self.original, &self.style, &self.tree, &marks)?;
        let tail = u32::try_from(self.blocks.1)
            .map_err(|_| Error::unsupported(self.original.image(), "UDF data over 2^32 blocks"))?;
        Ok((VRS_BLOCKS, self.blocks.0, tail))
    }

    fn fill(&mut self, blocks: &[u32], at: BridgeAt) -> Result<BridgeSpans> {
        let shared: Vec<Option<u32>> = self
            .share
            .iter()
            .map(|s| s.and_then(|f| blocks.get(f).copied()))
            .collect();
        for (o, s) in self.tree.objs.iter_mut().zip(&shared) {
            o.shared = *s;
        }
        let frame = Frame::Bridge {
            at,
            shared: &shared,
        };
        let layout = Layout::new(self.original, &self.style, &self.tree, &frame)?;
        emit_bridge(
            self.original,
            &self.style,
            &self.tree,
            &layout,
            at,
            self.blocks,
        )
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
}
