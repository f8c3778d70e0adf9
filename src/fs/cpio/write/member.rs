//! One member written anew: its header in the archive's format (newc, crc with the checksum of
//! its data, odc, old binary), its name, its data, and the padding each format puts after the
//! name and the data; and the `TRAILER!!!` member with the padding GNU cpio ends an archive
//! with. The header encoders are beside their decoders (`newc.rs`, `odc.rs`, `bin.rs`).

use super::super::bin::Bin;
use super::super::header::Header;
use super::super::newc::Newc;
use super::super::odc::{join_dev, Odc};
use crate::error::{Error, Result};
use crate::fs::Span;
use crate::plan::Plan;

/// GNU cpio pads the end of an archive to its I/O block size.
const BLOCK: u64 = 512;

/// A cpio header format, as the writer writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    Newc,
    Crc,
    Odc,
    /// The old binary header, in the byte order of the archive it goes into.
    Bin {
        little: bool,
    },
}

impl Format {
    /// The format the reader named `name` (`bin`'s byte order from its magic's first byte).
    pub(super) fn of(name: &str, first_byte: u8) -> Format {
        match name {
            "newc" => Format::Newc,
            "crc" => Format::Crc,
            "odc" => Format::Odc,
            _ => Format::Bin {
                little: first_byte == 0xc7,
            },
        }
    }

    /// The alignment of the name's end and of the data's end.
    fn align(self) -> u64 {
        match self {
            Format::Newc | Format::Crc => 4,
            Format::Odc => 1,
            Format::Bin { .. } => 2,
        }
    }

    /// Whether only the last name of a hard-linked file carries its data (else every name
    /// does).
    pub(super) fn data_on_last_link(self) -> bool {
        matches!(self, Format::Newc | Format::Crc)
    }

    /// Whether the header carries a checksum of the data.
    pub(super) fn checksummed(self) -> bool {
        self == Format::Crc
    }

    /// The encoded header of a member (`f`, whose `namesize`, `header_len` and `align` are
    /// not looked at) named with `namesize` bytes (its NUL included), or why a field does not
    /// fit the format.
    fn header(self, f: &Header, namesize: u64, check: u32, image: &str) -> Result<Vec<u8>> {
        let too_big = |what: &str, value: u64| {
            Error::unsupported(
                image,
                format!(
                    "a cpio member's {what} of {value} does not fit the archive's {self:?} header"
                ),
            )
        };
        let small = |what: &str, value: u64| u32::try_from(value).map_err(|_| too_big(what, value));
        let mtime = f.mtime.max(0) as u64;
        Ok(match self {
            Format::Newc | Format::Crc => Newc {
                crc: self == Format::Crc,
                ino: small("inode number", f.ino)?,
                mode: f.mode,
                uid: f.uid,
                gid: f.gid,
                nlink: f.nlink,
                mtime: small("time", mtime)?,
                filesize: small("size", f.filesize)?,
                dev_major: f.dev.0,
                dev_minor: f.dev.1,
                rdev_major: f.rdev.0,
                rdev_minor: f.rdev.1,
                namesize: small("name size", namesize)?,
                check,
            }
            .encode()
            .to_vec(),
            Format::Odc => Odc {
                dev: join_dev(f.dev).unwrap_or(0),
                ino: small("inode number", f.ino)?,
                mode: f.mode,
                uid: f.uid,
                gid: f.gid,
                nlink: f.nlink,
                rdev: join_dev(f.rdev)
                    .ok_or_else(|| too_big("device number", u64::from(f.rdev.0)))?,
                mtime,
                namesize: small("name size", namesize)?,
                filesize: f.filesize,
            }
            .encode()
            .ok_or_else(|| too_big("field", f.filesize.max(f.ino)))?
            .to_vec(),
            Format::Bin { little } => {
                let word = |what: &str, v: u64| u16::try_from(v).map_err(|_| too_big(what, v));
                Bin {
                    little,
                    dev: join_dev(f.dev).unwrap_or(0) as u16,
                    ino: word("inode number", f.ino)?,
                    mode: word("mode", u64::from(f.mode))?,
                    uid: word("owner", u64::from(f.uid))?,
                    gid: word("group", u64::from(f.gid))?,
                    nlink: word("link count", u64::from(f.nlink))?,
                    rdev: join_dev(f.rdev)
                        .and_then(|d| u16::try_from(d).ok())
                        .ok_or_else(|| too_big("device number", u64::from(f.rdev.0)))?,
                    mtime: small("time", mtime)?,
                    namesize: word("name size", namesize)?,
                    filesize: small("size", f.filesize)?,
                }
                .encode()
                .to_vec()
            }
        })
    }

    /// Appends a member to `out` (an archive being written from its start): header, `name`
    /// with its NUL, padding, `data` (`f.filesize` bytes) and padding. `check` is the sum of
    /// the data's bytes for [`Format::Crc`].
    pub(super) fn push_member(
        self,
        out: &mut Plan,
        f: &Header,
        name: &[u8],
        data: Vec<Span>,
        check: u32,
        image: &str,
    ) -> Result<()> {
        let namesize = name.len() as u64 + 1;
        let mut head = self.header(f, namesize, check, image)?;
        head.extend_from_slice(name);
        head.push(0);
        out.push_bytes(head);
        out.pad_to(self.align());
        for span in data {
            out.push(span);
        }
        out.pad_to(self.align());
        Ok(())
    }

    /// Appends the `TRAILER!!!` member (every field zero but the link count, as GNU cpio
    /// writes it) and pads the archive to 512 bytes, as GNU cpio ends one.
    pub(super) fn push_trailer(self, out: &mut Plan, image: &str) -> Result<()> {
        self.push_trailer_member(out, image)?;
        out.pad_to(BLOCK);
        Ok(())
    }

    /// Appends the `TRAILER!!!` member alone.
    pub(super) fn push_trailer_member(self, out: &mut Plan, image: &str) -> Result<()> {
        let trailer = Header {
            nlink: 1,
            ..Header::default()
        };
        self.push_member(out, &trailer, b"TRAILER!!!", Vec::new(), 0, image)
    }
}
