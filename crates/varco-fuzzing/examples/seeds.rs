//! Writes the seed inputs as DIR/<target>/seed-<name> (DIR: the first argument, by
//! default fuzz/corpus). scripts/fuzz.sh gives them to the fuzzer beside the kept
//! corpus, so every run starts from them too.
use std::path::{Path, PathBuf};

fn main() -> std::io::Result<()> {
    let root = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus"),
    };
    for s in varco_fuzzing::seeds::all() {
        let dir = root.join(s.target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("seed-{}", s.name)), &s.data)?;
    }
    println!("seeds written under {}", root.display());
    Ok(())
}
