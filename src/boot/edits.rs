//! Changes to the boot setup itself, staged like any other change and written by `commit`:
//! the file an El Torito entry boots (`set-boot-file`) and UEFI boot images added
//! (`boot-add-efi`). Paths are inside the filesystem that holds the files (the drive's ISO
//! 9660 tree), bound when the commit is written, as boot files are.

use std::collections::BTreeMap;

/// The boot edits staged in one filesystem.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BootEdits {
    /// Boot image number (1-based, as `boot-info` numbers them) → the file it boots now.
    pub files: BTreeMap<usize, String>,
    /// Files added as UEFI boot images (a new El Torito section each, and the partition
    /// entry hybrid images give one).
    pub add_efi: Vec<String>,
    /// A BIOS boot image made the default entry of an image that has no catalog yet (`mkiso
    /// bios:`).
    pub bios: Option<BiosBoot>,
    /// The file a new catalog is written into (`mkisofs -c`); without it, a hidden extent.
    pub catalog: Option<String>,
}

/// A new El Torito entry for BIOS: no emulation, loaded at 0x7c0, as `mkisofs -b PATH
/// -no-emul-boot` makes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BiosBoot {
    /// The file it boots.
    pub path: String,
    /// The 512-byte sectors the firmware loads (`-boot-load-size`); `None`: the whole file.
    pub load_sectors: Option<u16>,
    /// Patch a boot-info table into it (`-boot-info-table`: isolinux checks one).
    pub info_table: bool,
    /// Patch GRUB2 boot info into it (`--grub2-boot-info`: GRUB's `eltorito.img`).
    pub grub2: bool,
    /// The host file it boots, in an extent no file of the tree holds (a hidden image, as
    /// Windows media's `etfsboot.com`, `mkiso bios-hidden:`); `path` then only names it.
    pub hidden: Option<std::path::PathBuf>,
}

impl BootEdits {
    /// True when nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.add_efi.is_empty() && self.bios.is_none()
    }

    /// The lines `changes` shows for them.
    pub fn lines(&self, shown: impl Fn(&str) -> String) -> Vec<String> {
        let files = self
            .files
            .iter()
            .map(|(n, p)| format!("boot image {n} -> {}", shown(p)));
        let added = self
            .add_efi
            .iter()
            .map(|p| format!("boot +efi {}", shown(p)));
        let bios = self
            .bios
            .iter()
            .map(|b| format!("boot +bios {}", shown(&b.path)));
        files.chain(bios).chain(added).collect()
    }
}
