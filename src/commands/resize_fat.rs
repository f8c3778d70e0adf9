//! `resize-fat`: the size a mounted FAT image is rebuilt to when it is committed, staged in
//! the mount's overlay ([`crate::overlay::Overlay::set_size`]) for the FAT writer.

use super::tree_edit::one;
use super::{arg, ArgKind, Command, Ctx};
use crate::error::Error;
use crate::fs::cpio::parse_size;
use crate::session::Staging;
use crate::vfs::path;

pub const COMMANDS: &[Command] = &[one(
    "resize-fat",
    &[arg("MOUNTPOINT", ArgKind::Path), arg("SIZE", ArgKind::Word)],
    resize_fat,
)];

/// FAT's smallest sector, which every size must be a multiple of.
const SECTOR: u64 = 512;

fn resize_fat(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let (mountpoint, size) = (&args[0], &args[1]);
    ctx.session.refuse_readonly(mountpoint)?;
    let size = parse_size(size)
        .filter(|s| *s > 0 && s.is_multiple_of(SECTOR))
        .ok_or_else(|| {
            Error::Usage(format!(
                "resize-fat: {size:?} is not a size in bytes that is a multiple of {SECTOR} \
                 (e.g. 4M, 65536K)"
            ))
        })?;
    let mp = path::normalize(&ctx.session.absolute(mountpoint));
    let (id, fstype) = match ctx.session.vfs.topmost(&mp) {
        Some(m) => (m.id, m.mount.fs.type_name()),
        None => return Err(Error::Usage(format!("{mp}: not a mountpoint")).into()),
    };
    if fstype != "vfat" {
        return Err(Error::Usage(format!(
            "{mp}: {fstype}, not FAT: resize-fat resizes FAT images"
        ))
        .into());
    }
    let st = Staging {
        mount: id,
        overlay: ctx.session.vfs.overlay(id)?,
        path: "/".into(),
        shown: mp,
    };
    st.overlay.set_size(size);
    ctx.session.staged(&st)?;
    Ok(())
}
