//! `boot-info --as mkisofs`: the `xorriso -as mkisofs` options that rebuild an image's boot
//! setup, in the order and spelling `xorriso -report_el_torito as_mkisofs` uses. System-area
//! bytes and appended partitions are taken from the original image with `--interval:local_fs:`
//! readers; a boot image no file or partition names becomes a hidden grafted file
//! `isofish-boot-N.img`, which `boot-extract --whole DEV N` writes (xorriso's own report
//! leaves such an image out).

use crate::boot::eltorito::{Emulation, BLOCK};
use crate::boot::mbr::Mbr;
use crate::boot::{Image, Layout, Location, MbrCode, Table};

/// `'text'` with embedded single quotes closed and escaped, as a shell reads it.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r#"'"'"'"#))
}

const BASIC_DATA: &str = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7";
const EFI_SYSTEM: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
const HFS_PLUS: &str = "48465300-0000-11AA-AA11-00306543ECAC";

/// The GPT type of the entry that covers exactly `image`, if any.
fn gpt_type_of(layout: &Layout, image: &Image) -> Option<String> {
    let gpt = layout.system.gpt.as_ref()?;
    let start = image.start() / 512;
    gpt.entries
        .iter()
        .find(|e| e.first == start && e.sectors() * 512 == image.whole_len().next_multiple_of(512))
        .map(|e| e.type_guid.to_string())
}

fn apm_covers(layout: &Layout, image: &Image) -> bool {
    layout.system.apm.as_ref().is_some_and(|a| {
        let bs = u64::from(a.block_size());
        a.entries
            .iter()
            .any(|e| e.kind() == "Apple_HFS" && u64::from(e.start) * bs == image.start())
    })
}

/// A GUID's text form (`C12A7328-F81F-...`) as its stored bytes in hex, how xorriso's
/// options spell partition types.
fn storage_hex(text: &str) -> String {
    let hex: String = text
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_lowercase();
    let swapped = |range: std::ops::Range<usize>| -> String {
        let part = &hex[range];
        (0..part.len() / 2)
            .rev()
            .map(|i| &part[2 * i..2 * i + 2])
            .collect()
    };
    format!(
        "{}{}{}{}",
        swapped(0..8),
        swapped(8..12),
        swapped(12..16),
        &hex[16..]
    )
}

/// The disk geometry the MBR was written for: heads per cylinder and sectors per head, read
/// from the first partition end whose CHS address, taken as the last head and sector of a
/// cylinder, gives back its LBA; 64 and 32 (xorriso's and isohybrid's default) otherwise.
fn geometry(m: &Mbr) -> (u32, u32) {
    m.entries()
        .find_map(|e| {
            let [head, sector, cyl] = e.end_chs;
            let (heads, sectors) = (u64::from(head) + 1, u64::from(sector & 0x3f));
            let cylinder = u64::from(cyl) | (u64::from(sector & 0xc0) << 2);
            let lba = ((cylinder * heads + u64::from(head)) * sectors + sectors).checked_sub(1)?;
            let end = (u64::from(e.start) + u64::from(e.sectors)).checked_sub(1)?;
            // A one-sector entry (xorriso's bootable dummy) fits any geometry: skip it.
            (heads > 1 && sectors > 1 && lba == end).then_some((heads as u32, sectors as u32))
        })
        .unwrap_or((64, 32))
}

/// The options, one per line. `image_path` is the host path of the image (for the
/// `--interval` readers).
pub fn options(layout: &Layout, image_path: &str) -> Vec<String> {
    let sys = &layout.system;
    let path = quote(image_path);
    let mut out = Vec::new();
    if let Some(v) = &sys.volume {
        out.push(format!("-V {}", quote(&v.volume_id.get(false))));
        if let Some(date) = &v.modified.utc_digits() {
            out.push(format!("--modification-date={}", quote(date)));
        }
    }
    let mut zero = vec!["zero_mbrpt"];
    if sys.gpt.is_some() {
        zero.push("zero_gpt");
    }
    if sys.apm.is_some() {
        zero.push("zero_apm");
    }
    let area = format!("--interval:local_fs:0s-15s:{}:{path}", zero.join(","));
    match layout.mbr_code {
        MbrCode::Isohybrid(_) => out.push(format!("-isohybrid-mbr {area}")),
        MbrCode::Grub2(_) => out.push(format!("--grub2-mbr {area}")),
        MbrCode::Other | MbrCode::Empty => {}
    }
    let mbr = sys.mbr.as_ref();
    if mbr.is_some_and(|m| m.protective()) {
        out.push("--protective-msdos-label".into());
    }
    let iso_start = sys.partition_offset.unwrap_or(0) * BLOCK;
    // The MBR entry that holds the ISO: it starts at 0 or at the partition offset (or at
    // sector 1, behind a protective label).
    let iso_entry = mbr.and_then(|m| {
        m.entries()
            .find(|e| [iso_start / 512, 1].contains(&u64::from(e.start)))
    });
    if let Some(m) = mbr {
        let (heads, sectors) = geometry(m);
        let aligned = iso_entry.is_some_and(|e| {
            (u64::from(e.start) + u64::from(e.sectors)).is_multiple_of(u64::from(heads * sectors))
        });
        out.push(format!(
            "-partition_cyl_align {}",
            if aligned { "on" } else { "off" }
        ));
        out.push(format!(
            "-partition_offset {}",
            sys.partition_offset.unwrap_or(0)
        ));
        out.push(format!("-partition_hd_cyl {heads}"));
        out.push(format!("-partition_sec_hd {sectors}"));
    }
    let hybrid = matches!(layout.mbr_code, MbrCode::Isohybrid(_) | MbrCode::Grub2(_));
    if hybrid && mbr.is_some_and(|m| m.entries().any(|e| e.status == 0x80)) {
        out.push("--mbr-force-bootable".into());
    }

    let gpt_hfs = sys.gpt.as_ref().is_some_and(|g| {
        g.entries
            .iter()
            .any(|e| e.type_guid.to_string() == HFS_PLUS)
    });
    let efi_part = layout.images.iter().any(|i| {
        i.entry.platform == 0xef
            && matches!(i.location, Location::File(_))
            && gpt_type_of(layout, i).as_deref() == Some(EFI_SYSTEM)
    });
    let mut appended_gpt = false;
    for p in sys.partitions.iter().filter(|p| p.appended) {
        let kind = match p.table {
            Table::Mbr => p.kind.clone(),
            Table::Gpt => {
                appended_gpt = true;
                storage_hex(&p.kind)
            }
            Table::Apm => continue,
        };
        out.push(format!(
            "-append_partition {} {kind} --interval:local_fs:{}d-{}d::{path}",
            p.number,
            p.start / 512,
            (p.end() / 512).saturating_sub(1)
        ));
    }
    if appended_gpt {
        out.push("-appended_part_as_gpt".into());
    }
    let isohybrid = matches!(layout.mbr_code, MbrCode::Isohybrid(_));
    if isohybrid && sys.partitions.iter().any(|p| p.appended) {
        out.push("-part_like_isohybrid".into());
    }
    // A system area no MBR option above reproduces is copied as it is (tables zeroed: the
    // options make them anew), as xorriso does.
    let tables = mbr.is_some() || sys.gpt.is_some() || sys.apm.is_some();
    if tables && matches!(layout.mbr_code, MbrCode::Other | MbrCode::Empty) {
        out.push(format!("-G {area}"));
    }
    if let Some(a) = &sys.apm {
        out.push(format!("-apm-block-size {}", a.block_size()));
    }
    if let Some(e) = iso_entry.filter(|e| isohybrid && e.kind != 0xee) {
        out.push(format!("-iso_mbr_part_type 0x{:02x}", e.kind));
    } else if let Some(p) = sys.partitions.iter().find(|p| {
        p.table == Table::Gpt && sys.partition_offset.is_some_and(|o| p.start == o * BLOCK)
    }) {
        // Behind a protective label, the GPT entry of the ISO at the partition offset.
        out.push(format!("-iso_mbr_part_type {}", storage_hex(&p.kind)));
    }
    if gpt_hfs && !isohybrid {
        out.push("-hfsplus".into());
    }
    if efi_part {
        out.push("-efi-boot-part --efi-boot-image".into());
    }
    if let Some(Ok(cat)) = &layout.catalog {
        match &layout.catalog_file {
            Some(f) => out.push(format!("-c {}", quote(&f.path))),
            None => out.push("--boot-catalog-hide".into()),
        }
        for (i, img) in layout.images.iter().enumerate() {
            // xorriso gives the first image's id to the validation entry and a later image's
            // to its section header: so each id goes with the first image it covers.
            let id = match img.entry.section {
                0 => Some(cat.id()),
                s if layout.images[..i].iter().all(|o| o.entry.section != s) => {
                    cat.sections.get(s - 1).map(|sec| sec.id())
                }
                _ => None,
            };
            image_options(layout, img, i, id.filter(|id| !id.is_empty()), &mut out);
        }
    }
    out
}

fn image_options(
    layout: &Layout,
    img: &Image,
    index: usize,
    id: Option<Vec<u8>>,
    out: &mut Vec<String>,
) {
    let e = &img.entry;
    if index > 0 {
        out.push("-eltorito-alt-boot".into());
    }
    let source = match &img.location {
        Location::File(f) => quote(&f.path),
        Location::Partition(p) => format!(
            "'--interval:appended_partition_{}_start_{}s_size_{}d:all::'",
            p.number,
            img.start() / BLOCK,
            img.whole_len() / 512
        ),
        Location::Hidden => {
            // xorriso takes no byte range of a file as a boot image: the image becomes a
            // hidden file of the new tree, grafted from the host file `boot-extract --whole`
            // writes.
            let file = format!("isofish-boot-{}.img", index + 1);
            out.push("-graft-points".into());
            out.push(quote(&format!("/{file}={file}")));
            out.push(format!("-hide {}", quote(&file)));
            out.push(format!("-hide-joliet {}", quote(&file)));
            quote(&format!("/{file}"))
        }
    };
    match e.platform {
        0x00 => out.push(format!("-b {source}")),
        0xef => out.push(format!("-e {source}")),
        other => {
            out.push(format!("-eltorito-platform 0x{other:02x}"));
            out.push(format!("-b {source}"));
        }
    }
    match e.emulation {
        Emulation::None => out.push("-no-emul-boot".into()),
        Emulation::HardDisk => out.push("-hard-disk-boot".into()),
        _ => {}
    }
    out.push(format!("-boot-load-size {}", e.sector_count));
    if let Some(id) = id {
        out.push(format!(
            "-eltorito-id {}",
            quote(&String::from_utf8_lossy(&id))
        ));
    }
    if e.has_criteria() {
        let mut bytes = vec![e.criteria_type];
        bytes.extend_from_slice(&e.criteria);
        let hex: String = bytes.iter().take(20).map(|b| format!("{b:02x}")).collect();
        out.push(format!("-eltorito-selcrit {hex}"));
    }
    if img.patches.table.is_some() {
        out.push("-boot-info-table".into());
    }
    if img.patches.grub2 {
        out.push("--grub2-boot-info".into());
    }
    if matches!(layout.mbr_code, MbrCode::Isohybrid(_)) {
        match gpt_type_of(layout, img).as_deref() {
            Some(BASIC_DATA) => out.push("-isohybrid-gpt-basdat".into()),
            Some(HFS_PLUS) => out.push("-isohybrid-gpt-hfsplus".into()),
            _ => {}
        }
        if apm_covers(layout, img) {
            out.push("-isohybrid-apm-hfsplus".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boot::gpt::Guid;

    #[test]
    fn type_constants_are_guid_spellings() {
        let mut efi = [0u8; 16];
        efi.copy_from_slice(&[
            0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e,
            0xc9, 0x3b,
        ]);
        assert_eq!(Guid(efi).to_string(), EFI_SYSTEM);
        assert_eq!(storage_hex(EFI_SYSTEM), "28732ac11ff8d211ba4b00a0c93ec93b");
        assert_eq!(quote("a'b"), r#"'a'"'"'b'"#);
    }
}
