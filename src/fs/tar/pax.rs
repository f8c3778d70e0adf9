//! pax extended headers (POSIX.1-2001): records `LENGTH KEY=VALUE\n` in the data of an `x`
//! member (for the next member) or a `g` member (for all that follow), overriding the header's
//! path, linkpath, size, mtime, atime, uid, gid, uname and gname, with extended attributes
//! (`SCHILY.xattr.*`); and GNU tar's sparse keys
//! (`GNU.sparse.*`): format 0.0 (`offset`/`numbytes` records), 0.1 (`map`), and 1.0, whose map
//! is decimal text at the start of the member's data.

use super::gnu::Extent;
use super::header::BLOCK;

/// What an extended header says; `None` where it says nothing.
#[derive(Clone, Debug, Default)]
pub struct Pax {
    pub path: Option<Vec<u8>>,
    pub linkpath: Option<Vec<u8>>,
    pub size: Option<u64>,
    pub mtime: Option<(i64, u32)>,
    pub atime: Option<(i64, u32)>,
    pub uid: Option<u64>,
    pub gid: Option<u64>,
    pub uname: Option<Vec<u8>>,
    pub gname: Option<Vec<u8>>,
    /// GNU sparse: the map (0.0, 0.1), the real size and name, and the major version (1: the
    /// map is in the data).
    pub sparse_map: Option<Vec<Extent>>,
    pub sparse_size: Option<u64>,
    pub sparse_name: Option<Vec<u8>>,
    pub sparse_major: Option<u64>,
    /// Extended attributes (`SCHILY.xattr.NAME`), as (name, value).
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

fn decimal(v: &[u8]) -> Result<u64, String> {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{:?} is not a number", String::from_utf8_lossy(v)))
}

/// A time: decimal seconds, maybe negative, maybe with a fraction; as seconds and the
/// nanoseconds after them (-1.25 is a quarter second before -1: (-2, 750000000)).
pub fn time(v: &[u8]) -> Result<(i64, u32), String> {
    let s = std::str::from_utf8(v).map_err(|_| "a time that is not text".to_string())?;
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut secs: i64 = secs
        .parse()
        .map_err(|_| format!("time {s:?} is not a number"))?;
    let digits: String = frac.chars().take(9).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("time {s:?} is not a number"));
    }
    let mut nanos = format!("{digits:0<9}").parse().unwrap_or(0);
    if s.starts_with('-') && nanos > 0 {
        secs = secs
            .checked_sub(1)
            .ok_or_else(|| format!("time {s:?} is out of range"))?;
        nanos = 1_000_000_000 - nanos;
    }
    Ok((secs, nanos))
}

/// The comma-separated numbers of `GNU.sparse.map`, in pairs.
fn map(v: &[u8]) -> Result<Vec<Extent>, String> {
    let numbers = v
        .split(|c| *c == b',')
        .map(decimal)
        .collect::<Result<Vec<u64>, String>>()?;
    if numbers.len() % 2 != 0 {
        return Err("GNU.sparse.map holds an odd count of numbers".into());
    }
    Ok(numbers.chunks(2).map(|p| (p[0], p[1])).collect())
}

impl Pax {
    /// Reads the records of `data` over what `self` says already. `Err` names the record.
    pub fn read(&mut self, data: &[u8]) -> Result<(), String> {
        let mut rest = data;
        let mut pending_offset = None;
        while !rest.is_empty() {
            let at = data.len() - rest.len();
            let space = rest
                .iter()
                .position(|c| *c == b' ')
                .filter(|n| *n > 0 && *n <= 20)
                .ok_or_else(|| format!("the record at byte {at} has no length"))?;
            let len = decimal(&rest[..space])? as usize;
            if len <= space + 1 || len > rest.len() || rest[len - 1] != b'\n' {
                return Err(format!(
                    "the record at byte {at} claims {len} bytes, which do not end in a newline"
                ));
            }
            let record = &rest[space + 1..len - 1];
            rest = &rest[len..];
            let eq = record
                .iter()
                .position(|c| *c == b'=')
                .ok_or_else(|| format!("the record at byte {at} has no `=`"))?;
            let (key, value) = (&record[..eq], &record[eq + 1..]);
            let bad = |e: String| format!("record {}: {e}", String::from_utf8_lossy(key));
            match key {
                b"path" => self.path = Some(value.to_vec()),
                b"linkpath" => self.linkpath = Some(value.to_vec()),
                b"size" => self.size = Some(decimal(value).map_err(bad)?),
                b"mtime" => self.mtime = Some(time(value).map_err(bad)?),
                b"atime" => self.atime = Some(time(value).map_err(bad)?),
                b"uid" => self.uid = Some(decimal(value).map_err(bad)?),
                b"gid" => self.gid = Some(decimal(value).map_err(bad)?),
                b"uname" => self.uname = Some(value.to_vec()),
                b"gname" => self.gname = Some(value.to_vec()),
                b"GNU.sparse.major" => self.sparse_major = Some(decimal(value).map_err(bad)?),
                b"GNU.sparse.name" => self.sparse_name = Some(value.to_vec()),
                b"GNU.sparse.size" | b"GNU.sparse.realsize" => {
                    self.sparse_size = Some(decimal(value).map_err(bad)?)
                }
                b"GNU.sparse.map" => self.sparse_map = Some(map(value).map_err(bad)?),
                b"GNU.sparse.offset" => pending_offset = Some(decimal(value).map_err(bad)?),
                b"GNU.sparse.numbytes" => {
                    let offset = pending_offset
                        .take()
                        .ok_or_else(|| bad("no GNU.sparse.offset before it".into()))?;
                    let n = decimal(value).map_err(bad)?;
                    self.sparse_map
                        .get_or_insert_with(Vec::new)
                        .push((offset, n));
                }
                _ => {
                    if let Some(name) = key.strip_prefix(b"SCHILY.xattr.") {
                        self.xattrs.push((name.to_vec(), value.to_vec()));
                    }
                }
            }
        }
        Ok(())
    }

    /// What a global header (`g`) says that applies to the members after it: owners and
    /// times, not names or sizes.
    pub fn global(&self) -> Pax {
        Pax {
            mtime: self.mtime,
            atime: self.atime,
            uid: self.uid,
            gid: self.gid,
            uname: self.uname.clone(),
            gname: self.gname.clone(),
            ..Pax::default()
        }
    }

    /// `self` with what `local` says over it.
    pub fn under(&self, local: Pax) -> Pax {
        Pax {
            path: local.path,
            linkpath: local.linkpath,
            size: local.size,
            mtime: local.mtime.or(self.mtime),
            atime: local.atime.or(self.atime),
            uid: local.uid.or(self.uid),
            gid: local.gid.or(self.gid),
            uname: local.uname.or_else(|| self.uname.clone()),
            gname: local.gname.or_else(|| self.gname.clone()),
            ..local
        }
    }

    /// Whether this is a GNU sparse member.
    pub fn sparse(&self) -> bool {
        self.sparse_major.is_some() || self.sparse_map.is_some()
    }
}

/// The sparse map at the start of a format 1.0 member's data: a count, then that many
/// (offset, length) pairs, each number a decimal line; padded to a block. Reads lines from
/// `text` (which holds at least the map, at most `limit` bytes); gives the map and the bytes it
/// takes with its padding.
pub fn map_in_data(text: &[u8]) -> Result<(Vec<Extent>, u64), String> {
    let mut lines = text.split(|c| *c == b'\n');
    let mut used = 0usize;
    let mut next = || -> Result<u64, String> {
        let line = lines
            .next()
            .filter(|_| used < text.len())
            .ok_or("the sparse map ends early")?;
        used += line.len() + 1;
        if used > text.len() {
            return Err("the sparse map ends early".into());
        }
        decimal(line)
    };
    let count = next()?;
    // Each pair takes at least 4 bytes of text: no more can be there.
    if count > text.len() as u64 / 4 {
        return Err(format!("the sparse map claims {count} pairs"));
    }
    let mut map = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let offset = next()?;
        let len = next()?;
        map.push((offset, len));
    }
    Ok((map, (used as u64).div_ceil(BLOCK) * BLOCK))
}
