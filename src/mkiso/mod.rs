//! `mkiso`: a new ISO 9660 image from a host directory, as `xorriso -as mkisofs -R -J` or
//! `genisoimage -r -J` make one, as a [`Plan`] ([`plan`]) that a file, standard output or a
//! server takes. Nothing of the writer is duplicated: a blank image ([`blank`]) is opened from
//! memory, the host tree is staged over it in an overlay as `copy-in` stages files (their data
//! left where it lies on the host, `stage`), the boot options become boot edits, and the ISO
//! 9660 writer writes the overlay, its boot replay making the new El Torito entries and
//! hybrid partition tables. With `udf:` the blank is a bridge image (a UDF volume beside
//! it, [`blank_udf`]) and the UDF side is written from the same overlay as `commit` writes a
//! bridge image's. `mkisofs:` options are read by [`mkisofs`].

pub mod blank;
pub mod blank_udf;
pub mod mkisofs;
mod stage;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::boot::edits::BiosBoot;
use crate::error::{Error, Result};
use crate::fs::iso9660::{self, IsoFs};
use crate::fs::udf::UdfFs;
use crate::fs::{MountOptions, Timestamp};
use crate::overlay::{fresh, Overlay};
use crate::plan::Plan;
use crate::source::{MemSource, Source};

/// The volume id when none is given (genisoimage and xorriso leave it empty; a label makes
/// the image easier to tell apart).
pub const DEFAULT_LABEL: &str = "ISOIMAGE";

/// The hybrid MBR (and GPT) asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HybridOptions {
    /// A GPT beside the MBR (`hybrid:gpt`), with an entry for each EFI image.
    pub gpt: bool,
    /// The host file with the MBR code; `None`: found from the BIOS boot file (isolinux's
    /// `isohdpfx.bin` beside it or on the host, GRUB's `boot_hybrid.img`).
    pub code: Option<PathBuf>,
    /// The type of MBR partition 1, which holds the whole image (`-iso_mbr_part_type`);
    /// `None`: 0x17 alone, 0x00 beside a GPT, as xorriso writes it.
    pub part_type: Option<u8>,
}

/// What `mkiso` makes, besides the tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MkisoOptions {
    /// The volume id ([`DEFAULT_LABEL`] when `None`).
    pub label: Option<String>,
    /// The volume's creation and modification date (now when `None`).
    pub date: Option<Timestamp>,
    /// A BIOS El Torito entry (no emulation), paths inside the tree.
    pub bios: Option<BiosBoot>,
    /// UEFI El Torito entries: EFI FAT images in the tree.
    pub efi: Vec<String>,
    /// The boot catalog's file in the tree (made when missing); hidden when `None`.
    pub catalog: Option<String>,
    pub hybrid: Option<HybridOptions>,
    /// Joliet names of up to 103 characters instead of 64 (`-joliet-long`).
    pub joliet_long: bool,
    /// The `bios` file of the tree is left out of it and booted from an extent no file
    /// holds (`-hide` of the `-b` file).
    pub hide_bios: bool,
    /// A UDF bridge (`udf:`, `-udf`): a UDF 1.02 tree beside the ISO 9660 trees, sharing
    /// the file data.
    pub udf: bool,
}

/// A path in the new tree as the options give it (relative to the tree's root, with or
/// without a leading `/`), absolute.
pub fn tree_path(p: &str) -> String {
    format!("/{}", p.trim_start_matches('/'))
}

/// The plan of the image of host directory `dir`; what was left out (sockets) is in its
/// warnings. `found` is told of the bytes of each file's data as the walk finds the file (the
/// blocks it takes on the host, for a sparse one; in whole blocks of the image), for a
/// reservation ([`crate::plan::reserve`]);
/// `placed`, when given, of where each file's data goes once the image is laid out, for a copy
/// while the rest is planned ([`crate::plan::ahead`]).
pub fn plan(
    dir: &Path,
    opts: &MkisoOptions,
    found: &dyn Fn(u64),
    placed: Option<&dyn Fn(u64, crate::fs::Span)>,
) -> Result<Plan> {
    let name = dir.display().to_string();
    let meta = std::fs::metadata(dir).map_err(|e| Error::io(&name, e))?;
    if !meta.is_dir() {
        return Err(Error::NotADirectory(name));
    }
    let code = match &opts.hybrid {
        Some(h) => Some(hybrid_code(dir, h, opts.bios.as_ref())?),
        None => None,
    };
    let hybrid = code
        .zip(opts.hybrid.as_ref())
        .map(|(code, h)| blank::Hybrid {
            code,
            gpt: h.gpt,
            part_type: h.part_type.unwrap_or(if h.gpt { 0x00 } else { 0x17 }),
        });
    let bytes = blank::encode(&blank::Blank {
        label: opts.label.as_deref().unwrap_or(DEFAULT_LABEL),
        date: opts.date.unwrap_or_else(Timestamp::now),
        hybrid: hybrid.as_ref(),
        joliet_long: opts.joliet_long,
        udf: opts.udf,
    })?;
    let src: Arc<dyn Source> = Arc::new(MemSource::new(bytes, format!("mkiso {name}")));
    let iso = Arc::new(IsoFs::open(src.clone(), &MountOptions::default())?);
    let overlay = Overlay::new(iso.clone());
    overlay.remove(&format!("/{}", blank::PLACEHOLDER))?;
    let left_out = stage::stage(&overlay, dir, found)?;
    let mut bios = opts.bios.clone();
    if let Some(b) = bios.as_mut().filter(|_| opts.hide_bios) {
        b.hidden = Some(dir.join(b.path.trim_start_matches('/')));
        overlay.remove(&b.path)?;
    }
    if let Some(cat) = &opts.catalog {
        if overlay.find(cat).is_err() {
            overlay.create(cat, fresh(crate::fs::FileKind::File, 0o644), None)?;
        }
    }
    let boot = crate::boot::edits::BootEdits {
        bios,
        add_efi: opts.efi.clone(),
        catalog: opts.catalog.clone(),
        ..Default::default()
    };
    let wopts = iso9660::write::Options {
        drop_boot: false,
        boot,
    };
    let provenance = |ino| overlay.provenance(ino);
    // A bridge: the blank's UDF volume, written from the ISO 9660 tree as commit writes a
    // bridge image's.
    let udf = match opts.udf {
        true => Some(UdfFs::open(src, &MountOptions::default())?),
        false => None,
    };
    let mut side = match &udf {
        Some(udf) => Some(crate::fs::udf::write::side(
            udf,
            &overlay,
            &provenance,
            true,
        )?),
        None => None,
    };
    let bridge = side.as_mut().map(|s| s as &mut dyn iso9660::write::Bridge);
    let mut plan = iso9660::write::plan_with(&iso, &overlay, &provenance, &wopts, bridge, placed)?;
    for w in left_out {
        plan.warn(w);
    }
    std::mem::drop(side);
    crate::aside::drop(overlay);
    Ok(plan)
}

/// Where isolinux's hybrid MBR code lies on hosts (Debian's isolinux package, Fedora's and
/// Arch's syslinux).
const ISOHDPFX: &[&str] = &[
    "/usr/lib/ISOLINUX/isohdpfx.bin",
    "/usr/share/syslinux/isohdpfx.bin",
    "/usr/lib/syslinux/bios/isohdpfx.bin",
];
/// Where GRUB's hybrid MBR code lies on hosts.
const BOOT_HYBRID: &[&str] = &[
    "/usr/lib/grub/i386-pc/boot_hybrid.img",
    "/usr/share/grub2/i386-pc/boot_hybrid.img",
];

/// The bytes of the MBR code for `hybrid:`: the file given, or the one beside the BIOS boot
/// file in the tree, or the host's.
fn hybrid_code(dir: &Path, h: &HybridOptions, bios: Option<&BiosBoot>) -> Result<Vec<u8>> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| Error::io(p.display().to_string(), e));
    if let Some(code) = &h.code {
        return read(code);
    }
    let Some(bios) = bios else {
        return Err(Error::Usage(
            "mkiso: hybrid: needs a BIOS boot file (bios:PATH) for the MBR to chain to".into(),
        ));
    };
    let file = match &bios.hidden {
        Some(host) => host.clone(),
        None => dir.join(bios.path.trim_start_matches('/')),
    };
    let kind = BiosKind::of(&file)?;
    let (own, host) = match kind {
        BiosKind::Isolinux => ("isohdpfx.bin", ISOHDPFX),
        BiosKind::Grub => ("boot_hybrid.img", BOOT_HYBRID),
        BiosKind::Other => {
            return Err(Error::Usage(format!(
                "mkiso: hybrid: {} is neither isolinux nor GRUB's eltorito.img: no hybrid MBR \
                 is known for it (give one with mkisofs:\"-isohybrid-mbr FILE\")",
                bios.path
            )))
        }
    };
    let beside = file.with_file_name(own);
    let found = std::iter::once(beside)
        .chain(host.iter().map(PathBuf::from))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::Usage(format!(
                "mkiso: hybrid: no {own} beside {} nor on the host ({})",
                bios.path,
                host.join(", ")
            ))
        })?;
    read(&found)
}

/// What a BIOS boot file is, by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BiosKind {
    /// syslinux's isolinux.bin (needs a boot-info table).
    Isolinux,
    /// GRUB's eltorito.img (cdboot.img first; boot-info table and GRUB2 boot info).
    Grub,
    Other,
}

impl BiosKind {
    /// Looks at the first 64 KiB of the host file `file`.
    pub fn of(file: &Path) -> Result<BiosKind> {
        use std::io::Read;
        let name = file.display().to_string();
        let mut head = Vec::new();
        std::fs::File::open(file)
            .and_then(|f| f.take(64 << 10).read_to_end(&mut head))
            .map_err(|e| Error::io(&name, e))?;
        let has = |s: &[u8]| head.windows(s.len()).any(|w| w == s);
        Ok(if has(b"ISOLINUX") {
            BiosKind::Isolinux
        } else if has(b"cdrom read fails") {
            BiosKind::Grub
        } else {
            BiosKind::Other
        })
    }

    /// The entry `bios:PATH` makes for this file: 4 sectors loaded (as distributions write
    /// it), the patches its kind needs.
    pub fn entry(self, path: &str) -> BiosBoot {
        BiosBoot {
            path: path.to_string(),
            load_sectors: Some(4),
            info_table: self != BiosKind::Other,
            grub2: self == BiosKind::Grub,
            hidden: None,
        }
    }
}
