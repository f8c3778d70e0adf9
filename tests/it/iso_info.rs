//! `info` of an ISO 9660 volume says what `isoinfo -d` and `xorriso -pvd_info` say: the
//! identifiers, sizes, dates and which extensions are present.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{fixture, tool};
use crate::iso_oracle::open;

pub(crate) const FIXTURES: &[&str] = &[
    "sample.iso",
    "level1.iso",
    "level2-joliet.iso",
    "level3-rr.iso",
    "level4.iso",
    "rr112.iso",
    "zisofs.iso",
    "multisession.iso",
    "partition-offset.iso",
];

fn info(img: &Path) -> BTreeMap<String, String> {
    open(img, "")
        .unwrap_or_else(|e| panic!("{e}"))
        .info()
        .into_iter()
        .collect()
}

/// `isoinfo -d` as label/value pairs (`Volume set size is: 1` → `Volume set size`), plus its
/// free-standing extension lines.
fn isoinfo_d(img: &Path) -> (BTreeMap<String, String>, Vec<String>) {
    let out = tool("isoinfo", &["-d", "-i", img.to_str().expect("utf-8")], None);
    let mut fields = BTreeMap::new();
    let mut lines = Vec::new();
    for line in String::from_utf8_lossy(&out).lines() {
        match line.split_once(": ") {
            Some((k, v)) => {
                let k = k.trim_end_matches(" is").to_string();
                fields.insert(k, v.trim_end().to_string());
            }
            None => match line.strip_suffix(':') {
                Some(k) => {
                    fields.insert(k.trim_end_matches(" is").to_string(), String::new());
                }
                None => lines.push(line.to_string()),
            },
        }
    }
    (fields, lines)
}

#[test]
fn identifiers_and_sizes_match_isoinfo() {
    for name in FIXTURES {
        let img = fixture(name);
        let ours = info(&img);
        let (theirs, _) = isoinfo_d(&img);
        for key in [
            "System id",
            "Volume id",
            "Volume set id",
            "Publisher id",
            "Data preparer id",
            "Application id",
            "Copyright File id",
            "Abstract File id",
            "Bibliographic File id",
            "Volume set size",
            "Volume set sequence number",
            "Logical block size",
            "Volume size",
        ] {
            let t = theirs
                .get(key)
                .unwrap_or_else(|| panic!("{name}: isoinfo has no {key:?}"));
            assert_eq!(ours.get(key), Some(t), "{name}: {key}");
        }
        assert_eq!(
            open(&img, "").expect("opens").label().as_deref(),
            theirs.get("Volume id").map(|s| s.trim()),
            "{name}: label"
        );
    }
}

#[test]
fn extensions_match_isoinfo() {
    for name in FIXTURES {
        let img = fixture(name);
        let ours = info(&img);
        let (_, lines) = isoinfo_d(&img);
        let joliet = lines
            .iter()
            .find_map(|l| l.strip_prefix("Joliet with UCS level "))
            .and_then(|l| l.split_whitespace().next());
        assert_eq!(
            ours.get("Joliet").map(String::as_str),
            joliet.map(|level| format!("level {level}")).as_deref(),
            "{name}: Joliet"
        );
        let rock = lines.iter().any(|l| l.starts_with("Rock Ridge signatures"));
        assert_eq!(ours.contains_key("Rock Ridge"), rock, "{name}: Rock Ridge");
        let iso1999 = lines.iter().any(|l| l.contains("ISO 9660:1999"));
        assert_eq!(ours.contains_key("ISO 9660:1999"), iso1999, "{name}: 1999");
    }
}

#[test]
fn rock_ridge_version_follows_the_er_entry() {
    // xorriso -compliance new_rr writes RRIP 1.12 (ER IEEE_1282), its default and genisoimage
    // RRIP 1.10 (ER RRIP_1991A). No tool prints the ER entry, so the identifier is checked to
    // be in the image's bytes.
    for (name, id) in [
        ("rr112.iso", "IEEE_1282"),
        ("sample.iso", "RRIP_1991A"),
        ("level3-rr.iso", "RRIP_1991A"),
    ] {
        let bytes = std::fs::read(fixture(name)).expect("fixture");
        assert!(bytes.windows(id.len()).any(|w| w == id.as_bytes()));
        let rr = &info(&fixture(name))["Rock Ridge"];
        assert!(rr.contains(id), "{name}: {rr}");
    }
}

#[test]
fn dates_match_xorriso_pvd_info() {
    for name in FIXTURES {
        let img = fixture(name);
        let ours = info(&img);
        let out = tool(
            "xorriso",
            &[
                "-no_rc",
                "-indev",
                img.to_str().expect("utf-8"),
                "-pvd_info",
            ],
            None,
        );
        for line in String::from_utf8_lossy(&out).lines() {
            let Some((k, v)) = line.split_once(": ") else {
                continue;
            };
            let key = match k.trim() {
                "Creation Time" => "Creation date",
                "Modif. Time" => "Modification date",
                "Expir. Time" => "Expiration date",
                "Eff. Time" => "Effective date",
                _ => continue,
            };
            let d = v.trim();
            let expected = if d.bytes().all(|b| b == b'0') {
                "not set".to_string()
            } else {
                format!(
                    "{}-{}-{} {}:{}:{}.{}",
                    &d[0..4],
                    &d[4..6],
                    &d[6..8],
                    &d[8..10],
                    &d[10..12],
                    &d[12..14],
                    &d[14..16]
                )
            };
            assert!(
                ours[key].starts_with(&expected),
                "{name}: {key}: {} vs xorriso {expected}",
                ours[key]
            );
        }
    }
}

#[test]
fn zisofs_is_reported() {
    assert!(info(&fixture("zisofs.iso"))["zisofs"].starts_with("ZF entries"));
    assert!(info(&fixture("sample.iso"))["zisofs"].starts_with("no ZF"));
}

#[test]
fn joliet_levels_1_and_2_follow_the_escape_sequence() {
    // The tools write UCS level 3 (%/E); levels 1 (%/@) and 2 (%/C) are made by changing the
    // escape sequence of level2-joliet.iso's supplementary descriptor, and held against
    // isoinfo -d.
    let bytes = std::fs::read(fixture("level2-joliet.iso")).expect("fixture");
    let svd = (16..32)
        .map(|i| i * 2048)
        .find(|&o| bytes[o] == 2 && &bytes[o + 1..o + 6] == b"CD001")
        .expect("a supplementary descriptor");
    for (escape, level) in [(b'@', "1"), (b'C', "2"), (b'E', "3")] {
        let mut img = bytes.clone();
        assert_eq!(&img[svd + 88..svd + 90], b"%/");
        img[svd + 90] = escape;
        let dir = crate::common::scratch();
        let path = dir.path().join("joliet.iso");
        std::fs::write(&path, &img).expect("write");
        let (_, lines) = isoinfo_d(&path);
        assert!(
            lines
                .iter()
                .any(|l| l == &format!("Joliet with UCS level {level} found")),
            "{lines:?}"
        );
        assert_eq!(info(&path)["Joliet"], format!("level {level}"));
    }
}
