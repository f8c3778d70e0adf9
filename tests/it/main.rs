//! isofish's integration tests: one binary, one module per thing proved.

mod common;
mod iso_hostile;
mod iso_info;
mod iso_oracle;
mod iso_tree;
mod tui;
mod tui_snapshots;
