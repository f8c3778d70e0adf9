//! libisofs's MD5 checksum tags (`xorriso -md5 on`, `xorriso -as mkisofs --md5`), found and
//! checked: one block each, a line of text padded with zeros (libisofs's
//! `doc/checksums.txt`):
//!
//! `NAME pos=B range_start=S range_size=N [next=B | session_start=B] md5=HEX self=HEX\n`
//!
//! - the superblock tag (`libisofs_sb_checksum_tag_v1`) follows the volume descriptor set
//!   terminator, its `next=` names the block of the tree tag
//!   (`libisofs_tree_checksum_tag_v1`, after the directory records), whose `next=` names the
//!   session tag's (`libisofs_checksum_tag_v1`, after all file data);
//! - an image written to a file (`-outdev`) starts its session at block 32 and copies its
//!   superblock to block 0, tagged `libisofs_rlsb32_checksum_tag_v1` with `session_start=`;
//! - `md5=` is the MD5 of the `range_size` blocks from `range_start` (everything before the
//!   tag, earlier tags included), `pos=` the block the tag says it is in, `self=` the MD5 of
//!   the tag's text up to the last digit of `md5=`.
//!
//! Found as libisofs's readers find them: the superblock tag in the 16 blocks after the
//! session's first 16, the others where `next=` says (a tag whose `pos=` is not its block is
//! payload, not a tag).

use md5::{Digest, Md5};

use super::isomd5::hex;
use crate::error::Result;
use crate::source::Source;

const BLOCK: u64 = 2048;

/// The kinds of tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The superblock copy at block 0 of an image whose session starts further on.
    Relocated,
    Superblock,
    Tree,
    Session,
}

impl Kind {
    /// The tag's name in the image.
    pub fn id(self) -> &'static str {
        match self {
            Kind::Relocated => "libisofs_rlsb32_checksum_tag_v1",
            Kind::Superblock => "libisofs_sb_checksum_tag_v1",
            Kind::Tree => "libisofs_tree_checksum_tag_v1",
            Kind::Session => "libisofs_checksum_tag_v1",
        }
    }

    /// What `verify` calls it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Relocated => "relocated superblock",
            Kind::Superblock => "superblock",
            Kind::Tree => "tree",
            Kind::Session => "session",
        }
    }

    fn from_id(id: &[u8]) -> Option<Kind> {
        [Kind::Relocated, Kind::Superblock, Kind::Tree, Kind::Session]
            .into_iter()
            .find(|k| k.id().as_bytes() == id)
    }
}

/// One tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    pub kind: Kind,
    /// The block it was found in (its `pos=`).
    pub block: u64,
    pub range_start: u64,
    pub range_size: u64,
    pub next: Option<u64>,
    pub session_start: Option<u64>,
    /// `md5=`, as recorded (lower-case hex).
    pub md5: String,
    /// Whether `self=` is the MD5 of the tag's text.
    pub self_ok: bool,
}

/// A tag checked against the blocks it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub tag: Tag,
    /// The MD5 of the blocks; `None` when the range passes the image's end.
    pub actual: Option<String>,
}

impl Check {
    /// True when the tag is whole and its blocks have its MD5.
    pub fn ok(&self) -> bool {
        self.tag.self_ok && self.actual.as_deref() == Some(&self.tag.md5)
    }
}

/// Decodes the tag in `block` (a block's bytes) found at block number `at`; `None` when it
/// holds none, or one whose `pos=` is another block.
pub fn decode(block: &[u8], at: u64) -> Option<Tag> {
    let line_end = block.iter().position(|&b| b == b'\n')?;
    let line = &block[..line_end];
    let mut words = line.split(|&b| b == b' ');
    let kind = Kind::from_id(words.next()?)?;
    let mut tag = Tag {
        kind,
        block: at,
        range_start: 0,
        range_size: 0,
        next: None,
        session_start: None,
        md5: String::new(),
        self_ok: false,
    };
    let (mut pos, mut start, mut size, mut self_md5) = (None, None, None, None);
    let mut md5_end = 0;
    for word in words {
        let text = std::str::from_utf8(word).ok()?;
        let (key, value) = text.split_once('=')?;
        let number = || value.parse::<u64>().ok();
        let digest = || {
            (value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| value.to_ascii_lowercase())
        };
        match key {
            "pos" => pos = Some(number()?),
            "range_start" => start = Some(number()?),
            "range_size" => size = Some(number()?),
            "next" => tag.next = Some(number()?),
            "session_start" => tag.session_start = Some(number()?),
            "md5" => {
                tag.md5 = digest()?;
                md5_end = word.as_ptr() as usize - line.as_ptr() as usize + word.len();
            }
            "self" => self_md5 = Some(digest()?),
            _ => {}
        }
    }
    if pos? != at || tag.md5.is_empty() {
        return None;
    }
    tag.range_start = start?;
    tag.range_size = size?;
    tag.self_ok = self_md5.as_deref() == Some(hex(&Md5::digest(&line[..md5_end])).as_str());
    Some(tag)
}

/// The tag in block `at` of `src`, if any.
fn tag_at(src: &dyn Source, at: u64) -> Result<Option<Tag>> {
    let Some(offset) = at
        .checked_mul(BLOCK)
        .filter(|o| o.saturating_add(BLOCK) <= src.len())
    else {
        return Ok(None);
    };
    let mut block = vec![0u8; BLOCK as usize];
    src.read_exact_at(offset, &mut block, "MD5 checksum tag")?;
    Ok(decode(&block, at))
}

/// The first tag of `kind` in blocks `from..from + 16`.
fn find(src: &dyn Source, from: u64, kind: Kind) -> Result<Option<Tag>> {
    for at in from..from + 16 {
        if let Some(tag) = tag_at(src, at)?.filter(|t| t.kind == kind) {
            return Ok(Some(tag));
        }
    }
    Ok(None)
}

/// The tags of `src`, in the order found: the relocated superblock's, then the session's
/// superblock, tree and session tags (as many as are there).
pub fn read(src: &dyn Source) -> Result<Vec<Tag>> {
    let mut tags = Vec::new();
    let mut session = 0;
    if let Some(rl) = find(src, 16, Kind::Relocated)? {
        session = rl.session_start.unwrap_or(0);
        tags.push(rl);
    }
    let Some(mut tag) = find(src, session.saturating_add(16), Kind::Superblock)? else {
        return Ok(tags);
    };
    loop {
        let follow = match tag.kind {
            Kind::Superblock => Some(Kind::Tree),
            Kind::Tree => Some(Kind::Session),
            _ => None,
        };
        // Each tag names a later block: the walk cannot loop.
        let next = tag.next.filter(|&n| n > tag.block);
        tags.push(tag);
        let (Some(want), Some(next)) = (follow, next) else {
            break;
        };
        match tag_at(src, next)?.filter(|t| t.kind == want) {
            Some(t) => tag = t,
            None => break,
        }
    }
    Ok(tags)
}

/// Checks `tags` against the blocks of `src` they cover: one pass over each run of blocks
/// that tags share a start with.
pub fn verify(src: &dyn Source, tags: &[Tag]) -> Result<Vec<Check>> {
    let mut actual: Vec<Option<String>> = vec![None; tags.len()];
    let mut starts: Vec<u64> = tags.iter().map(|t| t.range_start).collect();
    starts.sort_unstable();
    starts.dedup();
    for start in starts {
        // The ends of this start's ranges that lie in the image, nearest first.
        let mut ends: Vec<(u64, usize)> = tags
            .iter()
            .enumerate()
            .filter(|(_, t)| t.range_start == start)
            .filter_map(|(i, t)| {
                let end = start.checked_add(t.range_size)?.checked_mul(BLOCK)?;
                (end <= src.len()).then_some((end, i))
            })
            .collect();
        ends.sort_unstable();
        let mut ctx = Md5::new();
        let mut offset = start.saturating_mul(BLOCK);
        let mut buf = vec![0u8; 1 << 20];
        for (end, i) in ends {
            while offset < end {
                let n = (end - offset).min(buf.len() as u64) as usize;
                src.read_exact_at(offset, &mut buf[..n], "MD5 checksum tag range")?;
                ctx.update(&buf[..n]);
                offset += n as u64;
            }
            actual[i] = Some(hex(&ctx.clone().finalize()));
        }
    }
    Ok(tags
        .iter()
        .cloned()
        .zip(actual)
        .map(|(tag, actual)| Check { tag, actual })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(text: &str) -> Vec<u8> {
        let mut b = text.as_bytes().to_vec();
        b.resize(BLOCK as usize, 0);
        b
    }

    #[test]
    fn tags_decode_and_check_themselves() {
        let body = "libisofs_sb_checksum_tag_v1 pos=18 range_start=0 range_size=18 next=23 \
                    md5=681556b48d91cc3244e6dfdb2a637711";
        let me = hex(&Md5::digest(body.as_bytes()));
        let tag = decode(&block(&format!("{body} self={me}\n")), 18).unwrap();
        assert_eq!(
            (tag.kind, tag.range_size, tag.next),
            (Kind::Superblock, 18, Some(23))
        );
        assert!(tag.self_ok);
        let wrong = decode(&block(&format!("{body} self={}\n", "0".repeat(32))), 18).unwrap();
        assert!(!wrong.self_ok);
        // Elsewhere than its pos, without its newline, or garbled: no tag.
        assert_eq!(decode(&block(&format!("{body} self={me}\n")), 19), None);
        assert_eq!(decode(&block(&format!("{body} self={me}")), 18), None);
        assert_eq!(
            decode(&block("libisofs_sb_checksum_tag_v1 pos=x\n"), 18),
            None
        );
        assert_eq!(decode(&[0xff; 2048], 18), None);
    }
}
