//! What a Windows install disc says it is: `sources/idwbinfo.txt` (the build, its branch and
//! architecture, an INI file) and the version resource of `setup.exe`, found by its
//! `VS_FIXEDFILEINFO` signature in the first [`SETUP_LIMIT`] bytes (the resource section of a
//! small program lies there) rather than by walking the PE resource tree.

use super::identity::{ini_value, Identity, LIMIT};
use super::tree::Tree;

/// The most of `setup.exe` searched for its version.
pub const SETUP_LIMIT: usize = 4 << 20;

/// `VS_FIXEDFILEINFO`'s signature, 0xFEEF04BD little-endian.
const SIGNATURE: [u8; 4] = [0xbd, 0x04, 0xef, 0xfe];

/// Adds the Windows facts of `tree` to `id`.
pub fn read(tree: &Tree, id: &mut Identity) {
    const INFO: &str = "/sources/idwbinfo.txt";
    if let Some(text) = tree.read(INFO, LIMIT).map(|b| b.text()) {
        let get = |key: &str| ini_value(&text, "BUILDINFO", key);
        let title = get("BuildTitle").or_else(|| get("BuildBranch"));
        id.fact(
            tree,
            INFO,
            "Windows",
            &format!("build {}", title.unwrap_or_default()),
        );
        if let Some(arch) = get("BuildArch") {
            id.arch(tree, INFO, &arch);
        }
    }
    const SETUP: &str = "/setup.exe";
    let version = tree
        .read(SETUP, SETUP_LIMIT)
        .filter(|b| b.bytes.starts_with(b"MZ"))
        .and_then(|b| file_version(&b.bytes));
    if let Some(v) = version {
        id.fact(tree, SETUP, "Windows setup", &format!("version {v}"));
    }
}

/// The file version of the first `VS_FIXEDFILEINFO` in `bytes`: `10.0.26100.1`.
fn file_version(bytes: &[u8]) -> Option<String> {
    let at = bytes.windows(4).position(|w| w == SIGNATURE)?;
    // Signature, structure version, then the file version's high and low words.
    let word = |i: usize| {
        let b = bytes.get(at + 4 * i..at + 4 * i + 4)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    };
    let (ms, ls) = (word(2)?, word(3)?);
    Some(format!(
        "{}.{}.{}.{}",
        ms >> 16,
        ms & 0xffff,
        ls >> 16,
        ls & 0xffff
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_file_info_version() {
        let mut exe = b"MZ padding".to_vec();
        exe.extend(SIGNATURE);
        for w in [0x0001_0000u32, (10 << 16), (26100 << 16) | 1] {
            exe.extend(w.to_le_bytes());
        }
        assert_eq!(file_version(&exe).as_deref(), Some("10.0.26100.1"));
        assert_eq!(file_version(&exe[..exe.len() - 1]), None);
    }
}
