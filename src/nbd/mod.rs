//! An NBD server (the Network Block Device protocol, fixed newstyle, no TLS) serving any
//! [`Source`](crate::source::Source) of known length: the image a commit would write, read on
//! the fly from its [`Plan`](crate::plan::Plan) (metadata from memory, unchanged data from the
//! original image, uploads from their host files), so that qemu, nbdcopy, nbdinfo or nbdfuse
//! use a remastered image before, or instead of, writing it.
//!
//! One file per part of the protocol: the option haggling ([`handshake`]), requests and simple
//! replies ([`request`]), structured replies and block status ([`structured`]), the listeners
//! and the transmission loop, a thread per connection ([`server`]). What is served, with its
//! zero extents and the copy-on-write overlay of `--rw`, is an [`Export`] ([`export`],
//! [`overlay`]).

pub mod export;
pub mod handshake;
pub mod overlay;
pub mod request;
pub mod server;
pub mod structured;

pub use export::Export;
pub use server::{Listen, Server};

/// The largest request served, in bytes: a read or write of more is refused (`EINVAL`), so a
/// connection never holds more than this much of the image in memory. The block size
/// constraints advertise it as the maximum.
pub const MAX_REQUEST: u32 = 32 << 20;

/// The block size the server prefers (and the unit of its zero extents and of the overlay).
pub const BLOCK: u32 = 4096;

#[cfg(test)]
mod tests {
    /// A reproducible run of pseudo-random numbers (xorshift) from `seed`, for the tests that
    /// feed the server garbage.
    pub fn numbers(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }
}
