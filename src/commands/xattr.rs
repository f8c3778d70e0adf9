//! Extended attributes: `getxattrs` and `lgetxattrs` list a file's attributes in guestfish's
//! format, `getxattr` and `lgetxattr` print one value. The `l` forms do not follow a final
//! symlink. Every mounted filesystem answers through [`crate::fs::FileSystem::xattrs`]; those
//! that record none give an empty list. `getxattrs` writes a name from the image escaped on
//! a terminal (as `ll` does), as it is into a pipe; values in guestfish's escaped form.

use anyhow::bail;

use super::format::write_name;
use super::{arg, ArgKind, Command, Ctx};
use crate::fs::Xattr;
use crate::vfs::Target;

pub const COMMANDS: &[Command] = &[
    Command {
        name: "getxattrs",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: |ctx, args| list(ctx, &args[0], true),
    },
    Command {
        name: "lgetxattrs",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path)],
        options: &[],
        run: |ctx, args| list(ctx, &args[0], false),
    },
    Command {
        name: "getxattr",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path), arg("NAME", ArgKind::Word)],
        options: &[],
        run: |ctx, args| one(ctx, &args[0], &args[1], true),
    },
    Command {
        name: "lgetxattr",
        aliases: &[],
        args: &[arg("PATH", ArgKind::Path), arg("NAME", ArgKind::Word)],
        options: &[],
        run: |ctx, args| one(ctx, &args[0], &args[1], false),
    },
];

/// The attributes of `path` (of the symlink itself unless `follow`).
fn xattrs(ctx: &Ctx, path: &str, follow: bool) -> anyhow::Result<Vec<Xattr>> {
    let node = if follow {
        ctx.session.resolve(path)?
    } else {
        ctx.session.resolve_nofollow(path)?
    };
    Ok(match &node.target {
        Target::Fs { fs, ino, .. } => fs.xattrs(*ino)?,
        Target::Virtual => Vec::new(),
    })
}

/// Appends `value` as guestfish prints a buffer: printable ASCII as is, other bytes `\xNN`.
pub fn escape(value: &[u8], out: &mut Vec<u8>) {
    for &b in value {
        if (0x20..0x7f).contains(&b) {
            out.push(b);
        } else {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        }
    }
}

fn list(ctx: &mut Ctx, path: &str, follow: bool) -> anyhow::Result<()> {
    let mut text = Vec::new();
    for (i, x) in xattrs(ctx, path, follow)?.iter().enumerate() {
        text.extend_from_slice(format!("[{i}] = {{\n  attrname: ").as_bytes());
        write_name(&mut text, &x.name, ctx.tty)?;
        text.extend_from_slice(b"\n  attrval: ");
        escape(&x.value, &mut text);
        text.extend_from_slice(b"\n}\n");
    }
    ctx.out.write_all(&text)?;
    Ok(())
}

fn one(ctx: &mut Ctx, path: &str, name: &str, follow: bool) -> anyhow::Result<()> {
    let Some(x) = xattrs(ctx, path, follow)?
        .into_iter()
        .find(|x| x.name == name.as_bytes())
    else {
        let command = if follow { "getxattr" } else { "lgetxattr" };
        bail!("{command}: {path}: {name}: No data available");
    };
    ctx.out.write_all(&x.value)?;
    Ok(())
}
