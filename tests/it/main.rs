//! isofish's integration tests: one binary, one module per thing proved.

mod commands_inspect;
mod commands_read;
mod commands_transfer;
mod common;
mod completions;
mod docs;
mod host_tree;
mod iso_hostile;
mod iso_info;
mod iso_multi_extent;
mod iso_mutation;
mod iso_oracle;
mod iso_tree;
mod nested_chain;
mod nested_cpio;
mod nested_ext;
mod nested_fat;
mod nested_fuzz;
mod nested_squashfs;
mod nested_util;
mod shell;
