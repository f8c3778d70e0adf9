//! `verify`: every checksum an image carries about itself, checked: the MD5 `implantisomd5`
//! implants ([`crate::boot::isomd5`]), libisofs's MD5 tags ([`crate::boot::md5tags`]), the El
//! Torito validation entry's checksum, the GPT headers' and entry arrays' CRCs, the boot-info
//! tables' checksums. One line each; exit status 1 when any fails.

use anyhow::bail;

use super::{opt, ArgKind, Command, Ctx};
use crate::boot::{isomd5, md5tags, Layout};

pub const COMMANDS: &[Command] = &[Command {
    name: "verify",
    aliases: &[],
    args: &[opt("DEVICE", ArgKind::Device)],
    options: &[],
    run: verify,
}];

/// What one check found.
enum Status {
    Ok(String),
    Mismatch(String),
    Absent,
}

/// One line: what was checked and what it found.
struct Line {
    label: String,
    status: Status,
}

fn line(label: impl Into<String>, status: Status) -> Line {
    Line {
        label: label.into(),
        status,
    }
}

/// `ok`, or `MISMATCH` with `why`.
fn judged(ok: bool, what: String, why: impl FnOnce() -> String) -> Status {
    if ok {
        Status::Ok(what)
    } else {
        Status::Mismatch(why())
    }
}

fn implanted(src: &dyn crate::source::Source) -> anyhow::Result<Line> {
    let status = match isomd5::verify(src) {
        Ok(None) => Status::Absent,
        // What the area holds is the image's: a garbled one is a failed check, not a failed
        // command.
        Err(e @ crate::error::Error::Corrupt { .. }) => Status::Mismatch(format!("{e}")),
        Err(e) => return Err(e.into()),
        Ok(Some(v)) => {
            let total = v.implanted.hashed_len()?;
            let fragments = v.implanted.fragment_count;
            judged(
                v.ok(),
                format!("{}, {total} bytes, {fragments} fragments", v.actual),
                || {
                    let mut why = format!("recorded {}, computed {}", v.implanted.md5, v.actual);
                    if let Some(f) = v.bad_fragment {
                        why.push_str(&format!(", fragment {f}'s sum differs"));
                        if v.actual == v.implanted.md5 && total < isomd5::SMALL {
                            why.push_str(
                                " (implantisomd5 misplaces the fragment sums of images under \
                                 688 KiB; checkisomd5 fails them too)",
                            );
                        }
                    }
                    if v.hashed < total {
                        why.push_str(&format!(", the image ends after {} bytes", v.hashed));
                    }
                    why
                },
            )
        }
    };
    Ok(line("Implanted MD5", status))
}

fn tags(src: &dyn crate::source::Source) -> anyhow::Result<Vec<Line>> {
    let tags = md5tags::read(src)?;
    if tags.is_empty() {
        return Ok(vec![line("MD5 tags", Status::Absent)]);
    }
    Ok(md5tags::verify(src, &tags)?
        .into_iter()
        .map(|c| {
            let t = &c.tag;
            let range = format!(
                "blocks {} to {}, tag at block {}",
                t.range_start,
                (t.range_start + t.range_size).saturating_sub(1),
                t.block
            );
            let why = || match &c.actual {
                _ if !t.self_ok => format!("the tag's own MD5 (self=) fails; {range}"),
                None => format!("{range} pass the end of the image"),
                Some(actual) => format!("recorded {}, computed {actual}; {range}", t.md5),
            };
            line(
                format!("MD5 tag {}", t.kind.name()),
                judged(c.ok(), format!("{}, {range}", t.md5), why),
            )
        })
        .collect())
}

fn boot(layout: &Layout) -> Vec<Line> {
    let mut lines = vec![line(
        "El Torito checksum",
        match &layout.catalog {
            None => Status::Absent,
            Some(Err(e)) => Status::Mismatch(format!("catalog unreadable: {e}")),
            Some(Ok(c)) => judged(c.checksum_ok, "validation entry".into(), || {
                "the validation entry's words do not add up to 0".into()
            }),
        },
    )];
    let gpt = &layout.system;
    match (&gpt.gpt, &gpt.gpt_backup) {
        (None, None) => lines.push(line("GPT", Status::Absent)),
        (primary, backup) => {
            for (name, table) in [("GPT", primary), ("GPT backup", backup)] {
                let Some(g) = table else {
                    let why = match primary {
                        Some(p) if name == "GPT backup" => {
                            format!("no header at sector {}, where the primary says", p.backup)
                        }
                        _ => "no header at sector 1".into(),
                    };
                    lines.push(line(format!("{name} header"), Status::Mismatch(why)));
                    continue;
                };
                let at = format!("sector {}", g.header_sector);
                lines.push(line(
                    format!("{name} header"),
                    judged(
                        g.header_crc_ok,
                        format!("CRC 0x{:08x}, {at}", g.header_crc),
                        || format!("CRC 0x{:08x} does not match, {at}", g.header_crc),
                    ),
                ));
                let at = format!("sector {}", g.array_sector);
                let array = match g.array_crc_ok {
                    Some(ok) => judged(ok, format!("CRC 0x{:08x}, {at}", g.array_crc), || {
                        format!("CRC 0x{:08x} does not match, {at}", g.array_crc)
                    }),
                    None => Status::Mismatch(format!("unreadable: {}", g.problems.join("; "))),
                };
                lines.push(line(format!("{name} array"), array));
            }
        }
    }
    let tables: Vec<Line> = layout
        .images
        .iter()
        .enumerate()
        .filter_map(|(i, image)| {
            let t = image.patches.table.as_ref()?;
            let label = format!("Boot-info table {}", i + 1);
            let what = format!("checksum 0x{:08x}, block {}", t.checksum, t.image_block);
            Some(line(
                label,
                match t.checksum_ok {
                    Some(ok) => judged(ok, what, || {
                        format!("checksum 0x{:08x} does not match the image", t.checksum)
                    }),
                    None => Status::Ok(format!("{what}, not summed (too large or cut short)")),
                },
            ))
        })
        .collect();
    if tables.is_empty() {
        lines.push(line("Boot-info table", Status::Absent));
    }
    lines.extend(tables);
    lines
}

fn verify(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let parsed = super::parse("verify", args)?;
    let device = parsed.args.first().map_or("/dev/sda", String::as_str);
    let src = ctx.session.device_source(device)?;
    let layout = Layout::read(src.as_ref(), None)?;
    let mut lines = vec![implanted(src.as_ref())?];
    lines.extend(tags(src.as_ref())?);
    lines.extend(boot(&layout));
    let width = lines.iter().map(|l| l.label.len()).max().unwrap_or(0);
    let mut failed = 0;
    for l in &lines {
        let status = match &l.status {
            Status::Ok(what) => format!("ok ({what})"),
            Status::Mismatch(why) => {
                failed += 1;
                format!("MISMATCH ({why})")
            }
            Status::Absent => "absent".into(),
        };
        writeln!(ctx.out, "{:<width$} : {status}", l.label)?;
    }
    if failed > 0 {
        ctx.out.flush()?;
        let (n, verb) = if failed == 1 {
            ("1 checksum".to_string(), "does")
        } else {
            (format!("{failed} checksums"), "do")
        };
        bail!("{device}: {n} {verb} not match");
    }
    Ok(())
}
