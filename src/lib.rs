//! isofish: a guestfish-style shell for disc images, as a library. The binary (`src/main.rs`)
//! is a thin layer over [`shell`]; everything else is here so tests and tools can use it.
//!
//! No unsafe code, but for the one module that says why it needs it (`fs::fat::locked`).
#![deny(unsafe_code)]

pub mod aside;
pub mod boot;
pub mod cancel;
pub mod commands;
pub mod data;
pub mod error;
pub mod fs;
pub mod inspect;
pub mod mkiso;
pub mod nbd;
pub mod ondisk;
pub mod overlay;
pub mod plan;
pub mod session;
pub mod shell;
pub mod source;
pub mod tui;
pub mod verbose;
pub mod vfs;

pub use error::{Error, Result};
