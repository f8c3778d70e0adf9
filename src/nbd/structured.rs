//! Structured replies (`NBD_OPT_STRUCTURED_REPLY`): the reply chunks of a read (data, holes),
//! of a block status request (the `base:allocation` metadata context's extents), and error
//! chunks with a message for the user.

use std::io::{self, Write};

const STRUCTURED_REPLY_MAGIC: u32 = 0x668e_33ef;

/// `NBD_REPLY_FLAG_DONE`: the last chunk of a reply.
pub const DONE: u16 = 1 << 0;

const TYPE_NONE: u16 = 0;
const TYPE_OFFSET_DATA: u16 = 1;
const TYPE_OFFSET_HOLE: u16 = 2;
const TYPE_BLOCK_STATUS: u16 = 5;
const TYPE_ERROR: u16 = (1 << 15) + 1;

/// The one metadata context served: which extents hold data and which read as zeros.
pub const BASE_ALLOCATION: &str = "base:allocation";
/// The id the server gives [`BASE_ALLOCATION`].
pub const BASE_ALLOCATION_ID: u32 = 1;

/// `NBD_STATE_HOLE | NBD_STATE_ZERO`: an extent with no data, reading as zeros.
pub const STATE_HOLE_ZERO: u32 = 0b11;

/// The most extents one block status reply carries (a client asks again for the rest).
pub const MAX_EXTENTS: usize = 4096;

/// Writes a chunk's header: `flags`, `kind`, the request's cookie and the payload's length.
fn header(w: &mut impl Write, flags: u16, kind: u16, cookie: u64, len: u32) -> io::Result<()> {
    let mut b = [0u8; 20];
    b[0..4].copy_from_slice(&STRUCTURED_REPLY_MAGIC.to_be_bytes());
    b[4..6].copy_from_slice(&flags.to_be_bytes());
    b[6..8].copy_from_slice(&kind.to_be_bytes());
    b[8..16].copy_from_slice(&cookie.to_be_bytes());
    b[16..20].copy_from_slice(&len.to_be_bytes());
    w.write_all(&b)
}

/// The reply with no payload: success.
pub fn done(w: &mut impl Write, cookie: u64) -> io::Result<()> {
    header(w, DONE, TYPE_NONE, cookie, 0)
}

/// A read's data at `offset` (at most [`MAX_REQUEST`](super::MAX_REQUEST) bytes).
pub fn data(
    w: &mut impl Write,
    cookie: u64,
    flags: u16,
    offset: u64,
    data: &[u8],
) -> io::Result<()> {
    let len = u32::try_from(data.len() + 8).expect("a chunk within the request limit");
    header(w, flags, TYPE_OFFSET_DATA, cookie, len)?;
    w.write_all(&offset.to_be_bytes())?;
    w.write_all(data)
}

/// A hole in a read: `len` bytes at `offset` read as zeros.
pub fn hole(w: &mut impl Write, cookie: u64, flags: u16, offset: u64, len: u32) -> io::Result<()> {
    header(w, flags, TYPE_OFFSET_HOLE, cookie, 12)?;
    w.write_all(&offset.to_be_bytes())?;
    w.write_all(&len.to_be_bytes())
}

/// The last chunk of a failed request: error number `errno` and a message for the user.
pub fn error(w: &mut impl Write, cookie: u64, errno: u32, message: &str) -> io::Result<()> {
    let message = &message.as_bytes()[..message.len().min(4096)];
    header(w, DONE, TYPE_ERROR, cookie, 6 + message.len() as u32)?;
    w.write_all(&errno.to_be_bytes())?;
    w.write_all(&(message.len() as u16).to_be_bytes())?;
    w.write_all(message)
}

/// The extents of context `id` as the last chunk of a block status reply: (length, flags)
/// pairs from the request's offset on.
pub fn block_status(
    w: &mut impl Write,
    cookie: u64,
    id: u32,
    extents: &[(u32, u32)],
) -> io::Result<()> {
    let len = 4 + 8 * extents.len();
    let mut b = Vec::with_capacity(len);
    b.extend_from_slice(&id.to_be_bytes());
    for (length, flags) in extents {
        b.extend_from_slice(&length.to_be_bytes());
        b.extend_from_slice(&flags.to_be_bytes());
    }
    header(w, DONE, TYPE_BLOCK_STATUS, cookie, len as u32)?;
    w.write_all(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_carry_their_header_and_payload() {
        let mut out = Vec::new();
        hole(&mut out, 7, DONE, 4096, 512).unwrap();
        assert_eq!(&out[0..4], &[0x66, 0x8e, 0x33, 0xef]);
        assert_eq!(&out[4..8], &[0, 1, 0, 2]);
        assert_eq!(&out[8..16], &7u64.to_be_bytes());
        assert_eq!(&out[16..20], &12u32.to_be_bytes());
        assert_eq!(&out[20..], &[0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 2, 0]);
        out.clear();
        error(&mut out, 1, 22, "no").unwrap();
        assert_eq!(&out[6..8], &[0x80, 1]);
        assert_eq!(&out[16..], &[0, 0, 0, 8, 0, 0, 0, 22, 0, 2, b'n', b'o']);
        out.clear();
        block_status(&mut out, 1, BASE_ALLOCATION_ID, &[(4096, 0), (8192, 3)]).unwrap();
        assert_eq!(&out[16..20], &20u32.to_be_bytes());
        assert_eq!(&out[20..24], &1u32.to_be_bytes());
        assert_eq!(&out[32..40], &[0, 0, 0x20, 0, 0, 0, 0, 3]);
    }
}
