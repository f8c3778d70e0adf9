//! `inspect`: what a disc is and how it boots, on one screen, from [`crate::inspect`]'s
//! [`Report`]: one `Label : value` line per fact, as `boot-info` prints.

use anyhow::bail;

use super::boot::report::system_kind;
use super::{opt, option, ArgKind, Command, Ctx, Value};
use crate::inspect::boot_paths::BootPath;
use crate::inspect::menu::Menu;
use crate::inspect::Report;

/// Menu entries shown per menu without `--all`.
const SHOWN_ENTRIES: usize = 12;

const WIDTH: usize = 13;

pub const COMMANDS: &[Command] = &[Command {
    name: "inspect",
    aliases: &[],
    args: &[opt("DEVICE", ArgKind::Device)],
    options: &[option(
        "--all",
        Value::Flag,
        "every menu entry, not only the first of each menu",
    )],
    run: inspect,
}];

fn inspect(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let parsed = super::parse("inspect", args)?;
    let all = parsed.flag("--all");
    let device = match parsed.args.first() {
        Some(d) => d.clone(),
        None => match ctx.session.drives().first() {
            Some(d) => d.device.clone(),
            None => bail!("inspect: no image; add one with -a (or add IMAGE)"),
        },
    };
    let source = super::mount::device_or_file_source(ctx, &device)?;
    let report = crate::inspect::inspect(source)?;
    for line in render(&report, all) {
        writeln!(ctx.out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn line(out: &mut Vec<String>, label: &str, value: impl AsRef<str>) {
    out.push(format!("{label:<WIDTH$} : {}", value.as_ref()));
}

/// The report's lines.
pub fn render(r: &Report, all: bool) -> Vec<String> {
    let mut out = Vec::new();
    for f in &r.identity.facts {
        line(&mut out, f.label, format!("{}  [{}]", f.text, f.from));
    }
    if let Some(live) = &r.live {
        let name = live
            .field("PRETTY_NAME")
            .or_else(|| live.field("NAME"))
            .map(|n| crate::inspect::tree::clean(n, 120));
        if let Some(name) = name {
            let inner = live.inner.as_deref().unwrap_or("");
            line(
                &mut out,
                "Live system",
                format!("{name}  [{}:{inner}/etc/os-release]", live.path),
            );
        }
    }
    let label = r.label.as_deref().unwrap_or("").trim();
    line(&mut out, "Volume", format!("{} {label:?}", r.fs_type));
    let arches = r.arches();
    if !arches.is_empty() {
        let words: Vec<String> = arches
            .iter()
            .map(|(a, from)| format!("{a} ({})", from.join("; ")))
            .collect();
        line(&mut out, "Architecture", words.join(", "));
    }
    boot_lines(r, &mut out);
    for (i, m) in r.boot.menus.iter().enumerate() {
        menu_lines(m, r.boot.repeats(i), all, &mut out);
    }
    if let Some(live) = &r.live {
        let kind = live.kind.as_deref().unwrap_or("unknown");
        let inner = match &live.inner {
            Some(i) => format!(", root in {i}"),
            None => String::new(),
        };
        line(
            &mut out,
            "Live root",
            format!("{} ({kind}, {} bytes{inner})", live.path, live.size),
        );
        if let Some(p) = &live.problem {
            line(&mut out, "Note", format!("{}: {p}", live.path));
        }
    }
    for i in &r.initrds {
        let kind = i.kind.as_deref().unwrap_or("unknown");
        let used = match i.entries {
            0 => String::new(),
            1 => ", 1 menu entry".into(),
            n => format!(", {n} menu entries"),
        };
        let label = if i.installer { "Installer" } else { "Initrd" };
        line(
            &mut out,
            label,
            format!("{} ({kind}, {} bytes{used})", i.path, i.size),
        );
    }
    let notes = r.boot.menus.iter().flat_map(|m| &m.notes);
    for n in notes {
        line(&mut out, "Note", n);
    }
    out
}

fn boot_lines(r: &Report, out: &mut Vec<String>) {
    if r.layout.boot_record.is_none() {
        line(out, "Boot", "none (no El Torito boot record)");
    }
    for p in &r.boot.paths {
        line(out, &format!("{} boot", p.firmware), path_words(p));
        if let Some(problem) = &p.problem {
            line(out, "Note", format!("{}: {problem}", p.image));
        }
    }
    let kind = system_kind(&r.layout);
    let hybrid = if r.layout.system.partitions.is_empty() {
        format!("no (system area: {kind})")
    } else {
        format!("yes ({kind})")
    };
    line(out, "Hybrid USB", hybrid);
}

/// `GRUB, /boot/grub/efi.img (vfat), runs ..., reads ...`.
fn path_words(p: &BootPath) -> String {
    let mut words = vec![p.loader.clone(), p.image.clone()];
    if !p.programs.is_empty() {
        words.push(format!("programs {}", p.programs.join(" ")));
    }
    match &p.config {
        Some(c) => words.push(format!("reads {c}")),
        None if ["isolinux", "GRUB", "systemd-boot"].contains(&p.loader.as_str()) => {
            words.push("no config found".into())
        }
        None => {}
    }
    words.join(", ")
}

/// The lines of menu `m`; `same` is the earlier menu whose entries it repeats.
fn menu_lines(m: &Menu, same: Option<&Menu>, all: bool, out: &mut Vec<String>) {
    let n = m.entries.len() + m.more;
    let mut words = vec![
        m.syntax.name().to_string(),
        format!("{n} entr{}", if n == 1 { "y" } else { "ies" }),
    ];
    if !m.included.is_empty() {
        words.push(format!("with {}", m.included.join(" ")));
    }
    // A config that goes on in another boot path's lists its entries once.
    if let Some(e) = same {
        words.push(format!("the entries of {}", e.config));
    }
    line(out, "Menu", format!("{} ({})", m.config, words.join(", ")));
    if same.is_some() {
        return;
    }
    let shown = if all { m.entries.len() } else { SHOWN_ENTRIES };
    for e in m.entries.iter().take(shown) {
        let mut words = vec![format!("{:?}", e.title)];
        if let Some(k) = &e.kernel {
            words.push(format!("kernel {k}"));
        }
        if !e.initrds.is_empty() {
            words.push(format!("initrd {}", e.initrds.join(" ")));
        }
        if !e.args.is_empty() {
            words.push(format!("args {:?}", e.args));
        }
        line(out, "  Entry", words.join("  "));
    }
    let hidden = m.entries.len().saturating_sub(shown) + m.more;
    if hidden > 0 {
        let how = if m.more > 0 {
            format!(
                " ({} past the {} read)",
                m.more,
                crate::inspect::menu::MAX_ENTRIES
            )
        } else {
            " (inspect --all shows them)".into()
        };
        line(out, "  Entry", format!("... {hidden} more{how}"));
    }
}
