//! Debian binary packages (.deb) as filesystems: the ar container ([`ar`]) holding
//! `debian-binary`, `control.tar[.gz|.xz|.zst]` and `data.tar[.gz|.xz|.zst|.bz2|.lzma]`; mounted
//! as the data tree with the control archive's members under `/DEBIAN`, as `dpkg-deb -R` lays
//! them out. Both archives are read by the tar reader ([`crate::fs::tar`]), compressed ones
//! decoded on demand; `info` shows the control fields ([`control`]).

pub mod ar;
pub mod control;

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::fs::tar::{PartSpec, TarFs};
use crate::fs::{FileSystem, MountOptions};
use crate::source::{RangeSource, Source};

/// The largest control file read for `info`.
const MAX_CONTROL: u64 = 1 << 20;

/// Opens the package in `source`.
pub fn open(source: Arc<dyn Source>, options: &MountOptions) -> Result<TarFs> {
    let members = ar::members(&source)?;
    let find = |prefix: &[u8]| members.iter().find(|m| m.name.starts_with(prefix));
    let missing = |what: &str| {
        Error::corrupt(
            source.name(),
            "ar archive",
            0,
            format!("no {what} member: not a binary package"),
        )
    };
    let version = find(b"debian-binary").ok_or_else(|| missing("debian-binary"))?;
    let said = source.read_vec(
        version.data_at,
        version.size.min(16) as usize,
        "debian-binary",
    )?;
    if !said.starts_with(b"2.") {
        return Err(Error::unsupported(
            source.name(),
            format!(
                "package format {:?} (only 2.x)",
                String::from_utf8_lossy(&said).trim()
            ),
        ));
    }
    let control = find(b"control.tar").ok_or_else(|| missing("control.tar"))?;
    let data = find(b"data.tar").ok_or_else(|| missing("data.tar"))?;
    let part = |m: &ar::Member, prefix: Vec<Vec<u8>>| PartSpec {
        source: Arc::new(RangeSource::new(
            source.clone(),
            m.data_at,
            m.size,
            format!("{}: {}", source.name(), String::from_utf8_lossy(&m.name)),
        )),
        prefix,
    };
    let parts = vec![
        part(data, Vec::new()),
        part(control, vec![b"DEBIAN".to_vec()]),
    ];
    let mut info = vec![
        (
            "Package format".to_string(),
            String::from_utf8_lossy(&said).trim().to_string(),
        ),
        (
            "Control archive".into(),
            String::from_utf8_lossy(&control.name).into(),
        ),
        (
            "Data archive".into(),
            String::from_utf8_lossy(&data.name).into(),
        ),
    ];
    let fs = TarFs::from_parts(source.clone(), parts, "deb", Vec::new(), options)?;
    info.extend(control_fields(&fs)?);
    Ok(fs.with_info(info))
}

/// The fields of `/DEBIAN/control`, if the package has one.
fn control_fields(fs: &TarFs) -> Result<Vec<(String, String)>> {
    let Some(dir) = fs.lookup(fs.root(), b"DEBIAN")? else {
        return Ok(Vec::new());
    };
    let Some(file) = fs.lookup(dir.ino, b"control")? else {
        return Ok(Vec::new());
    };
    let mut text = vec![0u8; file.meta.size.min(MAX_CONTROL) as usize];
    let n = fs.read_at(file.ino, 0, &mut text)?;
    text.truncate(n);
    Ok(control::fields(&text))
}
