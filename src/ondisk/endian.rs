//! Fixed-width integers in on-disk byte orders. Readers are checked: they return `None` when
//! the field runs past the slice (or [`Fields`] turns that into a corrupt-structure error), so
//! a short or hostile structure is an error, never a panic. Writers put a field into a buffer
//! the encoder sized itself. Both-endian fields (ECMA-119 §7.2.3 and §7.3.3: the value little-
//! endian, then big-endian) have a reader that takes the little-endian half, as Linux and
//! libisofs do, and one that says whether the halves agree.

use crate::error::{Error, Result};

macro_rules! readers {
    ($($(#[$doc:meta])* $name:ident, $ty:ty, $from:ident;)*) => {$(
        $(#[$doc])*
        #[inline]
        pub fn $name(b: &[u8], at: usize) -> Option<$ty> {
            const N: usize = std::mem::size_of::<$ty>();
            let bytes: [u8; N] = b.get(at..at.checked_add(N)?)?.try_into().ok()?;
            Some(<$ty>::$from(bytes))
        }
    )*};
}

readers! {
    /// The little-endian `u16` at `at`.
    le16, u16, from_le_bytes;
    /// The little-endian `u32` at `at`.
    le32, u32, from_le_bytes;
    /// The little-endian `u64` at `at`.
    le64, u64, from_le_bytes;
    /// The big-endian `u16` at `at`.
    be16, u16, from_be_bytes;
    /// The big-endian `u32` at `at`.
    be32, u32, from_be_bytes;
    /// The big-endian `u64` at `at`.
    be64, u64, from_be_bytes;
}

/// The little-endian half of the both-endian `u16` at `at` (4 bytes on disc).
#[inline]
pub fn both16(b: &[u8], at: usize) -> Option<u16> {
    be16(b, at + 2).and(le16(b, at))
}

/// The little-endian half of the both-endian `u32` at `at` (8 bytes on disc).
#[inline]
pub fn both32(b: &[u8], at: usize) -> Option<u32> {
    be32(b, at + 4).and(le32(b, at))
}

/// True when the two halves of the both-endian `u32` at `at` agree.
pub fn both32_agrees(b: &[u8], at: usize) -> Option<bool> {
    Some(le32(b, at)? == be32(b, at + 4)?)
}

macro_rules! writers {
    ($($(#[$doc:meta])* $name:ident, $ty:ty, $to:ident;)*) => {$(
        $(#[$doc])*
        ///
        /// The buffer is the encoder's own: a field past its end is a bug in the encoder, and
        /// panics.
        #[inline]
        pub fn $name(b: &mut [u8], at: usize, v: $ty) {
            b[at..at + std::mem::size_of::<$ty>()].copy_from_slice(&v.$to());
        }
    )*};
}

writers! {
    /// Writes `v` little-endian at `at`.
    put_le16, u16, to_le_bytes;
    /// Writes `v` little-endian at `at`.
    put_le32, u32, to_le_bytes;
    /// Writes `v` little-endian at `at`.
    put_le64, u64, to_le_bytes;
    /// Writes `v` big-endian at `at`.
    put_be16, u16, to_be_bytes;
    /// Writes `v` big-endian at `at`.
    put_be32, u32, to_be_bytes;
    /// Writes `v` big-endian at `at`.
    put_be64, u64, to_be_bytes;
}

/// Writes `v` both-endian at `at` (4 bytes: little-endian, then big-endian).
pub fn put_both16(b: &mut [u8], at: usize, v: u16) {
    put_le16(b, at, v);
    put_be16(b, at + 2, v);
}

/// Writes `v` both-endian at `at` (8 bytes: little-endian, then big-endian).
pub fn put_both32(b: &mut [u8], at: usize, v: u32) {
    put_le32(b, at, v);
    put_be32(b, at + 4, v);
}

/// The fields of one structure read from a source, with what an error needs to name it: the
/// image, the structure and where it lies. A field that runs past the bytes is a corrupt-
/// structure error at the structure's offset.
#[derive(Clone, Copy)]
pub struct Fields<'a> {
    pub bytes: &'a [u8],
    pub image: &'a str,
    pub structure: &'static str,
    /// Byte offset of `bytes[0]` in the image.
    pub offset: u64,
}

macro_rules! field_readers {
    ($($name:ident, $ty:ty;)*) => {$(
        #[doc = concat!("The field read by [`", stringify!($name), "`](fn@", stringify!($name), ") at `at`, or a corrupt-structure error.")]
        #[inline]
        pub fn $name(&self, at: usize) -> Result<$ty> {
            $name(self.bytes, at).ok_or_else(|| self.short(at, std::mem::size_of::<$ty>()))
        }
    )*};
}

impl<'a> Fields<'a> {
    /// The fields of `bytes`, the `structure` at `offset` in `image`.
    #[inline]
    pub fn new(bytes: &'a [u8], image: &'a str, structure: &'static str, offset: u64) -> Self {
        Fields {
            bytes,
            image,
            structure,
            offset,
        }
    }

    field_readers! {
        le16, u16; le32, u32; le64, u64; be16, u16; be32, u32; be64, u64; both16, u16; both32, u32;
    }

    /// The byte at `at`.
    #[inline]
    pub fn u8(&self, at: usize) -> Result<u8> {
        self.bytes.get(at).copied().ok_or_else(|| self.short(at, 1))
    }

    /// The `len` bytes at `at`.
    #[inline]
    pub fn slice(&self, at: usize, len: usize) -> Result<&'a [u8]> {
        at.checked_add(len)
            .and_then(|end| self.bytes.get(at..end))
            .ok_or_else(|| self.short(at, len))
    }

    /// A corrupt-structure error at this structure, with `detail`.
    #[cold]
    pub fn corrupt(&self, detail: impl Into<String>) -> Error {
        Error::corrupt(self.image, self.structure, self.offset, detail)
    }

    #[cold]
    #[inline(never)]
    fn short(&self, at: usize, len: usize) -> Error {
        self.corrupt(format!(
            "a {len}-byte field at +{at} runs past its {} bytes",
            self.bytes.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_refuse_short_input() {
        let b = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(le16(&b, 0), Some(0x0201));
        assert_eq!(be16(&b, 0), Some(0x0102));
        assert_eq!(le32(&b, 4), Some(0x0807_0605));
        assert_eq!(be64(&b, 0), Some(0x0102_0304_0506_0708));
        assert_eq!(le32(&b, 5), None);
        assert_eq!(le64(&b, 1), None);
        assert_eq!(le16(&b, usize::MAX), None);
        assert_eq!(both32(&b, 1), None);
    }

    #[test]
    fn both_endian_round_trips() {
        let mut b = [0u8; 12];
        put_both32(&mut b, 0, 0x1234_5678);
        put_both16(&mut b, 8, 0xabcd);
        assert_eq!(b[..8], [0x78, 0x56, 0x34, 0x12, 0x12, 0x34, 0x56, 0x78]);
        assert_eq!(both32(&b, 0), Some(0x1234_5678));
        assert_eq!(both32_agrees(&b, 0), Some(true));
        assert_eq!(both16(&b, 8), Some(0xabcd));
        b[7] = 0;
        assert_eq!(both32_agrees(&b, 0), Some(false));
    }

    #[test]
    fn writers_round_trip() {
        let mut b = [0u8; 8];
        put_le64(&mut b, 0, 0x0102_0304_0506_0708);
        assert_eq!(le64(&b, 0), Some(0x0102_0304_0506_0708));
        put_be32(&mut b, 4, 0xdead_beef);
        assert_eq!(be32(&b, 4), Some(0xdead_beef));
        put_le16(&mut b, 0, 0xbeef);
        put_be16(&mut b, 2, 0xbeef);
        assert_eq!(le16(&b, 0), be16(&b, 2));
    }

    #[test]
    fn fields_name_the_structure() {
        let b = [0u8; 4];
        let f = Fields::new(&b, "x.iso", "path table record", 2048);
        assert_eq!(f.le32(0).unwrap(), 0);
        let e = f.le32(2).unwrap_err().to_string();
        assert!(
            e.contains("x.iso") && e.contains("path table record") && e.contains("2048"),
            "{e}"
        );
        assert!(f.slice(3, 2).is_err());
        assert!(f.u8(4).is_err());
    }
}
