//! Lookup tables, the shape of the fragment, export and id tables: fixed-size entries packed
//! into metadata blocks, and where the superblock points, an index of the image offsets (u64
//! each) of those blocks. Read whole: the index is read from the image (so a count the image
//! cannot hold is refused before anything is sized by it), then each block, which must end by
//! the next block's offset (the last by the index: blocks never overlap, as the kernel
//! requires of the id table) and hold a full 8 KiB of entries unless it is the last.

use super::compression::Compressor;
use super::metadata::{self, BLOCK};
use crate::error::{Error, Result};
use crate::ondisk::Fields;
use crate::source::Source;

/// The `count` entries of `size` bytes each of the lookup table whose index lies at `index`,
/// end to end; errors name `structure`.
pub fn read(
    source: &dyn Source,
    compressor: Compressor,
    index: u64,
    (count, size): (u64, u64),
    structure: &'static str,
) -> Result<Vec<u8>> {
    let bytes = count * size;
    let blocks = bytes.div_ceil(BLOCK as u64);
    let index_len = usize::try_from(blocks * 8)
        .map_err(|_| Error::corrupt(source.name(), structure, index, format!("{count} entries")))?;
    let raw = source.read_vec(index, index_len, structure)?;
    let f = Fields::new(&raw, source.name(), structure, index);
    let pointers = index_len / 8;
    let mut out = Vec::new();
    for i in 0..pointers {
        let at = f.le64(i * 8)?;
        let end = if i + 1 < pointers {
            f.le64(i * 8 + 8)?
        } else {
            index
        };
        let h = metadata::header(source, at, end, structure)?;
        let before = out.len();
        metadata::decode(source, compressor, &h, structure, &mut out)?;
        let need = (bytes - before as u64).min(BLOCK as u64);
        if ((out.len() - before) as u64) < need {
            return Err(Error::corrupt(
                source.name(),
                structure,
                at,
                format!(
                    "block {i} holds {} bytes of entries; the table needs {need} from it",
                    out.len() - before
                ),
            ));
        }
    }
    out.truncate(bytes as usize);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::fs::squashfs::compression::Compressor;
    use crate::fs::squashfs::data::DataSize;
    use crate::fs::squashfs::fragment::{self, Fragment};
    use crate::fs::squashfs::id;
    use crate::fs::squashfs::inode::tests::superblock;
    use crate::fs::squashfs::metadata::STORED;
    use crate::fs::squashfs::superblock::Superblock;
    use crate::source::MemSource;

    /// 96 bytes of zeros, `entries` in one metadata block stored plainly, then the index
    /// (`pointers`, or the block's offset); the image and where its index lies.
    fn image(entries: &[u8], pointers: Option<&[u64]>) -> (Vec<u8>, u64) {
        let mut image = vec![0; 96];
        image.extend((entries.len() as u16 | STORED).to_le_bytes());
        image.extend(entries);
        let index = image.len() as u64;
        for p in pointers.unwrap_or(&[96]) {
            image.extend(p.to_le_bytes());
        }
        (image, index)
    }

    /// Two fragment entries: (1000, 17 stored plainly) and (2000, 33).
    fn fragments() -> Vec<u8> {
        let mut b = Vec::new();
        for (start, size) in [(1000u64, 17 | 1 << 24), (2000, 33u32)] {
            b.extend(start.to_le_bytes());
            b.extend(size.to_le_bytes());
            b.extend(0u32.to_le_bytes());
        }
        b
    }

    fn read_fragments(image: Vec<u8>, at: u64, count: u32) -> Result<Vec<Fragment>, String> {
        let sb = Superblock {
            frag_count: count,
            frag_table: at,
            ..superblock(0, 0, 1)
        };
        let source = MemSource::new(image, "t.sqfs");
        fragment::read(&source, Compressor::Gzip, &sb).map_err(|e| e.to_string())
    }

    #[test]
    fn fragment_and_id_entries_read_back() {
        let (bytes, index) = image(&fragments(), None);
        let read = read_fragments(bytes, index, 2).unwrap();
        let want = [
            Fragment {
                start: 1000,
                size: DataSize(17 | 1 << 24),
            },
            Fragment {
                start: 2000,
                size: DataSize(33),
            },
        ];
        assert_eq!(read, want);
        let ids: Vec<u8> = [0u32, 1000, 65534]
            .iter()
            .flat_map(|i| i.to_le_bytes())
            .collect();
        let (bytes, index) = image(&ids, None);
        let sb = Superblock {
            id_count: 3,
            id_table: index,
            ..superblock(0, 0, 1)
        };
        let source = MemSource::new(bytes, "t.sqfs");
        assert_eq!(
            id::read(&source, Compressor::Gzip, &sb).unwrap(),
            [0, 1000, 65534]
        );
    }

    #[test]
    fn counts_and_pointers_the_table_cannot_hold_are_errors_naming_it() {
        let (bytes, index) = image(&fragments(), None);
        let e = read_fragments(bytes.clone(), index, 3).unwrap_err();
        assert!(
            e.contains("corrupt squashfs fragment table at offset 96: block 0 holds 32 bytes of entries; the table needs 48 from it"),
            "{e}"
        );
        // 2^32 - 1 entries need an index of 64 MiB.
        let e = read_fragments(bytes.clone(), index, u32::MAX).unwrap_err();
        assert!(
            e.contains("67108864 bytes would pass the end of the image"),
            "{e}"
        );
        // The index past the image.
        let e = read_fragments(bytes, 1 << 20, 2).unwrap_err();
        assert!(
            e.contains("squashfs fragment table at offset 1048576: 8 bytes would pass"),
            "{e}"
        );
        // A pointer past the image, or to a block that runs past the index.
        let (bytes, index) = image(&fragments(), Some(&[1 << 40]));
        let e = read_fragments(bytes, index, 2).unwrap_err();
        assert!(
            e.contains("squashfs fragment table at offset 1099511627776"),
            "{e}"
        );
        let (mut bytes, _) = image(&fragments(), None);
        bytes[..8].copy_from_slice(&96u64.to_le_bytes());
        let e = read_fragments(bytes, 0, 2).unwrap_err();
        assert!(
            e.contains("at offset 96: a metadata block of 32 bytes does not fit before 0"),
            "{e}"
        );
        // As many ids as a u16 counts need an index of 256 bytes.
        let sb = Superblock {
            id_count: u16::MAX,
            id_table: 96,
            ..superblock(0, 0, 1)
        };
        let e = id::read(
            &MemSource::new(vec![0; 200], "t.sqfs"),
            Compressor::Gzip,
            &sb,
        );
        let e = e.unwrap_err().to_string();
        assert!(
            e.contains("corrupt squashfs id table at offset 96: 256 bytes would pass the end of the image (200)"),
            "{e}"
        );
    }
}
