//! `mkiso mkisofs:"…"`: the `xorriso -as mkisofs` options of a distribution's build script, or
//! of `boot-info --as mkisofs`, read into [`MkisoOptions`]. The subset is what `boot-info --as
//! mkisofs` prints for the images `mkiso` can make: volume id and date, an isohybrid or GRUB2
//! hybrid MBR (its code from a file or from an `--interval:local_fs:` range of one), a BIOS
//! no-emulation entry with its boot-info table and GRUB2 boot info, EFI entries, the catalog's
//! file, a GPT for the EFI images, and genisoimage's `-udf` bridge. The tree options of `-R -J` are accepted (Rock Ridge and
//! Joliet are always written). Anything else is refused by name, never ignored: an option that
//! would change the image and is not followed would be a lie.

use std::path::PathBuf;

use super::{tree_path, HybridOptions, MkisoOptions};
use crate::boot::edits::BiosBoot;
use crate::error::{Error, Result};
use crate::ondisk::iso_date;

/// Options accepted and without effect: `mkiso` writes Rock Ridge and Joliet anyway, and the
/// geometry and alignment it writes are xorriso's defaults.
const ACCEPTED: &[&str] = &[
    "-R",
    "-r",
    "-rock",
    "-rational-rock",
    "-J",
    "-joliet",
    "-no-emul-boot",
    "--mbr-force-bootable",
    "--efi-boot-image",
    "--boot-catalog-hide",
    "-v",
    "-quiet",
];

/// Options with a value that is accepted and without effect.
const ACCEPTED_WITH_VALUE: &[&str] = &[
    "-partition_cyl_align",
    "-partition_hd_cyl",
    "-partition_sec_hd",
];

fn refused(what: &str) -> Error {
    Error::Usage(format!(
        "mkiso: mkisofs option {what} is not supported (mkiso makes El Torito no-emulation BIOS \
         and UEFI entries, an isohybrid or GRUB2 hybrid MBR and a GPT for EFI images)"
    ))
}

/// The host file an MBR option names: a path, or xorriso's `--interval:local_fs:RANGE:FLAGS:PATH`
/// (the code is the first bytes of the file either way).
fn mbr_file(value: &str) -> PathBuf {
    match value.strip_prefix("--interval:local_fs:") {
        Some(rest) => PathBuf::from(rest.splitn(3, ':').nth(2).unwrap_or(rest)),
        None => PathBuf::from(value),
    }
}

/// The date of `--modification-date=YYYYMMDDhhmmsscc` (UTC).
fn date(digits: &str) -> Result<crate::fs::Timestamp> {
    let mut long = [0u8; 17];
    let ok = digits.len() == 16 && digits.bytes().all(|b| b.is_ascii_digit());
    if ok {
        long[..16].copy_from_slice(digits.as_bytes());
    }
    iso_date::decode_long(&long).filter(|_| ok).ok_or_else(|| {
        Error::Usage(format!(
            "mkiso: --modification-date={digits}: not a date (YYYYMMDDhhmmsscc)"
        ))
    })
}

/// The boot image being described (the options after `-b` or `-e` apply to it).
enum Current {
    None,
    Bios,
    Efi,
}

/// Reads the option string `text` (shell quoting, as in a build script) into `opts`.
pub fn apply(text: &str, opts: &mut MkisoOptions) -> Result<()> {
    let words = shlex::split(text)
        .ok_or_else(|| Error::Usage(format!("mkiso: mkisofs:{text:?}: unbalanced quotes")))?;
    let mut it = words.iter();
    let mut current = Current::None;
    let mut emulation_none = false;
    let mut hidden = Vec::new();
    while let Some(w) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| Error::Usage(format!("mkiso: mkisofs option {w} needs a value")))
        };
        match w.as_str() {
            w if ACCEPTED.contains(&w) => {
                if w == "-no-emul-boot" {
                    emulation_none = true;
                }
            }
            w if ACCEPTED_WITH_VALUE.contains(&w) => {
                value()?;
            }
            "-V" => opts.label = Some(value()?),
            "-joliet-long" | "--joliet-long" => opts.joliet_long = true,
            // genisoimage's UDF 1.02 bridge.
            "-udf" => opts.udf = true,
            // Only the boot image and the catalog: see below.
            "-hide" | "-hide-joliet" | "-hide-udf" => hidden.push(tree_path(&value()?)),
            "-partition_offset" => {
                if value()? != "0" {
                    return Err(refused("-partition_offset (other than 0)"));
                }
            }
            "-isohybrid-mbr" | "--grub2-mbr" => {
                let h = opts.hybrid.get_or_insert_with(HybridOptions::default);
                h.code = Some(mbr_file(&value()?));
            }
            "-iso_mbr_part_type" => {
                let v = value()?;
                let kind = v
                    .strip_prefix("0x")
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| refused(&format!("-iso_mbr_part_type {v} (other than 0xNN)")))?;
                opts.hybrid
                    .get_or_insert_with(HybridOptions::default)
                    .part_type = Some(kind);
            }
            // A GPT entry for each EFI image (`-efi-boot-part --efi-boot-image`).
            "-isohybrid-gpt-basdat" | "-efi-boot-part" => {
                opts.hybrid.get_or_insert_with(HybridOptions::default).gpt = true;
            }
            "-c" => opts.catalog = Some(tree_path(&value()?)),
            "-b" => {
                if opts.bios.is_some() || !opts.efi.is_empty() {
                    return Err(refused("-b for a second or later boot image"));
                }
                opts.bios = Some(BiosBoot {
                    path: tree_path(&value()?),
                    ..BiosBoot::default()
                });
                current = Current::Bios;
                emulation_none = false;
            }
            "-e" | "--efi-boot" => {
                opts.efi.push(tree_path(&value()?));
                current = Current::Efi;
            }
            "-eltorito-alt-boot" => {
                if matches!(current, Current::Bios) && !emulation_none {
                    return Err(refused("-b without -no-emul-boot (floppy emulation)"));
                }
                current = Current::None;
            }
            "-boot-load-size" => {
                let v = value()?;
                match current {
                    Current::Bios => {
                        let n = v.parse().map_err(|_| {
                            Error::Usage(format!("mkiso: -boot-load-size {v}: not a number"))
                        })?;
                        if let Some(b) = &mut opts.bios {
                            b.load_sectors = Some(n);
                        }
                    }
                    // UEFI entries count the whole image, as xorriso's do.
                    Current::Efi | Current::None => {}
                }
            }
            "-boot-info-table" | "--grub2-boot-info" => match (&current, &mut opts.bios) {
                (Current::Bios, Some(b)) if w == "-boot-info-table" => b.info_table = true,
                (Current::Bios, Some(b)) => b.grub2 = true,
                _ => return Err(refused(&format!("{w} for an image that is not -b"))),
            },
            w if w.starts_with("--modification-date=") => {
                opts.date = Some(date(&w["--modification-date=".len()..])?);
            }
            other => return Err(refused(other)),
        }
    }
    if matches!(current, Current::Bios) && !emulation_none {
        return Err(refused("-b without -no-emul-boot (floppy emulation)"));
    }
    // `-hide` of the `-b` image boots it from an extent no file holds (Windows media's
    // etfsboot.com); of the `-c` catalog, a catalog no file holds.
    for path in hidden {
        if opts.bios.as_ref().is_some_and(|b| b.path == path) {
            opts.hide_bios = true;
        } else if opts.catalog.as_ref() == Some(&path) {
            opts.catalog = None;
        } else {
            return Err(refused(&format!(
                "-hide {path} (mkiso hides only the -b image and the -c catalog)"
            )));
        }
    }
    if opts
        .hybrid
        .as_ref()
        .is_some_and(|h| h.gpt && h.code.is_none())
    {
        return Err(refused("-isohybrid-gpt-basdat without -isohybrid-mbr"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_distribution_line_reads() {
        let mut o = MkisoOptions::default();
        apply(
            "-V 'XCP-ng 8.3' -isohybrid-mbr --interval:local_fs:0s-15s:zero_mbrpt:'/x/y.iso' \
             -c /boot.cat -b isolinux/isolinux.bin -no-emul-boot -boot-load-size 4 \
             -boot-info-table -eltorito-alt-boot -e /EFI/efiboot.img -no-emul-boot \
             -isohybrid-gpt-basdat",
            &mut o,
        )
        .unwrap();
        assert_eq!(o.label.as_deref(), Some("XCP-ng 8.3"));
        assert_eq!(
            o.hybrid.as_ref().unwrap().code,
            Some(PathBuf::from("/x/y.iso"))
        );
        assert!(o.hybrid.as_ref().unwrap().gpt);
        let b = o.bios.unwrap();
        assert_eq!(
            (b.path.as_str(), b.load_sectors, b.info_table),
            ("/isolinux/isolinux.bin", Some(4), true)
        );
        assert_eq!(o.efi, ["/EFI/efiboot.img"]);
        assert_eq!(o.catalog.as_deref(), Some("/boot.cat"));
    }

    #[test]
    fn unknown_and_unfollowed_options_are_refused() {
        for bad in [
            "-hfsplus",
            "-b a.img",
            "-append_partition 2 0xef x",
            "-partition_offset 16",
            "-b a.img -no-emul-boot -hide other.img",
        ] {
            let e = apply(bad, &mut MkisoOptions::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains("not supported"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_seeds_windows_line_reads() {
        let mut o = MkisoOptions::default();
        apply(
            "-b boot.img -no-emul-boot -c BOOT.CAT -hide boot.img -hide BOOT.CAT -udf -J",
            &mut o,
        )
        .unwrap();
        assert!(o.udf && o.hide_bios);
        assert_eq!(o.bios.unwrap().path, "/boot.img");
        assert_eq!(o.catalog, None);
    }
}
