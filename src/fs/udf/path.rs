//! Symbolic link targets (ECMA-167 4/14.16, UDF 2.3.12): a sequence of path components
//! (root, parent, current, or a CS0 name), turned into a `/`-separated path.

use super::cs0;

/// Decodes the path components in `data`; `None` when they are malformed.
pub fn decode(data: &[u8]) -> Option<Vec<u8>> {
    let mut parts: Vec<String> = Vec::new();
    let mut absolute = false;
    let mut pos = 0;
    while pos < data.len() {
        let kind = data[pos];
        let len = usize::from(*data.get(pos + 1)?);
        let ident = data.get(pos + 4..pos + 4 + len)?;
        match kind {
            1 | 2 => {
                absolute = true;
                parts.clear();
            }
            3 => parts.push("..".into()),
            4 => parts.push(".".into()),
            5 => parts.push(cs0::decode(ident)?),
            _ => return None,
        }
        pos += 4 + len;
    }
    let joined = parts.join("/");
    Some(
        if absolute {
            format!("/{joined}")
        } else {
            joined
        }
        .into_bytes(),
    )
}
