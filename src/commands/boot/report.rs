//! The words `boot-info` and `info DEV` print about a [`Layout`]: the catalog, each image and
//! the file or partition it is, the MBR and what its boot code points at, the GPTs, the APM and
//! the partitions the session shows. One `Label : value` line per fact, like xorriso's reports.

use crate::boot::eltorito::{platform_name, BootEntry};
use crate::boot::{mbr_type_name, Layout, Location, MbrCode, SystemArea};
use crate::error::Result;
use crate::source::Source;

const WIDTH: usize = 18;

fn line(out: &mut Vec<String>, label: &str, value: impl AsRef<str>) {
    out.push(format!("{label:<WIDTH$}: {}", value.as_ref()));
}

fn quoted(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn yes(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "BAD"
    }
}

/// The column heads of the image table.
pub const IMAGE_HEADS: &str = "  N  Pltf     B  Emul     Ld_seg  Sys   Sectors         LBA";

/// One row of the image table.
pub fn image_row(n: usize, e: &BootEntry) -> String {
    format!(
        "{n:>3}  {:<7}  {}  {:<7}  0x{:04x}  0x{:02x}  {:>7}  {:>10}",
        platform_name(e.platform),
        if e.bootable() { "y" } else { "n" },
        e.emulation.name(),
        e.load_segment,
        e.system_type,
        e.sector_count,
        e.load_rba
    )
}

/// What the MBR's boot code is, in words.
pub fn mbr_code_words(layout: &Layout) -> String {
    let block = |i: usize| layout.images.get(i).map_or(0, |img| img.entry.load_rba);
    match layout.mbr_code {
        MbrCode::Empty => "none".into(),
        MbrCode::Isohybrid(i) => format!(
            "isohybrid (syslinux), chains to boot image {} at block {}",
            i + 1,
            block(i)
        ),
        MbrCode::Grub2(i) => format!(
            "GRUB2 hybrid, chains to boot image {} at block {}",
            i + 1,
            block(i)
        ),
        MbrCode::Other => {
            let kind = match &layout.system.mbr {
                Some(m) if m.syslinux_text() => "syslinux's",
                Some(m) if m.grub_text() => "GRUB's",
                _ => "unknown",
            };
            format!("present ({kind}), points at no boot image")
        }
    }
}

/// The short kind of the system area: `MBR isohybrid GPT APM`...
pub fn system_kind(layout: &Layout) -> String {
    let sys = &layout.system;
    let mut words = Vec::new();
    if let Some(m) = &sys.mbr {
        words.push("MBR");
        if m.protective() {
            words.push("protective");
        }
        words.push(match layout.mbr_code {
            MbrCode::Isohybrid(_) => "isohybrid",
            MbrCode::Grub2(_) => "grub2-mbr",
            MbrCode::Other => "with-boot-code",
            MbrCode::Empty => "no-boot-code",
        });
    }
    if sys.gpt.is_some() || sys.gpt_backup.is_some() {
        words.push("GPT");
    }
    if sys.apm.is_some() {
        words.push("APM");
    }
    if words.is_empty() {
        "none".into()
    } else {
        words.join(" ")
    }
}

fn catalog_lines(layout: &Layout, out: &mut Vec<String>) {
    let Some(br) = &layout.boot_record else {
        line(out, "El Torito", "no boot record");
        return;
    };
    line(
        out,
        "El Torito",
        format!(
            "boot record at block {}, catalog at block {}",
            br.block, br.catalog
        ),
    );
    if let Some(f) = &layout.catalog_file {
        line(out, "Catalog file", &f.path);
    }
    let cat = match &layout.catalog {
        Some(Ok(cat)) => cat,
        Some(Err(e)) => {
            line(out, "Catalog", format!("unreadable: {e}"));
            return;
        }
        None => return,
    };
    line(
        out,
        "Validation entry",
        format!(
            "platform {}, id {}, checksum {}",
            platform_name(cat.platform),
            quoted(&cat.id()),
            yes(cat.checksum_ok)
        ),
    );
    for (i, s) in cat.sections.iter().enumerate() {
        line(
            out,
            &format!("Section {}", i + 1),
            format!(
                "platform {}, {} entr{}{}, id {}",
                platform_name(s.platform),
                s.declared,
                if s.declared == 1 { "y" } else { "ies" },
                if s.indicator == 0x91 { ", final" } else { "" },
                quoted(&s.id())
            ),
        );
    }
    line(out, "Boot images", IMAGE_HEADS);
    for (i, img) in layout.images.iter().enumerate() {
        line(out, "Boot image", image_row(i + 1, &img.entry));
    }
    for (i, img) in layout.images.iter().enumerate() {
        let n = i + 1;
        let e = &img.entry;
        let entry = if e.section == 0 {
            "default entry".to_string()
        } else {
            format!("section {} entry", e.section)
        };
        line(
            out,
            &format!("Image {n} entry"),
            format!(
                "{entry} at offset {}, loads {} bytes",
                e.offset,
                img.load_bytes()
            ),
        );
        let place = match &img.location {
            Location::File(f) => format!("{} ({} bytes)", f.path, f.size),
            Location::Partition(p) => format!(
                "hidden: in appended partition {} ({} bytes from the image's start)",
                p.number,
                img.whole_len()
            ),
            Location::Hidden => "hidden: no file or partition names it".into(),
        };
        line(out, &format!("Image {n} file"), place);
        let mut opts: Vec<String> = Vec::new();
        if let Some(t) = &img.patches.table {
            opts.push(format!(
                "boot-info-table (pvd block {}; length {}; checksum {})",
                t.pvd_block,
                t.image_len,
                t.checksum_ok.map_or("not checked", yes)
            ));
        }
        if img.patches.grub2 {
            opts.push("grub2-boot-info".into());
        }
        if !opts.is_empty() {
            line(out, &format!("Image {n} patches"), opts.join(", "));
        }
        if e.has_criteria() {
            line(
                out,
                &format!("Image {n} criteria"),
                format!(
                    "type 0x{:02x}, {} extension entr{}, {}",
                    e.criteria_type,
                    e.extensions(),
                    if e.extensions() == 1 { "y" } else { "ies" },
                    hex(&e.criteria)
                ),
            );
        }
    }
    for p in &cat.problems {
        line(out, "Catalog problem", p);
    }
}

fn system_lines(layout: &Layout, device: &str, out: &mut Vec<String>) {
    let sys: &SystemArea = &layout.system;
    line(out, "System area", system_kind(layout));
    line(
        out,
        "Image size",
        format!(
            "{} bytes{}",
            sys.image_len,
            sys.volume
                .as_ref()
                .map(|v| format!(", ISO volume {} blocks of 2048", v.volume_space_size))
                .unwrap_or_default()
        ),
    );
    line(
        out,
        "Partition offset",
        sys.partition_offset.unwrap_or(0).to_string(),
    );
    if let Some(m) = &sys.mbr {
        line(
            out,
            "MBR",
            format!(
                "disk signature 0x{:08x}, boot code {}",
                m.disk_signature,
                mbr_code_words(layout)
            ),
        );
        line(
            out,
            "MBR partitions",
            "  N  Status  Type       Start     Sectors  Name",
        );
        for e in m.entries() {
            line(
                out,
                "MBR partition",
                format!(
                    "{:>3}  0x{:02x}    0x{:02x}  {:>10}  {:>10}  {}",
                    e.number,
                    e.status,
                    e.kind,
                    e.start,
                    e.sectors,
                    mbr_type_name(e.kind).unwrap_or("")
                ),
            );
        }
    }
    if let Some(chain) = &sys.logical {
        for l in &chain.partitions {
            line(
                out,
                "MBR logical",
                format!(
                    "{:>3}  record {:>10}  0x{:02x}  {:>10}  {:>10}  {}",
                    l.number,
                    l.record,
                    l.kind,
                    l.start,
                    l.sectors,
                    mbr_type_name(l.kind).unwrap_or("")
                ),
            );
        }
        for p in &chain.problems {
            line(out, "MBR problem", p);
        }
    }
    for (label, g) in [("GPT", &sys.gpt), ("GPT backup", &sys.gpt_backup)] {
        let Some(g) = g else { continue };
        line(
            out,
            label,
            format!(
                "revision {}.{}, header at sector {}, CRC {}; {} entries of {} bytes at sector {}, CRC {}",
                g.revision >> 16,
                g.revision & 0xffff,
                g.header_sector,
                yes(g.header_crc_ok),
                g.array_entries,
                g.entry_size,
                g.array_sector,
                g.array_crc_ok.map_or("unread", yes)
            ),
        );
        line(
            out,
            &format!("{label} disk"),
            format!(
                "GUID {}, usable sectors {} to {}, other header at sector {}",
                g.disk_guid, g.first_usable, g.last_usable, g.backup
            ),
        );
        for p in &g.problems {
            line(out, &format!("{label} problem"), p);
        }
        if label == "GPT backup" && sys.gpt.is_some() {
            continue;
        }
        line(
            out,
            "GPT partitions",
            "  N       Start     Sectors  Type                                  Flags               Name",
        );
        for e in &g.entries {
            line(
                out,
                "GPT partition",
                format!(
                    "{:>3}  {:>10}  {:>10}  {}  0x{:016x}  {}",
                    e.number,
                    e.first,
                    e.sectors(),
                    e.type_guid,
                    e.attributes,
                    quoted(e.name().as_bytes())
                ),
            );
        }
    }
    if let Some(a) = &sys.apm {
        line(
            out,
            "APM",
            format!("block size {}, {} entries", a.block_size(), a.entries.len()),
        );
        for e in &a.entries {
            line(
                out,
                "APM partition",
                format!(
                    "{:>3}  {:>10}  {:>10}  {:<20}  {}",
                    e.number,
                    e.start,
                    e.blocks,
                    e.kind(),
                    quoted(e.name().as_bytes())
                ),
            );
        }
        for p in &a.problems {
            line(out, "APM problem", p);
        }
    }
    for p in &sys.partitions {
        line(
            out,
            "Partition",
            format!(
                "{device}{}: {} entry {}, bytes {} to {} ({} bytes), type {}{}{}",
                p.number,
                p.table.name(),
                p.number,
                p.start,
                p.end(),
                p.len,
                p.kind,
                p.kind_name.map(|n| format!(" ({n})")).unwrap_or_default(),
                if p.appended { ", appended" } else { "" }
            ),
        );
    }
    for (a, b) in &sys.overlaps {
        line(
            out,
            "Partition problem",
            format!("{device}{a} and {device}{b} overlap, neither holds the other"),
        );
    }
    if sys.more_overlaps > 0 {
        line(
            out,
            "Partition problem",
            format!("{} more pairs overlap", sys.more_overlaps),
        );
    }
}

/// The full report of `boot-info`; `device` names the partitions (`/dev/sda`).
pub fn plain(layout: &Layout, device: &str) -> Vec<String> {
    let mut out = Vec::new();
    catalog_lines(layout, &mut out);
    system_lines(layout, device, &mut out);
    out
}

/// Label/value lines for `info DEV` about `src`: the boot record and the hybrid layout.
pub fn summary_lines(src: &dyn Source) -> Result<Vec<(String, String)>> {
    Ok(summary(&Layout::read(src, None)?))
}

/// Two lines for `info DEV`.
pub fn summary(layout: &Layout) -> Vec<(String, String)> {
    let boot = match (&layout.boot_record, &layout.catalog) {
        (None, _) | (_, None) => "none".to_string(),
        (Some(_), Some(Err(e))) => format!("El Torito, catalog unreadable: {e}"),
        (Some(br), Some(Ok(_))) => {
            let images: Vec<String> = layout
                .images
                .iter()
                .map(|i| {
                    format!(
                        "{} {}",
                        platform_name(i.entry.platform),
                        i.entry.emulation.name()
                    )
                })
                .collect();
            format!(
                "El Torito, catalog at block {}, {} image{}: {}",
                br.catalog,
                images.len(),
                if images.len() == 1 { "" } else { "s" },
                images.join(", ")
            )
        }
    };
    let parts = layout.system.partitions.len();
    let hybrid = format!(
        "{}, {parts} partition{}",
        system_kind(layout),
        if parts == 1 { "" } else { "s" }
    );
    vec![
        ("Boot record".into(), boot),
        ("Hybrid layout".into(), hybrid),
    ]
}
