//! The isofish binary: a thin layer over the library's shell.

fn main() {
    std::process::exit(isofish::shell::main());
}
