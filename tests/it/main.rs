//! isofish's integration tests: one binary, one module per thing proved.

mod boot_extract;
mod boot_hostile;
mod boot_images;
mod boot_mkisofs;
mod boot_partitions;
mod boot_report;
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
mod shell;
mod tui;
mod tui_pty;
mod tui_snapshots;
