//! isofish's integration tests: one binary, one module per thing proved.

mod commands_inspect;
mod commands_read;
mod commands_transfer;
mod common;
mod docs;
mod host_tree;
mod iso_flags;
mod iso_hostile;
mod iso_info;
mod iso_multi_extent;
mod iso_mutation;
mod iso_oracle;
mod iso_tree;
