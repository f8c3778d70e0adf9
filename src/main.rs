//! The isofish binary: a thin layer over the library's shell.
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(isofish::shell::main());
}
