//! The ar archive a .deb is: the global magic `!<arch>\n`, then members each behind a 60-byte
//! header (name, mtime, uid, gid, mode in ASCII, the size in decimal, and the two bytes
//! `` `\n ``), their data padded to an even offset.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::source::Source;

/// The archive's magic.
pub const MAGIC: &[u8; 8] = b"!<arch>\n";
/// A member header's size.
const HEADER: u64 = 60;
/// Members read at most (a .deb has three, maybe a signature or two).
const MAX_MEMBERS: usize = 64;

/// One member: its name and where its data lies.
#[derive(Clone, Debug)]
pub struct Member {
    pub name: Vec<u8>,
    pub header_at: u64,
    pub data_at: u64,
    pub size: u64,
}

/// The members of the ar archive in `src`, in order.
pub fn members(src: &Arc<dyn Source>) -> Result<Vec<Member>> {
    let corrupt =
        |at: u64, detail: String| Error::corrupt(src.name(), "ar member header", at, detail);
    let mut magic = [0u8; 8];
    if src.read_at(0, &mut magic)? < 8 || &magic != MAGIC {
        return Err(Error::corrupt(
            src.name(),
            "ar archive",
            0,
            "no !<arch> magic",
        ));
    }
    let mut out = Vec::new();
    let mut at = MAGIC.len() as u64;
    while at < src.len() {
        let mut h = [0u8; HEADER as usize];
        let n = src.read_at(at, &mut h)?;
        if n == 0 {
            break;
        }
        if n < h.len() || &h[58..60] != b"`\n" {
            return Err(corrupt(
                at,
                "not a member header (no `\\n terminator; truncated?)".into(),
            ));
        }
        if out.len() == MAX_MEMBERS {
            return Err(corrupt(at, format!("more than {MAX_MEMBERS} members")));
        }
        let size = std::str::from_utf8(&h[48..58])
            .ok()
            .and_then(|s| s.trim_end().parse::<u64>().ok())
            .ok_or_else(|| corrupt(at, "its size field is not a decimal number".into()))?;
        let data_at = at + HEADER;
        let end = data_at
            .checked_add(size)
            .filter(|end| *end <= src.len())
            .ok_or_else(|| {
                corrupt(
                    at,
                    format!(
                        "its member claims {size} bytes, but the archive ends at {}",
                        src.len()
                    ),
                )
            })?;
        let mut name = h[..16].to_vec();
        while name.last().is_some_and(|c| *c == b' ') {
            name.pop();
        }
        if name.len() > 1 && name.ends_with(b"/") {
            name.pop();
        }
        out.push(Member {
            name,
            header_at: at,
            data_at,
            size,
        });
        at = end + end % 2;
    }
    Ok(out)
}
