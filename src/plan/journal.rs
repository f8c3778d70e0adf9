//! The undo journal of an in-place commit: `IMAGE.isofish-undo`, written and fsynced beside the
//! image before the image is touched, removed once the patched image is fsynced. It holds what
//! the commit overwrites (every range, its old bytes) and the image's old length, so that an
//! image left half-patched by a killed process or a power loss is put back exactly as it was:
//! [`roll_back`], which the next `isofish -a IMAGE` runs.
//!
//! Layout (little-endian): the 16-byte [`MAGIC`]; the old and the new length (u64 each); the
//! number of ranges (u64); each range as its offset and length (u64 each) and its old bytes;
//! then the CRC-32 (zlib's) of everything before it and `DONE`. A journal whose trailer is
//! missing or wrong was cut short while it was written, before the image was touched: it is
//! removed with nothing rolled back. Every length is checked against the journal's own size
//! before anything is read or written.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ondisk::crc::GPT as CRC32;

/// The journal's first bytes.
pub const MAGIC: &[u8; 16] = b"ISOFISH-UNDO-1\n\0";
/// The trailer's mark, after the CRC.
const DONE: &[u8; 4] = b"DONE";
/// Header: magic, old length, new length, range count.
const HEADER: u64 = 16 + 8 + 8 + 8;
/// Trailer: CRC and mark.
const TRAILER: u64 = 8;
/// Bytes copied at a time while rolling back.
const CHUNK: usize = 1 << 20;
/// The structure errors name.
const STRUCTURE: &str = "undo journal";

/// The journal beside `image`.
pub fn path_of(image: &Path) -> PathBuf {
    let mut name = image.as_os_str().to_os_string();
    name.push(".isofish-undo");
    PathBuf::from(name)
}

/// Writes the journal for a commit that changes `image` (open for reading) from `old_len` to
/// `new_len` bytes and overwrites `ranges` (offset, length): their bytes as they are now,
/// within the old length. Created exclusively (a journal already there is an error), fsynced
/// with its directory.
pub fn write(
    journal: &Path,
    image: &File,
    old_len: u64,
    new_len: u64,
    ranges: &[(u64, u64)],
) -> Result<()> {
    let name = journal.display().to_string();
    let io_err = |e: io::Error| Error::io(&name, e);
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(journal)
        .map_err(io_err)?;
    let mut digest = CRC32.digest();
    let mut out = BufWriter::with_capacity(CHUNK, &file);
    let mut put = |bytes: &[u8], out: &mut BufWriter<&File>| {
        digest.update(bytes);
        out.write_all(bytes)
    };
    let kept: Vec<(u64, u64)> = ranges
        .iter()
        .filter(|&&(at, _)| at < old_len)
        .map(|&(at, len)| (at, len.min(old_len - at)))
        .collect();
    let mut header = MAGIC.to_vec();
    for v in [old_len, new_len, kept.len() as u64] {
        header.extend_from_slice(&v.to_le_bytes());
    }
    put(&header, &mut out).map_err(io_err)?;
    let mut buf = vec![0u8; CHUNK];
    for &(at, len) in &kept {
        let mut head = at.to_le_bytes().to_vec();
        head.extend_from_slice(&len.to_le_bytes());
        put(&head, &mut out).map_err(io_err)?;
        let mut done = 0;
        while done < len {
            let n = (len - done).min(CHUNK as u64) as usize;
            image
                .read_exact_at(&mut buf[..n], at + done)
                .map_err(|e| Error::io("the image", e))?;
            put(&buf[..n], &mut out).map_err(io_err)?;
            done += n as u64;
        }
    }
    let crc = digest.finalize();
    out.write_all(&crc.to_le_bytes()).map_err(io_err)?;
    out.write_all(DONE).map_err(io_err)?;
    out.flush().map_err(io_err)?;
    drop(out);
    file.sync_all().map_err(io_err)?;
    sync_dir(journal)
}

/// Removes the journal once the image is safe, and fsyncs its directory.
pub fn remove(journal: &Path) -> Result<()> {
    std::fs::remove_file(journal).map_err(|e| Error::io(journal.display().to_string(), e))?;
    sync_dir(journal)
}

/// Fsyncs the directory that holds `path` (so a file made or removed there stays so).
fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir.display().to_string(), e))
}

/// What [`roll_back`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum RolledBack {
    /// No journal.
    Nothing,
    /// A journal cut short (the image had not been touched) was removed.
    Incomplete,
    /// The image was put back as it was before the interrupted commit.
    Restored { ranges: u64, old_len: u64 },
}

/// Puts `image` back as it was before an interrupted in-place commit, when its journal is
/// there, and removes the journal. Running it again after it was itself interrupted gives the
/// same result.
pub fn roll_back(image: &Path) -> Result<RolledBack> {
    let journal = path_of(image);
    let name = journal.display().to_string();
    let file = match File::open(&journal) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(RolledBack::Nothing),
        Err(e) => return Err(Error::io(&name, e)),
    };
    let size = file.metadata().map_err(|e| Error::io(&name, e))?.len();
    let Some(header) = checked(&file, size, &name)? else {
        remove(&journal)?;
        return Ok(RolledBack::Incomplete);
    };
    let target = OpenOptions::new()
        .write(true)
        .open(image)
        .map_err(|e| Error::io(image.display().to_string(), e))?;
    // The check read it to its end: back to the first range.
    (&file)
        .seek(SeekFrom::Start(HEADER))
        .map_err(|e| Error::io(&name, e))?;
    let mut r = BufReader::with_capacity(CHUNK, &file);
    let mut buf = vec![0u8; CHUNK];
    for _ in 0..header.count {
        let (at, len) = (read_u64(&mut r, &name)?, read_u64(&mut r, &name)?);
        let mut done = 0;
        while done < len {
            let n = (len - done).min(CHUNK as u64) as usize;
            r.read_exact(&mut buf[..n])
                .map_err(|e| Error::io(&name, e))?;
            target
                .write_all_at(&buf[..n], at + done)
                .map_err(|e| Error::io(image.display().to_string(), e))?;
            done += n as u64;
        }
    }
    let shown = image.display().to_string();
    target
        .set_len(header.old_len)
        .map_err(|e| Error::io(&shown, e))?;
    target.sync_all().map_err(|e| Error::io(&shown, e))?;
    remove(&journal)?;
    Ok(RolledBack::Restored {
        ranges: header.count,
        old_len: header.old_len,
    })
}

/// The journal's header fields.
struct Header {
    old_len: u64,
    count: u64,
}

/// Reads the whole journal once: its header, each range's length against what is left, and
/// the trailer's CRC. `None` when it is incomplete (cut short, or its CRC does not match);
/// an error when it is complete but not a journal isofish wrote.
fn checked(file: &File, size: u64, name: &str) -> Result<Option<Header>> {
    if size < HEADER + TRAILER {
        return Ok(None);
    }
    let mut r = BufReader::with_capacity(CHUNK, file);
    let mut head = [0u8; HEADER as usize];
    r.read_exact(&mut head).map_err(|e| Error::io(name, e))?;
    if &head[..16] != MAGIC {
        return Err(Error::corrupt(
            name,
            STRUCTURE,
            0,
            "not an isofish undo journal",
        ));
    }
    let field =
        |i: usize| u64::from_le_bytes(head[16 + 8 * i..24 + 8 * i].try_into().expect("8 bytes"));
    let header = Header {
        old_len: field(0),
        count: field(2),
    };
    let mut digest = CRC32.digest();
    digest.update(&head);
    let mut pos = HEADER;
    let mut buf = vec![0u8; CHUNK];
    for _ in 0..header.count {
        if size - TRAILER < pos + 16 {
            return Ok(None);
        }
        let mut range = [0u8; 16];
        r.read_exact(&mut range).map_err(|e| Error::io(name, e))?;
        digest.update(&range);
        let len = u64::from_le_bytes(range[8..].try_into().expect("8 bytes"));
        pos += 16;
        if len > size - TRAILER - pos {
            return Ok(None);
        }
        let mut left = len;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            r.read_exact(&mut buf[..n])
                .map_err(|e| Error::io(name, e))?;
            digest.update(&buf[..n]);
            left -= n as u64;
        }
        pos += len;
    }
    if pos + TRAILER != size {
        return Ok(None);
    }
    let mut trailer = [0u8; TRAILER as usize];
    r.read_exact(&mut trailer).map_err(|e| Error::io(name, e))?;
    let ok = trailer[..4] == digest.finalize().to_le_bytes() && &trailer[4..] == DONE;
    Ok(ok.then_some(header))
}

fn read_u64(r: &mut impl Read, name: &str) -> Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b).map_err(|e| Error::io(name, e))?;
    Ok(u64::from_le_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.iso");
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    #[test]
    fn rolls_back_ranges_and_growth() {
        let old: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let (_d, path) = image(&old);
        let journal = path_of(&path);
        let f = File::open(&path).unwrap();
        write(
            &journal,
            &f,
            old.len() as u64,
            12_000,
            &[(100, 50), (9_990, 500)],
        )
        .unwrap();
        let mut now = old.clone();
        now[100..150].fill(0xee);
        now[9_990..].fill(0xee);
        now.resize(12_000, 0xee);
        std::fs::write(&path, &now).unwrap();
        assert_eq!(
            roll_back(&path).unwrap(),
            RolledBack::Restored {
                ranges: 2,
                old_len: 10_000
            }
        );
        assert_eq!(std::fs::read(&path).unwrap(), old);
        assert!(!journal.exists());
        assert_eq!(roll_back(&path).unwrap(), RolledBack::Nothing);
    }

    #[test]
    fn a_journal_cut_short_is_dropped_and_the_image_left() {
        let old = vec![7u8; 4096];
        let (_d, path) = image(&old);
        let journal = path_of(&path);
        let f = File::open(&path).unwrap();
        write(&journal, &f, 4096, 4096, &[(0, 4096)]).unwrap();
        let full = std::fs::read(&journal).unwrap();
        for cut in [0, 10, HEADER as usize + 3, full.len() - 1] {
            std::fs::write(&journal, &full[..cut]).unwrap();
            std::fs::write(&path, [9u8; 4096]).unwrap();
            assert_eq!(
                roll_back(&path).unwrap(),
                RolledBack::Incomplete,
                "cut at {cut}"
            );
            assert_eq!(std::fs::read(&path).unwrap(), vec![9u8; 4096]);
        }
        // A flipped byte anywhere is a CRC mismatch: not trusted.
        let mut bad = full.clone();
        bad[HEADER as usize + 20] ^= 1;
        std::fs::write(&journal, &bad).unwrap();
        assert_eq!(roll_back(&path).unwrap(), RolledBack::Incomplete);
        // A hostile range length is checked against the file, not allocated.
        let mut huge = full.clone();
        huge[HEADER as usize + 8..HEADER as usize + 16].copy_from_slice(&u64::MAX.to_le_bytes());
        std::fs::write(&journal, &huge).unwrap();
        assert_eq!(roll_back(&path).unwrap(), RolledBack::Incomplete);
    }
}
