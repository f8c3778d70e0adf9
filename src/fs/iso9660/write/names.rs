//! The names a rewritten image records: the ISO 9660 identifier of each entry, its Joliet
//! name, the order of a directory's records (ECMA-119 §9.3), and [`check_name`], which tells
//! before staging what each tree will record for a name.
//!
//! Choices where the standards leave room:
//! - An entry of the original whose visible name is unchanged keeps its recorded identifier,
//!   whatever the level it was made at. New and renamed entries get one in the original's
//!   style ([`IsoStyle`]): level 1 (8.3 for files, 8 for directories) when every identifier
//!   of the original fits it, else the 31 characters of levels 2 and 3 (30 for name and
//!   extension of a file); d-characters only (`A-Z 0-9 _`, lower case raised, others `_`),
//!   the last `.` kept as the extension separator, `;1` after file names when the original
//!   writes versions (genisoimage and xorriso do by default).
//! - A collision within a directory is resolved deterministically, in the order of the
//!   visible names: the later entry's stem ends in a decimal counter (`README01.TXT`), cut so
//!   the identifier stays within the limit.
//! - Joliet names are the visible names in UCS-2, with `* / : ; ? \` replaced by `_`, cut at
//!   64 characters (103 when the original has a longer one, as `-joliet-long` writes), with
//!   no `;1` (genisoimage and xorriso write none); collisions after the cut get a counter at
//!   the end of the stem, before the extension.

use super::HashSet;
use std::cmp::Ordering;

use super::super::{joliet, IsoFs};
use crate::error::{Error, Result};
use crate::fs::FileSystem;

/// Longest Rock Ridge name isofish writes (as Linux and xorriso accept).
pub const RR_MAX: usize = 255;
/// Joliet's name limit in characters, and the one of `-joliet-long`.
pub const JOLIET_MAX: usize = 64;
pub const JOLIET_LONG_MAX: usize = 103;

/// How the original names its entries in the primary tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IsoStyle {
    /// Level 1: 8.3 names.
    pub level1: bool,
    /// `;1` after file identifiers.
    pub version: bool,
}

impl Default for IsoStyle {
    fn default() -> Self {
        IsoStyle {
            level1: false,
            version: true,
        }
    }
}

impl IsoStyle {
    /// The style of a set of recorded identifiers (`is_dir`, identifier).
    pub fn of<'a>(recorded: impl Iterator<Item = (bool, &'a [u8])>) -> IsoStyle {
        let mut level1 = true;
        let mut version = None;
        for (is_dir, id) in recorded {
            if !is_dir && version.is_none() {
                version = Some(id.contains(&b';'));
            }
            let (stem, ext, _) = split(id);
            let fits = if is_dir {
                id.len() <= 8 && !id.contains(&b'.')
            } else {
                stem.len() <= 8 && ext.len() <= 3
            };
            level1 &= fits;
        }
        IsoStyle {
            level1,
            version: version.unwrap_or(true),
        }
    }

    /// The style of `original`'s identifiers as its root directory shows it (the primary
    /// tree's, when the Joliet one is shown), found once per image: what staging's name
    /// checks say (a commit looks at every identifier).
    pub fn guess(original: &IsoFs) -> Result<IsoStyle> {
        let (level1, version) = original.iso_style(|| {
            let primary;
            let fs = if original.shows_joliet() {
                primary = IsoFs::open(
                    std::sync::Arc::clone(original.source()),
                    &crate::fs::MountOptions(vec!["plain".into()]),
                )?;
                &primary
            } else {
                original
            };
            let mut ids = Vec::new();
            for e in fs.read_dir(fs.root())?.into_iter().take(256) {
                ids.push((e.meta.is_dir(), fs.original_record(e.ino)?.name));
            }
            let style = IsoStyle::of(ids.iter().map(|(d, id)| (*d, id.as_slice())));
            Ok((style.level1 && !ids.is_empty(), style.version))
        })?;
        Ok(IsoStyle { level1, version })
    }

    /// The longest stem and extension of a file identifier, and of a directory one.
    fn limits(&self, is_dir: bool) -> (usize, usize) {
        match (self.level1, is_dir) {
            (true, true) => (8, 0),
            (true, false) => (8, 3),
            (false, true) => (31, 0),
            (false, false) => (30, 30),
        }
    }

    /// The identifier for a new entry named `visible` (before collisions are resolved).
    pub fn identifier(&self, visible: &[u8], is_dir: bool) -> Vec<u8> {
        self.numbered(visible, is_dir, None)
    }

    /// The identifier with `n` (if any) at the end of its stem.
    fn numbered(&self, visible: &[u8], is_dir: bool, n: Option<usize>) -> Vec<u8> {
        let d_char = |b: &u8| match b.to_ascii_uppercase() {
            c @ (b'A'..=b'Z' | b'0'..=b'9' | b'_') => c,
            _ => b'_',
        };
        let (stem, ext) = match visible.iter().rposition(|&b| b == b'.') {
            Some(dot) if !is_dir && dot > 0 => (&visible[..dot], &visible[dot + 1..]),
            _ => (visible, &b""[..]),
        };
        let (max_stem, max_ext) = self.limits(is_dir);
        let mut ext: Vec<u8> = ext.iter().map(d_char).take(max_ext).collect();
        // Levels 2 and 3: name and extension share 30 characters.
        let max_stem = if self.level1 || is_dir {
            max_stem
        } else {
            ext.truncate(max_ext.min(max_stem - 1));
            max_stem - ext.len()
        };
        let suffix = n
            .map(|n| format!("{n:02}").into_bytes())
            .unwrap_or_default();
        let mut id: Vec<u8> = stem.iter().map(d_char).collect();
        if id.is_empty() {
            id.push(b'_');
        }
        id.truncate(max_stem.saturating_sub(suffix.len()));
        id.extend_from_slice(&suffix);
        if !is_dir {
            id.push(b'.');
            id.extend_from_slice(&ext);
            if self.version {
                id.extend_from_slice(b";1");
            }
        }
        id
    }

    /// Whether `id` can be the identifier the original gave an entry named `visible` (the
    /// files of a data extent shared by hard links have different names): their first
    /// characters agree.
    pub fn identifier_of(&self, id: &[u8], visible: &[u8]) -> bool {
        let ours = self.identifier(visible, false);
        let n = 6.min(ours.len()).min(id.len());
        ours[..n].eq_ignore_ascii_case(&id[..n])
    }

    /// A free identifier for `visible` in a directory whose identifiers are `taken` (which
    /// it joins).
    pub fn unique(&self, visible: &[u8], is_dir: bool, taken: &mut HashSet<Vec<u8>>) -> Vec<u8> {
        let first = self.identifier(visible, is_dir);
        let id = if taken.contains(&first) {
            (1..)
                .map(|n| self.numbered(visible, is_dir, Some(n)))
                .find(|id| !taken.contains(id))
                .unwrap_or(first)
        } else {
            first
        };
        taken.insert(id.clone());
        id
    }
}

/// The stem, extension and version of an identifier (`FOO.TXT;1` → `FOO`, `TXT`, `1`).
fn split(id: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let (name, version) = match id.iter().position(|&b| b == b';') {
        Some(semi) => (&id[..semi], &id[semi + 1..]),
        None => (id, &b""[..]),
    };
    match name.iter().position(|&b| b == b'.') {
        Some(dot) => (&name[..dot], &name[dot + 1..], version),
        None => (name, &b""[..], version),
    }
}

/// The order of records in a directory (ECMA-119 §9.3): by name, then extension, each
/// padded with spaces, then by version, highest first.
pub fn ecma_order(a: &[u8], b: &[u8]) -> Ordering {
    let (sa, ea, va) = split(a);
    let (sb, eb, vb) = split(b);
    padded(sa, sb)
        .then_with(|| padded(ea, eb))
        .then_with(|| padded(vb, va))
}

fn padded(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().max(b.len());
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(b' ');
    (0..n)
        .map(|i| at(a, i).cmp(&at(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// The Joliet name of `visible` (UCS-2), its stem cut to leave room for `n`; and whether
/// the name was cut.
fn joliet_numbered(visible: &[u8], is_dir: bool, max: usize, n: Option<usize>) -> (Vec<u8>, bool) {
    let mut units: Vec<u16> = Vec::with_capacity(visible.len());
    for c in String::from_utf8_lossy(visible).chars() {
        let c = match c {
            '*' | '/' | ':' | ';' | '?' | '\\' => '_',
            c => c,
        };
        units.extend_from_slice(c.encode_utf16(&mut [0; 2]));
    }
    let cut = units.len() > max;
    if cut || n.is_some() {
        let suffix: Vec<u16> = n
            .map(|n| format!("{n:02}").encode_utf16().collect())
            .unwrap_or_default();
        // Keep the extension when there is one short enough.
        let dot = units.iter().rposition(|&u| u == u16::from(b'.'));
        let ext: Vec<u16> = match dot {
            Some(d) if !is_dir && units.len() - d <= 8 => units[d..].to_vec(),
            _ => Vec::new(),
        };
        let stem_end = units.len() - ext.len();
        let room = max.saturating_sub(ext.len() + suffix.len());
        units.truncate(stem_end.min(room));
        // Never split a surrogate pair.
        if units.last().is_some_and(|u| (0xd800..0xdc00).contains(u)) {
            units.pop();
        }
        units.extend_from_slice(&suffix);
        units.extend_from_slice(&ext);
    }
    // The units are whole characters: big-endian, as joliet::encode writes them.
    (units.iter().flat_map(|u| u.to_be_bytes()).collect(), cut)
}

/// Whether `recorded` can be the Joliet name an original gave an entry named `visible` (see
/// [`IsoStyle::identifier_of`]).
pub fn joliet_of(recorded: &[u8], visible: &[u8]) -> bool {
    let (ours, _) = joliet_numbered(visible, false, JOLIET_LONG_MAX, None);
    let n = 64.min(ours.len()).min(recorded.len());
    ours[..n] == recorded[..n]
}

/// A free Joliet name for `visible` in a directory whose names are `taken` (which it joins).
pub fn joliet_unique(
    visible: &[u8],
    is_dir: bool,
    max: usize,
    taken: &mut HashSet<Vec<u8>>,
) -> Vec<u8> {
    let (first, _) = joliet_numbered(visible, is_dir, max, None);
    let name = if taken.contains(&first) {
        (1..)
            .map(|n| joliet_numbered(visible, is_dir, max, Some(n)).0)
            .find(|id| !taken.contains(id))
            .unwrap_or(first)
    } else {
        first
    };
    taken.insert(name.clone());
    name
}

/// What each tree of a rewritten image would record for a name (see [`check_name`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameFit {
    /// The Rock Ridge name (the name itself), when the image has Rock Ridge.
    pub rock_ridge: Option<String>,
    /// The Joliet name, when the image has Joliet, and whether it is the name cut short.
    pub joliet: Option<(String, bool)>,
    /// The ISO 9660 identifier a new entry of that name gets (before collisions).
    pub iso: String,
}

impl NameFit {
    /// True when the name reads back as given in the tree the image shows first (Rock Ridge,
    /// else Joliet, else ISO 9660).
    pub fn kept(&self, name: &[u8]) -> bool {
        if self.rock_ridge.is_some() {
            return true;
        }
        match &self.joliet {
            Some((_, cut)) => !cut && !name.iter().any(|b| b"*/:;?\\".contains(b)),
            None => crate::fs::iso9660::record::plain_name(self.iso.as_bytes()) == name,
        }
    }
}

/// What a rewrite of `original` records for an entry called `name` (a file; a directory's
/// identifier has no extension or version): refused when no tree can hold it (empty, `.`,
/// `..`, `/` or NUL in it, or over Rock Ridge's 255 bytes on an image with Rock Ridge).
pub fn check_name(original: &IsoFs, name: &[u8], is_dir: bool) -> Result<NameFit> {
    let show = String::from_utf8_lossy(name).into_owned();
    let refuse = |format: &'static str, why: String| Error::CannotStoreName {
        path: show.clone(),
        format,
        why,
    };
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0)
    {
        return Err(refuse("ISO 9660", "not a file name".into()));
    }
    let rock_ridge = original.has_rock_ridge();
    if rock_ridge && name.len() > RR_MAX {
        return Err(refuse(
            "Rock Ridge",
            format!("{} bytes, over its {RR_MAX}", name.len()),
        ));
    }
    // Whether the original's Joliet names run long takes a walk of its Joliet tree: asked only
    // when the answer matters, for a name too long for plain Joliet.
    let short = String::from_utf8_lossy(name).encode_utf16().count() <= JOLIET_MAX;
    let look = match short {
        true => super::Style::has_joliet(original).then_some(false),
        false => super::Style::joliet_of(original)?,
    };
    let joliet = look.map(|long| {
        let max = if long { JOLIET_LONG_MAX } else { JOLIET_MAX };
        let (raw, cut) = joliet_numbered(name, is_dir, max, None);
        let text = joliet::decode(&raw);
        (text, cut)
    });
    let style = IsoStyle::guess(original)?;
    let iso = style.identifier(name, is_dir);
    Ok(NameFit {
        rock_ridge: rock_ridge.then_some(show.clone()),
        joliet,
        iso: String::from_utf8_lossy(&iso).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_follow_the_level() {
        let l1 = IsoStyle {
            level1: true,
            version: true,
        };
        assert_eq!(l1.identifier(b"readme.txt", false), b"README.TXT;1");
        assert_eq!(l1.identifier(b"a-long-name.html", false), b"A_LONG_N.HTM;1");
        assert_eq!(l1.identifier(b"some.dir", true), b"SOME_DIR");
        let l2 = IsoStyle::default();
        assert_eq!(l2.identifier(b"x.tar.gz", false), b"X_TAR.GZ;1");
        assert_eq!(l2.identifier(&[b'a'; 40], true).len(), 31);
        assert_eq!(l2.identifier(&[b'a'; 40], false).len(), 30 + 3);
        let mut taken = HashSet::default();
        assert_eq!(l1.unique(b"README.TXT", false, &mut taken), b"README.TXT;1");
        assert_eq!(
            l1.unique(b"readme.txt", false, &mut taken),
            b"README01.TXT;1"
        );
        assert_eq!(
            IsoStyle::of([(false, &b"A.TXT;1"[..]), (true, b"DIR")].into_iter()),
            l1
        );
    }

    #[test]
    fn records_sort_by_name_then_extension() {
        let mut ids: Vec<&[u8]> = vec![b"B.TXT;1", b"A_B.C;1", b"A.TXT;1", b"AB;1", b"A.T;1"];
        ids.sort_by(|a, b| ecma_order(a, b));
        assert_eq!(
            ids,
            [&b"A.T;1"[..], b"A.TXT;1", b"AB;1", b"A_B.C;1", b"B.TXT;1"]
        );
    }

    #[test]
    fn joliet_names_are_cut_at_the_limit() {
        let long = [b'n'; 80];
        let (raw, cut) = joliet_numbered(&long, true, JOLIET_MAX, None);
        assert!(cut);
        assert_eq!(raw.len(), 2 * JOLIET_MAX);
        let (raw, cut) = joliet_numbered(b"a:b.txt", false, JOLIET_MAX, None);
        assert!(!cut);
        assert_eq!(joliet::decode(&raw), "a_b.txt");
        let mut taken = HashSet::default();
        let a = joliet_unique(&[b'x'; 70], true, JOLIET_MAX, &mut taken);
        let b = joliet_unique(&[b'x'; 71], true, JOLIET_MAX, &mut taken);
        assert_ne!(a, b);
        assert_eq!(b.len(), 2 * JOLIET_MAX);
    }
}
