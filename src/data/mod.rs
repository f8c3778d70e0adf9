//! File data as source-qualified spans ([`Span`]): what a file's bytes are made of, wherever
//! they lie (a range of any [`Source`](crate::source::Source), bytes in memory, zeros). The
//! formats describe plainly stored files this way; nested file sources, copies and the writer
//! read them without decoding.

pub mod span;

pub use span::Span;
