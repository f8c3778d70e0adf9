//! Compiles the command pages (`commands/NAME.md`) into the binary, so `help CMD` prints exactly
//! what the repository documents.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("commands");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut pages: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    pages.retain(|p| p.extension().is_some_and(|e| e == "md"));
    pages.sort();
    let mut code = String::from(
        "/// Command pages: (name, Markdown text).\npub static PAGES: &[(&str, &str)] = &[\n",
    );
    for page in pages {
        println!("cargo:rerun-if-changed={}", page.display());
        let name = page.file_stem().unwrap().to_string_lossy().into_owned();
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            page.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("pages.rs");
    std::fs::write(out, code).unwrap();
}
