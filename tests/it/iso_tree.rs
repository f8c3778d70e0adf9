//! The ISO 9660 reader shows the same trees as xorriso, bsdtar and isoinfo on images those
//! tools' siblings (xorriso, genisoimage; tests/fixtures/make.sh) made: names, types, sizes,
//! modes, owners, times, link counts, symlink targets, device numbers and every file's bytes.

use crate::common::fixture;
use crate::iso_oracle::{
    assert_same, bsdtar_listing, bsdtar_tree, isoinfo_names, open, ours, project, xorriso_extract,
    Item, Tree,
};

/// The fields bsdtar's extraction and listing can vouch for. Directory sizes and link counts
/// are the host's after extraction, so they are left out; device nodes come from the listing
/// only (kind, numbers, mode, owner).
fn bsdtar_view(_: &str, i: &Item) -> Item {
    match i.kind {
        Some('c' | 'b') => Item {
            kind: i.kind,
            rdev: i.rdev.map(pn_words_as_linux_reads_them),
            mode: i.mode,
            uid: i.uid,
            gid: i.gid,
            ..Item::default()
        },
        Some('d') => Item {
            size: None,
            nlink: None,
            ..i.clone()
        },
        Some('f') => i.clone(),
        _ => Item {
            nlink: None,
            ..i.clone()
        },
    }
}

/// bsdtar (like xorriso) joins the two PN words into one 64-bit dev_t (high << 32 | low) and
/// splits that the glibc way. Linux instead takes the words as major and minor unless the high
/// one is 0 (then the low word is a whole dev_t). genisoimage writes major and minor, xorriso a
/// dev_t in the low word, so only Linux's reading gives the original numbers for both. This
/// recovers the recorded words from bsdtar's numbers and reads them as Linux does.
fn pn_words_as_linux_reads_them((major, minor): (u32, u32)) -> (u32, u32) {
    let (major, minor) = (u64::from(major), u64::from(minor));
    let dev = ((major & 0xfffff000) << 32)
        | ((major & 0xfff) << 8)
        | ((minor & 0xffffff00) << 12)
        | (minor & 0xff);
    let (high, low) = ((dev >> 32) as u32, dev as u32);
    if high == 0 {
        ((low >> 8) & 0xfff, (low & 0xff) | ((low >> 12) & 0xfff00))
    } else {
        (high, low)
    }
}

/// The fields xorriso's extraction restores: it does not chown or date symlinks, does not
/// keep hard links, and has no directory sizes.
fn xorriso_view(_: &str, i: &Item) -> Item {
    let base = Item {
        kind: i.kind,
        target: i.target.clone(),
        md5: i.md5.clone(),
        ..Item::default()
    };
    match i.kind {
        Some('l') => base,
        Some('d') => Item {
            mode: i.mode,
            mtime: i.mtime,
            ..base
        },
        _ => Item {
            mode: i.mode,
            mtime: i.mtime,
            size: i.size,
            ..base
        },
    }
}

/// Compares a Rock Ridge image with bsdtar (everything) and xorriso (what it extracts).
fn check_rock_ridge(name: &str) {
    let img = fixture(name);
    let ours = ours(&img, "");
    // bsdtar drops the `/` between two components of a symlink target split over two SL
    // entries (`segment-segment-`); xorriso reads them right and checks the targets below.
    let no_long_target = |k: &str, i: &Item| match k {
        "links/long-target" => Item {
            target: None,
            size: None,
            ..bsdtar_view(k, i)
        },
        _ => bsdtar_view(k, i),
    };
    assert_same(
        &format!("{name} vs bsdtar"),
        &project(&ours, no_long_target),
        &project(&bsdtar_tree(&img), no_long_target),
    );
    // xorriso shows the `rr_moved` directory genisoimage relocates deep directories into (as
    // an empty directory: its entries carry RE); bsdtar hides it and so do we (nothing in it
    // is lost: the directories appear at their real place). xorriso does not extract device
    // nodes.
    let mut theirs = xorriso_extract(&img);
    theirs.remove("rr_moved");
    let ours: Tree = ours
        .into_iter()
        .filter(|(_, i)| !matches!(i.kind, Some('c' | 'b')))
        .collect();
    assert_same(
        &format!("{name} vs xorriso"),
        &project(&ours, xorriso_view),
        &project(&theirs, xorriso_view),
    );
}

#[test]
fn sample_matches_bsdtar_and_xorriso() {
    check_rock_ridge("sample.iso");
}

#[test]
fn genisoimage_rock_ridge_with_relocated_deep_tree_matches() {
    check_rock_ridge("level3-rr.iso");
}

#[test]
fn genisoimage_rationalised_rock_ridge_matches() {
    check_rock_ridge("rational-rr.iso");
}

#[test]
fn xorriso_rrip_1_12_matches() {
    check_rock_ridge("rr112.iso");
}

#[test]
fn zisofs_files_read_back_decompressed() {
    check_rock_ridge("zisofs.iso");
    // The size is the uncompressed one and no extents are offered for compressed files.
    let img = fixture("zisofs.iso");
    let fs = open(&img, "").expect("opens");
    let entry = fs
        .lookup(fs.root(), b"zeros.bin")
        .expect("lookup")
        .expect("zeros.bin exists");
    assert!(fs.spans(entry.ino).expect("extents").is_none());
}

#[test]
fn multisession_image_shows_the_newest_session() {
    check_rock_ridge("multisession.iso");
    let fs = open(&fixture("multisession.iso"), "").expect("opens");
    assert_eq!(fs.label().as_deref(), Some("SESSION2"));
}

#[test]
fn partition_offset_image_matches() {
    check_rock_ridge("partition-offset.iso");
}

/// Maps `isoinfo -f` plain names the way the reader shows them: `;1` versions and the dot of
/// names without extension dropped.
fn plain(names: Vec<String>) -> Vec<String> {
    names
        .into_iter()
        .map(|n| {
            let n = match n.rsplit_once(';') {
                Some((base, v)) if v.bytes().all(|b| b.is_ascii_digit()) => base.to_string(),
                _ => n,
            };
            n.strip_suffix('.').map(str::to_string).unwrap_or(n)
        })
        .collect()
}

fn names(tree: &Tree) -> Vec<String> {
    tree.keys().cloned().collect()
}

/// Names against isoinfo; kinds, sizes, times and bytes against bsdtar (which picks the same
/// tree: Joliet when there is no Rock Ridge).
fn check_names_and_data(name: &str, options: &str, isoinfo_flags: &[&str], strip: bool) {
    let img = fixture(name);
    let ours = ours(&img, options);
    // isoinfo cannot print non-ASCII Joliet names (it has no UTF-8 output charset): those are
    // compared with bsdtar below.
    let ascii =
        |v: Vec<String>| -> Vec<String> { v.into_iter().filter(|n| n.is_ascii()).collect() };
    let mut expected = ascii(isoinfo_names(&img, isoinfo_flags));
    if strip {
        expected = plain(expected);
    }
    expected.sort();
    assert_eq!(
        ascii(names(&ours)),
        expected,
        "{name} ({options}): names vs isoinfo"
    );
    let data = |_: &str, i: &Item| Item {
        kind: i.kind,
        md5: i.md5.clone(),
        mtime: i.mtime,
        size: if i.kind == Some('f') { i.size } else { None },
        ..Item::default()
    };
    if options.is_empty() {
        assert_same(
            &format!("{name} vs bsdtar"),
            &project(&ours, data),
            &project(&bsdtar_tree(&img), data),
        );
        // xorriso also reads Joliet when there is no Rock Ridge, and gives the modes (0555)
        // Linux gives. It maps non-ASCII plain ISO names to `_` plus an md5 (bsdtar and
        // isoinfo keep their bytes, as isofish does), so those are left out here.
        let with_mode = |k: &str, i: &Item| Item {
            mode: i.mode,
            ..data(k, i)
        };
        let mangled =
            |k: &str| k.len() > 32 && k[k.len() - 32..].bytes().all(|b| b.is_ascii_hexdigit());
        let ascii_only = |t: Tree| -> Tree {
            t.into_iter()
                .filter(|(k, _)| k.is_ascii() && !mangled(k))
                .collect()
        };
        assert_same(
            &format!("{name} vs xorriso"),
            &ascii_only(project(&ours, with_mode)),
            &ascii_only(project(&xorriso_extract(&img), with_mode)),
        );
    }
}

#[test]
fn level1_plain_names_match_isoinfo() {
    check_names_and_data("level1.iso", "", &[], true);
    // The hidden file is listed.
    assert!(ours(&fixture("level1.iso"), "").contains_key("HIDDEN.TXT"));
}

#[test]
fn iso_9660_1999_level4_names_match() {
    check_names_and_data("level4.iso", "", &[], false);
}

#[test]
fn joliet_names_match_isoinfo() {
    check_names_and_data("level2-joliet.iso", "", &["-J"], false);
}

#[test]
fn joliet_long_names_match_isoinfo() {
    check_names_and_data("joliet-long.iso", "", &["-J"], false);
    let longest = ours(&fixture("joliet-long.iso"), "")
        .keys()
        .map(|k| k.rsplit('/').next().unwrap_or(k).chars().count())
        .max();
    assert_eq!(longest, Some(103));
}

#[test]
fn mount_options_pick_the_tree() {
    // Rock Ridge + Joliet image: `joliet` and `norock` show Joliet, `plain` the ISO names.
    check_names_and_data("sample.iso", "joliet", &["-J"], false);
    check_names_and_data("level3-rr.iso", "norock", &["-J"], false);
    check_names_and_data("level3-rr.iso", "plain", &[], true);
    check_names_and_data("sample.iso", "nojoliet", &["-R"], false);
}

#[test]
fn unknown_mount_option_is_a_usage_error() {
    match open(&fixture("sample.iso"), "norock,frobnicate") {
        Err(isofish::Error::Usage(msg)) => assert!(msg.contains("frobnicate"), "{msg}"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("accepted an unknown option"),
    }
}

#[test]
fn device_numbers_match_bsdtar_listing() {
    for name in ["level3-rr.iso", "rr112.iso"] {
        check_devices(name);
    }
}

fn check_devices(name: &str) {
    let img = fixture(name);
    let listing = bsdtar_listing(&img);
    let ours = ours(&img, "");
    for dev in ["char-dev", "block-dev"] {
        assert_eq!(
            ours[dev].rdev,
            listing[dev].rdev.map(pn_words_as_linux_reads_them),
            "{dev}"
        );
        assert!(ours[dev].rdev.is_some());
    }
}

#[test]
fn partition_of_a_partition_offset_image_reads_alone() {
    // xorriso -partition_offset 16 writes an MBR partition from 2 KiB block 16 holding a second
    // descriptor set with addresses relative to the partition: the partition, read as a
    // source of its own, shows the same tree as the whole image (checked above against
    // bsdtar and xorriso).
    use isofish::source::{FileSource, RangeSource, Source};
    use std::sync::Arc;
    let img = fixture("partition-offset.iso");
    let bytes = std::fs::read(&img).expect("image");
    let le32 = |o: usize| u64::from(u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4")));
    let (start, sectors) = (le32(446 + 8) * 512, le32(446 + 12) * 512);
    assert_eq!(start, 16 * 2048);
    let whole: Arc<dyn Source> = Arc::new(FileSource::open(&img).expect("open"));
    let part: Arc<dyn Source> = Arc::new(RangeSource::new(
        whole,
        start,
        sectors,
        "partition-offset.iso:1".into(),
    ));
    let fs = isofish::fs::open(part, &Default::default()).expect("partition opens");
    let mut seen = Vec::new();
    isofish::fs::walk::walk(fs.as_ref(), Default::default(), true, &mut |v| {
        seen.push(String::from_utf8_lossy(v.path).into_owned());
        Ok(())
    })
    .expect("walk");
    seen.sort();
    assert_eq!(seen, names(&ours(&img, "")));
}

#[test]
fn iso_9660_1999_tree_of_xorriso_with_the_iso1999_option() {
    // xorriso -compliance iso_9660_1999 writes a second tree (enhanced volume descriptor) with
    // the names as given; every peer tool shows the primary tree's mapped names by default,
    // and so does isofish; `iso1999` shows the second tree, which must hold the names the
    // image was made from.
    let dir = crate::common::scratch();
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("Sub Dir")).expect("mkdir");
    std::fs::write(input.join("a-rather-long-file-name-for-iso.txt"), "hi\n").expect("write");
    std::fs::write(input.join("Sub Dir/lower.txt"), "x\n").expect("write");
    let img = dir.path().join("iso1999.iso");
    crate::common::tool(
        "xorriso",
        &[
            "-no_rc",
            "-report_about",
            "FAILURE",
            "-outdev",
            img.to_str().expect("utf-8"),
            "-rockridge",
            "off",
            "-joliet",
            "off",
            "-compliance",
            "iso_9660_1999",
            "-padding",
            "0",
            "-map",
            input.to_str().expect("utf-8"),
            "/",
            "-commit",
        ],
        None,
    );
    let data = |_: &str, i: &Item| Item {
        kind: i.kind,
        md5: i.md5.clone(),
        ..Item::default()
    };
    let expected = project(&crate::iso_oracle::host_tree(&input), data);
    assert_same(
        "iso1999 tree vs its input",
        &project(&ours(&img, "iso1999"), data),
        &expected,
    );
    let mut primary = plain(isoinfo_names(&img, &[]));
    primary.sort();
    assert_eq!(names(&ours(&img, "")), primary);
    assert!(open(&img, "")
        .expect("opens")
        .info()
        .iter()
        .any(|(k, _)| k == "ISO 9660:1999"));
}

#[test]
fn hard_links_share_their_inode_number() {
    // bsdtar lists the second name of a hard link as `NAME link to OTHER`; both names have
    // the same `ino` here (PX serial numbers of xorriso's images, the shared data extent of
    // genisoimage's).
    for name in ["sample.iso", "level3-rr.iso", "rr112.iso"] {
        let img = fixture(name);
        let fs = open(&img, "").expect("opens");
        let out = crate::common::tool("bsdtar", &["-tvf", img.to_str().expect("utf-8")], None);
        let text = String::from_utf8_lossy(&out);
        let pairs: Vec<(String, String)> = text
            .lines()
            .filter_map(|l| l.split_once(" link to "))
            .map(|(a, b)| {
                let a = a.rsplit(' ').next().unwrap_or(a);
                let clean = |s: &str| s.trim_start_matches("./").to_string();
                (clean(a), clean(b))
            })
            .collect();
        assert!(!pairs.is_empty(), "{name}: no hard links listed");
        let ino_of = |path: &str| {
            let mut dir = fs.root();
            let mut meta = None;
            for part in path.split('/') {
                let e = fs
                    .lookup(dir, part.as_bytes())
                    .expect("lookup")
                    .unwrap_or_else(|| panic!("{name}: {path} not found"));
                dir = e.ino;
                meta = Some(e.meta);
            }
            meta.expect("non-empty path")
        };
        for (a, b) in pairs {
            let (ma, mb) = (ino_of(&a), ino_of(&b));
            assert_eq!(ma.ino, mb.ino, "{name}: {a} and {b}");
            assert_eq!((ma.nlink, mb.nlink), (2, 2), "{name}: {a} and {b}");
        }
    }
}

#[test]
fn extents_of_plain_files_are_where_isoinfo_says() {
    // `isoinfo -l` prints each record's extent as `[ LBA FLAGS]` before its name.
    for name in ["level1.iso", "level3-rr.iso"] {
        let img = fixture(name);
        let fs = open(&img, "plain").expect("opens");
        let out = crate::common::tool("isoinfo", &["-l", "-i", img.to_str().expect("utf-8")], None);
        let text = String::from_utf8_lossy(&out);
        let mut dir = String::new();
        let mut checked = 0;
        for line in text.lines() {
            if let Some(d) = line.strip_prefix("Directory listing of /") {
                dir = d.to_string();
                continue;
            }
            let Some((head, rest)) = line.split_once('[') else {
                continue;
            };
            let Some((ext, name)) = rest.split_once(']') else {
                continue;
            };
            if head.starts_with('d') {
                continue;
            }
            let lba: u64 = ext
                .split_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
                .expect("lba");
            let size: u64 = head
                .split_whitespace()
                .nth(4)
                .and_then(|s| s.parse().ok())
                .expect("size");
            let path = format!("{dir}{}", name.trim());
            let mut ino = fs.root();
            for part in plain(vec![path.clone()])[0].split('/') {
                ino = fs
                    .lookup(ino, part.as_bytes())
                    .expect("lookup")
                    .unwrap_or_else(|| panic!("{name}: {path}"))
                    .ino;
            }
            let extents = fs.spans(ino).expect("extents").expect("plain file");
            if size == 0 {
                assert!(extents.is_empty(), "{path}");
            } else {
                assert_eq!(extents.len(), 1, "{path}");
                assert_eq!(extents[0].source_offset(), Some(lba * 2048), "{path}");
                assert_eq!(extents[0].len(), size, "{path}");
            }
            checked += 1;
        }
        assert!(checked > 3, "{name}: only {checked} files checked");
    }
}
