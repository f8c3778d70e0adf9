//! isofish's integration tests: one binary, one module per thing proved.

mod common;
mod udf_helpers;
mod udf_tree;
mod udf_volume;
