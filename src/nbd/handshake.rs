//! The fixed newstyle handshake and its option haggling: `NBD_OPT_EXPORT_NAME`, `GO`, `INFO`
//! (export size and flags, name, description, block size constraints), `LIST`, `ABORT`,
//! `STRUCTURED_REPLY`, and `LIST_META_CONTEXT`/`SET_META_CONTEXT` for `base:allocation`.
//! Anything else gets `NBD_REP_ERR_UNSUP`; a malformed option `NBD_REP_ERR_INVALID`.

use std::io::{self, Read, Write};

use super::structured::{BASE_ALLOCATION, BASE_ALLOCATION_ID};
use super::{Export, BLOCK, MAX_REQUEST};

const NBDMAGIC: u64 = 0x4e42_444d_4147_4943;
const IHAVEOPT: u64 = 0x4948_4156_454f_5054;
const OPT_REPLY_MAGIC: u64 = 0x0003_e889_0455_65a9;

const FLAG_FIXED_NEWSTYLE: u16 = 1 << 0;
const FLAG_NO_ZEROES: u16 = 1 << 1;

const OPT_EXPORT_NAME: u32 = 1;
const OPT_ABORT: u32 = 2;
const OPT_LIST: u32 = 3;
const OPT_INFO: u32 = 6;
const OPT_GO: u32 = 7;
const OPT_STRUCTURED_REPLY: u32 = 8;
const OPT_LIST_META_CONTEXT: u32 = 9;
const OPT_SET_META_CONTEXT: u32 = 10;

const REP_ACK: u32 = 1;
const REP_SERVER: u32 = 2;
const REP_INFO: u32 = 3;
const REP_META_CONTEXT: u32 = 4;
const REP_ERR_UNSUP: u32 = (1 << 31) + 1;
const REP_ERR_INVALID: u32 = (1 << 31) + 3;
const REP_ERR_UNKNOWN: u32 = (1 << 31) + 6;
const REP_ERR_TOO_BIG: u32 = (1 << 31) + 9;

const INFO_EXPORT: u16 = 0;
const INFO_NAME: u16 = 1;
const INFO_DESCRIPTION: u16 = 2;
const INFO_BLOCK_SIZE: u16 = 3;

const TX_HAS_FLAGS: u16 = 1 << 0;
const TX_READ_ONLY: u16 = 1 << 1;
const TX_SEND_FLUSH: u16 = 1 << 2;
const TX_SEND_FUA: u16 = 1 << 3;
const TX_SEND_TRIM: u16 = 1 << 5;
const TX_SEND_WRITE_ZEROES: u16 = 1 << 6;
const TX_SEND_DF: u16 = 1 << 7;
const TX_CAN_MULTI_CONN: u16 = 1 << 8;

/// The longest option the server reads; longer ones are skipped (`NBD_REP_ERR_TOO_BIG`).
const MAX_OPTION: u32 = 64 << 10;
/// The longest string (export name, context query) the protocol allows.
const MAX_STRING: usize = 4096;

/// What the client and the server agreed on, for the transmission phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Agreed {
    /// Structured replies (`NBD_OPT_STRUCTURED_REPLY`).
    pub structured: bool,
    /// `base:allocation` was selected: block status requests are answered.
    pub allocation: bool,
}

/// An option reply.
fn reply(w: &mut impl Write, option: u32, kind: u32, data: &[u8]) -> io::Result<()> {
    let mut b = Vec::with_capacity(20 + data.len());
    b.extend_from_slice(&OPT_REPLY_MAGIC.to_be_bytes());
    b.extend_from_slice(&option.to_be_bytes());
    b.extend_from_slice(&kind.to_be_bytes());
    b.extend_from_slice(&(data.len() as u32).to_be_bytes());
    b.extend_from_slice(data);
    w.write_all(&b)
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_be_bytes(b))
}

fn read_u64(r: &mut impl Read) -> io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_be_bytes(b))
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// The transmission flags of `export`.
fn transmission_flags(export: &Export, agreed: Agreed) -> u16 {
    let mut flags = TX_HAS_FLAGS | TX_SEND_FLUSH | TX_SEND_FUA | TX_CAN_MULTI_CONN;
    flags |= match export.is_writable() {
        true => TX_SEND_TRIM | TX_SEND_WRITE_ZEROES,
        false => TX_READ_ONLY,
    };
    if agreed.structured {
        flags |= TX_SEND_DF;
    }
    flags
}

/// A cursor over an option's data, for its fields; running past the end is `None`.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, &self.0[n..]);
        self.0 = rest;
        Some(head)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes")))
    }
    /// A string: a 32-bit length, then that many bytes (at most [`MAX_STRING`]).
    fn string(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        if n > MAX_STRING {
            return None;
        }
        self.take(n)
    }
}

/// Runs the handshake on `stream` for `export`: the greeting, the client's flags, then options
/// until the client picks the export (`Some`, with what was agreed) or leaves (`None`). A
/// client breaking the protocol is an `InvalidData` error (the connection is closed).
pub fn negotiate(
    r: &mut impl Read,
    w: &mut impl Write,
    export: &Export,
) -> io::Result<Option<Agreed>> {
    let mut greeting = Vec::with_capacity(18);
    greeting.extend_from_slice(&NBDMAGIC.to_be_bytes());
    greeting.extend_from_slice(&IHAVEOPT.to_be_bytes());
    greeting.extend_from_slice(&(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES).to_be_bytes());
    w.write_all(&greeting)?;
    w.flush()?;
    let client = read_u32(r)?;
    let known = u32::from(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
    if client & !known != 0 {
        return Err(invalid(format!("unknown client flags {client:#x}")));
    }
    let no_zeroes = client & u32::from(FLAG_NO_ZEROES) != 0;
    let mut agreed = Agreed::default();
    loop {
        let magic = read_u64(r)?;
        if magic != IHAVEOPT {
            return Err(invalid(format!("bad option magic {magic:#018x}")));
        }
        let option = read_u32(r)?;
        let len = read_u32(r)?;
        if len > MAX_OPTION {
            io::copy(&mut r.take(u64::from(len)), &mut io::sink())?;
            reply(w, option, REP_ERR_TOO_BIG, b"option too long")?;
            w.flush()?;
            continue;
        }
        let mut data = vec![0u8; len as usize];
        r.read_exact(&mut data)?;
        match option {
            OPT_EXPORT_NAME => {
                if !export.answers_to(&data) {
                    return Err(invalid(format!(
                        "no export named {:?}",
                        String::from_utf8_lossy(&data)
                    )));
                }
                let mut b = Vec::with_capacity(134);
                b.extend_from_slice(&export.len().to_be_bytes());
                b.extend_from_slice(&transmission_flags(export, agreed).to_be_bytes());
                if !no_zeroes {
                    b.extend_from_slice(&[0u8; 124]);
                }
                w.write_all(&b)?;
                w.flush()?;
                return Ok(Some(agreed));
            }
            OPT_ABORT => {
                // The client may already be gone: the acknowledgement is a courtesy.
                let _ = reply(w, option, REP_ACK, &[]).and_then(|()| w.flush());
                return Ok(None);
            }
            OPT_GO | OPT_INFO => {
                if info(w, option, &data, export, agreed)? && option == OPT_GO {
                    w.flush()?;
                    return Ok(Some(agreed));
                }
            }
            OPT_LIST if data.is_empty() => {
                let name = export.name().as_bytes();
                let mut b = (name.len() as u32).to_be_bytes().to_vec();
                b.extend_from_slice(name);
                reply(w, option, REP_SERVER, &b)?;
                reply(w, option, REP_ACK, &[])?;
            }
            OPT_STRUCTURED_REPLY if data.is_empty() => {
                agreed.structured = true;
                reply(w, option, REP_ACK, &[])?;
            }
            OPT_SET_META_CONTEXT if !agreed.structured => {
                reply(w, option, REP_ERR_INVALID, b"structured replies first")?;
            }
            OPT_LIST_META_CONTEXT | OPT_SET_META_CONTEXT => {
                let set = option == OPT_SET_META_CONTEXT;
                match meta_context(&data, export, set) {
                    Err(kind) => reply(w, option, kind, &[])?,
                    Ok(selected) => {
                        if selected {
                            let mut b = BASE_ALLOCATION_ID.to_be_bytes().to_vec();
                            b.extend_from_slice(BASE_ALLOCATION.as_bytes());
                            reply(w, option, REP_META_CONTEXT, &b)?;
                        }
                        if set {
                            agreed.allocation = selected;
                        }
                        reply(w, option, REP_ACK, &[])?;
                    }
                }
            }
            OPT_LIST | OPT_STRUCTURED_REPLY => {
                reply(w, option, REP_ERR_INVALID, b"this option takes no data")?
            }
            _ => reply(w, option, REP_ERR_UNSUP, &[])?,
        }
        w.flush()?;
    }
}

/// Answers `NBD_OPT_INFO` or `NBD_OPT_GO`: the export's size and flags, the block size
/// constraints, and its name or description when asked for; true when it was the export.
fn info(
    w: &mut impl Write,
    option: u32,
    data: &[u8],
    export: &Export,
    agreed: Agreed,
) -> io::Result<bool> {
    let mut f = Fields(data);
    let parsed = (|| {
        let name = f.string()?;
        let n = f.u16()?;
        let asked: Vec<u16> = (0..n).map(|_| f.u16()).collect::<Option<_>>()?;
        f.0.is_empty().then_some((name, asked))
    })();
    let Some((name, asked)) = parsed else {
        reply(w, option, REP_ERR_INVALID, b"malformed request")?;
        return Ok(false);
    };
    if !export.answers_to(name) {
        reply(w, option, REP_ERR_UNKNOWN, b"no such export")?;
        return Ok(false);
    }
    let mut size = INFO_EXPORT.to_be_bytes().to_vec();
    size.extend_from_slice(&export.len().to_be_bytes());
    size.extend_from_slice(&transmission_flags(export, agreed).to_be_bytes());
    reply(w, option, REP_INFO, &size)?;
    let mut block = INFO_BLOCK_SIZE.to_be_bytes().to_vec();
    for n in [1, BLOCK, MAX_REQUEST] {
        block.extend_from_slice(&n.to_be_bytes());
    }
    reply(w, option, REP_INFO, &block)?;
    for (kind, text) in [
        (INFO_NAME, export.name()),
        (INFO_DESCRIPTION, export.description()),
    ] {
        if asked.contains(&kind) {
            let mut b = kind.to_be_bytes().to_vec();
            b.extend_from_slice(&text.as_bytes()[..text.len().min(MAX_STRING)]);
            reply(w, option, REP_INFO, &b)?;
        }
    }
    reply(w, option, REP_ACK, &[])?;
    Ok(true)
}

/// The queries of a `LIST_META_CONTEXT` or `SET_META_CONTEXT`: whether `base:allocation` is
/// among the contexts they name (all of them, for a list with no query), or the error reply.
fn meta_context(data: &[u8], export: &Export, set: bool) -> Result<bool, u32> {
    let mut f = Fields(data);
    let name = f.string().ok_or(REP_ERR_INVALID)?;
    let n = f.u32().ok_or(REP_ERR_INVALID)?;
    let mut found = !set && n == 0;
    for _ in 0..n {
        let query = f.string().ok_or(REP_ERR_INVALID)?;
        found |= query == BASE_ALLOCATION.as_bytes() || (!set && query == b"base:");
    }
    if !f.0.is_empty() {
        return Err(REP_ERR_INVALID);
    }
    if !export.answers_to(name) {
        return Err(REP_ERR_UNKNOWN);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::source::MemSource;

    /// The client's side of a handshake: flags, then `options` (number, data).
    fn client(flags: u32, options: &[(u32, Vec<u8>)]) -> Vec<u8> {
        let mut b = flags.to_be_bytes().to_vec();
        for (option, data) in options {
            b.extend_from_slice(&IHAVEOPT.to_be_bytes());
            b.extend_from_slice(&option.to_be_bytes());
            b.extend_from_slice(&(data.len() as u32).to_be_bytes());
            b.extend_from_slice(data);
        }
        b
    }

    fn export() -> Export {
        Export::new(Arc::new(MemSource::new(vec![7; 10_000], "mem")), [])
    }

    /// The replies after the greeting: (option, reply type) of each.
    fn replies(out: &[u8]) -> Vec<(u32, u32)> {
        let mut f = Fields(&out[18..]);
        let mut all = Vec::new();
        while let Some(magic) = f.take(8) {
            assert_eq!(magic, OPT_REPLY_MAGIC.to_be_bytes());
            let (option, kind) = (f.u32().unwrap(), f.u32().unwrap());
            let len = f.u32().unwrap() as usize;
            f.take(len).unwrap();
            all.push((option, kind));
        }
        all
    }

    #[test]
    fn go_after_structured_replies_and_a_meta_context() {
        let mut meta = 0u32.to_be_bytes().to_vec();
        meta.extend_from_slice(&1u32.to_be_bytes());
        meta.extend_from_slice(&(BASE_ALLOCATION.len() as u32).to_be_bytes());
        meta.extend_from_slice(BASE_ALLOCATION.as_bytes());
        let input = client(
            3,
            &[
                (OPT_SET_META_CONTEXT, meta.clone()),
                (OPT_STRUCTURED_REPLY, Vec::new()),
                (OPT_SET_META_CONTEXT, meta),
                (42, b"?".to_vec()),
                (OPT_GO, vec![0, 0, 0, 1, b'x', 0, 0]),
                (OPT_GO, vec![0, 0, 0, 0, 0, 1, 0, 1]),
            ],
        );
        let mut out = Vec::new();
        let agreed = negotiate(&mut &input[..], &mut out, &export()).unwrap();
        assert_eq!(
            agreed,
            Some(Agreed {
                structured: true,
                allocation: true
            })
        );
        let got = replies(&out);
        let want = [
            (OPT_SET_META_CONTEXT, REP_ERR_INVALID),
            (OPT_STRUCTURED_REPLY, REP_ACK),
            (OPT_SET_META_CONTEXT, REP_META_CONTEXT),
            (OPT_SET_META_CONTEXT, REP_ACK),
            (42, REP_ERR_UNSUP),
            (OPT_GO, REP_ERR_UNKNOWN),
            (OPT_GO, REP_INFO),
            (OPT_GO, REP_INFO),
            (OPT_GO, REP_INFO),
            (OPT_GO, REP_ACK),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn garbage_ends_the_handshake_with_an_error_never_a_panic() {
        let mut next = super::super::tests::numbers(0x9e37_79b9_7f4a_7c15u64);
        for _ in 0..2000 {
            let option = [1, 3, 6, 7, 8, 9, 10, 99][(next() % 8) as usize];
            let data: Vec<u8> = (0..next() % 40).map(|_| next() as u8).collect();
            let mut input = client((next() % 4) as u32, &[(option, data)]);
            let cut = (next() as usize) % (input.len() + 1);
            input.truncate(cut);
            let mut out = Vec::new();
            let _ = negotiate(&mut &input[..], &mut out, &export());
        }
    }
}
