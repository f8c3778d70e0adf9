//! How the disc boots: for each El Torito boot image ([`crate::boot::Layout`]), the firmware
//! that loads it, the boot loader it is (ISOLINUX, GRUB, systemd-boot, Windows Boot Manager),
//! where it is (a file of the tree, an appended partition, hidden), the programs of an EFI
//! image (its FAT opened read-only), and the config file the loader reads, whose menu
//! [`super::menu`] parses: in the ISO tree (`/isolinux/isolinux.cfg`, `/boot/grub/grub.cfg`)
//! or inside the EFI image (`/boot/grub/efi.img:/EFI/BOOT/grub.cfg`).

use std::sync::Arc;

use super::menu::{self, Menu, Syntax};
use super::tree::{parent, Tree};
use crate::boot::eltorito::{platform_name, Emulation};
use crate::boot::{Image, Layout, Location};
use crate::fs::{self, FileKind, MountOptions};
use crate::source::{RangeSource, Source};

/// The most of a boot image looked at to tell which loader it is.
const SNIFF: usize = 64 * 1024;

/// The most of an EFI program looked at to tell whether it is GRUB.
const SNIFF_EFI: usize = 4 << 20;

/// Where ISOLINUX looks for its config after its own directory.
const ISOLINUX_CONFIGS: &[&str] = &[
    "/boot/isolinux/isolinux.cfg",
    "/isolinux/isolinux.cfg",
    "/boot/syslinux/syslinux.cfg",
    "/syslinux/syslinux.cfg",
    "/isolinux.cfg",
    "/syslinux.cfg",
];

/// Where a GRUB on the disc finds its config, in the ISO tree.
const GRUB_CONFIGS: &[&str] = &[
    "/boot/grub/grub.cfg",
    "/boot/grub2/grub.cfg",
    "/EFI/BOOT/grub.cfg",
];

/// Where a GRUB config lies inside an EFI image, besides `/EFI/*/grub.cfg` (Debian's
/// `/EFI/debian/grub.cfg`).
const EFI_GRUB_CONFIGS: &[&str] = &["/EFI/BOOT/grub.cfg", "/boot/grub/grub.cfg"];

/// The most directories of an EFI image's `/EFI` looked into.
const MAX_EFI_DIRS: usize = 64;

/// One way the disc boots.
#[derive(Clone, Debug)]
pub struct BootPath {
    /// `BIOS`, `UEFI`, `PPC`, `Mac`...
    pub firmware: String,
    /// `isolinux`, `GRUB`, `systemd-boot`, `Windows Boot Manager`, `floppy emulation`...
    pub loader: String,
    /// The boot image: its file, or the partition it is, or `hidden`.
    pub image: String,
    /// The EFI programs in an EFI image (`/boot/grub/efi.img:/EFI/BOOT/BOOTX64.EFI`).
    pub programs: Vec<String>,
    /// The config file the loader reads (a key into [`Boot::menus`]).
    pub config: Option<String>,
    /// Why an EFI image could not be looked into.
    pub problem: Option<String>,
}

/// The boot paths, the menus their configs hold, and the architectures the EFI programs'
/// names say.
#[derive(Clone, Debug, Default)]
pub struct Boot {
    pub paths: Vec<BootPath>,
    pub menus: Vec<Menu>,
    pub arches: Vec<(String, String)>,
}

impl Boot {
    /// The earlier menu whose entries menu `i` repeats (GRUB on an EFI image going on in the
    /// ISO's grub.cfg, which BIOS's GRUB reads too), if it repeats one.
    pub fn repeats(&self, i: usize) -> Option<&Menu> {
        let m = self.menus.get(i)?;
        self.menus[..i]
            .iter()
            .find(|e| !m.entries.is_empty() && e.entries == m.entries)
    }

    /// The menus that repeat no earlier one.
    pub fn distinct_menus(&self) -> impl Iterator<Item = &Menu> {
        (0..self.menus.len())
            .filter(|&i| self.repeats(i).is_none())
            .map(|i| &self.menus[i])
    }

    /// Reads `syntax`'s config at `path` of `trees[0]` once; returns its shown name.
    fn menu(&mut self, trees: &[&Tree], path: &str, syntax: Syntax) -> Option<String> {
        let shown = trees.first()?.show(path);
        if self.menus.iter().any(|m| m.config == shown) {
            return Some(shown);
        }
        let m = menu::read(trees, path, syntax)?;
        self.menus.push(m);
        Some(shown)
    }

    fn loader_menu(&mut self, tree: &Tree) -> Option<String> {
        let m = menu::read_loader(tree)?;
        let shown = m.config.clone();
        if !self.menus.iter().any(|x| x.config == shown) {
            self.menus.push(m);
        }
        Some(shown)
    }
}

/// The boot paths of the disc whose ISO tree is `iso`, read from `source` (the device).
pub fn read(iso: &Tree, source: &Arc<dyn Source>, layout: &Layout) -> Boot {
    let mut boot = Boot::default();
    for (n, image) in layout.images.iter().enumerate() {
        let path = match image.entry.platform {
            0xef => efi_path(&mut boot, iso, source, image, n + 1),
            platform => {
                let mut p = bios_path(&mut boot, iso, source, image);
                p.firmware = platform_name(platform).to_string();
                p
            }
        };
        boot.paths.push(path);
    }
    boot
}

/// Where a boot image is, in words.
fn where_is(image: &Image) -> String {
    match &image.location {
        Location::File(f) => f.path.clone(),
        Location::Partition(p) => format!("appended partition {}", p.number),
        Location::Hidden => format!("hidden (block {})", image.entry.load_rba),
    }
}

/// The first bytes of a boot image.
fn sniff(source: &Arc<dyn Source>, image: &Image, limit: usize) -> Vec<u8> {
    let len = image.whole_len().min(limit as u64) as usize;
    let mut buf = vec![0u8; len];
    match source.read_at(image.start(), &mut buf) {
        Ok(n) => buf.truncate(n),
        Err(_) => buf.clear(),
    }
    buf
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A BIOS (or other non-UEFI) boot image: which loader, and the config it reads.
fn bios_path(boot: &mut Boot, iso: &Tree, source: &Arc<dyn Source>, image: &Image) -> BootPath {
    let file = match &image.location {
        Location::File(f) => Some(f.path.clone()),
        _ => None,
    };
    let name = file
        .as_deref()
        .map(|f| {
            f.rsplit('/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let bytes = sniff(source, image, SNIFF);
    let mut p = BootPath {
        firmware: "BIOS".into(),
        loader: "unknown".into(),
        image: where_is(image),
        programs: Vec::new(),
        config: None,
        problem: None,
    };
    if name == "isolinux.bin" || contains(&bytes, b"ISOLINUX") {
        p.loader = "isolinux".into();
        let dir = file.as_deref().map(|f| parent(f).trim_end_matches('/'));
        let own: Vec<String> = dir
            .into_iter()
            .flat_map(|d| [format!("{d}/isolinux.cfg"), format!("{d}/syslinux.cfg")])
            .collect();
        let candidates = own
            .iter()
            .map(String::as_str)
            .chain(ISOLINUX_CONFIGS.iter().copied());
        let found = candidates
            .into_iter()
            .find(|c| iso.has_file(c))
            .map(str::to_string);
        p.config = found.and_then(|c| boot.menu(&[iso], &c, Syntax::Syslinux));
    } else if name.contains("grub") || name == "eltorito.img" || contains(&bytes, b"GRUB") {
        p.loader = "GRUB".into();
        p.config = grub_config(boot, &[iso]);
    } else if name == "etfsboot.com" || contains(&bytes, b"BOOTMGR") {
        p.loader = "Windows boot sector (etfsboot)".into();
    } else if image.entry.emulation != Emulation::None {
        p.loader = format!("{} emulation", image.entry.emulation.name());
    }
    p
}

/// The first GRUB config of the ISO tree (the last of `trees`) read into a menu.
fn grub_config(boot: &mut Boot, trees: &[&Tree]) -> Option<String> {
    let iso = *trees.last()?;
    let path = GRUB_CONFIGS.iter().find(|c| iso.has_file(c))?;
    let order: Vec<&Tree> = std::iter::once(iso).chain(trees.iter().copied()).collect();
    boot.menu(&order, path, Syntax::Grub)
}

/// The architecture an EFI removable-media program's name says (`BOOTX64.EFI`).
fn efi_arch(name: &str) -> Option<&'static str> {
    let stem = name.to_ascii_uppercase();
    let stem = stem.strip_suffix(".EFI")?.strip_prefix("BOOT")?;
    Some(match stem {
        "X64" => "x86_64",
        "IA32" => "i386",
        "AA64" => "aarch64",
        "ARM" => "arm",
        "RISCV64" => "riscv64",
        "LOONGARCH64" => "loongarch64",
        "IA64" => "ia64",
        _ => return None,
    })
}

/// A UEFI boot image: its FAT, the programs in it, the loader and the config it reads.
fn efi_path(
    boot: &mut Boot,
    iso: &Tree,
    source: &Arc<dyn Source>,
    image: &Image,
    n: usize,
) -> BootPath {
    let mut p = BootPath {
        firmware: "UEFI".into(),
        loader: "unknown".into(),
        image: where_is(image),
        programs: Vec::new(),
        config: None,
        problem: None,
    };
    let (bytes, prefix): (Option<Arc<dyn Source>>, String) = match &image.location {
        Location::File(f) => (iso.source(&f.path), format!("{}:", f.path)),
        Location::Partition(part) => (
            Some(range(
                source,
                part.start,
                part.len,
                &format!("partition {}", part.number),
            )),
            format!("partition {}:", part.number),
        ),
        Location::Hidden => (
            Some(range(
                source,
                image.start(),
                image.load_bytes(),
                &format!("boot image {n}"),
            )),
            format!("boot image {n}:"),
        ),
    };
    let efi = match bytes.map(|b| fs::open(b, &MountOptions::default())) {
        Some(Ok(fs)) => Tree::new(fs, prefix),
        Some(Err(e)) => {
            p.problem = Some(format!("its filesystem is unreadable: {e}"));
            return p;
        }
        None => return p,
    };
    p.image = format!("{} ({})", p.image, efi.fs.type_name());
    let mut grub_inside = false;
    let boot_dir = efi
        .spelled("/EFI/BOOT")
        .unwrap_or_else(|| "/EFI/BOOT".into());
    for (name, kind) in efi.list(&boot_dir, 64) {
        let lower = name.to_ascii_lowercase();
        if kind != FileKind::File || !lower.ends_with(".efi") {
            continue;
        }
        let path = format!("{boot_dir}/{name}");
        if let Some(arch) = efi_arch(&name) {
            boot.arches.push((arch.to_string(), efi.show(&path)));
            let head = efi.read(&path, SNIFF_EFI);
            grub_inside |= head.is_some_and(|h| contains(&h.bytes, b"GRUB"));
        }
        grub_inside |= lower.starts_with("grub");
        p.programs.push(efi.show(&path));
    }
    let trees = [&efi, iso];
    let efi_dir = efi.spelled("/EFI").unwrap_or_else(|| "/EFI".into());
    let vendors = efi.list(&efi_dir, MAX_EFI_DIRS).into_iter();
    let vendors = vendors.filter(|(_, k)| *k == FileKind::Dir);
    let mut configs = EFI_GRUB_CONFIGS
        .iter()
        .map(|c| c.to_string())
        .chain(vendors.map(|(d, _)| format!("{efi_dir}/{d}/grub.cfg")));
    if let Some(config) = configs.find(|c| efi.has_file(c)) {
        p.loader = "GRUB".into();
        p.config = boot.menu(&trees, &config, Syntax::Grub);
    } else if efi.dir("/loader/entries").is_some() || iso.dir("/loader/entries").is_some() {
        p.loader = "systemd-boot".into();
        p.config = boot.loader_menu(&efi).or_else(|| boot.loader_menu(iso));
    } else if grub_inside {
        p.loader = "GRUB".into();
        p.config = grub_config(boot, &trees);
    } else if iso.has_file("/efi/microsoft/boot/bcd") {
        p.loader = "Windows Boot Manager".into();
        p.config = Some("/efi/microsoft/boot/bcd".into());
    }
    p
}

/// `len` bytes of `source` from `start`, named for errors.
fn range(source: &Arc<dyn Source>, start: u64, len: u64, what: &str) -> Arc<dyn Source> {
    let name = format!("{} ({what})", source.name());
    Arc::new(RangeSource::new(source.clone(), start, len, name))
}
