//! The transmission phase's requests (`NBD_REQUEST_MAGIC`: flags, type, cookie, offset,
//! length) and the simple reply (`NBD_SIMPLE_REPLY_MAGIC`: error, cookie), with the command
//! types, command flags and error numbers they carry.

use std::io::{self, Read, Write};

const REQUEST_MAGIC: u32 = 0x2560_9513;
const SIMPLE_REPLY_MAGIC: u32 = 0x6744_6698;

/// `NBD_CMD_READ`.
pub const CMD_READ: u16 = 0;
/// `NBD_CMD_WRITE`: the data follows the request.
pub const CMD_WRITE: u16 = 1;
/// `NBD_CMD_DISC`: the client is done.
pub const CMD_DISC: u16 = 2;
/// `NBD_CMD_FLUSH`.
pub const CMD_FLUSH: u16 = 3;
/// `NBD_CMD_TRIM`.
pub const CMD_TRIM: u16 = 4;
/// `NBD_CMD_WRITE_ZEROES`.
pub const CMD_WRITE_ZEROES: u16 = 6;
/// `NBD_CMD_BLOCK_STATUS`.
pub const CMD_BLOCK_STATUS: u16 = 7;

/// `NBD_CMD_FLAG_FUA`: the write is to be durable before the reply.
pub const FLAG_FUA: u16 = 1 << 0;
/// `NBD_CMD_FLAG_NO_HOLE`: write zeroes as data.
pub const FLAG_NO_HOLE: u16 = 1 << 1;
/// `NBD_CMD_FLAG_DF`: a read's data in one chunk.
pub const FLAG_DF: u16 = 1 << 2;
/// `NBD_CMD_FLAG_REQ_ONE`: one extent in a block status reply.
pub const FLAG_REQ_ONE: u16 = 1 << 3;

/// `EPERM`: a write to a read-only export.
pub const EPERM: u32 = 1;
/// `EIO`: the image could not be read.
pub const EIO: u32 = 5;
/// `EINVAL`: a bad request (out of range, too long, unknown command or flag).
pub const EINVAL: u32 = 22;
/// `ENOSPC`: a write past the end.
pub const ENOSPC: u32 = 28;
/// `ENOTSUP`: a command the export does not do.
pub const ENOTSUP: u32 = 95;

/// One request of the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    pub flags: u16,
    pub kind: u16,
    /// The client's handle, given back in the reply.
    pub cookie: u64,
    pub offset: u64,
    pub len: u32,
}

impl Request {
    /// The 28 bytes of a request, decoded; an error (`InvalidData`) on a wrong magic number.
    pub fn decode(b: &[u8; 28]) -> io::Result<Request> {
        let magic = u32::from_be_bytes(b[0..4].try_into().expect("4 bytes"));
        if magic != REQUEST_MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad request magic {magic:#010x}"),
            ));
        }
        Ok(Request {
            flags: u16::from_be_bytes([b[4], b[5]]),
            kind: u16::from_be_bytes([b[6], b[7]]),
            cookie: u64::from_be_bytes(b[8..16].try_into().expect("8 bytes")),
            offset: u64::from_be_bytes(b[16..24].try_into().expect("8 bytes")),
            len: u32::from_be_bytes(b[24..28].try_into().expect("4 bytes")),
        })
    }

    /// The request as the client sends it.
    pub fn encode(&self) -> [u8; 28] {
        let mut b = [0u8; 28];
        b[0..4].copy_from_slice(&REQUEST_MAGIC.to_be_bytes());
        b[4..6].copy_from_slice(&self.flags.to_be_bytes());
        b[6..8].copy_from_slice(&self.kind.to_be_bytes());
        b[8..16].copy_from_slice(&self.cookie.to_be_bytes());
        b[16..24].copy_from_slice(&self.offset.to_be_bytes());
        b[24..28].copy_from_slice(&self.len.to_be_bytes());
        b
    }

    /// The next request from `r`; `None` when the client closed the connection between
    /// requests.
    pub fn read(r: &mut impl Read) -> io::Result<Option<Request>> {
        let mut b = [0u8; 28];
        let mut got = 0;
        while got < b.len() {
            match r.read(&mut b[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Request::decode(&b).map(Some)
    }

    /// The byte just past the range the request names, when it lies inside `size` bytes.
    pub fn end_within(&self, size: u64) -> Option<u64> {
        self.offset
            .checked_add(u64::from(self.len))
            .filter(|&end| end <= size)
    }
}

/// Writes a simple reply: `error` (0 for success) for request `cookie`; a read's data follows.
pub fn simple_reply(w: &mut impl Write, cookie: u64, error: u32) -> io::Result<()> {
    let mut b = [0u8; 16];
    b[0..4].copy_from_slice(&SIMPLE_REPLY_MAGIC.to_be_bytes());
    b[4..8].copy_from_slice(&error.to_be_bytes());
    b[8..16].copy_from_slice(&cookie.to_be_bytes());
    w.write_all(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_decodes_as_encoded_and_a_bad_magic_is_refused() {
        let r = Request {
            flags: FLAG_DF,
            kind: CMD_READ,
            cookie: 0x0102_0304_0506_0708,
            offset: 1 << 40,
            len: 4096,
        };
        let b = r.encode();
        assert_eq!(Request::decode(&b).unwrap(), r);
        let mut bad = b;
        bad[0] ^= 1;
        assert_eq!(
            Request::decode(&bad).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        assert_eq!(Request::read(&mut &b""[..]).unwrap(), None);
        assert!(Request::read(&mut &b[..10]).is_err());
        assert_eq!(r.end_within(1 << 41), Some((1 << 40) + 4096));
        assert_eq!(r.end_within(1 << 40), None);
        let huge = Request {
            offset: u64::MAX,
            ..r
        };
        assert_eq!(huge.end_within(u64::MAX), None);
    }
}
