//! On-disk primitives every format shares, in both directions: checked little-, big- and
//! both-endian field readers with their writers ([`endian`]), the civil calendar
//! ([`civil`]) and the date fields built on it (ECMA-119 [`iso_date`], UDF [`udf_date`],
//! FAT [`fat_date`]), and the CRCs formats protect their structures with ([`crc`]).
//! Formats decode and encode their structures with these; none keeps a helper of its own.

pub mod civil;
pub mod crc;
pub mod endian;
pub mod fat_date;
pub mod iso_date;
pub mod udf_date;

pub use endian::Fields;
