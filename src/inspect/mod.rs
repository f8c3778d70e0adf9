//! Inspection: what a disc is and how it boots, read-only, from its own files: the identity
//! files distributions write ([`identity`], [`windows`]), the boot paths and the loaders' configs
//! ([`boot_paths`], [`menu`] with [`syslinux`], [`grub`] and [`loader`]), the live root image
//! and its `os-release` ([`live_root`]), and the initrds ([`initrds`]). Every file is read
//! through the [`crate::fs::FileSystem`] trait with a bound ([`tree::Tree`]), so a hostile
//! disc costs no more than the bounds. `inspect` prints a [`Report`]; `isofish -i` mounts the
//! live root ([`live_root::mount`]).

pub mod boot_paths;
pub mod grub;
pub mod identity;
pub mod initrds;
pub mod live_root;
pub mod loader;
pub mod menu;
pub mod syslinux;
pub mod tree;
pub mod windows;

use std::sync::Arc;

use crate::boot::Layout;
use crate::error::Result;
use crate::fs::{self, MountOptions};
use crate::source::Source;

/// Everything `inspect` tells about one disc.
#[derive(Clone, Debug)]
pub struct Report {
    /// The filesystem the tree was read from (`iso9660`, `udf`).
    pub fs_type: &'static str,
    pub label: Option<String>,
    pub identity: identity::Identity,
    pub live: Option<live_root::LiveRoot>,
    pub layout: Layout,
    pub boot: boot_paths::Boot,
    pub initrds: Vec<initrds::Initrd>,
}

impl Report {
    /// The architectures the disc names, normalised (`amd64` is `x86_64`), each with the
    /// files that say it.
    pub fn arches(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        let said = self.identity.arches.iter().map(|(a, from)| {
            let name = normal_arch(a);
            let from = if name == *a {
                from.clone()
            } else {
                format!("{from}: {a}")
            };
            (name, from)
        });
        for (arch, from) in said.chain(self.boot.arches.iter().cloned()) {
            match out.iter_mut().find(|(a, _)| *a == arch) {
                Some((_, froms)) => froms.push(from),
                None => out.push((arch, vec![from])),
            }
        }
        out
    }
}

/// The usual name of an architecture (`x86_64` for `amd64` or `x64`).
fn normal_arch(arch: &str) -> String {
    match arch.to_ascii_lowercase().as_str() {
        "amd64" | "x64" | "x86_64" => "x86_64".into(),
        "i386" | "i486" | "i586" | "i686" | "x86" | "ia32" => "i386".into(),
        "arm64" | "aarch64" => "aarch64".into(),
        other => other.to_string(),
    }
}

/// Inspects the disc in `source`.
pub fn inspect(source: Arc<dyn Source>) -> Result<Report> {
    let fs = fs::open(source.clone(), &MountOptions::default())?;
    let layout = Layout::read(source.as_ref(), Some(fs.as_ref()))?;
    let iso = tree::Tree::new(fs.clone(), "");
    let identity = identity::read(&iso);
    let boot = boot_paths::read(&iso, &source, &layout);
    let menus: Vec<&menu::Menu> = boot.distinct_menus().collect();
    let initrds = initrds::read(&iso, &menus, &identity);
    Ok(Report {
        fs_type: fs.type_name(),
        label: fs.label(),
        identity,
        live: live_root::read(&iso),
        layout,
        boot,
        initrds,
    })
}
