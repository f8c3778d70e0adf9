//! The MD5 sum `implantisomd5` (isomd5sum, used by Fedora, RHEL and their installers' media
//! check) writes into the application-use area of the primary volume descriptor, read,
//! checked the way `checkisomd5` checks it, and computed anew for a new image.
//!
//! The area (512 bytes at byte 883 of the descriptor at sector 16) holds `;`-separated text:
//! `ISO MD5SUM = <32 hex digits>;SKIPSECTORS = 15;RHLISOSTATUS=0;FRAGMENT SUMS = <60
//! characters>;FRAGMENT COUNT = 20;THIS IS NOT THE SAME AS RUNNING MD5SUM ON THIS ISO!!`,
//! padded with spaces. What the sums cover:
//! - The MD5 is over the image's first `volume size − SKIPSECTORS × 2048` bytes (the volume
//!   size is the descriptor's, big-endian half, not the file's length), with the 512 bytes of
//!   the application-use area read as spaces. An image shorter than that is hashed to its end
//!   (and so fails).
//! - The fragment sums: the hashed length is cut into `FRAGMENT COUNT + 1` fragments of equal
//!   size (rounded down). The bytes are hashed in chunks of 32 KiB; after the first chunk that
//!   starts in a new fragment `f`, the MD5 so far is finished and `60 / FRAGMENT COUNT`
//!   characters of it (at most 16) are compared with the characters at `(f − 1) × that` of
//!   the recorded sums: for each digest byte, the first hex digit of its shortest hex form
//!   (`0x3a` gives `3`, `0x0a` gives `a`). `implantisomd5` appends them in the order it meets
//!   them, so the fragments of an image under 21 chunks (688 KiB) that a chunk skips shift the
//!   sums and `checkisomd5` fails its own implant; isofish does as both do, so that it agrees
//!   with them.
//!
//! Choices where isomd5sum's code is loose: the descriptor must be at sector 16 (where every
//! mastering tool puts it; isomd5sum takes the first primary descriptor but then reckons a
//! wrong offset for any other); numbers must be whole non-negative decimals; sums recorded
//! without `FRAGMENT SUMS` are not checked (isomd5sum compares with uninitialised memory); a
//! `SKIPSECTORS` past the volume or a `FRAGMENT COUNT` that leaves empty fragments is an
//! error naming the field (isomd5sum divides by zero or hashes nothing).

use md5::{Digest, Md5};

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::source::Source;

/// The byte where the primary volume descriptor starts (sector 16).
pub const PVD_OFFSET: u64 = 16 * 2048;
/// Where the application-use area sits in the descriptor, and its length.
pub const APPDATA_OFFSET: u64 = 883;
pub const APPDATA_LEN: usize = 512;
/// `implantisomd5`'s defaults.
pub const DEFAULT_SKIP_SECTORS: u64 = 15;
pub const DEFAULT_FRAGMENT_COUNT: u64 = 20;
/// The characters of all fragment sums together.
const FRAGMENT_CHARS: usize = 60;
/// The chunk isomd5sum hashes at a time: fragment sums are taken at its boundaries.
const CHUNK: usize = 32 * 1024;
/// The hashed length under which a chunk can hold more than one fragment's start, so that
/// `implantisomd5` misplaces the fragment sums (with its 20 fragments).
pub const SMALL: u64 = (DEFAULT_FRAGMENT_COUNT + 1) * CHUNK as u64;
/// How much is read at a time (a multiple of [`CHUNK`]).
const READ: usize = 32 * CHUNK;
const SECTOR: u64 = 2048;
const STRUCTURE: &str = "implanted MD5 (primary volume descriptor application use)";
const WARNING: &str = "THIS IS NOT THE SAME AS RUNNING MD5SUM ON THIS ISO!!";

/// The fields `implantisomd5` wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Implanted {
    /// The MD5 as 32 lower-case hex digits (as recorded; compared as text, like isomd5sum).
    pub md5: String,
    pub skip_sectors: u64,
    /// `RHLISOSTATUS` (`implantisomd5 --supported-iso` sets 1), when recorded.
    pub supported: Option<u64>,
    /// The 60 characters after `FRAGMENT SUMS = `, when recorded.
    pub fragment_sums: Option<String>,
    pub fragment_count: u64,
    /// The volume size from the descriptor, in bytes.
    pub volume_bytes: u64,
}

impl Implanted {
    /// How many bytes the MD5 covers: the volume less the skipped sectors.
    pub fn hashed_len(&self) -> Result<u64> {
        self.skip_sectors
            .checked_mul(SECTOR)
            .and_then(|skip| self.volume_bytes.checked_sub(skip))
            .ok_or_else(|| {
                Error::unsupported(
                    "image",
                    format!(
                        "an implanted MD5 with SKIPSECTORS = {} in a volume of {} bytes",
                        self.skip_sectors, self.volume_bytes
                    ),
                )
            })
    }

    /// The application-use area's 512 bytes for these fields: the text, then spaces.
    pub fn encode(&self) -> Vec<u8> {
        let mut text = format!(
            "ISO MD5SUM = {};SKIPSECTORS = {};RHLISOSTATUS={};",
            self.md5,
            self.skip_sectors,
            self.supported.unwrap_or(0)
        );
        if let Some(sums) = &self.fragment_sums {
            text.push_str(&format!("FRAGMENT SUMS = {sums};"));
        }
        text.push_str(&format!("FRAGMENT COUNT = {};", self.fragment_count));
        if text.len() + WARNING.len() < APPDATA_LEN {
            text.push_str(WARNING);
        }
        let mut area = text.into_bytes();
        area.resize(APPDATA_LEN, b' ');
        area
    }
}

/// What `checkisomd5` would find.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub implanted: Implanted,
    /// The MD5 of the bytes as they are.
    pub actual: String,
    /// The first fragment (from 1) whose sum differs, when one does.
    pub bad_fragment: Option<u64>,
    /// How many bytes were hashed: fewer than [`Implanted::hashed_len`] when the image ends
    /// first.
    pub hashed: u64,
}

impl Verdict {
    /// True when `checkisomd5` passes: the whole sum and every fragment sum match.
    pub fn ok(&self) -> bool {
        self.bad_fragment.is_none() && self.actual == self.implanted.md5
    }
}

/// The byte offset of the volume size field (big-endian half) in the descriptor.
const SIZE_OFFSET: u64 = 84;

/// Reads the implanted fields of `src`; `None` when sector 16 is no primary volume descriptor
/// or its application-use area holds no `ISO MD5SUM` and `SKIPSECTORS`.
pub fn read(src: &dyn Source) -> Result<Option<Implanted>> {
    let mut pvd = [0u8; 2048];
    if src.len() < PVD_OFFSET + SECTOR {
        return Ok(None);
    }
    src.read_exact_at(PVD_OFFSET, &mut pvd, STRUCTURE)?;
    if &pvd[..6] != b"\x01CD001" {
        return Ok(None);
    }
    let size = &pvd[SIZE_OFFSET as usize..SIZE_OFFSET as usize + 4];
    let volume_bytes = u64::from(u32::from_be_bytes([size[0], size[1], size[2], size[3]])) * SECTOR;
    let at = APPDATA_OFFSET as usize;
    decode(&pvd[at..at + APPDATA_LEN], volume_bytes).map_err(|detail| {
        Error::corrupt(src.name(), STRUCTURE, PVD_OFFSET + APPDATA_OFFSET, detail)
    })
}

/// The fields isomd5sum recognises, anywhere in `area` (it tries them at every byte); its
/// last byte is never read (isomd5sum ends the text there).
fn decode(area: &[u8], volume_bytes: u64) -> std::result::Result<Option<Implanted>, String> {
    let text = &area[..area.len() - 1];
    let mut md5 = None;
    let mut skip = None;
    let mut supported = None;
    let mut sums = None;
    let mut count = None;
    let mut i = 0;
    // Up to the next `;` (or the end) from `from`.
    let field_end = |from: usize| {
        text[from..]
            .iter()
            .position(|&b| b == b';')
            .map_or(text.len(), |p| from + p)
    };
    let number = |name: &str, from: usize| -> std::result::Result<(u64, usize), String> {
        let end = field_end(from);
        let raw = String::from_utf8_lossy(&text[from..end]);
        let n = raw
            .trim_start()
            .parse::<u64>()
            .map_err(|_| format!("{name} is {raw:?}, not a number"))?;
        Ok((n, end))
    };
    while i < text.len() {
        let rest = &text[i..];
        if let Some(r) = rest.strip_prefix(b"ISO MD5SUM = ") {
            let from = i + (rest.len() - r.len());
            let hex = r
                .get(..32)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .ok_or("ISO MD5SUM is not 32 hex digits")?;
            md5 = Some(String::from_utf8_lossy(hex).into_owned());
            i = field_end(from + 32);
        } else if let Some(r) = rest.strip_prefix(b"SKIPSECTORS = ") {
            let (n, end) = number("SKIPSECTORS", i + (rest.len() - r.len()))?;
            skip = Some(n);
            i = end;
        } else if let Some(r) = rest.strip_prefix(b"RHLISOSTATUS=") {
            let (n, end) = number("RHLISOSTATUS", i + (rest.len() - r.len()))?;
            supported = Some(n);
            i = end;
        } else if let Some(r) = rest.strip_prefix(b"FRAGMENT SUMS = ") {
            let from = i + (rest.len() - r.len());
            let chars = r
                .get(..FRAGMENT_CHARS)
                .filter(|_| r.len() > FRAGMENT_CHARS)
                .ok_or("FRAGMENT SUMS runs past the area")?;
            sums = Some(String::from_utf8_lossy(chars).into_owned());
            i = field_end(from + FRAGMENT_CHARS);
        } else if let Some(r) = rest.strip_prefix(b"FRAGMENT COUNT = ") {
            let (n, end) = number("FRAGMENT COUNT", i + (rest.len() - r.len()))?;
            count = Some(n);
            i = end;
        }
        i += 1;
    }
    let (Some(md5), Some(skip_sectors)) = (md5, skip) else {
        return Ok(None);
    };
    let implanted = Implanted {
        md5,
        skip_sectors,
        supported,
        fragment_sums: sums,
        fragment_count: count.unwrap_or(DEFAULT_FRAGMENT_COUNT),
        volume_bytes,
    };
    let total = implanted.hashed_len().map_err(|_| {
        format!("SKIPSECTORS = {skip_sectors} passes the volume's {volume_bytes} bytes")
    })?;
    if fragment_size(total, implanted.fragment_count) == Some(0) {
        return Err(format!(
            "FRAGMENT COUNT = {} leaves empty fragments of the {total} bytes hashed",
            implanted.fragment_count
        ));
    }
    Ok(Some(implanted))
}

/// The size of a fragment; `None` when there are no fragment sums.
fn fragment_size(total: u64, count: u64) -> Option<u64> {
    (count > 0).then(|| count.checked_add(1).map_or(0, |parts| total / parts))
}

/// How many characters each fragment's sum has (0 without fragments).
fn chars_per_fragment(count: u64) -> usize {
    (FRAGMENT_CHARS as u64)
        .checked_div(count)
        .map_or(0, |c| c as usize)
}

/// The characters of one fragment sum: for each of the first `n` digest bytes, the first hex
/// digit of its shortest hex form.
fn fragment_chars(digest: &[u8], n: usize) -> String {
    digest
        .iter()
        .take(n.min(16))
        .map(|&b| {
            let digit = if b >= 16 { b >> 4 } else { b };
            char::from_digit(u32::from(digit), 16).unwrap_or('0')
        })
        .collect()
}

/// A digest as lower-case hex digits, as the tools print and record it.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The sums over the first `total` bytes `read` gives, the application-use area read as
/// spaces.
struct Sums {
    md5: String,
    /// The fragment sums in the order met, each with its fragment number (from 1).
    fragments: Vec<(u64, String)>,
    hashed: u64,
}

/// Hashes the first `total` bytes of `src` as isomd5sum does, with `count` fragments (all of
/// them: `checkisomd5` stops at the first fragment that fails, isofish goes on to tell the
/// whole sum).
fn hash(src: &dyn Source, total: u64, count: u64) -> Result<Sums> {
    let frag_size = fragment_size(total, count);
    let chars = chars_per_fragment(count);
    let blank = PVD_OFFSET + APPDATA_OFFSET..PVD_OFFSET + APPDATA_OFFSET + APPDATA_LEN as u64;
    let mut ctx = Md5::new();
    let mut fragments = Vec::new();
    let mut previous = 0;
    let mut buf = vec![0u8; READ];
    let mut offset = 0u64;
    while offset < total {
        let want = usize::try_from((total - offset).min(READ as u64)).unwrap_or(READ);
        let got = read_full(src, offset, &mut buf[..want])?;
        let data = &mut buf[..got];
        // Blank what of the application-use area lies in this read.
        let (from, to) = (blank.start.max(offset), blank.end.min(offset + got as u64));
        if from < to {
            data[(from - offset) as usize..(to - offset) as usize].fill(b' ');
        }
        for chunk in data.chunks(CHUNK) {
            ctx.update(chunk);
            if let Some(size) = frag_size.filter(|&s| s > 0) {
                let current = offset / size;
                if current != previous {
                    fragments.push((current, fragment_chars(&ctx.clone().finalize(), chars)));
                    previous = current;
                }
            }
            offset += chunk.len() as u64;
        }
        if got < want {
            break;
        }
    }
    Ok(Sums {
        md5: hex(&ctx.finalize()),
        fragments,
        hashed: offset,
    })
}

/// Reads into `buf` up to the end of `src`; returns how much it read.
fn read_full(src: &dyn Source, offset: u64, buf: &mut [u8]) -> Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match src.read_at(offset + done as u64, &mut buf[done..])? {
            0 => break,
            n => done += n,
        }
    }
    Ok(done)
}

/// True when fragment `number`'s sum is `sum` in the recorded `sums` (`chars` characters per
/// fragment, from `(number − 1) × chars`); characters past the 60 recorded never match.
fn fragment_matches(sums: &str, number: u64, chars: usize, sum: &str) -> bool {
    let start = number
        .checked_sub(1)
        .and_then(|n| usize::try_from(n).ok())
        .and_then(|n| n.checked_mul(chars));
    let want = start.and_then(|s| sums.as_bytes().get(s..s.checked_add(sum.len())?));
    want == Some(sum.as_bytes())
}

/// Checks the implanted MD5 of `src` as `checkisomd5` does; `None` when there is none. Reads
/// the whole volume.
pub fn verify(src: &dyn Source) -> Result<Option<Verdict>> {
    let Some(implanted) = read(src)? else {
        return Ok(None);
    };
    let total = implanted.hashed_len()?;
    let count = implanted.fragment_count;
    let chars = chars_per_fragment(count);
    let recorded = implanted.fragment_sums.clone();
    let sums = hash(src, total, count)?;
    let bad_fragment = recorded.as_deref().and_then(|recorded| {
        sums.fragments
            .iter()
            .find(|(n, s)| !fragment_matches(recorded, *n, chars, s))
            .map(|(n, _)| *n)
    });
    Ok(Some(Verdict {
        implanted,
        actual: sums.md5,
        bad_fragment,
        hashed: sums.hashed,
    }))
}

/// Implants an MD5 into the new image `plan` (named `image` in errors) as `implantisomd5 -f`
/// would: with the skipped sectors, fragment count and supported flag of `like` (the
/// original's), or implantisomd5's defaults. Replaces the application-use area in the plan and
/// returns the fields written.
pub fn implant(plan: &mut Plan, image: &str, like: Option<&Implanted>) -> Result<Implanted> {
    let src = plan.clone().into_source(image.to_string());
    let mut pvd = [0u8; 6];
    if src.len() < PVD_OFFSET + SECTOR || {
        src.read_exact_at(PVD_OFFSET, &mut pvd, STRUCTURE)?;
        &pvd != b"\x01CD001"
    } {
        return Err(Error::unsupported(
            image,
            "an implanted MD5 in an image without a primary volume descriptor at sector 16",
        ));
    }
    let mut size = [0u8; 4];
    src.read_exact_at(PVD_OFFSET + SIZE_OFFSET, &mut size, STRUCTURE)?;
    let mut fields = Implanted {
        md5: String::new(),
        skip_sectors: like.map_or(DEFAULT_SKIP_SECTORS, |l| l.skip_sectors),
        supported: Some(like.and_then(|l| l.supported).unwrap_or(0)),
        fragment_sums: None,
        fragment_count: like.map_or(DEFAULT_FRAGMENT_COUNT, |l| l.fragment_count),
        volume_bytes: u64::from(u32::from_be_bytes(size)) * SECTOR,
    };
    let total = fields.hashed_len().map_err(|_| {
        Error::unsupported(
            image,
            format!(
                "an implanted MD5 skipping {} sectors of a volume of {} bytes",
                fields.skip_sectors, fields.volume_bytes
            ),
        )
    })?;
    if fragment_size(total, fields.fragment_count) == Some(0) {
        return Err(Error::unsupported(
            image,
            format!(
                "{} MD5 fragments of a volume of {total} bytes",
                fields.fragment_count
            ),
        ));
    }
    let sums = hash(src.as_ref(), total, fields.fragment_count)?;
    if sums.hashed < total {
        return Err(Error::corrupt(
            image,
            STRUCTURE,
            sums.hashed,
            format!("the volume size says {total} bytes but the image ends first"),
        ));
    }
    fields.md5 = sums.md5;
    let mut all: String = sums.fragments.into_iter().map(|(_, s)| s).collect();
    all.truncate(FRAGMENT_CHARS);
    // No sums (no fragments): no field, or `checkisomd5` would take the next ones for sums.
    fields.fragment_sums = Some(all).filter(|a| !a.is_empty());
    plan.patch(PVD_OFFSET + APPDATA_OFFSET, &fields.encode());
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(text: &str) -> Vec<u8> {
        let mut a = text.as_bytes().to_vec();
        a.resize(APPDATA_LEN, b' ');
        a
    }

    #[test]
    fn fields_decode_and_encode_back() {
        let f = Implanted {
            md5: "0123456789abcdef0123456789abcdef".into(),
            skip_sectors: 15,
            supported: Some(0),
            fragment_sums: Some("a".repeat(60)),
            fragment_count: 20,
            volume_bytes: 1 << 20,
        };
        assert_eq!(decode(&f.encode(), 1 << 20), Ok(Some(f)));
    }

    #[test]
    fn blank_or_hostile_areas_are_absent_or_errors() {
        assert_eq!(decode(&area(""), 1 << 20), Ok(None));
        assert_eq!(decode(&[0u8; APPDATA_LEN], 1 << 20), Ok(None));
        let md5 = "ISO MD5SUM = 0123456789abcdef0123456789abcdef;";
        for bad in [
            format!("{md5}SKIPSECTORS = 99999999999;"),
            format!("{md5}SKIPSECTORS = -1;"),
            format!("{md5}SKIPSECTORS = 99999999999999999999999;"),
            format!("{md5}SKIPSECTORS = 15;FRAGMENT COUNT = 18446744073709551615;"),
            format!("{md5}SKIPSECTORS = 15;FRAGMENT COUNT = 10000000;"),
            "ISO MD5SUM = xyz;SKIPSECTORS = 15;".to_string(),
        ] {
            assert!(decode(&area(&bad), 1 << 20).is_err(), "{bad}");
        }
        // The last byte is never read.
        let mut a = area("");
        let tail = b"FRAGMENT SUMS = ";
        let at = APPDATA_LEN - tail.len();
        a[at..].copy_from_slice(tail);
        assert_eq!(decode(&a, 1 << 20), Ok(None));
    }

    #[test]
    fn random_areas_of_field_pieces_never_panic() {
        let pieces: [&[u8]; 9] = [
            b"ISO MD5SUM = ",
            b"SKIPSECTORS = ",
            b"FRAGMENT SUMS = ",
            b"FRAGMENT COUNT = ",
            b"RHLISOSTATUS=",
            b"0123456789abcdef",
            b";",
            b"99999999999999999999",
            b"\xff\x00 ",
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            let mut area = Vec::new();
            while area.len() < APPDATA_LEN {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                area.extend_from_slice(pieces[(x % 9) as usize]);
            }
            area.truncate(APPDATA_LEN);
            let _ = decode(&area, x % (1 << 33));
        }
    }

    #[test]
    fn fragment_characters_are_first_hex_digits() {
        assert_eq!(fragment_chars(&[0x3a, 0x0a, 0x00, 0xff], 3), "3a0");
        assert!(fragment_matches("abcdef", 2, 3, "def"));
        assert!(!fragment_matches("abcdef", 3, 3, "def"));
        assert!(!fragment_matches("abcdef", 0, 3, "abc"));
    }
}
