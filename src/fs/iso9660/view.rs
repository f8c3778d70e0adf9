//! Which tree an [`IsoFs`](super::IsoFs) shows, as the Linux kernel chooses: Rock Ridge when the
//! primary root's `.` record starts with SUSP's SP entry, else Joliet, else plain ISO 9660; the
//! mount options `norock`, `nojoliet`, `joliet` (prefer Joliet), `plain` (neither) and
//! `iso1999` (the tree of an enhanced volume descriptor) change the choice. `unhide` changes
//! nothing here (entries marked hidden are listed, as Linux lists them); on a bridge disc it
//! is for the UDF tree a commit writes beside this one.

use super::record::Record;
use super::rockridge::RockRidge;
use super::volume::{Descriptor, Kind};
use super::{susp, SECTOR};
use crate::error::{Error, Result};
use crate::fs::MountOptions;
use crate::source::Source;

/// The mount options this filesystem understands.
const OPTIONS: &[&str] = &[
    "norock", "nojoliet", "joliet", "plain", "iso1999", "unhide", "ro",
];

/// Which names (and attributes) are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum View {
    RockRidge,
    Joliet,
    Plain,
}

impl View {
    /// How `info` names it.
    pub(super) fn name(self) -> &'static str {
        match self {
            View::RockRidge => "Rock Ridge",
            View::Joliet => "Joliet",
            View::Plain => "ISO 9660",
        }
    }
}

/// The tree chosen, and what the primary tree says about SUSP.
pub(super) struct Choice<'d> {
    pub(super) view: View,
    /// The descriptor whose root directory is shown.
    pub(super) tree: &'d Descriptor,
    /// The primary descriptor's volume id.
    pub(super) label: String,
    /// With SUSP: the skip length of every system use area but the root's `.` (0 without).
    pub(super) susp_skip: usize,
    /// SUSP on the primary tree (in use or not): `Some` with the ER identifiers of the root.
    pub(super) rock_ridge: Option<Vec<String>>,
}

/// Picks the tree of `descriptors` (read from `src`) to show under `options`.
pub(super) fn choose<'d>(
    src: &dyn Source,
    descriptors: &'d [Descriptor],
    options: &MountOptions,
) -> Result<Choice<'d>> {
    if let Some(bad) = options.0.iter().find(|o| !OPTIONS.contains(&o.as_str())) {
        return Err(Error::Usage(format!(
            "unknown iso9660 mount option {bad:?} (known: {})",
            OPTIONS.join(", ")
        )));
    }
    let image = src.name();
    let find = |f: fn(&Kind) -> bool| descriptors.iter().find(|d| f(&d.kind));
    let primary = find(|k| *k == Kind::Primary)
        .ok_or_else(|| Error::corrupt(image, "volume descriptor", 16 * SECTOR, "no primary"))?;
    let joliet = find(|k| matches!(k, Kind::Joliet(_)));

    // Rock Ridge is in use when the primary root's `.` record starts with SP.
    let (dot_buf, dot_offset) = root_directory(src, primary)?;
    let dot = Record::decode(&dot_buf, dot_offset, image)?;
    let sp = susp::Sp::find(dot.system_use);
    let mut rock_ridge = None;
    if sp.is_some() {
        let mut rr = RockRidge::default();
        susp::for_each(src, dot.system_use, dot.system_use_offset, 0, &mut |e| {
            rr.add(image, e)
        })?;
        rock_ridge = Some(rr.extensions);
    }

    let enhanced = find(|k| *k == Kind::Enhanced).filter(|_| options.has("iso1999"));
    let neither = options.has("plain") || enhanced.is_some();
    let want_rock = sp.is_some() && !options.has("norock") && !neither;
    let joliet = joliet.filter(|_| !options.has("nojoliet") && !neither);
    let (view, tree) = match joliet {
        Some(j) if options.has("joliet") || !want_rock => (View::Joliet, j),
        _ if want_rock => (View::RockRidge, enhanced.unwrap_or(primary)),
        _ => (View::Plain, enhanced.unwrap_or(primary)),
    };
    Ok(Choice {
        view,
        tree,
        label: primary
            .volume()
            .map_or_else(String::new, |v| v.volume_id.get(false).trim().to_string()),
        susp_skip: usize::from(sp.map_or(0, |sp| sp.skip)),
        rock_ridge,
    })
}

/// The first sector of the root directory of a descriptor (its `.` record first), and its
/// byte offset.
pub(super) fn root_directory(src: &dyn Source, d: &Descriptor) -> Result<(Vec<u8>, u64)> {
    let volume = d.volume().ok_or_else(|| {
        Error::corrupt(
            src.name(),
            "volume descriptor",
            d.offset,
            "not a primary or supplementary descriptor: no root directory",
        )
    })?;
    let rec = volume.root(d.offset, src.name())?;
    if !rec.is_dir() {
        return Err(Error::corrupt(
            src.name(),
            "root directory record",
            d.offset + 156,
            "not flagged as a directory",
        ));
    }
    let len = u64::from(rec.size).clamp(1, SECTOR);
    let offset = rec.data_offset();
    Ok((src.read_vec(offset, len as usize, "directory")?, offset))
}
