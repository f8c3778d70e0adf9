//! Symbolic link targets (ECMA-167 4/14.16, UDF 2.3.12): a sequence of path components
//! (root, parent, current, or a CS0 name), turned into a `/`-separated path and back.

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

/// The path components of the `/`-separated `target`; `None` when a component is over the
/// 255 bytes of CS0 a component may hold.
pub fn encode(target: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(target);
    let mut out = Vec::new();
    if text.starts_with('/') {
        out.extend([2, 0, 0, 0]);
    }
    for part in text.split('/').filter(|p| !p.is_empty()) {
        match part {
            ".." => out.extend([3, 0, 0, 0]),
            "." => out.extend([4, 0, 0, 0]),
            name => {
                let ident = cs0::encode(name);
                out.extend([5, u8::try_from(ident.len()).ok()?, 0, 0]);
                out.extend(ident);
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        for p in [
            &b"/docs/deep/er/leaf.txt"[..],
            b"../data/n\xc3\xa9.txt",
            b"./x",
            b"hello.txt",
        ] {
            let p = String::from_utf8_lossy(p).into_owned();
            assert_eq!(
                decode(&encode(p.as_bytes()).unwrap()).unwrap(),
                p.as_bytes()
            );
        }
    }
}
