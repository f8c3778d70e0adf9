//! Initrds and installer images: the initrds the boot menus load, those `.treeinfo` lists,
//! and the places installers keep theirs (Debian's `install.amd/initrd.gz`, Fedora's
//! `images/pxeboot/initrd.img`, Windows' `sources/boot.wim`), each with its size and what it
//! is (`cpio (newc, gzip)`).

use super::identity::Identity;
use super::menu::Menu;
use super::tree::Tree;
use crate::fs;

/// Installer initrds where distributions put them.
const KNOWN: &[&str] = &[
    "/install.amd/initrd.gz",
    "/install.amd/gtk/initrd.gz",
    "/install.386/initrd.gz",
    "/install.a64/initrd.gz",
    "/install/initrd.gz",
    "/images/pxeboot/initrd.img",
    "/isolinux/initrd.img",
];

/// Installer images (no initrds: what an installer's initrd or WinPE runs from).
const KNOWN_IMAGES: &[&str] = &["/images/install.img", "/sources/boot.wim"];

/// The most initrds listed.
pub const MAX: usize = 32;

/// One initrd or installer image found on the disc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Initrd {
    pub path: String,
    pub size: u64,
    /// What the probe says it is.
    pub kind: Option<String>,
    /// How many menu entries load it.
    pub entries: usize,
    /// True for an installer image (`images/install.img`, `sources/boot.wim`), not an initrd.
    pub installer: bool,
}

/// The initrds of the ISO tree `iso` that `menus` load, `.treeinfo` names (in `id`, relative
/// to the root) or installers keep in their usual places, then the installer images; those
/// not on the disc left out.
pub fn read(iso: &Tree, menus: &[&Menu], id: &Identity) -> Vec<Initrd> {
    let mut paths: Vec<String> = Vec::new();
    let mut add = |p: String| {
        if !paths.contains(&p) {
            paths.push(p);
        }
    };
    for menu in menus {
        for e in &menu.entries {
            e.initrds.iter().map(|i| absolute(i)).for_each(&mut add);
        }
    }
    id.treeinfo_initrds
        .iter()
        .map(|l| absolute(l))
        .for_each(&mut add);
    KNOWN.iter().map(|k| k.to_string()).for_each(&mut add);
    let images = id.treeinfo_images.iter().map(|l| absolute(l));
    images
        .chain(KNOWN_IMAGES.iter().map(|k| k.to_string()))
        .for_each(&mut add);
    let installer = |path: &str| {
        KNOWN_IMAGES.contains(&path) || id.treeinfo_images.iter().any(|l| absolute(l) == path)
    };
    paths
        .into_iter()
        .filter_map(|path| {
            let (_, meta) = iso.file(&path)?;
            let kind = iso.source(&path).and_then(|s| fs::probe::describe(&s).ok());
            let entries = menus
                .iter()
                .flat_map(|m| &m.entries)
                .filter(|e| e.initrds.iter().any(|i| absolute(i) == path))
                .count();
            Some(Initrd {
                installer: installer(&path) && entries == 0,
                path,
                size: meta.size,
                kind,
                entries,
            })
        })
        .take(MAX)
        .collect()
}

/// A path as a menu writes it, made a path of the ISO tree: a GRUB device (`($root)`)
/// removed, made absolute.
fn absolute(path: &str) -> String {
    let path = super::grub::without_device(path);
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}
