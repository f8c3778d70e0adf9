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
}

impl BootEdits {
    /// True when nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.add_efi.is_empty()
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
        files.chain(added).collect()
    }
}
