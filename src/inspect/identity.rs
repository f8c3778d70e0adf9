//! What the disc says it is, in the files distributions put there for that: `.disk/info`
//! (Debian, Ubuntu), `.treeinfo` and `.discinfo` (Fedora, RHEL and their kin), `arch/version`
//! (Arch Linux), Windows' files (read by [`super::windows`]), and `/etc/os-release` (in a
//! live root, read by [`super::live_root`]). Each file is read with a small bound and only
//! its first lines are looked at.

use super::tree::{clean, Tree};

/// The most read of one identity file.
pub const LIMIT: usize = 64 * 1024;

/// The longest text shown from one of them.
const SHOWN: usize = 160;

/// One thing the disc says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    /// What the file says: `Disc`, `Release`, `Windows`...
    pub label: &'static str,
    pub text: String,
    /// The file that says it, as `inspect` shows paths.
    pub from: String,
}

/// The disc's identity, and the architectures its identity files name.
#[derive(Clone, Debug, Default)]
pub struct Identity {
    pub facts: Vec<Fact>,
    /// Architectures as the files name them (`amd64`, `x86_64`), in the order found.
    pub arches: Vec<(String, String)>,
    /// The initrds `.treeinfo` names (`images/pxeboot/initrd.img`).
    pub treeinfo_initrds: Vec<String>,
    /// The installer image `.treeinfo` names (`images/install.img`).
    pub treeinfo_images: Vec<String>,
}

impl Identity {
    /// Adds what `path` of `tree` says, shown as `label`.
    pub(super) fn fact(&mut self, tree: &Tree, path: &str, label: &'static str, text: &str) {
        let text = clean(text, SHOWN);
        if !text.is_empty() {
            self.facts.push(Fact {
                label,
                text,
                from: tree.show(path),
            });
        }
    }

    /// Adds the architecture `path` of `tree` names.
    pub(super) fn arch(&mut self, tree: &Tree, path: &str, arch: &str) {
        let arch = clean(arch, 32);
        if !arch.is_empty() {
            self.arches.push((arch, tree.show(path)));
        }
    }
}

/// Reads the identity files of the ISO tree.
pub fn read(tree: &Tree) -> Identity {
    let mut id = Identity::default();
    let first_line = |path: &str| {
        let text = tree.read(path, LIMIT)?.text();
        Some(text.lines().next().unwrap_or_default().to_string())
    };
    if let Some(line) = first_line("/.disk/info") {
        id.fact(tree, "/.disk/info", "Disc", &line);
        if let Some(arch) = disk_info_arch(&line) {
            id.arch(tree, "/.disk/info", arch);
        }
    }
    if let Some(text) = tree.read("/.treeinfo", LIMIT).map(|b| b.text()) {
        treeinfo(tree, &text, &mut id);
    }
    if let Some(text) = tree.read("/.discinfo", LIMIT).map(|b| b.text()) {
        // Lines: a timestamp, the release, the architecture, the disc numbers.
        let lines: Vec<&str> = text.lines().collect();
        if let Some(release) = lines.get(1) {
            id.fact(tree, "/.discinfo", "Release", release);
        }
        if let Some(arch) = lines.get(2) {
            id.arch(tree, "/.discinfo", arch);
        }
    }
    if let Some(version) = first_line("/arch/version") {
        id.fact(tree, "/arch/version", "Arch Linux", &version);
    }
    super::windows::read(tree, &mut id);
    id
}

/// The architecture word of a `.disk/info` line: `Ubuntu 24.04 LTS "Noble Numbat" - Release
/// amd64 (20240424)`.
fn disk_info_arch(line: &str) -> Option<&str> {
    const KNOWN: &[&str] = &[
        "amd64", "i386", "arm64", "armhf", "armel", "ppc64el", "s390x", "riscv64", "mips64el",
    ];
    line.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric()))
        .find(|w| KNOWN.contains(w))
}

/// `.treeinfo`: the release name and version, the architecture, and the images it lists for
/// the installer.
fn treeinfo(tree: &Tree, text: &str, id: &mut Identity) {
    // Version 1.x files have [release]; older ones say it all in [general].
    let get = |section: &str, key: &str| ini_value(text, section, key);
    let name = get("release", "name").or_else(|| get("general", "family"));
    let version = get("release", "version").or_else(|| get("general", "version"));
    if let Some(name) = name {
        let release = match version {
            Some(v) => format!("{name} {v}"),
            None => name,
        };
        id.fact(tree, "/.treeinfo", "Release", &release);
    }
    if let Some(arch) = get("tree", "arch").or_else(|| get("general", "arch")) {
        id.arch(tree, "/.treeinfo", &arch);
    }
    for (section, key, value) in ini_entries(text) {
        let list = match (section.as_str(), key.as_str()) {
            (s, "initrd") if s.starts_with("images-") => &mut id.treeinfo_initrds,
            ("stage2", "mainimage") => &mut id.treeinfo_images,
            _ => continue,
        };
        if !list.contains(&value) {
            list.push(value);
        }
    }
}

/// Every `key = value` of an INI text with its section (lower-cased section and key).
pub fn ini_entries(text: &str) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_ascii_lowercase();
        } else if let Some((key, value)) = line.split_once('=') {
            out.push((
                section.clone(),
                key.trim().to_ascii_lowercase(),
                value.trim().to_string(),
            ));
        }
    }
    out
}

/// The value of `key` in `section` of an INI text (names compared without regard to case).
pub fn ini_value(text: &str, section: &str, key: &str) -> Option<String> {
    let (section, key) = (section.to_ascii_lowercase(), key.to_ascii_lowercase());
    ini_entries(text)
        .into_iter()
        .find(|(s, k, _)| *s == section && *k == key)
        .map(|(_, _, v)| v)
}

/// The fields of an `os-release` file: `NAME="Ubuntu"` lines, quotes removed.
pub fn os_release(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.trim().split_once('='))
        .filter(|(k, _)| !k.starts_with('#'))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            (k.trim().to_string(), v.replace("\\\"", "\""))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_info_names_the_architecture() {
        let line = "Ubuntu 24.04 LTS \"Noble Numbat\" - Release amd64 (20240424)";
        assert_eq!(disk_info_arch(line), Some("amd64"));
        assert_eq!(disk_info_arch("Something else"), None);
    }

    #[test]
    fn ini_sections_and_keys() {
        let text = "[general]\nfamily = Fedora\n[Release]\nName=Fedora\nversion = 40\n";
        assert_eq!(
            ini_value(text, "release", "name").as_deref(),
            Some("Fedora")
        );
        assert_eq!(ini_value(text, "general", "version"), None);
    }

    #[test]
    fn os_release_fields() {
        let f = os_release("NAME=\"Debian GNU/Linux\"\nVERSION_ID='12'\n# x=y\nID=debian\n");
        assert_eq!(
            f,
            [
                ("NAME".into(), "Debian GNU/Linux".into()),
                ("VERSION_ID".into(), "12".into()),
                ("ID".into(), "debian".into())
            ]
        );
    }
}
