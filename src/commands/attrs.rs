//! Commands that stage metadata: `chmod`, `chown`, `utimens` (an object's mode, owner and
//! times) and `set-label` (a mounted filesystem's volume label, checked against what its
//! format can hold).

use super::tree_edit::one;
use super::{arg, Arg, ArgKind, Command, Ctx};
use crate::error::{Error, Result};
use crate::fs::{FileKind, Metadata, Timestamp};
use crate::session::Staging;

pub const COMMANDS: &[Command] = &[
    one("chmod", &[word("MODE"), PATH], chmod),
    one("chown", &[word("UID"), word("GID"), PATH], chown),
    one(
        "utimens",
        &[
            PATH,
            word("ATSECS"),
            word("ATNSECS"),
            word("MTSECS"),
            word("MTNSECS"),
        ],
        utimens,
    ),
    one(
        "set-label",
        &[arg("DEVICE", ArgKind::Device), word("LABEL")],
        set_label,
    ),
];

const PATH: Arg = arg("PATH", ArgKind::Path);

/// A plain word argument.
const fn word(name: &'static str) -> Arg {
    arg(name, ArgKind::Word)
}

/// `word` as a number of type `T`, or a usage error naming what it was for.
fn number<T: std::str::FromStr>(word: &str, what: &str) -> Result<T> {
    word.parse()
        .map_err(|_| Error::Usage(format!("{what}: {word:?} is not a number")))
}

fn chmod(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let digits = args[0].strip_prefix("0o").unwrap_or(&args[0]);
    let mode = u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| {
            Error::Usage(format!(
                "chmod: {:?} is not an octal mode from 0 to 07777",
                args[0]
            ))
        })?;
    change(ctx, &args[1], true, |m| m.mode = mode)
}

/// Stages `f`'s change to the metadata of the object at `path` (its last symlink followed
/// when `follow`).
fn change(
    ctx: &mut Ctx,
    path: &str,
    follow: bool,
    f: impl FnOnce(&mut Metadata),
) -> anyhow::Result<()> {
    let st = ctx.session.stage_existing(path, follow)?;
    st.overlay.change_meta(&st.path, |m| {
        f(m);
        Ok(())
    })?;
    ctx.session.staged(&st)?;
    Ok(())
}

/// A user or group id for `chown`: a number, or -1 to leave it as it is.
fn owner_id(word: &str, what: &str) -> Result<Option<u32>> {
    match number::<i64>(word, what)? {
        -1 => Ok(None),
        n => u32::try_from(n)
            .map(Some)
            .map_err(|_| Error::Usage(format!("{what}: {n} is not a user or group id"))),
    }
}

fn chown(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let uid = owner_id(&args[0], "chown UID")?;
    let gid = owner_id(&args[1], "chown GID")?;
    change(ctx, &args[2], true, |m| {
        m.uid = uid.unwrap_or(m.uid);
        m.gid = gid.unwrap_or(m.gid);
        // Linux drops set-user-id, and set-group-id with group execute, on a change of owner.
        if m.kind == FileKind::File {
            m.mode &= !0o4000;
            if m.mode & 0o010 != 0 {
                m.mode &= !0o2000;
            }
        }
    })
}

/// `UTIME_NOW` and `UTIME_OMIT` as guestfish spells them in the nanoseconds argument.
const NSECS_NOW: i64 = -1;
const NSECS_OMIT: i64 = -2;

/// One time of `utimens`: `None` to leave it, else the time to set.
fn utime(secs: &str, nsecs: &str, what: &str) -> Result<Option<Timestamp>> {
    let nanos = number::<i64>(nsecs, &format!("utimens {what}NSECS"))?;
    Ok(match nanos {
        NSECS_OMIT => None,
        NSECS_NOW => Some(Timestamp::now()),
        0..=999_999_999 => Some(Timestamp {
            secs: number(secs, &format!("utimens {what}SECS"))?,
            nanos: nanos as u32,
        }),
        _ => {
            return Err(Error::Usage(format!(
            "utimens {what}NSECS: {nanos} is not from 0 to 999999999, -1 (now) or -2 (unchanged)"
        )))
        }
    })
}

fn utimens(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let atime = utime(&args[1], &args[2], "AT")?;
    let mtime = utime(&args[3], &args[4], "MT")?;
    if atime.is_none() && mtime.is_none() {
        // Nothing changes, not even the change time; the path must still be there.
        ctx.session.stage_existing(&args[0], false)?;
        return Ok(());
    }
    change(ctx, &args[0], false, |m| {
        m.atime = atime.unwrap_or(m.atime);
        m.mtime = mtime.unwrap_or(m.mtime);
    })
}

fn set_label(ctx: &mut Ctx, args: &[String]) -> anyhow::Result<()> {
    let (device, label) = (&args[0], &args[1]);
    ctx.session.refuse_readonly(device)?;
    let Some(m) = ctx.session.mount_of_device(device) else {
        ctx.session.device_source(device)?;
        return Err(Error::Usage(format!(
            "{device}: not mounted (set-label changes the label of a mounted filesystem)"
        ))
        .into());
    };
    let (id, fstype) = (m.id, m.mount.fs.type_name());
    check_label(fstype, label).map_err(|why| {
        Error::Usage(format!(
            "{device}: {fstype} cannot hold the label {label:?}: {why}"
        ))
    })?;
    let st = Staging {
        mount: id,
        overlay: ctx.session.vfs.overlay(id)?,
        path: "/".into(),
        shown: device.clone(),
    };
    st.overlay.set_label(label);
    ctx.session.staged(&st)?;
    Ok(())
}

/// Fails, saying why, when a filesystem of type `fstype` cannot record `label` as it is.
fn check_label(fstype: &str, label: &str) -> std::result::Result<(), String> {
    let chars = label.chars().count();
    let (max, ascii) = match fstype {
        // The primary volume descriptor's 32-byte volume identifier.
        "iso9660" => (32, true),
        // The logical volume identifier, a 128-byte dstring: 126 Latin-1 or 63 other characters.
        "udf" if label.chars().all(|c| u32::from(c) < 0x100) => (126, false),
        "udf" => (63, false),
        "vfat" => (11, true),
        "ext2" | "ext3" | "ext4" => (16, false),
        _ => return Err("the format records no label".into()),
    };
    if ascii {
        if let Some(c) = label.chars().find(|c| !(' '..='~').contains(c)) {
            return Err(format!("{c:?} is not a printable ASCII character"));
        }
    } else if let Some(c) = label.chars().find(|c| c.is_control()) {
        return Err(format!("{c:?} is a control character"));
    }
    let (len, unit) = match fstype {
        "ext2" | "ext3" | "ext4" => (label.len(), "bytes"),
        _ => (chars, "characters"),
    };
    if len > max {
        return Err(format!("{len} {unit}, over the {max} it holds"));
    }
    Ok(())
}
