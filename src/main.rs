//! The isofish binary: a thin layer over the library's shell.
#![forbid(unsafe_code)]

fn main() {
    isofish::plan::atomic::catch_file_size_signal();
    std::process::exit(isofish::shell::main());
}
