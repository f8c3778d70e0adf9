//! `set-boot-file` and `boot-add-efi`: the two changes to the boot setup itself, staged in the
//! overlay of the drive's ISO 9660 filesystem (beside its files) and written by `commit`, which
//! binds them to the files at their paths as it binds the original's boot files.

use super::tree_edit::one;
use super::{arg, Arg, ArgKind, Command, Ctx};
use crate::boot;
use crate::error::Error;
use crate::fs::{FileKind, FileSystem};
use crate::session::Staging;
use crate::vfs::Origin;

pub const COMMANDS: &[Command] = &[
    one(
        "set-boot-file",
        &[arg("ENTRY", ArgKind::Word), PATH],
        set_boot_file,
    ),
    one("boot-add-efi", &[PATH], boot_add_efi),
];

const PATH: Arg = arg("PATH", ArgKind::Path);

/// The staging place of the boot file at `path`: a regular file of a drive's own filesystem;
/// the drive's index with it.
fn boot_file(ctx: &mut Ctx, command: &str, path: &str) -> anyhow::Result<(Staging, usize)> {
    let st = ctx.session.stage_existing(path, true)?;
    let meta = st.overlay.find(&st.path)?.meta;
    if meta.kind != FileKind::File || meta.size == 0 {
        return Err(Error::Usage(format!("{command}: {path}: not a file with data")).into());
    }
    let drive = ctx
        .session
        .vfs
        .get(st.mount)
        .and_then(|m| match *m.origin {
            Origin::Drive { drive } => Some(drive),
            _ => None,
        })
        .ok_or_else(|| {
            Error::Usage(format!(
                "{command}: {path}: boot files are files of a drive's own filesystem (not of \
                 an image mounted from a file or a partition)"
            ))
        })?;
    Ok((st, drive))
}

fn set_boot_file(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let (entry, path) = (&args[0], &args[1]);
    let n: usize = entry
        .parse()
        .map_err(|_| Error::Usage(format!("set-boot-file: {entry}: not a boot image number")))?;
    let (st, drive) = boot_file(ctx, "set-boot-file", path)?;
    let source = ctx.session.drives()[drive].source.clone();
    let images = boot::Layout::read(source.as_ref(), None)?.images.len();
    if n == 0 || n > images {
        return Err(Error::Usage(format!(
            "set-boot-file: {entry}: {} has {images} boot images (`boot-info` numbers them)",
            ctx.session.drives()[drive].device
        ))
        .into());
    }
    st.overlay.edit_boot(|b| {
        b.files.insert(n, st.path.clone());
    });
    ctx.session.staged(&st)?;
    Ok(())
}

fn boot_add_efi(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let (st, _) = boot_file(ctx, "boot-add-efi", &args[0])?;
    let mut sector = [0u8; 512];
    let ino = st.overlay.find(&st.path)?.ino;
    let mut n = 0;
    while n < sector.len() {
        match st.overlay.read_at(ino, n as u64, &mut sector[n..])? {
            0 => break,
            got => n += got,
        }
    }
    if n < sector.len() || sector[510..] != [0x55, 0xaa] {
        eprintln!(
            "isofish: warning: boot-add-efi: {}: no FAT boot sector (firmware boots a FAT image)",
            args[0]
        );
    }
    st.overlay.edit_boot(|b| {
        if !b.add_efi.contains(&st.path) {
            b.add_efi.push(st.path.clone());
        }
    });
    ctx.session.staged(&st)?;
    Ok(())
}
