//! Writes the seed inputs into fuzz/corpus/<target>/seed-<name>; the fuzzer starts
//! from them, and `cargo fuzz cmin` keeps those that add coverage.
use std::path::Path;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for s in varco_fuzzing::seeds::all() {
        let dir = root.join(s.target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("seed-{}", s.name)), &s.data)?;
    }
    println!("seeds written under {}", root.display());
    Ok(())
}
