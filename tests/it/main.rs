//! isofish's integration tests: one binary, one module per thing proved.

mod boot_extract;
mod boot_hostile;
mod boot_images;
mod boot_mkisofs;
mod boot_partitions;
mod boot_report;
mod common;
mod iso_info;
mod iso_oracle;
mod iso_tree;
